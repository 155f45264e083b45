/**
 * Measuring helpers for the benchmarks: whole-process wall time and peak
 * memory of a command, medians, and a printed table. Benchmarks report;
 * tests never assert times.
 */
import { spawn } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { runAsync } from '../test/lib/run.ts';

export interface ProcessSample { ms: number; maxRssKiB: number }

/** Runs the CLI (`generate ...`) as its own Node process; wall time from spawn to exit. */
export function runCli(args: string[]): Promise<ProcessSample> {
  return new Promise((resolvePromise, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, ['bench/measure-child.mjs', ...args], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    });
    let report = '';
    let stderr = '';
    child.stdio[3]!.on('data', (d) => { report += d; });
    child.stderr!.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) return reject(new Error(`generate ${args.join(' ')} exited ${code}:\n${stderr}`));
      resolvePromise({ ms, maxRssKiB: JSON.parse(report).maxRssKiB });
    });
  });
}

const BIN = new URL('../bin/ha-k8s-seed.mjs', import.meta.url).href;
const LOAD_WHOLE_BUNDLE = `
  const { readdirSync } = await import('node:fs');
  const { dirname, join } = await import('node:path');
  const { pathToFileURL } = await import('node:url');
  const entry = await (await import(${JSON.stringify(BIN)})).bundleEntry();
  for (const file of readdirSync(dirname(entry))) await import(pathToFileURL(join(dirname(entry), file)).href);`;

/**
 * The floor of any `generate` run, as its own process: `node` starting,
 * bin/ha-k8s-seed.mjs finding the bundle, and every file of it loaded (the
 * entry and the chunks `generate` loads lazily), then exiting without
 * running a command.
 */
export async function runFloor(): Promise<ProcessSample> {
  const ms = await timed(process.execPath, ['--input-type=module', '-e', LOAD_WHOLE_BUNDLE]);
  return { ms, maxRssKiB: 0 };
}

/** Wall time in milliseconds, from start to exit, of a program that must succeed. */
export async function timed(command: string, args: readonly string[]): Promise<number> {
  const started = process.hrtime.bigint();
  const r = await runAsync(command, args);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ').slice(0, 200)} exited ${r.status ?? r.signal}: ${r.stderr}`);
  return ms;
}

/** Wall time of a shell command. */
export function timeShell(command: string): Promise<number> {
  return timed('bash', ['-c', command]);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function machine(): string {
  const cpu = cpus();
  return `${cpu.length} x ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}`;
}

/** A plain-text table, columns padded, for the terminal and the README. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(headers), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map((r) => line(r.map(String)))].join('\n');
}
