/**
 * What the spec's platform needs to turn the seeds into running VMs: the
 * libvirt/, proxmox/ or vsphere/ folder of the cluster. Only the chosen
 * platform's folder is written.
 */
import type { Cluster } from '../../model/types.ts';
import type { OutputFile } from '../../output/tree.ts';
import type { HostSeed } from '../hosts.ts';
import { renderLibvirt } from './libvirt.ts';
import { renderProxmox } from './proxmox.ts';
import { renderVsphere } from './vsphere.ts';

export function renderPlatform(cluster: Cluster, seeds: readonly HostSeed[]): OutputFile[] {
  const platform = cluster.platform;
  switch (platform.type) {
    case 'libvirt': return renderLibvirt(cluster, platform);
    case 'proxmox': return renderProxmox(cluster, platform);
    case 'vsphere': return renderVsphere(cluster, platform, seeds);
  }
}
