/**
 * `npm run bench`: the generator side by side with its baselines, in one run
 * on one machine. Prints tables and writes out/bench/results.json.
 *
 *   npm run bench [-- --runs 5 --scale 10,100,1000,10000 --spec cluster.yaml]
 *
 * Targets (reported, never asserted by tests):
 *  - certificates: the generator's time per certificate (ensurePki making a
 *    new PKI, in one process) at most 0.25x cfssl's when cfssl makes the same
 *    set with RSA-2048 one after another, and at most 1.0x cfssl's own ECDSA;
 *  - first generation of the reference cluster at most 3x the floor (`node`
 *    loading the whole bundle, lazily loaded chunks included, and exiting);
 *    an unchanged regeneration at most 2x the floor, rewriting no file;
 *  - 1,000 workers under 3 s; 10,000 workers under 30 s and 1 GiB, with time
 *    per host flat from 10 to 10,000 (what each worker adds to the reference
 *    cluster's run, at 10,000 at most 1.5x what it adds at 100; at 10 it is
 *    within the noise of a run's start-up);
 *  - user-data: the reference control plane at most 40 KiB raw and 20 KiB
 *    gzip+base64; every host of every example under 64 KiB raw.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { KeyAlgorithm } from '../generator/model/types.ts';
import { ensurePki, leafProfiles } from '../generator/pki/index.ts';
import { loadCluster } from '../generator/input/validate.ts';
import { benchCfssl } from './cfssl.bench.ts';
import { benchReference, benchScale } from './cluster.bench.ts';
import { machine, median, runCli, runFloor, table } from './lib.ts';
import { benchSizes, SIZE_HEADERS, sizeRows, sizeTargets, targetLine } from './sizes.bench.ts';
import { EXAMPLES } from '../test/lib/seeds.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    scale: { type: 'string', default: '10,100,1000,10000' },
    spec: { type: 'string', default: 'cluster.yaml' },
  },
});
const runs = Number(values.runs);
const log = (line: string) => process.stderr.write(`${line}\n`);

log(`machine: ${machine()}`);
const cluster = await loadCluster(values.spec!);
const certificates = 3 + leafProfiles(cluster).length;

/** ensurePki making a new PKI with `algorithm`, in this process: milliseconds for the whole set. */
async function generatorPki(algorithm: KeyAlgorithm): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), 'ha-k8s-seed-bench-pki-'));
  try {
    const model = { ...cluster, pki: { ...cluster.pki, keyAlgorithm: algorithm } };
    const start = process.hrtime.bigint();
    await ensurePki(model, join(work, 'pki'));
    return Number(process.hrtime.bigint() - start) / 1e6;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

// Builds the bundle if a source changed, so that no measured run pays for it.
await runCli(['validate', values.spec!]);
await generatorPki('ecdsa-p256');

log(`certificates: the generator (${certificates}, ECDSA P-256 and RSA-2048) and cfssl (the same set, one process pair each, RSA-2048 and ECDSA), interleaved, ${runs} runs...`);
const samples = { ecdsa: [] as number[], rsa: [] as number[], cfsslRsa: [] as number[], cfsslEcdsa: [] as number[], floor: [] as number[] };
for (let i = 0; i < runs; i++) {
  samples.ecdsa.push(await generatorPki('ecdsa-p256'));
  samples.cfsslRsa.push((await benchCfssl(cluster, { algo: 'rsa', size: 2048 })).ms);
  samples.rsa.push(await generatorPki('rsa-2048'));
  samples.cfsslEcdsa.push((await benchCfssl(cluster, { algo: 'ecdsa', size: 256 })).ms);
  samples.floor.push((await runFloor()).ms);
}
const perCert = (ms: number[]) => median(ms) / certificates;
const cert = { ecdsa: perCert(samples.ecdsa), rsa: perCert(samples.rsa), cfsslRsa: perCert(samples.cfsslRsa), cfsslEcdsa: perCert(samples.cfsslEcdsa) };

log(`reference cluster: ${runs} runs of first generation, unchanged regeneration, one worker added...`);
const reference = await benchReference(values.spec!, runs);
for (let i = 0; i < runs; i++) samples.floor.push((await runFloor()).ms);
const floorMs = median(samples.floor);

const scaleCounts = values.scale!.split(',').filter(Boolean).map(Number);
log(`scale: ${scaleCounts.join(', ')} workers...`);
// Three runs each up to 1,000 workers, one at 10,000 (a run there takes tens of seconds).
const scale = [
  ...await benchScale(values.spec!, scaleCounts.filter((n) => n <= 1000), Math.min(runs, 3)),
  ...await benchScale(values.spec!, scaleCounts.filter((n) => n > 1000), 1),
];
/** What each worker adds to the reference cluster's first generation: the cost that must stay flat as the cluster grows. */
const marginal = (s: (typeof scale)[number]) => (s.ms - reference.first.ms) / s.workers;

const specs = [values.spec!, ...EXAMPLES];
log(`user-data sizes: ${specs.join(', ')}...`);
const sizes = await benchSizes(specs);

const ms = (x: number) => x.toFixed(1);
const certRows: (string | number)[][] = [
  [`generator, ECDSA P-256 (default): ${certificates} certificates, keys on every core`, ms(median(samples.ecdsa)), ms(cert.ecdsa)],
  [`generator, RSA-2048: the same set`, ms(median(samples.rsa)), ms(cert.rsa)],
  [`cfssl, RSA-2048, one process pair after another`, ms(median(samples.cfsslRsa)), ms(cert.cfsslRsa)],
  [`cfssl, ECDSA P-256, one process pair after another`, ms(median(samples.cfsslEcdsa)), ms(cert.cfsslEcdsa)],
];
const runRows: (string | number)[][] = [
  ['floor: node loads the whole bundle (bin, entry, lazy chunks) and exits', Math.round(floorMs), '', '1.00x'],
  ['reference: first generation (new PKI, all files and ISOs)', reference.first.ms, reference.first.maxRssMiB, `${(reference.first.ms / floorMs).toFixed(2)}x floor`],
  ['reference: unchanged regeneration', reference.unchanged.ms, reference.unchanged.maxRssMiB, `${(reference.unchanged.ms / floorMs).toFixed(2)}x floor, ${reference.unchanged.filesRewritten} files rewritten`],
  ['reference: one worker added', reference.oneWorkerAdded.ms, reference.oneWorkerAdded.maxRssMiB, `${(reference.oneWorkerAdded.ms / floorMs).toFixed(2)}x floor`],
  ...scale.map((s) => [`scale: ${s.workers.toLocaleString('en')} workers (${s.hosts.toLocaleString('en')} hosts)`, s.ms, s.maxRssMiB, `${s.msPerHost} ms/host; ${marginal(s).toFixed(2)} ms per worker added`]),
];
// Flatness from 100 workers up: at 10, what the workers add is within the noise of a run's start.
const first = scale.find((s) => s.workers >= 100);
const last = scale.at(-1);
const flatness = first && last ? marginal(last) / marginal(first) : undefined;


const thousand = scale.find((s) => s.workers === 1000);
const tenThousand = scale.find((s) => s.workers === 10000);
const targets: [string, boolean][] = [
  [`per certificate <= 0.25x cfssl RSA-2048 (${ms(cert.ecdsa)} vs ${ms(cert.cfsslRsa)} ms: ${(cert.ecdsa / cert.cfsslRsa).toFixed(3)}x)`, cert.ecdsa <= 0.25 * cert.cfsslRsa],
  [`per certificate <= 1.0x cfssl ECDSA (${ms(cert.ecdsa)} vs ${ms(cert.cfsslEcdsa)} ms: ${(cert.ecdsa / cert.cfsslEcdsa).toFixed(3)}x)`, cert.ecdsa <= cert.cfsslEcdsa],
  [`first generation <= 3x floor (${(reference.first.ms / floorMs).toFixed(2)}x)`, reference.first.ms <= 3 * floorMs],
  [`unchanged regeneration <= 2x floor (${(reference.unchanged.ms / floorMs).toFixed(2)}x)`, reference.unchanged.ms <= 2 * floorMs],
  [`unchanged regeneration rewrites no file (${reference.unchanged.filesRewritten})`, reference.unchanged.filesRewritten === 0],
  ...(thousand ? [[`1,000 workers < 3 s (${(thousand.ms / 1000).toFixed(2)} s)`, thousand.ms < 3000]] as [string, boolean][] : []),
  ...(tenThousand ? [
    [`10,000 workers < 30 s (${(tenThousand.ms / 1000).toFixed(1)} s)`, tenThousand.ms < 30_000],
    [`10,000 workers < 1 GiB peak (${tenThousand.maxRssMiB} MiB)`, tenThousand.maxRssMiB < 1024],
  ] as [string, boolean][] : []),
  ...(flatness !== undefined ? [[`time per host flat: ms per worker added at ${last!.workers.toLocaleString('en')} / at ${first!.workers} = ${flatness.toFixed(2)} (<= 1.5)`, flatness <= 1.5]] as [string, boolean][] : []),
  ...sizeTargets(sizes, values.spec!),
];

console.log(`\nMachine: ${machine()}; medians of ${runs} runs (scale: one run each); whole processes, Node start-up included, except the certificate rows (ensurePki in one process; cfssl as processes).\n`);
console.log(table(['certificates', 'ms, whole set', 'ms per certificate'], certRows));
console.log();
console.log(table(['run', 'ms', 'peak MiB', 'note'], runRows));
if (flatness !== undefined) {
  console.log(`\nms/host (whole run / hosts): ${scale.map((s) => `${s.workers.toLocaleString('en')}: ${s.msPerHost}`).join(', ')}; last/first ${(last!.msPerHost / first!.msPerHost).toFixed(2)}`);
  console.log(`ms per worker added (beyond the reference cluster's first generation): ${scale.map((s) => `${s.workers.toLocaleString('en')}: ${marginal(s).toFixed(2)}`).join(', ')}; last/first ${flatness.toFixed(2)}`);
}
console.log();
console.log(table(SIZE_HEADERS, sizeRows(sizes)));
console.log('\nTargets:');
for (const target of targets) console.log(targetLine(target));

mkdirSync('out/bench', { recursive: true });
writeFileSync('out/bench/results.json', `${JSON.stringify({
  date: new Date().toISOString(), machine: machine(), runs, certificates,
  samples, perCertificate: cert, floorMs, reference, scale, sizes,
  targets: targets.map(([text, met]) => ({ text, met })),
}, null, 2)}\n`);
log('wrote out/bench/results.json');
