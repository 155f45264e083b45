/**
 * `npm run bench`: the generator side by side with its baselines, in one run
 * on one machine. Prints a table and writes out/bench/results.json.
 *
 *   npm run bench [-- --runs 5 --scale 10,100,1000 --spec cluster.yaml]
 *
 * Targets (reported, never asserted by tests):
 *  - first generation of the reference cluster: time per certificate at most
 *    half of cfssl's, and total time within 1.3x of `openssl genrsa` making
 *    the same number of keys with the same parallelism;
 *  - unchanged regeneration under a quarter of the first, rewriting no file;
 *  - 1,000 workers under 10 s and 500 MiB, cost linear in hosts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { leafProfiles } from '../generator/pki/index.ts';
import { loadCluster } from '../generator/spec/validate.ts';
import { benchCfssl } from './cfssl.bench.ts';
import { benchReference, benchScale } from './cluster.bench.ts';
import { machine, table } from './lib.ts';
import { benchNativeKeygen, benchOpensslGenrsa } from './pki.bench.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    scale: { type: 'string', default: '10,100,1000' },
    spec: { type: 'string', default: 'cluster.yaml' },
  },
});
const runs = Number(values.runs);
const parallelism = availableParallelism();
const log = (line: string) => process.stderr.write(`${line}\n`);

log(`machine: ${machine()}`);
const cluster = await loadCluster(values.spec!);
const certificates = 3 + leafProfiles(cluster).length;
const keys = certificates + 1; // and the service-account key pair

log(`reference cluster: ${runs} runs of first generation, unchanged regeneration, one worker added...`);
const reference = await benchReference(values.spec!, runs);

log(`baselines: cfssl (${certificates} certificates, one process each) and openssl genrsa (${keys} keys, ${parallelism} at a time), ${runs} runs...`);
const cfssl = [];
const genrsa = [];
const native = [];
for (let i = 0; i < runs; i++) {
  cfssl.push(await benchCfssl(cluster));
  genrsa.push(await benchOpensslGenrsa(keys, 2048, parallelism));
  native.push(await benchNativeKeygen(keys, 2048, parallelism));
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cfsslMs = med(cfssl.map((c) => c.ms));
const genrsaMs = med(genrsa.map((g) => g.seconds * 1000));
const nativeMs = med(native.map((g) => g.seconds * 1000));

const scaleCounts = values.scale!.split(',').filter(Boolean).map(Number);
log(`scale: ${scaleCounts.join(', ')} workers...`);
const scale = await benchScale(values.spec!, scaleCounts, Math.min(runs, 3));

const perCert = reference.first.ms / certificates;
const cfsslPerCert = cfsslMs / certificates;
const rows: (string | number)[][] = [
  ['reference: first generation (new PKI, all files and ISOs)', reference.first.ms, reference.first.maxRssMiB, `${perCert.toFixed(0)} ms/cert`],
  ['reference: unchanged regeneration', reference.unchanged.ms, reference.unchanged.maxRssMiB, `${reference.unchanged.filesRewritten} files rewritten`],
  ['reference: one worker added', reference.oneWorkerAdded.ms, reference.oneWorkerAdded.maxRssMiB, ''],
  [`baseline: cfssl, ${certificates} certificates, one process each`, Math.round(cfsslMs), '', `${cfsslPerCert.toFixed(0)} ms/cert`],
  [`floor: openssl genrsa, ${keys} keys, ${parallelism} at a time`, Math.round(genrsaMs), '', ''],
  [`generator keygen alone, ${keys} keys, ${parallelism} at a time`, Math.round(nativeMs), '', ''],
  ...scale.map((s) => [`scale: ${s.workers} workers (${s.hosts} hosts)`, s.ms, s.maxRssMiB, `${s.msPerHost} ms/host`]),
];
const thousand = scale.find((s) => s.workers === 1000);
const targets: [string, boolean][] = [
  [`time per certificate <= half of cfssl's (${perCert.toFixed(0)} vs ${(cfsslPerCert / 2).toFixed(0)} ms)`, perCert <= cfsslPerCert / 2],
  [`first generation within 1.3x of the openssl floor (${(reference.first.ms / genrsaMs).toFixed(2)}x)`, reference.first.ms <= 1.3 * genrsaMs],
  [`unchanged regeneration < 1/4 of first (${(reference.unchanged.ms / reference.first.ms).toFixed(2)})`, reference.unchanged.ms < reference.first.ms / 4],
  ['unchanged regeneration rewrites no file', reference.unchanged.filesRewritten === 0],
  ...(thousand ? [
    [`1,000 workers < 10 s (${(thousand.ms / 1000).toFixed(1)} s)`, thousand.ms < 10_000],
    [`1,000 workers < 500 MiB (${thousand.maxRssMiB} MiB)`, thousand.maxRssMiB < 500],
  ] as [string, boolean][] : []),
];

console.log(`\nMachine: ${machine()}; medians of ${runs} runs (scale: ${Math.min(runs, 3)}); whole processes, Node start-up included.\n`);
console.log(table(['measurement', 'ms', 'peak MiB', 'note'], rows));
console.log('\nTargets:');
for (const [text, met] of targets) console.log(`  ${met ? 'met    ' : 'MISSED '} ${text}`);

mkdirSync('out/bench', { recursive: true });
writeFileSync('out/bench/results.json', `${JSON.stringify({
  date: new Date().toISOString(), machine: machine(), runs, certificates, keys,
  reference, cfssl: { ms: cfsslMs, runs: cfssl }, genrsa: { ms: genrsaMs }, nativeKeygen: { ms: nativeMs },
  scale, targets: targets.map(([text, met]) => ({ text, met })),
}, null, 2)}\n`);
log('wrote out/bench/results.json');
