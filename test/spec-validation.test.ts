/**
 * One bad spec per rule: each must be refused with the field path, the line
 * and a message that says what is wrong. The base spec itself is valid.
 */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { supportedKubernetesVersions } from '../generator/versions/versions.ts';
import { formatProblem } from '../generator/input/problems.ts';
import { derivedMac } from '../generator/model/mac.ts';
import { BASE_SPEC, insertAfter, problemsOf, withLine } from './lib/spec-fixtures.ts';

test('the base spec is valid', () => {
  assert.equal(problemsOf(BASE_SPEC), []);
});

interface Case {
  rule: string;
  spec: string;
  path: string;
  line: number;
  message: RegExp;
  fix?: RegExp;
}

const hostLine = (i: number) => 10 + i;

const cases: Case[] = [
  { rule: 'unknown key, with a suggestion', spec: insertAfter(1, 'kubernetes:\n  podCidr: 10.244.0.0/16'),
    path: 'kubernetes.podCidr', line: 3, message: /unknown key "podCidr"/, fix: /did you mean "podCIDR"/ },
  { rule: 'unknown key on a host', spec: withLine(hostLine(2), '  - { name: w1, address: 192.168.1.21, roles: [worker, etcd], adress: 1 }'),
    path: 'hosts[2].adress', line: 12, message: /unknown key "adress"/, fix: /did you mean "address"/ },
  { rule: 'cluster name not a DNS label', spec: withLine(1, 'name: Bad_Name'),
    path: 'name', line: 1, message: /"Bad_Name" is not valid: Cluster name: a DNS label/ },
  { rule: 'host name not a DNS label', spec: withLine(hostLine(1), '  - { name: cp_2, address: 192.168.1.12, roles: [control-plane, etcd] }'),
    path: 'hosts[1].name', line: 11, message: /"cp_2" is not valid/, fix: /did you mean "cp-2"\?/ },
  { rule: 'malformed address', spec: withLine(hostLine(2), '  - { name: w1, address: 192.168.1.300, roles: [worker, etcd] }'),
    path: 'hosts[2].address', line: 12, message: /"192.168.1.300" is not an IPv4 address/ },
  { rule: 'malformed CIDR', spec: insertAfter(1, 'kubernetes:\n  serviceCIDR: 10.0.0.0/33'),
    path: 'kubernetes.serviceCIDR', line: 3, message: /is not an IPv4 CIDR/ },
  { rule: 'CIDR with host bits', spec: insertAfter(1, 'kubernetes:\n  serviceCIDR: 10.0.0.5/24'),
    path: 'kubernetes.serviceCIDR', line: 3, message: /host bits set/, fix: /write 10\.0\.0\.0\/24/ },
  { rule: 'malformed MAC address', spec: withLine(hostLine(2), '  - { name: w1, address: 192.168.1.21, roles: [worker, etcd], macAddress: "52:54:00:zz:00:01" }'),
    path: 'hosts[2].macAddress', line: 12, message: /is not valid/, fix: /six two-digit hex numbers separated by colons/ },
  { rule: 'unknown role, with a suggestion', spec: withLine(hostLine(2), '  - { name: w1, address: 192.168.1.21, roles: [wroker, etcd] }'),
    path: 'hosts[2].roles[0]', line: 12, message: /"wroker" is not one of/, fix: /did you mean "worker"/ },
  { rule: 'duplicate host name', spec: withLine(hostLine(1), '  - { name: cp1, address: 192.168.1.12, roles: [control-plane, etcd] }'),
    path: 'hosts[1].name', line: 11, message: /duplicate host name "cp1", already used by hosts\[0\]/ },
  { rule: 'duplicate address', spec: withLine(hostLine(1), '  - { name: cp2, address: 192.168.1.11, roles: [control-plane, etcd] }'),
    path: 'hosts[1].address', line: 11, message: /duplicate address 192\.168\.1\.11, already used by hosts\[0\] \(cp1\)/ },
  { rule: 'host outside the network of the shared gateway', spec: withLine(hostLine(2), '  - { name: w1, address: 10.9.9.21, roles: [worker, etcd] }'),
    path: 'hosts[2].address', line: 12, message: /10\.9\.9\.21\/24 is outside the network of gateway 192\.168\.1\.1/ },
  { rule: "host's own gateway outside its subnet", spec: withLine(hostLine(2), '  - { name: w1, address: 192.168.1.21, roles: [worker, etcd], gateway: 192.168.7.1 }'),
    path: 'hosts[2].gateway', line: 12, message: /gateway 192\.168\.7\.1 is outside the host's subnet 192\.168\.1\.0\/24/ },
  { rule: 'host on the broadcast address', spec: withLine(hostLine(2), '  - { name: w1, address: 192.168.1.255, roles: [worker, etcd] }'),
    path: 'hosts[2].address', line: 12, message: /network or broadcast address/ },
  { rule: 'VIP equal to a host address', spec: withLine(6, '  vip: 192.168.1.12'),
    path: 'loadBalancer.vip', line: 6, message: /VIP 192\.168\.1\.12 is the address of hosts\[1\] \(cp2\)/ },
  { rule: "VIP outside the load balancers' subnet", spec: withLine(6, '  vip: 192.168.2.100'),
    path: 'loadBalancer.vip', line: 6, message: /outside the subnet 192\.168\.1\.0\/24 of load balancer lb1/ },
  { rule: 'service and pod CIDRs overlap', spec: insertAfter(1, 'kubernetes:\n  serviceCIDR: 10.244.0.0/24'),
    path: 'kubernetes.serviceCIDR', line: 3, message: /podCIDR 10\.244\.0\.0\/16 overlaps serviceCIDR 10\.244\.0\.0\/24/ },
  { rule: 'service CIDR overlaps the host network', spec: insertAfter(1, 'kubernetes:\n  serviceCIDR: 192.168.0.0/16'),
    path: 'kubernetes.serviceCIDR', line: 3, message: /serviceCIDR 192\.168\.0\.0\/16 overlaps the host network 192\.168\.1\.0\/24 of cp1/ },
  { rule: 'pod CIDR overlaps the host network', spec: insertAfter(1, 'kubernetes:\n  podCIDR: 192.168.0.0/16'),
    path: 'kubernetes.podCIDR', line: 3, message: /podCIDR 192\.168\.0\.0\/16 overlaps the host network/ },
  { rule: 'pod CIDR too small for the nodes', spec: insertAfter(1, 'kubernetes:\n  podCIDR: 10.244.0.0/23'),
    path: 'kubernetes.podCIDR', line: 3, message: /holds 2 node \/24s, fewer than the cluster's 3 nodes/, fix: /use a \/22 or larger, e\.g\. 10\.244\.0\.0\/22/ },
  { rule: 'clusterDNS outside the service CIDR', spec: insertAfter(1, 'kubernetes:\n  clusterDNS: 10.1.0.10'),
    path: 'kubernetes.clusterDNS', line: 3, message: /clusterDNS 10\.1\.0\.10 is outside serviceCIDR 10\.0\.0\.0\/24/, fix: /10\.0\.0\.10/ },
  { rule: 'clusterDNS on the kubernetes Service address', spec: insertAfter(1, 'kubernetes:\n  clusterDNS: 10.0.0.1'),
    path: 'kubernetes.clusterDNS', line: 3, message: /address of the kubernetes Service/ },
  { rule: 'even number of etcd members', spec: withLine(hostLine(2), '  - { name: w1, address: 192.168.1.21, roles: [worker] }'),
    path: 'hosts[1].roles', line: 11, message: /2 hosts have the etcd role; etcd needs an odd number/, fix: /use 1 or 3 etcd members/ },
  { rule: 'no etcd member', spec: BASE_SPEC.replace(/, etcd\]/g, ']'),
    path: 'hosts', line: 10, message: /no host has the etcd role/ },
  { rule: 'no control plane', spec: BASE_SPEC.replace(/control-plane, /g, 'worker, '),
    path: 'hosts', line: 10, message: /no host has the control-plane role/ },
  { rule: 'a single load balancer', spec: withLine(hostLine(4), '  - { name: lb2, address: 192.168.1.32, roles: [worker] }'),
    path: 'hosts[3].roles', line: 13, message: /only one host has the load-balancer role/ },
  { rule: 'VIP without a load balancer', spec: BASE_SPEC.replace(/roles: \[load-balancer\]/g, 'roles: [worker]'),
    path: 'loadBalancer.vip', line: 6, message: /VIP 192\.168\.1\.100 has no load balancer to hold it/ },
  { rule: 'load balancers without a VIP', spec: withLine(5, '', withLine(6, '')),
    path: '', line: 1, message: /no loadBalancer section/ },
  { rule: 'several control planes and no load balancer', spec: withLine(5, '', withLine(6, '', BASE_SPEC.replace(/roles: \[load-balancer\]/g, 'roles: [worker]'))),
    path: 'hosts[1].roles', line: 11, message: /2 control planes but no load balancer/ },
  { rule: 'LB port colliding with the apiserver on a shared host', spec: withLine(hostLine(3), '  - { name: lb1, address: 192.168.1.31, roles: [load-balancer, control-plane] }'),
    path: 'hosts[3].roles', line: 13, message: /port 6443 on lb1: kube-apiserver and nginx would both listen on it/, fix: /set loadBalancer\.port to a port free on lb1, e\.g\. 8443/ },
  { rule: 'apiserver port taken by etcd on the same host', spec: insertAfter(1, 'kubernetes:\n  apiserverPort: 2379'),
    path: 'kubernetes.apiserverPort', line: 3, message: /port 2379 on 2 hosts \(cp1, cp2\): etcd \(clients\) and kube-apiserver would both listen on it/, fix: /e\.g\. 6443/ },
  { rule: "apiserver port taken by the kubelet", spec: insertAfter(1, 'kubernetes:\n  apiserverPort: 10250'),
    path: 'kubernetes.apiserverPort', line: 3, message: /port 10250 on 2 hosts \(cp1, cp2\): kube-apiserver and kubelet would both listen on it/ },
  { rule: 'LB port taken by sshd', spec: insertAfter(6, '  port: 22'),
    path: 'loadBalancer.port', line: 7, message: /port 22 on 2 hosts \(lb1, lb2\): sshd and nginx would both listen on it/ },
  { rule: 'LB port taken by etcd on a shared host', spec: insertAfter(6, '  port: 2380', withLine(hostLine(2), '  - { name: w1, address: 192.168.1.21, roles: [worker] }', withLine(hostLine(3), '  - { name: lb1, address: 192.168.1.31, roles: [load-balancer, etcd] }'))),
    path: 'loadBalancer.port', line: 7, message: /port 2380 on lb1: etcd \(peers\) and nginx/ },
  { rule: 'VIP equal to the gateway', spec: withLine(6, '  vip: 192.168.1.1'),
    path: 'loadBalancer.vip', line: 6, message: /VIP 192\.168\.1\.1 is the gateway of cp1/ },
  { rule: 'VIP equal to a nameserver', spec: insertAfter(4, '  nameservers: [192.168.1.100]'),
    path: 'loadBalancer.vip', line: 7, message: /VIP 192\.168\.1\.100 is a nameserver of cp1/ },
  { rule: 'host named localhost', spec: withLine(hostLine(2), '  - { name: localhost, address: 192.168.1.21, roles: [worker, etcd] }'),
    path: 'hosts[2].name', line: 12, message: /"localhost" is the loopback name/ },
  { rule: 'clusterDomain with a trailing dot', spec: insertAfter(1, 'kubernetes:\n  clusterDomain: cluster.local.'),
    path: 'kubernetes.clusterDomain', line: 3, message: /must be lowercase without a trailing dot/, fix: /^write cluster\.local$/ },
  { rule: 'multicast MAC address', spec: withLine(hostLine(2), '  - { name: w1, address: 192.168.1.21, roles: [worker, etcd], macAddress: "01:00:5e:00:00:01" }'),
    path: 'hosts[2].macAddress', line: 12, message: /is a multicast MAC/ },
  { rule: 'nameservers on some nodes only', spec: withLine(hostLine(2), '  - { name: w1, address: 192.168.1.21, roles: [worker, etcd], nameservers: [192.168.1.53] }'),
    path: 'hosts[0]', line: 10, message: /cp1 has no nameservers while w1 has: CoreDNS forwards to the resolvers of the node it runs on/ },
  { rule: 'file listed twice under another spelling', spec: insertAfter(8, 'files:\n  - { path: /etc/motd, content: a }\n  - { path: /etc//./motd, content: b }'),
    path: 'files[1].path', line: 11, message: /\/etc\/motd is listed twice \("\/etc\/\/\.\/motd" is \/etc\/motd\), first at files\[0\]/ },
  { rule: 'file on a path the tool writes, under another spelling', spec: insertAfter(8, 'files:\n  - { path: "/etc/kubernetes//pki/../pki/ca.key", content: x }'),
    path: 'files[0].path', line: 10, message: /^\/etc\/kubernetes\/pki\/ca\.key \(written ".*"\) is written by the tool itself on cp1, cp2: it belongs to the PKI/ },
  { rule: "host file on a role's generated config", spec: withLine(hostLine(2), '  - { name: w1, address: 192.168.1.21, roles: [worker, etcd], files: [{ path: /etc/containerd/config.toml, content: x }] }'),
    path: 'hosts[2].files[0].path', line: 12, message: /\/etc\/containerd\/config\.toml is written by the tool itself on w1: it belongs to the node recipe \(templates\/node\/containerd-config\.toml\.hbs\)/ },
  { rule: 'file on a folder the tool writes into', spec: insertAfter(8, 'files:\n  - { path: /etc/kubernetes/pki, content: x }'),
    path: 'files[0].path', line: 10, message: /\/etc\/kubernetes\/pki is a folder of \/etc\/kubernetes\/pki\/.*, which the tool writes/ },
  { rule: 'NTP server carrying a chrony directive', spec: insertAfter(8, 'ntp:\n  servers: ["a iburst\\nserver 6.6.6.6 iburst"]'),
    path: 'ntp.servers[0]', line: 10, message: /"a iburst\\nserver 6\.6\.6\.6 iburst" is not a time server's name or IPv4 address/ },
  { rule: "package name the distribution's installer does not take", spec: insertAfter(8, 'image: { os: rocky-9 }\npackages: [htop=3.3.0]'),
    path: 'packages[0]', line: 10, message: /"htop=3\.3\.0" is not a RPM package name as dnf takes it on rocky-9/, fix: /htop-3\.3\.0/ },
  { rule: 'mirror URL with credentials or a query', spec: insertAfter(8, 'image: { mirror: "http://u:p@mirror.example/k8s?x=$(reboot)" }'),
    path: 'image.mirror', line: 9, message: /is not a plain base URL/ },
  { rule: 'file content over the size limit', spec: insertAfter(8, `files:\n  - { path: /etc/big, content: "${'x'.repeat(300 * 1024)}" }`),
    path: 'files[0].content', line: 10, message: /the content of \/etc\/big is 300 KiB, over the 256 KiB limit/ },
  { rule: 'SSH key that is not a public key line', spec: withLine(8, '  authorizedKeys: ["AAAAC3NzaC1lZDI1NTE5 ops@example"]'),
    path: 'ssh.authorizedKeys[0]', line: 8, message: /is not valid/, fix: /paste one line of a public key file/ },
  { rule: 'package name with a space', spec: insertAfter(8, 'packages: ["htop vim"]'),
    path: 'packages[0]', line: 9, message: /"htop vim" is not valid/, fix: /one package name per item/ },
  { rule: "gateway outside every host's subnet", spec: withLine(4, '  gateway: 10.9.9.1'),
    path: 'network.gateway', line: 4, message: /gateway 10\.9\.9\.1 is outside the subnet of every host that uses it \(192\.168\.1\.0\/24\)/, fix: /use a gateway in 192\.168\.1\.0\/24/ },
  { rule: 'a key written twice, named', spec: withLine(hostLine(2), '  - { name: w1, address: 192.168.1.21, roles: [worker, etcd], name: w2 }'),
    path: '', line: 12, message: /not valid YAML: the key "name" is written twice in one mapping/, fix: /keep one/ },
  { rule: 'YAML merge key', spec: insertAfter(1, 'kubernetes:\n  <<: { podCIDR: 10.244.0.0/16 }'),
    path: 'kubernetes.<<', line: 3, message: /YAML merge keys \(<<\) are not supported/ },
  { rule: 'wrong type, said with its article', spec: insertAfter(1, 'kubernetes:\n  apiserverPort: "6443"'),
    path: 'kubernetes.apiserverPort', line: 3, message: /^must be an integer, not "6443"$/ },
  { rule: 'aliases expanding past the limit', spec: `${BASE_SPEC}a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n`,
    path: '', line: 16, message: /expands through its aliases to more than 200000 values/ },
  { rule: 'virtual router id out of range', spec: insertAfter(6, '  virtualRouterId: 300'),
    path: 'loadBalancer.virtualRouterId', line: 7, message: /must be <= 255/ },
  { rule: 'unsupported Kubernetes version, naming the supported ones', spec: insertAfter(1, 'kubernetes:\n  version: v1.18.3'),
    path: 'kubernetes.version', line: 3, message: /Kubernetes v1\.18\.3 is not supported/, fix: new RegExp(supportedKubernetesVersions.map((v) => v.replace(/\./g, '\\.')).join(', ')) },
  { rule: 'unpinned etcd version', spec: insertAfter(1, 'etcd:\n  version: 3.4.23'),
    path: 'etcd.version', line: 3, message: /etcd 3\.4\.23 is not pinned/ },
  { rule: 'pki.keySize and pki.keyAlgorithm both given', spec: insertAfter(1, 'pki:\n  keyAlgorithm: ecdsa-p256\n  keySize: 3072'),
    path: 'pki.keySize', line: 4, message: /older spelling of pki\.keyAlgorithm: give one of them, not both/ },
  { rule: 'unknown key algorithm', spec: insertAfter(1, 'pki:\n  keyAlgorithm: ed25519'),
    path: 'pki.keyAlgorithm', line: 3, message: /ecdsa-p256/ },
  { rule: 'missing required key', spec: withLine(7, '', withLine(8, '')),
    path: '', line: 1, message: /missing required key "ssh"/ },
  { rule: 'wrong type', spec: withLine(4, '  gateway: [192.168.1.1]'),
    path: 'network.gateway', line: 4, message: /must be a string/ },
  { rule: 'YAML syntax error', spec: withLine(hostLine(2), '  - { name: w1, address: 192.168.1.21, roles: [worker, etcd }'),
    path: '', line: 12, message: /not valid YAML/ },
  { rule: 'empty spec', spec: '# nothing here\n',
    path: '', line: 1, message: /the spec is empty/ },
  { rule: 'etcd backup schedule systemd would refuse', spec: insertAfter(1, 'etcd:\n  backup:\n    schedule: "*-*-* 24:00"'),
    path: 'etcd.backup.schedule', line: 4, message: /"\*-\*-\* 24:00" is not a systemd OnCalendar schedule: hour 24 is outside 0-23/, fix: /Mon\.\.Fri 02:30/ },
  { rule: 'etcd backup schedule that never comes', spec: insertAfter(1, 'etcd:\n  backup:\n    schedule: "*-02-30 01:00"'),
    path: 'etcd.backup.schedule', line: 4, message: /never comes/ },
  { rule: 'etcd backup folder inside the data folder', spec: insertAfter(1, 'etcd:\n  backup:\n    directory: /var/lib/etcd/snapshots'),
    path: 'etcd.backup.directory', line: 4, message: /inside etcd's data folder \/var\/lib\/etcd/ },
  { rule: 'etcd backup folder not absolute', spec: insertAfter(1, 'etcd:\n  backup:\n    directory: backups/etcd'),
    path: 'etcd.backup.directory', line: 4, message: /"backups\/etcd" is not valid: Absolute folder/ },
  { rule: 'etcd backup keep below 1', spec: insertAfter(1, 'etcd:\n  backup:\n    keep: 0'),
    path: 'etcd.backup.keep', line: 4, message: /must be >= 1/ },
  // --- platform and VM sizes
  { rule: 'a section for another platform', spec: insertAfter(1, 'proxmox:\n  templateId: 9000'),
    path: 'proxmox', line: 2, message: /a proxmox section, but platform is libvirt \(the default\)/, fix: /set platform: proxmox/ },
  { rule: 'proxmox without its section', spec: insertAfter(1, 'platform: proxmox'),
    path: 'platform', line: 2, message: /needs a proxmox section with the templateId/ },
  { rule: 'proxmox without templateId', spec: insertAfter(1, 'platform: proxmox\nproxmox:\n  firstVmId: 200'),
    path: 'proxmox', line: 4, message: /missing required key "templateId"/ },
  { rule: 'template VMID among the hosts\' VMIDs', spec: insertAfter(1, 'platform: proxmox\nproxmox:\n  templateId: 102'),
    path: 'proxmox.templateId', line: 4, message: /VMID 102 of the template is among the hosts' VMIDs 100-104/, fix: /firstVmId to 103/ },
  { rule: 'libvirt network and bridge both', spec: insertAfter(1, 'libvirt:\n  network: default\n  bridge: br0'),
    path: 'libvirt.bridge', line: 4, message: /both given/ },
  { rule: 'unknown platform', spec: insertAfter(1, 'platform: virtualbox'),
    path: 'platform', line: 2, message: /is not one of: libvirt, proxmox, vsphere/ },
  { rule: 'control plane with one CPU', spec: withLine(hostLine(0), '  - { name: cp1, address: 192.168.1.11, roles: [control-plane, etcd], cpus: 1 }'),
    path: 'hosts[0].cpus', line: 10, message: /cp1 is a control plane with 1 CPU; Kubernetes needs at least 2/ },
  { rule: 'a node under 2 GiB, from the role sizes', spec: insertAfter(1, 'resources:\n  worker: { memoryMiB: 1024 }\n  etcd: { memoryMiB: 1024 }'),
    path: 'resources.worker.memoryMiB', line: 3, message: /w1 runs kubelet with 1024 MiB; Kubernetes needs at least 2048 MiB/ },
  { rule: 'disk smaller than the golden image', spec: withLine(hostLine(3), '  - { name: lb1, address: 192.168.1.31, roles: [load-balancer], diskGiB: 10 }'),
    path: 'hosts[3].diskGiB', line: 13, message: /must be >= 20/ },
  { rule: 'a given MAC equal to another host\'s derived one', spec: withLine(hostLine(3), `  - { name: lb1, address: 192.168.1.31, roles: [load-balancer], macAddress: "${derivedMac('t', 'lb2', 'libvirt')}" }`),
    path: 'hosts[3].macAddress', line: 13, message: /is the one derived for lb2/ },
  { rule: 'a MAC vCenter refuses', spec: insertAfter(1, 'platform: vsphere', withLine(hostLine(3), '  - { name: lb1, address: 192.168.1.31, roles: [load-balancer], macAddress: "02:00:00:00:00:01" }')),
    path: 'hosts[3].macAddress', line: 14, message: /vCenter accepts a manually set MAC only in 00:50:56:00:00:00-00:50:56:3f:ff:ff/ },
];

for (const c of cases) {
  test(`refuses: ${c.rule}`, () => {
    const problems = problemsOf(c.spec);
    const found = problems.find((p) => p.path === c.path && c.message.test(p.message));
    assert.ok(found, `expected a problem at ${c.path} matching ${c.message}; got:\n${problems.map(formatProblem).join('\n')}`);
    assert.is(found!.line, c.line, `line of ${formatProblem(found!)}`);
    assert.is(found!.file, 'spec.yaml');
    if (c.fix) assert.match(found!.fix ?? '', c.fix);
  });
}

/** The rows of the README's validation rules table: rule and the field it reports at. */
function readmeRules(): { rule: string; field: string }[] {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(readme.indexOf('### What validation checks'), readme.indexOf('## Layout'));
  return section.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| Rule |') && !l.startsWith('| ---'))
    .map((l) => l.split('|').map((c) => c.trim()))
    .map((cells) => ({ rule: cells[1]!, field: cells[2]!.replace(/^`|`$/g, '') }));
}

test("the README's validation rules table lists exactly the rules tested here, each with its field", () => {
  const documented = readmeRules();
  const tested = cases.map((c) => ({ rule: c.rule, field: c.path || '(the whole file)' }));
  assert.equal(documented, tested);
});

test('every problem is reported at once, in file order', () => {
  let spec = withLine(1, 'name: Bad_Name');
  spec = withLine(hostLine(2), '  - { name: w1, address: 192.168.1.300, roles: [worker, etcd] }', spec);
  spec = insertAfter(6, '  virtualRouterId: 0', spec);
  const problems = problemsOf(spec);
  assert.equal(problems.map((p) => p.path), ['name', 'loadBalancer.virtualRouterId', 'hosts[2].address']);
  const semantic = problemsOf(withLine(6, '  vip: 192.168.1.11', withLine(hostLine(1), '  - { name: cp1, address: 192.168.1.13, roles: [control-plane, etcd] }')));
  assert.equal(semantic.map((p) => p.path), ['loadBalancer.vip', 'hosts[1].name'], semantic.map(formatProblem).join('\n'));
});

test('a long value is quoted in part: no message floods the terminal', () => {
  const long = 'A'.repeat(100_000);
  const problems = problemsOf(withLine(hostLine(2), `  - { name: ${long}, address: 192.168.1.21, roles: [worker, etcd] }`));
  const p = problems.find((x) => x.path === 'hosts[2].name')!;
  assert.ok(p, problems.map(formatProblem).join('\n').slice(0, 500));
  assert.ok(formatProblem(p).length < 600, `${formatProblem(p).length} characters`);
  assert.match(p.message, /"AAAA+… \(100000 characters\) is not valid/);
  // a bomb whose value a message would quote: bounded too
  const bomb = insertAfter(8, 'ntp: { servers: [&a [x, x, x, x, x, x, x, x], [*a, *a, *a, *a, *a, *a, *a, *a]] }');
  assert.ok(problemsOf(bomb).map(formatProblem).join('\n').length < 2000);
});

test('a problem prints as file:line:column: field: message, with the fix indented', () => {
  const [p] = problemsOf(insertAfter(1, 'kubernetes:\n  podCidr: 10.244.0.0/16'));
  assert.is(formatProblem(p!), 'spec.yaml:3:3: kubernetes.podCidr: unknown key "podCidr"\n    fix: did you mean "podCIDR"?');
});

test.run();
