/**
 * The cluster's own ranges: serviceCIDR and podCIDR canonical, apart from
 * each other and from every host network, large enough; clusterDNS a usable
 * Service address; the VIP outside both.
 */
import * as ip from '../../model/ipv4.ts';
import { isNode } from '../../model/types.ts';
import { defaultClusterDNS, kubernetesServiceIP, kubernetesSettings } from '../effective.ts';
import type { PathSegment, Problem } from '../problems.ts';
import type { SpecSource } from '../source.ts';
import type { ClusterSpec } from '../types.ts';
import { subnetOfHost } from './hosts.ts';
import { problemList } from './problem-list.ts';

export function checkClusterNetworks(source: SpecSource, spec: ClusterSpec): Problem[] {
  const { problems, report } = problemList(source);
  const hosts = spec.hosts;
  const k8s = kubernetesSettings(spec);
  const lb = spec.loadBalancer;
  /** Where a range is blamed: its key, or the kubernetes section when it is the default. */
  const pathOf = (key: 'serviceCIDR' | 'podCIDR'): PathSegment[] => k8s[key].writtenAt ?? ['kubernetes'];
  // A range with host bits set is reported once, then checked as the range it means.
  const canonical = (key: 'serviceCIDR' | 'podCIDR') => {
    const text = k8s[key].value;
    const parsed = ip.parseCIDR(text)!;
    if (parsed.hostBitsSet) {
      report(pathOf(key), `${text} has host bits set`, `write ${parsed.network}/${parsed.prefixLength}`);
      return `${parsed.network}/${parsed.prefixLength}`;
    }
    return text;
  };
  const serviceCIDR = canonical('serviceCIDR');
  const podCIDR = canonical('podCIDR');

  if (ip.overlaps(serviceCIDR, podCIDR)) {
    report(k8s.podCIDR.writtenAt ? pathOf('podCIDR') : pathOf('serviceCIDR'), `podCIDR ${podCIDR} overlaps serviceCIDR ${serviceCIDR}`, 'choose two ranges that do not overlap, e.g. 10.0.0.0/24 and 10.244.0.0/16');
  }
  const hostSubnets = new Map<string, number>();
  hosts.forEach((_, i) => {
    const subnet = subnetOfHost(spec, i);
    if (!hostSubnets.has(subnet)) hostSubnets.set(subnet, i);
  });
  for (const [subnet, i] of hostSubnets) {
    for (const key of ['serviceCIDR', 'podCIDR'] as const) {
      const range = key === 'serviceCIDR' ? serviceCIDR : podCIDR;
      if (ip.overlaps(range, subnet)) {
        report(pathOf(key), `${key} ${range} overlaps the host network ${subnet} of ${hosts[i]!.name}`, 'choose a range that no host network uses');
      }
    }
  }
  if (ip.parseCIDR(podCIDR)!.prefixLength > 24) {
    report(pathOf('podCIDR'), `podCIDR ${podCIDR} is smaller than one node's /24`, 'use a /16, or at least a /24 per node');
  } else {
    const nodes = hosts.filter(isNode).length;
    if (ip.size(podCIDR) / 256 < nodes) {
      const prefix = 24 - Math.ceil(Math.log2(nodes));
      report(pathOf('podCIDR'), `podCIDR ${podCIDR} holds ${ip.size(podCIDR) / 256} node /24s, fewer than the cluster's ${nodes} nodes`,
        `use a /${prefix} or larger, e.g. ${ip.subnetOf(ip.parseCIDR(podCIDR)!.network, prefix)}`);
    }
  }
  if (ip.size(serviceCIDR) < 16) {
    report(pathOf('serviceCIDR'), `serviceCIDR ${serviceCIDR} is too small for the cluster's Services`, 'use at least a /28; a /24 or larger is usual');
  }
  const dns = k8s.clusterDNS;
  if (dns.writtenAt) {
    if (!ip.contains(serviceCIDR, dns.value)) {
      report(dns.writtenAt, `clusterDNS ${dns.value} is outside serviceCIDR ${serviceCIDR}`, `use an address in ${serviceCIDR}, e.g. ${defaultClusterDNS(serviceCIDR)}`);
    } else if (dns.value === kubernetesServiceIP(serviceCIDR)) {
      report(dns.writtenAt, `clusterDNS ${dns.value} is the address of the kubernetes Service itself (the first in serviceCIDR)`, `use e.g. ${defaultClusterDNS(serviceCIDR)}`);
    } else if (ip.isNetworkOrBroadcast(dns.value, ip.parseCIDR(serviceCIDR)!.prefixLength)) {
      report(dns.writtenAt, `clusterDNS ${dns.value} is the network or broadcast address of ${serviceCIDR}`);
    }
  }
  if (lb && (ip.contains(serviceCIDR, lb.vip) || ip.contains(podCIDR, lb.vip))) {
    report(['loadBalancer', 'vip'], `VIP ${lb.vip} lies inside the cluster's serviceCIDR or podCIDR`);
  }
  return problems;
}
