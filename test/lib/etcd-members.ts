/**
 * The generated etcd units started for real, for the tests that need a TLS
 * etcd quorum: Debian's etcd runs each member with exactly the rendered
 * ExecStart arguments and the certificates the host's user-data delivers,
 * inside a network namespace holding the member addresses.
 *
 * Substituted, and only these: the certificate folder and --data-dir point
 * into the work folder, and the loopback listeners (client 127.0.0.1:2379,
 * metrics 127.0.0.1:2381) get a port per member: the members share one
 * namespace here, not one machine each.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Cluster, Host } from '../../generator/model/types.ts';
import { hasRole } from '../../generator/model/types.ts';
import type { PkiBundle } from '../../generator/pki/types.ts';
import { HOST_PKI } from '../../generator/pki/types.ts';
import { renderCloudConfig, type WriteFile } from '../../generator/render/cloud-config.ts';
import { PKI } from '../../generator/render/host-paths.ts';
import { execStart } from './exec-start.ts';
import { must, run } from './run.ts';

export const debianEtcdVersion = /etcd Version: (\S+)/.exec(must('etcd', ['--version']))![1]!;

export interface EtcdMemberFiles {
  host: Host;
  /** Everything the host's user-data writes, as rendered. */
  files: WriteFile[];
  /** Where this member's /etc/kubernetes/pki landed. */
  pkiDir: string;
  dataDir: string;
  /** The rendered ExecStart arguments, with the substitutions above. */
  args: string[];
  /** Every /etc/kubernetes/pki path in a text, as it lies in pkiDir. */
  local: (hostPath: string) => string;
}

export class EtcdLab {
  readonly netns = `hks-etcd-${process.pid}`;
  readonly members: EtcdMemberFiles[];
  private readonly children = new Map<string, ChildProcess>();

  /** Renders every etcd member of `cluster` and writes its certificates under `work`; starts nothing yet. */
  constructor(readonly cluster: Cluster, bundle: PkiBundle, readonly work: string) {
    this.members = cluster.hosts.filter((h) => hasRole(h, 'etcd')).map((host, i) => {
      const { files } = renderCloudConfig(cluster, host, bundle);
      const pkiDir = join(work, host.name, 'pki');
      const local = (hostPath: string) => hostPath.replaceAll(HOST_PKI.dir, pkiDir);
      for (const f of files.filter((x) => x.path.startsWith(`${HOST_PKI.dir}/`))) {
        mkdirSync(dirname(local(f.path)), { recursive: true });
        writeFileSync(local(f.path), f.content, { mode: parseInt(f.permissions, 8) });
      }
      const dataDir = join(work, host.name, 'data');
      const unit = files.find((f) => f.path === '/etc/systemd/system/etcd.service')!.content;
      const args = execStart(unit).args.map((a) => local(a)
        .replace(/^--data-dir=.*/, `--data-dir=${dataDir}`)
        .replace(/^--listen-metrics-urls=http:\/\/127\.0\.0\.1:2381$/, `--listen-metrics-urls=http://127.0.0.1:${2381 + 10 * i}`)
        .replace(/^(--listen-client-urls=.*),https:\/\/127\.0\.0\.1:2379$/, `$1,https://127.0.0.1:${2379 + 10 * i}`));
      return { host, files, pkiDir, dataDir, args, local };
    });
  }

  /** The namespace with one veth holding every member's address. */
  createNamespace(): void {
    must('ip', ['netns', 'add', this.netns]);
    must('ip', ['-n', this.netns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0']);
    for (const m of this.members) must('ip', ['-n', this.netns, 'addr', 'add', `${m.host.address}/24`, 'dev', 'eth0']);
    for (const l of ['lo', 'eth0', 'peer0']) must('ip', ['-n', this.netns, 'link', 'set', l, 'up']);
  }

  /** Runs a command inside the namespace. */
  inNamespace(command: string, args: string[]) {
    return run('ip', ['netns', 'exec', this.netns, command, ...args]);
  }

  start(member: EtcdMemberFiles): void {
    const child = spawn('ip', ['netns', 'exec', this.netns, 'etcd', ...member.args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    child.stderr!.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-4000); });
    child.on('exit', (code, signal) => { if (code) console.error(`${member.host.name} etcd exited ${code ?? signal}:\n${log.slice(-2000)}`); });
    this.children.set(member.host.name, child);
  }

  startAll(): void { for (const m of this.members) this.start(m); }

  /** Stops every member and waits until each has exited. */
  async stopAll(): Promise<void> {
    const exits = [...this.children.values()].filter((c) => c.exitCode === null && c.signalCode === null)
      .map((c) => new Promise<void>((resolve) => { c.once('exit', () => resolve()); c.kill('SIGTERM'); }));
    await Promise.all(exits);
    this.children.clear();
  }

  /** etcdctl from inside the namespace, with the health-check client certificate of the first member unless told otherwise. */
  etcdctl(args: string[], options: { endpoints?: string; withCert?: boolean } = {}) {
    const m = this.members[0]!;
    const endpoints = options.endpoints ?? this.members.map((x) => x.host.address).map((a) => `https://${a}:2379`).join(',');
    const cert = options.withCert === false ? [] : [`--cert=${m.local(PKI.etcdHealthcheckCert)}`, `--key=${m.local(PKI.etcdHealthcheckKey)}`];
    return this.inNamespace('etcdctl', [`--endpoints=${endpoints}`, `--cacert=${m.local(PKI.etcdCa)}`, ...cert,
      '--dial-timeout=2s', '--command-timeout=5s', ...args]);
  }

  /** Waits until every member answers healthy over TLS (up to 40 s); returns the last answer. */
  async waitHealthy() {
    let health = this.etcdctl(['endpoint', 'health']);
    for (let i = 0; i < 40 && health.status !== 0; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      health = this.etcdctl(['endpoint', 'health']);
    }
    return health;
  }

  async teardown(): Promise<void> {
    await this.stopAll();
    run('ip', ['netns', 'del', this.netns]);
  }
}
