// CLI for LDAP server hosts: installs the active server certificate, key and trust bundle, then reloads slapd.

import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SSMClient } from '@aws-sdk/client-ssm';
import { errorMessage } from '../shared/errors.ts';
import { SsmParameterReader } from '../shared/parameters.ts';
import { DEFAULT_PKI_PREFIX } from '../shared/pki/config.ts';
import { installLdapServerCert } from '../shared/pki/server-install.ts';

export const USAGE = `Usage: tsx scripts/install-ldap-server-cert.ts --cert-file FILE --key-file FILE --ca-file FILE
       [--prefix PREFIX] [--reload-command COMMAND]

Reads the active LDAP server certificate, its key and the trust bundle from SSM Parameter Store,
checks that they match and chain up, and replaces each file that differs by writing a temporary
file and renaming it. Runs the reload command (through /bin/sh) only when a file changed.
Run it from a timer more often than PKI_TRUST_OVERLAP_HOURS.

  --cert-file FILE         server certificate chain, slapd's TLSCertificateFile
  --key-file FILE          private key, slapd's TLSCertificateKeyFile (mode 0600 when new; an
                           existing file keeps its mode and owner)
  --ca-file FILE           trust bundle, slapd's TLSCACertificateFile
  --prefix PREFIX          SSM parameter prefix [PKI_PARAMETER_PREFIX, else ${DEFAULT_PKI_PREFIX}]
  --reload-command CMD     for example "systemctl restart slapd" [LDAP_RELOAD_COMMAND, else none]
  --help                   print this text
`;

export interface InstallCliContext {
  env: NodeJS.ProcessEnv;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  ssm?: SSMClient;
}

/** Runs the command and returns the exit code: 0 installed or unchanged, 1 failed, 2 usage. */
export async function runInstallCli(args: string[], context: InstallCliContext): Promise<number> {
  let values: ReturnType<typeof parseInstallArgs>;
  try {
    values = parseInstallArgs(args);
  } catch (error) {
    context.stderr(`${errorMessage(error)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    context.stdout(USAGE);
    return 0;
  }

  try {
    const result = await installLdapServerCert({
      // A one-shot command: every value is read fresh, so no cache is needed.
      reader: new SsmParameterReader(context.ssm ?? new SSMClient({}), 0),
      prefix: values.prefix ?? (context.env.PKI_PARAMETER_PREFIX || DEFAULT_PKI_PREFIX),
      certFile: values.certFile,
      keyFile: values.keyFile,
      caFile: values.caFile,
      reloadCommand: values.reloadCommand ?? (context.env.LDAP_RELOAD_COMMAND || undefined),
    });
    const summary =
      result.changed.length > 0 ? `Replaced ${result.changed.join(', ')}` : 'All files were current';
    context.stdout(`${summary}${result.reloaded ? '; ran the reload command' : ''}.\n`);
    return 0;
  } catch (error) {
    context.stderr(`install-ldap-server-cert failed: ${errorMessage(error)}\n`);
    return 1;
  }
}

function parseInstallArgs(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      'cert-file': { type: 'string' },
      'key-file': { type: 'string' },
      'ca-file': { type: 'string' },
      prefix: { type: 'string' },
      'reload-command': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const certFile = values['cert-file'];
  const keyFile = values['key-file'];
  const caFile = values['ca-file'];
  if (!values.help && (certFile === undefined || keyFile === undefined || caFile === undefined)) {
    throw new Error('--cert-file, --key-file and --ca-file are required');
  }
  return {
    help: values.help,
    certFile: certFile ?? '',
    keyFile: keyFile ?? '',
    caFile: caFile ?? '',
    prefix: values.prefix,
    reloadCommand: values['reload-command'],
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await runInstallCli(process.argv.slice(2), {
    env: process.env,
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
}
