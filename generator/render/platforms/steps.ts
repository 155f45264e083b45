/**
 * The cluster README's "Bringing up the VMs" section for the spec's
 * platform: what to run, in order, for every host, with the facts each
 * step sets (size, MAC, disk, seed). The text is in
 * templates/platforms/<platform>/README-steps.md.hbs.
 */
import type { Cluster } from '../../model/types.ts';
import type { SeedFacts } from './index.ts';
import { renderTemplate } from '../templates.ts';
import { libvirtFiles } from './libvirt.ts';
import { startOrder } from './order.ts';
import { isoName, vmId } from './proxmox.ts';

export function renderPlatformSteps(cluster: Cluster, facts: SeedFacts): string {
  const platform = cluster.platform;
  const hosts = startOrder(cluster).map((h, i) => ({
    step: i + 1, name: h.name, roles: h.roles.join(', '), vm: h.vm, mac: h.network.macAddress,
    ...(platform.type === 'libvirt' ? libvirtFiles(platform, h) : {}),
    ...(platform.type === 'proxmox' ? { vmid: vmId(cluster, platform, h), iso: isoName(cluster, h) } : {}),
    ...(platform.type === 'vsphere' ? (() => {
      const fits = facts.get(h.name)?.guestinfo?.fits ?? true;
      return { seedVia: fits ? 'guestinfo (gzip+base64)' : 'cidata.iso on the CD-ROM (user-data over 64 KiB even compressed)' };
    })() : {}),
  }));
  return renderTemplate(`platforms/${platform.type}/README-steps.md.hbs`, { cluster: cluster.name, image: cluster.image, platform, hosts });
}
