/**
 * spec -> model: fills every default and derives every value that more than
 * one renderer needs. Runs only on a spec that passed validation, so it does
 * not check again; it only decides.
 */
import { posix } from 'node:path';
import type { ClusterSpec, FileSpec } from '../spec/types.ts';
import { DEFAULTS } from '../spec/types.ts';
import { artifactsFor, cniImages, defaultContainerdVersion, defaultKubernetesVersion, kubernetesRelease } from '../versions/versions.ts';
import * as ip from './ipv4.ts';
import { PORTS } from './paths.ts';
import {
  ROLES, hasRole, type Cluster, type ExtraFile, type Host, type LoadBalancer, type Role,
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

function resolveHosts(spec: ClusterSpec): Host[] {
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
        ...(h.macAddress ? { macAddress: h.macAddress.toLowerCase() } : {}),
      },
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
  const containerdVersion = spec.containerd?.version ?? defaultContainerdVersion;
  const image = {
    os: spec.image?.os ?? DEFAULTS.os,
    arch: spec.image?.arch ?? DEFAULTS.arch,
    binaries: spec.image?.binaries ?? DEFAULTS.binaries,
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
    },
    containerd: { version: containerdVersion },
    cni: { plugin: spec.cni?.plugin ?? DEFAULTS.cni },
    images: { ...release.images, cni: cniImages(spec.cni?.plugin ?? DEFAULTS.cni) },
    image,
    artifacts: artifactsFor({ kubernetes: release, etcdVersion, containerdVersion, arch: image.arch, mirror: image.mirror }),
    pki: {
      keySize: spec.pki?.keySize ?? DEFAULTS.keySize,
      caValidityDays: spec.pki?.caValidityDays ?? DEFAULTS.caValidityDays,
      certValidityDays: spec.pki?.certValidityDays ?? DEFAULTS.certValidityDays,
    },
    ssh: { authorizedKeys: [...spec.ssh.authorizedKeys] },
    ntp: { servers: spec.ntp?.servers ?? [] },
    ...(loadBalancer ? { loadBalancer } : {}),
    hosts,
  };
}
