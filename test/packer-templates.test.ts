/**
 * The rendered Packer templates: Debian's packer (1.6.6) validates every
 * source and finds them formatted, an independent HCL parser reads every
 * file, the variables carry exactly the model's pinned artifacts, and Packer's
 * own evaluation of the manifest equals the generated manifest.txt.
 *
 * Packer runs inside `unshare -n` (no network at all): `packer validate`
 * downloads "file:" checksum files, so the tests give base_image_checksum=none
 * instead of the distributions' checksum files. plugins.pkr.hcl is left out of
 * the validated folder because Packer 1.6 does not know `required_plugins`
 * (that is why it is a file of its own); it is still formatted and parsed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { BIN } from '../generator/model/paths.ts';
import type { Cluster } from '../generator/model/types.ts';
import type { OutputFile } from '../generator/output/tree.ts';
import { INSTALLED_FILES, containerImages, imageArchiveUrl, installScript, renderPacker } from '../generator/render/packer.ts';
import { clusterFromText, loadCluster } from '../generator/spec/validate.ts';
import { BASE_SPEC } from './lib/spec-fixtures.ts';

const work = mkdtempSync(join(tmpdir(), 'ha-k8s-seed-packer-'));
const SOURCES = ['qemu.kvm', 'proxmox-clone.proxmox', 'vsphere-clone.vsphere'];
/** What an operator gives on the command line; none of it comes from the spec. */
const PLATFORM_VARS = ['-var', 'base_image_checksum=none', '-var', 'proxmox_password=test-password', '-var', 'vsphere_password=test-password'];

function writeFiles(dir: string, files: OutputFile[], skip: (path: string) => boolean = () => false): void {
  for (const f of files) {
    if (skip(f.path)) continue;
    const path = join(dir, f.path.replace(/^packer\//, ''));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.content, { mode: f.mode });
  }
}

function packer(dir: string, args: string[], input?: string) {
  const r = spawnSync('unshare', ['-n', 'packer', ...args], { cwd: dir, encoding: 'utf8', input, env: { ...process.env, CHECKPOINT_DISABLE: '1', PACKER_CACHE_DIR: join(work, 'cache') } });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

/** The cluster's packer folder as Packer 1.6 takes it: without plugins.pkr.hcl. */
function renderedDir(name: string, cluster: Cluster): string {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  writeFiles(dir, renderPacker(cluster), (p) => p === 'packer/plugins.pkr.hcl');
  return dir;
}

const specs = ['cluster.yaml', ...readdirSync('examples').map((f) => `examples/${f}`)];

for (const spec of specs) {
  test(`${spec}: packer validate accepts every source`, async () => {
    const cluster = await loadCluster(spec);
    const dir = renderedDir(spec.replace(/\W/g, '-'), cluster);
    for (const source of SOURCES) {
      const r = packer(dir, ['validate', `-only=${source}`, ...PLATFORM_VARS, '.']);
      assert.is(r.code, 0, `${source}:\n${r.out}`);
    }
  });
}

test('packer validate refuses a source whose platform settings are missing', async () => {
  const dir = renderedDir('missing-password', await loadCluster('cluster.yaml'));
  const r = packer(dir, ['validate', '-only=proxmox-clone.proxmox', '-var', 'base_image_checksum=none', '.']);
  assert.is.not(r.code, 0);
  assert.match(r.out, /password must be specified/);
});

test('every base distribution and architecture has a base image the qemu source accepts', async () => {
  const dir = renderedDir('bases', await loadCluster('cluster.yaml'));
  const variables = readFileSync(join(dir, 'variables.pkr.hcl'), 'utf8');
  for (const os of ['ubuntu-24.04', 'debian-12', 'rocky-9', 'alma-9']) {
    for (const arch of ['amd64', 'arm64']) {
      assert.ok(variables.includes(`"${os}-${arch}" = {`), `${os}-${arch} missing from local.bases`);
      const r = packer(dir, ['validate', '-only=qemu.kvm', ...PLATFORM_VARS, '-var', `os=${os}`, '-var', `arch=${arch}`, '.']);
      assert.is(r.code, 0, `${os}-${arch}:\n${r.out}`);
    }
  }
  const r = packer(dir, ['validate', '-only=qemu.kvm', ...PLATFORM_VARS, '-var', 'os=gentoo', '.']);
  assert.is.not(r.code, 0, 'an unknown distribution must not validate');
});

test('packer fmt -check: every rendered .hcl file is formatted, the plugins file too', async () => {
  const dir = join(work, 'fmt');
  writeFiles(dir, renderPacker(await loadCluster('cluster.yaml')));
  const hcl = readdirSync(dir).filter((f) => f.endsWith('.hcl'));
  assert.equal(hcl.sort(), ['build.pkr.hcl', 'demo.auto.pkrvars.hcl', 'plugins.pkr.hcl', 'sources.pkr.hcl', 'variables.pkr.hcl']);
  for (const f of hcl) {
    const r = packer(dir, ['fmt', '-check', f]);
    assert.is(r.code, 0, `${f} is not formatted:\n${r.out}`);
  }
  // And the check can fail: a misaligned file is reported.
  writeFileSync(join(dir, 'bad.pkrvars.hcl'), 'a = 1\nlonger = 2\n');
  assert.is.not(packer(dir, ['fmt', '-check', 'bad.pkrvars.hcl']).code, 0);
});

test('an HCL parser reads every file; the variables are the model\'s pinned artifacts', async () => {
  const cluster = await loadCluster('cluster.yaml');
  const files = renderPacker(cluster).filter((f) => f.path.endsWith('.hcl'));
  const parsed: Record<string, any> = {};
  for (const f of files) parsed[f.path] = await parse(f.path, String(f.content));

  const vars = parsed['packer/demo.auto.pkrvars.hcl'];
  assert.is(vars.cluster_name, 'demo');
  assert.is(vars.kubernetes_version, cluster.kubernetes.version);
  assert.is(vars.os, cluster.image.os);
  assert.equal(vars.artifacts, cluster.artifacts.map((a) => ({
    name: a.name, version: a.version, format: a.format, algorithm: a.checksum.algorithm, checksum: a.checksum.value, url: a.url,
  })));
  assert.equal(vars.artifacts.map((a: any) => [a.name, a.algorithm]), [
    ['kubernetes-server', 'sha512'], ['kubernetes-node', 'sha512'], ['etcd', 'sha256'], ['containerd', 'sha256'],
    ['runc', 'sha256'], ['cni-plugins', 'sha256'], ['crictl', 'sha256'],
  ]);
  assert.equal(vars.images.map((i: any) => i.ref), containerImages(cluster));
  assert.equal(vars.images.slice(0, 2).map((i: any) => i.ref), [cluster.images.pause, cluster.images.coredns]);
  assert.equal(vars.packages, ['nginx', 'nginx-stream', 'keepalived', 'iptables', 'conntrack']);

  const plugins = parsed['packer/plugins.pkr.hcl'].packer[0].required_plugins[0];
  assert.equal(Object.keys(plugins).sort(), ['proxmox', 'qemu', 'vsphere']);
  assert.is(plugins.qemu.source, 'github.com/hashicorp/qemu');
  const sources = parsed['packer/sources.pkr.hcl'].source;
  assert.equal(Object.keys(sources).sort(), ['proxmox-clone', 'qemu', 'vsphere-clone']);
  assert.is(sources.qemu.kvm[0].cd_label, 'cidata');
  assert.equal(parsed['packer/build.pkr.hcl'].build[0].sources, SOURCES.map((s) => `source.${s}`));
  for (const f of files.filter((f) => f.path !== 'packer/plugins.pkr.hcl')) {
    assert.not.ok('packer' in parsed[f.path], `${f.path}: the packer {} block belongs in plugins.pkr.hcl only`);
  }
});

test("Packer's own evaluation of local.manifest is the generated manifest.txt", async () => {
  const cluster = clusterFromText(BASE_SPEC.replace('hosts:', 'image: { os: rocky-9, mirror: "http://mirror.example/base/" }\nhosts:'));
  const dir = renderedDir('console', cluster);
  const r = packer(dir, ['console', '.'], 'local.manifest\n');
  assert.is(r.code, 0, r.out);
  assert.is(r.out, readFileSync(join(dir, 'manifest.txt'), 'utf8'));
  assert.match(r.out, /^artifact etcd \S+ tar\.gz sha256 [0-9a-f]{64} http:\/\/mirror\.example\/base\/github\.com\/etcd-io\/etcd\/releases\/download\//m);
  assert.match(r.out, /^image registry\.k8s\.io\/pause:\S+ http:\/\/mirror\.example\/base\/images\/registry\.k8s\.io\/pause\/\S+\.tar$/m);
});

test('without a mirror, images are pulled; with one, imported from <mirror>/images/', async () => {
  const plain = installScript(await loadCluster('cluster.yaml')).manifest;
  assert.match(plain, /^image registry\.k8s\.io\/coredns\/coredns:v[\d.]+ -$/m);
  assert.is(imageArchiveUrl('registry.k8s.io/coredns/coredns:v1.14.2', 'http://m/x/'), 'http://m/x/images/registry.k8s.io/coredns/coredns/v1.14.2.tar');
  assert.is(imageArchiveUrl('docker.io/flannel/flannel@sha256:ab', 'http://m'), 'http://m/images/docker.io/flannel/flannel/sha256/ab.tar');
});

test('the download mode gets what each role needs, from the same script', async () => {
  const cluster = await loadCluster('cluster.yaml');
  const kinds = (roles: Parameters<typeof installScript>[1]) =>
    installScript(cluster, roles).manifest.trim().split('\n').map((l) => l.split(' ').slice(0, 2).join(' '));
  assert.equal(kinds(['etcd']), ['artifact etcd']);
  assert.equal(kinds(['load-balancer']), ['package nginx', 'package nginx-stream', 'package keepalived']);
  assert.equal(kinds(['worker']), [
    'artifact kubernetes-node', 'artifact containerd', 'artifact runc', 'artifact cni-plugins', 'artifact crictl',
    ...containerImages(cluster).map((ref) => `image ${ref}`),
    'package iptables', 'package conntrack',
  ]);
  const { script } = installScript(cluster, ['worker']);
  assert.is(script, renderPacker(cluster).find((f) => f.path === 'packer/scripts/install-artifacts.sh')?.content);
  assert.ok(script.startsWith('#!/usr/bin/env bash\n'));
  assert.is(spawnSync('bash', ['-n'], { input: script }).status, 0, 'the script is valid bash');
});

test('every image the model lists is pre-pulled, however the model nests it (the CNI\'s)', async () => {
  const cluster = await loadCluster('cluster.yaml');
  const extra = { ...cluster, images: { ...cluster.images, extra: { daemon: 'ghcr.io/x/daemon:v1', plugins: ['ghcr.io/x/plugin:v2', cluster.images.pause] } } };
  const images = installScript(extra as unknown as Cluster).manifest.split('\n').filter((l) => l.startsWith('image '));
  assert.equal(images.slice(0, 2), [`image ${cluster.images.pause} -`, `image ${cluster.images.coredns} -`]);
  assert.equal(images.slice(-2), ['image ghcr.io/x/daemon:v1 -', 'image ghcr.io/x/plugin:v2 -']);
  assert.is(images.length, containerImages(cluster).length + 2, 'each image once');
});

test('rendering is deterministic and modes are right', async () => {
  const a = renderPacker(await loadCluster('cluster.yaml'));
  const b = renderPacker(await loadCluster('cluster.yaml'));
  assert.equal(a, b);
  for (const f of a) assert.is(f.mode, f.path.endsWith('.sh') ? 0o755 : 0o644, f.path);
});

test('README: "What the golden image holds" lists every installed path', () => {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.split('### What the golden image holds')[1]?.split('\n### ')[0] ?? '';
  assert.ok(section, 'README lacks the section');
  for (const f of INSTALLED_FILES) assert.ok(section.includes(`\`${f.path}\``), `README lacks ${f.path}`);
  for (const path of Object.values(BIN)) assert.ok(section.includes(`\`${path}`), `README lacks ${path}`);
});

test.after(() => rmSync(work, { recursive: true, force: true }));

test.run();
