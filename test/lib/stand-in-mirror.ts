/**
 * An air-gapped mirror of stand-in release artifacts, laid out as
 * `image.mirror` expects (<mirror>/<upstream host>/<upstream path>) and shaped
 * like the real releases: the same file names, and inside each tarball the
 * real paths (kubernetes/server/bin/..., etcd-v<version>-linux-<arch>/...,
 * containerd's bin/, the CNI plugins at the top, crictl alone); runc a plain
 * file; every container image an archive at <mirror>/images/<ref>.tar.
 *
 * What the files hold is the caller's (the install-script test, the image
 * test); this module only packs and checksums them. The tarballs are owned by
 * uid 1000 on purpose: the install script must install root-owned files.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Artifact, ArtifactName, Cluster } from '../../generator/model/types.ts';
import { containerImages, imageArchiveUrl } from '../../generator/install/plan.ts';

/** A file of a release: its content and mode. */
export type StandInFile = [content: string, mode: number];
/** Each artifact's files by their path inside the tarball; a plain binary (runc) has exactly one. */
export type StandInReleases = Record<ArtifactName, Record<string, StandInFile>>;

export const sha = (algorithm: string, data: Buffer | string): string => createHash(algorithm).update(data).digest('hex');

/** Path of an artifact inside the mirror folder: <host>/<path> of its upstream URL. */
export const mirrorPath = (mirrorDir: string, url: string): string => {
  const u = new URL(url);
  return join(mirrorDir, u.host, u.pathname);
};

/** Path of an image archive inside the mirror folder. */
export const imageArchivePath = (mirrorDir: string, ref: string, mirrorUrl: string): string =>
  join(mirrorDir, new URL(imageArchiveUrl(ref, mirrorUrl)).pathname);

/** The etcd release's top folder, as upstream names it. */
export const etcdReleaseDir = (cluster: Pick<Cluster, 'etcd' | 'image'>): string => `etcd-v${cluster.etcd.version}-linux-${cluster.image.arch}`;

/**
 * Writes the mirror under `mirrorDir` and returns the cluster with each
 * artifact's checksum replaced by the stand-in's, as the versions table pins
 * the real ones. `imageArchive` gives an image archive's content.
 */
export function buildStandInMirror(o: {
  mirrorDir: string; mirrorUrl: string; cluster: Cluster; releases: StandInReleases;
  imageArchive: (ref: string) => string | Buffer; stageDir: string;
}): Cluster {
  const artifacts: Artifact[] = o.cluster.artifacts.map((a) => {
    const target = mirrorPath(o.mirrorDir, a.upstreamUrl);
    mkdirSync(dirname(target), { recursive: true });
    const files = Object.entries(o.releases[a.name]);
    if (a.format === 'binary') {
      if (files.length !== 1) throw new Error(`stand-in ${a.name}: a plain binary is one file, not ${files.length}`);
      writeFileSync(target, files[0]![1][0]);
    } else {
      const stage = join(o.stageDir, a.name);
      rmSync(stage, { recursive: true, force: true });
      for (const [path, [content, mode]] of files) {
        mkdirSync(dirname(join(stage, path)), { recursive: true });
        writeFileSync(join(stage, path), content);
        chmodSync(join(stage, path), mode);
      }
      const r = spawnSync('tar', ['-czf', target, '-C', stage, '--owner=1000', '--group=1000', '.'], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`tar for ${a.name}: ${r.stderr}`);
    }
    return { ...a, checksum: { algorithm: a.checksum.algorithm, value: sha(a.checksum.algorithm, readFileSync(target)) } };
  });
  for (const ref of containerImages(o.cluster)) {
    const target = imageArchivePath(o.mirrorDir, ref, o.mirrorUrl);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, o.imageArchive(ref));
  }
  return { ...o.cluster, artifacts };
}

const SERVER = fileURLToPath(new URL('./static-http-server.mjs', import.meta.url));
const quoted = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/**
 * Shell lines that serve `mirrorDir` on 127.0.0.1:`port` in the background
 * (static-http-server.mjs, its pid in $mirror) and go on once it listens; the
 * script exits 99 if it never does. For a script in the test's own network
 * namespace, which reaches nothing else.
 */
export function serveMirrorLines(mirrorDir: string, port: number, ready: string): string {
  return [
    `node ${quoted(SERVER)} ${quoted(mirrorDir)} ${port} ${quoted(ready)} & mirror=$!`,
    `for _ in $(seq 1 100); do [ -e ${quoted(ready)} ] && break; sleep 0.1; done`,
    `[ -e ${quoted(ready)} ] || { echo "mirror did not start" >&2; exit 99; }`,
  ].join('\n');
}
