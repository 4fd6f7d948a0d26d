// Throwaway X.509 material for tests: a CA, a server certificate for 127.0.0.1 and a client certificate.

import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Validity of every test certificate, long enough for one test run and short enough to be useless afterwards. */
const TEST_CERT_DAYS = 2;

/** PEM file paths of one test CA and the leaves it signed. */
export interface TestCertificateFiles {
  caFile: string;
  caKeyFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
}

/**
 * Creates a P-256 CA in `dir` (files named after `prefix`) and signs a server certificate
 * (SAN IP:127.0.0.1 and DNS:localhost, serverAuth) and a client certificate (clientAuth) with it.
 */
export async function makeTestCertificates(dir: string, prefix = 'test'): Promise<TestCertificateFiles> {
  const files: TestCertificateFiles = {
    caFile: join(dir, `${prefix}-ca.pem`),
    caKeyFile: join(dir, `${prefix}-ca.key`),
    serverCertFile: join(dir, `${prefix}-server.pem`),
    serverKeyFile: join(dir, `${prefix}-server.key`),
    clientCertFile: join(dir, `${prefix}-client.pem`),
    clientKeyFile: join(dir, `${prefix}-client.key`),
  };

  await openssl([
    'req',
    '-x509',
    ...newKeyArguments(files.caKeyFile),
    '-out',
    files.caFile,
    '-subj',
    `/CN=fleet-login ${prefix} CA`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await issueLeaf(files, files.serverCertFile, files.serverKeyFile, '/CN=127.0.0.1', [
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    'extendedKeyUsage=serverAuth',
  ]);
  await issueLeaf(files, files.clientCertFile, files.clientKeyFile, `/CN=fleet-login ${prefix} client`, [
    'extendedKeyUsage=clientAuth',
  ]);
  return files;
}

/** Writes a PEM string to a file with owner-only permissions and returns the path. */
export async function writePem(path: string, pem: string): Promise<string> {
  await writeFile(path, pem, { mode: 0o600 });
  return path;
}

async function issueLeaf(
  ca: TestCertificateFiles,
  certFile: string,
  keyFile: string,
  subject: string,
  extensions: string[],
): Promise<void> {
  await openssl([
    'req',
    '-x509',
    ...newKeyArguments(keyFile),
    '-CA',
    ca.caFile,
    '-CAkey',
    ca.caKeyFile,
    '-out',
    certFile,
    '-subj',
    subject,
    '-addext',
    'basicConstraints=critical,CA:FALSE',
    '-addext',
    'keyUsage=critical,digitalSignature',
    ...extensions.flatMap((extension) => ['-addext', extension]),
  ]);
}

function newKeyArguments(keyFile: string): string[] {
  return [
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    keyFile,
    '-days',
    String(TEST_CERT_DAYS),
  ];
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim()}`, { cause: error });
  }
}
