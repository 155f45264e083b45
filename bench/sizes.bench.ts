/**
 * User-data sizes of every host of every example, by role: raw bytes (what
 * VMware's guestinfo and the NoCloud ISO carry) and gzip+base64 (the
 * guestinfo `gzip+base64` encoding), against the 64 KiB guestinfo limit.
 *
 * `npm run bench` reports them with everything else; on its own, in a few
 * seconds (a new PKI per spec, then the seeds):
 *
 *   npm run bench:sizes [-- --spec cluster.yaml]
 */
import { gzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import { USER_DATA_LIMIT } from '../generator/render/hosts.ts';
import { EXAMPLES, renderSeeds } from '../test/lib/seeds.ts';
import { table } from './lib.ts';

export interface SeedSizeFigure { spec: string; host: string; roles: string; rawBytes: number; gzipBase64Bytes: number }

export async function benchSizes(specs: readonly string[]): Promise<SeedSizeFigure[]> {
  const out: SeedSizeFigure[] = [];
  for (const { spec, cluster, rendered } of await renderSeeds(specs)) {
    for (const seed of rendered.seeds) {
      const host = cluster.hosts.find((h) => h.name === seed.host)!;
      out.push({
        spec, host: seed.host, roles: host.roles.join(', '),
        rawBytes: Buffer.byteLength(seed.userData),
        gzipBase64Bytes: gzipSync(seed.userData, { level: 9 }).toString('base64').length,
      });
    }
  }
  return out;
}

export const kib = (bytes: number) => (bytes / 1024).toFixed(1);

/** The table's rows: per spec and set of roles, its largest host. */
export function sizeRows(sizes: readonly SeedSizeFigure[]): string[][] {
  const byRole = new Map<string, SeedSizeFigure>();
  for (const s of sizes) {
    const key = `${s.spec}\0${s.roles}`;
    if (!byRole.has(key) || byRole.get(key)!.rawBytes < s.rawBytes) byRole.set(key, s);
  }
  return [...byRole.values()].map((s) => [s.spec, s.roles, s.host, kib(s.rawBytes), kib(s.gzipBase64Bytes)]);
}
export const SIZE_HEADERS = ['spec', 'roles', 'largest host', 'user-data KiB', 'gzip+base64 KiB'];

/** The size targets: the reference spec's largest control plane at most 40 KiB raw and 20 KiB gzip+base64; every host under the limit. */
export function sizeTargets(sizes: readonly SeedSizeFigure[], referenceSpec: string): [string, boolean][] {
  const referenceCp = sizes.filter((s) => s.spec === referenceSpec && s.roles.includes('control-plane')).reduce((a, b) => (b.rawBytes > a.rawBytes ? b : a));
  const largest = sizes.reduce((a, b) => (b.rawBytes > a.rawBytes ? b : a));
  return [
    [`reference control plane <= 40 KiB raw (${referenceCp.host}: ${kib(referenceCp.rawBytes)} KiB)`, referenceCp.rawBytes <= 40 * 1024],
    [`reference control plane <= 20 KiB gzip+base64 (${kib(referenceCp.gzipBase64Bytes)} KiB)`, referenceCp.gzipBase64Bytes <= 20 * 1024],
    [`every host of every example < 64 KiB raw (largest: ${largest.spec} ${largest.host}, ${kib(largest.rawBytes)} KiB)`, largest.rawBytes < USER_DATA_LIMIT],
  ];
}

export const targetLine = ([text, met]: [string, boolean]) => `  ${met ? 'met    ' : 'MISSED '} ${text}`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { spec: { type: 'string', default: 'cluster.yaml' } } });
  const sizes = await benchSizes([values.spec!, ...EXAMPLES]);
  console.log(table(SIZE_HEADERS, sizeRows(sizes)));
  console.log('\nTargets:');
  for (const target of sizeTargets(sizes, values.spec!)) console.log(targetLine(target));
}

if (process.argv[1]?.endsWith('sizes.bench.ts')) await main();
