/**
 * Each host's own network: names, addresses and MACs used once, an address
 * inside its subnet and next to its gateway, and resolvers on every node or
 * on none.
 */
import * as ip from '../../model/ipv4.ts';
import { isNode } from '../../model/types.ts';
import { hostNetworkSettings } from '../effective.ts';
import type { Problem } from '../problems.ts';
import type { SpecSource } from '../source.ts';
import type { ClusterSpec } from '../types.ts';
import { problemList } from './problem-list.ts';

/** The subnet host `index` is in, at its prefix length as in effect. */
export function subnetOfHost(spec: ClusterSpec, index: number): string {
  return ip.subnetOf(spec.hosts[index]!.address, hostNetworkSettings(spec, index).prefixLength.value);
}

export function checkHostAddresses(source: SpecSource, spec: ClusterSpec): Problem[] {
  const { problems, report } = problemList(source);
  const hosts = spec.hosts;

  // A shared gateway outside the subnet of every host that uses it is itself the mistake.
  const inheriting = hosts.map((_, i) => i).filter((i) => hosts[i]!.gateway === undefined);
  const sharedGateway = spec.network?.gateway;
  const sharedGatewayMisplaced = sharedGateway !== undefined && inheriting.length > 0
    && inheriting.every((i) => !ip.contains(subnetOfHost(spec, i), sharedGateway));
  if (sharedGatewayMisplaced) {
    const subnets = [...new Set(inheriting.map((i) => subnetOfHost(spec, i)))];
    report(['network', 'gateway'], `gateway ${sharedGateway} is outside the subnet of every host that uses it (${subnets.slice(0, 3).join(', ')}${subnets.length > 3 ? ', ...' : ''})`,
      subnets.length === 1 ? `use a gateway in ${subnets[0]}` : 'use a gateway in the hosts\' subnet, or give hosts their own gateway');
  }

  const firstByName = new Map<string, number>();
  const firstByAddress = new Map<string, number>();
  const firstByMac = new Map<string, number>();
  hosts.forEach((host, i) => {
    const sameName = firstByName.get(host.name);
    if (sameName !== undefined) report(['hosts', i, 'name'], `duplicate host name "${host.name}", already used by hosts[${sameName}]`, 'give every host its own name');
    else firstByName.set(host.name, i);

    const sameAddress = firstByAddress.get(host.address);
    if (sameAddress !== undefined) report(['hosts', i, 'address'], `duplicate address ${host.address}, already used by hosts[${sameAddress}] (${hosts[sameAddress]!.name})`);
    else firstByAddress.set(host.address, i);

    if (host.macAddress) {
      const mac = host.macAddress.toLowerCase();
      const sameMac = firstByMac.get(mac);
      if (sameMac !== undefined) report(['hosts', i, 'macAddress'], `duplicate MAC address ${host.macAddress}, already used by hosts[${sameMac}] (${hosts[sameMac]!.name})`);
      else firstByMac.set(mac, i);
    }

    const { prefixLength: { value: prefix }, gateway } = hostNetworkSettings(spec, i);
    const subnet = ip.subnetOf(host.address, prefix);
    if (ip.isNetworkOrBroadcast(host.address, prefix)) {
      report(['hosts', i, 'address'], `${host.address} is the network or broadcast address of ${subnet}`, 'choose a host address inside the subnet');
    }
    if (gateway.value !== undefined) {
      if (!ip.contains(subnet, gateway.value)) {
        // Blame the host when it inherits a shared gateway: the host is the odd one out,
        // unless the gateway is outside every inheriting host's subnet (above).
        if (gateway.writtenAt?.[0] === 'network') {
          if (sharedGatewayMisplaced) return;
          report(['hosts', i, 'address'], `${host.address}/${prefix} is outside the network of gateway ${gateway.value}`,
            `use an address in ${ip.subnetOf(gateway.value, prefix)}, or give this host its own gateway and prefixLength`);
        } else {
          report(gateway.writtenAt!, `gateway ${gateway.value} is outside the host's subnet ${subnet}`, `use a gateway in ${subnet}`);
        }
      } else if (gateway.value === host.address) {
        report(['hosts', i, 'address'], `${host.address} is also the gateway`, 'a host cannot be its own gateway');
      }
    }
  });
  return problems;
}

/**
 * CoreDNS runs on any node and forwards names outside the cluster to the
 * resolvers of the node it runs on (/etc/resolv.conf of its pod). With none
 * on every node the Corefile leaves forwarding out (cluster names only: an
 * air-gapped site); with some nodes lacking them, CoreDNS would fail to start
 * on those ("no nameservers found"). So: every node, or none.
 */
export function checkResolvers(source: SpecSource, spec: ClusterSpec): Problem[] {
  const nodes = spec.hosts.map((h, i) => ({ h, i, nameservers: hostNetworkSettings(spec, i).nameservers.value })).filter(({ h }) => isNode(h));
  const without = nodes.filter(({ nameservers }) => nameservers.length === 0);
  if (without.length === 0 || without.length === nodes.length) return [];
  const some = nodes.find(({ nameservers }) => nameservers.length > 0)!;
  return without.map(({ h, i }) => source.problem(['hosts', i],
    `${h.name} has no nameservers while ${some.h.name} has: CoreDNS forwards to the resolvers of the node it runs on, and on ${h.name} it would find none and fail`,
    'give every node nameservers (network.nameservers, or hosts[].nameservers), or none at all for a cluster that resolves only its own names'));
}
