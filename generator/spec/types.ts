/**
 * The spec as the user writes it: the shape of cluster.schema.json, every
 * optional key still optional. Only validate.ts and resolve.ts read this type;
 * everything downstream reads the resolved model (model/types.ts).
 */
import type { Architecture, BinarySource, CniPlugin, KeyAlgorithm, KeySize, OperatingSystem, Role } from '../model/types.ts';

export interface NetworkSettings {
  interface?: string;
  prefixLength?: number;
  gateway?: string;
  nameservers?: string[];
}

export interface FileSpec { path: string; content: string; permissions?: string; owner?: string }

export interface HostSpec extends NetworkSettings {
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
  pki?: { keyAlgorithm?: KeyAlgorithm; /** Older spelling of keyAlgorithm: rsa-<keySize>. */ keySize?: KeySize; caValidityDays?: number; certValidityDays?: number };
  network?: NetworkSettings;
  loadBalancer?: { vip: string; port?: number; virtualRouterId?: number };
  ssh: { authorizedKeys: string[] };
  ntp?: { servers?: string[] };
  packages?: string[];
  files?: FileSpec[];
  hosts: HostSpec[];
}

/** Defaults that are plain constants. Defaults derived from other fields live in resolve.ts. */
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
  etcdBackup: { enabled: true, schedule: '*-*-* 00/6:00:00', keep: 12, directory: '/var/backups/etcd' },
  filePermissions: '0644',
  fileOwner: 'root:root',
} as const;
