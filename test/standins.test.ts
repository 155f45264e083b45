/**
 * The Kubernetes STAND-INS (test/standins/) the boot lab installs at the real
 * binaries' paths: they must refuse what the real binaries refuse (unknown
 * flags, missing files, a key that is not its certificate's) and speak TLS with
 * the certificates they are given. Certificates are made with openssl here;
 * etcd is Debian's real one on loopback with client-certificate auth.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { installStandins, knownFlags, type StandinComponent } from './standins/install.ts';
import { must, run } from './lib/run.ts';
import { freePort } from './lib/free-port.ts';
import { call } from './lib/https-call.ts';

const work = mkdtempSync(join(tmpdir(), 'ha-k8s-seed-standins-'));
const root = join(work, 'root');
const pki = join(work, 'pki');
const state = join(work, 'state');
const env = { ...process.env, KUBE_STANDIN_STATE_DIR: state };
const children: ChildProcess[] = [];
let bin: Record<StandinComponent | 'containerd', string>;

function openssl(...args: string[]) {
  must('openssl', args, { cwd: pki });
}
/** An ECDSA P-256 key in SEC 1 ("EC PRIVATE KEY"), what the generator makes by default. */
function ecKey(file: string) {
  openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file);
}
/** A CA, or a leaf signed by `ca` with subject and extensions; ECDSA keys, as the generator makes them. */
function makeCert(name: string, subject: string, ca?: string, ext = '') {
  ecKey(`${name}-key.pem`);
  if (!ca) {
    openssl('req', '-x509', '-new', '-key', `${name}-key.pem`, '-subj', subject, '-days', '2', '-out', `${name}.pem`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    return;
  }
  openssl('req', '-new', '-key', `${name}-key.pem`, '-subj', subject, '-out', `${name}.csr`);
  writeFileSync(join(pki, `${name}.ext`), `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n${ext}\n`);
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}-key.pem`, '-CAcreateserial',
    '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
}
const p = (f: string) => join(pki, f);
const b64 = (f: string) => readFileSync(p(f)).toString('base64');

function kubeconfig(name: string, server: string, user: { cert?: string; token?: string; certPath?: boolean }) {
  const auth = user.token
    ? `    token: ${user.token}`
    : user.certPath
      ? `    client-certificate: ${p(`${user.cert}.pem`)}\n    client-key: ${p(`${user.cert}-key.pem`)}`
      : `    client-certificate-data: ${b64(`${user.cert}.pem`)}\n    client-key-data: ${b64(`${user.cert}-key.pem`)}`;
  const text = `apiVersion: v1\nkind: Config\nclusters:\n- name: lab\n  cluster:\n    certificate-authority-data: ${b64('ca.pem')}\n    server: ${server}\n` +
    `users:\n- name: u\n  user:\n${auth}\ncontexts:\n- name: u@lab\n  context:\n    cluster: lab\n    user: u\ncurrent-context: u@lab\n`;
  writeFileSync(p(name), text);
  return p(name);
}

/** A stand-in run to its end, with the test's state folder. */
const standin = (path: string, args: string[]) => run(path, args, { env, timeoutSeconds: 20 });
function start(path: string, args: string[]): ChildProcess {
  const c = spawn(path, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  c.stderr!.on('data', (d) => { err += d; });
  Object.defineProperty(c, 'log', { get: () => err });
  children.push(c);
  return c;
}
const logOf = (c: ChildProcess) => (c as unknown as { log: string }).log;
async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, seconds = 20): Promise<T> {
  const end = Date.now() + seconds * 1000;
  let last: unknown;
  while (Date.now() < end) {
    try { const v = await fn(); if (v !== undefined) return v; } catch (e) { last = e; }
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}
interface Call { cert?: string; token?: string; method?: string; body?: unknown; type?: string }
/** A request to a stand-in on `port`, as the certificate `opts.cert` made here, or with `opts.token`. */
function get(port: number, path: string, opts: Call = {}): Promise<{ status: number; body: string }> {
  const client = opts.cert ? { cert: readFileSync(p(`${opts.cert}.pem`)), key: readFileSync(p(`${opts.cert}-key.pem`)) } : {};
  return call(`https://127.0.0.1:${port}`, { ca: readFileSync(p('ca.pem')), ...client },
    { path, method: opts.method, body: opts.body, contentType: opts.type, token: opts.token }, 20_000);
}

let etcdPort = 0;
let apiPort = 0;
let etcd: ChildProcess | undefined;
const TOKEN = 'abcdef.0123456789abcdef';

test.before(async () => {
  spawnSync('mkdir', ['-p', pki, state]);
  makeCert('ca', '/CN=kubernetes');
  makeCert('rogue-ca', '/CN=rogue');
  makeCert('apiserver', '/CN=kube-apiserver', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth');
  makeCert('admin', '/O=system:masters/CN=admin', 'ca', 'extendedKeyUsage=clientAuth');
  makeCert('scheduler', '/CN=system:kube-scheduler', 'ca', 'extendedKeyUsage=clientAuth');
  makeCert('cm', '/CN=system:kube-controller-manager', 'ca', 'extendedKeyUsage=clientAuth');
  makeCert('rogue', '/O=system:masters/CN=admin', 'rogue-ca', 'extendedKeyUsage=clientAuth');
  makeCert('etcd', '/CN=etcd', 'ca', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth');
  makeCert('apiserver-etcd-client', '/CN=kube-apiserver-etcd-client', 'ca', 'extendedKeyUsage=clientAuth');
  makeCert('apiserver-kubelet-client', '/O=system:masters/CN=kube-apiserver-kubelet-client', 'ca', 'extendedKeyUsage=clientAuth');
  // kubelet serving certificates: node1's for its name and address; one for another address; one of another CA
  makeCert('node1-serving', '/O=system:nodes/CN=system:node:node1', 'ca', 'subjectAltName=DNS:node1,IP:127.0.0.1\nextendedKeyUsage=serverAuth');
  makeCert('rogue-serving', '/O=system:nodes/CN=system:node:node8', 'rogue-ca', 'subjectAltName=DNS:node8,IP:127.0.0.1\nextendedKeyUsage=serverAuth');
  ecKey('sa-key.pem');
  openssl('pkey', '-in', 'sa-key.pem', '-pubout', '-out', 'sa.pub');
  openssl('genrsa', '-out', 'other-key.pem', '2048');
  writeFileSync(p('token.csv'), `${TOKEN},kubelet-bootstrap,10001,"system:bootstrappers"\n`);
  bin = { ...(await installStandins(root, { version: 'v1.36.3', containerd: '2.3.4' })), containerd: join(root, 'usr/local/bin/containerd') };
  etcdPort = await freePort();
  apiPort = await freePort();
});

test.after(() => {
  for (const c of children) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

function apiserverArgs(over: Record<string, string> = {}): string[] {
  const flags: Record<string, string> = {
    'bind-address': '127.0.0.1', 'secure-port': String(apiPort), 'advertise-address': '127.0.0.1',
    'etcd-servers': `https://127.0.0.1:${etcdPort}`, 'etcd-cafile': p('ca.pem'), 'etcd-certfile': p('apiserver-etcd-client.pem'), 'etcd-keyfile': p('apiserver-etcd-client-key.pem'),
    'tls-cert-file': p('apiserver.pem'), 'tls-private-key-file': p('apiserver-key.pem'), 'client-ca-file': p('ca.pem'),
    'service-account-issuer': 'https://kubernetes.default.svc', 'service-account-key-file': p('sa.pub'), 'service-account-signing-key-file': p('sa-key.pem'),
    'enable-bootstrap-token-auth': 'true', 'token-auth-file': p('token.csv'), 'authorization-mode': 'Node,RBAC', 'v': '2',
    'kubelet-client-certificate': p('apiserver-kubelet-client.pem'), 'kubelet-client-key': p('apiserver-kubelet-client-key.pem'),
    'kubelet-certificate-authority': p('ca.pem'),
    ...over,
  };
  return Object.entries(flags).filter(([, v]) => v !== '').map(([k, v]) => `--${k}=${v}`);
}

test('--version and version print the target release, like the real binaries', () => {
  for (const b of Object.values(bin).filter((x) => !x.endsWith('containerd'))) {
    assert.ok(readFileSync(b, 'utf8').includes('STAND-IN'), `${b} is headed STAND-IN`);
    assert.is(standin(b, ['--version']).stdout, 'Kubernetes v1.36.3\n');
  }
  assert.is(JSON.parse(standin(bin['kube-apiserver'], ['--version=raw']).stdout).gitVersion, 'v1.36.3');
});

test('an unknown flag is refused with the real binaries\' message', () => {
  for (const [name, b] of Object.entries(bin).filter(([n]) => n !== 'containerd')) {
    const r = standin(b, ['--foo=bar']);
    assert.is(r.status, 1, name);
    assert.match(r.stderr, /^Error: unknown flag: --foo$/m);
  }
  const short = standin(bin.kubelet, ['-x']);
  assert.is(short.status, 1);
  assert.match(short.stderr, /unknown shorthand flag: 'x' in -x/);
});

test('a flag removed before the target release is refused; an older release still takes it', async () => {
  const r = standin(bin.kubelet, ['--pod-infra-container-image=registry.k8s.io/pause:3.10', '--version']);
  assert.is(r.status, 1);
  assert.match(r.stderr, /unknown flag: --pod-infra-container-image/);
  const names = (version: string) => knownFlags('kubelet', version).map((l) => l.split(' ')[0]);
  // kubelet 1.33 takes 1.34's list (no 1.33 list could be obtained); 1.34 still had the flag.
  assert.ok(names('v1.33.13').includes('--pod-infra-container-image'));
  assert.not.ok(names('v1.35.0').includes('--pod-infra-container-image'));
  assert.ok(knownFlags('kube-apiserver', 'v1.36.3').some((l) => l.startsWith('--coordinated-leadership-lease-duration')));
  assert.not.ok(knownFlags('kube-apiserver', 'v1.33.13').some((l) => l.startsWith('--coordinated-leadership-lease-duration')), 'the 1.33 stand-in uses the 1.33 list');
  const old = await installStandins(join(work, 'old'), { version: 'v1.33.13' });
  const o = standin(old.kubelet, ['--pod-infra-container-image=registry.k8s.io/pause:3.10', '--version']);
  assert.is(o.status, 0, o.stderr);
  assert.is(o.stdout, 'Kubernetes v1.33.13\n');
  assert.is(standin(old['kube-apiserver'], ['--insecure-port=0', '--version']).status, 1, '--insecure-port went in 1.24');
  const newer = standin(old['kube-apiserver'], ['--coordinated-leadership-lease-duration=15s', '--version']);
  assert.is(newer.status, 1, 'a 1.36 flag is unknown to the 1.33 stand-in');
  assert.match(newer.stderr, /unknown flag: --coordinated-leadership-lease-duration/);
  assert.is(standin(bin['kube-apiserver'], ['--coordinated-leadership-lease-duration=15s', '--version']).status, 0, 'and known to the 1.36 one');
});

test('a missing file is refused', () => {
  const r = standin(bin['kube-apiserver'], apiserverArgs({ 'tls-cert-file': p('nope.pem') }));
  assert.is(r.status, 1);
  assert.match(r.stderr, /--tls-cert-file=.*nope\.pem: open .*nope\.pem: no such file or directory/);
  const k = standin(bin['kube-scheduler'], [`--kubeconfig=${p('missing.kubeconfig')}`]);
  assert.is(k.status, 1);
  assert.match(k.stderr, /no such file or directory/);
  // a path inside a kubeconfig counts too
  const kc = kubeconfig('paths.kubeconfig', 'https://127.0.0.1:1', { cert: 'scheduler', certPath: true });
  writeFileSync(kc, readFileSync(kc, 'utf8').replace(p('scheduler-key.pem'), p('gone-key.pem')));
  const g = standin(bin['kube-scheduler'], [`--kubeconfig=${kc}`]);
  assert.is(g.status, 1);
  assert.match(g.stderr, /client-key: open .*gone-key\.pem: no such file or directory/);
  // and inside a KubeletConfiguration
  writeFileSync(p('kubelet-config.yaml'), `apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthentication:\n  x509:\n    clientCAFile: ${p('no-ca.pem')}\n`);
  const boot = kubeconfig('bootstrap.kubeconfig', 'https://127.0.0.1:1', { token: TOKEN });
  const l = standin(bin.kubelet, [`--config=${p('kubelet-config.yaml')}`, `--bootstrap-kubeconfig=${boot}`, `--kubeconfig=${p('kubelet.kubeconfig')}`]);
  assert.is(l.status, 1);
  assert.match(l.stderr, /clientCAFile: open .*no-ca\.pem: no such file or directory/);
});

test('a key that does not match its certificate is refused', () => {
  const r = standin(bin['kube-apiserver'], apiserverArgs({ 'etcd-keyfile': p('other-key.pem') }));
  assert.is(r.status, 1);
  assert.match(r.stderr, /--etcd-certfile=.* --etcd-keyfile=.*other-key\.pem: tls: private key does not match public key/);
  const sa = standin(bin['kube-apiserver'], apiserverArgs({ 'service-account-signing-key-file': p('other-key.pem') }));
  assert.is(sa.status, 1);
  assert.match(sa.stderr, /--service-account-key-file does not hold the public key/);
  const kc = kubeconfig('mismatch.kubeconfig', 'https://127.0.0.1:1', { cert: 'scheduler' });
  writeFileSync(kc, readFileSync(kc, 'utf8').replace(b64('scheduler-key.pem'), b64('other-key.pem')));
  const s = standin(bin['kube-scheduler'], [`--kubeconfig=${kc}`]);
  assert.is(s.status, 1);
  assert.match(s.stderr, /private key does not match public key/);
});

test('with --anonymous-auth=false a request without credentials is 401', async () => {
  const port = await freePort();
  const api = start(bin['kube-apiserver'], apiserverArgs({ 'secure-port': String(port), 'anonymous-auth': 'false', 'etcd-servers': 'https://127.0.0.1:1' }));
  await until('the apiserver to listen', () => (logOf(api).includes('Serving securely') ? true : undefined));
  assert.is((await get(port, '/livez')).status, 401);
  assert.is((await get(port, '/livez', { cert: 'admin' })).status, 200, 'livez does not need etcd');
  assert.is((await get(port, '/readyz', { cert: 'admin' })).status, 500, 'readyz does');
  api.kill();
});

test('the apiserver refuses to start without the flags the real one requires', () => {
  const r = standin(bin['kube-apiserver'], apiserverArgs({ 'etcd-servers': '', 'service-account-issuer': '' }));
  assert.is(r.status, 1);
  assert.match(r.stderr, /--etcd-servers must be specified/);
  assert.match(r.stderr, /service-account-issuer is a required flag/);
});

test('kube-apiserver serves over TLS to client certificates of its CA and bootstrap tokens, and writes to etcd', async () => {
  const data = join(work, 'etcd-data');
  etcd = spawn('etcd', ['--name', 'standin-test', '--data-dir', data,
    '--listen-client-urls', `https://127.0.0.1:${etcdPort}`, '--advertise-client-urls', `https://127.0.0.1:${etcdPort}`,
    '--listen-peer-urls', `http://127.0.0.1:${await freePort()}`, '--cert-file', p('etcd.pem'), '--key-file', p('etcd-key.pem'),
    '--trusted-ca-file', p('ca.pem'), '--client-cert-auth'], { stdio: 'ignore' });
  children.push(etcd);
  const api = start(bin['kube-apiserver'], apiserverArgs());
  await until('the apiserver to listen', () => (logOf(api).includes('Serving securely') ? true : undefined));

  const ok = await until('/healthz to pass', async () => {
    const r = await get(apiPort, '/healthz', { cert: 'admin' });
    return r.status === 200 ? r : undefined;
  });
  assert.is(ok.body, 'ok');
  assert.is((await get(apiPort, '/readyz', { cert: 'admin' })).status, 200);
  assert.is(JSON.parse((await get(apiPort, '/version', { cert: 'admin' })).body).gitVersion, 'v1.36.3');
  assert.is((await get(apiPort, '/version', { token: TOKEN })).status, 200, 'bootstrap token from --token-auth-file');

  assert.is((await get(apiPort, '/healthz', { cert: 'rogue' })).status, 401, 'a certificate of another CA');
  const anonymous = await get(apiPort, '/livez');
  assert.is(anonymous.status, 200, 'anonymous may read /livez (system:public-info-viewer)');
  assert.is((await get(apiPort, '/api/v1/namespaces/kube-system/secrets')).status, 403, 'anonymous may not read Secrets');
  assert.is((await get(apiPort, '/healthz', { token: 'abcdef.ffffffffffffffff' })).status, 401, 'a wrong token');

  // the key it wrote, read back with etcdctl and the same client certificate
  const r = spawnSync('etcdctl', ['--endpoints', `https://127.0.0.1:${etcdPort}`, '--cacert', p('ca.pem'), '--cert', p('apiserver-etcd-client.pem'),
    '--key', p('apiserver-etcd-client-key.pem'), 'get', '--prefix', '/registry/standin/kube-apiserver/'], { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' } });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /\/registry\/standin\/kube-apiserver\/127\.0\.0\.1/);
  assert.is(JSON.parse(r.stdout.trim().split('\n')[1] ?? '{}').version, 'v1.36.3');
});

test('a bootstrap-token Secret applied by an admin authenticates its token; only the admin may write it', async () => {
  const secret = {
    apiVersion: 'v1', kind: 'Secret', metadata: { name: 'bootstrap-token-xyz123', namespace: 'kube-system' }, type: 'bootstrap.kubernetes.io/token',
    stringData: { 'token-id': 'xyz123', 'token-secret': '0123456789abcdef', 'usage-bootstrap-authentication': 'true' },
  };
  const path = '/api/v1/namespaces/kube-system/secrets/bootstrap-token-xyz123?fieldManager=test&force=true';
  const apply = { method: 'PATCH', body: secret, type: 'application/apply-patch+yaml' };
  assert.is((await get(apiPort, '/version', { token: 'xyz123.0123456789abcdef' })).status, 401, 'no Secret yet');
  assert.is((await get(apiPort, path, { ...apply, token: TOKEN })).status, 403, 'a bootstrapper may not write Secrets');
  const created = await get(apiPort, path, { ...apply, cert: 'admin' });
  assert.is(created.status, 201, created.body);
  assert.is(JSON.parse(created.body).data['token-secret'], Buffer.from('0123456789abcdef').toString('base64'), 'stringData is stored as data');
  assert.is((await get(apiPort, '/version', { token: 'xyz123.0123456789abcdef' })).status, 200, 'token from the Secret');
  assert.is((await get(apiPort, '/version', { token: 'xyz123.ffffffffffffffff' })).status, 401, 'wrong secret half');
  const discovery = JSON.parse((await get(apiPort, '/api/v1', { cert: 'admin' })).body);
  assert.ok(discovery.resources.some((r: { name: string }) => r.name === 'secrets'));
  const list = JSON.parse((await get(apiPort, '/api/v1/namespaces/kube-system/secrets', { cert: 'admin' })).body);
  assert.equal(list.items.map((i: { metadata: { name: string } }) => i.metadata.name), ['bootstrap-token-xyz123']);
});

test('kubelet waits for its container runtime, then bootstraps with its token through the server its kubeconfig names (TLS bootstrap: CSR signed by the controller-manager once RBAC allows); the scheduler with its certificate', async () => {
  const sock = join(work, 'containerd.sock');
  const kubeletPort = await freePort();
  writeFileSync(p('kubelet-config.yaml'), `apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nauthentication:\n  x509:\n    clientCAFile: ${p('ca.pem')}\nhealthzPort: 0\ncontainerRuntimeEndpoint: unix://${sock}\naddress: 127.0.0.1\nport: ${kubeletPort}\ntlsCertFile: ${p('node1-serving.pem')}\ntlsPrivateKeyFile: ${p('node1-serving-key.pem')}\nregisterWithTaints:\n- key: node-role.kubernetes.io/control-plane\n  effect: NoSchedule\n`);
  const boot = kubeconfig('bootstrap.kubeconfig', `https://127.0.0.1:${apiPort}`, { token: TOKEN });
  const certDir = join(work, 'kubelet-pki');
  const kubeletArgs = [`--config=${p('kubelet-config.yaml')}`, `--bootstrap-kubeconfig=${boot}`, `--kubeconfig=${p('kubelet.kubeconfig')}`, '--hostname-override=node1', '--node-ip=127.0.0.1', `--cert-dir=${certDir}`];
  const noRuntime = standin(bin.kubelet, kubeletArgs);
  assert.is(noRuntime.status, 1);
  assert.match(noRuntime.stderr, /validate CRI v1 runtime API for endpoint .*no such file or directory/);
  writeFileSync(p('containerd.toml'), 'version = 3\n[grpc]\naddress = "' + sock + '"\n');
  const containerd = start(bin.containerd, ['--config', p('containerd.toml')]);
  await until('containerd to listen', () => (existsSync(sock) ? true : undefined));
  assert.match(standin(bin.containerd, ['--version']).stdout, /^containerd github.com\/containerd\/containerd\/v2 v2\.3\.4 stand-in/);
  writeFileSync(p('containerd-v1.toml'), 'version = 1\n');
  assert.match(standin(bin.containerd, ['--config', p('containerd-v1.toml')]).stderr, /unsupported config version/);
  assert.is(containerd.exitCode, null);
  const cm = start(bin['kube-controller-manager'], [`--kubeconfig=${kubeconfig('cm.kubeconfig', `https://127.0.0.1:${apiPort}`, { cert: 'cm' })}`,
    `--cluster-signing-cert-file=${p('ca.pem')}`, `--cluster-signing-key-file=${p('ca-key.pem')}`, '--cluster-signing-duration=8760h']);
  const kubelet = start(bin.kubelet, kubeletArgs);
  // no nodeclient binding yet: the CSR waits, unapproved
  await until('the controller-manager to refuse the CSR', () => (/not approved: no nodeclient/.test(logOf(cm)) ? true : undefined));
  assert.not.ok(existsSync(p('kubelet.kubeconfig')));
  const binding = {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'node-autoapprove-bootstrap' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:certificates.k8s.io:certificatesigningrequests:nodeclient' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:bootstrappers' }],
  };
  const applied = await get(apiPort, '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/node-autoapprove-bootstrap?fieldManager=test',
    { cert: 'admin', method: 'PATCH', body: binding, type: 'application/apply-patch+yaml' });
  assert.is(applied.status, 201, applied.body);
  const sched = kubeconfig('scheduler.kubeconfig', `https://127.0.0.1:${apiPort}`, { cert: 'scheduler', certPath: true });
  const scheduler = start(bin['kube-scheduler'], [`--kubeconfig=${sched}`, '--leader-elect=true']);
  for (const [name, c] of [['kubelet', kubelet], ['kube-scheduler', scheduler]] as const) {
    await until(`${name} to connect`, () => {
      const f = join(state, `${name}.json`);
      return existsSync(f) && JSON.parse(readFileSync(f, 'utf8')).connected ? true : undefined;
    });
    assert.match(logOf(c), /succeeded/);
  }
  // the apiserver counts requests by user (it saves its state file shortly after each request)
  const seen = await until('the apiserver to count both users', () => {
    const s = JSON.parse(readFileSync(join(state, 'kube-apiserver.json'), 'utf8'));
    return s.byUser['kubelet-bootstrap'] >= 1 && s.byUser['system:kube-scheduler'] >= 1 ? s.byUser : undefined;
  }, 5);
  assert.ok(seen['kubelet-bootstrap'] >= 1, 'the apiserver saw the bootstrap token user');
  // after the bootstrap the kubelet calls with its own certificate, which the cluster CA signed
  const kubeletState = JSON.parse(readFileSync(join(state, 'kubelet.json'), 'utf8'));
  assert.match(kubeletState.credentials, /CN=system:node:node1.*\(TLS bootstrap\)/);
  assert.match(logOf(cm), /approved and signed CSR node-csr-\w+ for system:node:node1/);
  const verify = spawnSync('openssl', ['verify', '-CAfile', p('ca.pem'), join(certDir, 'kubelet-client-current.pem')], { encoding: 'utf8' });
  assert.is(verify.status, 0, verify.stderr);
  assert.match(readFileSync(p('kubelet.kubeconfig'), 'utf8'), /client-certificate: .*kubelet-client-current\.pem/);
  await until('the apiserver to see the node user', () => {
    const s = JSON.parse(readFileSync(join(state, 'kube-apiserver.json'), 'utf8'));
    return s.byUser['system:node:node1'] >= 1 ? true : undefined;
  }, 5);
  // the kubelet registers its Node with registerWithTaints; it may not give itself a role label, an admin may
  const node = await until('node1 to register', async () => {
    const r = await get(apiPort, '/api/v1/nodes/node1', { cert: 'admin' });
    return r.status === 200 ? JSON.parse(r.body) : undefined;
  });
  assert.equal(node.spec.taints, [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }]);
  assert.is(node.metadata.labels['kubernetes.io/hostname'], 'node1');
  writeFileSync(p('node1.pem'), readFileSync(join(certDir, 'kubelet-client-current.pem')));
  writeFileSync(p('node1-key.pem'), readFileSync(join(certDir, 'kubelet-client-current.pem')));
  const role = { metadata: { labels: { 'node-role.kubernetes.io/control-plane': '' } } };
  const self = await get(apiPort, '/api/v1/nodes/node1', { cert: 'node1', method: 'PATCH', body: role, type: 'application/merge-patch+json' });
  assert.is(self.status, 403, self.body);
  assert.match(self.body, /not allowed to modify labels: node-role\.kubernetes\.io\/control-plane/);
  const other = await get(apiPort, '/api/v1/nodes/node2', { cert: 'node1', method: 'PATCH', body: {}, type: 'application/merge-patch+json' });
  assert.is(other.status, 403, 'a kubelet writes only its own Node');
  const admin = await get(apiPort, '/api/v1/nodes/node1', { cert: 'admin', method: 'PATCH', body: role, type: 'application/merge-patch+json' });
  assert.is(admin.status, 200, admin.body);
  assert.is(JSON.parse(admin.body).metadata.labels['node-role.kubernetes.io/control-plane'], '');

  // nodes/proxy: the apiserver reaches the kubelet's API and verifies its serving certificate
  const proxied = await get(apiPort, '/api/v1/nodes/node1/proxy/healthz', { cert: 'admin' });
  assert.is(proxied.status, 200, proxied.body);
  assert.is(proxied.body, 'ok');
  assert.is((await get(apiPort, '/api/v1/nodes/node1/proxy/healthz', { cert: 'scheduler' })).status, 403, 'nodes/proxy only for admins here');
  // a kubelet whose certificate another CA signed, or that names another address, is refused
  const fake = async (name: string, cert: string, address: string) => {
    const server = createHttpsServer({ cert: readFileSync(p(`${cert}.pem`)), key: readFileSync(p(`${cert}-key.pem`)) }, (_, res) => res.end('ok'));
    const port = await new Promise<number>((r) => server.listen(0, address, () => r((server.address() as { port: number }).port)));
    const nodeObj = { apiVersion: 'v1', kind: 'Node', metadata: { name }, status: { addresses: [{ type: 'InternalIP', address }], daemonEndpoints: { kubeletEndpoint: { Port: port } } } };
    assert.is((await get(apiPort, '/api/v1/nodes', { cert: 'admin', method: 'POST', body: nodeObj })).status, 201);
    const r = await get(apiPort, `/api/v1/nodes/${name}/proxy/healthz`, { cert: 'admin' });
    server.close();
    return r;
  };
  const rogue = await fake('node8', 'rogue-serving', '127.0.0.1');
  assert.is(rogue.status, 502, rogue.body);
  assert.match(rogue.body, /x509|certificate/);
  const elsewhere = await fake('node7', 'node1-serving', '127.0.0.7');
  assert.is(elsewhere.status, 502, 'a certificate for 127.0.0.1 does not serve 127.0.0.7');
  assert.match(elsewhere.body, /certificate/, elsewhere.body);
});

test('/readyz fails when etcd is gone', async () => {
  etcd!.kill('SIGKILL');
  const r = await until('/readyz to fail', async () => {
    const res = await get(apiPort, '/readyz', { cert: 'admin' });
    return res.status === 500 ? res : undefined;
  }, 15);
  assert.match(r.body, /etcd failed/);
});

test.run();
