/**
 * What the platform outputs need beyond the schema: the settings of the
 * chosen platform only, sizes Kubernetes accepts, and one MAC per host once
 * the derived ones are counted.
 */
import { PLATFORM_TYPES, hasRole, isNode } from '../../model/types.ts';
import { macAddressOf, platformOf, proxmoxSettings, vmSizeSettings } from '../effective.ts';
import type { Problem } from '../problems.ts';
import type { SpecSource } from '../source.ts';
import { KUBERNETES_MINIMUMS, type ClusterSpec } from '../types.ts';
import { problemList } from './problem-list.ts';

export function checkPlatform(source: SpecSource, spec: ClusterSpec): Problem[] {
  const { problems, report } = problemList(source);
  const { value: platform, writtenAt: platformPath } = platformOf(spec);
  for (const other of PLATFORM_TYPES) {
    if (other !== platform && spec[other] !== undefined) {
      problems.push(source.problem([other], `a ${other} section, but platform is ${platform}${platformPath ? '' : ' (the default)'}`,
        `set platform: ${other}, or remove the ${other} section`, 'key'));
    }
  }
  if (platform === 'proxmox' && !spec.proxmox) {
    report(platformPath ?? [], 'platform proxmox needs a proxmox section with the templateId of the golden-image template',
      'add proxmox: { templateId: <VMID of the template> }');
  }
  if (spec.libvirt?.network !== undefined && spec.libvirt.bridge !== undefined) {
    report(['libvirt', 'bridge'], 'libvirt.network and libvirt.bridge both given: a NIC joins one of them', 'keep one');
  }
  if (platform === 'proxmox' && spec.proxmox) {
    const templateId = spec.proxmox.templateId;
    const first = proxmoxSettings(spec.proxmox).firstVmId.value;
    const last = first + spec.hosts.length - 1;
    if (templateId >= first && templateId <= last) {
      report(['proxmox', 'templateId'], `VMID ${templateId} of the template is among the hosts' VMIDs ${first}-${last}`,
        `set proxmox.firstVmId to ${templateId + 1} or more`);
    }
  }

  // kubeadm's preflight minimums, where the size lands on a Kubernetes node; a size
  // no key gave is blamed on the host.
  spec.hosts.forEach((host, i) => {
    const vm = vmSizeSettings(spec, i);
    if (hasRole(host, 'control-plane') && vm.cpus.value < KUBERNETES_MINIMUMS.controlPlaneCpus) {
      report(vm.cpus.writtenAt ?? ['hosts', i], `${host.name} is a control plane with ${vm.cpus.value} CPU; Kubernetes needs at least ${KUBERNETES_MINIMUMS.controlPlaneCpus}`,
        `give it ${KUBERNETES_MINIMUMS.controlPlaneCpus} or more cpus`);
    }
    if (isNode(host) && vm.memoryMiB.value < KUBERNETES_MINIMUMS.nodeMemoryMiB) {
      report(vm.memoryMiB.writtenAt ?? ['hosts', i], `${host.name} runs kubelet with ${vm.memoryMiB.value} MiB; Kubernetes needs at least ${KUBERNETES_MINIMUMS.nodeMemoryMiB} MiB on every node`,
        `give it memoryMiB: ${KUBERNETES_MINIMUMS.nodeMemoryMiB} or more`);
    }
  });

  // A given MAC may equal another host's derived one; vCenter refuses static MACs outside its range.
  const macs = spec.hosts.map((_, i) => macAddressOf(spec, i));
  const given = new Map(macs.flatMap((mac, i) => (mac.writtenAt ? [[mac.value, i] as const] : [])));
  spec.hosts.forEach((host, i) => {
    if (host.macAddress) {
      if (platform === 'vsphere' && !/^00:50:56:[0-3][0-9a-f]:/i.test(host.macAddress)) {
        report(['hosts', i, 'macAddress'], `vCenter accepts a manually set MAC only in 00:50:56:00:00:00-00:50:56:3f:ff:ff, not ${host.macAddress}`,
          'choose one in that range, or leave macAddress out for a derived one');
      }
      return;
    }
    const mac = macs[i]!.value;
    const clash = given.get(mac);
    if (clash !== undefined) {
      report(['hosts', clash, 'macAddress'], `MAC ${mac} is the one derived for ${host.name} (hosts[${i}])`, `choose another MAC, or give ${host.name} its own`);
    }
  });
  return problems;
}
