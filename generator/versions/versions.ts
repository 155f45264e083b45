/**
 * The project's versions table: which releases it can deploy and the pinned
 * artifact of each. The facts live in artifacts.yaml (data, not code, so
 * adding a release is a data change; table.ts reads it); this module chooses
 * among them: the release of each minor, the etcd and crictl that go with it,
 * and every artifact's URL, through the mirror when there is one.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Architecture, Artifact, ArtifactName } from '../model/types.ts';
import { assetPath } from '../assets.ts';
import { TABLE, type PinnedArtifact } from './table.ts';

const here = assetPath('generator', 'versions');

export interface KubernetesRelease {
  version: string;
  minor: string;
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

const newestFirst = (versions: Iterable<string>): string[] => [...versions].sort((a, b) => compareVersions(b, a));

function pinnedArtifact(name: string): PinnedArtifact {
  const record = TABLE.artifacts.find((a) => a.name === name);
  if (!record) throw new Error(`versions table: no artifact ${name}`);
  return record;
}

const etcd = pinnedArtifact('etcd');
const server = pinnedArtifact('kubernetes-server');
const node = pinnedArtifact('kubernetes-node');
const crictlVersions = newestFirst(pinnedArtifact('crictl').releases.keys());

const pinnedReleases: KubernetesRelease[] = TABLE.minors
  .flatMap((m): KubernetesRelease[] => {
    // The minor's release is the newest with both tarballs pinned. A minor
    // without checksummed tarballs cannot be installed verifiably: not deployable.
    const version = newestFirst(server.releases.keys()).find((v) => v.startsWith(`v${m.minor}.`) && node.releases.has(v));
    if (!version) return [];
    if (!etcd.releases.has(m.etcd)) throw new Error(`versions table: Kubernetes ${m.minor} pairs etcd ${m.etcd}, which is not pinned`);
    return [{
      version,
      minor: m.minor,
      images: { ...m.images },
      etcdVersion: m.etcd,
      crictlVersion: crictlVersions.find((v) => compareVersions(v, `${m.minor}.999`) <= 0) ?? crictlVersions.at(-1)!,
    }];
  })
  .sort((a, b) => compareVersions(a.version, b.version));

/** Every Kubernetes release this project can deploy, oldest first. */
export const supportedKubernetesVersions: readonly string[] = pinnedReleases.map((r) => r.version);
export const defaultKubernetesVersion: string = supportedKubernetesVersions.at(-1)!;

/** The pinned images of a CNI plugin (the add-on the control planes apply). */
export function cniImages(plugin: string): { daemon: string; plugin: string } {
  const images = TABLE.cniImages[plugin];
  if (!images) throw new Error(`versions table: no pinned images for CNI ${plugin}`);
  return { ...images };
}

export function kubernetesRelease(version: string): KubernetesRelease | undefined {
  return pinnedReleases.find((r) => r.version === version);
}

export const supportedEtcdVersions: readonly string[] = [...etcd.releases.keys()];
export const supportedContainerdVersions: readonly string[] = [...pinnedArtifact('containerd').releases.keys()];
export const defaultContainerdVersion: string = newestFirst(supportedContainerdVersions)[0]!;

export interface ArtifactChoice {
  kubernetes: KubernetesRelease;
  etcdVersion: string;
  containerdVersion: string;
  arch: Architecture;
  /** The model's image.mirror: a base URL without a trailing slash (resolve strips it). */
  mirror?: string;
}

/** Which release of each installed artifact a cluster gets. */
const CHOSEN_VERSION: Record<ArtifactName, (choice: ArtifactChoice) => string> = {
  'kubernetes-server': (c) => c.kubernetes.version,
  'kubernetes-node': (c) => c.kubernetes.version,
  etcd: (c) => c.etcdVersion,
  containerd: (c) => c.containerdVersion,
  runc: () => newestFirst(pinnedArtifact('runc').releases.keys())[0]!,
  'cni-plugins': () => newestFirst(pinnedArtifact('cni-plugins').releases.keys())[0]!,
  crictl: (c) => c.kubernetes.crictlVersion,
};

/** An artifact some role installs: one of the model's ArtifactNames. */
export type InstalledArtifact = PinnedArtifact & { name: ArtifactName };
const isArtifactName = (name: string): name is ArtifactName => Object.hasOwn(CHOSEN_VERSION, name);

/** The artifacts roles install, in the table's order (the order machines install them): exactly the ArtifactNames. */
export const INSTALLED_ARTIFACTS: readonly InstalledArtifact[] = TABLE.artifacts.filter((a) => a.roles.length > 0).map((a) => {
  if (!isArtifactName(a.name)) throw new Error(`versions table: roles install ${a.name}, which the model does not know (ArtifactName)`);
  return { ...a, name: a.name };
});
for (const name of Object.keys(CHOSEN_VERSION)) {
  if (!INSTALLED_ARTIFACTS.some((a) => a.name === name)) throw new Error(`versions table: no role installs ${name}`);
}

function fillTemplate(template: string, vars: Record<'version' | 'arch', string>): string {
  return template.replace(/\{(version|arch)\}/g, (_, key: 'version' | 'arch') => vars[key]);
}

/** Replaces the scheme and host of a public URL with the mirror's base, keeping the path. */
function throughMirror(url: string, mirror: string | undefined): string {
  if (!mirror) return url;
  const { host, pathname } = new URL(url);
  return `${mirror}/${host}${pathname}`;
}

/** Every artifact a host of the cluster may need, pinned, for one architecture. */
export function artifactsFor(choice: ArtifactChoice): Artifact[] {
  const { arch, mirror } = choice;
  return INSTALLED_ARTIFACTS.map(({ name, ...record }): Artifact => {
    const version = CHOSEN_VERSION[name](choice);
    const pins = record.releases.get(version);
    if (!pins) throw new Error(`versions table: no pinned release ${version} of ${name}`);
    const upstreamUrl = fillTemplate(record.url, { version, arch });
    const fileName = upstreamUrl.split('/').at(-1)!;
    return {
      name, version, upstreamUrl, fileName,
      checksum: { algorithm: record.algorithm, value: pins[arch] },
      url: throughMirror(upstreamUrl, mirror),
      format: fileName.endsWith('.tar.gz') || fileName.endsWith('.tgz') ? 'tar.gz' : 'binary',
    };
  });
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
