/** Names and addresses the network or the cluster reserves: loopback, group MACs, the router's and resolvers' addresses, DNS spelling. */
import { hostNetworkSettings } from '../effective.ts';
import { quote, type Problem } from '../problems.ts';
import type { SpecSource } from '../source.ts';
import type { ClusterSpec } from '../types.ts';
import { problemList } from './problem-list.ts';

/** A MAC whose first octet has the group bit set (multicast, broadcast), or all zeros: no NIC has one. */
function unusableMac(mac: string): string | undefined {
  const octets = mac.split(':').map((o) => parseInt(o, 16));
  if (octets.every((o) => o === 0)) return 'the all-zero MAC';
  if ((octets[0]! & 1) === 1) return mac.toLowerCase() === 'ff:ff:ff:ff:ff:ff' ? 'the broadcast MAC' : 'a multicast MAC (the first octet is odd)';
  return undefined;
}

export function checkNamesAndAddresses(source: SpecSource, spec: ClusterSpec): Problem[] {
  const { problems, report } = problemList(source);
  spec.hosts.forEach((host, i) => {
    if (host.name === 'localhost') {
      report(['hosts', i, 'name'], '"localhost" is the loopback name: /etc/hosts, etcd and the node name would all mean 127.0.0.1',
        'give the host a name of its own, e.g. node1');
    }
    if (host.macAddress) {
      const why = unusableMac(host.macAddress);
      if (why) report(['hosts', i, 'macAddress'], `${host.macAddress} is ${why}; no NIC has it, so network-config would match nothing`,
        'use the MAC the hypervisor gives the NIC; a locally administered one looks like 52:54:00:xx:xx:xx');
    }
  });

  const vip = spec.loadBalancer?.vip;
  if (vip) {
    const networks = spec.hosts.map((_, i) => hostNetworkSettings(spec, i));
    const gatewayOf = networks.findIndex((n) => n.gateway.value === vip);
    if (gatewayOf >= 0) {
      report(['loadBalancer', 'vip'], `VIP ${vip} is the gateway of ${spec.hosts[gatewayOf]!.name}: the VIP would take the router's address`,
        'choose a free address for the VIP');
    }
    const resolverOf = networks.findIndex((n) => n.nameservers.value.includes(vip));
    if (resolverOf >= 0) {
      report(['loadBalancer', 'vip'], `VIP ${vip} is a nameserver of ${spec.hosts[resolverOf]!.name}: DNS queries would reach nginx instead`,
        'choose a free address for the VIP');
    }
  }

  const domain = spec.kubernetes?.clusterDomain;
  if (domain !== undefined && (domain.endsWith('.') || domain !== domain.toLowerCase())) {
    const fixed = domain.replace(/\.+$/, '').toLowerCase();
    report(['kubernetes', 'clusterDomain'], `${quote(domain)} must be lowercase without a trailing dot: it is written into --service-account-issuer, kubelet's clusterDomain and CoreDNS's zone as it is`,
      `write ${fixed || 'cluster.local'}`);
  }
  return problems;
}
