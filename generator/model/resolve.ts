/**
 * spec -> model: reads every setting as in effect (input/effective.ts, where
 * the defaults are applied) and derives every value that more than one
 * renderer needs. Runs only on a spec that passed validation, so it does not
 * check again; it only decides.
 */
import {
  etcdBackupSettings, fileModeOf, filesOf, hostNetworkSettings, imageSettings, kubernetesServiceIP, kubernetesSettings, libvirtSettings,
  loadBalancerSettings, macAddressOf, normalFilePath, pkiSettings, platformOf, proxmoxSettings, runtimeSettings, valuesOf, vmSizeSettings, vsphereNetwork,
} from '../input/effective.ts';
import type { ClusterSpec, FileSpec } from '../input/types.ts';
import { artifactsFor, cniImages, kubernetesRelease } from '../versions/versions.ts';
import { PORTS } from './paths.ts';
import {
  ROLES, hasRole, type Cluster, type EtcdBackup, type ExtraFile, type Host, type LoadBalancer, type Platform, type Role,
} from './types.ts';

export { normalFilePath } from '../input/effective.ts';

function extraFile(f: FileSpec): ExtraFile {
  const mode = fileModeOf(f);
  return { path: normalFilePath(f.path), content: f.content, permissions: mode.permissions.padStart(4, '0'), owner: mode.owner };
}

/** The golden image's name, as packer/variables.pkr.hcl builds it (local.image_name). */
export function goldenImageName(cluster: string, kubernetesVersion: string, os: string, arch: string): string {
  return `ha-k8s-seed-${cluster}-${kubernetesVersion}-${os}-${arch}`;
}

function resolvePlatform(spec: ClusterSpec, imageName: string): Platform {
  const type = platformOf(spec).value;
  switch (type) {
    case 'libvirt': {
      const s = spec.libvirt ?? {};
      const libvirt = valuesOf(libvirtSettings(spec));
      const imagesDir = libvirt.imagesDir.replace(/(?<=.)\/+$/, '');
      return {
        type,
        uri: libvirt.uri,
        attach: s.bridge ? { kind: 'bridge', name: s.bridge } : { kind: 'network', name: libvirt.network },
        imagesDir,
        goldenImage: s.goldenImage ?? `${imagesDir}/${imageName}.qcow2`,
      };
    }
    case 'proxmox':
      return { type, ...valuesOf(proxmoxSettings(spec.proxmox!)) };
    case 'vsphere': {
      const s = spec.vsphere ?? {};
      return {
        type,
        template: s.template ?? imageName,
        network: vsphereNetwork(spec).value,
        ...(s.datacenter ? { datacenter: s.datacenter } : {}),
        ...(s.datastore ? { datastore: s.datastore } : {}),
        ...(s.folder ? { folder: s.folder } : {}),
        ...(s.resourcePool ? { resourcePool: s.resourcePool } : {}),
      };
    }
  }
}

function resolveHosts(spec: ClusterSpec): Host[] {
  const counters: Partial<Record<Role, number>> = {};
  return spec.hosts.map((h, i) => {
    const roles = ROLES.filter((r) => h.roles.includes(r));
    const index: Host['index'] = {};
    for (const r of roles) index[r] = (counters[r] = (counters[r] ?? -1) + 1);
    return {
      name: h.name,
      address: h.address,
      roles,
      index,
      network: { ...valuesOf(hostNetworkSettings(spec, i)), macAddress: macAddressOf(spec, i).value },
      vm: valuesOf(vmSizeSettings(spec, i)),
      packages: [...new Set([...(spec.packages ?? []), ...(h.packages ?? [])])],
      files: filesOf(spec, i).map(extraFile),
    };
  });
}

function resolveLoadBalancer(spec: ClusterSpec, hosts: Host[], apiserverPort: number): LoadBalancer | undefined {
  const settings = loadBalancerSettings(spec);
  if (!settings) return undefined;
  const { vip, port, virtualRouterId } = valuesOf(settings);
  const lbHosts = hosts.filter((h) => hasRole(h, 'load-balancer'));
  return {
    vip,
    vipPrefixLength: lbHosts[0]!.network.prefixLength,
    port,
    virtualRouterId,
    // Spec order is preference order: the first load balancer holds the VIP while it is healthy.
    // Preemption stays on (no `nopreempt`): nopreempt needs every instance in
    // state BACKUP and stops a healthier peer from taking over a holder whose
    // check only lowered its priority, so failover would rest on FAULT alone;
    // and a fixed preferred holder is what operators and the boot lab expect.
    // The cost: once the first load balancer is healthy again it takes the VIP
    // back, one more move of about one advert_int.
    members: lbHosts.map((h, i) => ({
      host: h.name,
      address: h.address,
      interface: h.network.interface,
      priority: 150 - 10 * i,
      initialState: i === 0 ? 'MASTER' : 'BACKUP',
    })),
    backends: hosts.filter((h) => hasRole(h, 'control-plane')).map((h) => ({ host: h.name, address: h.address, port: apiserverPort })),
  };
}

function resolveEtcdBackup(spec: ClusterSpec): EtcdBackup | undefined {
  const backup = valuesOf(etcdBackupSettings(spec));
  return backup.enabled ? { schedule: backup.schedule, keep: backup.keep, directory: backup.directory } : undefined;
}

export function resolve(spec: ClusterSpec): Cluster {
  const hosts = resolveHosts(spec);
  const k8s = valuesOf(kubernetesSettings(spec));
  const release = kubernetesRelease(k8s.version)!;
  const { serviceCIDR, apiserverPort } = k8s;
  const loadBalancer = resolveLoadBalancer(spec, hosts, apiserverPort);
  const firstControlPlane = hosts.find((h) => hasRole(h, 'control-plane'))!;
  const endpoint = loadBalancer
    ? { host: loadBalancer.vip, port: loadBalancer.port }
    : { host: firstControlPlane.address, port: apiserverPort };

  const etcdPeers = hosts.filter((h) => hasRole(h, 'etcd')).map((h) => ({
    name: h.name,
    address: h.address,
    clientUrl: `https://${h.address}:${PORTS.etcdClient}`,
    peerUrl: `https://${h.address}:${PORTS.etcdPeer}`,
  }));
  const initialCluster = etcdPeers.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  // The spec alone makes every member a founder; the state's membership record
  // says who joined the running cluster later (model/etcd-membership.ts).
  const etcdMembers = etcdPeers.map((m) => ({ ...m, initialCluster, initialClusterState: 'new' as const }));
  const etcdVersion = spec.etcd?.version ?? release.etcdVersion;
  const backup = resolveEtcdBackup(spec);
  const { containerdVersion, cni } = valuesOf(runtimeSettings(spec));
  const { os, arch, binaries } = valuesOf(imageSettings(spec));
  const image = {
    os,
    arch,
    binaries,
    name: goldenImageName(spec.name, release.version, os, arch),
    ...(spec.image?.mirror ? { mirror: spec.image.mirror.replace(/\/+$/, '') } : {}),
  };

  return {
    name: spec.name,
    kubernetes: {
      version: release.version,
      minor: release.minor,
      serviceCIDR,
      podCIDR: k8s.podCIDR,
      clusterDomain: k8s.clusterDomain,
      clusterDNS: k8s.clusterDNS,
      kubernetesServiceIP: kubernetesServiceIP(serviceCIDR),
      apiserverPort,
      endpoint: { ...endpoint, url: `https://${endpoint.host}:${endpoint.port}` },
    },
    etcd: {
      version: etcdVersion,
      members: etcdMembers,
      initialCluster,
      initialClusterToken: `${spec.name}-etcd`,
      ...(backup ? { backup } : {}),
    },
    containerd: { version: containerdVersion },
    cni: { plugin: cni },
    images: { ...release.images, cni: cniImages(cni) },
    image,
    artifacts: artifactsFor({ kubernetes: release, etcdVersion, containerdVersion, arch: image.arch, mirror: image.mirror }),
    platform: resolvePlatform(spec, image.name),
    pki: valuesOf(pkiSettings(spec)),
    ssh: { authorizedKeys: [...spec.ssh.authorizedKeys] },
    ntp: { servers: spec.ntp?.servers ?? [] },
    ...(loadBalancer ? { loadBalancer } : {}),
    hosts,
  };
}
