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
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { BIN } from '../generator/model/paths.ts';
import type { Cluster } from '../generator/model/types.ts';
import { manifestText, parseManifest } from '../generator/install/manifest.ts';
import type { Artifact } from '../generator/model/types.ts';
import { INSTALLED_FILES, containerImages, imageArchiveUrl, installPlan } from '../generator/install/plan.ts';
import { installScript } from '../generator/install/script.ts';
import { renderPacker } from '../generator/render/packer.ts';
import { hclString } from '../generator/render/templates.ts';
import { clusterFromText, loadCluster } from '../generator/input/validate.ts';
import { BASE_SPEC } from './lib/spec-fixtures.ts';
import { packer, packerConsole, writePackerFolder } from './lib/packer.ts';
import { EXAMPLE_SPECS } from './lib/seeds.ts';

const work = mkdtempSync(join(tmpdir(), 'ha-k8s-seed-packer-'));
const SOURCES = ['qemu.kvm', 'proxmox-clone.proxmox', 'vsphere-clone.vsphere'];
/** A build's key pair and seed, as build.sh makes them (validate reads the private key). */
const buildKey = join(work, 'build_key');
spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', buildKey]);
const buildSeed = join(work, 'seed');
mkdirSync(buildSeed);
for (const f of ['meta-data', 'user-data']) writeFileSync(join(buildSeed, f), readFileSync(`packer/cidata/${f}`));
/** What an operator (or build.sh) gives on the command line; none of it comes from the spec. */
const PLATFORM_VARS = [
  '-var', 'base_image_checksum=none', '-var', 'proxmox_password=test-password', '-var', 'vsphere_password=test-password',
  '-var', `build_seed_dir=${buildSeed}`, '-var', `build_ssh_private_key_file=${buildKey}`, '-var', `proxmox_ssh_private_key_file=${buildKey}`,
];

/** The cluster's packer folder as Packer 1.6 takes it (without plugins.pkr.hcl), in a folder of the test's. */
const renderedDir = (name: string, cluster: Cluster): string => writePackerFolder(join(work, name), cluster);

for (const spec of EXAMPLE_SPECS) {
  test(`${spec}: packer validate accepts every source`, async () => {
    const cluster = await loadCluster(spec);
    const dir = renderedDir(spec.replace(/\W/g, '-'), cluster);
    for (const source of SOURCES) {
      const r = packer(dir, ['validate', `-only=${source}`, ...PLATFORM_VARS, '.']);
      assert.is(r.status, 0, `${source}:\n${r.out}`);
    }
  });
}

/** What the manifest and Packer's variables say of an artifact, spelled out here rather than taken from the code under test. */
const recordOf = (a: Artifact) => ({ name: a.name, version: a.version, format: a.format, algorithm: a.checksum.algorithm, checksum: a.checksum.value, url: a.url });

test('packer validate passes when the output folder of an earlier build exists: every build writes a new one', async () => {
  const dir = renderedDir('rebuild', await loadCluster('cluster.yaml'));
  const name = 'ha-k8s-seed-demo-v1.36.3-ubuntu-24.04-amd64';
  const evaluate = (expression: string) => packerConsole(dir, expression, PLATFORM_VARS).out;
  assert.is(evaluate('local.image_name'), name);
  const buildTime = evaluate('local.build_time');
  assert.match(buildTime!, /^\d{8}T\d{6}Z$/);
  mkdirSync(join(dir, 'images', name), { recursive: true });
  mkdirSync(join(dir, 'images', `${name}-20260101T000000Z`), { recursive: true });
  const r = packer(dir, ['validate', '-only=qemu.kvm', ...PLATFORM_VARS, '.']);
  assert.is(r.status, 0, r.out);
});

test('the build VM is reachable from this machine only, with no password: SSH and VNC on 127.0.0.1, a key per build', async () => {
  const dir = renderedDir('exposure', await loadCluster('cluster.yaml'));
  const evaluate = (expression: string, vars: string[] = []) => packerConsole(dir, expression, [...PLATFORM_VARS, ...vars]).out;
  assert.is(evaluate('local.qemu_netdev', ['-var', 'qemu_net_options=,restrict=on']), 'user,id=user.0,hostfwd=tcp:127.0.0.1:{{ .SSHHostPort }}-:22,restrict=on');
  assert.is(evaluate('local.machine_type'), 'pc');
  assert.is(evaluate('local.machine_type', ['-var', 'arch=arm64']), 'virt');
  assert.is(evaluate('local.machine_type', ['-var', 'machine_type=q35']), 'q35');
  const sources = (await parse('sources.pkr.hcl', readFileSync(join(dir, 'sources.pkr.hcl'), 'utf8'))).source;
  const kvm = sources.qemu.kvm[0];
  assert.is(kvm.vnc_bind_address, '127.0.0.1');
  assert.is(kvm.ssh_host, '127.0.0.1');
  assert.equal(kvm.qemuargs, '${concat([["-netdev", local.qemu_netdev]], var.qemu_extra_args)}');
  for (const [type, source] of [['qemu', kvm], ['proxmox-clone', sources['proxmox-clone'].proxmox[0]], ['vsphere-clone', sources['vsphere-clone'].vsphere[0]]]) {
    assert.not.ok('ssh_password' in source, `${type}: no password`);
    assert.ok(String(source.ssh_private_key_file).startsWith('${var.'), `${type}: a key from a variable`);
    assert.is(source.ssh_timeout, '${var.ssh_timeout}', `${type}: ssh_timeout`);
  }
  assert.is(sources['vsphere-clone'].vsphere[0].remove_cdrom, true, 'the build seed does not stay in the vSphere template');
  const userData = readFileSync(join(dir, 'cidata/user-data'), 'utf8');
  assert.not.match(userData, /plain_text_passwd|hashed_passwd|^\s*passwd:/m);
  assert.match(userData, /lock_passwd: true/);
});

test('build.sh: a fresh key pair per build, its public half in a seed cloud-init accepts, gone once the build ends', async () => {
  const dir = renderedDir('build-sh', await loadCluster('cluster.yaml'));
  // A `packer` that records what build.sh hands it (the real build runs in npm run test:image).
  const bin = join(work, 'fake-bin');
  mkdirSync(bin, { recursive: true });
  const record = join(work, 'packer-call');
  writeFileSync(join(bin, 'packer'), `#!/bin/sh\nif [ "$1" = version ]; then echo "Packer v1.6.6"; exit 0; fi\n` +
    `mkdir -p ${record}; printf '%s\\n' "$@" > ${record}/args; for a in "$@"; do case "$a" in build_seed_dir=*) cp -r "\${a#build_seed_dir=}" ${record}/seed;; build_ssh_private_key_file=*) cp "\${a#build_ssh_private_key_file=}.pub" ${record}/key.pub; echo "\${a#build_ssh_private_key_file=}" > ${record}/key-path;; esac; done; ls "$(eval echo \\$$#)" > ${record}/folder\n`, { mode: 0o755 });
  const keys: string[] = [];
  for (let i = 0; i < 2; i++) {
    rmSync(record, { recursive: true, force: true });
    const r = spawnSync('bash', [join(dir, 'build.sh'), '-only=qemu.kvm'], { encoding: 'utf8', env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    assert.is(r.status, 0, r.stderr);
    const args = readFileSync(join(record, 'args'), 'utf8').trim().split('\n');
    assert.equal(args.slice(0, 1), ['build']);
    assert.ok(args.includes('-only=qemu.kvm'));
    const key = readFileSync(join(record, 'key.pub'), 'utf8').trim();
    const userData = readFileSync(join(record, 'seed/user-data'), 'utf8');
    assert.ok(userData.includes(`- "${key}"`), userData);
    assert.not.ok(existsSync(readFileSync(join(record, 'key-path'), 'utf8').trim()), 'the private key is removed when the build ends');
    // Packer 1.6 builds the folder without plugins.pkr.hcl (and without build.sh).
    assert.not.match(readFileSync(join(record, 'folder'), 'utf8'), /plugins\.pkr\.hcl|build\.sh/);
    assert.match(readFileSync(join(record, 'folder'), 'utf8'), /sources\.pkr\.hcl/);
    const schema = spawnSync('cloud-init', ['schema', '--config-file', join(record, 'seed/user-data')], { encoding: 'utf8' });
    assert.is(schema.status, 0, `${schema.stdout}${schema.stderr}`);
    assert.not.match(`${schema.stdout}${schema.stderr}`, /deprecat|warn/i);
    keys.push(key);
  }
  assert.is.not(keys[0], keys[1], 'each build its own key');
});

test('no HCL template sequence hides in the shell commands: every %{ and ${ of a command is meant for HCL', () => {
  // Packer reads "%{" in a string as the start of a template directive; a shell
  // command that needs one literally must write "%%{" (and "$${" for "${").
  for (const file of ['build.pkr.hcl', 'sources.pkr.hcl', 'variables.pkr.hcl']) {
    const text = readFileSync(join('packer', file), 'utf8');
    assert.not.match(text.replace(/%%\{/g, ''), /%\{/, `${file}: a bare %{`);
    const references = [...text.replace(/\$\$\{/g, '').matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]!);
    // variables, locals, path.root, and the manifest's for-expression variables (a, i, p)
    for (const r of references) assert.match(r, /^(var|local|path|a|i)\.|^p$/, `${file}: \${${r}} is not an HCL reference`);
  }
});

test('packer validate refuses a source whose platform settings are missing', async () => {
  const dir = renderedDir('missing-password', await loadCluster('cluster.yaml'));
  const withoutProxmox = PLATFORM_VARS.filter((v, i, all) => !/^proxmox_/.test(v) && !/^proxmox_/.test(all[i + 1] ?? ''));
  const r = packer(dir, ['validate', '-only=proxmox-clone.proxmox', ...withoutProxmox, '.']);
  assert.is.not(r.status, 0);
  assert.match(r.out, /password must be specified/);
});

test('every base distribution and architecture has a base image the qemu source accepts', async () => {
  const dir = renderedDir('bases', await loadCluster('cluster.yaml'));
  const variables = readFileSync(join(dir, 'variables.pkr.hcl'), 'utf8');
  for (const os of ['ubuntu-24.04', 'debian-12', 'rocky-9', 'alma-9']) {
    for (const arch of ['amd64', 'arm64']) {
      assert.ok(variables.includes(`"${os}-${arch}" = {`), `${os}-${arch} missing from local.bases`);
      const r = packer(dir, ['validate', '-only=qemu.kvm', ...PLATFORM_VARS, '-var', `os=${os}`, '-var', `arch=${arch}`, '.']);
      assert.is(r.status, 0, `${os}-${arch}:\n${r.out}`);
    }
  }
  const r = packer(dir, ['validate', '-only=qemu.kvm', ...PLATFORM_VARS, '-var', 'os=gentoo', '.']);
  assert.is.not(r.status, 0, 'an unknown distribution must not validate');
});

test('packer fmt -check: every rendered .hcl file is formatted, the plugins file too', async () => {
  const dir = writePackerFolder(join(work, 'fmt'), await loadCluster('cluster.yaml'), { plugins: true });
  const hcl = readdirSync(dir).filter((f) => f.endsWith('.hcl'));
  assert.equal(hcl.sort(), ['build.pkr.hcl', 'demo.auto.pkrvars.hcl', 'plugins.pkr.hcl', 'sources.pkr.hcl', 'variables.pkr.hcl']);
  for (const f of hcl) {
    const r = packer(dir, ['fmt', '-check', f]);
    assert.is(r.status, 0, `${f} is not formatted:\n${r.out}`);
  }
  // And the check can fail: a misaligned file is reported.
  writeFileSync(join(dir, 'bad.pkrvars.hcl'), 'a = 1\nlonger = 2\n');
  assert.is.not(packer(dir, ['fmt', '-check', 'bad.pkrvars.hcl']).status, 0);
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
  assert.equal(vars.artifacts, cluster.artifacts.map(recordOf));
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
  const r = packerConsole(dir, 'local.manifest');
  assert.is(r.status, 0, r.out);
  assert.is(r.stdout, readFileSync(join(dir, 'manifest.txt'), 'utf8'));
  assert.is(r.stderr, '');
  const manifest = parseManifest(r.stdout);
  const etcd = manifest.artifacts.find((a) => a.name === 'etcd')!;
  assert.is(etcd.format, 'tar.gz');
  assert.is(etcd.algorithm, 'sha256');
  assert.match(etcd.checksum, /^[0-9a-f]{64}$/);
  assert.match(etcd.url, /^http:\/\/mirror\.example\/base\/github\.com\/etcd-io\/etcd\/releases\/download\//);
  const pause = manifest.images.find((i) => i.ref === cluster.images.pause)!;
  assert.match(pause.ref, /^registry\.k8s\.io\/pause:\S+$/);
  assert.match(pause.archive_url, /^http:\/\/mirror\.example\/base\/images\/registry\.k8s\.io\/pause\/\S+\.tar$/);
});

test('the manifest reads back as it was written; a field the script would split or cut is refused', async () => {
  for (const mirror of ['', 'image: { mirror: "http://mirror.example:8080/k8s/" }\n']) {
    const plan = installPlan(clusterFromText(BASE_SPEC.replace('hosts:', `${mirror}hosts:`)));
    assert.equal(parseManifest(manifestText(plan)), plan);
  }
  const artifact = recordOf((await loadCluster('cluster.yaml')).artifacts[0]!);
  for (const bad of ['two words', 'a#comment', "it's", 'a"b', 'back\\slash', 'tab\there', '']) {
    assert.throws(() => manifestText({ artifacts: [{ ...artifact, url: bad }], images: [], packages: [] }), /install manifest: unsafe characters/, JSON.stringify(bad));
  }
  assert.throws(() => parseManifest('artifact etcd 3.6.14 tar.gz sha256 abc\n'), /line 1: a artifact has 6 fields, not 5/);
  assert.throws(() => parseManifest('package nginx\nbinary x\n'), /line 2: unknown record binary/);
});

test('without a mirror, images are pulled; with one, imported from <mirror>/images/', async () => {
  const cluster = await loadCluster('cluster.yaml');
  const plain = parseManifest(installScript(cluster).manifest);
  assert.equal(plain.images, containerImages(cluster).map((ref) => ({ ref, archive_url: '' })));
  // The mirror as an operator may write it, with a trailing slash.
  const mirrored = clusterFromText(BASE_SPEC.replace('hosts:', 'kubernetes: { version: v1.36.3 }\nimage: { mirror: "http://m/x/" }\nhosts:'));
  const coredns = parseManifest(installScript(mirrored).manifest).images.find((i) => i.ref === 'registry.k8s.io/coredns/coredns:v1.14.2');
  assert.is(coredns?.archive_url, 'http://m/x/images/registry.k8s.io/coredns/coredns/v1.14.2.tar');
  assert.is(imageArchiveUrl('docker.io/flannel/flannel@sha256:ab', 'http://m'), 'http://m/images/docker.io/flannel/flannel/sha256/ab.tar');
});

test('the download mode gets what each role needs, from the same script', async () => {
  const cluster = await loadCluster('cluster.yaml');
  const artifacts = (...names: string[]) => names.map((n) => recordOf(cluster.artifacts.find((a) => a.name === n)!));
  const images = containerImages(cluster).map((ref) => ({ ref, archive_url: '' }));
  const manifest = (roles: Parameters<typeof installScript>[1]) => parseManifest(installScript(cluster, roles).manifest);
  assert.equal(manifest(['etcd']), { artifacts: artifacts('etcd'), images: [], packages: [] });
  assert.equal(manifest(['load-balancer']), { artifacts: [], images: [], packages: ['nginx', 'nginx-stream', 'keepalived'] });
  assert.equal(manifest(['worker']), {
    artifacts: artifacts('kubernetes-node', 'containerd', 'runc', 'cni-plugins', 'crictl'), images, packages: ['iptables', 'conntrack'],
  });
  assert.equal(manifest(['etcd', 'load-balancer']), { artifacts: artifacts('etcd'), images: [], packages: ['nginx', 'nginx-stream', 'keepalived'] });
  const { script } = installScript(cluster, ['worker']);
  assert.is(script, renderPacker(cluster).find((f) => f.path === 'packer/scripts/install-artifacts.sh')?.content);
  assert.ok(script.startsWith('#!/usr/bin/env bash\n'));
  assert.is(spawnSync('bash', ['-n'], { input: script }).status, 0, 'the script is valid bash');
});

test('every image the model lists is pre-pulled, however the model nests it (the CNI\'s)', async () => {
  const cluster = await loadCluster('cluster.yaml');
  const extra = { ...cluster, images: { ...cluster.images, extra: { daemon: 'ghcr.io/x/daemon:v1', plugins: ['ghcr.io/x/plugin:v2', cluster.images.pause] } } };
  const images = parseManifest(installScript(extra as unknown as Cluster).manifest).images.map((i) => i.ref);
  assert.equal(images.slice(0, 2), [cluster.images.pause, cluster.images.coredns]);
  assert.equal(images.slice(-2), ['ghcr.io/x/daemon:v1', 'ghcr.io/x/plugin:v2']);
  assert.is(images.length, containerImages(cluster).length + 2, 'each image once');
});

test('the HCL helper quotes any string so that Packer reads back exactly that string', () => {
  const values = [
    'plain', 'say "hi"', 'back\\slash', 'line\nbreak\r\ttab', 'bell\u0007 escape\u001b del\u007f', 'form\ffeed back\bspace',
    '${var.secret}', '%{ if true }x%{ endif }', '$${already}', '$$${x}', '%%{x}', 'a$b%c{d}', 'ünïcødé ✓ \u2028', '',
  ];
  const dir = join(work, 'hcl-strings');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'variables.pkr.hcl'), 'variable "values" {\n  type = list(string)\n}\n');
  writeFileSync(join(dir, 'values.auto.pkrvars.hcl'), `values = [\n${values.map((v) => `  ${hclString(v)},\n`).join('')}]\n`);
  const r = packerConsole(dir, 'jsonencode(var.values)');
  assert.is(r.status, 0, r.out);
  assert.equal(JSON.parse(r.stdout), values);
});

test('rendering is deterministic and modes are right', async () => {
  const a = renderPacker(await loadCluster('cluster.yaml'));
  const b = renderPacker(await loadCluster('cluster.yaml'));
  assert.equal(a, b);
  for (const f of a) assert.is(f.mode, f.path.endsWith('.sh') ? 0o755 : 0o644, f.path);
});

test('README: "What the golden image holds" lists every installed path, no other, each with the release file it comes from; all root\'s, 0755', async () => {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.split('### What the golden image holds')[1]?.split('\n### ')[0] ?? '';
  assert.ok(section, 'README lacks the section');
  // Table rows: the paths of the first cell, the release file the second names first.
  const rows = section.split('\n').filter((l) => l.startsWith('| `/')).map((l) => {
    const [paths, from] = l.split(' | ');
    return { paths: [...paths!.matchAll(/`(\/[^`]*)`/g)].map((m) => m[1]!), from: /`([^`]+)`/.exec(from!)?.[1] };
  });
  const cluster = await loadCluster('cluster.yaml');
  // A release file as the README spells it: the version and architecture as placeholders.
  const spelled = (name: string) => {
    const a = cluster.artifacts.find((x) => x.name === name)!;
    return a.fileName.replaceAll(a.version.replace(/^v/, ''), '<version>').replaceAll(cluster.image.arch, '<arch>');
  };
  for (const f of INSTALLED_FILES) {
    const row = rows.find((r) => r.paths.includes(f.path));
    assert.ok(row, `README lacks ${f.path}`);
    // kubectl is in both Kubernetes tarballs: the row names one of them.
    const sources = INSTALLED_FILES.filter((g) => g.path === f.path).map((g) => spelled(g.artifact));
    assert.ok(sources.includes(row!.from!), `README: ${f.path} from ${row!.from}, installed from ${sources.join(' or ')}`);
    assert.is(f.mode, 0o755, f.path);
  }
  const installed = new Set(INSTALLED_FILES.map((f) => f.path));
  assert.equal(rows.flatMap((r) => r.paths).filter((p) => !installed.has(p)), [], 'README lists paths nothing installs');
  for (const path of Object.values(BIN)) assert.ok(section.includes(`\`${path}`), `README lacks ${path}`);
});

test.after(() => rmSync(work, { recursive: true, force: true }));

test.run();
