/**
 * What the spec's platform needs to turn the seeds into running VMs: the
 * libvirt/, proxmox/ or vsphere/ folder of the cluster. Only the chosen
 * platform's folder is written.
 *
 * The seeds stream by one host at a time (render/hosts.ts): a platform
 * writes what it needs of each seed as it passes (vSphere's guestinfo values)
 * and keeps only small facts about it, from which the cluster-wide scripts
 * and README steps are rendered at the end.
 */
import type { Cluster } from '../../model/types.ts';
import type { OutputFile } from '../../output/tree.ts';
import type { HostSeed } from '../hosts.ts';
import { renderLibvirt } from './libvirt.ts';
import { renderProxmox } from './proxmox.ts';
import { fitsGuestinfo, guestinfo, guestinfoFiles, renderVsphere } from './vsphere.ts';

/** What a platform keeps of one host's seed. */
export interface SeedFact {
  /** vSphere: whether the guestinfo values fit its 64 KiB limit (else the host boots from its ISO), and the user-data value's size. */
  guestinfo?: { fits: boolean; userdataBytes: number };
}
export type SeedFacts = ReadonlyMap<string, SeedFact>;

/** The platform's files for one seed, and what it keeps of it. */
export function platformSeedFiles(cluster: Cluster, seed: HostSeed): { files: OutputFile[]; fact: SeedFact } {
  if (cluster.platform.type !== 'vsphere') return { files: [], fact: {} };
  const values = guestinfo(seed);
  const fits = fitsGuestinfo(values);
  return { files: fits ? guestinfoFiles(seed.host, values) : [], fact: { guestinfo: { fits, userdataBytes: values.userdata.length } } };
}

/** The platform's cluster-wide files, once every seed passed. */
export function renderPlatform(cluster: Cluster, facts: SeedFacts): OutputFile[] {
  const platform = cluster.platform;
  switch (platform.type) {
    case 'libvirt': return renderLibvirt(cluster, platform);
    case 'proxmox': return renderProxmox(cluster, platform);
    case 'vsphere': return renderVsphere(cluster, platform, facts);
  }
}
