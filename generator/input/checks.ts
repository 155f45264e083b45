/**
 * Semantic checks: what the schema cannot say. They run on a spec that passed
 * the schema, see the effective value of every defaulted field, and report all
 * problems at once, each at the field the user has to change.
 */
import * as ip from '../model/ipv4.ts';
import { derivedMac } from '../model/mac.ts';
import { CONFIG, PORTS } from '../model/paths.ts';
import { normalFilePath } from '../model/resolve.ts';
import { PLATFORM_TYPES, hasRole, OS_FAMILY, type Cluster, type Host } from '../model/types.ts';
import {
  defaultKubernetesVersion, kubernetesRelease, supportedContainerdVersions,
  supportedEtcdVersions, supportedKubernetesVersions,
} from '../versions/versions.ts';
import { ONCALENDAR_EXAMPLES, onCalendarProblem } from './oncalendar.ts';
import { formatPath, quote, type PathSegment, type Problem } from './problems.ts';
import type { SpecSource } from './source.ts';
import { LEAF_RENEW_DAYS } from '../pki/lifetimes.ts';
import {
  DEFAULTS, DEFAULT_VM_SIZES, KUBERNETES_MINIMUMS, PLATFORM_DEFAULTS, type ClusterSpec, type HostSpec,
} from './types.ts';

/** A network setting of a host as in effect, with the path it was written at (or its default's). */
interface Effective<T> { value: T | undefined; path: PathSegment[] }

function effective<K extends 'interface' | 'prefixLength' | 'gateway' | 'nameservers'>(
  spec: ClusterSpec, index: number, key: K,
): Effective<NonNullable<HostSpec[K]>> {
  const host = spec.hosts[index]!;
  if (host[key] !== undefined) return { value: host[key] as NonNullable<HostSpec[K]>, path: ['hosts', index, key] };
  const fromNetwork = spec.network?.[key] as NonNullable<HostSpec[K]> | undefined;
  return { value: fromNetwork, path: fromNetwork !== undefined ? ['network', key] : ['hosts', index] };
}

function prefixOf(spec: ClusterSpec, index: number): number {
  return effective(spec, index, 'prefixLength').value ?? DEFAULTS.prefixLength;
}

export function checkSemantics(source: SpecSource, spec: ClusterSpec): Problem[] {
  const problems: Problem[] = [];
  const report = (path: PathSegment[], message: string, fix?: string) => problems.push(source.problem(path, message, fix));
  const hosts = spec.hosts;
  const k8s = spec.kubernetes ?? {};

  // --- versions -------------------------------------------------------------
  const version = k8s.version ?? defaultKubernetesVersion;
  const release = kubernetesRelease(version);
  if (!release) {
    report(['kubernetes', 'version'], `Kubernetes ${version} is not supported: no release artifacts are pinned with checksums for it`,
      `use one of ${supportedKubernetesVersions.join(', ')}, or leave the key out for ${defaultKubernetesVersion}`);
  }
  if (spec.etcd?.version && !supportedEtcdVersions.includes(spec.etcd.version)) {
    report(['etcd', 'version'], `etcd ${spec.etcd.version} is not pinned in the versions table`,
      `use one of ${supportedEtcdVersions.join(', ')}, or leave the key out for the release paired with Kubernetes ${version}`);
  }
  if (spec.containerd?.version && !supportedContainerdVersions.includes(spec.containerd.version)) {
    report(['containerd', 'version'], `containerd ${spec.containerd.version} is not pinned in the versions table`,
      `use one of ${supportedContainerdVersions.join(', ')}`);
  }

  // --- hosts: uniqueness and addressing --------------------------------------
  // A shared gateway outside the subnet of every host that uses it is itself the mistake.
  const inheriting = hosts.map((_, i) => i).filter((i) => hosts[i]!.gateway === undefined);
  const sharedGateway = spec.network?.gateway;
  const sharedGatewayMisplaced = sharedGateway !== undefined && inheriting.length > 0
    && inheriting.every((i) => !ip.contains(ip.subnetOf(hosts[i]!.address, prefixOf(spec, i)), sharedGateway));
  if (sharedGatewayMisplaced) {
    const subnets = [...new Set(inheriting.map((i) => ip.subnetOf(hosts[i]!.address, prefixOf(spec, i))))];
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

    const prefix = prefixOf(spec, i);
    if (ip.isNetworkOrBroadcast(host.address, prefix)) {
      report(['hosts', i, 'address'], `${host.address} is the network or broadcast address of ${ip.subnetOf(host.address, prefix)}`, 'choose a host address inside the subnet');
    }
    const gateway = effective(spec, i, 'gateway');
    if (gateway.value !== undefined) {
      const subnet = ip.subnetOf(host.address, prefix);
      if (!ip.contains(subnet, gateway.value)) {
        // Blame the host when it inherits a shared gateway: the host is the odd one out,
        // unless the gateway is outside every inheriting host's subnet (below).
        if (gateway.path[0] === 'network') {
          if (sharedGatewayMisplaced) return;
          report(['hosts', i, 'address'], `${host.address}/${prefix} is outside the network of gateway ${gateway.value}`,
            `use an address in ${ip.subnetOf(gateway.value, prefix)}, or give this host its own gateway and prefixLength`);
        } else {
          report(gateway.path, `gateway ${gateway.value} is outside the host's subnet ${subnet}`, `use a gateway in ${subnet}`);
        }
      } else if (gateway.value === host.address) {
        report(['hosts', i, 'address'], `${host.address} is also the gateway`, 'a host cannot be its own gateway');
      }
    }
  });

  // --- roles and counts -------------------------------------------------------
  const withRole = (role: Parameters<typeof hasRole>[1]) => hosts.map((h, i) => ({ h, i })).filter(({ h }) => hasRole(h, role));
  const etcd = withRole('etcd');
  const controlPlanes = withRole('control-plane');
  const loadBalancers = withRole('load-balancer');

  if (etcd.length === 0) {
    report(['hosts'], 'no host has the etcd role', 'add "etcd" to the roles of 1, 3 or 5 hosts (3 or 5 for high availability)');
  } else if (etcd.length % 2 === 0) {
    report(['hosts', etcd.at(-1)!.i, 'roles'], `${etcd.length} hosts have the etcd role; etcd needs an odd number of members to keep a majority through a failure`,
      `use ${etcd.length - 1} or ${etcd.length + 1} etcd members`);
  }
  if (controlPlanes.length === 0) {
    report(['hosts'], 'no host has the control-plane role', 'add "control-plane" to the roles of at least one host (two or more for high availability)');
  }

  // --- load balancer and VIP ----------------------------------------------------
  const lb = spec.loadBalancer;
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
    const vipHost = hosts.findIndex((h) => h.address === lb.vip);
    if (vipHost >= 0) {
      report(['loadBalancer', 'vip'], `VIP ${lb.vip} is the address of hosts[${vipHost}] (${hosts[vipHost]!.name})`, 'choose a free address for the VIP');
    }
    for (const { h, i } of loadBalancers) {
      const subnet = ip.subnetOf(h.address, prefixOf(spec, i));
      if (!ip.contains(subnet, lb.vip)) {
        report(['loadBalancer', 'vip'], `VIP ${lb.vip} is outside the subnet ${subnet} of load balancer ${h.name}`, `choose a free address in ${subnet}`);
      } else if (ip.isNetworkOrBroadcast(lb.vip, prefixOf(spec, i))) {
        report(['loadBalancer', 'vip'], `VIP ${lb.vip} is the network or broadcast address of ${subnet}`);
      }
    }
  }

  // --- cluster networks ---------------------------------------------------------
  const cidr = (key: 'serviceCIDR' | 'podCIDR') => {
    const text = k8s[key] ?? DEFAULTS[key];
    const parsed = ip.parseCIDR(text)!;
    if (parsed.hostBitsSet) {
      report(['kubernetes', key], `${text} has host bits set`, `write ${parsed.network}/${parsed.prefixLength}`);
      return `${parsed.network}/${parsed.prefixLength}`;
    }
    return text;
  };
  const serviceCIDR = cidr('serviceCIDR');
  const podCIDR = cidr('podCIDR');
  const pathOr = (key: 'serviceCIDR' | 'podCIDR'): PathSegment[] => (k8s[key] !== undefined ? ['kubernetes', key] : ['kubernetes']);

  if (ip.overlaps(serviceCIDR, podCIDR)) {
    report(k8s.podCIDR === undefined ? pathOr('serviceCIDR') : pathOr('podCIDR'), `podCIDR ${podCIDR} overlaps serviceCIDR ${serviceCIDR}`, 'choose two ranges that do not overlap, e.g. 10.0.0.0/24 and 10.244.0.0/16');
  }
  const hostSubnets = new Map<string, number>();
  hosts.forEach((h, i) => {
    const subnet = ip.subnetOf(h.address, prefixOf(spec, i));
    if (!hostSubnets.has(subnet)) hostSubnets.set(subnet, i);
  });
  for (const [subnet, i] of hostSubnets) {
    for (const key of ['serviceCIDR', 'podCIDR'] as const) {
      const range = key === 'serviceCIDR' ? serviceCIDR : podCIDR;
      if (ip.overlaps(range, subnet)) {
        report(pathOr(key), `${key} ${range} overlaps the host network ${subnet} of ${hosts[i]!.name}`, 'choose a range that no host network uses');
      }
    }
  }
  if (ip.parseCIDR(podCIDR)!.prefixLength > 24) {
    report(pathOr('podCIDR'), `podCIDR ${podCIDR} is smaller than one node's /24`, 'use a /16, or at least a /24 per node');
  } else {
    const nodes = hosts.filter((h) => hasRole(h, 'worker') || hasRole(h, 'control-plane')).length;
    if (ip.size(podCIDR) / 256 < nodes) {
      const prefix = 24 - Math.ceil(Math.log2(nodes));
      report(pathOr('podCIDR'), `podCIDR ${podCIDR} holds ${ip.size(podCIDR) / 256} node /24s, fewer than the cluster's ${nodes} nodes`,
        `use a /${prefix} or larger, e.g. ${ip.subnetOf(ip.parseCIDR(podCIDR)!.network, prefix)}`);
    }
  }
  if (ip.size(serviceCIDR) < 16) {
    report(pathOr('serviceCIDR'), `serviceCIDR ${serviceCIDR} is too small for the cluster's Services`, 'use at least a /28; a /24 or larger is usual');
  }
  if (k8s.clusterDNS !== undefined) {
    if (!ip.contains(serviceCIDR, k8s.clusterDNS)) {
      report(['kubernetes', 'clusterDNS'], `clusterDNS ${k8s.clusterDNS} is outside serviceCIDR ${serviceCIDR}`, `use an address in ${serviceCIDR}, e.g. ${ip.nthAddress(serviceCIDR, DEFAULTS.clusterDNSOffset)}`);
    } else if (k8s.clusterDNS === ip.nthAddress(serviceCIDR, 1)) {
      report(['kubernetes', 'clusterDNS'], `clusterDNS ${k8s.clusterDNS} is the address of the kubernetes Service itself (the first in serviceCIDR)`, `use e.g. ${ip.nthAddress(serviceCIDR, DEFAULTS.clusterDNSOffset)}`);
    } else if (ip.isNetworkOrBroadcast(k8s.clusterDNS, ip.parseCIDR(serviceCIDR)!.prefixLength)) {
      report(['kubernetes', 'clusterDNS'], `clusterDNS ${k8s.clusterDNS} is the network or broadcast address of ${serviceCIDR}`);
    }
  }
  if (lb && (ip.contains(serviceCIDR, lb.vip) || ip.contains(podCIDR, lb.vip))) {
    report(['loadBalancer', 'vip'], `VIP ${lb.vip} lies inside the cluster's serviceCIDR or podCIDR`);
  }

  problems.push(...checkFileEntries(source, spec));

  // --- PKI lifetimes --------------------------------------------------------------
  // A leaf that starts inside the renewal window would be reissued on every run; one that outlives
  // its CA would be cut to the CA's end, and reissued on every run once that end is near.
  const caDays = spec.pki?.caValidityDays ?? DEFAULTS.caValidityDays;
  const certDays = spec.pki?.certValidityDays ?? DEFAULTS.certValidityDays;
  const certPath: PathSegment[] = spec.pki?.certValidityDays !== undefined ? ['pki', 'certValidityDays'] : ['pki', 'caValidityDays'];
  if (certDays <= LEAF_RENEW_DAYS) {
    report(certPath, `certificates valid for ${certDays} days would be renewed on every run: a certificate is reissued when fewer than ${LEAF_RENEW_DAYS} days are left`,
      `set pki.certValidityDays to more than ${LEAF_RENEW_DAYS} (the default is ${DEFAULTS.certValidityDays})`);
  } else if (certDays > caDays) {
    report(certPath, `certificates valid for ${certDays} days would outlive their CAs (pki.caValidityDays: ${caDays})`,
      `set pki.certValidityDays to at most ${caDays}, or pki.caValidityDays to at least ${certDays}`);
  }

  // --- pki --------------------------------------------------------------------------
  if (spec.pki?.keySize !== undefined && spec.pki.keyAlgorithm !== undefined) {
    report(['pki', 'keySize'], 'pki.keySize is the older spelling of pki.keyAlgorithm: give one of them, not both',
      `remove keySize and keep keyAlgorithm: ${spec.pki.keyAlgorithm}`);
  }


  problems.push(
    ...checkListeningPorts(source, spec),
    ...checkNamesAndAddresses(source, spec),
    ...checkResolvers(source, spec),
    ...checkDestinations(source, spec),
  );
  return problems;
}

/**
 * etcd.backup: the schedule lands in a systemd timer's OnCalendar= and must be
 * one systemd runs; the folder must not be etcd's own data folder, which a
 * restore replaces.
 */
export function checkEtcdBackup(source: SpecSource, spec: ClusterSpec): Problem[] {
  const backup = spec.etcd?.backup;
  const problems: Problem[] = [];
  if (!backup) return problems;
  if (backup.schedule !== undefined) {
    const why = onCalendarProblem(backup.schedule);
    if (why) problems.push(source.problem(['etcd', 'backup', 'schedule'], `"${backup.schedule}" is not a systemd OnCalendar schedule: ${why}`, `write one such as ${ONCALENDAR_EXAMPLES}`));
  }
  const dataDir = CONFIG.etcdDataDir;
  if (backup.directory !== undefined && (backup.directory === dataDir || backup.directory.startsWith(`${dataDir}/`))) {
    problems.push(source.problem(['etcd', 'backup', 'directory'], `${backup.directory} is inside etcd's data folder ${dataDir}, which a restore replaces`, 'keep snapshots elsewhere, e.g. /var/backups/etcd'));
  }
  return problems;
}

// --- platform and VM sizes (the hypervisor outputs) --------------------------------

/**
 * What the platform outputs need beyond the schema: the settings of the
 * chosen platform only, sizes Kubernetes accepts, and one MAC per host once
 * the derived ones are counted.
 */
export function checkPlatform(source: SpecSource, spec: ClusterSpec): Problem[] {
  const problems: Problem[] = [];
  const report = (path: PathSegment[], message: string, fix?: string) => problems.push(source.problem(path, message, fix));
  const platform = spec.platform ?? DEFAULTS.platform;
  for (const other of PLATFORM_TYPES) {
    if (other !== platform && spec[other] !== undefined) {
      problems.push(source.problem([other], `a ${other} section, but platform is ${platform}${spec.platform === undefined ? ' (the default)' : ''}`,
        `set platform: ${other}, or remove the ${other} section`, 'key'));
    }
  }
  if (platform === 'proxmox' && !spec.proxmox) {
    report(spec.platform !== undefined ? ['platform'] : [], 'platform proxmox needs a proxmox section with the templateId of the golden-image template',
      'add proxmox: { templateId: <VMID of the template> }');
  }
  if (spec.libvirt?.network !== undefined && spec.libvirt.bridge !== undefined) {
    report(['libvirt', 'bridge'], 'libvirt.network and libvirt.bridge both given: a NIC joins one of them', 'keep one');
  }
  if (platform === 'proxmox' && spec.proxmox) {
    const first = spec.proxmox.firstVmId ?? PLATFORM_DEFAULTS.proxmox.firstVmId;
    const last = first + spec.hosts.length - 1;
    if (spec.proxmox.templateId >= first && spec.proxmox.templateId <= last) {
      report(['proxmox', 'templateId'], `VMID ${spec.proxmox.templateId} of the template is among the hosts' VMIDs ${first}-${last}`,
        `set proxmox.firstVmId to ${spec.proxmox.templateId + 1} or more`);
    }
  }

  // kubeadm's preflight minimums, where the size lands on a Kubernetes node.
  spec.hosts.forEach((host, i) => {
    const size = (key: 'cpus' | 'memoryMiB'): { value: number; path: PathSegment[] } => {
      if (host[key] !== undefined) return { value: host[key]!, path: ['hosts', i, key] };
      let best = { value: -Infinity, path: ['hosts', i] as PathSegment[] };
      for (const role of host.roles) {
        const given = spec.resources?.[role]?.[key];
        const value = given ?? DEFAULT_VM_SIZES[role][key];
        if (value > best.value) best = { value, path: given !== undefined ? ['resources', role, key] : ['hosts', i] };
      }
      return best;
    };
    if (hasRole(host, 'control-plane')) {
      const cpus = size('cpus');
      if (cpus.value < KUBERNETES_MINIMUMS.controlPlaneCpus) {
        report(cpus.path, `${host.name} is a control plane with ${cpus.value} CPU; Kubernetes needs at least ${KUBERNETES_MINIMUMS.controlPlaneCpus}`, `give it ${KUBERNETES_MINIMUMS.controlPlaneCpus} or more cpus`);
      }
    }
    if (hasRole(host, 'control-plane') || hasRole(host, 'worker')) {
      const memory = size('memoryMiB');
      if (memory.value < KUBERNETES_MINIMUMS.nodeMemoryMiB) {
        report(memory.path, `${host.name} runs kubelet with ${memory.value} MiB; Kubernetes needs at least ${KUBERNETES_MINIMUMS.nodeMemoryMiB} MiB on every node`, `give it memoryMiB: ${KUBERNETES_MINIMUMS.nodeMemoryMiB} or more`);
      }
    }
  });

  // A given MAC may equal another host's derived one; vCenter refuses static MACs outside its range.
  const given = new Map(spec.hosts.flatMap((h, i) => (h.macAddress ? [[h.macAddress.toLowerCase(), i] as const] : [])));
  spec.hosts.forEach((host, i) => {
    if (host.macAddress) {
      if (platform === 'vsphere' && !/^00:50:56:[0-3][0-9a-f]:/i.test(host.macAddress)) {
        report(['hosts', i, 'macAddress'], `vCenter accepts a manually set MAC only in 00:50:56:00:00:00-00:50:56:3f:ff:ff, not ${host.macAddress}`,
          'choose one in that range, or leave macAddress out for a derived one');
      }
      return;
    }
    const mac = derivedMac(spec.name, host.name, platform);
    const clash = given.get(mac);
    if (clash !== undefined) {
      report(['hosts', clash, 'macAddress'], `MAC ${mac} is the one derived for ${host.name} (hosts[${i}])`, `choose another MAC, or give ${host.name} its own`);
    }
  });
  return problems;
}

// --- ports: one listener per TCP port on each host ------------------------------

interface Listener {
  port: number;
  who: string;
  /** The spec key that chose this port, when the user wrote it. */
  setBy?: PathSegment[];
}

/** Every TCP port a host's roles listen on (PORTS, plus the two configurable ones). */
function listenersOf(spec: ClusterSpec, host: HostSpec): Listener[] {
  const k8s = spec.kubernetes ?? {};
  const list: Listener[] = [{ port: PORTS.ssh, who: 'sshd' }];
  if (host.roles.includes('etcd')) {
    list.push({ port: PORTS.etcdClient, who: 'etcd (clients)' }, { port: PORTS.etcdPeer, who: 'etcd (peers)' }, { port: PORTS.etcdMetrics, who: 'etcd (metrics)' });
  }
  if (host.roles.includes('control-plane')) {
    list.push(
      { port: k8s.apiserverPort ?? DEFAULTS.apiserverPort, who: 'kube-apiserver', ...(k8s.apiserverPort !== undefined ? { setBy: ['kubernetes', 'apiserverPort'] } : {}) },
      { port: PORTS.controllerManager, who: 'kube-controller-manager' },
      { port: PORTS.scheduler, who: 'kube-scheduler' },
    );
  }
  if (host.roles.includes('control-plane') || host.roles.includes('worker')) {
    list.push(
      { port: PORTS.kubelet, who: 'kubelet' }, { port: PORTS.kubeletHealthz, who: 'kubelet (healthz)' },
      { port: PORTS.kubeProxyMetrics, who: 'kube-proxy (metrics)' }, { port: PORTS.kubeProxyHealthz, who: 'kube-proxy (healthz)' },
    );
  }
  if (host.roles.includes('load-balancer') && spec.loadBalancer) {
    const port = spec.loadBalancer.port;
    list.push({ port: port ?? DEFAULTS.loadBalancerPort, who: 'nginx', ...(port !== undefined ? { setBy: ['loadBalancer', 'port'] } : {}) });
  }
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

// --- names and addresses the network or the cluster reserves ------------------------

/** Effective nameservers of host i. */
function nameserversOf(spec: ClusterSpec, i: number): string[] {
  return spec.hosts[i]!.nameservers ?? spec.network?.nameservers ?? [];
}

/** A MAC whose first octet has the group bit set (multicast, broadcast), or all zeros: no NIC has one. */
function unusableMac(mac: string): string | undefined {
  const octets = mac.split(':').map((o) => parseInt(o, 16));
  if (octets.every((o) => o === 0)) return 'the all-zero MAC';
  if ((octets[0]! & 1) === 1) return mac.toLowerCase() === 'ff:ff:ff:ff:ff:ff' ? 'the broadcast MAC' : 'a multicast MAC (the first octet is odd)';
  return undefined;
}

export function checkNamesAndAddresses(source: SpecSource, spec: ClusterSpec): Problem[] {
  const problems: Problem[] = [];
  const report = (path: PathSegment[], message: string, fix?: string) => problems.push(source.problem(path, message, fix));
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
    const gatewayOf = spec.hosts.findIndex((_, i) => effective(spec, i, 'gateway').value === vip);
    if (gatewayOf >= 0) {
      report(['loadBalancer', 'vip'], `VIP ${vip} is the gateway of ${spec.hosts[gatewayOf]!.name}: the VIP would take the router's address`,
        'choose a free address for the VIP');
    }
    const resolverOf = spec.hosts.findIndex((_, i) => nameserversOf(spec, i).includes(vip));
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

// --- resolvers: what CoreDNS forwards to ----------------------------------------------

/**
 * CoreDNS runs on any node and forwards names outside the cluster to the
 * resolvers of the node it runs on (/etc/resolv.conf of its pod). With none
 * on every node the Corefile leaves forwarding out (cluster names only: an
 * air-gapped site); with some nodes lacking them, CoreDNS would fail to start
 * on those ("no nameservers found"). So: every node, or none.
 */
export function checkResolvers(source: SpecSource, spec: ClusterSpec): Problem[] {
  const nodes = spec.hosts.map((h, i) => ({ h, i })).filter(({ h }) => h.roles.includes('control-plane') || h.roles.includes('worker'));
  const without = nodes.filter(({ i }) => nameserversOf(spec, i).length === 0);
  if (without.length === 0 || without.length === nodes.length) return [];
  const some = nodes.find(({ i }) => nameserversOf(spec, i).length > 0)!;
  return without.map(({ h, i }) => source.problem(['hosts', i],
    `${h.name} has no nameservers while ${some.h.name} has: CoreDNS forwards to the resolvers of the node it runs on, and on ${h.name} it would find none and fail`,
    'give every node nameservers (network.nameservers, or hosts[].nameservers), or none at all for a cluster that resolves only its own names'));
}

// --- values that land in a config file or a script ------------------------------------

const DNS_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Package names as each family's installer takes them (apt-get install, dnf install): no options, no spaces. */
export const PACKAGE_NAME = {
  // Debian policy: lowercase, digits, + - .; apt also takes name:arch and name=version.
  debian: { pattern: /^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?(=[0-9A-Za-z.+~:-]+)?$/, example: 'htop, or htop=3.3.0-4 to pin a version' },
  // RPM names, optionally with -version[-release] as dnf takes them.
  redhat: { pattern: /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/, example: 'htop, or htop-3.3.0 to pin a version' },
} as const;

/** The mirror's base URL lands in the install script, the manifest and Packer's variables: scheme, host, port and a plain path only. */
const MIRROR_URL = /^https?:\/\/[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d{1,5})?(?:\/[A-Za-z0-9._~%/-]*)?$/;

export function checkDestinations(source: SpecSource, spec: ClusterSpec): Problem[] {
  const problems: Problem[] = [];
  const report = (path: PathSegment[], message: string, fix?: string) => problems.push(source.problem(path, message, fix));

  // chrony.conf: one `server <name> iburst` line each; anything else would be a directive of its own.
  spec.ntp?.servers?.forEach((server, i) => {
    if (!ip.isIPv4(server) && !DNS_NAME.test(server)) {
      report(['ntp', 'servers', i], `${quote(server)} is not a time server's name or IPv4 address; it is written into chrony's configuration as it is`,
        'write only the name or address, e.g. ntp.example.com or 192.168.31.1 (the tool adds chrony\'s options)');
    }
  });

  const family = OS_FAMILY[spec.image?.os ?? DEFAULTS.os];
  const rule = PACKAGE_NAME[family];
  const checkPackages = (list: string[] | undefined, base: PathSegment[]) => list?.forEach((name, i) => {
    if (!rule.pattern.test(name)) {
      report([...base, i], `${quote(name)} is not a ${family === 'debian' ? 'Debian' : 'RPM'} package name as ${family === 'debian' ? 'apt-get' : 'dnf'} takes it on ${spec.image?.os ?? DEFAULTS.os}`,
        `write the package's name, e.g. ${rule.example}`);
    }
  });
  checkPackages(spec.packages, ['packages']);
  spec.hosts.forEach((h, i) => checkPackages(h.packages, ['hosts', i, 'packages']));

  const mirror = spec.image?.mirror;
  if (mirror !== undefined && !MIRROR_URL.test(mirror)) {
    report(['image', 'mirror'], `${quote(mirror)} is not a plain base URL; it lands in the install script and Packer's variables`,
      'write scheme, host, optional port and path only, e.g. http://mirror.example:8080/k8s (no user:password@, query or fragment)');
  }
  return problems;
}

// --- the operator's files -----------------------------------------------------------

/** Largest files[].content: cloud-init carries it inline in user-data, and user-data must stay a seed, not a disk. */
export const FILE_CONTENT_LIMIT = 256 * 1024;
/** Largest sum of one host's files[] contents. */
export const HOST_FILES_LIMIT = 1024 * 1024;

const kib = (bytes: number) => `${Math.round(bytes / 1024)} KiB`;

/** Paths written twice, and contents over the limits; the paths are compared as the host sees them. */
export function checkFileEntries(source: SpecSource, spec: ClusterSpec): Problem[] {
  const problems: Problem[] = [];
  const report = (path: PathSegment[], message: string, fix?: string) => problems.push(source.problem(path, message, fix));
  const checkList = (files: ClusterSpec['files'], base: PathSegment[]) => {
    const first = new Map<string, number>();
    files?.forEach((f, i) => {
      const path = normalFilePath(f.path);
      const spelled = path === f.path ? '' : ` (${quote(f.path)} is ${path})`;
      const same = first.get(path);
      if (same !== undefined) report([...base, i, 'path'], `${path} is listed twice${spelled}, first at ${formatPath([...base, same])}`);
      else first.set(path, i);
      const bytes = Buffer.byteLength(f.content);
      if (bytes > FILE_CONTENT_LIMIT) {
        report([...base, i, 'content'], `the content of ${path} is ${kib(bytes)}, over the ${kib(FILE_CONTENT_LIMIT)} limit of a file carried in user-data`,
          'bake large files into the golden image (packer/), or fetch them from the mirror on first boot');
      }
    });
  };
  checkList(spec.files, ['files']);
  spec.hosts.forEach((h, i) => checkList(h.files, ['hosts', i, 'files']));

  spec.hosts.forEach((h, i) => {
    const own = new Set((h.files ?? []).map((f) => normalFilePath(f.path)));
    const total = [...(spec.files ?? []).filter((f) => !own.has(normalFilePath(f.path))), ...(h.files ?? [])]
      .reduce((sum, f) => sum + Buffer.byteLength(f.content), 0);
    if (total > HOST_FILES_LIMIT) {
      report(h.files?.length ? ['hosts', i, 'files'] : ['files'], `${h.name} gets ${kib(total)} of files, over the ${kib(HOST_FILES_LIMIT)} limit per host`,
        'bake large files into the golden image (packer/), or fetch them from the mirror on first boot');
    }
  });
  return problems;
}

/** What the tool writes on a resolved host: path and owner (render/cloud-config.ts, generatedPaths). */
export type GeneratedPaths = (host: Host) => { path: string; source: string }[];

/**
 * An operator's file on a path the tool writes, or on a folder of one (or
 * under one of them): cloud-init would overwrite the real file with the
 * operator's content (a CA key...), or fail to write either. Runs on the
 * resolved model, since which files a host gets depends on its roles.
 */
export function checkFileCollisions(source: SpecSource, spec: ClusterSpec, cluster: Cluster, generated: GeneratedPaths): Problem[] {
  const problems: Problem[] = [];
  const tool = cluster.hosts.map((h) => generated(h));
  const clash = (path: string, hostIndex: number) => {
    for (const g of tool[hostIndex]!) {
      if (g.path === path) return { g, how: 'is written by the tool itself' };
      if (g.path.startsWith(`${path}/`)) return { g, how: `is a folder of ${g.path}, which the tool writes` };
      if (path.startsWith(`${g.path}/`)) return { g, how: `would be inside ${g.path}, a file the tool writes` };
    }
    return undefined;
  };
  const describe = (path: string, spelled: string, found: { g: { path: string; source: string }; how: string }, hosts: string) =>
    `${path}${spelled} ${found.how} on ${hosts}: it belongs to ${found.g.source}`;
  spec.files?.forEach((f, j) => {
    const path = normalFilePath(f.path);
    const spelled = path === f.path ? '' : ` (written ${quote(f.path)})`;
    const hits = cluster.hosts.map((h, i) => ({ h, found: clash(path, i) }))
      // A host's own file at the same path replaces the cluster's; that one is checked below.
      .filter(({ h, found }) => found && !(spec.hosts[cluster.hosts.indexOf(h)]!.files ?? []).some((o) => normalFilePath(o.path) === path));
    if (hits.length === 0) return;
    const names = hits.length <= 3 ? hits.map(({ h }) => h.name).join(', ') : `${hits.length} hosts (${hits.slice(0, 3).map(({ h }) => h.name).join(', ')}, ...)`;
    problems.push(source.problem(['files', j, 'path'], describe(path, spelled, hits[0]!.found!, names), 'choose a path the tool does not write, or change the generated file through the spec'));
  });
  spec.hosts.forEach((h, i) => h.files?.forEach((f, k) => {
    const path = normalFilePath(f.path);
    const found = clash(path, i);
    if (!found) return;
    const spelled = path === f.path ? '' : ` (written ${quote(f.path)})`;
    problems.push(source.problem(['hosts', i, 'files', k, 'path'], describe(path, spelled, found, h.name), 'choose a path the tool does not write, or change the generated file through the spec'));
  }));
  return problems;
}
