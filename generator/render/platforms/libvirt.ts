/**
 * KVM/libvirt: one domain XML per host and create-vms.sh, which copies each
 * host's cidata.iso into the images folder (qemu cannot read the operator's
 * root-only out/ folder), creates the host's disk as a qcow2 overlay on the
 * golden image, defines and starts the domains in START_ORDER.
 */
import type { Cluster, Host, Platform } from '../../model/types.ts';
import type { OutputFile } from '../../output/tree.ts';
import { renderTemplate } from '../templates.ts';
import { startOrder } from './order.ts';

type Libvirt = Extract<Platform, { type: 'libvirt' }>;

/** libvirt's names for the image's architecture: amd64 boots as a q35 PC, arm64 as a UEFI `virt` machine. */
const MACHINES = {
  amd64: { arch: 'x86_64', machine: 'q35', efi: false, cdromBus: 'sata', cdromDev: 'sda' },
  arm64: { arch: 'aarch64', machine: 'virt', efi: true, cdromBus: 'scsi', cdromDev: 'sda' },
} as const;

export function libvirtFiles(platform: Libvirt, host: Pick<Host, 'name'>) {
  return {
    disk: `${platform.imagesDir}/${host.name}.qcow2`,
    iso: `${platform.imagesDir}/${host.name}-cidata.iso`,
  };
}

export function renderDomainXml(cluster: Cluster, platform: Libvirt, host: Host): string {
  return renderTemplate('platforms/libvirt/domain.xml.hbs', {
    name: host.name,
    title: `${host.name} (${host.roles.join(', ')}) of cluster ${cluster.name}`,
    vm: host.vm,
    machine: MACHINES[cluster.image.arch],
    ...libvirtFiles(platform, host),
    mac: host.network.macAddress,
    attach: platform.attach,
  });
}

export function renderLibvirt(cluster: Cluster, platform: Libvirt): OutputFile[] {
  const hosts = startOrder(cluster);
  return [
    ...hosts.map((h) => ({ path: `libvirt/domains/${h.name}.xml`, content: renderDomainXml(cluster, platform, h), mode: 0o644 })),
    {
      path: 'libvirt/create-vms.sh',
      content: renderTemplate('platforms/libvirt/create-vms.sh.hbs', {
        cluster: cluster.name,
        platform,
        hosts: hosts.map((h) => ({ name: h.name, roles: h.roles.join(', '), diskGiB: h.vm.diskGiB, ...libvirtFiles(platform, h) })),
      }),
      mode: 0o755,
    },
  ];
}
