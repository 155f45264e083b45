/**
 * User-data sizes of every host of every example, by role: raw bytes (what
 * VMware's guestinfo and the NoCloud ISO carry) and gzip+base64 (the
 * guestinfo `gzip+base64` encoding), against the 64 KiB guestinfo limit.
 */
import { gzipSync } from 'node:zlib';
import { renderSeeds } from '../test/lib/seeds.ts';

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
