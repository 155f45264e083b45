/**
 * The PKI between runs: reused byte for byte, reissued exactly where the spec
 * changed, never replaced silently, rotated only on request, intact after a
 * failed or interrupted run, and never printed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from '../generator/generate.ts';
import { writeTree } from '../generator/output/tree.ts';
import { ensurePki, PkiError } from '../generator/pki/index.ts';
import { clusterFromText } from '../generator/input/validate.ts';
import { BASE_SPEC, insertAfter } from './lib/spec-fixtures.ts';
import { makePki, rerun, outputOf, sharedPki, type PkiFixture } from './lib/pki-fixture.ts';
import { snapshot } from './lib/tree-snapshot.ts';
import { STATE_WRITE } from '../generator/state/state.ts';

// Top-level await: a fixture that fails fails the file (uvu ignores a failing before hook).
// The shared PKI is only read: every test works on a copy of it in a folder of its own.
const fx: PkiFixture = await sharedPki(BASE_SPEC);
const pristine = join(fx.work, 'pristine');
cpSync(fx.pkiDir, pristine, { recursive: true });
test.after(() => fx.remove());

/** Each test starts from the state as first generated, in a folder of its own. */
function freshCopy(name: string): { pkiDir: string } {
  const pkiDir = join(fx.work, name, `${fx.cluster.name}.pki`);
  cpSync(pristine, pkiDir, { recursive: true });
  return { pkiDir };
}

const contents = (files: { path: string; content: string | Uint8Array }[]) => Object.fromEntries(files.map((f) => [f.path, String(f.content)]));

test('a new PKI: everything created, nothing to re-provision', () => {
  assert.is(fx.result.reissued.length, 0);
  assert.ok(fx.result.created.some((c) => c.item === 'ca/kubernetes'));
  assert.equal(fx.result.hostsToReprovision, []);
});

test('an unchanged spec: byte-identical files, nothing created or reissued, nothing rewritten', async () => {
  const copy = freshCopy('same');
  const before = snapshot(copy.pkiDir);
  const again = await ensurePki(fx.cluster, copy.pkiDir);
  assert.equal(again.created, []);
  assert.equal(again.reissued, []);
  assert.equal(again.hostsToReprovision, []);
  assert.equal(contents(again.files), contents(fx.result.files));
  const report = await writeTree(copy.pkiDir, again.files, STATE_WRITE);
  assert.equal(report.written, []);
  assert.equal(snapshot(copy.pkiDir), before, 'same bytes, same inodes');
});

test('a changed VIP reissues exactly the control planes\' apiserver certificates, same keys, same CA', async () => {
  const copy = freshCopy('vip');
  const cluster = clusterFromText(BASE_SPEC.replace('vip: 192.168.1.100', 'vip: 192.168.1.101'));
  const result = await rerun(copy, cluster);
  assert.equal(result.created, []);
  assert.equal(result.reissued.map((r) => r.path), ['apiserver-cp1.crt', 'apiserver-cp2.crt']);
  for (const r of result.reissued) assert.match(r.reason, /SANs \+IP:192\.168\.1\.101 -IP:192\.168\.1\.100/);
  assert.equal(result.hostsToReprovision, ['cp1', 'cp2']);
  const was = contents(fx.result.files);
  const now = contents(result.files);
  for (const path of Object.keys(was)) {
    if (path === 'apiserver-cp1.crt' || path === 'apiserver-cp2.crt') assert.is.not(now[path], was[path]);
    else assert.is(now[path], was[path], `${path} kept`);
  }
  for (const cp of ['cp1', 'cp2']) assert.is(result.bundle.apiserver[cp]!.keyPem, fx.result.bundle.apiserver[cp]!.keyPem);
});

test('a new control plane and etcd members: their etcd certificates, the new apiserver\'s and kubelet\'s serving certificates created, no other control plane\'s reissued', async () => {
  const copy = freshCopy('cp3');
  // etcd wants an odd count: 3 -> 5 members.
  const cluster = clusterFromText(insertAfter(11, '  - { name: cp3, address: 192.168.1.13, roles: [control-plane, etcd] }\n  - { name: e5, address: 192.168.1.15, roles: [etcd] }'));
  const result = await rerun(copy, cluster);
  assert.equal(result.created.map((c) => c.path).sort(), ['apiserver-cp3.crt', 'etcd/peer-cp3.crt', 'etcd/peer-e5.crt', 'etcd/server-cp3.crt', 'etcd/server-e5.crt', 'kubelet/cp3.crt']);
  assert.equal(result.reissued, []);
  const sans = new X509Certificate(result.bundle.apiserver.cp3!.certPem).subjectAltName ?? '';
  assert.ok(sans.includes('DNS:cp3') && sans.includes('IP Address:192.168.1.13') && sans.includes('IP Address:192.168.1.100'), sans);
  assert.not.ok(sans.includes('192.168.1.11') || sans.includes('DNS:cp1'), `only its own host: ${sans}`);
  assert.equal(result.hostsToReprovision, ['cp3', 'e5']);
  // Run again: now stable.
  const third = await rerun(copy, cluster);
  assert.equal([...third.created, ...third.reissued], []);
});

async function refusal(name: string, damage: (pkiDir: string) => void, file: string, message: RegExp) {
  const copy = freshCopy(name);
  damage(copy.pkiDir);
  const before = snapshot(copy.pkiDir);
  const err = await ensurePki(fx.cluster, copy.pkiDir).then(() => undefined, (e: unknown) => e);
  assert.instance(err, PkiError, name);
  const problems = (err as PkiError).problems;
  assert.equal(problems.map((p) => p.file), [join(copy.pkiDir, file)]);
  assert.match(problems[0]!.message, message);
  assert.equal(snapshot(copy.pkiDir), before);
}

test('a CA is never replaced silently: missing, mismatched or unreadable pairs are errors naming the file', async () => {
  await refusal('no-ca-key', (d) => unlinkSync(join(d, 'ca.key')), 'ca.key', /^missing; .*--rotate kubernetes-ca/);
  await refusal('swapped', (d) => cpSync(join(d, 'front-proxy-ca.key'), join(d, 'etcd/ca.key')), 'etcd/ca.key', /does not match etcd\/ca\.crt/);
  await refusal('garbage', (d) => writeFileSync(join(d, 'front-proxy-ca.crt'), 'not a certificate\n'), 'front-proxy-ca.crt', /unreadable/);
  await refusal('not-a-ca', (d) => cpSync(join(d, 'admin.crt'), join(d, 'ca.crt')), 'ca.crt', /not a CA certificate/);
  await refusal('other-ca', (d) => {
    cpSync(join(d, 'front-proxy-ca.crt'), join(d, 'etcd/ca.crt'));
    cpSync(join(d, 'front-proxy-ca.key'), join(d, 'etcd/ca.key'));
  }, 'etcd/ca.crt', /is the CA "front-proxy-ca", not "etcd-ca"/);
  await refusal('no-sa', (d) => unlinkSync(join(d, 'sa.key')), 'sa.key', /missing; .*--rotate service-account/);
  await refusal('no-encryption-key', (d) => unlinkSync(join(d, 'secrets/encryption-key')), 'secrets/encryption-key', /Secrets stored in etcd/);
});

test('every problem is reported at once, each with its file and what to do', async () => {
  const copy = freshCopy('many');
  unlinkSync(join(copy.pkiDir, 'ca.crt'));
  unlinkSync(join(copy.pkiDir, 'ca.key'));
  writeFileSync(join(copy.pkiDir, 'secrets/vrrp-password'), '');
  const err = await ensurePki(fx.cluster, copy.pkiDir).then(() => undefined, (e: unknown) => e) as PkiError;
  assert.equal(err.problems.map((p) => p.file), ['ca.crt', 'ca.key', 'secrets/vrrp-password'].map((f) => join(copy.pkiDir, f)));
  assert.equal(err.problems.map((p) => /--rotate (kubernetes-ca|vrrp-password)$/.test(p.message)), [true, true, true]);
});

test('generate: a broken CA exits through PkiError and writes nothing, not even the other files', async () => {
  const work = mkdtempSync(join(tmpdir(), 'ha-k8s-seed-pki-gen-'));
  try {
    const spec = join(work, 'spec.yaml');
    writeFileSync(spec, BASE_SPEC);
    const outDir = join(work, 'out');
    const stateDir = join(work, `${fx.cluster.name}.pki`);
    cpSync(pristine, stateDir, { recursive: true });
    unlinkSync(join(stateDir, 'etcd/ca.crt'));
    // Not even out/, which the run makes to hold its output's lock (generator/state/lock.ts).
    const before = snapshot(work);
    const err = await generate({ specFile: spec, outDir, log: () => {} }).then(() => undefined, (e: unknown) => e);
    assert.instance(err, PkiError);
    assert.equal(snapshot(work), before);
    // The command line says which file and exits 4.
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'generator/cli.ts', 'generate', spec, '--out', outDir], { encoding: 'utf8' });
    assert.is(r.status, 4);
    assert.match(r.stderr, new RegExp(`${join(stateDir, 'etcd/ca.crt')}: missing`));
    assert.equal(snapshot(work), before);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('--rotate takes only what can be rotated; the encryption key cannot', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'generator/cli.ts', 'generate', 'cluster.yaml', '--out', join(fx.work, 'never'), '--rotate', 'encryption-key'], { encoding: 'utf8' });
  assert.is(r.status, 2);
  assert.match(r.stderr, /--rotate encryption-key: expected one of kubernetes-ca, etcd-ca, front-proxy-ca, service-account, bootstrap-token, vrrp-password, cas/);
  const help = spawnSync(process.execPath, ['--import', 'tsx', 'generator/cli.ts', '--help'], { encoding: 'utf8' });
  assert.match(help.stdout, /--rotate WHAT/);
  assert.match(help.stdout, /\n {2}4 {2}the cluster's state/);
});

test('--rotate front-proxy-ca: a new CA, its client reissued with a new key, only control planes to re-provision', async () => {
  const copy = freshCopy('rotate');
  const result = await rerun(copy, fx.cluster, { rotate: ['front-proxy-ca'] });
  assert.equal(result.created, []);
  assert.equal(result.reissued.map((r) => r.path), ['front-proxy-ca.crt', 'front-proxy-client.crt']);
  assert.equal(result.hostsToReprovision, ['cp1', 'cp2']);
  assert.is.not(result.bundle.ca.frontProxy.keyPem, fx.result.bundle.ca.frontProxy.keyPem);
  assert.is.not(result.bundle.frontProxyClient.keyPem, fx.result.bundle.frontProxyClient.keyPem);
  assert.is(result.bundle.ca.kubernetes.certPem, fx.result.bundle.ca.kubernetes.certPem);
  assert.equal(result.bundle.apiserver, fx.result.bundle.apiserver);
  // A missing CA can be replaced on request, too.
  unlinkSync(join(copy.pkiDir, 'etcd/ca.key'));
  const etcd = await rerun(copy, fx.cluster, { rotate: ['etcd-ca'] });
  assert.ok(etcd.reissued.some((r) => r.path === 'etcd/ca.crt'));
  assert.equal(etcd.hostsToReprovision, ['cp1', 'cp2', 'w1']);
});

test('an RSA PKI stays RSA under the ECDSA default: new leaves follow their CA, a warning names the rotation; rotating a CA switches it', async () => {
  const rsaSpec = BASE_SPEC.replace('hosts:\n', 'pki:\n  keySize: 2048\nhosts:\n');
  const rsa = await makePki(rsaSpec, 'pki-rsa');
  try {
    const keyType = (pem: string) => createPrivateKey(pem).asymmetricKeyType;
    assert.is(keyType(rsa.result.bundle.ca.kubernetes.keyPem), 'rsa');
    assert.match(rsa.result.bundle.admin.keyPem, /^-----BEGIN RSA PRIVATE KEY-----/);
    // The same cluster under a spec that says nothing about keys (ECDSA P-256 by default) and has one control plane more.
    const grown = clusterFromText(insertAfter(11, '  - { name: cp3, address: 192.168.1.13, roles: [control-plane] }'));
    assert.is(grown.pki.keyAlgorithm, 'ecdsa-p256');
    const again = await rerun(rsa, grown);
    assert.equal(again.reissued, []);
    assert.ok(again.created.some((c) => c.path === 'apiserver-cp3.crt'));
    assert.is(keyType(again.bundle.apiserver.cp3!.keyPem), 'rsa', 'the new leaf follows its RSA CA');
    assert.is(again.bundle.ca.kubernetes.certPem, rsa.result.bundle.ca.kubernetes.certPem);
    assert.is(again.bundle.apiserver.cp1!.keyPem, rsa.result.bundle.apiserver.cp1!.keyPem, 'the RSA key is kept');
    for (const ca of ['kubernetes', 'etcd', 'front-proxy']) {
      assert.ok(again.warnings.some((w) => w.includes(`the ${ca} CA`) && w.includes('is rsa-2048 and pki.keyAlgorithm is ecdsa-p256')), ca);
    }
    // Rotating the front-proxy CA on purpose makes it, and what it signs, ECDSA; the other CAs stay RSA.
    const rotated = await rerun(rsa, grown, { rotate: ['front-proxy-ca'] });
    assert.is(keyType(rotated.bundle.ca.frontProxy.keyPem), 'ec');
    assert.is(keyType(rotated.bundle.frontProxyClient.keyPem), 'ec');
    assert.is(keyType(rotated.bundle.ca.kubernetes.keyPem), 'rsa');
    assert.not.ok(rotated.warnings.some((w) => w.includes('front-proxy CA')));
    await outputOf('openssl', ['verify', '-x509_strict', '-CAfile', rsa.file('front-proxy-ca.crt'), rsa.file('front-proxy-client.crt')]);
    await outputOf('openssl', ['verify', '-x509_strict', '-CAfile', rsa.file('ca.crt'), rsa.file('apiserver-cp3.crt')]);
    assert.match(await outputOf('openssl', ['x509', '-in', rsa.file('apiserver-cp3.crt'), '-noout', '-ext', 'keyUsage']), /Digital Signature, Key Encipherment/);
  } finally {
    rsa.remove();
  }
});

test('a leaf close to its end is renewed under the same CA; a missing leaf is reissued', async () => {
  const copy = freshCopy('renew');
  unlinkSync(join(copy.pkiDir, 'kube-proxy.crt'));
  const missing = await rerun(copy, fx.cluster);
  assert.equal(missing.reissued.map((r) => [r.path, r.reason]), [['kube-proxy.crt', 'kube-proxy.crt missing']]);
  assert.is(missing.bundle.kubeProxy.keyPem, fx.result.bundle.kubeProxy.keyPem, 'the key is kept');
  assert.equal(missing.hostsToReprovision, ['cp1', 'cp2', 'w1']);
  const later = new Date(Date.now() + 350 * 86_400_000);
  const renewed = await ensurePki(fx.cluster, copy.pkiDir, { now: later });
  assert.ok(renewed.reissued.length > 0 && renewed.reissued.every((r) => /expires on/.test(r.reason)));
  assert.ok(!renewed.reissued.some((r) => r.item.startsWith('ca/')));
});

function secretsOf(): string[] {
  const b = fx.result.bundle;
  return [b.secrets.bootstrapToken.secret, b.secrets.encryptionKey, b.secrets.vrrpPassword];
}

test('secrets and keys never appear on stdout or stderr', async () => {
  const work = mkdtempSync(join(tmpdir(), 'ha-k8s-seed-pki-log-'));
  try {
    const spec = join(work, 'spec.yaml');
    writeFileSync(spec, BASE_SPEC.replace('vip: 192.168.1.100', 'vip: 192.168.1.102'));
    const outDir = join(work, 'out');
    const stateDir = join(work, `${fx.cluster.name}.pki`);
    cpSync(pristine, stateDir, { recursive: true });
    const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'generator/cli.ts', 'generate', spec, '--out', outDir, ...args], { encoding: 'utf8' });
    const runs = [cli(), cli('--rotate', 'vrrp-password')];
    unlinkSync(join(stateDir, 'ca.key'));
    runs.push(cli());
    assert.equal(runs.map((r) => r.status), [0, 0, 4]);
    assert.match(runs[0]!.stderr, /reissued apiserver-cp1\.crt/);
    const newVrrp = readFileSync(join(stateDir, 'secrets/vrrp-password'), 'utf8').trim();
    for (const r of runs) {
      const said = r.stdout + r.stderr;
      for (const secret of [...secretsOf(), newVrrp]) assert.not.ok(said.includes(secret), 'a secret was printed');
      assert.not.match(said, /PRIVATE KEY|BEGIN CERTIFICATE/);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('a run killed part-way leaves a PKI that the next run accepts as it is, or the new one whole', async () => {
  const copy = freshCopy('killed');
  const spec = join(fx.work, 'killed', 'spec.yaml');
  writeFileSync(spec, BASE_SPEC);
  const outDir = join(fx.work, 'killed');
  const before = snapshot(copy.pkiDir);
  // Rotating all three CAs makes many keys: the run is killed while it works.
  const child = spawn(process.execPath, ['--import', 'tsx', 'generator/cli.ts', 'generate', spec, '--out', outDir, '--rotate', 'cas'], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve) => child.stderr!.once('data', () => resolve()));
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  const after = await ensurePki(fx.cluster, copy.pkiDir); // throws if the PKI was left broken
  assert.equal([...after.created, ...after.reissued], []);
  const now = snapshot(copy.pkiDir);
  if (now['ca.crt'] === before['ca.crt']) assert.equal(now, before, 'killed before the swap: the old PKI, untouched');
  else assert.is.not(now['etcd/ca.crt'], before['etcd/ca.crt'], 'killed after the swap: the whole new PKI');
});

test.run();
