/**
 * The load balancers and their VIP: two or more of them with a loadBalancer
 * section, one needed once there are several control planes, and a VIP that
 * is a free address in their subnet.
 */
import * as ip from '../../model/ipv4.ts';
import { hostNetworkSettings } from '../effective.ts';
import type { Problem } from '../problems.ts';
import type { SpecSource } from '../source.ts';
import type { ClusterSpec } from '../types.ts';
import { subnetOfHost } from './hosts.ts';
import { problemList } from './problem-list.ts';
import { withRole } from './topology.ts';

export function checkLoadBalancer(source: SpecSource, spec: ClusterSpec): Problem[] {
  const { problems, report } = problemList(source);
  const lb = spec.loadBalancer;
  const loadBalancers = withRole(spec, 'load-balancer');
  const controlPlanes = withRole(spec, 'control-plane');
  if (loadBalancers.length === 1) {
    report(['hosts', loadBalancers[0]!.i, 'roles'], 'only one host has the load-balancer role; keepalived needs a second one to fail over to',
      'give the load-balancer role to at least two hosts');
  }
  if (loadBalancers.length > 0 && !lb) {
    report([], 'hosts have the load-balancer role but the spec has no loadBalancer section', 'add loadBalancer: { vip: <a free address in their subnet> }');
  }
  if (lb && loadBalancers.length === 0) {
    report(['loadBalancer', 'vip'], `VIP ${lb.vip} has no load balancer to hold it`, 'give the load-balancer role to two or more hosts, or remove the loadBalancer section');
  }
  if (!lb && loadBalancers.length === 0 && controlPlanes.length > 1) {
    report(['hosts', controlPlanes[1]!.i, 'roles'], `${controlPlanes.length} control planes but no load balancer: kubelets and kubectl need one address for all of them`,
      'add a loadBalancer section with a VIP and give the load-balancer role to two hosts');
  }
  if (lb) {
    const vipHost = spec.hosts.findIndex((h) => h.address === lb.vip);
    if (vipHost >= 0) {
      report(['loadBalancer', 'vip'], `VIP ${lb.vip} is the address of hosts[${vipHost}] (${spec.hosts[vipHost]!.name})`, 'choose a free address for the VIP');
    }
    for (const { h, i } of loadBalancers) {
      const subnet = subnetOfHost(spec, i);
      if (!ip.contains(subnet, lb.vip)) {
        report(['loadBalancer', 'vip'], `VIP ${lb.vip} is outside the subnet ${subnet} of load balancer ${h.name}`, `choose a free address in ${subnet}`);
      } else if (ip.isNetworkOrBroadcast(lb.vip, hostNetworkSettings(spec, i).prefixLength.value)) {
        report(['loadBalancer', 'vip'], `VIP ${lb.vip} is the network or broadcast address of ${subnet}`);
      }
    }
  }
  return problems;
}
