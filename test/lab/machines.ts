/**
 * The boot lab's machinery: a network namespace with a bridge and no route
 * out, and one systemd-nspawn container per host booting an overlay of the
 * cached lab root with the host's NoCloud seed taken out of its cidata.iso.
 *
 * Everything runs as root. The lab process itself runs inside the namespace
 * (run.ts re-executes itself under `nsenter --net`), so every address it
 * reaches is a lab host or the bridge.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync, copyFileSync, realpathSync, unlinkSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { installStandins } from '../standins/install.ts';
import { BIN } from '../../generator/model/paths.ts';
import { must as mustSucceed, run, type Ran } from '../lib/run.ts';

// Every command of the lab is bounded (a minute unless told): a hung guest must not hang the lab.
export const sh = (cmd: string, args: string[], timeoutSeconds = 60, input?: string): Ran => run(cmd, args, { timeoutSeconds, input });
export const must = (cmd: string, args: string[], timeoutSeconds = 60): string => mustSucceed(cmd, args, { timeoutSeconds });

// ---------------------------------------------------------------------------
// the namespace (created and removed by the outer process, run.ts)

export function createNetns(name: string, bridge: string, bridgeCidr: string): void {
  must('ip', ['netns', 'add', name]);
  must('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  must('ip', ['-n', name, 'link', 'add', bridge, 'type', 'bridge']);
  must('ip', ['-n', name, 'addr', 'add', bridgeCidr, 'dev', bridge]);
  must('ip', ['-n', name, 'link', 'set', bridge, 'up']);
  // No default route: only the bridge's subnet is reachable from inside.
}
export function deleteNetns(name: string): void {
  sh('ip', ['netns', 'del', name]);
}

// ---------------------------------------------------------------------------
// one host

export interface HostPrep {
  name: string;
  /** The host's generated cidata.iso. */
  iso: string;
  kubernetesVersion: string;
  containerdVersion: string;
  /** A real kubectl binary to place at BIN.kubectl (the bootstrap applies add-ons with it). */
  kubectl?: string;
  /** The MAC the host's network-config matches (model: network.macAddress). */
  mac: string;
  /** The host's address with its prefix length, for the lab's own networkd file. */
  address: string;
}

/** The seed files inside a cidata ISO, read the way a hypervisor's guest would (Rock Ridge names). */
export function seedFromIso(iso: string): Record<string, Buffer> {
  const names = must('isoinfo', ['-R', '-f', '-i', iso]).split('\n').map((l) => l.trim().replace(/^\//, '')).filter(Boolean);
  const files: Record<string, Buffer> = {};
  for (const n of names) {
    const r = spawnSync('isoinfo', ['-R', '-x', `/${n}`, '-i', iso], { maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`isoinfo -x /${n} ${iso}: ${r.stderr}`);
    files[n] = r.stdout;
  }
  for (const need of ['meta-data', 'user-data']) if (!files[need]) throw new Error(`${iso} has no ${need} (has: ${names.join(', ')})`);
  return files;
}

/**
 * Makes a root tree hold what the project's golden image carries at the paths
 * of BIN: the stand-ins, Debian's etcd (3.4) at the etcd paths, a real kubectl;
 * without the unit Debian's etcd package enables, and with no machine-id yet.
 */
export async function asGoldenImage(tree: string, p: Omit<HostPrep, 'name' | 'iso' | 'mac' | 'address'>): Promise<void> {
  await installStandins(tree, { version: p.kubernetesVersion, containerd: p.containerdVersion });
  for (const [bin, from] of [[BIN.etcd, '/usr/bin/etcd'], [BIN.etcdctl, '/usr/bin/etcdctl']] as const) {
    mkdirSync(dirname(join(tree, bin)), { recursive: true });
    if (!existsSync(join(tree, bin))) symlinkSync(from, join(tree, bin));
  }
  if (p.kubectl) copyFileSync(p.kubectl, join(tree, BIN.kubectl));
  // Debian's etcd-server package enables its own etcd.service (a default
  // member on localhost); a golden image carries the binary only.
  const debianEtcd = join(tree, 'etc/systemd/system/multi-user.target.wants/etcd.service');
  if (existsSync(debianEtcd)) unlinkSync(debianEtcd);
  // Each machine its own machine-id (an empty file: systemd makes one at boot).
  writeFileSync(join(tree, 'etc/machine-id'), '');
  writeFileSync(join(tree, 'etc/hostname'), 'localhost\n');
}

export class Machine {
  readonly dir: string;
  readonly merged: string;
  private child?: ChildProcess;
  nspawnPid?: number;
  initPid?: number;
  bootedAt = 0;
  exited = false;

  constructor(readonly name: string, work: string, private readonly root: string, private readonly bridge: string, private readonly pidDir: string) {
    this.dir = join(work, 'hosts', name);
    this.merged = join(this.dir, 'merged');
  }

  /**
   * The host's NIC as a hypervisor gives it: systemd-nspawn's --network-bridge
   * makes the veth (host0 inside) but picks its MAC itself, so a unit of the
   * lab's, ordered before cloud-init and networkd, sets host0 to the host's
   * MAC, where network-config finds it. (Moving a veth of the lab's own in
   * with --network-interface needs udev to have seen it, and no udev runs in
   * the lab's namespace.) The lab adds this unit and its symlink, and
   * networkd's address file below: a veth has no permanent MAC, so
   * netplan's MAC match cannot find it, and the address the seed's
   * network-config gives is given again here. The libvirt boot is where
   * network-config's own MAC matching is proven.
   */
  private writeNicUnit(m: string, mac: string, address: string): void {
    const unit = 'ha-k8s-seed-lab-nic.service';
    writeFileSync(join(m, 'etc/systemd/system', unit), [
      '# boot lab only: the MAC a hypervisor would give this VM\'s NIC',
      '[Unit]',
      'Description=boot lab: host0 gets the host\'s MAC, as from a hypervisor',
      'DefaultDependencies=no',
      'Before=cloud-init-local.service systemd-networkd.service network-pre.target',
      'Wants=network-pre.target',
      '',
      '[Service]',
      'Type=oneshot',
      `ExecStart=ip link set dev host0 address ${mac}`,
      '',
    ].join('\n'));
    const wants = join(m, 'etc/systemd/system/sysinit.target.wants');
    mkdirSync(wants, { recursive: true });
    symlinkSync(`/etc/systemd/system/${unit}`, join(wants, unit));
    // netplan matches `macaddress` as PermanentMACAddress=, which a veth does not
    // have (a VM's virtio NIC does: the libvirt boot shows the seed's network-config
    // matching it). So in the lab networkd gets host0's address from a file of the
    // lab's, ahead of netplan's; the rest of network-config is applied as written.
    const network = join(m, 'etc/systemd/network');
    mkdirSync(network, { recursive: true });
    writeFileSync(join(network, '05-ha-k8s-seed-lab-host0.network'), [
      '# boot lab only: a veth has no permanent MAC for netplan\'s match to find',
      '[Match]',
      'Name=host0',
      '',
      '[Network]',
      `Address=${address}`,
      'LinkLocalAddressing=no',
      '',
    ].join('\n'));
  }

  /** Overlay of the cached root, seed, stand-ins and the binaries' paths of the golden image. */
  async prepare(p: HostPrep): Promise<void> {
    for (const d of ['upper', 'work', 'merged']) mkdirSync(join(this.dir, d), { recursive: true });
    must('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${this.root},upperdir=${join(this.dir, 'upper')},workdir=${join(this.dir, 'work')}`, this.merged]);
    const m = this.merged;
    // The NoCloud seed, byte for byte as the ISO holds it.
    const seedDir = join(m, 'var/lib/cloud/seed/nocloud');
    mkdirSync(seedDir, { recursive: true });
    for (const [name, data] of Object.entries(seedFromIso(p.iso))) writeFileSync(join(seedDir, name), data, { mode: 0o600 });
    await asGoldenImage(m, p);
    this.writeNicUnit(m, p.mac, p.address);
    // A container mounts no file system of its own (the golden image's fstab names its disk).
    writeFileSync(join(m, 'etc/fstab'), '# boot lab: a container has no disks of its own\n');
    // A container may set only its own network namespace's sysctls; the
    // distribution's kernel-wide defaults (pid_max, protected links) belong to
    // the host, so they are overridden by empty files of the same names, as
    // sysctl.d(5) lets /etc override /usr/lib. A VM applies them as usual.
    for (const f of ['50-pid-max.conf', '99-protect-links.conf']) {
      if (existsSync(join(m, 'usr/lib/sysctl.d', f))) writeFileSync(join(m, 'etc/sysctl.d', f), '# boot lab: kernel-wide, not a container\'s to set\n');
    }
  }

  /** Boots the container (systemd-nspawn --boot) on the lab bridge. */
  boot(): void {
    const log = openSync(join(this.dir, 'console.log'), 'a');
    this.child = spawn('systemd-nspawn', [
      '--quiet', '--boot', '--register=no', '--keep-unit', `--directory=${this.merged}`, `--machine=${this.name}`,
      `--network-bridge=${this.bridge}`, '--console=read-only', '--timezone=off', '--resolv-conf=off', '--link-journal=no',
    ], { stdio: ['ignore', log, log], detached: false });
    this.nspawnPid = this.child.pid;
    this.initPid = undefined;
    this.exited = false;
    this.bootedAt = Date.now();
    writeFileSync(join(this.pidDir, this.name), String(this.child.pid));
    this.child.on('exit', () => { this.exited = true; });
  }

  /** The container's PID 1 (systemd), found under the nspawn process. */
  init(): number | undefined {
    if (this.initPid && existsSync(`/proc/${this.initPid}`)) return this.initPid;
    if (!this.nspawnPid) return undefined;
    const children = (pid: number): number[] => {
      try { return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number); } catch { return []; }
    };
    const queue = children(this.nspawnPid);
    while (queue.length) {
      const pid = queue.shift()!;
      let comm = '';
      try { comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { continue; }
      if (comm === 'systemd') return (this.initPid = pid);
      queue.push(...children(pid));
    }
    return undefined;
  }

  /** Runs a command inside the container (all its namespaces). */
  exec(args: string[], timeoutSeconds = 60, input?: string): Ran {
    const pid = this.init();
    if (!pid) return { status: null, signal: null, stdout: '', stderr: `${this.name} is not running`, out: `${this.name} is not running` };
    return sh('nsenter', ['-t', String(pid), '-a', '/usr/bin/env', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'LANG=C.UTF-8', ...args], timeoutSeconds, input);
  }

  /** Orderly power-off (SIGTERM to nspawn: the container's systemd shuts down). */
  async powerOff(seconds = 20): Promise<void> {
    if (!this.child || this.exited) return;
    this.child.kill('SIGTERM');
    const end = Date.now() + seconds * 1000;
    while (!this.exited && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
    if (!this.exited) this.pullPlug();
    while (!this.exited) await new Promise((r) => setTimeout(r, 100));
  }

  /** Hard power-off: SIGKILL to the container's PID 1 ends its whole PID namespace. */
  pullPlug(): void {
    const pid = this.init();
    if (pid) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    if (this.child && !this.exited) this.child.kill('SIGKILL');
  }

  unmount(): void {
    sh('umount', ['-l', this.merged]);
  }

  /**
   * A fresh disk from the golden image, for a powered-off host: the overlay
   * unmounted and its upper layer (everything the host wrote) dropped, so the
   * next prepare() starts from the root again. `keep` paths (absolute, in the
   * guest) are carried over onto the new disk, as a disk of their own would be.
   */
  async freshDisk(next: HostPrep, keep: readonly string[] = []): Promise<void> {
    if (!this.exited) throw new Error(`${this.name}: power it off before replacing its disk`);
    const kept = join(this.dir, 'kept');
    rmSync(kept, { recursive: true, force: true });
    for (const path of keep) {
      mkdirSync(dirname(join(kept, path)), { recursive: true });
      if (existsSync(join(this.merged, path))) must('cp', ['-a', join(this.merged, path), join(kept, path)]);
    }
    this.unmount();
    for (const d of ['upper', 'work']) rmSync(join(this.dir, d), { recursive: true, force: true });
    await this.prepare(next);
    for (const path of keep) {
      if (!existsSync(join(kept, path))) continue;
      rmSync(join(this.merged, path), { recursive: true, force: true });
      must('cp', ['-a', join(kept, path), join(this.merged, path)]);
    }
  }
}

/** Kills whatever nspawn processes a run left behind (by the pids it recorded). */
export function killRecorded(pidDir: string): void {
  if (!existsSync(pidDir)) return;
  for (const f of readdirSync(pidDir)) {
    const pid = Number(readFileSync(join(pidDir, f), 'utf8'));
    // only if it still is systemd-nspawn (the pid may have been reused)
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('systemd-nspawn')) continue;
      process.kill(pid, 'SIGKILL');
    } catch { /* gone */ }
  }
}

/** A real kubectl: the newest static build on this machine, or the one on PATH. */
export function findKubectl(): string | undefined {
  const sdk = '/usr/lib/google-cloud-sdk/bin';
  if (existsSync(sdk)) {
    const versioned = readdirSync(sdk).filter((f) => /^kubectl\.\d+\.\d+$/.test(f))
      .sort((a, b) => Number(a.split('.')[2]) - Number(b.split('.')[2]));
    if (versioned.length) return join(sdk, versioned.at(-1)!);
  }
  const onPath = sh('sh', ['-c', 'command -v kubectl']).stdout.trim();
  return onPath ? realpathSync(onPath) : undefined;
}

/** Unmounts (lazily, deepest first) whatever is still mounted under `dir`. */
export function unmountUnder(dir: string): void {
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '')
    .map((m) => m.replace(/\\040/g, ' ')).filter((m) => m === dir || m.startsWith(`${dir}/`));
  for (const m of mounts.sort().reverse()) sh('umount', ['-l', m]);
}

export function removeTree(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
