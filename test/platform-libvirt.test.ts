/**
 * The libvirt outputs against a real libvirtd (started here when it is not
 * running): every domain XML passes virt-xml-validate and `virsh define` on
 * qemu:///system, and the generated create-vms.sh, run for real with
 * --no-start, copies the seeds, makes each disk a qcow2 overlay on the golden
 * image and defines the domains in the safe order. Everything it defines or
 * writes is removed afterwards, also when a test fails. The boot of one such
 * domain is the lab's libvirt part (npm run test:e2e -- --libvirt).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startOrder } from '../generator/render/platforms/order.ts';
import { ensureLibvirtd, virsh, type Libvirtd } from './lib/libvirtd.ts';
import { generated, type Generated } from './lib/generated.ts';
import { run } from './lib/run.ts';

let daemon: Libvirtd;
let demo: Generated;
let arm: Generated;
const defined = new Set<string>();

/** Every command here is bounded: libvirt can hang where it should fail. */
const LIMIT = { timeoutSeconds: 120 };

test.before(async () => {
  daemon = await ensureLibvirtd();
  // The reference spec, its disks and ISOs in a folder of the test's own.
  demo = await generated({
    specFile: 'cluster.yaml',
    edit: (text, work) => text.replace('libvirt:\n  bridge: br0', `libvirt:\n  bridge: br0\n  imagesDir: ${work}/images\n  goldenImage: ${work}/golden.qcow2`),
  });
  arm = await generated({ specFile: 'examples/dedicated-etcd.yaml' });
});

test.after(() => {
  for (const name of defined) virsh(['undefine', name, '--nvram']);
  demo?.remove();
  arm?.remove();
  daemon?.stop();
});

test('every domain XML passes virt-xml-validate (amd64 and arm64)', () => {
  for (const g of [demo, arm]) {
    const dir = g.file('libvirt/domains');
    const files = readdirSync(dir);
    assert.is(files.length, g.cluster.hosts.length);
    for (const f of files) {
      const r = run('virt-xml-validate', [join(dir, f), 'domain'], LIMIT);
      assert.is(r.status, 0, `${f}: ${r.out}`);
      assert.match(r.out, /validates/);
    }
  }
});

test('virsh define accepts every amd64 domain on qemu:///system; MAC, memory and CPUs come out as rendered', () => {
  for (const host of demo.cluster.hosts) {
    const r = virsh(['define', demo.file(`libvirt/domains/${host.name}.xml`)]);
    assert.is(r.status, 0, `${host.name}: ${r.stderr}`);
    defined.add(host.name);
    const xml = virsh(['dumpxml', host.name]).stdout;
    assert.match(xml, new RegExp(`<mac address='${host.network.macAddress}'/>`));
    assert.match(xml, /<source bridge='br0'\/>/);
    assert.match(xml, new RegExp(`<memory unit='KiB'>${host.vm.memoryMiB * 1024}</memory>`));
    assert.match(xml, new RegExp(`<vcpu placement='static'>${host.vm.cpus}</vcpu>`));
    assert.match(xml, new RegExp(`<source file='${demo.work}/images/${host.name}-cidata.iso'/>`));
    assert.is(virsh(['undefine', host.name]).status, 0);
    defined.delete(host.name);
  }
});

test('create-vms.sh --no-start: seeds copied, overlays on the golden image, domains defined in the safe order; a second run refuses', () => {
  const golden = join(demo.work, 'golden.qcow2');
  const script = demo.file('libvirt/create-vms.sh');
  const missing = run(script, ['--no-start'], LIMIT);
  assert.is.not(missing.status, 0);
  assert.match(missing.out, /golden image .*golden\.qcow2 is missing/);
  assert.is(run('qemu-img', ['create', '-q', '-f', 'qcow2', golden, '20G'], LIMIT).status, 0);

  assert.is(run(script, ['--no-start', 'nosuchhost'], LIMIT).status, 2);
  const r = run(script, ['--no-start'], LIMIT);
  for (const h of demo.cluster.hosts) if (virsh(['dominfo', h.name]).status === 0) defined.add(h.name);
  assert.is(r.status, 0, r.out);
  const order = [...r.out.matchAll(/^== (\S+)$/gm)].map((m) => m[1]);
  assert.equal(order, startOrder(demo.cluster).map((h) => h.name));
  assert.equal(order.slice(0, 2), ['lb-master', 'lb-backup']);
  for (const host of demo.cluster.hosts) {
    const disk = join(demo.work, 'images', `${host.name}.qcow2`);
    const info = JSON.parse(run('qemu-img', ['info', '--output=json', disk], LIMIT).out);
    assert.is(info['backing-filename'], golden);
    assert.is(info['backing-filename-format'], 'qcow2');
    assert.is(info['virtual-size'], host.vm.diskGiB * 1024 ** 3);
    const iso = join(demo.work, 'images', `${host.name}-cidata.iso`);
    assert.ok(readFileSync(iso).equals(readFileSync(demo.file(`hosts/${host.name}/cidata.iso`))), `${iso} is the host's seed`);
    assert.is(statSync(iso).mode & 0o777, 0o600);
    assert.match(virsh(['domstate', host.name]).stdout, /shut off/);
  }
  const again = run(script, ['--no-start', 'k8s-node1'], LIMIT);
  assert.is.not(again.status, 0);
  assert.match(again.out, /k8s-node1 is already defined; to re-provision it/);
  for (const name of [...defined]) { virsh(['undefine', name]); defined.delete(name); }
  assert.ok(!existsSync(join(demo.work, 'images', 'nosuchhost.qcow2')));
});

test.run();
