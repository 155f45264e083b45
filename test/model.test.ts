/**
 * The resolved model of the reference spec and of every example: defaults
 * filled in, derived values computed once, in the shape renderers rely on.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadCluster } from '../generator/input/validate.ts';
import { clusterFromText } from '../generator/input/validate.ts';
import { hostNetworkSettings, kubernetesSettings, loadBalancerSettings, macAddressOf, vmSizeSettings } from '../generator/input/effective.ts';
import { parseSpec } from '../generator/input/source.ts';
import type { ClusterSpec } from '../generator/input/types.ts';
import { hostsWithRole, isNode } from '../generator/model/types.ts';
import { defaultKubernetesVersion } from '../generator/versions/versions.ts';
import { BASE_SPEC } from './lib/spec-fixtures.ts';
import { EXAMPLES } from './lib/seeds.ts';

test('reference cluster.yaml: the seed tutorial topology', async () => {
  const c = await loadCluster('cluster.yaml');
  assert.is(c.name, 'demo');
  assert.is(c.kubernetes.version, 'v1.36.3');
  assert.is(c.kubernetes.minor, '1.36');
  assert.equal(c.kubernetes.endpoint, { host: '192.168.31.88', port: 6443, url: 'https://192.168.31.88:6443' });
  assert.is(c.kubernetes.kubernetesServiceIP, '10.0.0.1');
  assert.is(c.kubernetes.clusterDNS, '10.0.0.2');
  assert.equal(c.etcd.members.map((m) => m.name), ['k8s-master1', 'k8s-node1', 'k8s-node2']);
  assert.is(c.etcd.initialCluster,
    'k8s-master1=https://192.168.31.71:2380,k8s-node1=https://192.168.31.72:2380,k8s-node2=https://192.168.31.73:2380');
  assert.is(c.etcd.version, '3.6.14');
  assert.equal(hostsWithRole(c, 'control-plane').map((h) => h.address), ['192.168.31.71', '192.168.31.74']);
  assert.equal(c.hosts.filter(isNode).map((h) => h.name), ['k8s-master1', 'k8s-master2', 'k8s-node1', 'k8s-node2']);
  const lb = c.loadBalancer!;
  assert.equal(lb.members.map((m) => [m.host, m.initialState, m.priority]), [['lb-master', 'MASTER', 150], ['lb-backup', 'BACKUP', 140]]);
  assert.equal(lb.backends, [
    { host: 'k8s-master1', address: '192.168.31.71', port: 6443 },
    { host: 'k8s-master2', address: '192.168.31.74', port: 6443 },
  ]);
  assert.is(lb.vipPrefixLength, 24);
  assert.is(lb.virtualRouterId, 51);
  for (const h of c.hosts) {
    assert.equal({ ...h.network, macAddress: undefined }, { interface: 'eth0', prefixLength: 24, gateway: '192.168.31.1', nameservers: ['192.168.31.1'], macAddress: undefined });
    // A derived MAC: locally administered (bit 1 of the first octet), unicast (bit 0 clear).
    assert.match(h.network.macAddress, /^02(:[0-9a-f]{2}){5}$/);
  }
  assert.is(new Set(c.hosts.map((h) => h.network.macAddress)).size, c.hosts.length);
  assert.equal(c.platform, { type: 'libvirt', uri: 'qemu:///system', attach: { kind: 'bridge', name: 'br0' }, imagesDir: '/var/lib/libvirt/images',
    goldenImage: '/var/lib/libvirt/images/ha-k8s-seed-demo-v1.36.3-ubuntu-24.04-amd64.qcow2' });
  assert.equal(c.hosts.map((h) => h.vm), [
    { cpus: 2, memoryMiB: 4096, diskGiB: 30 }, { cpus: 2, memoryMiB: 4096, diskGiB: 30 },
    { cpus: 2, memoryMiB: 2048, diskGiB: 30 }, { cpus: 2, memoryMiB: 2048, diskGiB: 30 },
    { cpus: 1, memoryMiB: 1024, diskGiB: 20 }, { cpus: 1, memoryMiB: 1024, diskGiB: 20 },
  ]);
  // Roles come out in canonical order whatever the spec's order.
  assert.equal(c.hosts[0]!.roles, ['etcd', 'control-plane']);
  assert.equal(c.hosts[2]!.index, { etcd: 1, worker: 0 });
});

/** Where each project publishes its release for version `v` and architecture `arch`, as its release pages give it. */
const RELEASE_URL: Record<string, (v: string, arch: string) => string> = {
  'kubernetes-server': (v, arch) => `https://dl.k8s.io/${v}/kubernetes-server-linux-${arch}.tar.gz`,
  'kubernetes-node': (v, arch) => `https://dl.k8s.io/${v}/kubernetes-node-linux-${arch}.tar.gz`,
  etcd: (v, arch) => `https://github.com/etcd-io/etcd/releases/download/v${v}/etcd-v${v}-linux-${arch}.tar.gz`,
  containerd: (v, arch) => `https://github.com/containerd/containerd/releases/download/v${v}/containerd-${v}-linux-${arch}.tar.gz`,
  runc: (v, arch) => `https://github.com/opencontainers/runc/releases/download/v${v}/runc.${arch}`,
  'cni-plugins': (v, arch) => `https://github.com/containernetworking/plugins/releases/download/v${v}/cni-plugins-linux-${arch}-v${v}.tgz`,
  crictl: (v, arch) => `https://github.com/kubernetes-sigs/cri-tools/releases/download/v${v}/crictl-v${v}-linux-${arch}.tar.gz`,
};

test('every pinned artifact carries its checksum and comes from its project\'s release address without a mirror', async () => {
  const c = await loadCluster('cluster.yaml');
  assert.equal(c.artifacts.map((a) => a.name), ['kubernetes-server', 'kubernetes-node', 'etcd', 'containerd', 'runc', 'cni-plugins', 'crictl']);
  for (const a of c.artifacts) {
    const release = RELEASE_URL[a.name]!(a.version, c.image.arch);
    assert.is(a.upstreamUrl, release, a.name);
    assert.is(a.url, a.upstreamUrl);
    assert.is(a.fileName, release.split('/').at(-1), a.name);
    assert.is(a.format, a.name === 'runc' ? 'binary' : 'tar.gz', a.name);
    assert.match(a.checksum.value, a.checksum.algorithm === 'sha512' ? /^[0-9a-f]{128}$/ : /^[0-9a-f]{64}$/);
  }
});

test('examples/five-cp-colocated-lb.yaml: LB on control planes, mirror, download mode', async () => {
  const c = await loadCluster('examples/five-cp-colocated-lb.yaml');
  assert.is(c.etcd.members.length, 5);
  assert.equal(c.kubernetes.endpoint.url, 'https://172.20.1.200:8443');
  assert.is(c.kubernetes.apiserverPort, 6443);
  assert.equal(c.loadBalancer!.members.map((m) => m.host), ['cp1', 'cp2']);
  assert.is(c.loadBalancer!.vipPrefixLength, 23);
  assert.is(c.image.binaries, 'download');
  assert.is(c.image.os, 'debian-12');
  assert.is(c.pki.keyAlgorithm, 'ecdsa-p256');
  assert.is(c.pki.certValidityDays, 730);
  assert.is(c.pki.caValidityDays, 3650);
  for (const a of c.artifacts) {
    assert.ok(a.url.startsWith('http://mirror.internal.example:8080/'), a.url);
    assert.is(a.url, `http://mirror.internal.example:8080/${new URL(a.upstreamUrl).host}${new URL(a.upstreamUrl).pathname}`);
  }
  const node2 = c.hosts.find((h) => h.name === 'node2')!;
  assert.equal(node2.packages, ['htop', 'nfs-common']);
  assert.equal(node2.files, [{ path: '/etc/motd', content: 'Managed by ha-k8s-seed: do not edit by hand.\n', permissions: '0644', owner: 'root:root' }]);
  // Default clusterDNS: the tenth address of the default service range.
  assert.is(c.kubernetes.clusterDNS, '10.0.0.10');
});

test('examples/stacked-3cp.yaml: NICs matched by MAC, ntp servers', async () => {
  const c = await loadCluster('examples/stacked-3cp.yaml');
  assert.is(c.kubernetes.version, 'v1.35.4');
  assert.is(c.kubernetes.kubernetesServiceIP, '10.96.0.1');
  assert.is(c.kubernetes.clusterDNS, '10.96.0.10');
  assert.is(c.hosts[0]!.network.macAddress, '52:54:00:00:00:11');
  assert.equal(c.hosts[0]!.network.nameservers, ['10.10.0.1', '10.10.0.2']);
  assert.equal(c.ntp.servers, ['10.10.0.1']);
  assert.is(c.etcd.version, '3.6.14');
});

test('examples/dedicated-etcd.yaml: external etcd, arm64, an older minor pairs with etcd 3.5', async () => {
  const c = await loadCluster('examples/dedicated-etcd.yaml');
  assert.equal(c.etcd.members.map((m) => m.name), ['etcd1', 'etcd2', 'etcd3']);
  assert.is(c.kubernetes.version, 'v1.34.7');
  assert.is(c.etcd.version, '3.5.33');
  assert.is(c.image.arch, 'arm64');
  assert.ok(c.artifacts.every((a) => a.upstreamUrl.includes('arm64')));
  assert.ok(hostsWithRole(c, 'etcd').every((h) => h.roles.length === 1));
});

test('defaults: newest pinned release, eth0, /24, golden image, ECDSA P-256', () => {
  const c = clusterFromText(BASE_SPEC);
  assert.is(c.kubernetes.version, defaultKubernetesVersion);
  assert.is(c.kubernetes.serviceCIDR, '10.0.0.0/24');
  assert.is(c.kubernetes.podCIDR, '10.244.0.0/16');
  assert.is(c.kubernetes.clusterDomain, 'cluster.local');
  assert.equal(c.image, { os: 'ubuntu-24.04', arch: 'amd64', binaries: 'golden-image', name: 'ha-k8s-seed-t-v1.36.3-ubuntu-24.04-amd64' });
  assert.is(c.platform.type, 'libvirt');
  assert.equal(c.pki, { keyAlgorithm: 'ecdsa-p256', caValidityDays: 3650, certValidityDays: 365, bootstrapTokenHours: 24 });
  assert.is(c.loadBalancer!.port, 6443);
  assert.is(c.loadBalancer!.virtualRouterId, 51);
  assert.equal(c.ntp.servers, []);
  assert.is(c.hosts[0]!.network.interface, 'eth0');
});

test('pki.keySize, the older spelling, still reads: N is rsa-N', () => {
  const c = clusterFromText(BASE_SPEC.replace('hosts:\n', 'pki:\n  keySize: 4096\nhosts:\n'));
  assert.is(c.pki.keyAlgorithm, 'rsa-4096');
});

test('a single control plane without load balancers is its own endpoint', () => {
  const spec = BASE_SPEC
    .replace('loadBalancer:\n  vip: 192.168.1.100\n', '')
    .replace(/ {2}- \{ name: cp2.*\n/, '')
    .replace(/ {2}- \{ name: lb\d.*\n/g, '')
    .replace('roles: [worker, etcd]', 'roles: [worker]');
  const c = clusterFromText(spec);
  assert.is(c.loadBalancer, undefined);
  assert.equal(c.kubernetes.endpoint.url, 'https://192.168.1.11:6443');
});

test('VM sizes: the largest of a host\'s roles, per key; a host\'s own value wins', () => {
  const spec = BASE_SPEC
    .replace('hosts:\n', 'resources:\n  etcd: { memoryMiB: 8192 }\n  worker: { cpus: 8 }\nhosts:\n')
    .replace('roles: [worker, etcd] }', 'roles: [worker, etcd], diskGiB: 100 }');
  const c = clusterFromText(spec);
  assert.equal(c.hosts.find((h) => h.name === 'w1')!.vm, { cpus: 8, memoryMiB: 8192, diskGiB: 100 });
  assert.equal(c.hosts.find((h) => h.name === 'cp1')!.vm, { cpus: 2, memoryMiB: 8192, diskGiB: 30 });
  assert.equal(c.hosts.find((h) => h.name === 'lb1')!.vm, { cpus: 1, memoryMiB: 1024, diskGiB: 20 });
});

test('derived MACs: stable, per cluster, in VMware\'s static range on vsphere', () => {
  const a = clusterFromText(BASE_SPEC);
  assert.equal(clusterFromText(BASE_SPEC).hosts.map((h) => h.network.macAddress), a.hosts.map((h) => h.network.macAddress));
  const other = clusterFromText(BASE_SPEC.replace('name: t', 'name: u'));
  assert.ok(other.hosts.every((h, i) => h.network.macAddress !== a.hosts[i]!.network.macAddress));
  const vsphere = clusterFromText(BASE_SPEC.replace('hosts:\n', 'platform: vsphere\nhosts:\n'));
  for (const h of vsphere.hosts) assert.match(h.network.macAddress, /^00:50:56:[0-3][0-9a-f](:[0-9a-f]{2}){2}$/);
  assert.equal(vsphere.platform, { type: 'vsphere', template: 'ha-k8s-seed-t-v1.36.3-ubuntu-24.04-amd64', network: 'VM Network' });
});

test('proxmox: VMIDs and storages from the section, defaults for the rest', async () => {
  const c = await loadCluster('examples/stacked-3cp.yaml');
  assert.equal(c.platform, { type: 'proxmox', templateId: 9000, firstVmId: 310, bridge: 'vmbr0', storage: 'local-zfs', isoStorage: 'local' });
});

test('every example resolves', async () => {
  assert.ok(EXAMPLES.length >= 3);
  for (const f of EXAMPLES) await loadCluster(f);
});

test('etcd.backup: defaults, overrides, and enabled: false removes it from the model', () => {
  assert.equal(clusterFromText(BASE_SPEC).etcd.backup, { schedule: '*-*-* 00/6:00:00', keep: 12, directory: '/var/backups/etcd' });
  const tuned = clusterFromText(BASE_SPEC.replace('ssh:', 'etcd:\n  backup: { schedule: "Mon..Fri 02:30", keep: 30, directory: /srv/etcd-snapshots }\nssh:'));
  assert.equal(tuned.etcd.backup, { schedule: 'Mon..Fri 02:30', keep: 30, directory: '/srv/etcd-snapshots' });
  const off = clusterFromText(BASE_SPEC.replace('ssh:', 'etcd:\n  backup: { enabled: false }\nssh:'));
  assert.is(off.etcd.backup, undefined);
  assert.is(off.etcd.initialClusterToken, 't-etcd');
});

test('settings in effect say where they were written: the host, network:, resources:, or nowhere for a default', () => {
  const text = BASE_SPEC
    .replace('hosts:\n', 'kubernetes:\n  podCIDR: 10.200.0.0/16\nresources:\n  worker: { cpus: 4 }\nhosts:\n')
    .replace('roles: [worker, etcd] }', 'roles: [worker, etcd], gateway: 192.168.1.254, macAddress: "52:54:00:AB:00:01" }');
  const spec = parseSpec('spec.yaml', text).data as ClusterSpec;
  const w1 = spec.hosts.findIndex((h) => h.name === 'w1');
  const cp1 = spec.hosts.findIndex((h) => h.name === 'cp1');
  assert.equal(hostNetworkSettings(spec, w1).gateway, { value: '192.168.1.254', writtenAt: ['hosts', w1, 'gateway'] });
  assert.equal(hostNetworkSettings(spec, cp1).gateway, { value: '192.168.1.1', writtenAt: ['network', 'gateway'] });
  assert.equal(hostNetworkSettings(spec, cp1).prefixLength, { value: 24 });
  assert.equal(macAddressOf(spec, w1), { value: '52:54:00:ab:00:01', writtenAt: ['hosts', w1, 'macAddress'] });
  assert.is(macAddressOf(spec, cp1).writtenAt, undefined);
  assert.equal(vmSizeSettings(spec, w1).cpus, { value: 4, writtenAt: ['resources', 'worker', 'cpus'] });
  assert.equal(vmSizeSettings(spec, cp1).cpus, { value: 2 });
  const k8s = kubernetesSettings(spec);
  assert.equal(k8s.podCIDR, { value: '10.200.0.0/16', writtenAt: ['kubernetes', 'podCIDR'] });
  assert.equal(k8s.serviceCIDR, { value: '10.0.0.0/24' });
  assert.equal(loadBalancerSettings(spec)!.port, { value: 6443 });
  // The model holds exactly these values.
  const c = clusterFromText(text);
  assert.is(c.hosts[w1]!.network.macAddress, '52:54:00:ab:00:01', 'the spec\'s own MAC');
  const derived = c.hosts.filter((_, i) => i !== w1).map((h) => h.network.macAddress);
  // Derived ones are unicast and locally administered (the first octet's low bits are 10).
  assert.ok(derived.every((m) => /^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/.test(m)), derived.join(' '));
  assert.is(new Set(derived).size, derived.length, 'derived MACs are distinct');
  assert.is(c.hosts[w1]!.network.gateway, '192.168.1.254');
  assert.is(c.hosts[w1]!.vm.cpus, 4);
  assert.is(c.kubernetes.podCIDR, '10.200.0.0/16');
});

test.run();
