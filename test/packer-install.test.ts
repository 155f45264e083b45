/**
 * The install script, run for real as root in a throwaway Debian 12 root,
 * against an air-gapped mirror on 127.0.0.1 that serves small stand-in
 * artifacts with the real layouts (kubernetes/server/bin/..., etcd-v*-linux-*,
 * containerd's bin/, ...). The test checksums them and writes the checksums
 * into the cluster's variables; Packer itself (`packer console`) turns those
 * variables into the manifest the script reads, as the image build does.
 *
 * Isolation: the mirror and the chroot run together in a new network
 * namespace (`unshare --net --mount`) whose only interface is loopback, so
 * the script can reach nothing but the mirror.
 *
 * Packages: the root already has nginx, libnginx-mod-stream and keepalived
 * (Debian's own, installed when the root was built), so the script's real
 * package step runs and finds them installed; removing one shows the step
 * trying apt and failing cleanly without a network. Images: containerd and
 * ctr are stand-ins from the fake containerd tarball; ctr records what it is
 * asked to import, so the pre-pull step runs for real against them.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from '../generator/model/paths.ts';
import type { Cluster } from '../generator/model/types.ts';
import { manifestText } from '../generator/install/manifest.ts';
import { INSTALLED_FILES, containerImages } from '../generator/install/plan.ts';
import { renderPacker } from '../generator/render/packer.ts';
import { clusterFromText } from '../generator/input/validate.ts';
import { debianRoot, throwawayCopy } from './lib/debian-root.ts';
import { packerConsole, writePackerFolder } from './lib/packer.ts';
import { buildStandInMirror, etcdReleaseDir, imageArchivePath, mirrorPath, serveMirrorLines, sha, type StandInFile, type StandInReleases } from './lib/stand-in-mirror.ts';

const PORT = 8080;
const MIRROR = `http://127.0.0.1:${PORT}`;
const ROOT_PACKAGES = ['bash', 'ca-certificates', 'conntrack', 'curl', 'iptables', 'keepalived', 'libnginx-mod-stream', 'nginx'];
const work = mkdtempSync(join(tmpdir(), 'ha-k8s-seed-install-'));

const sh = (body: string) => `#!/bin/sh\n${body}\n`;
/** What each stand-in binary holds, so the test can tell which file landed where. */
const fake = (artifact: string, binary: string) => sh(`echo "fake ${binary} from ${artifact}"`);

/** Stand-in release files: name -> (path inside the tarball -> [content, mode]). */
function standIns(cluster: Cluster): StandInReleases {
  const etcdDir = etcdReleaseDir(cluster);
  const bins = (artifact: string, prefix: string, names: string[], mode = 0o755) =>
    Object.fromEntries(names.map((n) => [`${prefix}${n}`, [fake(artifact, n), mode] as StandInFile]));
  return {
    // 0700 in the tarball: the script must install 0755 whatever the archive says.
    'kubernetes-server': bins('kubernetes-server', 'kubernetes/server/bin/', ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl', 'kubelet', 'kube-proxy', 'kubeadm'], 0o700),
    'kubernetes-node': bins('kubernetes-node', 'kubernetes/node/bin/', ['kubelet', 'kube-proxy', 'kubectl', 'kubeadm']),
    etcd: { ...bins('etcd', `${etcdDir}/`, ['etcd', 'etcdctl', 'etcdutl']), [`${etcdDir}/README.md`]: ['etcd readme', 0o644] },
    containerd: {
      ...bins('containerd', 'bin/', ['containerd-shim-runc-v2', 'containerd-stress']),
      'bin/containerd': [sh('touch /run/fake-containerd.up\nexec sleep 30'), 0o755],
      'bin/ctr': [sh([
        'echo "$*" >> /root/fake-ctr.log',
        'if [ "$1" = version ]; then test -e /run/fake-containerd.up; exit $?; fi',
        'if [ "$3 $4" = "images import" ]; then sha256sum "$5" | cut -d" " -f1 >> /root/fake-ctr.log; fi',
      ].join('\n')), 0o755],
    },
    runc: { 'runc.amd64': [fake('runc', 'runc'), 0o755] },
    'cni-plugins': { ...bins('cni-plugins', './', ['bridge', 'host-local', 'loopback', 'portmap', 'bandwidth']), './LICENSE': ['license', 0o644] },
    crictl: bins('crictl', '', ['crictl']),
  };
}

const baseCluster = clusterFromText(`${readFileSync('cluster.yaml', 'utf8')}\nimage:\n  os: debian-12\n  mirror: ${MIRROR}\n`);
const mirrorDir = join(work, 'mirror');
const cluster = buildStandInMirror({
  mirrorDir, mirrorUrl: MIRROR, cluster: baseCluster, releases: standIns(baseCluster),
  imageArchive: (ref) => `image archive of ${ref}\n`, stageDir: join(work, 'stage'),
});

/** The manifest as Packer makes it from the generated variables (local.manifest). */
function manifestFromPacker(c: Cluster): string {
  const dir = writePackerFolder(join(work, `packer-${Math.random().toString(36).slice(2)}`), c);
  const r = packerConsole(dir, 'local.manifest');
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, readFileSync(join(dir, 'manifest.txt'), 'utf8'), 'Packer and manifest.txt agree');
  return r.stdout;
}

const script = renderPacker(cluster).find((f) => f.path === 'packer/scripts/install-artifacts.sh')!.content as string;

/** In the namespace: loopback up, the mirror served (unless `ready` is undefined), the script run in the root ($1). */
const RUN = (ready: string | undefined) => `
set -u
root=$1
ip link set lo up
mount -t proc proc "$root/proc"
mirror=
${ready ? serveMirrorLines(mirrorDir, PORT, ready) : ''}
chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \\
  /bin/bash /root/install-artifacts.sh /root/manifest
rc=$?
[ -n "$mirror" ] && kill "$mirror"
exit $rc
`;

interface Run { code: number | null; stderr: string; root: string; cleanup: () => Promise<void> }

/** Copies the root, puts the script and manifest in, runs it in its own network namespace. */
async function install(manifest: string, opts: { serve?: boolean; prepare?: (root: string) => void } = {}): Promise<Run> {
  const base = await debianRoot('packer-install', ROOT_PACKAGES);
  const { dir, cleanup } = await throwawayCopy(base);
  writeFileSync(join(dir, 'root/install-artifacts.sh'), script, { mode: 0o755 });
  writeFileSync(join(dir, 'root/manifest'), manifest);
  opts.prepare?.(dir);
  const ready = opts.serve === false ? undefined : join(work, `ready-${Math.random().toString(36).slice(2)}`);
  const r = spawnSync('unshare', ['--net', '--mount', 'bash', '-c', RUN(ready), 'run', dir], { encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stderr: `${r.stderr}`, root: dir, cleanup };
}

const installedPaths = () => [...new Set([...INSTALLED_FILES.map((f) => f.path).filter((p) => !p.endsWith('/')), ...Object.values(BIN)])];

function assertNothingInstalled(root: string): void {
  for (const path of installedPaths()) {
    if (path === BIN.cniDir) continue;
    assert.not.ok(existsSync(join(root, path)), `${path} must not be installed`);
  }
  assert.not.ok(existsSync(join(root, BIN.cniDir)) && readdirSync(join(root, BIN.cniDir)).length > 0, 'no CNI plugin installed');
}

test('everything lands where the units expect it, root-owned, mode 0755, and the images are imported', async () => {
  const manifest = manifestFromPacker(cluster);
  const run = await install(manifest);
  try {
    assert.is(run.code, 0, run.stderr);
    const expected: Record<string, string> = {
      [BIN.kubeApiserver]: 'kube-apiserver from kubernetes-server',
      [BIN.kubeControllerManager]: 'kube-controller-manager from kubernetes-server',
      [BIN.kubeScheduler]: 'kube-scheduler from kubernetes-server',
      [BIN.kubelet]: 'kubelet from kubernetes-node',
      [BIN.kubeProxy]: 'kube-proxy from kubernetes-node',
      [BIN.kubectl]: 'kubectl from kubernetes-',
      [BIN.etcd]: 'etcd from etcd', [BIN.etcdctl]: 'etcdctl from etcd', [BIN.etcdutl]: 'etcdutl from etcd',
      [BIN.containerdShim]: 'containerd-shim-runc-v2 from containerd',
      [BIN.runc]: 'runc from runc',
      [BIN.crictl]: 'crictl from crictl',
      ...Object.fromEntries(['bridge', 'host-local', 'loopback', 'portmap', 'bandwidth'].map((p) => [`${BIN.cniDir}/${p}`, `${p} from cni-plugins`])),
    };
    for (const [path, content] of Object.entries(expected)) {
      const full = join(run.root, path);
      assert.ok(existsSync(full), `${path} missing`);
      const s = statSync(full);
      assert.is((s.mode & 0o7777).toString(8), '755', `${path} mode`);
      assert.is(s.uid, 0, `${path} owner`);
      assert.ok(readFileSync(full, 'utf8').includes(`fake ${content}`), `${path} holds ${readFileSync(full, 'utf8')}`);
    }
    for (const path of [BIN.containerd, BIN.ctr]) assert.is((statSync(join(run.root, path)).mode & 0o777).toString(8), '755', path);
    assert.equal(readdirSync(join(run.root, BIN.cniDir)).sort(), ['bandwidth', 'bridge', 'host-local', 'loopback', 'portmap'], 'executables only, no LICENSE');
    assert.not.ok(existsSync(join(run.root, 'usr/local/bin/kubeadm')), 'only what the units use');
    assert.not.ok(existsSync(join(run.root, 'usr/local/bin/containerd-stress')), 'only what the units use');
    assert.equal(readdirSync(join(run.root, 'usr/local/bin')).filter((f) => f.includes('ha-k8s-seed')), [], 'no half-installed file left');
    assert.equal(readdirSync(join(run.root, 'var/tmp')).filter((f) => f.startsWith('ha-k8s-seed')), [], 'work folder removed');

    // The real package step: Debian's packages found installed, no network needed.
    assert.match(run.stderr, /packages nginx libnginx-mod-stream keepalived iptables conntrack: already installed/);
    // Images: containerd started for the pulls, each archive fetched from the mirror and imported into k8s.io.
    const ctrLog = readFileSync(join(run.root, 'root/fake-ctr.log'), 'utf8').split('\n');
    for (const ref of containerImages(cluster)) {
      const archive = readFileSync(imageArchivePath(mirrorDir, ref, MIRROR));
      const imported = ctrLog.some((l, i) =>
        /^-n k8s\.io images import \/var\/tmp\/ha-k8s-seed-install\.\w+\/image\.tar$/.test(l) && ctrLog[i + 1] === sha('sha256', archive));
      assert.ok(imported, `${ref} imported:\n${ctrLog.join('\n')}`);
    }
    assert.is(ctrLog.filter((l) => l.startsWith('-n k8s.io images import ')).length, containerImages(cluster).length);

    // Sysprep, the build's last step, in the same root.
    mkdirSync(join(run.root, 'etc/ssh'), { recursive: true });
    writeFileSync(join(run.root, 'etc/ssh/ssh_host_ed25519_key'), 'secret');
    writeFileSync(join(run.root, 'etc/machine-id'), '0123456789abcdef0123456789abcdef\n');
    writeFileSync(join(run.root, 'var/log/build.log'), 'lines of the build\n');
    mkdirSync(join(run.root, 'var/lib/cloud/instances/x'), { recursive: true });
    const sysprep = renderPacker(cluster).find((f) => f.path === 'packer/scripts/sysprep.sh')!.content as string;
    writeFileSync(join(run.root, 'root/sysprep.sh'), sysprep, { mode: 0o755 });
    const r = spawnSync('unshare', ['--net', 'chroot', run.root, '/usr/bin/env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', '/bin/bash', '/root/sysprep.sh'], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    assert.is(readFileSync(join(run.root, 'etc/machine-id'), 'utf8'), '', 'machine-id emptied');
    assert.not.ok(existsSync(join(run.root, 'etc/ssh/ssh_host_ed25519_key')), 'SSH host keys removed');
    assert.is(statSync(join(run.root, 'var/log/build.log')).size, 0, 'logs truncated');
    assert.equal(readdirSync(join(run.root, 'var/lib/cloud')), [], 'cloud-init state gone');
    assert.ok(existsSync(join(run.root, BIN.kubelet)), 'the binaries stay');
  } finally {
    await run.cleanup();
  }
});

test('a tampered artifact is refused, named, and nothing at all is installed', async () => {
  const manifest = manifestFromPacker(cluster);
  const etcd = cluster.artifacts.find((a) => a.name === 'etcd')!;
  const target = mirrorPath(mirrorDir, etcd.upstreamUrl);
  const original = readFileSync(target);
  writeFileSync(target, Buffer.concat([original, Buffer.from('tampered')]));
  let run: Run | undefined;
  try {
    run = await install(manifest);
    assert.is.not(run.code, 0);
    assert.match(run.stderr, new RegExp(`install-artifacts: error: etcd ${etcd.version}: sha256 mismatch for ${etcd.url.replace(/\./g, '\\.')}: expected ${etcd.checksum.value}, got [0-9a-f]{64}; refusing to install it`));
    assertNothingInstalled(run.root);
    assert.not.ok(existsSync(join(run.root, 'root/fake-ctr.log')), 'no image step');
  } finally {
    writeFileSync(target, original);
    await run?.cleanup();
  }
});

test('a sha512-pinned Kubernetes tarball is checked with sha512', async () => {
  const server = cluster.artifacts.find((a) => a.name === 'kubernetes-server')!;
  const wrong = { ...cluster, artifacts: cluster.artifacts.map((a) => (a === server ? { ...a, checksum: { algorithm: 'sha512' as const, value: 'f'.repeat(128) } } : a)) };
  const run = await install(manifestFromPacker(wrong));
  try {
    assert.is.not(run.code, 0);
    assert.match(run.stderr, new RegExp(`kubernetes-server ${server.version}: sha512 mismatch .* expected f{128}, got [0-9a-f]{128};`));
    assertNothingInstalled(run.root);
  } finally {
    await run.cleanup();
  }
});

test('an unreachable mirror fails with a message naming the artifact and the URL', async () => {
  const run = await install(manifestFromPacker(cluster), { serve: false });
  try {
    assert.is.not(run.code, 0);
    const first = cluster.artifacts[0]!;
    assert.match(run.stderr, new RegExp(`install-artifacts: error: ${first.name} ${first.version}: download of ${first.url.replace(/\./g, '\\.')} failed: curl: \\(7\\) Failed to connect to 127\\.0\\.0\\.1 port ${PORT}`));
    assertNothingInstalled(run.root);
  } finally {
    await run.cleanup();
  }
});

test('a missing distribution package makes the real apt step run, and fail clearly without a network', async () => {
  const run = await install(manifestFromPacker(cluster), {
    prepare: (root) => {
      const r = spawnSync('chroot', [root, 'dpkg', '--remove', 'keepalived'], { encoding: 'utf8' });
      assert.is(r.status, 0, r.stderr);
    },
  });
  try {
    assert.is.not(run.code, 0);
    assert.match(run.stderr, /packages keepalived: installing/);
    assert.match(run.stderr, /install-artifacts: error: packages keepalived: apt-get (update|install) failed/);
    assert.ok(existsSync(join(run.root, BIN.kubelet)), 'binaries were installed before the package step');
  } finally {
    await run.cleanup();
  }
});

test('a manifest naming an artifact the script cannot place is refused before any download', async () => {
  const artifact = { name: 'kubernetes-server', version: 'v1', format: 'tar.gz', algorithm: 'sha512', checksum: 'abc', url: 'http://127.0.0.1:1/x' } as const;
  const run = await install(manifestText({ artifacts: [artifact], images: [], packages: [] }), { serve: false });
  try {
    assert.is.not(run.code, 0);
    assert.match(run.stderr, /manifest line 1: kubernetes-server: not a sha512: abc/);
  } finally {
    await run.cleanup();
  }
});

test.after(() => rmSync(work, { recursive: true, force: true }));

test.run();
