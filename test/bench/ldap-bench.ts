// LDAP benchmark: ldapsearch dumping a generated directory vs. our snapshot + maps + signed manifest.
// Run alone with `tsx test/bench/ldap-bench.ts [sizes…]`; the child mode (WORKER_FLAG) is internal.

import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { buildClassFiles } from '../../shared/bundle/class-bundle.ts';
import {
  type BundleFileEntry,
  type BundleFileName,
  keyIdOf,
  type Manifest,
  sha256Hex,
  signManifest,
} from '../../shared/bundle/manifest.ts';
import { LdapStore, type LdapStoreOptions } from '../../shared/directory/ldap-store.ts';
import type { HostClassPolicy } from '../../shared/policy/policy.ts';
import { generateDirectoryLdif } from '../fixtures/ldap/generate.ts';
import {
  clientTls,
  fixture,
  GROUPS_BASE,
  PEOPLE_BASE,
  SUFFIX,
  storeOptions,
} from '../fixtures/ldap/store.ts';
import { type SlapdServer, startSlapd } from '../harness/slapd.ts';

const WORKER_FLAG = '--ldap-bench-worker';
const REPEATS = 3;
const PAGE_SIZE = 1000;
const PEAK_MEMORY = fileURLToPath(new URL('./peak-memory.mjs', import.meta.url));
const EVERYONE: HostClassPolicy = {
  name: 'everyone',
  allowGroups: ['*'],
  sudo: [],
  emergencyKeys: false,
  bundleLifetimeHours: 72,
};

interface Row {
  people: number;
  slapaddMs: number;
  dumpMs: number;
  publishMs: number;
  /** The snapshot's share of publishMs: connect, bind and the paged reads. */
  snapshotMs: number;
  publishRssMiB: number;
  bundleBytes: number;
}

/** Measures each size in turn and prints one table; targets: ratio ≤ 1.5 and peak RSS ≤ 512 MiB at 50,000. */
export async function runLdapBench(sizes: number[]): Promise<void> {
  const rows: Row[] = [];
  for (const people of sizes) rows.push(await measureSize(people));

  console.log(
    '\nLDAP: (a) ldapsearch dump of people and groups to /dev/null vs (b) snapshot + maps + indexes + signed manifest',
  );
  console.log(
    `median of ${REPEATS} runs each; (b) runs in a child process, timed inside it, peak RSS of that process`,
  );
  console.log(
    'people  | slapadd s | (a) dump ms | (b) publish ms | of it snapshot ms | (b)/(a) | (b) peak RSS MiB | bundle KiB',
  );
  for (const row of rows) {
    console.log(
      [
        String(row.people).padStart(7),
        (row.slapaddMs / 1000).toFixed(1).padStart(9),
        row.dumpMs.toFixed(0).padStart(11),
        row.publishMs.toFixed(0).padStart(14),
        row.snapshotMs.toFixed(0).padStart(17),
        (row.publishMs / row.dumpMs).toFixed(2).padStart(7),
        row.publishRssMiB.toFixed(0).padStart(16),
        (row.bundleBytes / 1024).toFixed(0).padStart(10),
      ].join(' | '),
    );
  }
}

async function measureSize(people: number): Promise<Row> {
  const ldif = generateDirectoryLdif({ suffix: SUFFIX, people });
  const started = performance.now();
  const server = await startSlapd({ suffix: SUFFIX, ldif: [fixture('base.ldif'), ldif] });
  const slapaddMs = performance.now() - started;
  try {
    const dumps: number[] = [];
    const publishes: { ms: number; snapshotMs: number; rssMiB: number; bytes: number }[] = [];
    for (let run = 0; run < REPEATS; run++) {
      dumps.push(await dumpWithLdapsearch(server));
      publishes.push(await publishInChild(server));
    }
    return {
      people,
      slapaddMs,
      dumpMs: median(dumps),
      publishMs: median(publishes.map((publish) => publish.ms)),
      snapshotMs: median(publishes.map((publish) => publish.snapshotMs)),
      publishRssMiB: Math.max(...publishes.map((publish) => publish.rssMiB)),
      bundleBytes: publishes[0]?.bytes ?? 0,
    };
  } finally {
    await server.stop();
  }
}

/** (a): ldapsearch over the same mutual TLS link, paged like the store, every user attribute, to /dev/null. */
async function dumpWithLdapsearch(server: SlapdServer): Promise<number> {
  const certs = `${server.dir}/bench-client`;
  const env = {
    ...process.env,
    LDAPTLS_CACERT: `${certs}-ca.pem`,
    LDAPTLS_CERT: `${certs}.pem`,
    LDAPTLS_KEY: `${certs}.key`,
    LDAPTLS_REQCERT: 'demand',
  };
  const tls = clientTls(server.tls);
  await writeOnce(env.LDAPTLS_CACERT, tls.ca);
  await writeOnce(env.LDAPTLS_CERT, tls.cert);
  await writeOnce(env.LDAPTLS_KEY, tls.key);

  const started = performance.now();
  for (const [base, filter] of [
    [PEOPLE_BASE, '(objectClass=posixAccount)'],
    [GROUPS_BASE, '(objectClass=posixGroup)'],
  ] as const) {
    const args = [
      '-LLL',
      '-x',
      '-H',
      server.url,
      '-D',
      server.adminDn,
      '-w',
      server.adminPassword,
      '-b',
      base,
      '-E',
      `pr=${PAGE_SIZE}/noprompt`,
      filter,
    ];
    await runToDevNull('ldapsearch', args, env);
  }
  return performance.now() - started;
}

/** (b): a child process runs the store's snapshot and one class's bundle; returns its inner time and peak RSS. */
async function publishInChild(
  server: SlapdServer,
): Promise<{ ms: number; snapshotMs: number; rssMiB: number; bytes: number }> {
  const options = storeOptions(server, { pageSize: PAGE_SIZE, timeoutMs: 60_000 });
  const child = spawnSync(
    process.execPath,
    ['--import', PEAK_MEMORY, '--import', 'tsx', fileURLToPath(import.meta.url), WORKER_FLAG],
    {
      input: JSON.stringify(options),
      encoding: 'utf8',
      maxBuffer: 1024 * 1024,
    },
  );
  if (child.status !== 0) throw new Error(`the publish worker failed: ${child.stderr}`);
  const rssKiB = Number(child.stderr.match(/fleet-login-bench maxRssKiB=(\d+)/)?.[1] ?? Number.NaN);
  const result = JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '{}') as {
    ms: number;
    snapshotMs: number;
    bytes: number;
  };
  return { ms: result.ms, snapshotMs: result.snapshotMs, bytes: result.bytes, rssMiB: rssKiB / 1024 };
}

/** Runs the child's work, timed from the first LDAP connection to the signed manifest bytes. */
async function runWorker(): Promise<void> {
  const options = JSON.parse(await readStdin()) as LdapStoreOptions;
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');

  const started = performance.now();
  const store = new LdapStore(options);
  const snapshot = await store.snapshot();
  await store.close();
  const snapshotMs = performance.now() - started;
  const { files } = buildClassFiles(snapshot, EVERYONE);
  const buildMs = performance.now() - started - snapshotMs;
  const entries: Partial<Record<BundleFileName, BundleFileEntry>> = {};
  let bytes = 0;
  for (const [name, content] of files) {
    entries[name] = { sha256: sha256Hex(content), size: content.length };
    bytes += content.length;
  }
  const issuedAt = new Date();
  const manifest: Manifest = {
    format: 1,
    hostClass: EVERYONE.name,
    serial: 1,
    issuedAt: issuedAt.toISOString(),
    expiresAt: new Date(issuedAt.getTime() + 72 * 3_600_000).toISOString(),
    keyId: keyIdOf(publicKey),
    files: entries,
  };
  const signed = signManifest(manifest, { keyId: manifest.keyId, privateKey });
  const ms = performance.now() - started;
  console.log(
    JSON.stringify({ ms, snapshotMs, buildMs, bytes: bytes + signed.length, people: snapshot.people.length }),
  );
}

function runToDevNull(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const devNull = openSync('/dev/null', 'w');
  return new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', devNull, 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} exited with ${code}: ${stderr}`)),
    );
  }).finally(() => closeSync(devNull));
}

async function writeOnce(path: string, text: string): Promise<void> {
  await writeFile(path, text, { mode: 0o600 });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

if (process.argv[2] === WORKER_FLAG) {
  await runWorker();
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const sizes = process.argv.slice(2).map(Number);
  await runLdapBench(sizes.length > 0 ? sizes : [1_000, 10_000, 50_000]);
}
