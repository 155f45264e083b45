/**
 * The golden image, built for real (npm run test:image): Debian's Packer runs
 * `build.sh -only=qemu.kvm` on the generated out/<cluster>/packer/ folder of
 * the boot lab's cluster, against a base qcow2 made here from the lab's
 * cached Debian root, with software emulation (TCG), and the install script
 * fetches every artifact from a mirror on 127.0.0.1 serving stand-ins in the
 * real releases' layouts (test/image/stand-in-releases.ts), each checked
 * against the checksum this test pins in a var file, as a user pins theirs.
 * Then the image is inspected, and a build with one tampered artifact must
 * fail with the install script's message.
 *
 * Isolation: Packer, qemu and the mirror run in a network namespace of their
 * own with loopback only (`unshare -n`); the guest's user-mode network is
 * `restrict=on`, with one `guestfwd` from 10.0.2.100:80 to the mirror. Only
 * documented variables are overridden (see the var files in the work folder).
 *
 *   npm run test:image                     build, inspect, tampered build
 *   npm run test:image -- --image FILE     also keep the built qcow2 at FILE (the qemu smoke boot boots it)
 *   npm run test:image -- --keep           leave the work folder behind
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { load } from 'js-yaml';
import { BIN } from '../../generator/model/paths.ts';
import type { Cluster } from '../../generator/model/types.ts';
import { artifactRecord } from '../../generator/install/manifest.ts';
import { INSTALLED_FILES, containerImages } from '../../generator/install/plan.ts';
import { clusterFromText } from '../../generator/input/validate.ts';
import { must, removeTree, sh, unmountUnder } from '../lab/machines.ts';
import { labVmRoot } from '../lab/root.ts';
import { buildStandInMirror, imageArchivePath, mirrorPath, serveMirrorLines, sha } from '../lib/stand-in-mirror.ts';
import { makeBaseImage, type BaseImage } from './base-image.ts';
import { mountReadOnly } from '../lab/qemu.ts';
import { CTR_IMPORTS, STAND_IN_MARK, imageArchive, standInReleases } from './stand-in-releases.ts';

const here = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(here, '../..');
const LAB_SPEC = join(REPO, 'test/lab/lab-cluster.yaml');
/** The mirror as the guest sees it (qemu's guestfwd) and where it listens inside the namespace. */
const GUEST_MIRROR = 'http://10.0.2.100';
const MIRROR_PORT = 8080;

const { values: args } = parseArgs({ options: { image: { type: 'string' }, keep: { type: 'boolean' } } });

const results: [string, boolean, string][] = [];
function check(name: string, ok: boolean, detail = ''): boolean {
  results.push([name, ok, detail]);
  console.log(`image: ${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` — ${detail}` : ''}`);
  return ok;
}
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(0)} s`;

/** The lab's cluster with the image's base and the guest's view of the mirror. */
function imageSpec(): string {
  return `${readFileSync(LAB_SPEC, 'utf8')}\nimage:\n  os: debian-12\n  mirror: ${GUEST_MIRROR}\n`;
}

interface Build { code: number; log: string; qcow2?: string }

/**
 * build.sh in the namespace with the mirror; the output folder is
 * `outputDir`, and the var files give the build machine's settings and the
 * stand-ins' checksums.
 */
async function packerBuild(o: { packerDir: string; mirrorDir: string; work: string; varFiles: string[]; outputDir: string; name: string }): Promise<Build> {
  const log = join(o.work, `${o.name}.log`);
  const ready = join(o.work, `${o.name}.mirror-ready`);
  const script = [
    'set -u',
    'ip link set lo up',
    serveMirrorLines(o.mirrorDir, MIRROR_PORT, ready),
    `bash ${join(o.packerDir, 'build.sh')} -only=qemu.kvm -color=false ${o.varFiles.map((f) => `-var-file=${f}`).join(' ')} -var output_directory=${o.outputDir}`,
    'rc=$?',
    'kill $mirror',
    'exit $rc',
  ].join('\n');
  const tmp = join(o.work, 'tmp');
  mkdirSync(tmp, { recursive: true });
  const started = Date.now();
  const child = spawn('unshare', ['-n', 'bash', '-c', script], {
    cwd: o.work, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CHECKPOINT_DISABLE: '1', PACKER_CACHE_DIR: join(o.work, 'packer-cache'), TMPDIR: tmp, PACKER_NO_COLOR: '1' },
  });
  let text = '';
  const onData = (d: Buffer) => {
    text += d;
    // Packer's step lines, to follow the build.
    for (const line of String(d).split('\n')) {
      const step = /==> qemu\.kvm: (?![a-z-]+: |Trying |\/)/.test(line) || /install-artifacts: (error|done)|sysprep: done/.test(line);
      if (step) console.log(`image: [${seconds(started)}] ${line.replace(/^.*?==> /, '').trim()}`);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const code: number = await new Promise((r) => child.on('exit', (c) => r(c ?? 1)));
  writeFileSync(log, text);
  const folder = existsSync(o.outputDir) ? readdirSync(o.outputDir).map((d) => join(o.outputDir, d)) : [];
  const qcow2 = folder.flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.qcow2')).map((f) => join(d, f)))[0];
  return { code, log: text, qcow2 };
}

/** The build machine's settings: documented variables of variables.pkr.hcl only. */
function buildMachineVars(base: BaseImage, work: string): string {
  const vars = {
    base_image_url: base.qcow2,
    base_image_checksum: `sha256:${sha('sha256', readFileSync(base.qcow2))}`,
    accelerator: 'tcg',
    cpus: 2,
    memory: 1536,
    disk_size: '4G',
    ssh_timeout: '15m',
    // The guest reaches nothing but the mirror: no route out (restrict=on), one forward.
    qemu_net_options: `,restrict=on,guestfwd=tcp:10.0.2.100:80-cmd:socat - TCP:127.0.0.1:${MIRROR_PORT}`,
    qemu_extra_args: [
      ['-cpu', 'max'],
      ['-kernel', base.kernel], ['-initrd', base.initrd], ['-append', base.kernelArgs],
      ['-serial', `file:${join(work, 'build-console.log')}`],
    ],
  };
  const file = join(work, 'build-machine.pkrvars.json');
  writeFileSync(file, `${JSON.stringify(vars, null, 2)}\n`);
  return file;
}

/** The stand-ins' checksums, pinned as a user pins their artifacts (same shape as the generated variables). */
function pinnedArtifactsVars(cluster: Cluster, work: string): string {
  const file = join(work, 'stand-ins.pkrvars.json');
  writeFileSync(file, `${JSON.stringify({
    artifacts: cluster.artifacts.map(artifactRecord),
  }, null, 2)}\n`);
  return file;
}

/** Reads the built image's file system (read-only loop mount of a raw copy). */
function inspect(qcow2: string, cluster: Cluster, mirrorDir: string, work: string, imageInfo: string): void {
  const mnt = mountReadOnly(qcow2, work, 'built');
  try {
    const at = (p: string) => join(mnt, p);
    check('the image is a qcow2', /file format: qcow2/.test(imageInfo), imageInfo.match(/virtual size: [^\n]*/)?.[0] ?? imageInfo.split('\n')[0]);

    // Every binary at the path its unit starts, from the right tarball member, root's and 0755.
    // kubectl comes in both Kubernetes tarballs: one path, checked once.
    const files = [...new Map(INSTALLED_FILES.filter((f) => !f.path.endsWith('/')).map((f) => [f.path, f])).values()];
    const wrong = files.filter((f) => {
      const p = at(f.path);
      if (!existsSync(p)) return true;
      const s = statSync(p);
      const content = readFileSync(p, 'utf8');
      const binary = f.path.split('/').at(-1)!;
      return (s.mode & 0o7777) !== f.mode || s.uid !== 0 || s.gid !== 0 || !content.includes(STAND_IN_MARK) || !content.includes(binary);
    }).map((f) => f.path);
    check(`${files.length} binaries at the paths the units use, root:root 0755, each the right release member`, wrong.length === 0, wrong.length ? `wrong: ${wrong.join(', ')}` : files.map((f) => f.path).join(' '));
    const cni = existsSync(at(BIN.cniDir)) ? readdirSync(at(BIN.cniDir)).sort() : [];
    check(`CNI plugins in ${BIN.cniDir}, executables only`, cni.join(' ') === 'bandwidth bridge flannel host-local loopback portmap', cni.join(' ') || 'none');
    check('only what the units use (no kubeadm, no containerd-stress)', !existsSync(at('usr/local/bin/kubeadm')) && !existsSync(at('usr/local/bin/containerd-stress')));
    check('etcd stand-in runs the base\'s etcd', readFileSync(at(BIN.etcd), 'utf8').includes('exec /usr/bin/etcd'));

    // Every container image imported into k8s.io, each the mirror's archive.
    const imports = existsSync(at(CTR_IMPORTS)) ? readFileSync(at(CTR_IMPORTS), 'utf8').trim().split('\n') : [];
    const expected = containerImages(cluster).map((ref) => `k8s.io ${ref} ${sha('sha256', readFileSync(imageArchivePath(mirrorDir, ref, GUEST_MIRROR)))}`);
    check(`${expected.length} container images pre-pulled into k8s.io`, expected.every((e) => imports.includes(e)) && imports.length === expected.length, imports.map((l) => l.split(' ')[1]).join(' ') || 'none');

    // Nothing of the build.
    const passwd = readFileSync(at('etc/passwd'), 'utf8');
    check('no build account: no packer user, home or sudoers file', !/^packer:/m.test(passwd) && !existsSync(at('home/packer')) && !existsSync(at('etc/sudoers.d/90-cloud-init-users')) && !/^packer:/m.test(readFileSync(at('etc/shadow'), 'utf8')));
    check('empty /etc/machine-id', existsSync(at('etc/machine-id')) && statSync(at('etc/machine-id')).size === 0);
    const hostKeys = readdirSync(at('etc/ssh')).filter((f) => f.startsWith('ssh_host_'));
    check('no SSH host keys', hostKeys.length === 0, hostKeys.join(' '));
    const cloud = existsSync(at('var/lib/cloud')) ? readdirSync(at('var/lib/cloud')) : [];
    const cloudLog = at('var/log/cloud-init.log');
    check('no cloud-init state (instance, seed, logs)', cloud.length === 0 && (!existsSync(cloudLog) || statSync(cloudLog).size === 0), cloud.join(' ') || 'empty');
    const wants = readdirSync(at('etc/systemd/system/multi-user.target.wants'));
    check('nginx and keepalived installed, not enabled', existsSync(at('usr/sbin/nginx')) && existsSync(at('usr/sbin/keepalived')) && !wants.includes('nginx.service') && !wants.includes('keepalived.service'));
    const leftovers = [...readdirSync(at('tmp')), ...readdirSync(at('var/tmp')).filter((f) => f.startsWith('ha-k8s-seed'))];
    check('no manifest or install work folder left', leftovers.length === 0, leftovers.join(' '));
    // wtmp is the exception: systemd records the build VM's power-off in it, after sysprep.
    const bigLogs = readdirSync(at('var/log')).filter((f) => f !== 'wtmp' && lstatSync(at(`var/log/${f}`)).isFile() && lstatSync(at(`var/log/${f}`)).size > 0);
    check('logs truncated (all but wtmp, which gets the power-off record)', bigLogs.length === 0, bigLogs.join(' '));
    const journals = existsSync(at('var/log/journal')) ? readdirSync(at('var/log/journal')) : [];
    check('no journal of the build VM', journals.length === 0, journals.join(' '));
    const hostname = readFileSync(at('etc/hostname'), 'utf8').trim();
    check('hostname localhost until a VM\'s seed names it', hostname === 'localhost', hostname);
  } finally {
    sh('umount', [mnt]);
  }
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) { console.error('test:image: needs root (mounts, network namespaces)'); return 2; }
  for (const tool of ['packer', 'qemu-system-x86_64', 'qemu-img', 'mke2fs', 'socat', 'unshare', 'xorriso', 'ssh-keygen', 'debootstrap']) {
    if (sh('sh', ['-c', `command -v ${tool}`]).status !== 0) { console.error(`test:image: ${tool} is missing (test/setup.sh installs it)`); return 2; }
  }
  const started = Date.now();
  const work = mkdtempSync(join(tmpdir(), 'ha-k8s-seed-image-'));
  process.on('exit', () => { unmountUnder(work); if (!args.keep) removeTree(work); else console.log(`image: work folder kept: ${work}`); });
  try {
    console.log('image: base root (debootstrap, cached under /var/cache/ha-k8s-seed/roots) ...');
    const root = await labVmRoot();
    let t = Date.now();
    const base = await makeBaseImage(root, work);
    console.log(`image: phase base qcow2 from the cached root: ${seconds(t)} (${(statSync(base.qcow2).size / 2 ** 20).toFixed(0)} MiB)`);

    // The cluster's packer folder, generated by the CLI as a user's is.
    t = Date.now();
    const specFile = join(work, 'lab-image.yaml');
    writeFileSync(specFile, imageSpec());
    const out = join(work, 'out');
    must(process.execPath, ['--import', 'tsx', join(REPO, 'generator/cli.ts'), 'generate', specFile, '--out', out, '--quiet'], 300);
    const name = (load(imageSpec()) as { name: string }).name;
    const packerDir = join(out, name, 'packer');
    const mirrorDir = join(work, 'mirror');
    const stage = join(work, 'stage');
    const spec = clusterFromText(imageSpec());
    const cluster = buildStandInMirror({
      mirrorDir, mirrorUrl: GUEST_MIRROR, cluster: spec, releases: standInReleases(spec),
      imageArchive: (ref) => imageArchive(ref, join(stage, 'images')), stageDir: stage,
    });
    const varFiles = [buildMachineVars(base, work), pinnedArtifactsVars(cluster, work)];
    console.log(`image: phase generate + stand-in mirror: ${seconds(t)}`);

    t = Date.now();
    const build = await packerBuild({ packerDir, mirrorDir, work, varFiles, outputDir: join(work, 'images'), name: 'build' });
    const buildTime = seconds(t);
    console.log(`image: phase packer build (TCG): ${buildTime}`);
    const verified = cluster.artifacts.filter((a) => build.log.includes(`install-artifacts: ${a.name} ${a.version}: ${a.checksum.algorithm} verified`));
    check('packer build -only=qemu.kvm succeeded', build.code === 0 && !!build.qcow2, build.code === 0 ? `${buildTime}, ${build.qcow2}` : `exit ${build.code}: ${build.log.split('\n').filter((l) => /error|Error/.test(l)).slice(-5).join(' | ')}`);
    check('cloud-init finished on the build VM, without errors or warnings, before provisioning', build.code === 0 && !/cloud-init did not finish cleanly|cloud-init finished with warnings/.test(build.log));
    check(`the install script verified all ${cluster.artifacts.length} artifacts against the pinned checksums`, verified.length === cluster.artifacts.length, verified.map((a) => a.name).join(' '));
    if (build.qcow2) {
      t = Date.now();
      inspect(build.qcow2, cluster, mirrorDir, work, must('qemu-img', ['info', build.qcow2]));
      console.log(`image: phase inspection: ${seconds(t)}`);
      if (args.image) {
        mkdirSync(dirname(resolve(args.image)), { recursive: true });
        const tmp = `${resolve(args.image)}.partial`;
        copyFileSync(build.qcow2, tmp);
        renameSync(tmp, resolve(args.image));
        for (const f of ['vmlinuz', 'initrd.img']) copyFileSync(join(work, f), `${resolve(args.image)}.${f}`);
        console.log(`image: built image kept at ${resolve(args.image)} (kernel and initramfs beside it)`);
      }
    }

    // The same build with one artifact tampered with on the mirror.
    t = Date.now();
    const etcd = cluster.artifacts.find((a) => a.name === 'etcd')!;
    const target = mirrorPath(mirrorDir, etcd.upstreamUrl);
    writeFileSync(target, Buffer.concat([readFileSync(target), Buffer.from('tampered')]));
    const tampered = await packerBuild({ packerDir, mirrorDir, work, varFiles, outputDir: join(work, 'images-tampered'), name: 'tampered' });
    const message = new RegExp(`install-artifacts: error: etcd ${etcd.version}: sha256 mismatch for ${etcd.url.replace(/\./g, '\\.')}: expected ${etcd.checksum.value}, got [0-9a-f]{64}; refusing to install it`);
    check('a tampered artifact fails the build with the install script\'s message, and no image is written', tampered.code !== 0 && message.test(tampered.log) && !tampered.qcow2,
      `${seconds(t)}; ${tampered.log.match(/install-artifacts: error: [^\n]*/)?.[0] ?? `exit ${tampered.code}, no install-artifacts error`}`);
    console.log(`image: phase tampered build: ${seconds(t)}`);
  } catch (e) {
    check('the image test ran to the end', false, (e as Error).message);
  }
  const failed = results.filter((r) => !r[1]).length;
  console.log(`image: ${failed ? 'FAILED' : 'passed'} in ${seconds(started)}`);
  console.log(`image: ${results.length - failed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

process.exitCode = await main();
