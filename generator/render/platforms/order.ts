/**
 * The order VMs are created and started in: load balancers first (the VIP
 * every kubelet dials), then etcd (the apiservers' store), control planes,
 * workers. A host with several roles starts with its earliest.
 */
import type { Cluster, Host, Role } from '../../model/types.ts';

export const START_ORDER: readonly Role[] = ['load-balancer', 'etcd', 'control-plane', 'worker'];

export function startOrder(cluster: Pick<Cluster, 'hosts'>): Host[] {
  const rank = (h: Host) => Math.min(...h.roles.map((r) => START_ORDER.indexOf(r)));
  // Array.prototype.sort is stable: spec order within a stage.
  return [...cluster.hosts].sort((a, b) => rank(a) - rank(b));
}

/** Where a host's seed files are, relative to the cluster folder. */
export const seedDir = (host: Pick<Host, 'name'>) => `hosts/${host.name}`;
