/**
 * The certificates in real handshakes, on loopback only: a TLS server with the
 * apiserver certificate and client-certificate auth, and a three-member etcd
 * cluster (Debian's etcd-server) with client and peer certificate auth.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { BASE_SPEC } from './lib/spec-fixtures.ts';
import { outputOf, sharedPki, type PkiFixture } from './lib/pki-fixture.ts';
import { freePort } from './lib/free-port.ts';

// Top-level await: a fixture that fails fails the file (uvu ignores a failing before hook).
const fx: PkiFixture = await sharedPki(BASE_SPEC);
const daemons: ChildProcess[] = [];
test.after(async () => {
  await Promise.all(daemons.map(stop));
  fx.remove();
});

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

const pem = (name: string) => readFileSync(fx.file(name), 'utf8');

/** Connects with a client certificate; resolves with what the server said, or the error that ended the handshake. */
function tlsClient(port: number, cert: string, trustCa: string): Promise<{ data?: string; error?: string }> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'kubernetes.default.svc', ca: trustCa, cert: pem(`${cert}.crt`), key: pem(`${cert}.key`) });
    let data = '';
    socket.on('data', (chunk) => { data += chunk; });
    socket.on('error', (err) => resolve({ error: (err as NodeJS.ErrnoException).code ?? err.message }));
    socket.on('close', () => resolve(data ? { data } : { error: 'closed without a reply' }));
    socket.on('end', () => socket.end());
  });
}

test('TLS: the apiserver certificate serves; admin is accepted, a client of another CA is rejected', async () => {
  const accepted: string[] = [];
  const server = tls.createServer({
    cert: pem('apiserver-cp1.crt'), key: pem('apiserver-cp1.key'), ca: pem('ca.crt'), requestCert: true, rejectUnauthorized: true,
  }, (socket) => {
    const cn = String(socket.getPeerCertificate().subject.CN);
    accepted.push(cn);
    socket.end(`hello ${cn} (${String(socket.getPeerCertificate().subject.O ?? '')})\n`);
  });
  server.on('tlsClientError', () => { /* the rejected client: expected */ });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    // The client checks the server: the apiserver certificate carries the name it dials.
    const admin = await tlsClient(port, 'admin', pem('ca.crt'));
    assert.is(admin.data, 'hello kubernetes-admin (system:masters)\n', admin.error);
    // front-proxy-client is signed by the front-proxy CA, which the apiserver port does not trust for clients.
    const stranger = await tlsClient(port, 'front-proxy-client', pem('ca.crt'));
    assert.is(stranger.data, undefined);
    assert.ok(stranger.error, 'the handshake failed');
    // A client that trusts another CA refuses the server.
    const wrongTrust = await tlsClient(port, 'admin', pem('etcd/ca.crt'));
    // (the server sends the kubernetes CA along with its certificate: OpenSSL builds the chain from `ca`)
    assert.match(String(wrongTrust.error), /^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN)$/);
    assert.equal(accepted, ['kubernetes-admin']);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

async function etcdctl(endpoints: string[], client: string, ...args: string[]): Promise<string> {
  return outputOf('etcdctl', [`--endpoints=${endpoints.join(',')}`, `--cacert=${fx.file('etcd/ca.crt')}`,
    `--cert=${fx.file(`${client}.crt`)}`, `--key=${fx.file(`${client}.key`)}`, '--dial-timeout=3s', '--command-timeout=5s', ...args], { ETCDCTL_API: '3' });
}

test('etcd: three members with client and peer certificate auth form a cluster and serve the apiserver', async () => {
  const members = fx.cluster.etcd.members.map((m) => m.name);
  assert.equal(members, ['cp1', 'cp2', 'w1']);
  const ports = new Map<string, { client: number; peer: number }>();
  for (const name of members) ports.set(name, { client: await freePort(), peer: await freePort() });
  const initialCluster = members.map((n) => `${n}=https://127.0.0.1:${ports.get(n)!.peer}`).join(',');
  const logs = new Map<string, string>();
  for (const name of members) {
    const { client, peer } = ports.get(name)!;
    const dataDir = join(fx.work, 'etcd-data', name);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const child = spawn('etcd', [
      `--name=${name}`, `--data-dir=${dataDir}`,
      `--listen-client-urls=https://127.0.0.1:${client}`, `--advertise-client-urls=https://127.0.0.1:${client}`,
      `--listen-peer-urls=https://127.0.0.1:${peer}`, `--initial-advertise-peer-urls=https://127.0.0.1:${peer}`,
      `--initial-cluster=${initialCluster}`, '--initial-cluster-state=new', '--initial-cluster-token=pki-test',
      `--cert-file=${fx.file(`etcd/server-${name}.crt`)}`, `--key-file=${fx.file(`etcd/server-${name}.key`)}`,
      '--client-cert-auth', `--trusted-ca-file=${fx.file('etcd/ca.crt')}`,
      `--peer-cert-file=${fx.file(`etcd/peer-${name}.crt`)}`, `--peer-key-file=${fx.file(`etcd/peer-${name}.key`)}`,
      '--peer-client-cert-auth', `--peer-trusted-ca-file=${fx.file('etcd/ca.crt')}`,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    daemons.push(child);
    logs.set(name, '');
    const keep = (chunk: Buffer) => logs.set(name, (logs.get(name)! + chunk.toString()).slice(-20_000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
  }
  const endpoints = members.map((n) => `https://127.0.0.1:${ports.get(n)!.client}`);
  try {
    // Every member healthy means they reached each other over peer TLS and elected a leader.
    let health = '';
    for (let attempt = 0; attempt < 60; attempt++) {
      health = await etcdctl(endpoints, 'etcd/healthcheck-client', 'endpoint', 'health').catch((err: { stdout?: string; stderr?: string }) => `${err.stdout ?? ''}${err.stderr ?? ''}`);
      if ((health.match(/ is healthy/g) ?? []).length === 3) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.is((health.match(/ is healthy/g) ?? []).length, 3, health);
    const list = await etcdctl(endpoints, 'apiserver-etcd-client', 'member', 'list');
    for (const name of members) assert.match(list, new RegExp(`, started, ${name}, https://127\\.0\\.0\\.1:${ports.get(name)!.peer}`));
    // kube-apiserver's client certificate writes and reads.
    await etcdctl(endpoints, 'apiserver-etcd-client', 'put', '/registry/pki-test', 'ok');
    assert.is(await etcdctl([endpoints[2]!], 'apiserver-etcd-client', 'get', '--print-value-only', '/registry/pki-test'), 'ok\n');
    // Until now no member refused a TLS handshake, a peer's or a client's. (A connection reset while etcdctl
    // retries, "read: connection reset by peer", is no refusal; the refusals of the next step are wanted.)
    for (const name of members) assert.not.match(logs.get(name)!, /rejected connection from .*\(error "(remote error: )?tls: /, `${name} refused a TLS handshake`);
    // A client certificate from the kubernetes CA is refused by etcd.
    await etcdctl(endpoints, 'admin', 'get', '/registry/pki-test').then(
      () => assert.unreachable('etcd accepted a certificate of the kubernetes CA'),
      (err: { stderr?: string }) => assert.match(String(err.stderr), /bad certificate|unknown certificate authority|certificate required|context deadline exceeded/),
    );
  } catch (err) {
    for (const [name, log] of logs) process.stderr.write(`--- etcd ${name} (last lines)\n${log.split('\n').slice(-15).join('\n')}\n`);
    throw err;
  } finally {
    await Promise.all(daemons.map(stop));
  }
});

test.run();
