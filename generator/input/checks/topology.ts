/** Roles and counts: an odd number of etcd members, at least one control plane. */
import { hasRole, type Role } from '../../model/types.ts';
import type { Problem } from '../problems.ts';
import type { SpecSource } from '../source.ts';
import type { ClusterSpec, HostSpec } from '../types.ts';
import { problemList } from './problem-list.ts';

/** The hosts with `role`, each with its index in hosts[]. */
export function withRole(spec: ClusterSpec, role: Role): { h: HostSpec; i: number }[] {
  return spec.hosts.map((h, i) => ({ h, i })).filter(({ h }) => hasRole(h, role));
}

export function checkTopology(source: SpecSource, spec: ClusterSpec): Problem[] {
  const { problems, report } = problemList(source);
  const etcd = withRole(spec, 'etcd');
  if (etcd.length === 0) {
    report(['hosts'], 'no host has the etcd role', 'add "etcd" to the roles of 1, 3 or 5 hosts (3 or 5 for high availability)');
  } else if (etcd.length % 2 === 0) {
    report(['hosts', etcd.at(-1)!.i, 'roles'], `${etcd.length} hosts have the etcd role; etcd needs an odd number of members to keep a majority through a failure`,
      `use ${etcd.length - 1} or ${etcd.length + 1} etcd members`);
  }
  if (withRole(spec, 'control-plane').length === 0) {
    report(['hosts'], 'no host has the control-plane role', 'add "control-plane" to the roles of at least one host (two or more for high availability)');
  }
  return problems;
}
