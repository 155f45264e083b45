/**
 * The Proxmox and vSphere scripts, which cannot meet their platforms here:
 * `bash -n` and shellcheck on every generated script (libvirt's too), then
 * each run for real against the stand-ins test/standins/qm-standin.mjs (qm,
 * pvesm) and govc-standin.mjs, which refuse options those tools do not
 * document and record every call, so the tests assert the sequence and the
 * arguments. The guestinfo values must decode (gzip+base64) to the seed's
 * exact bytes and fit vSphere's 64 KiB.
 */
import { test } from 'uvu';
import { randomBytes } from 'node:crypto';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { load } from 'js-yaml';
import { USER_DATA_LIMIT } from '../generator/render/hosts.ts';
import { startOrder } from '../generator/render/platforms/order.ts';
import { isoName, vmId } from '../generator/render/platforms/proxmox.ts';
import { generated, type Generated } from './lib/generated.ts';
import { run } from './lib/run.ts';

const STANDINS = resolve('test/standins');
let proxmox: Generated;
let vsphere: Generated;
let libvirt: Generated;

/** A bin folder with qm, pvesm and govc launchers for the stand-ins, and their state files. */
function standinBin(work: string) {
  const bin = join(work, 'bin');
  mkdirSync(bin, { recursive: true });
  const launcher = (name: string, script: string, ...pre: string[]) => {
    writeFileSync(join(bin, name), `#!/bin/sh\n# STAND-IN launcher (test only)\nexec ${process.execPath} ${join(STANDINS, script)} ${pre.join(' ')} "$@"\n`);
    chmodSync(join(bin, name), 0o755);
  };
  launcher('qm', 'qm-standin.mjs', 'qm');
  launcher('pvesm', 'qm-standin.mjs', 'pvesm');
  launcher('govc', 'govc-standin.mjs');
  return bin;
}

function runScript(script: string, args: string[], env: Record<string, string>) {
  return run('bash', [script, ...args], { env: { ...process.env, ...env }, timeoutSeconds: 120 });
}
const calls = (log: string): string[][] => readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));

test.before(async () => {
  proxmox = await generated({ specFile: 'examples/stacked-3cp.yaml' });
  // Every host of the examples fits vSphere's 64 KiB guestinfo limit; cp5 gets 96 KB of incompressible
  // content of its own so that the fallback, its cidata.iso on the CD-ROM, is exercised too.
  vsphere = await generated({
    specFile: 'examples/five-cp-colocated-lb.yaml',
    edit: (text) => text.replace('{ name: cp5, address: 172.20.0.15, roles: [control-plane, etcd] }',
      `{ name: cp5, address: 172.20.0.15, roles: [control-plane, etcd], files: [{ path: /etc/ha-k8s-seed-test/blob, content: "${randomBytes(72 * 1024).toString('base64')}" }] }`),
  });
  libvirt = await generated({ specFile: 'cluster.yaml' });
});
test.after(() => { proxmox?.remove(); vsphere?.remove(); libvirt?.remove(); });

test('bash -n and shellcheck pass on every generated script', () => {
  const scripts = [
    ...['proxmox/create-vms.sh', 'proxmox/upload-isos.sh', ...readdirSync(proxmox.file('proxmox/hosts')).map((f) => `proxmox/hosts/${f}`)].map((p) => proxmox.file(p)),
    vsphere.file('vsphere/create-vms.sh'),
    libvirt.file('libvirt/create-vms.sh'),
  ];
  assert.is(scripts.length, 2 + proxmox.cluster.hosts.length + 2);
  for (const s of scripts) {
    const syntax = spawnSync('bash', ['-n', s], { encoding: 'utf8' });
    assert.is(syntax.status, 0, `${s}: ${syntax.stderr}`);
    const lint = spawnSync('shellcheck', ['--severity=style', '--shell=bash', s], { encoding: 'utf8' });
    assert.is(lint.status, 0, `${s}:\n${lint.stdout}${lint.stderr}`);
  }
});

test('the stand-ins refuse what qm and govc do not document', () => {
  const bin = standinBin(proxmox.work);
  const state = join(proxmox.work, 'refuse-state.json');
  writeFileSync(state, JSON.stringify({ vms: { 9000: { template: true, config: { scsi0: 'local-lvm:base-9000-disk-0,size=20G' } }, x: { extraConfig: {}, disks: {} } }, storages: ['local-lvm'], isoStorages: ['local'], templates: {}, networks: [], files: {} }));
  const env = { ...process.env, QM_STANDIN_STATE: state, QM_STANDIN_ROOT: proxmox.work, GOVC_STANDIN_STATE: state };
  const refuses = (cmd: string, args: string[], why: RegExp) => {
    const r = spawnSync(join(bin, cmd), args, { encoding: 'utf8', env });
    assert.is.not(r.status, 0, `${cmd} ${args.join(' ')} was accepted`);
    assert.match(r.stderr, why);
  };
  refuses('qm', ['set', '9000', '--cors', '2'], /unknown option: --cors/);
  refuses('qm', ['clone', '9000', '101', '--linked', '1'], /unknown option: --linked/);
  refuses('qm', ['start', '9000'], /template/);
  refuses('qm', ['disk', 'resize', '9000', 'scsi0', '10G'], /shrinking/);
  refuses('qm', ['set', '9000', '--net0', 'virtio,bridge=vmbr0,macaddr=1'], /invalid format/);
  refuses('qm', ['set', '9000', '--ide2', 'local:iso/missing.iso,media=cdrom'], /does not exist/);
  refuses('govc', ['vm.clone', '-vm', 't', '-on', 'false', 'x'], /wrong number of arguments|not parsed/);
  refuses('govc', ['vm.clone', '-vm', 't', '-cpus', '2', 'x'], /flag provided but not defined: -cpus/);
  refuses('govc', ['vm.change', '-vm', 'x', '-f', 'guestinfo.userdata=relative/path'], /absolute path/);
  refuses('govc', ['vm.create', 'x'], /does not know the command vm\.create/);
});

test('Proxmox: ISOs uploaded first, then per host in the safe order: clone, size, template cloud-init drive removed, seed ISO, MAC, disk, start', () => {
  const c = proxmox.cluster;
  const p = c.platform as Extract<typeof c.platform, { type: 'proxmox' }>;
  const bin = standinBin(proxmox.work);
  const state = join(proxmox.work, 'qm-state.json');
  const log = join(proxmox.work, 'qm.log');
  // The golden template as Packer's proxmox-clone build leaves it: its own cloud-init drive with the build account.
  writeFileSync(state, JSON.stringify({
    vms: { [p.templateId]: { template: true, config: { name: c.image.name, scsi0: 'local-lvm:base-9000-disk-0,size=20G', ide2: 'local-lvm:vm-9000-cloudinit,media=cdrom',
      ciuser: 'packer', cipassword: '$5$x', ipconfig0: 'ip=dhcp', net0: 'virtio=BC:24:11:00:00:01,bridge=vmbr0', cores: '1', memory: '2048', boot: 'order=scsi0' } } },
    storages: ['local-lvm', 'local-zfs'], isoStorages: ['local'],
  }));
  const env = { PATH: `${bin}:${process.env.PATH}`, QM_STANDIN_STATE: state, QM_STANDIN_ROOT: proxmox.work, QM_STANDIN_LOG: log };
  assert.is(runScript(proxmox.file('proxmox/create-vms.sh'), ['nosuchhost'], env).status, 2);
  const r = runScript(proxmox.file('proxmox/create-vms.sh'), [], env);
  assert.is(r.status, 0, r.out);

  const seen = calls(log);
  const uploads = seen.slice(0, c.hosts.length);
  assert.equal(uploads, startOrder(c).map((h) => ['pvesm', 'path', `local:iso/${isoName(c, h)}`]));
  const expected = startOrder(c).flatMap((h) => {
    const id = String(vmId(c, p, h));
    return [
      ['qm', 'clone', String(p.templateId), id, '--name', h.name, '--full', '1', '--storage', 'local-zfs'],
      ['qm', 'set', id, '--cores', String(h.vm.cpus), '--memory', String(h.vm.memoryMiB)],
      ['qm', 'set', id, '--delete', 'ide2,ciuser,cipassword,ipconfig0,sshkeys'],
      ['qm', 'set', id, '--ide2', `local:iso/${isoName(c, h)},media=cdrom`],
      ['qm', 'set', id, '--net0', `virtio=${h.network.macAddress},bridge=vmbr0`],
      ['qm', 'disk', 'resize', id, 'scsi0', `${h.vm.diskGiB}G`],
      ['qm', 'start', id],
    ];
  });
  assert.equal(seen.slice(c.hosts.length), expected);

  const final = JSON.parse(readFileSync(state, 'utf8'));
  for (const h of c.hosts) {
    const vm = final.vms[vmId(c, p, h)];
    assert.ok(vm.running, h.name);
    for (const gone of ['ciuser', 'cipassword', 'ipconfig0']) assert.is(vm.config[gone], undefined, `${h.name} still has ${gone}`);
    assert.is(vm.config.ide2, `local:iso/${isoName(c, h)},media=cdrom`);
    assert.match(vm.config.scsi0, new RegExp(`size=${h.vm.diskGiB}G`));
    const iso = readFileSync(join(proxmox.work, 'var/lib/vz/template/iso', `local-${isoName(c, h)}`));
    assert.ok(iso.equals(readFileSync(proxmox.file(`hosts/${h.name}/cidata.iso`))), `${h.name}: uploaded ISO is its seed`);
  }
  // The first stage is the load balancers.
  assert.equal(startOrder(c).slice(0, 2).map((h) => h.name), ['lb1', 'lb2']);
});

test('vSphere: per host in the safe order, a clone with its size and MAC, guestinfo decoding to the exact seed, power on; hosts over 64 KiB boot from the ISO', async () => {
  const c = vsphere.cluster;
  const p = c.platform as Extract<typeof c.platform, { type: 'vsphere' }>;
  const bin = standinBin(vsphere.work);
  const state = join(vsphere.work, 'govc-state.json');
  const log = join(vsphere.work, 'govc.log');
  writeFileSync(state, JSON.stringify({
    datacenter: 'dc1', templates: { [p.template]: { disks: { 'disk-1000-0': { bytes: 20 * 1024 ** 3 } }, cdrom: true } }, vms: {},
    networks: [p.network], datastores: [p.datastore], folders: [p.folder], pools: [], files: {}, dirs: {},
  }));
  const r = runScript(vsphere.file('vsphere/create-vms.sh'), [], { PATH: `${bin}:${process.env.PATH}`, GOVC_STANDIN_STATE: state, GOVC_STANDIN_LOG: log });
  assert.is(r.status, 0, r.out);
  const seen = calls(log);
  const final = JSON.parse(readFileSync(state, 'utf8'));
  const seeds = new Map<string, { userData: string; metaData: string; networkConfig: string }>();
  for (const h of c.hosts) {
    seeds.set(h.name, {
      userData: readFileSync(vsphere.file(`hosts/${h.name}/user-data`), 'utf8'),
      metaData: readFileSync(vsphere.file(`hosts/${h.name}/meta-data`), 'utf8'),
      networkConfig: readFileSync(vsphere.file(`hosts/${h.name}/network-config`), 'utf8'),
    });
  }
  const clones = seen.filter((call) => call[1] === 'vm.clone').map((call) => call.at(-1));
  assert.equal(clones, startOrder(c).map((h) => h.name));
  let viaGuestinfo = 0;
  let viaCdrom = 0;
  for (const h of startOrder(c)) {
    const mine = seen.filter((call) => call.includes(h.name) || call.some((a) => a.includes(`/${h.name}/`) || a.endsWith(`/${h.name}-cidata.iso`)));
    assert.equal(mine[0], ['govc', 'vm.clone', '-dc', 'dc1', '-ds', 'vsanDatastore', '-folder', '/dc1/vm/k8s-five', '-vm', p.template, '-on=false',
      '-c', String(h.vm.cpus), '-m', String(h.vm.memoryMiB), '-net', 'k8s-172-20', '-net.adapter', 'vmxnet3', '-net.address', h.network.macAddress, h.name]);
    assert.equal(mine[1], ['govc', 'vm.disk.change', '-dc', 'dc1', '-vm', h.name, '-disk.name', 'disk-1000-0', '-size', `${h.vm.diskGiB}G`]);
    assert.equal(mine.at(-1), ['govc', 'vm.power', '-dc', 'dc1', '-on', h.name]);
    const vm = final.vms[h.name];
    assert.ok(vm.powered);
    assert.is(vm.nic.mac, h.network.macAddress);
    assert.is(vm.disks['disk-1000-0'].bytes, h.vm.diskGiB * 1024 ** 3);
    const seed = seeds.get(h.name)!;
    const e = vm.extraConfig;
    if (e['guestinfo.userdata'] !== undefined) {
      viaGuestinfo++;
      assert.is(e['guestinfo.userdata.encoding'], 'gzip+base64');
      assert.is(e['guestinfo.metadata.encoding'], 'gzip+base64');
      assert.ok(e['guestinfo.userdata'].length <= USER_DATA_LIMIT && e['guestinfo.metadata'].length <= USER_DATA_LIMIT);
      assert.ok(gunzipSync(Buffer.from(e['guestinfo.userdata'], 'base64')).equals(Buffer.from(seed.userData)), `${h.name}: userdata is the exact user-data`);
      const metadata = gunzipSync(Buffer.from(e['guestinfo.metadata'], 'base64')).toString('utf8');
      assert.ok(metadata.startsWith(seed.metaData), `${h.name}: metadata starts with the exact meta-data`);
      const parsed = load(metadata) as Record<string, string>;
      assert.is(parsed['network.encoding'], 'gzip+base64');
      assert.is(gunzipSync(Buffer.from(parsed.network!, 'base64')).toString('utf8'), seed.networkConfig);
      assert.is(parsed['local-hostname'], h.name);
      assert.is(vm.cdrom.iso, null);
    } else {
      viaCdrom++;
      assert.ok(Buffer.byteLength(seed.userData) > USER_DATA_LIMIT);
      const path = `ha-k8s-seed/${c.name}/${h.name}-cidata.iso`;
      assert.is(vm.cdrom.iso, `[vsanDatastore] ${path}`);
      assert.ok(Buffer.from(final.files.vsanDatastore[path], 'base64').equals(readFileSync(vsphere.file(`hosts/${h.name}/cidata.iso`))));
    }
  }
  // Both kinds: cp5's user-data is over 64 KiB even compressed, every other host's is not.
  assert.equal([viaGuestinfo, viaCdrom], [c.hosts.length - 1, 1], `${viaGuestinfo} by guestinfo, ${viaCdrom} by CD-ROM`);
});

test.run();
