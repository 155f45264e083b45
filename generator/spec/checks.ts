/**
 * Semantic checks: what the schema cannot say. They run on a spec that passed
 * the schema, see the effective value of every defaulted field, and report all
 * problems at once, each at the field the user has to change.
 */
import * as ip from '../model/ipv4.ts';
import { derivedMac } from '../model/mac.ts';
import { CONFIG } from '../model/paths.ts';
import { PLATFORM_TYPES, hasRole } from '../model/types.ts';
import {
  defaultKubernetesVersion, kubernetesRelease, supportedContainerdVersions,
  supportedEtcdVersions, supportedKubernetesVersions,
} from '../versions/versions.ts';
import { ONCALENDAR_EXAMPLES, onCalendarProblem } from './oncalendar.ts';
import type { PathSegment, Problem } from './problems.ts';
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
        // Blame the host when it inherits a shared gateway: the host is the odd one out.
        if (gateway.path[0] === 'network') {
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
  const apiserverPort = k8s.apiserverPort ?? DEFAULTS.apiserverPort;
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
    const lbPort = lb.port ?? DEFAULTS.loadBalancerPort;
    for (const { h, i } of loadBalancers) {
      if (hasRole(h, 'control-plane') && lbPort === apiserverPort) {
        report(lb.port !== undefined ? ['loadBalancer', 'port'] : ['hosts', i, 'roles'],
          `${h.name} is both load balancer and control plane, so nginx and kube-apiserver would both listen on port ${lbPort}`,
          `set loadBalancer.port to another port, e.g. ${apiserverPort === 8443 ? 9443 : 8443}`);
        break;
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

  // --- extra files ------------------------------------------------------------------
  const checkFiles = (files: ClusterSpec['files'], base: PathSegment[]) => {
    const seen = new Set<string>();
    files?.forEach((f, i) => {
      if (seen.has(f.path)) report([...base, i, 'path'], `${f.path} is listed twice`);
      seen.add(f.path);
    });
  };
  checkFiles(spec.files, ['files']);
  hosts.forEach((h, i) => checkFiles(h.files, ['hosts', i, 'files']));

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
