/**
 * The project's versions table: which releases it can deploy and the pinned
 * checksum of every artifact. The facts live in artifacts.yaml (data, not code,
 * so adding a release is a data change); this module only reads and indexes them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { load } from 'js-yaml';
import type { Architecture, Artifact, ArtifactName } from '../model/types.ts';
import { assetPath } from '../assets.ts';

const here = assetPath('generator', 'versions');

type PerArch<T> = Record<Architecture, T>;
interface TarballPin { url: string; sha512: string }
interface MinorEntry {
  newest_patch_known: string;
  tarballs: null | { version: string; server: PerArch<TarballPin>; node: PerArch<TarballPin> };
  images: { pause: string; coredns: string };
  etcd_pairing: { by: string; version: string; verified: boolean }[];
}
interface ReleaseList { url_template: string; releases: { version: string; sha256: PerArch<string> }[] }
interface ArtifactsFile {
  kubernetes: { minors: Record<string, MinorEntry> };
  etcd: ReleaseList;
  containerd: ReleaseList;
  runc: ReleaseList;
  cni_plugins: ReleaseList;
  crictl: ReleaseList;
  cni_images: Record<string, { daemon: string; plugin: string }>;
}

const table = load(readFileSync(join(here, 'artifacts.yaml'), 'utf8')) as ArtifactsFile;

export interface KubernetesRelease {
  version: string;
  minor: string;
  server: PerArch<TarballPin>;
  node: PerArch<TarballPin>;
  images: { pause: string; coredns: string };
  /** The etcd release this project pairs with the minor (kubespray's choice, verified). */
  etcdVersion: string;
  /** crictl follows the Kubernetes minor; the newest pinned one not newer than it. */
  crictlVersion: string;
}

function compareVersions(a: string, b: string): number {
  const pa = a.replace(/^v/, '').split('.').map(Number);
  const pb = b.replace(/^v/, '').split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

const pinnedReleases: KubernetesRelease[] = Object.entries(table.kubernetes.minors)
  .flatMap(([minor, entry]): KubernetesRelease[] => {
    // A minor without checksummed tarballs cannot be installed verifiably: not supported.
    if (!entry.tarballs) return [];
    const etcd = entry.etcd_pairing.find((p) => p.by === 'kubespray' && p.verified);
    if (!etcd) return [];
    const crictl = [...table.crictl.releases]
      .sort((a, b) => compareVersions(b.version, a.version))
      .find((r) => compareVersions(r.version, `${minor}.999`) <= 0) ?? table.crictl.releases.at(-1)!;
    return [{
      version: entry.tarballs.version,
      minor,
      server: entry.tarballs.server,
      node: entry.tarballs.node,
      images: entry.images,
      etcdVersion: etcd.version,
      crictlVersion: crictl.version,
    }];
  })
  .sort((a, b) => compareVersions(a.version, b.version));

/** Every Kubernetes release this project can deploy, oldest first. */
export const supportedKubernetesVersions: readonly string[] = pinnedReleases.map((r) => r.version);
export const defaultKubernetesVersion: string = supportedKubernetesVersions.at(-1)!;

/** The pinned images of a CNI plugin (the add-on the control planes apply). */
export function cniImages(plugin: string): { daemon: string; plugin: string } {
  const images = table.cni_images[plugin];
  if (!images) throw new Error(`versions table: no pinned images for CNI ${plugin}`);
  return { ...images };
}

export function kubernetesRelease(version: string): KubernetesRelease | undefined {
  return pinnedReleases.find((r) => r.version === version);
}

export const supportedEtcdVersions: readonly string[] = table.etcd.releases.map((r) => r.version);
export const supportedContainerdVersions: readonly string[] = table.containerd.releases.map((r) => r.version);
export const defaultContainerdVersion: string = [...supportedContainerdVersions].sort(compareVersions).at(-1)!;

function fillTemplate(template: string, vars: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, key: string) => {
    if (!(key in vars)) throw new Error(`versions table: URL template ${template} uses unknown {${key}}`);
    return vars[key]!;
  });
}

function pinned(list: ReleaseList, version: string) {
  const release = list.releases.find((r) => r.version === version);
  if (!release) throw new Error(`versions table: no pinned release ${version}`);
  return release;
}

/** Replaces the scheme and host of a public URL with the mirror's base, keeping the path. */
function throughMirror(url: string, mirror: string | undefined): string {
  if (!mirror) return url;
  const { host, pathname } = new URL(url);
  return `${mirror.replace(/\/+$/, '')}/${host}${pathname}`;
}

function artifact(
  name: ArtifactName, version: string, upstreamUrl: string,
  checksum: Artifact['checksum'], mirror: string | undefined,
): Artifact {
  const fileName = upstreamUrl.split('/').at(-1)!;
  return {
    name, version, upstreamUrl, fileName, checksum,
    url: throughMirror(upstreamUrl, mirror),
    format: fileName.endsWith('.tar.gz') || fileName.endsWith('.tgz') ? 'tar.gz' : 'binary',
  };
}

export interface ArtifactChoice {
  kubernetes: KubernetesRelease;
  etcdVersion: string;
  containerdVersion: string;
  arch: Architecture;
  mirror?: string;
}

/** Every artifact a host of the cluster may need, pinned, for one architecture. */
export function artifactsFor(choice: ArtifactChoice): Artifact[] {
  const { kubernetes: k8s, arch, mirror } = choice;
  const sha256 = (value: string) => ({ algorithm: 'sha256' as const, value });
  const fromList = (name: ArtifactName, list: ReleaseList, version: string) =>
    artifact(name, version, fillTemplate(list.url_template, { version, arch }), sha256(pinned(list, version).sha256[arch]), mirror);
  const runc = [...table.runc.releases].sort((a, b) => compareVersions(b.version, a.version))[0]!;
  const cni = [...table.cni_plugins.releases].sort((a, b) => compareVersions(b.version, a.version))[0]!;
  return [
    artifact('kubernetes-server', k8s.version, k8s.server[arch].url, { algorithm: 'sha512', value: k8s.server[arch].sha512 }, mirror),
    artifact('kubernetes-node', k8s.version, k8s.node[arch].url, { algorithm: 'sha512', value: k8s.node[arch].sha512 }, mirror),
    fromList('etcd', table.etcd, choice.etcdVersion),
    fromList('containerd', table.containerd, choice.containerdVersion),
    fromList('runc', table.runc, runc.version),
    fromList('cni-plugins', table.cni_plugins, cni.version),
    fromList('crictl', table.crictl, k8s.crictlVersion),
  ];
}

/**
 * Flag lists that stand in for one that could not be obtained: kubelet's
 * reference page was not regenerated for 1.33 (it held 1.32's text), so
 * kubelet 1.33 is checked against 1.34's list (see flags/README in the
 * project's data notes, README "Adding a release to the versions table").
 */
export const FLAG_LIST_SUBSTITUTES: Readonly<Record<string, string>> = { 'kubelet-1.33': 'kubelet-1.34' };

const flagsDir = join(here, 'flags');

/**
 * The flag list (a file under flags/, without .txt) `component` is checked
 * against at `version`: <component>-<minor> for Kubernetes components; etcd
 * 3.4-3.6 share etcd.txt (the 3.5-only flags this project uses are still
 * there in 3.6, marked deprecated), 3.7 has its own.
 */
export function flagListName(component: string, version: string): string {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  if (component === 'etcd') return major > 3 || (major === 3 && minor >= 7) ? 'etcd-3.7' : 'etcd';
  const name = `${component}-${major}.${minor}`;
  const list = FLAG_LIST_SUBSTITUTES[name] ?? name;
  if (!existsSync(join(flagsDir, `${list}.txt`))) {
    throw new Error(`versions table: no flag list for ${component} ${major}.${minor} (generator/versions/flags/${name}.txt)`);
  }
  return list;
}

const flagCache = new Map<string, ReadonlySet<string>>();

/** The flags of a list under flags/ (flagListName()), as `--name`. */
export function knownFlags(list: string): ReadonlySet<string> {
  let known = flagCache.get(list);
  if (!known) {
    const text = readFileSync(join(flagsDir, `${list}.txt`), 'utf8');
    known = new Set(text.split('\n').filter((l) => l.startsWith('--')).map((l) => l.split(' ')[0]!));
    flagCache.set(list, known);
  }
  return known;
}
