// Benchmark of the publish step and the host agent on a generated directory, each in its own process.

import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REPEATS = 3;
const PEAK_MEMORY = new URL('./peak-memory.mjs', import.meta.url).pathname;
const AGENT = join(process.cwd(), 'dist/fleet-login-agent.mjs');

interface Measure {
  ms: number;
  maxRssMiB: number;
}

/** Runs node with the peak-memory preload; wall time covers the whole process, start-up included. */
function measure(args: string[]): Measure & { stdout: string } {
  const started = performance.now();
  const child = spawnSync(process.execPath, ['--import', PEAK_MEMORY, ...args], { encoding: 'utf8' });
  const ms = performance.now() - started;
  if (child.status !== 0) throw new Error(`benchmark step failed: node ${args.join(' ')}\n${child.stderr}`);
  const rss = Number(child.stderr.match(/fleet-login-bench maxRssKiB=(\d+)/)?.[1] ?? Number.NaN);
  return { ms, maxRssMiB: rss / 1024, stdout: child.stdout };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function repeat(run: () => Measure): Measure {
  const runs = Array.from({ length: REPEATS }, run);
  return { ms: median(runs.map((r) => r.ms)), maxRssMiB: Math.max(...runs.map((r) => r.maxRssMiB)) };
}

/** Inner time reported by the child (work only, without start-up and data generation). */
function innerMs(result: { stdout: string }): number {
  return JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}').ms;
}

export async function runPublishAgentBench(people: number, groups: number, classes: number): Promise<void> {
  const folder = await mkdtemp(join(tmpdir(), 'fleet-login-bench-'));
  try {
    const tsx = ['--import', 'tsx'];
    const baseline = measure([...tsx, 'test/bench/baseline-once.ts', String(people), String(groups), folder]);
    const publishOne = measure([
      ...tsx,
      'test/bench/publish-once.ts',
      String(people),
      String(groups),
      join(folder, 'one'),
      '1',
    ]);
    const rows: string[][] = [
      ['snapshot to JSON + hash + write (baseline)', fmt(innerMs(baseline)), '1.00', mib(baseline.maxRssMiB)],
      [
        'publish one class (maps, indexes, store, signed manifest)',
        fmt(innerMs(publishOne)),
        ratio(innerMs(publishOne), innerMs(baseline)),
        mib(publishOne.maxRssMiB),
      ],
    ];
    if (classes > 1) {
      const publishMany = measure([
        ...tsx,
        'test/bench/publish-once.ts',
        String(people),
        String(groups),
        join(folder, 'many'),
        String(classes),
      ]);
      rows.push([
        `publish ${classes} classes`,
        fmt(innerMs(publishMany)),
        `${ratio(innerMs(publishMany), innerMs(publishOne))} of one class`,
        mib(publishMany.maxRssMiB),
      ]);
    }

    const config = join(folder, 'agent.json');
    const root = join(folder, 'root');
    await writeFile(
      config,
      JSON.stringify({
        hostClass: 'general',
        source: { type: 'folder', path: join(folder, 'one', 'bucket') },
        keyringFile: join(folder, 'one', 'keyring.pem'),
        root,
      }),
    );
    const copy = repeat(() =>
      measure([
        'test/bench/copy-once.mjs',
        join(folder, 'one', 'bucket', 'files'),
        join(folder, `copy-${Math.random()}`),
      ]),
    );
    const install = repeat(() => {
      spawnSync('rm', ['-rf', root]);
      return measure([AGENT, '--config', config, 'sync']);
    });
    const noChange = repeat(() => measure([AGENT, '--config', config, 'sync']));
    const keys = repeat(() =>
      measure([AGENT, '--root', root, 'authorized-keys', `user${String(people - 1).padStart(6, '0')}`]),
    );
    const startup = repeat(() => measure(['-e', '']));
    rows.push(
      ['node start-up, empty script', fmt(startup.ms), '', mib(startup.maxRssMiB)],
      ['copy the bundle files + fsync (agent baseline)', fmt(copy.ms), '1.00', mib(copy.maxRssMiB)],
      [
        'agent full install (wall, start-up included)',
        fmt(install.ms),
        ratio(install.ms, copy.ms),
        mib(install.maxRssMiB),
      ],
      ['agent no-change sync (wall)', fmt(noChange.ms), ratio(noChange.ms, copy.ms), mib(noChange.maxRssMiB)],
      [
        'agent authorized-keys, one user (wall)',
        fmt(keys.ms),
        ratio(keys.ms, startup.ms),
        mib(keys.maxRssMiB),
      ],
    );
    console.log(
      `\nPublish and agent, ${people} people in ${groups} groups (median of ${REPEATS} for agent rows)`,
    );
    printTable(['step', 'ms', 'ratio', 'peak RSS'], rows);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

const fmt = (ms: number) => ms.toFixed(0);
const mib = (value: number) => `${value.toFixed(0)} MiB`;
const ratio = (value: number, base: number) => `${(value / base).toFixed(2)}×`;

export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ');
  console.log(line(header));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const row of rows) console.log(line(row));
}
