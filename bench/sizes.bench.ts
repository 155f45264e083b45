/**
 * User-data sizes of every host of every example, by role: raw bytes (what
 * VMware's guestinfo and the NoCloud ISO carry) and gzip+base64 (the
 * guestinfo `gzip+base64` encoding), against the 64 KiB guestinfo limit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ensurePki } from '../generator/pki/index.ts';
import { renderHosts } from '../generator/render/hosts.ts';
import { loadCluster } from '../generator/input/validate.ts';

export interface SeedSizeFigure { spec: string; host: string; roles: string; rawBytes: number; gzipBase64Bytes: number }

export async function benchSizes(specs: readonly string[]): Promise<SeedSizeFigure[]> {
  const work = mkdtempSync(join(tmpdir(), 'ha-k8s-seed-bench-sizes-'));
  try {
    const out: SeedSizeFigure[] = [];
    for (const spec of specs) {
      const cluster = await loadCluster(spec);
      const { bundle } = await ensurePki(cluster, join(work, cluster.name, 'pki'));
      for (const seed of renderHosts(cluster, bundle).seeds) {
        const host = cluster.hosts.find((h) => h.name === seed.host)!;
        out.push({
          spec, host: seed.host, roles: host.roles.join(', '),
          rawBytes: Buffer.byteLength(seed.userData),
          gzipBase64Bytes: gzipSync(seed.userData, { level: 9 }).toString('base64').length,
        });
      }
    }
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
