/**
 * The smoke boot under a hypervisor (npm run test:e2e -- --qemu): one lab
 * host boots in qemu-system-x86_64 with software emulation (TCG), its disk
 * made from the cached lab root plus a kernel, and its generated cidata.iso
 * attached as a second disk, read by cloud-init as a hypervisor's guest does
 * (a block device labelled `cidata`), not copied into the disk.
 *
 * With --image (the qcow2 `npm run test:image` built with Packer), the VM
 * boots the golden image itself instead, through a copy-on-write disk of its
 * own, and its binaries are the image's: nothing is added to it.
 *
 * The VM's one NIC (with the host's MAC, which its network-config matches)
 * is on qemu's user network with restrict=on: nothing leaves it, so a first boot that tried
 * to download would fail. The host defaults to etcd3, whose bootstrap (start
 * etcd without waiting for it) completes alone; the others need their peers,
 * which the container lab boots.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { load } from 'js-yaml';
import { BIN } from '../../generator/model/paths.ts';
import type { Cluster } from '../../generator/model/types.ts';
import { asGoldenImage, findKubectl, must, sh } from './machines.ts';
import { ext4DiskOfRoot, kernelOf } from '../image/base-image.ts';


/** A golden image built by test:image: the qcow2, and the kernel and initramfs kept beside it (<qcow2>.vmlinuz, <qcow2>.initrd.img). */
export interface GoldenImage { qcow2: string; kernel: string; initrd: string }
export const goldenImage = (qcow2: string): GoldenImage => ({ qcow2, kernel: `${qcow2}.vmlinuz`, initrd: `${qcow2}.initrd.img` });

/** The kernel command line of a smoke boot: the root by label, the console on the first serial port. */
export const KERNEL_CMDLINE = 'root=LABEL=root rw console=ttyS0 systemd.mask=systemd-networkd-wait-online.service';

export async function qemuSmoke(o: { work: string; root: string; repo: string; spec: string; host: string; timeoutSeconds: number; image?: GoldenImage }): Promise<{ passed: number; failed: number }> {
  const results: [string, boolean, string][] = [];
  const record = (check: string, ok: boolean, figure: string) => {
    results.push([check, ok, figure]);
    console.log(`qemu: ${ok ? 'ok  ' : 'FAIL'} ${check} — ${figure}`);
  };
  const out = join(o.work, 'out');
  must(process.execPath, ['--import', 'tsx', join(o.repo, 'generator/cli.ts'), 'generate', o.spec, '--out', out, '--state', join(o.work, 'state'), '--quiet'], 180);
  const clusterDir = join(out, (load(readFileSync(o.spec, 'utf8')) as { name: string }).name);
  const model = JSON.parse(readFileSync(join(clusterDir, 'model.json'), 'utf8')) as Cluster;
  const host = model.hosts.find((h) => h.name === o.host);
  if (!host) throw new Error(`--qemu-host: no host ${o.host} in ${o.spec}`);
  const mac = host.network.macAddress;
  const iso = join(clusterDir, 'hosts', o.host, 'cidata.iso');

  const disk = o.image ? goldenImageDisk(o.image, o.work) : await rootDisk(o.root, o.work, model);
  const { kernel, initrd } = o.image ?? kernelOf(o.root);
  const consoleLog = join(o.work, 'console.log');
  const qmp = join(o.work, 'qmp.sock');
  const started = Date.now();
  const vm = spawn('qemu-system-x86_64', [
    '-machine', 'q35', '-accel', 'tcg', '-cpu', 'max', '-smp', '1', '-m', '1536',
    '-kernel', kernel, '-initrd', initrd,
    // nothing to reach: waiting for the network would only time out
    '-append', KERNEL_CMDLINE,
    '-drive', `file=${disk.path},format=${disk.format},if=virtio`,
    '-drive', `file=${iso},format=raw,if=virtio,readonly=on`,
    // The host's NIC, by the MAC its network-config matches, on a network that
    // reaches nothing: restrict=on isolates the guest from the host and the outside.
    '-netdev', 'user,id=n0,restrict=on', '-device', `virtio-net-pci,netdev=n0,mac=${mac}`,
    '-display', 'none', '-monitor', 'none', '-serial', `file:${consoleLog}`,
    '-qmp', `unix:${qmp},server=on,wait=off`, '-no-reboot',
  ], { stdio: ['ignore', 'inherit', 'inherit'] });
  let exited = false;
  vm.on('exit', () => { exited = true; });
  const kill = () => { if (!exited) vm.kill('SIGKILL'); };
  process.on('exit', kill);
  const onSignal = () => { kill(); process.exit(130); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const { seen, text } = await watchConsole({ consoleLog, host: o.host, started, timeoutSeconds: o.timeoutSeconds, stopped: () => exited });
  const c = text();
  recordFirstBoot({ seen, console: c, started, host: o.host, seedFrom: 'the attached ISO', device: /\/dev\/vd/ }, record);

  // A clean power-off (ACPI, through QMP), then read the markers off the disk.
  if (!exited) {
    await qmpPowerdown(qmp).catch((e) => console.log(`qemu: QMP: ${(e as Error).message}`));
    for (let i = 0; i < 90 && !exited; i++) await sleep(1000);
    kill();
    while (!exited) await sleep(200);
  }
  const raw = disk.format === 'raw' ? disk.path : join(o.work, 'disk-after.raw');
  if (raw !== disk.path) must('qemu-img', ['convert', '-O', 'raw', disk.path, raw], 600);
  recordBootMarkers(raw, 'power-off', record);
  if (o.image) {
    // First boot downloads nothing: no route out at all, and the bootstrap ran no install step.
    const bootstrap = c.split('\n').filter((l) => l.includes('ha-k8s-seed:'));
    const steps = bootstrap.map((l) => l.match(/step (\S+)/)?.[1]).filter(Boolean);
    record('first boot from the golden image downloads nothing: no route out (its NIC on a restrict=on user network), no install step or download in the bootstrap log',
      !/install-binaries|install-artifacts|downloading/.test(c) && steps.length > 0,
      `bootstrap steps: ${steps.join(', ') || 'none seen'}`);
    const etcd = fileOnDisk(raw, BIN.etcd);
    record(`${BIN.etcd} is the image's (installed by Packer from the mirror's etcd tarball)`, etcd.includes('STAND-IN for etcd'), etcd.split('\n')[1] ?? 'missing');
  }
  console.log(`qemu: info the whole boot and power-off took ${((Date.now() - started) / 1000).toFixed(0)} s under qemu-system-x86_64 (TCG, 1 vCPU)`);
  return { passed: results.filter((r) => r[1]).length, failed: results.filter((r) => !r[1]).length };
}

/** What the console shows of a first boot: cloud-init finished with the seed read from `device`, then the bootstrap. */
export function recordFirstBoot(
  o: { seen: Record<string, number>; console: string; started: number; host: string; seedFrom: string; device: RegExp },
  record: (check: string, ok: boolean, figure: string) => void,
): void {
  const at = (k: string) => (o.seen[k] ? `${((o.seen[k]! - o.started) / 1000).toFixed(0)} s` : 'never');
  const datasource = o.console.match(/Datasource (DataSource\S+ \[[^\]]*\])/)?.[1];
  record(`cloud-init finished, reading the seed from ${o.seedFrom}`, !!o.seen['cloud-init finished'] && !!datasource && o.device.test(datasource),
    `after ${at('cloud-init finished')}; ${datasource ?? 'no datasource line on the console'}`);
  record(`bootstrap of ${o.host} finished`, !!o.seen['bootstrap finished'],
    o.seen['bootstrap failed'] ? `FAILED: ${o.console.split('\n').filter((l) => l.includes('ha-k8s-seed')).slice(-4).join(' | ')}` : `after ${at('bootstrap finished')}`);
}

/** A file's text on a raw ext4 disk image (debugfs), empty when it is missing. */
const fileOnDisk = (raw: string, path: string): string => sh('debugfs', ['-R', `cat ${path}`, raw], 60).stdout;

/** What a first boot must leave on its disk, once the VM is off: the bootstrap's done marker, cloud-init's result without errors. */
export function recordBootMarkers(raw: string, after: string, record: (check: string, ok: boolean, figure: string) => void): void {
  const done = fileOnDisk(raw, '/var/lib/ha-k8s-seed/bootstrap.done').trim();
  record(`bootstrap.done on the disk after ${after}`, /^\d{4}-\d\d-\d\dT/.test(done), done || 'missing');
  let errors: string[] | undefined;
  try { errors = JSON.parse(fileOnDisk(raw, '/var/lib/cloud/data/result.json')).v1.errors; } catch { /* below */ }
  record('cloud-init result.json: no errors', !!errors && errors.length === 0, errors ? (errors.join('; ') || 'none') : 'no result.json');
}

interface Disk { path: string; format: 'raw' | 'qcow2' }

/** The host's own copy-on-write disk on the golden image (which stays untouched). */
function goldenImageDisk(image: GoldenImage, work: string): Disk {
  for (const f of [image.qcow2, image.kernel, image.initrd]) if (!existsSync(f)) throw new Error(`--image: ${f} is missing (npm run test:image -- --image ${image.qcow2} makes it)`);
  const path = join(work, 'disk.qcow2');
  must('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', image.qcow2, path]);
  console.log(`qemu: disk: a copy-on-write layer on the golden image ${image.qcow2}`);
  return { path, format: 'qcow2' };
}

/** A qcow2's file system, read-only: a raw copy (sparse), `work`/<name>.raw, loop-mounted on `work`/<name>-root. */
export function mountReadOnly(qcow2: string, work: string, name: string): string {
  const raw = join(work, `${name}.raw`);
  must('qemu-img', ['convert', '-O', 'raw', qcow2, raw], 600);
  const root = join(work, `${name}-root`);
  mkdirSync(root, { recursive: true });
  must('mount', ['-o', 'ro,loop', raw, root]);
  return root;
}

/** The golden image's file system, read-only, for the container lab's overlays. */
export function mountGoldenImage(image: GoldenImage, work: string): string {
  if (!existsSync(image.qcow2)) throw new Error(`--image: ${image.qcow2} is missing (npm run test:image -- --image ${image.qcow2} makes it)`);
  return mountReadOnly(image.qcow2, work, 'golden');
}

/** Without an image: an ext4 disk (raw) of the cached root as the golden image would have it (no seed inside). */
export async function bootDisk(o: { work: string; root: string; model: Cluster }): Promise<string> {
  return (await rootDisk(o.root, o.work, o.model)).path;
}

async function rootDisk(root: string, work: string, model: Cluster): Promise<Disk> {
  const t = Date.now();
  const path = await ext4DiskOfRoot({
    root, work, name: 'disk', sizeGiB: 4,
    prepare: (tree) => asGoldenImage(tree, { kubernetesVersion: model.kubernetes.version, containerdVersion: model.containerd.version, kubectl: findKubectl() }),
  });
  console.log(`qemu: disk image from the root in ${((Date.now() - t) / 1000).toFixed(0)} s`);
  return { path, format: 'raw' };
}

/** Follows a serial console log until the host's bootstrap finished or failed, the VM stopped, or the time is up. */
export async function watchConsole(o: { consoleLog: string; host: string; started: number; timeoutSeconds: number; stopped: () => boolean; prefix?: string }) {
  const text = () => (existsSync(o.consoleLog) ? readFileSync(o.consoleLog, 'utf8') : '');
  const seen: Record<string, number> = {};
  const marks: [string, RegExp][] = [
    ['kernel', /Linux version/], ['systemd', /systemd\[1\]|Welcome to/], ['cloud-init local', /cloud-init-local|Initial cloud-init job/],
    ['cloud-init finished', /Cloud-init v\. \S+ finished/], ['bootstrap finished', new RegExp(`ha-k8s-seed: bootstrap of ${o.host} .* finished`)],
    ['bootstrap failed', new RegExp(`ha-k8s-seed: bootstrap of ${o.host} FAILED`)],
  ];
  const end = o.started + o.timeoutSeconds * 1000;
  while (Date.now() < end && !o.stopped()) {
    const c = text();
    for (const [name, re] of marks) if (!seen[name] && re.test(c)) { seen[name] = Date.now(); console.log(`${o.prefix ?? 'qemu'}: ${name} after ${((Date.now() - o.started) / 1000).toFixed(0)} s`); }
    if (seen['bootstrap finished'] || seen['bootstrap failed']) break;
    await sleep(2000);
  }
  return { seen, text };
}

/** QMP: capabilities, then system_powerdown (the guest's ACPI power button). */
function qmpPowerdown(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    let buf = '';
    let step = 0;
    const timer = setTimeout(() => { s.destroy(); reject(new Error('no answer')); }, 10000);
    s.on('data', (d) => {
      buf += d;
      if (step === 0 && buf.includes('"QMP"')) { step = 1; s.write('{"execute":"qmp_capabilities"}\n'); }
      else if (step === 1 && buf.includes('"return"')) { step = 2; s.write('{"execute":"system_powerdown"}\n'); }
      else if (step === 2 && buf.split('"return"').length > 2) { clearTimeout(timer); s.end(); resolve(); }
    });
    s.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}
