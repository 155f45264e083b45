/**
 * The spec's settings as in effect: the value written, one inherited (a host's
 * network settings from network:, a VM size from resources: or its roles), or
 * the default from DEFAULTS, each with the spec path it was written at. This
 * is the one place a default is applied: the checks read a setting's path to
 * blame the field the user wrote, resolve.ts reads its value.
 *
 * What needs the pinned release (the etcd version paired with it, the golden
 * image's name and the paths named after it) is derived in resolve.ts, which
 * looks the release up.
 */
import { posix } from 'node:path';
import * as ip from '../model/ipv4.ts';
import { derivedMac } from '../model/mac.ts';
import { defaultContainerdVersion, defaultKubernetesVersion } from '../versions/versions.ts';
import type { PathSegment } from './problems.ts';
import {
  DEFAULTS, DEFAULT_VM_SIZES, PLATFORM_DEFAULTS, type ClusterSpec, type FileSpec, type NetworkSettings, type VmSizeSpec,
} from './types.ts';

export interface Setting<T> {
  value: T;
  /** The spec path the value was written at; absent when it is the default. */
  writtenAt?: PathSegment[];
}

/** The values of an object of settings, for code that has no field to blame. */
export type Values<S> = { [K in keyof S]: S[K] extends Setting<infer T> ? T : never };

export function valuesOf<S extends Record<string, Setting<unknown>>>(settings: S): Values<S> {
  return Object.fromEntries(Object.entries(settings).map(([key, s]) => [key, s.value])) as Values<S>;
}

/** `section[key]` as written at `[...at, key]`, else `fallback`. */
function keyOf<S extends object, K extends keyof S & string>(
  section: S | undefined, at: PathSegment[], key: K, fallback: Exclude<S[K], undefined>,
): Setting<Exclude<S[K], undefined>> {
  const written = section?.[key];
  return written !== undefined ? { value: written as Exclude<S[K], undefined>, writtenAt: [...at, key] } : { value: fallback };
}

// --- cluster-wide ---------------------------------------------------------------

/** kubeadm's convention: the tenth address of the service range. */
export function defaultClusterDNS(serviceCIDR: string): string {
  return ip.nthAddress(serviceCIDR, DEFAULTS.clusterDNSOffset);
}

/** The in-cluster `kubernetes` Service's address: the first of the service range. */
export function kubernetesServiceIP(serviceCIDR: string): string {
  return ip.nthAddress(serviceCIDR, 1);
}

export function kubernetesSettings(spec: ClusterSpec) {
  const k8s = spec.kubernetes;
  const at = ['kubernetes'];
  const serviceCIDR = keyOf(k8s, at, 'serviceCIDR', DEFAULTS.serviceCIDR);
  return {
    version: keyOf(k8s, at, 'version', defaultKubernetesVersion),
    serviceCIDR,
    podCIDR: keyOf(k8s, at, 'podCIDR', DEFAULTS.podCIDR),
    clusterDomain: keyOf(k8s, at, 'clusterDomain', DEFAULTS.clusterDomain),
    clusterDNS: keyOf(k8s, at, 'clusterDNS', defaultClusterDNS(serviceCIDR.value)),
    apiserverPort: keyOf(k8s, at, 'apiserverPort', DEFAULTS.apiserverPort),
  };
}

/** Absent without a loadBalancer section. */
export function loadBalancerSettings(spec: ClusterSpec) {
  const lb = spec.loadBalancer;
  if (!lb) return undefined;
  const at = ['loadBalancer'];
  return {
    vip: { value: lb.vip, writtenAt: [...at, 'vip'] },
    port: keyOf(lb, at, 'port', DEFAULTS.loadBalancerPort),
    virtualRouterId: keyOf(lb, at, 'virtualRouterId', DEFAULTS.virtualRouterId),
  };
}

export function etcdBackupSettings(spec: ClusterSpec) {
  const backup = spec.etcd?.backup;
  const at = ['etcd', 'backup'];
  const d = DEFAULTS.etcdBackup;
  return {
    enabled: keyOf(backup, at, 'enabled', d.enabled),
    schedule: keyOf(backup, at, 'schedule', d.schedule),
    keep: keyOf(backup, at, 'keep', d.keep),
    directory: keyOf(backup, at, 'directory', d.directory),
  };
}

export function runtimeSettings(spec: ClusterSpec) {
  return {
    containerdVersion: keyOf(spec.containerd, ['containerd'], 'version', defaultContainerdVersion),
    cni: keyOf(spec.cni, ['cni'], 'plugin', DEFAULTS.cni),
  };
}

export function imageSettings(spec: ClusterSpec) {
  const at = ['image'];
  return {
    os: keyOf(spec.image, at, 'os', DEFAULTS.os),
    arch: keyOf(spec.image, at, 'arch', DEFAULTS.arch),
    binaries: keyOf(spec.image, at, 'binaries', DEFAULTS.binaries),
  };
}

export function pkiSettings(spec: ClusterSpec) {
  const pki = spec.pki;
  const at = ['pki'];
  // keySize is the older spelling: N means rsa-N (a check refuses both at once).
  const keyAlgorithm = pki?.keyAlgorithm === undefined && pki?.keySize !== undefined
    ? { value: `rsa-${pki.keySize}` as const, writtenAt: [...at, 'keySize'] }
    : keyOf(pki, at, 'keyAlgorithm', DEFAULTS.keyAlgorithm);
  return {
    keyAlgorithm,
    caValidityDays: keyOf(pki, at, 'caValidityDays', DEFAULTS.caValidityDays),
    certValidityDays: keyOf(pki, at, 'certValidityDays', DEFAULTS.certValidityDays),
    bootstrapTokenHours: keyOf(pki, at, 'bootstrapTokenHours', DEFAULTS.bootstrapTokenHours),
  };
}

// --- the platform -------------------------------------------------------------------

export function platformOf(spec: ClusterSpec) {
  return keyOf(spec, [], 'platform', DEFAULTS.platform);
}

export function libvirtSettings(spec: ClusterSpec) {
  const at = ['libvirt'];
  const d = PLATFORM_DEFAULTS.libvirt;
  return {
    uri: keyOf(spec.libvirt, at, 'uri', d.uri),
    network: keyOf(spec.libvirt, at, 'network', d.network),
    imagesDir: keyOf(spec.libvirt, at, 'imagesDir', d.imagesDir),
  };
}

/** Only for a spec with a proxmox section (the checks require one on platform proxmox). */
export function proxmoxSettings(proxmox: NonNullable<ClusterSpec['proxmox']>) {
  const at = ['proxmox'];
  const d = PLATFORM_DEFAULTS.proxmox;
  return {
    templateId: { value: proxmox.templateId, writtenAt: [...at, 'templateId'] },
    firstVmId: keyOf(proxmox, at, 'firstVmId', d.firstVmId),
    bridge: keyOf(proxmox, at, 'bridge', d.bridge),
    storage: keyOf(proxmox, at, 'storage', d.storage),
    isoStorage: keyOf(proxmox, at, 'isoStorage', d.isoStorage),
  };
}

export function vsphereNetwork(spec: ClusterSpec) {
  return keyOf(spec.vsphere, ['vsphere'], 'network', PLATFORM_DEFAULTS.vsphere.network);
}

// --- hosts ----------------------------------------------------------------------------

/** A host's network setting: its own, else network:'s, else `fallback`. */
function inherited<K extends keyof NetworkSettings, T extends NetworkSettings[K]>(
  spec: ClusterSpec, index: number, key: K, fallback: T,
): Setting<Exclude<NetworkSettings[K], undefined> | T> {
  type Written = Exclude<NetworkSettings[K], undefined>;
  const own = spec.hosts[index]![key];
  if (own !== undefined) return { value: own as Written, writtenAt: ['hosts', index, key] };
  const shared = spec.network?.[key];
  return shared !== undefined ? { value: shared as Written, writtenAt: ['network', key] } : { value: fallback };
}

/** Host `index`'s network settings as in effect. */
export function hostNetworkSettings(spec: ClusterSpec, index: number) {
  return {
    interface: inherited(spec, index, 'interface', DEFAULTS.interface),
    prefixLength: inherited(spec, index, 'prefixLength', DEFAULTS.prefixLength),
    /** Undefined on an isolated network: no default route. */
    gateway: inherited(spec, index, 'gateway', undefined),
    nameservers: inherited(spec, index, 'nameservers', [] as string[]),
  };
}

/** Host `index`'s MAC, lowercase: the spec's, else the one derived from the cluster and host names. */
export function macAddressOf(spec: ClusterSpec, index: number): Setting<string> {
  const host = spec.hosts[index]!;
  return host.macAddress !== undefined
    ? { value: host.macAddress.toLowerCase(), writtenAt: ['hosts', index, 'macAddress'] }
    : { value: derivedMac(spec.name, host.name, platformOf(spec).value) };
}

/**
 * Host `index`'s VM: its own values, else the largest its roles ask for
 * (resources:, else DEFAULT_VM_SIZES), written at the first role that asks for it.
 */
export function vmSizeSettings(spec: ClusterSpec, index: number) {
  const host = spec.hosts[index]!;
  const size = (key: keyof VmSizeSpec): Setting<number> => {
    if (host[key] !== undefined) return { value: host[key]!, writtenAt: ['hosts', index, key] };
    let best: Setting<number> = { value: -Infinity };
    for (const role of host.roles) {
      const asked = keyOf(spec.resources?.[role], ['resources', role], key, DEFAULT_VM_SIZES[role][key]);
      if (asked.value > best.value) best = asked;
    }
    return best;
  };
  return { cpus: size('cpus'), memoryMiB: size('memoryMiB'), diskGiB: size('diskGiB') };
}

/** /etc//x, /etc/./x and /etc/y/../x are all /etc/x on the host: one spelling, so every comparison sees it. */
export function normalFilePath(path: string): string {
  return posix.normalize(path).replace(/\/+$/, '');
}

/** The files host `index` gets: the cluster's, except where the host gives its own at the same path, then its own. */
export function filesOf(spec: ClusterSpec, index: number): FileSpec[] {
  const own = spec.hosts[index]!.files ?? [];
  const ownPaths = new Set(own.map((f) => normalFilePath(f.path)));
  return [...(spec.files ?? []).filter((f) => !ownPaths.has(normalFilePath(f.path))), ...own];
}

/** A file's mode and owner as in effect. */
export function fileModeOf(file: FileSpec): { permissions: string; owner: string } {
  return { permissions: file.permissions ?? DEFAULTS.filePermissions, owner: file.owner ?? DEFAULTS.fileOwner };
}
