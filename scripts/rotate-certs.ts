// CLI: runs a certificate rotation by hand, shows what a run would do (--dry-run), or imports an existing CA.

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { errorMessage } from '../shared/errors.ts';
import { describeRotationPlan } from '../shared/pki/dry-run.ts';
import { describeSteps, importCa, rotateCertificates } from '../shared/pki/rotate.ts';
import { createRotationSetup } from '../shared/pki/setup.ts';

export const USAGE = `Usage: tsx scripts/rotate-certs.ts [--dry-run | --import-ca CERT_FILE --import-ca-key KEY_FILE]

Renews the LDAP link's certificates in SSM Parameter Store, as the daily rotate-certs Lambda does.
Settings come from the PKI_* variables (PKI_SERVER_DNS_NAMES or PKI_SERVER_IP_ADDRESSES is required)
and AWS credentials from the usual chain. Alerts go to ALERT_TOPIC_ARN when set, else to stderr.

  --dry-run              print each certificate's expiry and renewal time and the step a run would
                         take; writes nothing
  --import-ca FILE       PEM certificate of an existing self-signed root CA to issue from; only into
                         an empty PKI_PARAMETER_PREFIX
  --import-ca-key FILE   its unencrypted P-256 EC private key, PKCS#8 (BEGIN PRIVATE KEY) or SEC1
                         (BEGIN EC PRIVATE KEY) PEM; checked against the certificate before
                         anything is written, and stored as PKCS#8
  --help                 print this text
`;

export interface CliContext {
  env: NodeJS.ProcessEnv;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  ssm?: SSMClient;
  now?: () => Date;
}

/** Runs the command with `args` (without node and script) and returns the exit code: 0 done, 1 failed, 2 usage. */
export async function runRotateCertsCli(args: string[], context: CliContext): Promise<number> {
  let values: ReturnType<typeof parseCliArgs>;
  try {
    values = parseCliArgs(args);
  } catch (error) {
    context.stderr(`${errorMessage(error)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    context.stdout(USAGE);
    return 0;
  }

  try {
    const setup = createRotationSetup(context.env, { ssm: context.ssm, allowConsoleAlerts: true });
    const now = context.now ?? (() => new Date());
    if (values['dry-run']) {
      context.stdout(await describeRotationPlan(setup.store, setup.config, now()));
      return 0;
    }
    if (values.importCaFile !== undefined && values.importCaKeyFile !== undefined) {
      const ca = {
        certPem: await readFile(values.importCaFile, 'utf8'),
        keyPem: await readFile(values.importCaKeyFile, 'utf8'),
      };
      await importCa(setup.config, { ...setup, now }, ca);
      context.stdout(
        `Imported the CA from ${values.importCaFile} and issued the client and server certificates.\n`,
      );
      return 0;
    }
    const report = await rotateCertificates(setup.config, { ...setup, now });
    context.stdout(
      report.steps.length > 0 ? `Applied: ${describeSteps(report.steps)}.\n` : 'Nothing was due.\n',
    );
    return 0;
  } catch (error) {
    context.stderr(`rotate-certs failed: ${errorMessage(error)}\n`);
    return 1;
  }
}

function parseCliArgs(args: string[]) {
  const { values } = parseArgs({
    args,
    options: {
      'dry-run': { type: 'boolean', default: false },
      'import-ca': { type: 'string' },
      'import-ca-key': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const importCaFile = values['import-ca'];
  const importCaKeyFile = values['import-ca-key'];
  if ((importCaFile === undefined) !== (importCaKeyFile === undefined)) {
    throw new Error('--import-ca and --import-ca-key must be given together');
  }
  if (values['dry-run'] && importCaFile !== undefined)
    throw new Error('--dry-run cannot be combined with --import-ca');
  return { ...values, importCaFile, importCaKeyFile };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const code = await runRotateCertsCli(process.argv.slice(2), {
    env: process.env,
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
  process.exitCode = code;
}
