/**
 * The spec as the user writes it: the shape of cluster.schema.json, every
 * optional key still optional. Only the spec's readers (input/) and
 * resolve.ts read this type; everything downstream reads the resolved model
 * (model/types.ts).
 */
import type { Architecture, BinarySource, CniPlugin, KeyAlgorithm, KeySize, OperatingSystem, PlatformType, Role } from '../model/types.ts';

export interface NetworkSettings {
  interface?: string;
  prefixLength?: number;
  gateway?: string;
  nameservers?: string[];
}

export interface FileSpec { path: string; content: string; permissions?: string; owner?: string }

export interface VmSizeSpec { cpus?: number; memoryMiB?: number; diskGiB?: number }

export interface HostSpec extends NetworkSettings, VmSizeSpec {
  name: string;
  address: string;
  roles: Role[];
  macAddress?: string;
  packages?: string[];
  files?: FileSpec[];
}

export interface ClusterSpec {
  name: string;
  kubernetes?: {
    version?: string;
    serviceCIDR?: string;
    podCIDR?: string;
    clusterDomain?: string;
    clusterDNS?: string;
    apiserverPort?: number;
  };
  etcd?: { version?: string; backup?: { enabled?: boolean; schedule?: string; keep?: number; directory?: string } };
  containerd?: { version?: string };
  cni?: { plugin?: CniPlugin };
  image?: { os?: OperatingSystem; arch?: Architecture; binaries?: BinarySource; mirror?: string };
  pki?: { keyAlgorithm?: KeyAlgorithm; /** Older spelling of keyAlgorithm: rsa-<keySize>. */ keySize?: KeySize; caValidityDays?: number; certValidityDays?: number; bootstrapTokenHours?: number };
  network?: NetworkSettings;
  loadBalancer?: { vip: string; port?: number; virtualRouterId?: number };
  ssh: { authorizedKeys: string[] };
  ntp?: { servers?: string[] };
  packages?: string[];
  files?: FileSpec[];
  platform?: PlatformType;
  libvirt?: { uri?: string; network?: string; bridge?: string; imagesDir?: string; goldenImage?: string };
  proxmox?: { templateId: number; firstVmId?: number; bridge?: string; storage?: string; isoStorage?: string };
  vsphere?: { template?: string; datacenter?: string; datastore?: string; network?: string; folder?: string; resourcePool?: string };
  resources?: Partial<Record<Role, VmSizeSpec>>;
  hosts: HostSpec[];
}

/** Defaults that are plain constants: effective.ts applies them, the one place that does. */
export const DEFAULTS = {
  serviceCIDR: '10.0.0.0/24',
  podCIDR: '10.244.0.0/16',
  clusterDomain: 'cluster.local',
  /** kubeadm's convention: the tenth address of the service range. */
  clusterDNSOffset: 10,
  apiserverPort: 6443,
  loadBalancerPort: 6443,
  virtualRouterId: 51,
  interface: 'eth0',
  prefixLength: 24,
  os: 'ubuntu-24.04',
  arch: 'amd64',
  binaries: 'golden-image',
  cni: 'flannel',
  keyAlgorithm: 'ecdsa-p256',
  caValidityDays: 3650,
  certValidityDays: 365,
  bootstrapTokenHours: 24,
  etcdBackup: { enabled: true, schedule: '*-*-* 00/6:00:00', keep: 12, directory: '/var/backups/etcd' },
  filePermissions: '0644',
  fileOwner: 'root:root',
  platform: 'libvirt',
} as const;

/**
 * VM sizes per role. kubeadm's documented minimums are 2 CPUs for a control
 * plane and 2 GiB of memory for every Kubernetes machine; the disks start at
 * the golden image's 20 GiB (packer/variables.pkr.hcl disk_size).
 */
export const DEFAULT_VM_SIZES: Record<Role, { cpus: number; memoryMiB: number; diskGiB: number }> = {
  etcd: { cpus: 2, memoryMiB: 2048, diskGiB: 20 },
  'control-plane': { cpus: 2, memoryMiB: 4096, diskGiB: 30 },
  worker: { cpus: 2, memoryMiB: 2048, diskGiB: 30 },
  'load-balancer': { cpus: 1, memoryMiB: 1024, diskGiB: 20 },
};

/** kubeadm's preflight minimums (NumCPU on control planes, Mem on every node). */
export const KUBERNETES_MINIMUMS = { controlPlaneCpus: 2, nodeMemoryMiB: 2048 } as const;

export const PLATFORM_DEFAULTS = {
  libvirt: { uri: 'qemu:///system', network: 'default', imagesDir: '/var/lib/libvirt/images' },
  proxmox: { firstVmId: 100, bridge: 'vmbr0', storage: 'local-lvm', isoStorage: 'local' },
  vsphere: { network: 'VM Network' },
} as const;
