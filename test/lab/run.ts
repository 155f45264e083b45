/**
 * The boot lab (npm run test:e2e): every host of test/lab/lab-cluster.yaml
 * boots as a systemd-nspawn container from the seed in its own generated
 * cidata.iso; real cloud-init and systemd bring the roles up (etcd is
 * Debian's, nginx and keepalived are real; the Kubernetes binaries and
 * containerd are STAND-INS, test/standins/); then the lab checks etcd, the
 * VIP with real kubectl, and breaks things, counting failed requests and
 * seconds to recovery. Everything is torn down on exit, failure or interrupt.
 *
 *   npm run test:e2e                    the whole lab
 *   npm run test:e2e -- --hosts lb1,lb2 boot only these (while iterating)
 *   npm run test:e2e -- --no-faults     boot and check, break nothing
 *   npm run test:e2e -- --keep          leave the work folder (logs, out/) behind
 *   npm run test:e2e -- --scale-out     instead: the tutorial's scale-out (scale-out.ts), a single
 *                                       master grown to HA by following plan's steps (--image applies)
 *   npm run test:e2e -- --qemu          instead: the smoke boot of one host (--qemu-host, default
 *                                       etcd3) under qemu-system-x86_64 (TCG) from its cidata.iso
 *   npm run test:e2e -- --image FILE    every container's root is the file system of the golden
 *                                       image FILE (`npm run test:image -- --image FILE` builds it)
 *   npm run test:e2e -- --qemu --image FILE   the smoke boot, booting that image itself
 *   npm run test:e2e -- --hold 600      keep the containers up that long after the checks
 *                                       (nsenter -t <pid> -a ... into them; pids in the work folder)
 *
 * The outer process (needs root) builds or reuses the cached root, creates a
 * network namespace with a bridge and no route out, and runs the lab itself
 * inside it (`nsenter --net`), so every address the lab reaches is a lab host.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createNetns, deleteNetns, killRecorded, removeTree, sh, unmountUnder } from './machines.ts';
import { labRoot, labVmRoot } from './root.ts';
import { goldenImage, mountGoldenImage, qemuSmoke } from './qemu.ts';
import { libvirtBoot } from './libvirt.ts';
import { runLab } from './scenario.ts';
import { runScaleOut } from './scale-out.ts';

const here = dirname(fileURLToPath(import.meta.url));
export const REPO = resolve(here, '../..');
export const LAB_SPEC = join(here, 'lab-cluster.yaml');
/** The scale-out's spec before and after the change (--scale-out). */
export const SCALE_OUT = { before: join(here, 'scale-out-before.yaml'), after: join(here, 'scale-out-after.yaml') };
/** The lab bridge's own address: the lab's probes come from here. Inside the spec's subnet. */
export const BRIDGE = { name: 'labbr0', cidr: '10.99.0.254/24' };

const { values: args } = parseArgs({
  options: {
    hosts: { type: 'string' }, keep: { type: 'boolean' }, hold: { type: 'string' }, 'qemu-host': { type: 'string' }, 'no-faults': { type: 'boolean' }, qemu: { type: 'boolean' },
    libvirt: { type: 'boolean' }, 'libvirt-host': { type: 'string' },
    'scale-out': { type: 'boolean' },
    inner: { type: 'boolean' }, work: { type: 'string' }, root: { type: 'string' }, image: { type: 'string' },
  },
});

async function outer(): Promise<number> {
  if (process.getuid?.() !== 0) { console.error('test:e2e: the lab needs root (network namespaces, mounts, systemd-nspawn)'); return 2; }
  for (const tool of ['systemd-nspawn', 'ip', 'nsenter', 'isoinfo', 'debootstrap', 'mount']) {
    if (sh('sh', ['-c', `command -v ${tool}`]).status !== 0) { console.error(`test:e2e: ${tool} is missing (see .ci/run)`); return 2; }
  }
  const started = Date.now();
  if (args.qemu) return qemu(started);
  if (args.libvirt) return libvirt(started);
  // the container lab's runs: the lab itself, or the scale-out; the same namespace and root
  const label = args['scale-out'] ? 'scale-out' : 'lab';
  const work = mkdtempSync(join(tmpdir(), `ha-k8s-seed-${label}-`));
  let root: string;
  if (args.image) {
    root = mountGoldenImage(goldenImage(resolve(args.image)), work);
    console.log(`lab: root: the golden image ${resolve(args.image)}, mounted read-only at ${root} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } else {
    console.log('lab: root (debootstrap, cached under /var/cache/ha-k8s-seed/roots) ...');
    root = await labRoot();
    console.log(`lab: root ${root} ready in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  const netns = `hkslab${process.pid}`;
  let inner: ReturnType<typeof spawn> | undefined;
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    killRecorded(join(work, 'pids'));
    unmountUnder(work);
    deleteNetns(netns);
    if (!args.keep) removeTree(work);
    else console.log(`lab: work folder kept: ${work}`);
  };
  let interrupted = false;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (interrupted) return;
      interrupted = true;
      console.error(`lab: ${sig}: tearing down`);
      inner?.kill(sig);
      // the inner process powers the containers off; give it a bounded time
      setTimeout(() => { inner?.kill('SIGKILL'); }, 45000).unref();
    });
  }
  process.on('exit', cleanup);
  try {
    createNetns(netns, BRIDGE.name, BRIDGE.cidr);
    const forward = process.argv.slice(2);
    // nsenter --net rather than `ip netns exec`: the latter also remounts /sys
    // for the namespace, without the cgroup file systems systemd-nspawn needs.
    inner = spawn('nsenter', [`--net=/run/netns/${netns}`, process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url), ...forward, '--inner', '--work', work, '--root', root], {
      stdio: 'inherit', cwd: REPO,
    });
    const code: number = await new Promise((r) => inner!.on('exit', (c) => r(c ?? 1)));
    let counts = { passed: 0, failed: 1 };
    try { counts = JSON.parse(readFileSync(join(work, 'result.json'), 'utf8')); } catch { /* the lab did not get to its figures */ }
    console.log(`${label}: ${code === 0 ? 'passed' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    console.log(`${label}: ${counts.passed} passed, ${counts.failed} failed`);
    return interrupted ? 130 : code;
  } finally {
    cleanup();
  }
}

/** --qemu: one host boots under qemu-system-x86_64 (TCG) from the cached root, a kernel and its ISO. */
async function qemu(started: number): Promise<number> {
  if (sh('sh', ['-c', 'command -v qemu-system-x86_64 && command -v mke2fs && command -v debugfs']).status !== 0) {
    console.error('test:e2e --qemu: qemu-system-x86_64, mke2fs and debugfs are needed (apt-get install qemu-system-x86 e2fsprogs)');
    return 2;
  }
  const image = args.image ? goldenImage(resolve(args.image)) : undefined;
  if (!image) console.log('qemu: root with a kernel (debootstrap, cached under /var/cache/ha-k8s-seed/roots) ...');
  const root = image ? '' : await labVmRoot();
  const work = mkdtempSync(join(tmpdir(), 'ha-k8s-seed-qemu-'));
  const cleanup = () => { unmountUnder(work); if (!args.keep) removeTree(work); else console.log(`qemu: work folder kept: ${work}`); };
  process.on('exit', cleanup);
  try {
    const { passed, failed } = await qemuSmoke({ work, root, repo: REPO, spec: LAB_SPEC, host: args['qemu-host'] ?? 'etcd3', timeoutSeconds: 1200, image });
    console.log(`qemu: ${failed ? 'FAILED' : 'passed'} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    console.log(`qemu: ${passed} passed, ${failed} failed`);
    return failed ? 1 : 0;
  } catch (e) {
    console.error(`qemu: ${(e as Error).message}`);
    console.log('qemu: 0 passed, 1 failed');
    return 1;
  }
}

/** --libvirt: one host created by the generated libvirt/create-vms.sh and booted by libvirtd (TCG) on an isolated network. */
async function libvirt(started: number): Promise<number> {
  for (const tool of ['virsh', 'qemu-img', 'qemu-system-x86_64', 'mke2fs', 'debugfs', 'libvirtd']) {
    if (sh('sh', ['-c', `command -v ${tool}`]).status !== 0) { console.error(`test:e2e --libvirt: ${tool} is missing (test/setup.sh installs it)`); return 2; }
  }
  console.log('libvirt: root with a kernel (debootstrap, cached under /var/cache/ha-k8s-seed/roots) ...');
  const root = await labVmRoot();
  const work = mkdtempSync(join(tmpdir(), 'ha-k8s-seed-libvirt-'));
  const cleanup = () => { unmountUnder(work); if (!args.keep) removeTree(work); else console.log(`libvirt: work folder kept: ${work}`); };
  process.on('exit', cleanup);
  const { passed, failed } = await libvirtBoot({ work, root, repo: REPO, spec: LAB_SPEC, host: args['libvirt-host'] ?? 'etcd3', timeoutSeconds: 1200 });
  console.log(`libvirt: ${failed ? 'FAILED' : 'passed'} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  console.log(`libvirt: ${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

async function main(): Promise<number> {
  if (!args.inner) return outer();
  if (args['scale-out']) {
    return runScaleOut({ work: args.work!, root: args.root!, repo: REPO, ...SCALE_OUT, bridge: BRIDGE, holdSeconds: Number(args.hold ?? 0) });
  }
  return runLab({
    work: args.work!, root: args.root!, repo: REPO, spec: LAB_SPEC, bridge: BRIDGE,
    only: args.hosts ? args.hosts.split(',').map((h) => h.trim()).filter(Boolean) : undefined,
    faults: !args['no-faults'],
    holdSeconds: Number(args.hold ?? 0),
  });
}

process.exitCode = await main();
// leave nothing running in this process (timers of probes, servers)
setTimeout(() => process.exit(process.exitCode ?? 0), 100).unref();
