/**
 * The generated etcd units started for real, for the tests that need a TLS
 * etcd quorum: Debian's etcd runs each member with exactly the rendered
 * ExecStart arguments and the certificates the host's user-data delivers,
 * each member in a network namespace of its own holding its address, the
 * members joined by a bridge in a hub namespace (where etcdctl runs), with
 * no route out. A member's own address is then the source of its
 * connections, as on a VM: etcd checks a peer's certificate against it.
 *
 * Substituted, and only these: the certificate folder and --data-dir point
 * into the work folder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Cluster, Host } from '../../generator/model/types.ts';
import { hasRole } from '../../generator/model/types.ts';
import type { PkiBundle } from '../../generator/pki/types.ts';
import { HOST_PKI } from '../../generator/pki/types.ts';
import { renderCloudConfig, type WriteFile } from '../../generator/render/cloud-config.ts';
import { ON_HOST } from '../../generator/pki/on-host.ts';
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

/**
 * SIGTERM, then SIGKILL after 10 s: a member whose peers are gone can sit in
 * its graceful shutdown (leadership transfer, raft stop) for good, and one
 * child left running keeps the test process, and npm test, alive.
 */
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (!child.kill('SIGTERM')) return;
  const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited.finally(() => clearTimeout(killer));
}

export class EtcdLab {
  readonly netns = `hks-etcd-${process.pid}`;
  readonly members: EtcdMemberFiles[];
  private readonly children = new Map<string, ChildProcess>();
  /** The last lines each member's etcd wrote, by host name. */
  readonly logs = new Map<string, string>();

  /** Renders every etcd member of `cluster` and writes its certificates under `work`; starts nothing yet. */
  constructor(readonly cluster: Cluster, bundle: PkiBundle, readonly work: string) {
    this.members = cluster.hosts.filter((h) => hasRole(h, 'etcd')).map((host) => {
      const { files } = renderCloudConfig(cluster, host, bundle);
      const pkiDir = join(work, host.name, 'pki');
      const local = (hostPath: string) => hostPath.replaceAll(HOST_PKI.dir, pkiDir);
      for (const f of files.filter((x) => x.path.startsWith(`${HOST_PKI.dir}/`))) {
        mkdirSync(dirname(local(f.path)), { recursive: true });
        writeFileSync(local(f.path), f.content, { mode: parseInt(f.permissions, 8) });
      }
      const dataDir = join(work, host.name, 'data');
      const unit = files.find((f) => f.path === '/etc/systemd/system/etcd.service')!.content;
      const args = execStart(unit).args.map((a) => local(a).replace(/^--data-dir=.*/, `--data-dir=${dataDir}`));
      return { host, files, pkiDir, dataDir, args, local };
    });
  }

  /** A member's own namespace, by host name (labs of one cluster rendered twice share the hub). */
  private memberNetns(member: EtcdMemberFiles): string {
    return `${this.netns}-${member.host.name}`;
  }

  /**
   * The hub namespace with its bridge and an address of the members' subnet
   * for etcdctl, and one namespace per member plugged into it.
   */
  createNamespace(): void {
    const prefix = this.members[0]!.host.address.split('.').slice(0, 3).join('.');
    const taken = new Set(this.cluster.hosts.map((h) => h.address));
    const hub = [254, 253, 252].map((o) => `${prefix}.${o}`).find((a) => !taken.has(a))!;
    must('ip', ['netns', 'add', this.netns]);
    must('ip', ['-n', this.netns, 'link', 'add', 'br0', 'type', 'bridge']);
    must('ip', ['-n', this.netns, 'addr', 'add', `${hub}/24`, 'dev', 'br0']);
    for (const l of ['lo', 'br0']) must('ip', ['-n', this.netns, 'link', 'set', l, 'up']);
    for (const m of this.members) this.plugIn(m);
  }

  /** A namespace for one member, on the hub's bridge (createNamespace() plugs in the lab's own). */
  plugIn(member: EtcdMemberFiles): void {
    const ns = this.memberNetns(member);
    const port = `v-${member.host.name}`.slice(0, 15);
    must('ip', ['netns', 'add', ns]);
    must('ip', ['-n', this.netns, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    must('ip', ['-n', this.netns, 'link', 'set', port, 'master', 'br0', 'up']);
    must('ip', ['-n', ns, 'addr', 'add', `${member.host.address}/24`, 'dev', 'eth0']);
    for (const l of ['lo', 'eth0']) must('ip', ['-n', ns, 'link', 'set', l, 'up']);
  }

  /** Runs a command in the hub namespace, which reaches every member. */
  inNamespace(command: string, args: string[]) {
    return run('ip', ['netns', 'exec', this.netns, command, ...args]);
  }

  start(member: EtcdMemberFiles): void {
    const child = spawn('ip', ['netns', 'exec', this.memberNetns(member), 'etcd', ...member.args], { stdio: ['ignore', 'ignore', 'pipe'] });
    const name = member.host.name;
    this.logs.set(name, '');
    child.stderr!.on('data', (d: Buffer) => { this.logs.set(name, (this.logs.get(name)! + d.toString()).slice(-8000)); });
    child.on('exit', (code, signal) => { if (code) console.error(`${name} etcd exited ${code ?? signal}:\n${this.logs.get(name)!.slice(-2000)}`); });
    this.children.set(member.host.name, child);
  }

  startAll(): void { for (const m of this.members) this.start(m); }

  /** Stops one member and waits until it has exited. */
  async stop(member: EtcdMemberFiles): Promise<void> {
    const child = this.children.get(member.host.name);
    if (child) await stopProcess(child);
    this.children.delete(member.host.name);
  }

  /** Stops every member and waits until each has exited. */
  async stopAll(): Promise<void> {
    await Promise.all([...this.children.values()].map(stopProcess));
    this.children.clear();
  }

  /** etcdctl from inside the namespace, with the health-check client certificate of the first member unless told otherwise. */
  etcdctl(args: string[], options: { endpoints?: string; withCert?: boolean } = {}) {
    const m = this.members[0]!;
    const endpoints = options.endpoints ?? this.members.map((x) => x.host.address).map((a) => `https://${a}:2379`).join(',');
    const cert = options.withCert === false ? [] : [`--cert=${m.local(ON_HOST.etcdHealthcheckClient.cert.path)}`, `--key=${m.local(ON_HOST.etcdHealthcheckClient.key.path)}`];
    return this.inNamespace('etcdctl', [`--endpoints=${endpoints}`, `--cacert=${m.local(ON_HOST.etcdCa.cert.path)}`, ...cert,
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
    for (const m of this.members) run('ip', ['netns', 'del', this.memberNetns(m)]);
    run('ip', ['netns', 'del', this.netns]);
  }
}
