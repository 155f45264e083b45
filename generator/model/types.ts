/**
 * The resolved cluster: every default filled in, every derived value computed.
 *
 * Renderers (PKI, cloud-init, Packer, the output README) read only this model,
 * never the raw spec, so a decision such as "which address do kubelets dial" is
 * made once, in resolve.ts, and every file agrees with it.
 */

export const ROLES = ['etcd', 'control-plane', 'worker', 'load-balancer'] as const;
export type Role = (typeof ROLES)[number];

export const OPERATING_SYSTEMS = ['ubuntu-24.04', 'debian-12', 'rocky-9', 'alma-9'] as const;
export type OperatingSystem = (typeof OPERATING_SYSTEMS)[number];

/** The distribution family decides package names and file layouts (nginx modules, SELinux). */
export const OS_FAMILY: Record<OperatingSystem, 'debian' | 'redhat'> = {
  'ubuntu-24.04': 'debian',
  'debian-12': 'debian',
  'rocky-9': 'redhat',
  'alma-9': 'redhat',
};

export const ARCHITECTURES = ['amd64', 'arm64'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/** Where the Kubernetes, etcd and runtime binaries come from on first boot. */
export const BINARY_SOURCES = ['golden-image', 'download'] as const;
export type BinarySource = (typeof BINARY_SOURCES)[number];

export const CNI_PLUGINS = ['flannel'] as const;
export type CniPlugin = (typeof CNI_PLUGINS)[number];

/** The hypervisors the generator writes VM definitions and scripts for. */
export const PLATFORM_TYPES = ['libvirt', 'proxmox', 'vsphere'] as const;
export type PlatformType = (typeof PLATFORM_TYPES)[number];

/** The algorithm of every key the PKI makes: ECDSA P-256 by default (kubeadm's `encryptionAlgorithm: ECDSA-P256`), RSA still selectable. */
export const KEY_ALGORITHMS = ['ecdsa-p256', 'rsa-2048', 'rsa-3072', 'rsa-4096'] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];
/** The older `pki.keySize` (RSA bits), still read: N means rsa-N. */
export const KEY_SIZES = [2048, 3072, 4096] as const;
export type KeySize = (typeof KEY_SIZES)[number];

/** One release artifact, pinned by checksum, for the cluster's architecture. */
export interface Artifact {
  /** Stable short name: kubernetes-server, kubernetes-node, etcd, containerd, runc, cni-plugins, crictl. */
  name: ArtifactName;
  version: string;
  /** Where it is fetched from: the public URL, or the mirror's when `image.mirror` is set. */
  url: string;
  /** The upstream URL, kept for documentation even when a mirror is used. */
  upstreamUrl: string;
  /** File name the download is saved under. */
  fileName: string;
  checksum: { algorithm: 'sha256' | 'sha512'; value: string };
  /** A tarball is unpacked; a binary is installed as it is. */
  format: 'tar.gz' | 'binary';
}
export type ArtifactName =
  | 'kubernetes-server'
  | 'kubernetes-node'
  | 'etcd'
  | 'containerd'
  | 'runc'
  | 'cni-plugins'
  | 'crictl';

export interface ContainerImages {
  pause: string;
  coredns: string;
  /** The CNI's images (flannel: its daemon and its CNI-plugin installer), pinned in artifacts.yaml. */
  cni: { daemon: string; plugin: string };
}

export interface HostNetwork {
  interface: string;
  prefixLength: number;
  /** Absent on an isolated network: no default route. */
  gateway?: string;
  nameservers: string[];
  /**
   * The NIC's MAC, lowercase: the spec's, or derived from the cluster and host
   * names. The VM definition sets it and network-config matches it, then
   * renames the NIC to `interface`.
   */
  macAddress: string;
}

/** The VM a host runs in. */
export interface VmSize { cpus: number; memoryMiB: number; diskGiB: number }

/** A file the operator wants on a host, beyond what the roles need. */
export interface ExtraFile {
  path: string;
  content: string;
  /** Octal, quoted, e.g. "0644". */
  permissions: string;
  owner: string;
}

/** A file only its owner may read (no group or other permission: 0600, 0400...) holds a secret. */
export function isSecretFile(file: Pick<ExtraFile, 'permissions'>): boolean {
  return (Number.parseInt(file.permissions, 8) & 0o077) === 0;
}

export interface Host {
  name: string;
  address: string;
  /** Canonical order: the order of ROLES. */
  roles: readonly Role[];
  network: HostNetwork;
  vm: VmSize;
  /** Distribution packages to install on top of what the roles need. */
  packages: string[];
  files: ExtraFile[];
  /** Position among the hosts of the same role, from 0, in spec order. */
  index: Partial<Record<Role, number>>;
}

export interface EtcdMember {
  name: string;
  address: string;
  clientUrl: string;
  peerUrl: string;
  /** What the member's first start is told (etcd ignores both once it has data). */
  initialCluster: string;
  /** `new` for the cluster's founders, `existing` for a member added to the running cluster. */
  initialClusterState: 'new' | 'existing';
}

/** Scheduled snapshots on every etcd member (`etcd.backup`); absent when turned off. */
export interface EtcdBackup {
  /** A systemd OnCalendar expression, checked when the spec was read. */
  schedule: string;
  /** Snapshots each member keeps. */
  keep: number;
  /** Absolute folder on each member. */
  directory: string;
}

export interface LoadBalancerMember {
  host: string;
  address: string;
  interface: string;
  /** VRRP priority: the first load balancer in the spec is preferred. */
  priority: number;
  initialState: 'MASTER' | 'BACKUP';
}

export interface LoadBalancer {
  vip: string;
  /** Prefix length the VIP is added with: that of the load balancers' subnet. */
  vipPrefixLength: number;
  port: number;
  virtualRouterId: number;
  members: LoadBalancerMember[];
  /** Every apiserver behind the VIP, as address:port. */
  backends: { host: string; address: string; port: number }[];
}

/** Where the VMs run, with every setting the platform's outputs need. */
export type Platform =
  | {
    type: 'libvirt';
    uri: string;
    /** What the NICs join: a libvirt network, or a host bridge. */
    attach: { kind: 'network' | 'bridge'; name: string };
    imagesDir: string;
    goldenImage: string;
  }
  | { type: 'proxmox'; templateId: number; firstVmId: number; bridge: string; storage: string; isoStorage: string }
  | { type: 'vsphere'; template: string; datacenter?: string; datastore?: string; network: string; folder?: string; resourcePool?: string };

export interface Cluster {
  name: string;
  kubernetes: {
    /** Pinned release, with leading v: v1.36.3. */
    version: string;
    /** Minor as "1.36". */
    minor: string;
    serviceCIDR: string;
    podCIDR: string;
    clusterDomain: string;
    clusterDNS: string;
    /** First address of the service CIDR: the in-cluster `kubernetes` Service. */
    kubernetesServiceIP: string;
    /** Port kube-apiserver listens on, on every control plane. */
    apiserverPort: number;
    /** Where every kubeconfig points: the VIP behind the load balancers, or the only control plane. */
    endpoint: { host: string; port: number; url: string };
  };
  etcd: {
    version: string;
    members: EtcdMember[];
    initialCluster: string;
    /** `<cluster>-etcd`: what the members were founded with, and what a restore from a snapshot gives them again. */
    initialClusterToken: string;
    backup?: EtcdBackup;
  };
  containerd: { version: string };
  cni: { plugin: CniPlugin };
  images: ContainerImages;
  image: {
    os: OperatingSystem;
    arch: Architecture;
    binaries: BinarySource;
    /** The golden image's name, as packer/variables.pkr.hcl spells it (local.image_name). */
    name: string;
    /** Base URL of an air-gapped mirror that replaces the public download hosts. */
    mirror?: string;
  };
  artifacts: Artifact[];
  platform: Platform;
  pki: {
    /** For keys made from now on; a kept CA keeps its own, and what it signs follows it. */
    keyAlgorithm: KeyAlgorithm;
    caValidityDays: number;
    certValidityDays: number;
    /** A bootstrap token lives this long in the cluster from when it is applied, and serves new seeds this long after it is made. */
    bootstrapTokenHours: number;
  };
  ssh: { authorizedKeys: string[] };
  /** Time servers for every host; empty means the distribution's default pool. */
  ntp: { servers: string[] };
  /** Absent when the cluster has a single control plane and no load balancers. */
  loadBalancer?: LoadBalancer;
  hosts: Host[];
}

export function hasRole(host: Pick<Host, 'roles'>, role: Role): boolean {
  return host.roles.includes(role);
}

/** The roles that make a host a Kubernetes node: containerd, kubelet and kube-proxy run there. */
export const NODE_ROLES: readonly Role[] = ['control-plane', 'worker'];

/** A host that runs kubelet and kube-proxy: every worker and every control plane. */
export function isNode(host: Pick<Host, 'roles'>): boolean {
  return NODE_ROLES.some((role) => hasRole(host, role));
}

/** The tiers hosts are (re)provisioned in, the role whose availability matters most first. */
export const PROVISION_TIERS = ['etcd', 'control-plane', 'load-balancer', 'worker'] as const;
export type ProvisionTier = (typeof PROVISION_TIERS)[number];

/**
 * A host's tier. Control planes come before the load balancers, which must
 * find a serving apiserver (with the VIP in its certificate) behind them
 * (a change that brings a new VIP makes its load balancers first instead:
 * nobody uses them yet; generator/plan/steps.ts); a
 * worker comes after both, even when it is an etcd member too, because its
 * kubeconfigs point at the endpoint they make.
 */
export function provisionTier(roles: readonly Role[]): ProvisionTier {
  if (roles.includes('control-plane')) return 'control-plane';
  if (roles.includes('worker')) return 'worker';
  if (roles.includes('etcd')) return 'etcd';
  return 'load-balancer';
}

export function hostsWithRole(cluster: Pick<Cluster, 'hosts'>, role: Role): Host[] {
  return cluster.hosts.filter((h) => hasRole(h, role));
}
