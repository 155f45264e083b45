/**
 * spec -> model: fills every default and derives every value that more than
 * one renderer needs. Runs only on a spec that passed validation, so it does
 * not check again; it only decides.
 */
import { posix } from 'node:path';
import type { ClusterSpec, FileSpec, HostSpec } from '../input/types.ts';
import { DEFAULTS, DEFAULT_VM_SIZES, PLATFORM_DEFAULTS } from '../input/types.ts';
import { artifactsFor, cniImages, defaultContainerdVersion, defaultKubernetesVersion, kubernetesRelease } from '../versions/versions.ts';
import * as ip from './ipv4.ts';
import { derivedMac } from './mac.ts';
import { PORTS } from './paths.ts';
import {
  ROLES, hasRole, type Cluster, type EtcdBackup, type ExtraFile, type Host, type LoadBalancer, type Platform, type PlatformType, type Role, type VmSize,
} from './types.ts';

/** /etc//x, /etc/./x and /etc/y/../x are all /etc/x on the host: one spelling, so every comparison sees it. */
export function normalFilePath(path: string): string {
  return posix.normalize(path).replace(/\/+$/, '');
}

function extraFiles(files: FileSpec[] | undefined): ExtraFile[] {
  return (files ?? []).map((f) => ({
    path: normalFilePath(f.path),
    content: f.content,
    permissions: (f.permissions ?? DEFAULTS.filePermissions).padStart(4, '0'),
    owner: f.owner ?? DEFAULTS.fileOwner,
  }));
}

/** A host's VM: its own values, else the largest its roles ask for. */
function vmSize(spec: ClusterSpec, host: HostSpec, roles: readonly Role[]): VmSize {
  const pick = (key: keyof VmSize) =>
    host[key] ?? Math.max(...roles.map((r) => spec.resources?.[r]?.[key] ?? DEFAULT_VM_SIZES[r][key]));
  return { cpus: pick('cpus'), memoryMiB: pick('memoryMiB'), diskGiB: pick('diskGiB') };
}

/** The golden image's name, as packer/variables.pkr.hcl builds it (local.image_name). */
export function goldenImageName(cluster: string, kubernetesVersion: string, os: string, arch: string): string {
  return `ha-k8s-seed-${cluster}-${kubernetesVersion}-${os}-${arch}`;
}

function resolvePlatform(spec: ClusterSpec, imageName: string): Platform {
  const type: PlatformType = spec.platform ?? DEFAULTS.platform;
  switch (type) {
    case 'libvirt': {
      const s = spec.libvirt ?? {};
      const d = PLATFORM_DEFAULTS.libvirt;
      const imagesDir = (s.imagesDir ?? d.imagesDir).replace(/(?<=.)\/+$/, '');
      return {
        type,
        uri: s.uri ?? d.uri,
        attach: s.bridge ? { kind: 'bridge', name: s.bridge } : { kind: 'network', name: s.network ?? d.network },
        imagesDir,
        goldenImage: s.goldenImage ?? `${imagesDir}/${imageName}.qcow2`,
      };
    }
    case 'proxmox': {
      const s = spec.proxmox!;
      const d = PLATFORM_DEFAULTS.proxmox;
      return {
        type,
        templateId: s.templateId,
        firstVmId: s.firstVmId ?? d.firstVmId,
        bridge: s.bridge ?? d.bridge,
        storage: s.storage ?? d.storage,
        isoStorage: s.isoStorage ?? d.isoStorage,
      };
    }
    case 'vsphere': {
      const s = spec.vsphere ?? {};
      return {
        type,
        template: s.template ?? imageName,
        network: s.network ?? PLATFORM_DEFAULTS.vsphere.network,
        ...(s.datacenter ? { datacenter: s.datacenter } : {}),
        ...(s.datastore ? { datastore: s.datastore } : {}),
        ...(s.folder ? { folder: s.folder } : {}),
        ...(s.resourcePool ? { resourcePool: s.resourcePool } : {}),
      };
    }
  }
}

function resolveHosts(spec: ClusterSpec): Host[] {
  const platform = spec.platform ?? DEFAULTS.platform;
  const counters: Partial<Record<Role, number>> = {};
  return spec.hosts.map((h) => {
    const roles = ROLES.filter((r) => h.roles.includes(r));
    const index: Host['index'] = {};
    for (const r of roles) index[r] = (counters[r] = (counters[r] ?? -1) + 1);
    // Files given on the host replace a cluster-wide file at the same path.
    const hostFiles = extraFiles(h.files);
    const files = [...extraFiles(spec.files).filter((f) => !hostFiles.some((o) => o.path === f.path)), ...hostFiles];
    return {
      name: h.name,
      address: h.address,
      roles,
      index,
      network: {
        interface: h.interface ?? spec.network?.interface ?? DEFAULTS.interface,
        prefixLength: h.prefixLength ?? spec.network?.prefixLength ?? DEFAULTS.prefixLength,
        gateway: h.gateway ?? spec.network?.gateway,
        nameservers: h.nameservers ?? spec.network?.nameservers ?? [],
        macAddress: h.macAddress?.toLowerCase() ?? derivedMac(spec.name, h.name, platform),
      },
      vm: vmSize(spec, h, roles),
      packages: [...new Set([...(spec.packages ?? []), ...(h.packages ?? [])])],
      files,
    };
  });
}

function resolveLoadBalancer(spec: ClusterSpec, hosts: Host[], apiserverPort: number): LoadBalancer | undefined {
  if (!spec.loadBalancer) return undefined;
  const lbHosts = hosts.filter((h) => hasRole(h, 'load-balancer'));
  return {
    vip: spec.loadBalancer.vip,
    vipPrefixLength: lbHosts[0]!.network.prefixLength,
    port: spec.loadBalancer.port ?? DEFAULTS.loadBalancerPort,
    virtualRouterId: spec.loadBalancer.virtualRouterId ?? DEFAULTS.virtualRouterId,
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
  const backup = { ...DEFAULTS.etcdBackup, ...spec.etcd?.backup };
  return backup.enabled ? { schedule: backup.schedule, keep: backup.keep, directory: backup.directory } : undefined;
}

export function resolve(spec: ClusterSpec): Cluster {
  const hosts = resolveHosts(spec);
  const k8s = spec.kubernetes ?? {};
  const release = kubernetesRelease(k8s.version ?? defaultKubernetesVersion)!;
  const serviceCIDR = k8s.serviceCIDR ?? DEFAULTS.serviceCIDR;
  const apiserverPort = k8s.apiserverPort ?? DEFAULTS.apiserverPort;
  const loadBalancer = resolveLoadBalancer(spec, hosts, apiserverPort);
  const firstControlPlane = hosts.find((h) => hasRole(h, 'control-plane'))!;
  const endpoint = loadBalancer
    ? { host: loadBalancer.vip, port: loadBalancer.port }
    : { host: firstControlPlane.address, port: apiserverPort };

  const etcdMembers = hosts.filter((h) => hasRole(h, 'etcd')).map((h) => ({
    name: h.name,
    address: h.address,
    clientUrl: `https://${h.address}:${PORTS.etcdClient}`,
    peerUrl: `https://${h.address}:${PORTS.etcdPeer}`,
  }));
  const etcdVersion = spec.etcd?.version ?? release.etcdVersion;
  const backup = resolveEtcdBackup(spec);
  const containerdVersion = spec.containerd?.version ?? defaultContainerdVersion;
  const image = {
    os: spec.image?.os ?? DEFAULTS.os,
    arch: spec.image?.arch ?? DEFAULTS.arch,
    binaries: spec.image?.binaries ?? DEFAULTS.binaries,
    name: goldenImageName(spec.name, release.version, spec.image?.os ?? DEFAULTS.os, spec.image?.arch ?? DEFAULTS.arch),
    ...(spec.image?.mirror ? { mirror: spec.image.mirror.replace(/\/+$/, '') } : {}),
  };

  return {
    name: spec.name,
    kubernetes: {
      version: release.version,
      minor: release.minor,
      serviceCIDR,
      podCIDR: k8s.podCIDR ?? DEFAULTS.podCIDR,
      clusterDomain: k8s.clusterDomain ?? DEFAULTS.clusterDomain,
      clusterDNS: k8s.clusterDNS ?? ip.nthAddress(serviceCIDR, DEFAULTS.clusterDNSOffset),
      kubernetesServiceIP: ip.nthAddress(serviceCIDR, 1),
      apiserverPort,
      endpoint: { ...endpoint, url: `https://${endpoint.host}:${endpoint.port}` },
    },
    etcd: {
      version: etcdVersion,
      members: etcdMembers,
      initialCluster: etcdMembers.map((m) => `${m.name}=${m.peerUrl}`).join(','),
      initialClusterToken: `${spec.name}-etcd`,
      ...(backup ? { backup } : {}),
    },
    containerd: { version: containerdVersion },
    cni: { plugin: spec.cni?.plugin ?? DEFAULTS.cni },
    images: { ...release.images, cni: cniImages(spec.cni?.plugin ?? DEFAULTS.cni) },
    image,
    artifacts: artifactsFor({ kubernetes: release, etcdVersion, containerdVersion, arch: image.arch, mirror: image.mirror }),
    platform: resolvePlatform(spec, image.name),
    pki: {
      keyAlgorithm: spec.pki?.keyAlgorithm ?? (spec.pki?.keySize ? `rsa-${spec.pki.keySize}` : DEFAULTS.keyAlgorithm),
      caValidityDays: spec.pki?.caValidityDays ?? DEFAULTS.caValidityDays,
      certValidityDays: spec.pki?.certValidityDays ?? DEFAULTS.certValidityDays,
    },
    ssh: { authorizedKeys: [...spec.ssh.authorizedKeys] },
    ntp: { servers: spec.ntp?.servers ?? [] },
    ...(loadBalancer ? { loadBalancer } : {}),
    hosts,
  };
}
