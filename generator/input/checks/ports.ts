/** One listener per TCP port on each host: the two configurable ports must miss every fixed one. */
import { PORTS } from '../../model/paths.ts';
import { hasRole, isNode } from '../../model/types.ts';
import { kubernetesSettings, loadBalancerSettings, type Setting } from '../effective.ts';
import type { PathSegment, Problem } from '../problems.ts';
import type { SpecSource } from '../source.ts';
import type { ClusterSpec, HostSpec } from '../types.ts';

interface Listener {
  port: number;
  who: string;
  /** The spec key that chose this port, when the user wrote it. */
  setBy?: PathSegment[];
}

function configurable(port: Setting<number>, who: string): Listener {
  return { port: port.value, who, ...(port.writtenAt ? { setBy: port.writtenAt } : {}) };
}

/** Every TCP port a host's roles listen on (PORTS, plus the two configurable ones). */
function listenersOf(spec: ClusterSpec, host: HostSpec): Listener[] {
  const list: Listener[] = [{ port: PORTS.ssh, who: 'sshd' }];
  if (hasRole(host, 'etcd')) {
    list.push({ port: PORTS.etcdClient, who: 'etcd (clients)' }, { port: PORTS.etcdPeer, who: 'etcd (peers)' }, { port: PORTS.etcdMetrics, who: 'etcd (metrics)' });
  }
  if (hasRole(host, 'control-plane')) {
    list.push(
      configurable(kubernetesSettings(spec).apiserverPort, 'kube-apiserver'),
      { port: PORTS.controllerManager, who: 'kube-controller-manager' },
      { port: PORTS.scheduler, who: 'kube-scheduler' },
    );
  }
  if (isNode(host)) {
    list.push(
      { port: PORTS.kubelet, who: 'kubelet' }, { port: PORTS.kubeletHealthz, who: 'kubelet (healthz)' },
      { port: PORTS.kubeProxyMetrics, who: 'kube-proxy (metrics)' }, { port: PORTS.kubeProxyHealthz, who: 'kube-proxy (healthz)' },
    );
  }
  const lb = loadBalancerSettings(spec);
  if (hasRole(host, 'load-balancer') && lb) list.push(configurable(lb.port, 'nginx'));
  return list;
}

/**
 * Two daemons on one port of one host: the second fails to bind and its role
 * never comes up. Reported once per clash at the key that chose the port
 * (or at the host's roles when both are defaults), naming every host.
 */
export function checkListeningPorts(source: SpecSource, spec: ClusterSpec): Problem[] {
  const clashes = new Map<string, { path: PathSegment[]; port: number; whos: string[]; hosts: string[]; taken: Set<number> }>();
  spec.hosts.forEach((host, i) => {
    const listeners = listenersOf(spec, host);
    const taken = new Set(listeners.map((l) => l.port));
    const byPort = new Map<number, Listener[]>();
    for (const l of listeners) byPort.set(l.port, [...(byPort.get(l.port) ?? []), l]);
    for (const [port, same] of byPort) {
      if (same.length < 2) continue;
      const blamed = same.find((l) => l.setBy) ?? same.find((l) => l.who === 'nginx');
      const path = blamed?.setBy ?? ['hosts', i, 'roles'];
      const key = `${path.join('.')}|${port}|${same.map((l) => l.who).join(',')}`;
      const clash = clashes.get(key) ?? { path, port, whos: same.map((l) => l.who), hosts: [], taken: new Set<number>() };
      clash.hosts.push(host.name);
      for (const p of taken) clash.taken.add(p);
      clashes.set(key, clash);
    }
  });
  return [...clashes.values()].map((c) => {
    // Both ports defaults (a load balancer that is also a control plane): nginx's is the one to move.
    const field = c.path[0] === 'hosts' ? 'loadBalancer.port' : c.path.join('.');
    const free = [6443, 8443, 9443, 16443].find((p) => !c.taken.has(p));
    const where = c.hosts.length === 1 ? c.hosts[0] : `${c.hosts.length} hosts (${c.hosts.join(', ')})`;
    return source.problem(c.path, `port ${c.port} on ${where}: ${c.whos.join(' and ')} would both listen on it`,
      `set ${field} to a port free on ${c.hosts.length === 1 ? c.hosts[0] : 'those hosts'}${free ? `, e.g. ${free}` : ''}`);
  });
}
