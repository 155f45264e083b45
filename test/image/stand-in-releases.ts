/**
 * What the image test's mirror serves: STAND-INS for every release artifact
 * and container image, packed by test/lib/stand-in-mirror.ts in the real
 * layouts, so the real install script places them where the units expect the
 * real binaries. None of them is the real program; each says so in its
 * first lines. They are enough for a host booted from the image:
 *
 * - etcd/etcdctl run the base's Debian etcd 3.4 (the boot lab's etcd);
 * - containerd is test/standins/containerd-standin.py (a socket, READY=1);
 * - ctr answers `version` once that socket is up and records each
 *   `images import` (the image's name and the archive's sha256) under
 *   /var/lib/containerd, so the image shows what was pre-pulled;
 * - everything else prints what it stands in for and exits.
 *
 * Container images are OCI image layouts as `ctr images export` writes them
 * (oci-layout, index.json naming the image, blobs/sha256/ with a manifest, a
 * config and an empty layer).
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArtifactName, Cluster } from '../../generator/model/types.ts';
import { etcdReleaseDir, type StandInFile, type StandInReleases } from '../lib/stand-in-mirror.ts';

const here = dirname(fileURLToPath(import.meta.url));
/** Where the stand-in ctr records the imports, inside the image. */
export const CTR_IMPORTS = '/var/lib/containerd/stand-in-imports';
export const STAND_IN_MARK = 'STAND-IN';

const script = (body: string[]): StandInFile => [`#!/bin/sh\n${body.join('\n')}\n`, 0o755];
const says = (binary: string, artifact: ArtifactName, version: string): StandInFile => script([
  `# ${STAND_IN_MARK} for ${binary} from ${artifact} ${version}: NOT the real program (ha-k8s-seed test/image).`,
  `echo "${STAND_IN_MARK} ${binary} ${version} (${artifact})"`,
]);
const delegates = (binary: string, artifact: ArtifactName, version: string, to: string): StandInFile => script([
  `# ${STAND_IN_MARK} for ${binary} from ${artifact} ${version}: NOT the release's binary; runs`,
  `# the base's Debian ${to} (etcd 3.4), as the boot lab does (ha-k8s-seed test/image).`,
  `exec ${to} "$@"`,
]);

export function standInReleases(cluster: Cluster): StandInReleases {
  const v = (name: ArtifactName) => cluster.artifacts.find((a) => a.name === name)!.version;
  const bins = (artifact: ArtifactName, prefix: string, names: string[]) =>
    Object.fromEntries(names.map((n) => [`${prefix}${n}`, says(n, artifact, v(artifact))]));
  const etcdDir = etcdReleaseDir(cluster);
  return {
    'kubernetes-server': bins('kubernetes-server', 'kubernetes/server/bin/',
      ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl', 'kubeadm', 'kubelet', 'kube-proxy']),
    'kubernetes-node': bins('kubernetes-node', 'kubernetes/node/bin/', ['kubelet', 'kube-proxy', 'kubectl', 'kubeadm']),
    etcd: {
      [`${etcdDir}/etcd`]: delegates('etcd', 'etcd', v('etcd'), '/usr/bin/etcd'),
      [`${etcdDir}/etcdctl`]: delegates('etcdctl', 'etcd', v('etcd'), '/usr/bin/etcdctl'),
      ...bins('etcd', `${etcdDir}/`, ['etcdutl']),
      [`${etcdDir}/README.md`]: [`${STAND_IN_MARK} etcd release\n`, 0o644],
    },
    containerd: {
      'bin/containerd': [readFileSync(join(here, '../standins/containerd-standin.py'), 'utf8'), 0o755],
      ...bins('containerd', 'bin/', ['containerd-shim-runc-v2', 'containerd-stress']),
      'bin/ctr': script([
        `# ${STAND_IN_MARK} for ctr from containerd ${v('containerd')}: NOT ctr (ha-k8s-seed test/image).`,
        '# version: succeeds once the containerd stand-in serves its socket.',
        '# -n NS images import FILE: records the image named in FILE\'s index.json and FILE\'s sha256.',
        'if [ "$1" = version ]; then test -S /run/containerd/containerd.sock; exit $?; fi',
        'if [ "$1" = -n ] && [ "$3 $4" = "images import" ]; then',
        '  name=$(tar -xOf "$5" index.json | sed -n \'s/.*"io.containerd.image.name":"\\([^"]*\\)".*/\\1/p\')',
        '  [ -n "$name" ] || { echo "ctr: $5: no image name in index.json" >&2; exit 1; }',
        `  mkdir -p ${dirname(CTR_IMPORTS)}`,
        `  echo "$2 $name $(sha256sum "$5" | cut -d' ' -f1)" >> ${CTR_IMPORTS}`,
        '  echo "unpacking $name (stand-in)...done"; exit 0',
        'fi',
        'echo "ctr stand-in: $* is not played" >&2; exit 1',
      ]),
    },
    runc: { runc: says('runc', 'runc', v('runc')) },
    'cni-plugins': {
      ...bins('cni-plugins', './', ['bridge', 'host-local', 'loopback', 'portmap', 'bandwidth', 'flannel']),
      './LICENSE': [`${STAND_IN_MARK} CNI plugins release\n`, 0o644],
    },
    crictl: bins('crictl', '', ['crictl']),
  };
}

const digest = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** An OCI image layout in a tar, as `ctr images export` writes one: one manifest, one empty layer. */
export function imageArchive(ref: string, stageDir: string): Buffer {
  const stage = join(stageDir, ref.replace(/[^\w.-]/g, '_'));
  rmSync(stage, { recursive: true, force: true });
  const blobs = join(stage, 'blobs/sha256');
  mkdirSync(blobs, { recursive: true });
  const blob = (data: Buffer | string) => {
    const d = digest(data);
    writeFileSync(join(blobs, d.slice('sha256:'.length)), data);
    return { digest: d, size: Buffer.byteLength(data) };
  };
  const emptyLayerTar = Buffer.alloc(1024); // an empty tar: two zero blocks
  const layer = blob(emptyLayerTar);
  const config = blob(JSON.stringify({
    architecture: 'amd64', os: 'linux', config: { Labels: { 'ha-k8s-seed.stand-in': ref } },
    rootfs: { type: 'layers', diff_ids: [layer.digest] },
  }));
  const manifest = blob(JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
  }));
  writeFileSync(join(stage, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(stage, 'index.json'), JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{
      mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest,
      annotations: { 'io.containerd.image.name': ref, 'org.opencontainers.image.ref.name': ref.split(':').at(-1) },
    }],
  }));
  const r = spawnSync('tar', ['-cf', '-', '-C', stage, '--owner=0', '--group=0', '--sort=name', 'oci-layout', 'index.json', 'blobs'], { maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`tar for ${ref}: ${r.stderr}`);
  return r.stdout;
}
