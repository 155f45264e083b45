/**
 * The generated etcd units, started for real: Debian's etcd (3.4, so the
 * model is pinned to it and the units carry the pre-3.6 flags) runs the three
 * members of cluster.yaml with exactly the rendered ExecStart arguments and
 * the certificates the hosts' user-data delivers, inside a network namespace
 * holding the three member addresses. They must form a quorum over TLS, and
 * refuse a client without a certificate.
 *
 * Substituted, and only these: the certificate folder and --data-dir point
 * into a temporary folder, and the loopback listeners (client 127.0.0.1:2379,
 * metrics 127.0.0.1:2381) get a port per member: three members share one
 * namespace here, not three machines.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { hasRole } from '../generator/model/types.ts';
import { renderCloudConfig } from '../generator/render/cloud-config.ts';
import { PKI } from '../generator/render/host-paths.ts';
import { HOST_PKI } from '../generator/pki/types.ts';
import { exampleSeeds } from './lib/seeds.ts';

const NETNS = `hks-etcd-${process.pid}`;
const children: ChildProcess[] = [];
let work: string;

const debianEtcd = /etcd Version: (\S+)/.exec(spawnSync('etcd', ['--version'], { encoding: 'utf8' }).stdout)![1]!;

function sh(command: string, args: string[]) {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

test.after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  sh('ip', ['netns', 'del', NETNS]);
  if (work) rmSync(work, { recursive: true, force: true });
});

test(`three members from the rendered units (etcd ${debianEtcd}) form a TLS quorum with client and peer certificate auth`, async () => {
  const ex = (await exampleSeeds()).find((e) => e.spec === 'cluster.yaml')!;
  const cluster = { ...ex.cluster, etcd: { ...ex.cluster.etcd, version: debianEtcd } };
  const members = cluster.hosts.filter((h) => hasRole(h, 'etcd'));
  assert.is(members.length, 3);
  work = mkdtempSync(join(tmpdir(), 'ha-k8s-seed-etcd-'));

  assert.is(sh('ip', ['netns', 'add', NETNS]).status, 0);
  const inNs = (...args: string[]) => sh('ip', ['-n', NETNS, ...args]);
  assert.is(inNs('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0').status, 0);
  for (const m of members) assert.is(inNs('addr', 'add', `${m.address}/24`, 'dev', 'eth0').status, 0);
  for (const l of ['lo', 'eth0', 'peer0']) assert.is(inNs('link', 'set', l, 'up').status, 0);

  let clientDir = '';
  members.forEach((host, i) => {
    const { files } = renderCloudConfig(cluster, host, ex.bundle);
    const pkiDir = join(work, host.name, 'pki');
    for (const f of files.filter((x) => x.path.startsWith(`${HOST_PKI.dir}/`))) {
      const path = join(pkiDir, f.path.slice(HOST_PKI.dir.length));
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, f.content, { mode: parseInt(f.permissions, 8) });
    }
    if (i === 0) clientDir = pkiDir;
    const unit = files.find((f) => f.path === '/etc/systemd/system/etcd.service')!.content;
    const execLine = unit.replace(/ \\\n\s*/g, ' ').split('\n').find((l) => l.startsWith('ExecStart='))!;
    const args = execLine.split(' ').slice(1).map((a) => a
      .replaceAll(HOST_PKI.dir, pkiDir)
      .replace(/^--data-dir=.*/, `--data-dir=${join(work, host.name, 'data')}`)
      .replace(/^--listen-metrics-urls=http:\/\/127\.0\.0\.1:2381$/, `--listen-metrics-urls=http://127.0.0.1:${2381 + 10 * i}`)
      .replace(/^(--listen-client-urls=.*),https:\/\/127\.0\.0\.1:2379$/, `$1,https://127.0.0.1:${2379 + 10 * i}`));
    assert.ok(args.includes('--experimental-initial-corrupt-check=true'), 'pre-3.6 flags for etcd 3.4');
    const child = spawn('ip', ['netns', 'exec', NETNS, 'etcd', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
    child.on('exit', (code) => { if (code) console.error(`${host.name} etcd exited ${code}:\n${log.slice(-2000)}`); });
    children.push(child);
  });

  const endpoints = members.map((m) => `https://${m.address}:2379`).join(',');
  const etcdctl = (...extra: string[]) => sh('ip', ['netns', 'exec', NETNS, 'etcdctl', `--endpoints=${endpoints}`,
    `--cacert=${PKI.etcdCa.replace(HOST_PKI.dir, clientDir)}`, ...extra, '--dial-timeout=2s', '--command-timeout=3s', 'endpoint', 'health']);
  const withCert = [`--cert=${PKI.etcdHealthcheckCert.replace(HOST_PKI.dir, clientDir)}`, `--key=${PKI.etcdHealthcheckKey.replace(HOST_PKI.dir, clientDir)}`];
  let health = etcdctl(...withCert);
  for (let i = 0; i < 40 && health.status !== 0; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    health = etcdctl(...withCert);
  }
  assert.is(health.status, 0, health.out);
  assert.is(health.out.split('\n').filter((l) => l.includes('is healthy')).length, 3, health.out);
  const members3 = sh('ip', ['netns', 'exec', NETNS, 'etcdctl', `--endpoints=https://${members[0]!.address}:2379`,
    `--cacert=${PKI.etcdCa.replace(HOST_PKI.dir, clientDir)}`, ...withCert, 'member', 'list']);
  for (const m of members) assert.ok(members3.out.includes(`, ${m.name}, https://${m.address}:2380`), members3.out);
  assert.is.not(etcdctl().status, 0, 'a client without a certificate is refused');
});

test.run();
