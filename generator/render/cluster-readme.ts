/**
 * The README at the top of a generated cluster folder: what is there and
 * which file goes to which VM, for the operator who opens the folder later.
 */
import { hostsWithRole, type Cluster, type Role } from '../model/types.ts';
import type { OutputFile } from '../output/tree.ts';
import type { HostSeed } from './hosts.ts';
import { renderPlatformSteps } from './platforms/steps.ts';
import { renderTemplate } from './templates.ts';

/** A plain-text diagram: clients -> VIP -> apiservers -> etcd, nodes beside. */
function topologyDiagram(cluster: Cluster): string {
  const names = (role: Role) => hostsWithRole(cluster, role).map((h) => `${h.name} ${h.address}`);
  const lines: string[] = [];
  const lb = cluster.loadBalancer;
  lines.push('kubectl, kubelets, kube-proxies');
  lines.push('        |');
  if (lb) {
    lines.push(`   VIP ${lb.vip}:${lb.port}   (keepalived VRRP id ${lb.virtualRouterId})`);
    for (const m of lb.members) lines.push(`   +-- nginx on ${m.host} ${m.address}${m.initialState === 'MASTER' ? '  [preferred]' : ''}`);
    lines.push('        |');
  }
  lines.push(`   kube-apiserver :${cluster.kubernetes.apiserverPort}`);
  for (const n of names('control-plane')) lines.push(`   +-- ${n}`);
  lines.push('        |  (TLS, client certificates)');
  lines.push('   etcd :2379');
  for (const n of names('etcd')) lines.push(`   +-- ${n}`);
  const workers = names('worker');
  if (workers.length) {
    lines.push('');
    lines.push('   workers (kubelet, kube-proxy, containerd)');
    for (const n of workers) lines.push(`   +-- ${n}`);
  }
  return lines.join('\n');
}

export function renderClusterReadme(cluster: Cluster, specFile: string, seeds: readonly HostSeed[]): OutputFile {
  const content = renderTemplate('cluster-README.md.hbs', {
    ...cluster,
    specFile,
    diagram: topologyDiagram(cluster),
    hosts: cluster.hosts.map((h) => ({ name: h.name, address: h.address, roles: h.roles.join(', ') })),
    imageNote: cluster.image.binaries === 'golden-image'
      ? 'the golden image built from packer/'
      : `a stock ${cluster.image.os} cloud image; first boot downloads the pinned binaries`,
    adminKubeconfig: `out/${cluster.name}/admin.kubeconfig`,
    platformSteps: renderPlatformSteps(cluster, seeds),
  });
  return { path: 'README.md', content, mode: 0o644 };
}
