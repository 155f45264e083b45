/**
 * PKI benchmark: RSA key generation by the generator (Node's native crypto on
 * libuv's thread pool) against `openssl genrsa` run with the same parallelism,
 * on the same machine, in the same run; and the time ensurePki takes for the
 * reference cluster, from scratch and unchanged.
 *
 *   npm run bench [-- --keys N --rounds N --bits 2048|3072|4096 --spec cluster.yaml]
 *
 * Prints a table and writes out/bench/pki.json. One function per measurement,
 * so other benchmarks can import and combine them.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeTree } from '../generator/output/tree.ts';
import { STATE_WRITE } from '../generator/state/state.ts';
import { ensurePki, generateKeys } from '../generator/pki/index.ts';
import type { KeyAlgorithm } from '../generator/model/types.ts';
import { loadCluster } from '../generator/input/validate.ts';
import { runAsync } from '../test/lib/run.ts';
import { timed } from './lib.ts';

export interface KeygenFigure {
  tool: string;
  bits: number;
  keys: number;
  parallelism: number;
  seconds: number;
  keysPerSecond: number;
}

function seconds(since: bigint): number {
  return Number(process.hrtime.bigint() - since) / 1e9;
}

function figure(tool: string, bits: number, keys: number, parallelism: number, elapsed: number): KeygenFigure {
  return { tool, bits, keys, parallelism, seconds: +elapsed.toFixed(3), keysPerSecond: +(keys / elapsed).toFixed(2) };
}

/** The generator's way: `keys` RSA keys, `parallelism` in flight at once. */
export async function benchNativeKeygen(keys: number, bits: number, parallelism: number): Promise<KeygenFigure> {
  const algorithm = `rsa-${bits}` as KeyAlgorithm;
  await generateKeys(1, algorithm, 1); // warm-up: loads OpenSSL's RSA code and starts the thread pool
  const start = process.hrtime.bigint();
  await generateKeys(keys, algorithm, parallelism);
  return figure('generator (node:crypto generateKeyPair)', bits, keys, parallelism, seconds(start));
}

async function genrsa(bits: number): Promise<void> {
  await timed('openssl', ['genrsa', '-out', '/dev/null', String(bits)]);
}

/** `openssl genrsa` processes, `parallelism` running at once, `keys` in all. */
export async function benchOpensslGenrsa(keys: number, bits: number, parallelism: number): Promise<KeygenFigure> {
  await genrsa(bits); // warm-up: the binary and its libraries in the page cache
  const start = process.hrtime.bigint();
  let next = 0;
  const lane = async () => { while (next < keys) { next++; await genrsa(bits); } };
  await Promise.all(Array.from({ length: Math.min(parallelism, keys) }, lane));
  return figure('openssl genrsa (one process per key)', bits, keys, parallelism, seconds(start));
}

/** Several runs of one tool as one figure: all keys over all the time. */
export function combine(runs: KeygenFigure[]): KeygenFigure & { rounds: number } {
  const keys = runs.reduce((n, r) => n + r.keys, 0);
  const elapsed = runs.reduce((n, r) => n + r.seconds, 0);
  return { ...figure(runs[0]!.tool, runs[0]!.bits, keys, runs[0]!.parallelism, elapsed), rounds: runs.length };
}

export interface PkiRunFigure { case: string; seconds: number; files: number; keysMade: number }

/** ensurePki + the write for a spec: a new PKI, then the unchanged re-run. */
export async function benchEnsurePki(specFile: string): Promise<PkiRunFigure[]> {
  const cluster = await loadCluster(specFile);
  const work = mkdtempSync(join(tmpdir(), 'ha-k8s-seed-bench-pki-'));
  try {
    const stateDir = join(work, `${cluster.name}.pki`);
    const out: PkiRunFigure[] = [];
    for (const name of ['new PKI', 'unchanged re-run']) {
      const start = process.hrtime.bigint();
      const result = await ensurePki(cluster, stateDir);
      await writeTree(stateDir, result.files, STATE_WRITE);
      const made = result.created.filter((c) => !c.item.match(/^(bootstrap-token|encryption-key|vrrp-password)$/)).length;
      out.push({ case: `${cluster.name}: ${name}`, seconds: +seconds(start).toFixed(3), files: result.files.length, keysMade: made });
    }
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function opensslVersion(): Promise<string> {
  return (await runAsync('openssl', ['version'])).stdout.trim();
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { keys: { type: 'string' }, rounds: { type: 'string', default: '3' }, bits: { type: 'string', default: '2048' }, spec: { type: 'string', default: 'cluster.yaml' } } });
  const parallelism = availableParallelism();
  const bits = Number(values.bits);
  const keys = Number(values.keys ?? parallelism * 6);
  const pool = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  process.stderr.write(`${cpus().length} CPUs (${cpus()[0]?.model.trim()}), parallelism ${parallelism}, libuv thread pool ${pool}, Node ${process.version}\n`);
  if (pool < parallelism) process.stderr.write(`note: the thread pool (${pool}) is smaller than the parallelism: set UV_THREADPOOL_SIZE=${parallelism} to use every core\n`);

  // Key generation time varies from key to key (prime search) and with the machine's load:
  // the two tools take turns, round after round, and each total is over all its rounds.
  const rounds: KeygenFigure[][] = [];
  for (let r = 0; r < Number(values.rounds); r++) {
    rounds.push([await benchNativeKeygen(keys, bits, parallelism), await benchOpensslGenrsa(keys, bits, parallelism)]);
  }
  const keygen = [0, 1].map((i) => combine(rounds.map((round) => round[i]!)));
  console.table(keygen);
  const ratio = keygen[0]!.keysPerSecond / keygen[1]!.keysPerSecond;
  console.log(`generator / openssl genrsa: ${ratio.toFixed(2)}x`);
  const pkiRuns = await benchEnsurePki(values.spec!);
  console.table(pkiRuns);

  mkdirSync('out/bench', { recursive: true });
  const machine = { cpus: cpus().length, model: cpus()[0]?.model.trim(), parallelism, threadPool: pool, node: process.version, nodeOpenssl: process.versions.openssl, openssl: await opensslVersion(), loadAverage: loadavg() };
  const report = { date: new Date().toISOString(), machine, keygen, rounds, ratio: +ratio.toFixed(3), pkiRuns };
  writeFileSync('out/bench/pki.json', `${JSON.stringify(report, null, 2)}\n`);
  process.stderr.write('wrote out/bench/pki.json\n');
}

if (process.argv[1]?.endsWith('pki.bench.ts')) await main();
