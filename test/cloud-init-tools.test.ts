/**
 * Every host of every example spec, through the real tools (Debian's
 * packages, installed by .ci/run): cloud-init schema, netplan generate,
 * nginx -t, keepalived -t (in a network namespace holding the configured
 * interface), systemd-analyze verify (with stand-in executables), kubectl
 * config view, and isoinfo/blkid on the cidata ISO. Any warning fails.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FILES } from '../generator/roles/paths.ts';
import { exampleSeeds, fileAt, parseWithPyYaml, type ExampleSeeds, type ParsedUserData } from './lib/seeds.ts';
import { run } from './lib/run.ts';

interface HostCase { ex: ExampleSeeds; name: string; roles: readonly string[]; parsed: ParsedUserData; seed: ExampleSeeds['rendered']['seeds'][number] }
let cases: HostCase[];
let work: string;

test.before(async () => {
  const examples = await exampleSeeds();
  work = mkdtempSync(join(tmpdir(), 'ha-k8s-seed-tools-'));
  cases = examples.flatMap((ex) => ex.rendered.seeds.map((seed) => ({
    ex, seed, name: `${ex.cluster.name}/${seed.host}`,
    roles: ex.cluster.hosts.find((h) => h.name === seed.host)!.roles,
    parsed: parseWithPyYaml(seed.userData),
  })));
});
test.after(() => { if (work) rmSync(work, { recursive: true, force: true }); });

function dir(name: string): string {
  const d = join(work, name.replace(/\//g, '_'), String(Math.random()).slice(2, 8));
  mkdirSync(d, { recursive: true });
  return d;
}

test('cloud-init schema: every user-data is valid cloud-config', () => {
  for (const c of cases) {
    const file = join(dir(c.name), 'user-data');
    writeFileSync(file, c.seed.userData);
    const r = run('cloud-init', ['schema', '--config-file', file]);
    assert.is(r.status, 0, `${c.name}: ${r.out}`);
    assert.is(r.out, `Valid cloud-config: ${file}`, c.name);
  }
});

test('netplan generate accepts every network-config (as cloud-init hands it to netplan, under `network:`)', () => {
  for (const c of cases) {
    const root = dir(c.name);
    mkdirSync(join(root, 'etc/netplan'), { recursive: true });
    const body = c.seed.networkConfig.split('\n').map((l) => (l ? `  ${l}` : l)).join('\n');
    writeFileSync(join(root, 'etc/netplan/50-cloud-init.yaml'), `network:\n${body}`, { mode: 0o600 });
    const r = run('netplan', ['generate', '--root-dir', root]);
    assert.is(r.status, 0, `${c.name}: ${r.out}`);
    assert.is(r.out, '', c.name);
    const host = c.ex.cluster.hosts.find((h) => `${c.ex.cluster.name}/${h.name}` === c.name)!;
    const networkd = run('sh', ['-c', `cat ${root}/run/systemd/network/*.network`]).out;
    assert.ok(networkd.includes(`Address=${host.address}/${host.network.prefixLength}`), c.name);
    if (host.network.macAddress) assert.ok(networkd.includes(`MACAddress=${host.network.macAddress}`), `${c.name}: matched by MAC`);
    else assert.ok(networkd.includes(`Name=${host.network.interface}`), c.name);
  }
});

test('nginx -t accepts every load balancer config, with the stream module loaded as the distribution does', () => {
  let checked = 0;
  for (const c of cases.filter((x) => x.roles.includes('load-balancer'))) {
    const prefix = dir(c.name);
    // Debian's prefix layout: <prefix>/modules -> the module folder.
    symlinkSync('/usr/lib/nginx/modules', join(prefix, 'modules'));
    let conf = fileAt(c.parsed, FILES.nginxConf)!.content;
    if (c.ex.cluster.image.os === 'rocky-9' || c.ex.cluster.image.os === 'alma-9') {
      // Expected substitution: Red Hat's module snippet does not exist on this Debian machine; the rest is checked as it is.
      assert.ok(conf.includes('include /usr/share/nginx/modules/mod-stream.conf;'), c.name);
      conf = conf.replace('include /usr/share/nginx/modules/mod-stream.conf;', 'load_module modules/ngx_stream_module.so;');
    }
    writeFileSync(join(prefix, 'nginx.conf'), conf);
    const r = run('nginx', ['-t', '-q', '-p', prefix, '-c', join(prefix, 'nginx.conf')]);
    assert.is(r.status, 0, `${c.name}: ${r.out}`);
    assert.is(r.out, '', `${c.name}: nginx -t -q printed ${r.out}`);
    checked++;
  }
  assert.ok(checked >= 8, `${checked} load balancers`);
});

test('nginx -t fails on a broken config (the check can fail)', () => {
  const prefix = dir('broken-nginx');
  symlinkSync('/usr/lib/nginx/modules', join(prefix, 'modules'));
  const lb = cases.find((x) => x.roles.includes('load-balancer') && x.ex.cluster.image.os !== 'rocky-9')!;
  writeFileSync(join(prefix, 'nginx.conf'), fileAt(lb.parsed, FILES.nginxConf)!.content.replace('load_module modules/ngx_stream_module.so;', ''));
  assert.is.not(run('nginx', ['-t', '-q', '-p', prefix, '-c', join(prefix, 'nginx.conf')]).status, 0);
});

/**
 * keepalived 2.2.7 ends a successful `-t` by sending itself SIGTERM (seen with
 * strace: kill(getpid(), SIGTERM)), so success is "killed by SIGTERM, said
 * nothing"; a config error exits with status 1-5 and prints it.
 */
function keepalivedTest(netns: string, conf: string) {
  return run('ip', ['netns', 'exec', netns, 'keepalived', '-t', '-l', '-f', conf]);
}

test('keepalived -t accepts every load balancer config, in a network namespace with the configured interface', () => {
  const netns = `hks-ka-${process.pid}`;
  for (const c of cases.filter((x) => x.roles.includes('load-balancer'))) {
    const member = c.ex.cluster.loadBalancer!.members.find((m) => `${c.ex.cluster.name}/${m.host}` === c.name)!;
    const d = dir(c.name);
    const conf = join(d, 'keepalived.conf');
    writeFileSync(conf, fileAt(c.parsed, FILES.keepalivedConf)!.content, { mode: 0o600 });
    assert.is(run('ip', ['netns', 'add', netns]).status, 0);
    try {
      const link = run('ip', ['-n', netns, 'link', 'add', member.interface, 'type', 'veth', 'peer', 'name', 'peer0']);
      assert.is(link.status, 0, link.out);
      const ok = keepalivedTest(netns, conf);
      assert.is(ok.signal, 'SIGTERM', `${c.name}: ${ok.status} ${ok.out}`);
      assert.is(ok.out, '', `${c.name}: keepalived said ${ok.out}`);
      // The same config naming an interface the namespace lacks must fail: the check is real.
      writeFileSync(conf, fileAt(c.parsed, FILES.keepalivedConf)!.content.replaceAll(member.interface, 'nosuch0'));
      const bad = keepalivedTest(netns, conf);
      assert.ok(bad.status !== null && bad.status > 0, `${c.name}: keepalived accepted a missing interface`);
    } finally {
      run('ip', ['netns', 'del', netns]);
    }
  }
});

test('systemd-analyze verify: every unit and timer of every host, stand-ins at the Exec paths, no warnings', () => {
  const systemUnits = mkdtempSync(join(work, 'systemd-'));
  cpSync('/usr/lib/systemd/system', join(systemUnits, 'system'), { recursive: true, verbatimSymlinks: true });
  let units = 0;
  let timers = 0;
  for (const c of cases) {
    const root = dir(c.name);
    mkdirSync(join(root, 'usr/lib/systemd'), { recursive: true });
    cpSync(join(systemUnits, 'system'), join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
    const unitFiles = c.parsed.files.filter((f) => f.path.startsWith('/etc/systemd/system/') && /\.(service|timer)$/.test(f.path));
    for (const f of unitFiles) {
      const path = join(root, f.path);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, f.content);
      // Stand-ins: an executable at every Exec path, so verify checks the units and not this machine.
      for (const m of f.content.matchAll(/^Exec\w+=[-@+!]*(\/\S+)/gm)) {
        const exe = join(root, m[1]!);
        mkdirSync(dirname(exe), { recursive: true });
        writeFileSync(exe, '#!/bin/sh\n# stand-in for systemd-analyze verify\nexit 0\n');
        chmodSync(exe, 0o755);
      }
    }
    const r = run('systemd-analyze', ['verify', `--root=${root}`, ...unitFiles.map((f) => join(root, f.path))]);
    assert.is(r.status, 0, `${c.name}: ${r.out}`);
    assert.is(r.out, '', `${c.name}: ${r.out}`);
    units += unitFiles.length;
    timers += unitFiles.filter((f) => f.path.endsWith('.timer')).length;
  }
  assert.ok(units > 60, `${units} units verified`);
  // Every etcd member of every example has the backup timer (etcd.backup is on by default).
  const members = cases.filter((c) => c.roles.includes('etcd')).length;
  assert.is(timers, members, `${timers} timers for ${members} etcd members`);
});

test('containerd config.toml parses as TOML (Python tomllib) with the CRI settings containerd 2.x reads', () => {
  let checked = 0;
  for (const c of cases) {
    const f = fileAt(c.parsed, '/etc/containerd/config.toml');
    if (!f) continue;
    const r = run('python3', ['-c', 'import sys, json, tomllib; print(json.dumps(tomllib.loads(sys.stdin.read())))'], { input: f.content });
    assert.is(r.status, 0, `${c.name}: ${r.out}`);
    const toml = JSON.parse(r.out) as { version: number; plugins: Record<string, any> };
    assert.is(toml.version, 3);
    assert.is(toml.plugins['io.containerd.cri.v1.images'].pinned_images.sandbox, c.ex.cluster.images.pause);
    const runc = toml.plugins['io.containerd.cri.v1.runtime'].containerd.runtimes.runc;
    assert.is(runc.runtime_type, 'io.containerd.runc.v2');
    assert.is(runc.options.SystemdCgroup, true);
    assert.is(runc.options.BinaryName, '/usr/local/sbin/runc');
    assert.equal(toml.plugins['io.containerd.cri.v1.runtime'].cni.bin_dirs, ['/opt/cni/bin']);
    checked++;
  }
  assert.ok(checked > 10, `${checked} containerd configs`);
});

test('the checks can fail: cloud-init schema, systemd-analyze verify and netplan reject broken files', () => {
  const c = cases[0]!;
  const d = dir('broken');
  writeFileSync(join(d, 'user-data'), c.seed.userData.replace('ssh_pwauth: false', 'ssh_pwauth: [not, a, boolean]'));
  assert.is.not(run('cloud-init', ['schema', '--config-file', join(d, 'user-data')]).status, 0, 'schema');
  const root = dir('broken-unit');
  mkdirSync(join(root, 'usr/lib/systemd'), { recursive: true });
  cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
  const unit = join(root, 'etc/systemd/system/kubelet.service');
  mkdirSync(dirname(unit), { recursive: true });
  writeFileSync(unit, fileAt(c.parsed, '/etc/systemd/system/kubelet.service')!.content);
  // No stand-in at the ExecStart path: verify must complain.
  assert.match(run('systemd-analyze', ['verify', `--root=${root}`, unit]).out, /is not executable/);
  mkdirSync(join(root, 'etc/netplan'), { recursive: true });
  writeFileSync(join(root, 'etc/netplan/50-cloud-init.yaml'), 'network:\n  version: 2\n  ethernets:\n    eth0:\n      addresses: [not-an-address]\n', { mode: 0o600 });
  assert.is.not(run('netplan', ['generate', '--root-dir', root]).status, 0, 'netplan');
});

test('kubectl config view --minify loads every kubeconfig and finds the right server', () => {
  let checked = 0;
  for (const c of cases) {
    for (const f of c.parsed.files.filter((x) => x.path.endsWith('.kubeconfig'))) {
      const file = join(dir(c.name), 'kubeconfig');
      writeFileSync(file, f.content, { mode: 0o600 });
      const r = run('kubectl', ['config', 'view', '--minify', '--kubeconfig', file, '-o', 'jsonpath={.clusters[0].cluster.server}']);
      assert.is(r.status, 0, `${c.name} ${f.path}: ${r.out}`);
      const local = `https://127.0.0.1:${c.ex.cluster.kubernetes.apiserverPort}`;
      const expected = [FILES.controllerManagerKubeconfig, FILES.schedulerKubeconfig].includes(f.path as never) ? local : c.ex.cluster.kubernetes.endpoint.url;
      assert.is(r.out, expected, `${c.name} ${f.path}`);
      checked++;
    }
  }
  for (const ex of new Set(cases.map((c) => c.ex))) {
    const admin = ex.rendered.files.find((f) => f.path === 'admin.kubeconfig')!;
    const file = join(dir(ex.cluster.name), 'admin.kubeconfig');
    writeFileSync(file, admin.content, { mode: 0o600 });
    const r = run('kubectl', ['config', 'view', '--minify', '--raw', '--kubeconfig', file, '-o', 'jsonpath={.users[0].user.client-certificate-data}']);
    assert.is(r.status, 0, r.out);
    assert.is(Buffer.from(r.out, 'base64').toString(), ex.bundle.admin.certPem);
  }
  assert.ok(checked > 50, `${checked} kubeconfigs`);
});

test('cidata.iso: label cidata (blkid, isoinfo) and the three files byte for byte', () => {
  for (const c of cases) {
    const iso = join(dir(c.name), 'cidata.iso');
    writeFileSync(iso, c.ex.rendered.files.find((f) => f.path === `hosts/${c.seed.host}/cidata.iso`)!.content);
    assert.is(run('blkid', ['-o', 'value', '-s', 'LABEL', iso]).out, 'cidata', c.name);
    assert.match(run('isoinfo', ['-d', '-i', iso]).out, /^Volume id: cidata$/m);
    const expected: Record<string, string> = { 'user-data': c.seed.userData, 'meta-data': c.seed.metaData, 'network-config': c.seed.networkConfig };
    for (const [name, content] of Object.entries(expected)) {
      const r = spawnSync('isoinfo', ['-R', '-i', iso, '-x', `/${name}`]);
      assert.is(r.status, 0, `${c.name} ${name}`);
      assert.ok(Buffer.compare(r.stdout, Buffer.from(content)) === 0, `${c.name}: ${name} differs in the ISO`);
    }
  }
});

test.run();
