/**
 * Least privilege: what each role receives is exactly the README's "Who gets
 * what" table, and no host ever holds the etcd or front-proxy CA key; the
 * kubernetes CA key only where kube-controller-manager runs.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ROLES, hasRole, type Host, type Role } from '../generator/model/types.ts';
import { credentialsFor, generateKey, grantsFor, HOST_PKI, ON_HOST } from '../generator/pki/index.ts';
import { seedKeyPem } from '../generator/pki/host-key.ts';
import { sharedPki, type PkiFixture } from './lib/pki-fixture.ts';

// Every role on hosts of its own, and etcd stacked on control planes and workers too.
const SPEC = `name: access
network: { interface: eth0, gateway: 192.168.7.1 }
loadBalancer: { vip: 192.168.7.100 }
ssh: { authorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGkyzZ9VSSD3SfMSztbNsk72/OXEltz6Y/jDp3R219OF t@example"] }
hosts:
  - { name: etcd1, address: 192.168.7.11, roles: [etcd] }
  - { name: etcd2, address: 192.168.7.12, roles: [etcd] }
  - { name: etcd3, address: 192.168.7.13, roles: [etcd] }
  - { name: cp1, address: 192.168.7.21, roles: [control-plane, etcd] }
  - { name: cp2, address: 192.168.7.22, roles: [control-plane] }
  - { name: w1, address: 192.168.7.31, roles: [worker, etcd] }
  - { name: w2, address: 192.168.7.32, roles: [worker] }
  - { name: lb1, address: 192.168.7.41, roles: [load-balancer] }
  - { name: lb2, address: 192.168.7.42, roles: [load-balancer] }
`;

// Top-level await: a fixture that fails fails the file (uvu ignores a failing before hook).
const fx: PkiFixture = await sharedPki(SPEC);

/** The README table: role -> every file name it lists for that role. */
function readmeTable(): Map<Role, Set<string>> {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(readme.indexOf('### Who gets what'));
  const lines = section.split('\n').filter((l) => l.startsWith('| ')).slice(0, 200);
  const header = lines[0]!.split('|').map((c) => c.trim()).slice(1, -1);
  assert.equal(header, ['On the host', ...ROLES]);
  const table = new Map<Role, Set<string>>(ROLES.map((r) => [r, new Set()]));
  for (const line of lines.slice(2)) {
    const cells = line.split('|').map((c) => c.trim()).slice(1, -1);
    if (cells.length !== header.length) break; // the next table
    const names = [...cells[0]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    ROLES.forEach((role, i) => { if (cells[i + 1] === '✓') for (const n of names) table.get(role)!.add(n); });
  }
  return table;
}

/** What a host receives, named as the README names it. */
function received(host: Host): Set<string> {
  const files = credentialsFor(fx.cluster, host, fx.result.bundle).map((c) => c.path.slice(HOST_PKI.dir.length + 1));
  const embedded = grantsFor(host).flatMap((g) => (g.embeddedIn ? [g.embeddedIn] : []));
  return new Set([...files, ...embedded]);
}

test('each role receives exactly what the README table lists', () => {
  const table = readmeTable();
  for (const role of ROLES) {
    const hosts = fx.cluster.hosts.filter((h) => h.roles.length === 1 && hasRole(h, role));
    assert.ok(hosts.length > 0, `a host with only the ${role} role`);
    for (const host of hosts) assert.equal([...received(host)].sort(), [...table.get(role)!].sort(), `${host.name} (${role})`);
  }
  // A host with several roles gets the union, nothing more.
  for (const host of fx.cluster.hosts.filter((h) => h.roles.length > 1)) {
    const union = new Set(host.roles.flatMap((r) => [...table.get(r)!]));
    assert.equal([...received(host)].sort(), [...union].sort(), host.name);
  }
});

test('no host holds the etcd or front-proxy CA key; the kubernetes CA key only on control planes', () => {
  const b = fx.result.bundle;
  for (const host of fx.cluster.hosts) {
    const contents = credentialsFor(fx.cluster, host, b).map((c) => c.content);
    // A seed carries a key in its compact form (pki/host-key.ts): compared as such, or the checks would hold trivially.
    assert.not.ok(contents.includes(seedKeyPem(b.ca.etcd.keyPem)), `${host.name} holds the etcd CA key`);
    assert.not.ok(contents.includes(seedKeyPem(b.ca.frontProxy.keyPem)), `${host.name} holds the front-proxy CA key`);
    assert.is(contents.includes(seedKeyPem(b.ca.kubernetes.keyPem)), hasRole(host, 'control-plane'), `${host.name}: kubernetes CA key`);
    // Nor through anything embedded: CA keys are never granted except that one.
    for (const g of grantsFor(host)) if (g.item.startsWith('ca/') && g.part === 'key') assert.is(g.item, 'ca/kubernetes');
  }
});

test('load balancers get no certificate or key; etcd-only hosts only etcd files, their own', () => {
  const b = fx.result.bundle;
  for (const host of fx.cluster.hosts) {
    const creds = credentialsFor(fx.cluster, host, b);
    if (hasRole(host, 'load-balancer') && host.roles.length === 1) assert.equal(creds, []);
    if (hasRole(host, 'etcd')) {
      const server = creds.find((c) => c.path === `${HOST_PKI.etcdDir}/server.crt`)!;
      assert.is(server.content, b.etcd.server[host.name]!.certPem, `${host.name} gets its own member's certificate`);
      assert.is(creds.find((c) => c.path === `${HOST_PKI.etcdDir}/peer.key`)!.content, seedKeyPem(b.etcd.peer[host.name]!.keyPem));
      if (host.roles.length === 1) assert.ok(creds.every((c) => c.path.startsWith(`${HOST_PKI.etcdDir}/`)), host.name);
    }
  }
});

test("a host's EC key is the state's key without its public point: smaller, the same key (OpenSSL derives its certificate's public key), still SEC 1; RSA keys unchanged", async () => {
  const spki = (key: KeyObject) => key.export({ type: 'spki', format: 'der' }).toString('hex');
  for (const host of fx.cluster.hosts) {
    for (const c of credentialsFor(fx.cluster, host, fx.result.bundle)) {
      if (!/PRIVATE KEY/.test(c.content)) continue;
      assert.match(c.content, /^-----BEGIN EC PRIVATE KEY-----\n(?:[A-Za-z0-9+/=]{1,64}\n)+-----END EC PRIVATE KEY-----\n$/, `${host.name} ${c.path}`);
      const cert = credentialsFor(fx.cluster, host, fx.result.bundle).find((x) => x.path === c.path.replace(/\.key$/, '.crt'));
      // sa.key has no certificate: its public half is the state's sa.pub.
      const expected = spki(cert ? new X509Certificate(cert.content).publicKey : createPublicKey(fx.result.bundle.serviceAccount.publicKeyPem));
      assert.ok(cert || c.path === ON_HOST.serviceAccount.key.path, `${host.name} ${c.path}: a key without its certificate`);
      assert.is(spki(createPublicKey(createPrivateKey(c.content))), expected, `${host.name} ${c.path} is the key of ${cert?.path ?? 'sa.pub'}`);
      assert.ok(c.content.length < 150, `${host.name} ${c.path}: ${c.content.length} characters, the public point left out`);
    }
  }
  const rsa = await generateKey('rsa-2048');
  assert.is(seedKeyPem(rsa.privateKeyPem), rsa.privateKeyPem);
});

test('keys are 0600, certificates 0644', () => {
  for (const host of fx.cluster.hosts) {
    for (const c of credentialsFor(fx.cluster, host, fx.result.bundle)) {
      const secret = /PRIVATE KEY/.test(c.content);
      assert.is(c.permissions, secret ? '0600' : '0644', `${host.name} ${c.path}`);
      assert.is(secret, c.path.endsWith('.key'), c.path);
    }
  }
});

test.run();
