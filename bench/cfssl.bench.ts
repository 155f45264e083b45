/**
 * The baseline: the reference cluster's certificate set made the way the
 * older tutorials make it, with cfssl (Debian's golang-cfssl): one
 * `cfssl gencert | cfssljson` process pair per certificate, one after the
 * other, with RSA-2048 keys (the tutorial's) or ECDSA P-256.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cluster } from '../generator/model/types.ts';
import { CA_PROFILES, leafProfiles } from '../generator/pki/index.ts';
import { timeShell } from './lib.ts';

export interface CfsslFigure { certificates: number; ms: number; msPerCertificate: number }

/** cfssl's key choices: `rsa` with a size in bits, or `ecdsa` 256 (P-256). */
export type CfsslKey = { algo: 'rsa'; size: 2048 | 3072 | 4096 } | { algo: 'ecdsa'; size: 256 };

export async function benchCfssl(cluster: Cluster, key: CfsslKey = { algo: 'rsa', size: 2048 }): Promise<CfsslFigure> {
  const work = mkdtempSync(join(tmpdir(), 'ha-k8s-seed-cfssl-'));
  try {
    const expiry = `${cluster.pki.certValidityDays * 24}h`;
    writeFileSync(join(work, 'config.json'), JSON.stringify({
      signing: {
        default: { expiry },
        profiles: {
          server: { expiry, usages: ['signing', 'key encipherment', 'server auth'] },
          client: { expiry, usages: ['signing', 'key encipherment', 'client auth'] },
          peer: { expiry, usages: ['signing', 'key encipherment', 'server auth', 'client auth'] },
        },
      },
    }));
    const csr = (file: string, cn: string, o: string[], hosts: string[]) => writeFileSync(join(work, `${file}-csr.json`), JSON.stringify({
      CN: cn, hosts, key, names: o.length ? o.map((org) => ({ O: org })) : [{ O: 'ha-k8s-seed' }],
    }));
    const commands: string[] = [];
    const caFile = (name: string) => `ca-${name}`;
    for (const ca of Object.values(CA_PROFILES)) {
      csr(caFile(ca.name), ca.cn, [], []);
      commands.push(`cfssl gencert -initca ${caFile(ca.name)}-csr.json | cfssljson -bare ${caFile(ca.name)}`);
    }
    for (const leaf of leafProfiles(cluster)) {
      const file = leaf.id.replace(/\//g, '-');
      csr(file, leaf.cn, leaf.o, [...leaf.dns, ...leaf.ips]);
      const profile = leaf.server && leaf.client ? 'peer' : leaf.server ? 'server' : 'client';
      const ca = caFile(leaf.ca);
      commands.push(`cfssl gencert -ca=${ca}.pem -ca-key=${ca}-key.pem -config=config.json -profile=${profile} ${file}-csr.json | cfssljson -bare ${file}`);
    }
    const ms = await timeShell(`set -eo pipefail; cd ${work}; ${commands.join('; ')}`);
    return { certificates: commands.length, ms: Math.round(ms), msPerCertificate: Math.round(ms / commands.length) };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
