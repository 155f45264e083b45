/**
 * What a machine installs, by its roles: the pinned artifacts, container
 * images and distribution packages the versions table gives those roles. The
 * golden image holds the plan of every role; in the `download` binaries mode
 * each host installs its own roles'. Pure.
 */
import { BIN } from '../model/paths.ts';
import { ROLES, type ArtifactName, type Cluster, type Role } from '../model/types.ts';
import { TABLE } from '../versions/table.ts';
import { INSTALLED_ARTIFACTS } from '../versions/versions.ts';
import { artifactRecord, type InstallManifest } from './manifest.ts';

/**
 * Where one file of an artifact goes. `member` is a shell glob inside the
 * unpacked tarball (or the downloaded file, for a plain binary); a `path`
 * ending in "/" is a folder that receives every executable file the glob
 * matches, otherwise the glob must match exactly one file.
 */
export interface InstalledFile { artifact: ArtifactName; member: string; path: string; mode: number }

/** The install table of every artifact, from the versions table's `install` entries. */
export const INSTALLED_FILES: readonly InstalledFile[] = INSTALLED_ARTIFACTS.flatMap((a) => a.install.map((f) => ({
  artifact: a.name, member: f.member, path: f.folder ? `${BIN[f.bin]}/` : BIN[f.bin], mode: f.mode,
})));

/**
 * Every container image the model lists (pause, CoreDNS, and whatever the CNI
 * adds to cluster.images), in the model's order, each once.
 */
export function containerImages(cluster: Pick<Cluster, 'images'>): string[] {
  const refs = (value: unknown): string[] => {
    if (typeof value === 'string') return value === '' ? [] : [value];
    if (Array.isArray(value)) return value.flatMap(refs);
    if (value && typeof value === 'object') return Object.values(value).flatMap(refs);
    return [];
  };
  return [...new Set(refs(cluster.images))];
}

/**
 * With an air-gapped mirror, images come as archives (`ctr images export`
 * output) at <mirror>/images/<registry>/<repository>/<tag>.tar. `mirror` is
 * the model's image.mirror, without a trailing slash.
 */
export function imageArchiveUrl(ref: string, mirror: string): string {
  const path = ref.replace('@', '/').replace(/:([^:/]+)$/, '/$1');
  return `${mirror}/images/${path}.tar`;
}

const neededBy = (roles: readonly Role[]) => (item: { roles: readonly Role[] }) => item.roles.some((r) => roles.includes(r));

/** What a machine with these roles installs (every role: the golden image). */
export function installPlan(cluster: Cluster, roles: readonly Role[] = ROLES): InstallManifest {
  const names = new Set(INSTALLED_ARTIFACTS.filter(neededBy(roles)).map((a) => a.name));
  const { mirror } = cluster.image;
  return {
    artifacts: cluster.artifacts.filter((a) => names.has(a.name)).map(artifactRecord),
    // The images are pre-pulled where they run: on the machines with containerd.
    images: names.has('containerd')
      ? containerImages(cluster).map((ref) => ({ ref, archive_url: mirror ? imageArchiveUrl(ref, mirror) : '' }))
      : [],
    packages: TABLE.packages.filter(neededBy(roles)).map((p) => p.name),
  };
}
