/**
 * The libvirt boot (npm run test:e2e -- --libvirt): one lab host brought up
 * the way an operator would, with the generated libvirt/create-vms.sh against
 * a real libvirtd (started here if it is not running), on an isolated libvirt
 * network this run creates (no <forward>: nothing routes out; no DHCP, no
 * DNS). The golden image is the boot lab's root as an ext4 disk (bootDisk),
 * converted to qcow2: create-vms.sh makes the host's disk an overlay on it,
 * copies its cidata.iso next to it and defines the generated domain.
 *
 * What the test changes in the defined domain, and why: type='qemu' with
 * cpu mode='maximum' (software emulation: CI machines have no KVM), direct
 * kernel boot (the lab's root is a bare ext4 file system, with no boot
 * loader), the serial console into a file. Everything else, the MAC and
 * the ISO included, is the generated definition. Then: cloud-init finishes
 * from the CD-ROM, network-config finds the NIC by its MAC (the host answers
 * ping at its address on the isolated network), the bootstrap marker is on
 * the disk after an ACPI shutdown. Every domain, network and file made here
 * is removed afterwards, also on failure or interruption.
 */
import { chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { load } from 'js-yaml';
import type { Cluster } from '../../generator/model/types.ts';
import { ensureLibvirtd, virsh, type Libvirtd } from '../lib/libvirtd.ts';
import { must, sh } from './machines.ts';
import { kernelOf } from '../image/base-image.ts';
import { KERNEL_CMDLINE, bootDisk, recordBootMarkers, recordFirstBoot, watchConsole } from './qemu.ts';

/** The isolated network's name and bridge: fixed, like the lab's own; the heavy lock keeps runs apart. */
const NETWORK = { name: 'ha-k8s-seed-lab', bridge: 'virbr-hkslab', address: '10.99.0.254' };

type Results = [string, boolean, string][];

async function bootOnce(o: { work: string; root: string; repo: string; spec: string; host: string; timeoutSeconds: number }, daemon: Libvirtd, results: Results): Promise<void> {
  const record = (check: string, ok: boolean, figure: string) => {
    results.push([check, ok, figure]);
    console.log(`libvirt: ${ok ? 'ok  ' : 'FAIL'} ${check} — ${figure}`);
  };
  // qemu runs as libvirt-qemu: it must be able to walk into the work folder.
  chmodSync(o.work, 0o755);
  const images = join(o.work, 'images');
  const golden = join(o.work, 'golden.qcow2');
  let defined = false;
  let network = false;
  const teardown = () => {
    if (defined) { virsh(['destroy', o.host]); virsh(['undefine', o.host]); defined = false; }
    if (network) { virsh(['net-destroy', NETWORK.name]); network = false; }
  };
  const onSignal = () => { teardown(); daemon.stop(); process.exit(130); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    // The lab spec, on libvirt: the isolated network, this run's images folder and golden image.
    const spec = join(o.work, 'lab-libvirt.yaml');
    writeFileSync(spec, `${readFileSync(o.spec, 'utf8')}platform: libvirt\nlibvirt:\n  network: ${NETWORK.name}\n  imagesDir: ${images}\n  goldenImage: ${golden}\n`);
    const out = join(o.work, 'out');
    must(process.execPath, ['--import', 'tsx', join(o.repo, 'generator/cli.ts'), 'generate', spec, '--out', out, '--quiet'], 180);
    const clusterDir = join(out, (load(readFileSync(spec, 'utf8')) as { name: string }).name);
    const model = JSON.parse(readFileSync(join(clusterDir, 'model.json'), 'utf8')) as Cluster;
    const host = model.hosts.find((h) => h.name === o.host);
    if (!host) throw new Error(`--libvirt-host: no host ${o.host} in ${o.spec}`);

    const raw = await bootDisk({ work: o.work, root: o.root, model });
    must('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, golden], 600);
    const { kernel, initrd } = kernelOf(o.root);
    // qemu (as libvirt-qemu) reads the kernel and initramfs: copies it may read, outside the cached root.
    for (const f of [kernel, initrd]) {
      const copy = join(o.work, f.split('/').at(-1)!);
      copyFileSync(f, copy);
      chmodSync(copy, 0o644);
    }

    // An isolated network: a bridge with the lab bridge's address, no <forward>, no DHCP, no DNS.
    const netXml = join(o.work, 'network.xml');
    writeFileSync(netXml, `<network>\n  <name>${NETWORK.name}</name>\n  <bridge name='${NETWORK.bridge}'/>\n  <dns enable='no'/>\n  <ip address='${NETWORK.address}' prefix='${host.network.prefixLength}'/>\n</network>\n`);
    if (virsh(['net-info', NETWORK.name]).status === 0) virsh(['net-destroy', NETWORK.name]); // a killed run's leftover
    const net = virsh(['net-create', netXml]);
    if (net.status !== 0) throw new Error(`virsh net-create: ${net.stderr}`);
    network = true;
    const netDump = virsh(['net-dumpxml', NETWORK.name]).stdout;
    record('the test network is isolated (no <forward>)', !/<forward/.test(netDump), 'virsh net-dumpxml');

    // The operator's step: the generated script, for this host, without starting it.
    if (virsh(['dominfo', o.host]).status === 0) { virsh(['destroy', o.host]); virsh(['undefine', o.host]); }
    const created = sh('bash', [join(clusterDir, 'libvirt/create-vms.sh'), '--no-start', o.host], 300);
    defined = virsh(['dominfo', o.host]).status === 0;
    record('libvirt/create-vms.sh --no-start defined the domain', created.status === 0 && defined, (created.stdout + created.stderr).trim().split('\n').join(' | '));
    if (!defined) return;

    // The test's changes (see the header), applied to the domain as libvirt stored it.
    const consoleLog = join(o.work, 'console.log');
    let xml = virsh(['dumpxml', '--inactive', o.host]).stdout;
    const generatedMac = new RegExp(`<mac address='${host.network.macAddress}'/>`).test(xml);
    xml = xml.replace("<domain type='kvm'>", "<domain type='qemu'>")
      .replace(/<cpu [^>]*\/>|<cpu [\s\S]*?<\/cpu>/, "<cpu mode='maximum'/>")
      .replace(/<boot dev='hd'\/>/, `<kernel>${join(o.work, kernel.split('/').at(-1)!)}</kernel>\n    <initrd>${join(o.work, initrd.split('/').at(-1)!)}</initrd>\n    <cmdline>${KERNEL_CMDLINE}</cmdline>`)
      .replace(/<serial type='pty'>[\s\S]*?<\/serial>/, `<serial type='file'><source path='${consoleLog}'/><target port='0'/></serial>`)
      .replace(/<console type='pty'>[\s\S]*?<\/console>/, '');
    const edited = join(o.work, 'domain-tcg.xml');
    writeFileSync(edited, xml);
    const redefine = virsh(['define', edited]);
    if (redefine.status !== 0) throw new Error(`virsh define (TCG): ${redefine.stderr}`);
    record('the generated MAC and cidata ISO are in the domain', generatedMac && xml.includes(`${images}/${o.host}-cidata.iso`), host.network.macAddress);

    const started = Date.now();
    const start = virsh(['start', o.host]);
    if (start.status !== 0) throw new Error(`virsh start: ${start.stderr}`);
    const running = () => /running/.test(virsh(['domstate', o.host], 10).stdout);
    const { seen, text } = await watchConsole({ consoleLog, host: o.host, started, timeoutSeconds: o.timeoutSeconds, stopped: () => !running(), prefix: 'libvirt' });
    recordFirstBoot({ seen, console: text(), started, host: o.host, seedFrom: 'the CD-ROM', device: /\/dev\/sr0/ }, record);
    const ping = sh('ping', ['-c', '3', '-W', '5', '-I', NETWORK.bridge, host.address], 30);
    record(`network-config matched the NIC by its MAC: ${host.address} answers on the isolated network`, ping.status === 0, ping.stdout.trim().split('\n').at(-2) ?? ping.stderr.trim());

    // ACPI shutdown, then the markers off the disk (the overlay flattened onto its backing file).
    virsh(['shutdown', o.host]);
    for (let i = 0; i < 120 && running(); i++) await sleep(1000);
    if (running()) virsh(['destroy', o.host]);
    const flat = join(o.work, 'flat.img');
    must('qemu-img', ['convert', '-O', 'raw', join(images, `${o.host}.qcow2`), flat], 600);
    recordBootMarkers(flat, 'shutdown', record);
    console.log(`libvirt: info boot to shutdown took ${((Date.now() - started) / 1000).toFixed(0)} s (TCG, ${host.vm.cpus} vCPUs, ${host.vm.memoryMiB} MiB)`);
  } finally {
    teardown();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

export async function libvirtBoot(o: { work: string; root: string; repo: string; spec: string; host: string; timeoutSeconds: number }): Promise<{ passed: number; failed: number }> {
  const daemon = await ensureLibvirtd();
  console.log(`libvirt: libvirtd ${daemon.startedHere ? 'started for this run' : 'already running'}`);
  const results: Results = [];
  try {
    await bootOnce(o, daemon, results);
  } catch (e) {
    console.log(`libvirt: FAIL ${(e as Error).message}`);
    results.push([(e as Error).message, false, '']);
  }
  // The teardown is a check too: nothing this run made may be left behind.
  const left = virsh(['dominfo', o.host]).status === 0 || virsh(['net-info', NETWORK.name]).status === 0;
  daemon.stop();
  console.log(`libvirt: ${left ? 'FAIL' : 'ok  '} teardown removed the domain and the network — virsh dominfo / net-info`);
  results.push(['teardown', !left, '']);
  return summary(results);
}

function summary(results: Results) {
  return { passed: results.filter((r) => r[1]).length, failed: results.filter((r) => !r[1]).length };
}
