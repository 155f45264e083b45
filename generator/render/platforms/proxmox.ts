/**
 * Proxmox VE: one script of `qm` commands per host (full clone of the
 * golden template, CPU and memory, the template's own cloud-init drive
 * removed, the host's cidata ISO on ide2, the MAC, the disk grown, start),
 * upload-isos.sh putting every ISO into the ISO storage, and create-vms.sh
 * running both in START_ORDER. Run on a Proxmox node, as root.
 */
import type { Cluster, Host, Platform } from '../../model/types.ts';
import type { OutputFile } from '../../output/tree.ts';
import { renderTemplate } from '../templates.ts';
import { startOrder } from './order.ts';

type Proxmox = Extract<Platform, { type: 'proxmox' }>;

/** VMIDs follow the spec's host order from firstVmId, so adding a host at the end renumbers nobody. */
export function vmId(cluster: Cluster, platform: Proxmox, host: Host): number {
  return platform.firstVmId + cluster.hosts.indexOf(host);
}

/** The ISO's name in the ISO storage: the cluster's name keeps clusters sharing a storage apart. */
export const isoName = (cluster: Pick<Cluster, 'name'>, host: Pick<Host, 'name'>) => `${cluster.name}-${host.name}-cidata.iso`;

export function renderProxmox(cluster: Cluster, platform: Proxmox): OutputFile[] {
  const hosts = startOrder(cluster).map((h) => ({
    name: h.name,
    roles: h.roles.join(', '),
    vmid: vmId(cluster, platform, h),
    vm: h.vm,
    mac: h.network.macAddress,
    iso: isoName(cluster, h),
  }));
  return [
    ...hosts.map((host) => ({
      path: `proxmox/hosts/${host.name}.sh`,
      content: renderTemplate('platforms/proxmox/host.sh.hbs', { cluster: cluster.name, platform, host }),
      mode: 0o755,
    })),
    { path: 'proxmox/upload-isos.sh', content: renderTemplate('platforms/proxmox/upload-isos.sh.hbs', { cluster: cluster.name, platform, hosts }), mode: 0o755 },
    { path: 'proxmox/create-vms.sh', content: renderTemplate('platforms/proxmox/create-vms.sh.hbs', { cluster: cluster.name, platform, hosts }), mode: 0o755 },
  ];
}
