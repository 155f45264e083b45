/**
 * Every certificate of a generated PKI, checked with the real openssl: chain
 * (openssl verify), subject, SANs, key usages, validity, key size, and that
 * each key belongs to its certificate. The expectations are written out here,
 * from Kubernetes' "PKI certificates and requirements", not taken from the code.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, statSync } from 'node:fs';
import { BASE_SPEC } from './lib/spec-fixtures.ts';
import { outputOf, sharedPki, type PkiFixture } from './lib/pki-fixture.ts';

// Top-level await: a fixture that fails fails the file (uvu ignores a failing before hook).
const fx: PkiFixture = await sharedPki(BASE_SPEC);

const SERVER = 'TLS Web Server Authentication';
const CLIENT = 'TLS Web Client Authentication';
// ECDSA keys: no Key Encipherment (RFC 5480), which RSA certificates carry.
const LEAF_KU = 'Digital Signature';

interface Expected { file: string; ca: string; subject: string; eku: string; sans?: string[] }

function expectations(serviceIP: string): Expected[] {
  const etcdMember = (kind: string, name: string, address: string): Expected => ({
    file: `etcd/${kind}-${name}`, ca: 'etcd/ca', subject: `CN=${name}`, eku: `${SERVER}, ${CLIENT}`,
    sans: [`DNS:${name}`, 'DNS:localhost', `IP Address:${address}`, 'IP Address:127.0.0.1'],
  });
  return [
    ...[['cp1', '192.168.1.11'], ['cp2', '192.168.1.12'], ['w1', '192.168.1.21']].flatMap(([n, a]) => [etcdMember('server', n!, a!), etcdMember('peer', n!, a!)]),
    { file: 'etcd/healthcheck-client', ca: 'etcd/ca', subject: 'CN=kube-etcd-healthcheck-client', eku: CLIENT },
    // One per control plane: its own name and address, the VIP, the Service, loopback; never another control plane's.
    ...[['cp1', '192.168.1.11'], ['cp2', '192.168.1.12']].map(([n, a]) => ({
      file: `apiserver-${n}`, ca: 'ca', subject: 'CN=kube-apiserver', eku: SERVER,
      sans: [`DNS:${n}`, 'DNS:kubernetes', 'DNS:kubernetes.default', 'DNS:kubernetes.default.svc', 'DNS:kubernetes.default.svc.cluster.local',
        'IP Address:192.168.1.100', `IP Address:${a}`, `IP Address:${serviceIP}`, 'IP Address:127.0.0.1'],
    })),
    { file: 'apiserver-kubelet-client', ca: 'ca', subject: 'CN=kube-apiserver-kubelet-client,O=system:masters', eku: CLIENT },
    { file: 'apiserver-etcd-client', ca: 'etcd/ca', subject: 'CN=kube-apiserver-etcd-client', eku: CLIENT },
    { file: 'front-proxy-client', ca: 'front-proxy-ca', subject: 'CN=front-proxy-client', eku: CLIENT },
    { file: 'controller-manager', ca: 'ca', subject: 'CN=system:kube-controller-manager', eku: CLIENT },
    { file: 'scheduler', ca: 'ca', subject: 'CN=system:kube-scheduler', eku: CLIENT },
    { file: 'admin', ca: 'ca', subject: 'CN=kubernetes-admin,O=system:masters', eku: CLIENT },
    { file: 'kube-proxy', ca: 'ca', subject: 'CN=system:kube-proxy,O=system:node-proxier', eku: CLIENT },
    // each kubelet's serving certificate: its node name and address only
    ...[['cp1', '192.168.1.11'], ['cp2', '192.168.1.12'], ['w1', '192.168.1.21']].map(([n, a]) => ({
      file: `kubelet/${n}`, ca: 'ca', subject: `CN=system:node:${n},O=system:nodes`, eku: SERVER, sans: [`DNS:${n}`, `IP Address:${a}`],
    })),
  ];
}

interface X509Facts { subject: string; issuer: string; ca: string; ku: string; eku?: string; sans: string[]; notBefore: Date; notAfter: Date }

async function x509(file: string): Promise<X509Facts> {
  const out = await outputOf('openssl', ['x509', '-in', fx.file(`${file}.crt`), '-noout', '-nameopt', 'RFC2253', '-subject', '-issuer',
    '-startdate', '-enddate', '-ext', 'basicConstraints,keyUsage,extendedKeyUsage,subjectAltName']);
  const after = (header: RegExp) => out.match(new RegExp(`${header.source}.*\\n\\s+(.*)`))?.[1]?.trim();
  return {
    subject: out.match(/^subject=(.*)$/m)![1]!,
    issuer: out.match(/^issuer=(.*)$/m)![1]!,
    ca: after(/X509v3 Basic Constraints: critical/)!,
    ku: after(/X509v3 Key Usage: critical/)!,
    eku: after(/X509v3 Extended Key Usage:/),
    sans: (after(/X509v3 Subject Alternative Name:/) ?? '').split(', ').filter(Boolean),
    notBefore: new Date(out.match(/^notBefore=(.*)$/m)![1]!),
    notAfter: new Date(out.match(/^notAfter=(.*)$/m)![1]!),
  };
}

const DAY = 86_400_000;
function assertValidity(f: X509Facts, days: number, file: string) {
  const span = (f.notAfter.getTime() - f.notBefore.getTime()) / DAY;
  assert.ok(span >= days && span <= days + 1, `${file}: valid for ${span} days, expected ${days}`);
}

test('the three CAs: self-signed, CA:TRUE, keyCertSign, 10 years', async () => {
  for (const [file, cn] of [['ca', 'kubernetes'], ['etcd/ca', 'etcd-ca'], ['front-proxy-ca', 'front-proxy-ca']] as const) {
    const f = await x509(file);
    assert.is(f.subject, `CN=${cn}`);
    assert.is(f.issuer, `CN=${cn}`);
    assert.is(f.ca, 'CA:TRUE');
    assert.is(f.ku, 'Digital Signature, Certificate Sign');
    assertValidity(f, 3650, file);
    assert.match(await outputOf('openssl', ['verify', '-CAfile', fx.file(`${file}.crt`), fx.file(`${file}.crt`)]), /: OK/);
  }
});

test('every leaf: chain, subject, SANs, usages and one-year validity', async () => {
  const expected = expectations(fx.cluster.kubernetes.kubernetesServiceIP);
  assert.is(expected.length, fx.result.files.filter((f) => f.path.endsWith('.crt')).length - 3, 'every leaf certificate has an expectation');
  for (const e of expected) {
    const verify = await outputOf('openssl', ['verify', '-CAfile', fx.file(`${e.ca}.crt`), fx.file(`${e.file}.crt`)]);
    assert.match(verify, /: OK\n/, e.file);
    const f = await x509(e.file);
    assert.is(f.subject, e.subject, e.file);
    assert.is(f.ca, 'CA:FALSE', e.file);
    assert.is(f.ku, LEAF_KU, e.file);
    assert.is(f.eku, e.eku, e.file);
    assert.equal([...f.sans].sort(), [...(e.sans ?? [])].sort(), e.file);
    assertValidity(f, 365, e.file);
    // The wrong CA does not verify it: each CA signs only its own.
    const other = e.ca === 'ca' ? 'etcd/ca' : 'ca';
    await outputOf('openssl', ['verify', '-CAfile', fx.file(`${other}.crt`), fx.file(`${e.file}.crt`)]).then(
      () => assert.unreachable(`${e.file} verified against ${other}`),
      (err: Error) => assert.match(String((err as { stderr?: string }).stderr ?? err.message), /unable to get local issuer certificate/),
    );
  }
});

test('every key matches its certificate, is ECDSA P-256 (SEC 1, as kubeadm writes it) and is 0600; certificates are 0644', async () => {
  const certs = fx.result.files.filter((f) => f.path.endsWith('.crt')).map((f) => f.path.slice(0, -'.crt'.length));
  for (const name of certs) {
    const fromCert = await outputOf('openssl', ['x509', '-in', fx.file(`${name}.crt`), '-noout', '-pubkey']);
    const fromKey = await outputOf('openssl', ['pkey', '-in', fx.file(`${name}.key`), '-pubout']);
    assert.is(fromKey, fromCert, name);
    assert.match(await outputOf('openssl', ['pkey', '-in', fx.file(`${name}.key`), '-noout', '-text']), /Private-Key: \(256 bit[^]*ASN1 OID: prime256v1/, name);
    assert.match(readFileSync(fx.file(`${name}.key`), 'utf8'), /^-----BEGIN EC PRIVATE KEY-----\n/, name);
    assert.match(await outputOf('openssl', ['x509', '-in', fx.file(`${name}.crt`), '-noout', '-text']), /Signature Algorithm: ecdsa-with-SHA256/, name);
    assert.is(statSync(fx.file(`${name}.key`)).mode & 0o777, 0o600, name);
    assert.is(statSync(fx.file(`${name}.crt`)).mode & 0o777, 0o644, name);
  }
  // The service-account pair: sa.pub is sa.key's public half.
  assert.is(await outputOf('openssl', ['pkey', '-in', fx.file('sa.key'), '-pubout']), readFileSync(fx.file('sa.pub'), 'utf8'));
  assert.is(statSync(fx.file('sa.key')).mode & 0o777, 0o600);
});

test('secrets: 32-byte secretbox key, 8-character VRRP password, both 0600 (bootstrap tokens: bootstrap-tokens.test.ts)', () => {
  const read = (name: string) => {
    assert.is(statSync(fx.file(`secrets/${name}`)).mode & 0o777, 0o600, name);
    return readFileSync(fx.file(`secrets/${name}`), 'utf8').trim();
  };
  const key = read('encryption-key');
  assert.is(Buffer.from(key, 'base64').length, 32);
  assert.is(fx.result.bundle.secrets.encryptionKey, key);
  const vrrp = read('vrrp-password');
  assert.match(vrrp, /^[A-Za-z0-9]{8}$/);
  assert.is(fx.result.bundle.secrets.vrrpPassword, vrrp);
});

test.run();
