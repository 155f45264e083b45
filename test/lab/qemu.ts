/**
 * The smoke boot under a hypervisor (npm run test:e2e -- --qemu): one lab
 * host boots in qemu-system-x86_64 with software emulation (TCG), its disk
 * made from the cached lab root plus a kernel, and its generated cidata.iso
 * attached as a second disk, read by cloud-init as a hypervisor's guest does
 * (a block device labelled `cidata`), not copied into the disk.
 *
 * The VM has no network card: nothing leaves it. The host defaults to etcd3,
 * whose bootstrap (start etcd without waiting for it) completes alone; the
 * others need their peers, which the container lab boots.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { load } from 'js-yaml';
import type { Cluster } from '../../generator/model/types.ts';
import { asGoldenImage, findKubectl, must, sh } from './machines.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function qemuSmoke(o: { work: string; root: string; repo: string; spec: string; host: string; timeoutSeconds: number }): Promise<{ passed: number; failed: number }> {
  const results: [string, boolean, string][] = [];
  const record = (check: string, ok: boolean, figure: string) => {
    results.push([check, ok, figure]);
    console.log(`qemu: ${ok ? 'ok  ' : 'FAIL'} ${check} — ${figure}`);
  };
  const out = join(o.work, 'out');
  must(process.execPath, ['--import', 'tsx', join(o.repo, 'generator/cli.ts'), 'generate', o.spec, '--out', out, '--quiet'], 180);
  const clusterDir = join(out, (load(readFileSync(o.spec, 'utf8')) as { name: string }).name);
  const model = JSON.parse(readFileSync(join(clusterDir, 'model.json'), 'utf8')) as Cluster;
  if (!model.hosts.some((h) => h.name === o.host)) throw new Error(`--qemu-host: no host ${o.host} in ${o.spec}`);
  const iso = join(clusterDir, 'hosts', o.host, 'cidata.iso');

  const disk = await bootDisk({ work: o.work, root: o.root, model });
  const { kernel, initrd } = kernelOf(o.root);

  const consoleLog = join(o.work, 'console.log');
  const qmp = join(o.work, 'qmp.sock');
  const started = Date.now();
  const vm = spawn('qemu-system-x86_64', [
    '-machine', 'q35', '-accel', 'tcg', '-cpu', 'max', '-smp', '1', '-m', '1536',
    '-kernel', kernel, '-initrd', initrd,
    // no network card: the seed's network-config has nothing to configure, so
    // waiting for the network would only time out
    '-append', KERNEL_CMDLINE,
    '-drive', `file=${disk},format=raw,if=virtio`,
    '-drive', `file=${iso},format=raw,if=virtio,readonly=on`,
    '-nic', 'none', '-display', 'none', '-monitor', 'none', '-serial', `file:${consoleLog}`,
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
  const at = (k: string) => (seen[k] ? `${((seen[k]! - started) / 1000).toFixed(0)} s` : 'never');
  const c = text();
  const datasource = c.match(/Datasource (DataSource\S+ \[[^\]]*\])/)?.[1];
  record('cloud-init finished, reading the seed from the attached ISO', !!seen['cloud-init finished'] && !!datasource && /\/dev\/vd/.test(datasource),
    `after ${at('cloud-init finished')}; ${datasource ?? 'no datasource line on the console'}`);
  record(`bootstrap of ${o.host} finished`, !!seen['bootstrap finished'], seen['bootstrap failed'] ? `FAILED: ${c.split('\n').filter((l) => l.includes('ha-k8s-seed')).slice(-4).join(' | ')}` : `after ${at('bootstrap finished')}`);

  // A clean power-off (ACPI, through QMP), then read the markers off the disk.
  if (!exited) {
    await qmpPowerdown(qmp).catch((e) => console.log(`qemu: QMP: ${(e as Error).message}`));
    for (let i = 0; i < 90 && !exited; i++) await sleep(1000);
    kill();
    while (!exited) await sleep(200);
  }
  const cat = (path: string) => sh('debugfs', ['-R', `cat ${path}`, disk], 60).out;
  const done = cat('/var/lib/ha-k8s-seed/bootstrap.done').trim();
  record('bootstrap.done on the disk after power-off', /^\d{4}-\d\d-\d\dT/.test(done), done || 'missing');
  let errors: string[] | undefined;
  try { errors = JSON.parse(cat('/var/lib/cloud/data/result.json')).v1.errors; } catch { /* below */ }
  record('cloud-init result.json: no errors', !!errors && errors.length === 0, errors ? (errors.join('; ') || 'none') : 'no result.json');
  console.log(`qemu: info the whole boot and power-off took ${((Date.now() - started) / 1000).toFixed(0)} s under qemu-system-x86_64 (TCG, 1 vCPU)`);
  return { passed: results.filter((r) => r[1]).length, failed: results.filter((r) => !r[1]).length };
}

/** The kernel command line of a smoke boot: the root by label, the console on the first serial port. */
export const KERNEL_CMDLINE = 'root=LABEL=root rw console=ttyS0 systemd.mask=systemd-networkd-wait-online.service';

/** The disk: an ext4 image (raw) of the root as the golden image would have it (no seed inside). */
export async function bootDisk(o: { work: string; root: string; model: Cluster }): Promise<string> {
  const tree = join(o.work, 'tree');
  const upper = join(o.work, 'upper');
  const ovlWork = join(o.work, 'ovl-work');
  for (const d of [tree, upper, ovlWork]) mkdirSync(d, { recursive: true });
  must('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${o.root},upperdir=${upper},workdir=${ovlWork}`, tree]);
  const disk = join(o.work, 'disk.img');
  try {
    await asGoldenImage(tree, { kubernetesVersion: o.model.kubernetes.version, containerdVersion: o.model.containerd.version, kubectl: findKubectl() });
    writeFileSync(join(tree, 'etc/fstab'), 'LABEL=root / ext4 rw,errors=remount-ro 0 1\n');
    const t = Date.now();
    must('truncate', ['-s', '4G', disk]);
    must('mke2fs', ['-q', '-t', 'ext4', '-L', 'root', '-d', tree, disk], 600);
    console.log(`disk image from the root in ${((Date.now() - t) / 1000).toFixed(0)} s`);
  } finally {
    sh('umount', ['-l', tree]);
  }
  return disk;
}

/** The newest kernel and initramfs of the root (linux-image-amd64 in labVmRoot). */
export function kernelOf(root: string): { kernel: string; initrd: string } {
  const boot = join(root, 'boot');
  const kernel = readdirSync(boot).filter((f) => f.startsWith('vmlinuz-')).sort().at(-1);
  const initrd = readdirSync(boot).filter((f) => f.startsWith('initrd.img-')).sort().at(-1);
  if (!kernel || !initrd) throw new Error(`${boot} holds no kernel and initramfs (is linux-image-amd64 in the root?)`);
  return { kernel: join(boot, kernel), initrd: join(boot, initrd) };
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
