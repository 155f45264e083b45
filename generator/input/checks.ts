/**
 * Semantic checks: what the schema cannot say. They run on a spec that passed
 * the schema, see the effective value of every defaulted field (effective.ts),
 * and report all problems at once, each at the field the user has to change.
 * One module per concern in checks/; this is the order they run in, which is
 * the order of problems on the same line.
 */
import type { Cluster } from '../model/types.ts';
import { checkClusterNetworks } from './checks/cluster-networks.ts';
import { checkDestinations } from './checks/destinations.ts';
import { checkEtcdBackup } from './checks/etcd.ts';
import { checkFileCollisions, checkFileEntries, type GeneratedPaths } from './checks/files.ts';
import { checkHostAddresses, checkResolvers } from './checks/hosts.ts';
import { checkLoadBalancer } from './checks/load-balancer.ts';
import { checkPki } from './checks/pki.ts';
import { checkPlatform } from './checks/platform.ts';
import { checkListeningPorts } from './checks/ports.ts';
import { checkNamesAndAddresses } from './checks/reserved.ts';
import { checkTopology } from './checks/topology.ts';
import { checkVersions } from './checks/versions.ts';
import type { Problem } from './problems.ts';
import type { SpecSource } from './source.ts';
import type { ClusterSpec } from './types.ts';

const SPEC_CHECKS = [
  checkVersions,
  checkHostAddresses,
  checkTopology,
  checkLoadBalancer,
  checkClusterNetworks,
  checkFileEntries,
  checkPki,
  checkListeningPorts,
  checkNamesAndAddresses,
  checkResolvers,
  checkDestinations,
  checkEtcdBackup,
  checkPlatform,
] as const;

/** Every check of the spec itself; the spec can be resolved once none finds a problem. */
export function checkSemantics(source: SpecSource, spec: ClusterSpec): Problem[] {
  return SPEC_CHECKS.flatMap((check) => check(source, spec));
}

/** The checks that need the resolved model: which files the tool writes on each host. */
export function checkResolved(source: SpecSource, spec: ClusterSpec, cluster: Cluster, generated: GeneratedPaths): Problem[] {
  return checkFileCollisions(source, spec, cluster, generated);
}
