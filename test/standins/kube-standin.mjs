#!/usr/bin/env node
/*
 * STAND-IN for the Kubernetes binaries (kube-apiserver, kube-controller-manager,
 * kube-scheduler, kubelet, kube-proxy). NOT Kubernetes.
 *
 * The boot lab runs hosts whose units start /usr/local/bin/kube-*; no package
 * source reachable here carries those binaries, so this one program plays each
 * of them, chosen by the name it is invoked as. It is strict where a unit or a
 * certificate can be wrong and shallow everywhere else:
 *   - every flag must be one the target release knows (flags/<component>.txt,
 *     copied next to it at install time), else "Error: unknown flag: --x", exit 1;
 *   - every file a flag (or a config file / kubeconfig it points at) names must
 *     exist and parse, and every certificate/key pair must match;
 *   - kube-apiserver serves /healthz, /readyz, /livez and /version over TLS to
 *     clients with a certificate signed by --client-ca-file or a token
 *     (--token-auth-file, or a bootstrap-token Secret when
 *     --enable-bootstrap-token-auth is set), and to anonymous clients unless
 *     --anonymous-auth=false, as RBAC's system:public-info-viewer does; it keeps
 *     the add-ons' objects (Secrets, RBAC, ...) as JSON in etcd for kubectl
 *     apply --server-side, and writes a key to etcd through the JSON gateway
 *     with --etcd-certfile/--etcd-keyfile every few seconds;
 *   - the others load their kubeconfig and call the apiserver it names
 *     (the kubelet with its bootstrap token), retrying until it answers.
 * It schedules nothing, runs no pod and proxies no Service.
 *
 * Plain ESM with no dependencies: it runs on Debian 12's Node 18 and on Node 20.
 */
import { readFileSync, existsSync, mkdirSync, writeFileSync, renameSync, statSync, mkdtempSync, rmSync } from 'node:fs';
import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { basename, dirname, join, resolve, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostname, tmpdir } from 'node:os';
import https from 'node:https';
import http from 'node:http';
import net from 'node:net';

const COMPONENTS = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet', 'kube-proxy'];

// ---------------------------------------------------------------------------
// logging, klog-like
function stamp() {
  const d = new Date();
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)}000`;
}
const log = (msg) => process.stderr.write(`I${stamp()} ${String(process.pid).padStart(7)} standin] ${msg}\n`);
const warn = (msg) => process.stderr.write(`W${stamp()} ${String(process.pid).padStart(7)} standin] ${msg}\n`);

class Fatal extends Error {}
const fail = (msg) => { throw new Fatal(msg); };

// ---------------------------------------------------------------------------
// minimal YAML (block mappings and sequences, flow collections of scalars,
// quoted and plain scalars, | and > block scalars); JSON is taken as JSON.
export function parseYaml(text) {
  if (/^\s*[{[]/.test(text)) return JSON.parse(text);
  const raw = text.replace(/\t/g, '  ').split(/\r?\n/);
  const lines = [];
  for (let n = 0; n < raw.length; n++) {
    const r = raw[n];
    if (/^---\s*$/.test(r) || /^\.\.\.\s*$/.test(r)) { if (lines.length) break; continue; }
    if (/^\s*(#.*)?$/.test(r)) { lines.push({ indent: -1, text: '', raw: r, n }); continue; }
    const indent = r.match(/^ */)[0].length;
    lines.push({ indent, text: stripComment(r.slice(indent)), raw: r, n });
  }
  let i = 0;
  const skipBlank = () => { while (i < lines.length && lines[i].indent < 0) i++; };
  const isSeq = (t) => t === '-' || t.startsWith('- ');
  function block(indent) {
    skipBlank();
    if (i >= lines.length) return null;
    return isSeq(lines[i].text) ? seq(lines[i].indent) : map(lines[i].indent);
  }
  function valueAfter(rest, ownIndent, allowSameIndentSeq) {
    if (rest === '' ) {
      const save = i; skipBlank();
      if (i < lines.length && (lines[i].indent > ownIndent || (allowSameIndentSeq && lines[i].indent === ownIndent && isSeq(lines[i].text)))) return block();
      i = save; return null;
    }
    if (/^[|>][-+]?\d*$/.test(rest)) return blockScalar(rest, ownIndent);
    return scalar(rest);
  }
  function blockScalar(header, ownIndent) {
    const body = [];
    let ind = -1;
    while (i < lines.length) {
      const l = lines[i];
      if (l.indent >= 0 && l.indent <= ownIndent) break;
      if (l.indent >= 0 && ind < 0) ind = l.indent;
      body.push(l.indent < 0 ? '' : l.raw.slice(ind));
      i++;
    }
    while (body.length && body[body.length - 1] === '') body.pop();
    const keep = header.includes('+'), strip = header.includes('-');
    let s = header[0] === '|' ? body.join('\n') : body.join(' ').replace(/ ?\n ?/g, '\n');
    return strip ? s : keep ? s + '\n' : s + '\n';
  }
  function seq(indent) {
    const out = [];
    while (true) {
      skipBlank();
      if (i >= lines.length || lines[i].indent !== indent || !isSeq(lines[i].text)) return out;
      const l = lines[i];
      const rest = l.text.slice(1).trimStart();
      if (rest !== '' && splitKey(rest)) {
        // "- key: value" opens a mapping whose keys sit where "key" does
        const off = l.text.length - rest.length;
        lines[i] = { ...l, indent: indent + off, text: rest };
        out.push(map(indent + off));
      } else { i++; out.push(valueAfter(rest, indent, false)); }
    }
  }
  function map(indent) {
    const out = {};
    while (true) {
      skipBlank();
      if (i >= lines.length || lines[i].indent !== indent || isSeq(lines[i].text)) return out;
      const l = lines[i];
      const kv = splitKey(l.text);
      if (!kv) throw new Error(`line ${l.n + 1}: expected "key: value", got ${JSON.stringify(l.text)}`);
      i++;
      out[kv[0]] = valueAfter(kv[1], indent, true);
    }
  }
  const v = block();
  skipBlank();
  if (i < lines.length) throw new Error(`line ${lines[i].n + 1}: unexpected indentation`);
  return v;
}
function stripComment(s) {
  let q = '';
  for (let k = 0; k < s.length; k++) {
    const c = s[k];
    if (q) { if (c === q) q = ''; else if (c === '\\' && q === '"') k++; continue; }
    if ((c === '"' || c === "'") && (k === 0 || /[\s:\[{,-]/.test(s[k - 1]))) q = c;
    else if (c === '#' && (k === 0 || /\s/.test(s[k - 1]))) return s.slice(0, k).trimEnd();
  }
  return s.trimEnd();
}
function splitKey(t) {
  let k = 0;
  if (t[0] === '"' || t[0] === "'") {
    const q = t[0];
    for (k = 1; k < t.length && t[k] !== q; k++) if (t[k] === '\\' && q === '"') k++;
    const key = scalar(t.slice(0, k + 1));
    const rest = t.slice(k + 1);
    const m = rest.match(/^\s*:(\s+|$)(.*)$/);
    return m ? [String(key), m[2].trim()] : null;
  }
  if (t[0] === '[' || t[0] === '{') return null;
  const m = t.match(/^([^\s:][^:]*?|[^\s:]*?)\s*:(?:\s+(.*)|$)/);
  if (!m) return null;
  return [m[1], (m[2] ?? '').trim()];
}
function scalar(s) {
  s = s.trim();
  if (s.startsWith('"')) return JSON.parse(s.replace(/\\\//g, '/'));
  if (s.startsWith("'")) return s.slice(1, -1).replace(/''/g, "'");
  if (s.startsWith('[')) return splitFlow(s.slice(1, -1)).map(scalar);
  if (s.startsWith('{')) {
    const o = {};
    for (const part of splitFlow(s.slice(1, -1))) { const kv = splitKey(part); if (kv) o[kv[0]] = scalar(kv[1]); }
    return o;
  }
  if (s === '' || s === '~' || s === 'null') return null;
  if (s === 'true') return true;
  if (s === 'false') return false;
  if (/^-?\d+$/.test(s)) return Number(s);
  if (/^-?\d*\.\d+$/.test(s)) return Number(s);
  return s;
}
function splitFlow(s) {
  const out = []; let depth = 0, q = '', cur = '';
  for (const c of s) {
    if (q) { cur += c; if (c === q) q = ''; continue; }
    if (c === '"' || c === "'") q = c;
    if (c === '[' || c === '{') depth++;
    if (c === ']' || c === '}') depth--;
    if (c === ',' && depth === 0) { if (cur.trim()) out.push(cur.trim()); cur = ''; continue; }
    cur += c;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

// ---------------------------------------------------------------------------
// install data: flags/<component>.txt and version, beside the program
const here = dirname(fileURLToPath(import.meta.url));
function dataDir() {
  if (process.env.KUBE_STANDIN_DATA) return process.env.KUBE_STANDIN_DATA;
  for (const d of [here, join(here, '../lib/kube-standin')]) if (existsSync(join(d, 'version'))) return d;
  fail(`stand-in data (version, flags/) not found beside ${here}: install with test/standins/install.ts`);
}
function knownFlags(dir, component) {
  const flags = new Map();
  for (const line of readFileSync(join(dir, 'flags', `${component}.txt`), 'utf8').split('\n')) {
    const m = line.match(/^--(\S+)(\s+deprecated)?/);
    if (m) flags.set(m[1], { deprecated: !!m[2] });
  }
  return flags;
}

// ---------------------------------------------------------------------------
// command line, pflag-like
export function parseArgs(argv, known) {
  const values = new Map();
  const add = (name, value) => {
    if (!values.has(name)) values.set(name, []);
    values.get(name).push(value);
  };
  const positional = [];
  for (let k = 0; k < argv.length; k++) {
    const a = argv[k];
    if (a === '--') { positional.push(...argv.slice(k + 1)); break; }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      if (!known.has(name)) fail(`unknown flag: --${name}`);
      if (eq >= 0) add(name, a.slice(eq + 1));
      else if (k + 1 < argv.length && !argv[k + 1].startsWith('-')) add(name, argv[++k]);
      else add(name, 'true');
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      const c = a[1];
      if (c === 'v') { add('v', a.length > 2 ? a.slice(a[2] === '=' ? 3 : 2) : argv[++k]); continue; }
      if (c === 'h') { add('help', 'true'); continue; }
      fail(`unknown shorthand flag: '${c}' in ${a}`);
    }
    positional.push(a);
  }
  return { values, positional };
}

// ---------------------------------------------------------------------------
// files, certificates, keys
function readInput(path, what) {
  if (!existsSync(path)) fail(`${what}: open ${path}: no such file or directory`);
  if (statSync(path).isDirectory()) fail(`${what}: read ${path}: is a directory`);
  return readFileSync(path);
}
function pemCerts(buf, what) {
  const text = buf.toString('utf8');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  if (!blocks) fail(`${what}: data does not contain any valid RSA or ECDSA certificates`);
  try { return blocks.map((b) => new X509Certificate(b)); } catch (e) { fail(`${what}: ${e.message}`); }
}
function pemKey(buf, what) {
  try { return createPrivateKey(buf); } catch (e) { fail(`${what}: tls: failed to find any PEM data in key input (${e.message})`); }
}
function checkPair(certBuf, keyBuf, what) {
  const [cert] = pemCerts(certBuf, what);
  const key = pemKey(keyBuf, what);
  if (!cert.checkPrivateKey(key)) fail(`${what}: tls: private key does not match public key`);
  return cert;
}
function publicKeyPem(buf, what) {
  const text = buf.toString('utf8');
  try {
    if (text.includes('BEGIN CERTIFICATE')) return pemCerts(buf, what).map((c) => c.publicKey.export({ type: 'spki', format: 'pem' }));
    return [createPublicKey(buf).export({ type: 'spki', format: 'pem' })];
  } catch (e) { if (e instanceof Fatal) throw e; fail(`${what}: ${e.message}`); }
}

/** A kubeconfig, checked and resolved to what a client needs. */
export function loadKubeconfig(path, what = `kubeconfig ${path}`) {
  let doc;
  try { doc = parseYaml(readInput(path, what).toString('utf8')); } catch (e) { if (e instanceof Fatal) throw e; fail(`${what}: ${e.message}`); }
  if (!doc || typeof doc !== 'object') fail(`${what}: empty`);
  if (doc.kind && doc.kind !== 'Config') fail(`${what}: kind ${doc.kind}, want Config`);
  const base = dirname(path);
  const byName = (list, name, kind) => {
    const e = (list ?? []).find((x) => x && x.name === name);
    if (!e) fail(`${what}: ${kind} "${name}" not found`);
    return e;
  };
  const contextName = doc['current-context'];
  if (!contextName) fail(`${what}: invalid configuration: no current-context`);
  const ctx = byName(doc.contexts, contextName, 'context').context ?? {};
  const cluster = byName(doc.clusters, ctx.cluster, 'cluster').cluster ?? {};
  const user = ctx.user ? (byName(doc.users, ctx.user, 'user').user ?? {}) : {};
  const file = (p, field) => readInput(isAbsolute(p) ? p : resolve(base, p), `${what}: ${field}`);
  const data = (b64, field) => {
    const buf = Buffer.from(b64, 'base64');
    if (!buf.length) fail(`${what}: ${field}: empty`);
    return buf;
  };
  const out = { path, server: cluster.server, ca: undefined, cert: undefined, key: undefined, token: undefined };
  if (!out.server) fail(`${what}: cluster "${ctx.cluster}" has no server`);
  if (!/^https:\/\//.test(out.server)) fail(`${what}: server ${out.server} is not https`);
  if (cluster['certificate-authority-data']) out.ca = data(cluster['certificate-authority-data'], 'certificate-authority-data');
  else if (cluster['certificate-authority']) out.ca = file(cluster['certificate-authority'], 'certificate-authority');
  else if (!cluster['insecure-skip-tls-verify']) fail(`${what}: cluster "${ctx.cluster}" has no certificate-authority`);
  if (out.ca) pemCerts(out.ca, `${what}: certificate-authority`);
  if (user['client-certificate-data']) out.cert = data(user['client-certificate-data'], 'client-certificate-data');
  else if (user['client-certificate']) out.cert = file(user['client-certificate'], 'client-certificate');
  if (user['client-key-data']) out.key = data(user['client-key-data'], 'client-key-data');
  else if (user['client-key']) out.key = file(user['client-key'], 'client-key');
  if (!!out.cert !== !!out.key) fail(`${what}: user "${ctx.user}" has a client certificate without a key or a key without a certificate`);
  if (out.cert) out.subject = checkPair(out.cert, out.key, `${what}: user "${ctx.user}"`).subject;
  if (user.token) out.token = String(user.token);
  else if (user.tokenFile) out.token = file(user.tokenFile, 'tokenFile').toString('utf8').trim();
  if (!out.cert && !out.token) fail(`${what}: user "${ctx.user}" has neither a client certificate nor a token`);
  return out;
}

/** A config file given with --config: parsed, kind checked, file paths inside checked. */
function loadConfig(path, kinds) {
  const what = `--config ${path}`;
  let doc;
  try { doc = parseYaml(readInput(path, what).toString('utf8')); } catch (e) { if (e instanceof Fatal) throw e; fail(`${what}: ${e.message}`); }
  if (!doc || !kinds.includes(doc.kind)) fail(`${what}: kind ${doc && doc.kind}, want ${kinds.join(' or ')}`);
  return doc;
}

// Flags whose value is a file that must exist, by what the file holds.
const FILE_FLAGS = {
  cert: ['tls-cert-file', 'etcd-certfile', 'proxy-client-cert-file', 'kubelet-client-certificate', 'cluster-signing-cert-file',
    'cluster-signing-kube-apiserver-client-cert-file', 'cluster-signing-kubelet-client-cert-file', 'cluster-signing-kubelet-serving-cert-file',
    'cluster-signing-legacy-unknown-cert-file'],
  key: ['tls-private-key-file', 'etcd-keyfile', 'proxy-client-key-file', 'kubelet-client-key', 'cluster-signing-key-file',
    'cluster-signing-kube-apiserver-client-key-file', 'cluster-signing-kubelet-client-key-file', 'cluster-signing-kubelet-serving-key-file',
    'cluster-signing-legacy-unknown-key-file', 'service-account-private-key-file', 'service-account-signing-key-file'],
  ca: ['client-ca-file', 'etcd-cafile', 'requestheader-client-ca-file', 'root-ca-file', 'kubelet-certificate-authority', 'oidc-ca-file', 'peer-ca-file'],
  publicKey: ['service-account-key-file'],
  kubeconfig: ['kubeconfig', 'authentication-kubeconfig', 'authorization-kubeconfig'],
  yaml: ['encryption-provider-config', 'audit-policy-file', 'admission-control-config-file', 'egress-selector-config-file',
    'authentication-config', 'authorization-config', 'tracing-config-file', 'audit-webhook-config-file',
    'authentication-token-webhook-config-file', 'authorization-webhook-config-file', 'image-credential-provider-config', 'leader-migration-config'],
  text: ['token-auth-file', 'authorization-policy-file', 'cloud-config'],
};
const PAIRS = [
  ['tls-cert-file', 'tls-private-key-file'], ['etcd-certfile', 'etcd-keyfile'], ['proxy-client-cert-file', 'proxy-client-key-file'],
  ['kubelet-client-certificate', 'kubelet-client-key'], ['cluster-signing-cert-file', 'cluster-signing-key-file'],
  ['cluster-signing-kube-apiserver-client-cert-file', 'cluster-signing-kube-apiserver-client-key-file'],
  ['cluster-signing-kubelet-client-cert-file', 'cluster-signing-kubelet-client-key-file'],
  ['cluster-signing-kubelet-serving-cert-file', 'cluster-signing-kubelet-serving-key-file'],
  ['cluster-signing-legacy-unknown-cert-file', 'cluster-signing-legacy-unknown-key-file'],
];

/** Checks every file flag; returns the loaded kubeconfigs by flag. */
export function checkFiles(component, flags) {
  const get = (name) => flags.get(name) ?? [];
  const loaded = { kubeconfigs: {} };
  for (const [kind, names] of Object.entries(FILE_FLAGS)) {
    for (const name of names) {
      for (const value of get(name)) {
        for (const path of kind === 'publicKey' ? value.split(',') : [value]) {
          if (!path) continue;
          const what = `--${name}`;
          if (kind === 'kubeconfig') {
            // the kubelet writes --kubeconfig itself after bootstrapping when it is missing
            if (component === 'kubelet' && name === 'kubeconfig' && get('bootstrap-kubeconfig').length && !existsSync(path)) continue;
            loaded.kubeconfigs[name] = loadKubeconfig(path, `${what}=${path}`);
            continue;
          }
          const buf = readInput(path, `${what}=${path}`);
          if (kind === 'cert' || kind === 'ca') pemCerts(buf, `${what}=${path}`);
          else if (kind === 'key') pemKey(buf, `${what}=${path}`);
          else if (kind === 'publicKey') publicKeyPem(buf, `${what}=${path}`);
          else if (kind === 'yaml') { try { parseYaml(buf.toString('utf8')); } catch (e) { fail(`${what}=${path}: ${e.message}`); } }
        }
      }
    }
  }
  for (const [c, k] of PAIRS) {
    const cert = get(c).at(-1), key = get(k).at(-1);
    if (!!cert !== !!key) fail(`--${c} and --${k} must be given together`);
    if (cert) checkPair(readFileSync(cert), readFileSync(key), `--${c}=${cert} --${k}=${key}`);
  }
  for (const v of get('tls-sni-cert-key')) {
    const [files] = v.split(':');
    const [c, k] = files.split(',');
    checkPair(readInput(c, `--tls-sni-cert-key ${c}`), readInput(k ?? '', `--tls-sni-cert-key ${k}`), `--tls-sni-cert-key=${v}`);
  }
  // the service-account verification keys must include the signing key's public half
  const signing = get('service-account-signing-key-file').at(-1);
  if (signing && get('service-account-key-file').length) {
    const pub = createPublicKey(pemKey(readFileSync(signing), signing)).export({ type: 'spki', format: 'pem' });
    const verifiers = get('service-account-key-file').flatMap((p) => publicKeyPem(readFileSync(p), p));
    if (!verifiers.includes(pub)) fail(`--service-account-key-file does not hold the public key of --service-account-signing-key-file=${signing}`);
  }
  return loaded;
}

// ---------------------------------------------------------------------------
// state file for the lab: /run/kube-standin/<component>.json
const stateDir = process.env.KUBE_STANDIN_STATE_DIR ?? '/run/kube-standin';
function saveState(component, state) {
  try {
    mkdirSync(stateDir, { recursive: true });
    const tmp = join(stateDir, `.${component}.json`);
    writeFileSync(tmp, JSON.stringify({ component, pid: process.pid, updated: new Date().toISOString(), ...state }, null, 1) + '\n');
    renameSync(tmp, join(stateDir, `${component}.json`));
  } catch (e) { warn(`state file: ${e.message}`); }
}

// ---------------------------------------------------------------------------
// HTTPS client
function request(url, { ca, cert, key, token, method = 'GET', body, timeout = 5000 }) {
  return new Promise((resolveP, rejectP) => {
    const u = new URL(url);
    const headers = { Accept: 'application/json', 'User-Agent': `kube-standin/${process.argv0}` };
    if (token) headers.Authorization = `Bearer ${token}`;
    let payload;
    if (body !== undefined) { payload = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)); headers['Content-Type'] = 'application/json'; headers['Content-Length'] = payload.length; }
    const req = https.request({
      hostname: u.hostname.replace(/^\[|\]$/g, ''), port: u.port || 443, path: u.pathname + u.search, method, headers,
      ca, cert, key, timeout, agent: false,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolveP({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeout} ms`)));
    req.on('error', rejectP);
    req.end(payload);
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function readBody(req) {
  return new Promise((resolveP, rejectP) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolveP(Buffer.concat(chunks)));
    req.on('error', rejectP);
  });
}

/** Calls the apiserver a kubeconfig names until `path` answers 200; resolves with the body. */
async function untilOk(kc, path, label) {
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await request(kc.server + path, kc);
      if (res.status === 200) return res.body;
      warn(`${label}: GET ${kc.server}${path}: HTTP ${res.status}: ${res.body.slice(0, 200)}`);
    } catch (e) { warn(`${label}: GET ${kc.server}${path}: ${e.message}`); }
    await sleep(Math.min(2000 * attempt, 10000));
  }
}

// ---------------------------------------------------------------------------
// etcd through its JSON gateway
function etcdClient(flags) {
  const servers = (flags.get('etcd-servers')?.at(-1) ?? '').split(',').filter(Boolean);
  const read = (n) => { const p = flags.get(n)?.at(-1); return p ? readFileSync(p) : undefined; };
  const tls = { ca: read('etcd-cafile'), cert: read('etcd-certfile'), key: read('etcd-keyfile') };
  const prefix = flags.get('etcd-prefix')?.at(-1) ?? '/registry';
  let preferred = 0;
  async function call(path, body) {
    let last;
    for (let n = 0; n < servers.length; n++) {
      const s = servers[(preferred + n) % servers.length];
      try {
        const res = await request(s.replace(/\/$/, '') + path, { ...tls, method: 'POST', body, timeout: 3000 });
        if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.body.slice(0, 200)}`);
        preferred = (preferred + n) % servers.length;
        return JSON.parse(res.body);
      } catch (e) { last = `${s}: ${e.message}`; }
    }
    throw new Error(last ?? 'no --etcd-servers');
  }
  const b64 = (s) => Buffer.from(s).toString('base64');
  // the key just past every key that starts with `p`
  const rangeEnd = (p) => { const b = Buffer.from(p); b[b.length - 1]++; return b.toString('base64'); };
  return {
    servers, prefix,
    put: (k, v) => call('/v3/kv/put', { key: b64(prefix + k), value: b64(v) }),
    get: async (k) => {
      const r = await call('/v3/kv/range', { key: b64(prefix + k) });
      return r.kvs?.length ? Buffer.from(r.kvs[0].value ?? '', 'base64').toString('utf8') : undefined;
    },
    list: async (p) => {
      const r = await call('/v3/kv/range', { key: b64(prefix + p), range_end: rangeEnd(prefix + p) });
      return { revision: r.header?.revision, values: (r.kvs ?? []).map((kv) => Buffer.from(kv.value ?? '', 'base64').toString('utf8')) };
    },
    del: async (k) => Number((await call('/v3/kv/deleterange', { key: b64(prefix + k) })).deleted ?? 0),
  };
}

// ---------------------------------------------------------------------------
// the few API resources the project's add-ons and the kubelet's bootstrap use,
// stored as JSON under --etcd-prefix (a real apiserver stores protobuf, and
// encrypts Secrets per --encryption-provider-config: this one does neither)
const RESOURCES = [
  ['', 'v1', 'namespaces', 'Namespace', false], ['', 'v1', 'secrets', 'Secret', true],
  ['', 'v1', 'configmaps', 'ConfigMap', true], ['', 'v1', 'serviceaccounts', 'ServiceAccount', true],
  ['', 'v1', 'services', 'Service', true], ['', 'v1', 'endpoints', 'Endpoints', true],
  ['', 'v1', 'pods', 'Pod', true], ['', 'v1', 'nodes', 'Node', false],
  ['rbac.authorization.k8s.io', 'v1', 'clusterroles', 'ClusterRole', false],
  ['rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', 'ClusterRoleBinding', false],
  ['rbac.authorization.k8s.io', 'v1', 'roles', 'Role', true], ['rbac.authorization.k8s.io', 'v1', 'rolebindings', 'RoleBinding', true],
  ['apps', 'v1', 'deployments', 'Deployment', true], ['apps', 'v1', 'daemonsets', 'DaemonSet', true],
  ['policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget', true],
  ['certificates.k8s.io', 'v1', 'certificatesigningrequests', 'CertificateSigningRequest', false],
  ['coordination.k8s.io', 'v1', 'leases', 'Lease', true],
].map(([group, version, name, kind, namespaced]) => ({ group, version, name, kind, namespaced, gv: group ? `${group}/${version}` : version }));

function discovery(path) {
  const list = (gv) => ({
    kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv,
    resources: RESOURCES.filter((r) => r.gv === gv).map((r) => ({
      name: r.name, singularName: r.kind.toLowerCase(), namespaced: r.namespaced, kind: r.kind,
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update'],
    })),
  });
  if (path === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
  if (path === '/api/v1') return list('v1');
  if (path === '/apis') {
    const groups = [...new Set(RESOURCES.filter((r) => r.group).map((r) => r.gv))].map((gv) => {
      const [name, version] = gv.split('/');
      return { name, versions: [{ groupVersion: gv, version }], preferredVersion: { groupVersion: gv, version } };
    });
    return { kind: 'APIGroupList', apiVersion: 'v1', groups };
  }
  const m = path.match(/^\/apis\/([^/]+)\/([^/]+)$/);
  if (m && RESOURCES.some((r) => r.gv === `${m[1]}/${m[2]}`)) return list(`${m[1]}/${m[2]}`);
  return undefined;
}

/**
 * Just enough OpenAPI v3 for kubectl to see that PATCH takes fieldValidation,
 * so that `kubectl apply --server-side` (validate=strict) leaves validation to
 * the server instead of downloading schemas this stand-in does not have.
 */
function openapi(path, version) {
  const gvs = [...new Set(RESOURCES.map((r) => r.gv))];
  const prefix = (gv) => (gv === 'v1' ? 'api/v1' : `apis/${gv}`);
  if (path === '/openapi/v3') return { paths: Object.fromEntries(gvs.map((gv) => [prefix(gv), { serverRelativeURL: `/openapi/v3/${prefix(gv)}?hash=standin` }])) };
  const gv = gvs.find((g) => path === `/openapi/v3/${prefix(g)}`);
  if (!gv) return undefined;
  const paths = {};
  for (const r of RESOURCES.filter((x) => x.gv === gv)) {
    paths[`/${prefix(gv)}/${r.namespaced ? 'namespaces/{namespace}/' : ''}${r.name}/{name}`] = {
      patch: {
        'x-kubernetes-group-version-kind': { group: r.group, version: r.version, kind: r.kind },
        parameters: ['fieldValidation', 'fieldManager', 'force', 'dryRun'].map((name) => ({ name, in: 'query', schema: { type: 'string' } })),
        responses: { 200: { description: 'OK' } },
      },
    };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes (stand-in)', version }, paths };
}

/** /api/v1/namespaces/ns/secrets/name -> { resource, namespace, name } */
function resourcePath(path) {
  const m = path.match(/^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))\/(.+)$/);
  if (!m) return undefined;
  const gv = m[1] ? 'v1' : `${m[2]}/${m[3]}`;
  let segs = m[4].split('/').filter(Boolean);
  let namespace;
  if (segs[0] === 'namespaces' && segs.length >= 3) { namespace = segs[1]; segs = segs.slice(2); }
  const resource = RESOURCES.find((r) => r.gv === gv && r.name === segs[0]);
  if (!resource || segs.length > 3) return undefined;
  if (resource.namespaced && !namespace && segs.length > 1) return undefined;
  return { resource, namespace: resource.namespaced ? namespace : undefined, name: segs[1], subresource: segs[2] };
}
function deepMerge(a, b) {
  if (!b || typeof b !== 'object' || Array.isArray(b) || !a || typeof a !== 'object' || Array.isArray(a)) return b;
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) { if (v === null) delete out[k]; else out[k] = deepMerge(a[k], v); }
  return out;
}

// ---------------------------------------------------------------------------
// components
function versionInfo(version) {
  const [major, minor] = version.replace(/^v/, '').split('.');
  return {
    major, minor, emulationMajor: major, emulationMinor: minor, minCompatibilityMajor: major, minCompatibilityMinor: String(Number(minor) - 1),
    gitVersion: version, gitCommit: 'stand-in', gitTreeState: 'clean', buildDate: '1970-01-01T00:00:00Z',
    goVersion: `node${process.versions.node}`, compiler: 'stand-in', platform: `linux/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  };
}
function status(code, reason, message) {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

async function kubeApiserver(flags, version) {
  const one = (n, d) => flags.get(n)?.at(-1) ?? d;
  const errors = [];
  if (!flags.get('etcd-servers')) errors.push('--etcd-servers must be specified');
  if (!flags.get('service-account-issuer')) errors.push('service-account-issuer is a required flag');
  if (!flags.get('service-account-signing-key-file')) errors.push('--service-account-signing-key-file and --service-account-issuer are required flags');
  if (!flags.get('tls-cert-file')) errors.push('--tls-cert-file is required by this stand-in (it makes no self-signed certificate)');
  if (!flags.get('client-ca-file')) errors.push('--client-ca-file is required by this stand-in');
  if (errors.length) fail(`[${errors.join(', ')}]`);
  const etcd = etcdClient(flags);
  for (const s of etcd.servers) if (!/^https:\/\//.test(s)) fail(`--etcd-servers: ${s}: this stand-in speaks to etcd over TLS only`);

  // tokens: --token-auth-file, and bootstrap-token Secrets when enabled
  const staticTokens = new Map();
  for (const p of flags.get('token-auth-file') ?? []) {
    for (const line of readFileSync(p, 'utf8').split('\n')) {
      if (!line.trim() || line.startsWith('#')) continue;
      const cols = line.match(/("[^"]*"|[^,]*)(,|$)/g).map((c) => c.replace(/,$/, '').replace(/^"|"$/g, ''));
      if (cols.length < 3) fail(`--token-auth-file=${p}: a line needs token,user,uid: ${line}`);
      staticTokens.set(cols[0], { user: cols[1], groups: cols[3] ? cols[3].split(',') : [] });
    }
  }
  const bootstrapEnabled = one('enable-bootstrap-token-auth', 'false') === 'true';
  const anonymousAuth = one('anonymous-auth', 'true') !== 'false';
  async function tokenUser(token) {
    if (staticTokens.has(token)) return staticTokens.get(token);
    const m = token.match(/^([a-z0-9]{6})\.([a-z0-9]{16})$/);
    if (!bootstrapEnabled || !m) return undefined;
    const raw = await etcd.get(`/secrets/kube-system/bootstrap-token-${m[1]}`);
    if (!raw) return undefined;
    let secret;
    try { secret = JSON.parse(raw); } catch { warn(`bootstrap-token-${m[1]}: stored Secret is not JSON (written by a real apiserver?)`); return undefined; }
    const data = (k) => secret.stringData?.[k] ?? (secret.data?.[k] !== undefined ? Buffer.from(secret.data[k], 'base64').toString('utf8') : undefined);
    if (secret.type !== 'bootstrap.kubernetes.io/token' || data('token-id') !== m[1] || data('token-secret') !== m[2]) return undefined;
    if (data('usage-bootstrap-authentication') !== 'true') return undefined;
    const exp = data('expiration');
    if (exp && Date.parse(exp) < Date.now()) return undefined;
    const extra = (data('auth-extra-groups') ?? '').split(',').filter(Boolean);
    return { user: `system:bootstrap:${m[1]}`, groups: ['system:bootstrappers', ...extra] };
  }

  const me = one('advertise-address', hostname());
  const state = { version, advertiseAddress: me, requests: 0, byUser: {}, etcd: { ok: false, writes: 0, lastError: null, lastWrite: null } };
  async function heartbeat() {
    const key = `/standin/kube-apiserver/${me}`;
    try {
      await etcd.put(key, JSON.stringify({ host: hostname(), advertiseAddress: me, version, time: new Date().toISOString(), writes: state.etcd.writes + 1 }));
      if (!state.etcd.ok) log(`etcd: wrote ${etcd.prefix}${key} through ${etcd.servers.join(',')}`);
      state.etcd = { ok: true, writes: state.etcd.writes + 1, lastError: null, lastWrite: new Date().toISOString() };
    } catch (e) {
      if (state.etcd.ok || !state.etcd.lastError) warn(`etcd: ${e.message}`);
      state.etcd = { ...state.etcd, ok: false, lastError: e.message };
    }
    saveState('kube-apiserver', state);
  }
  await heartbeat();
  setInterval(heartbeat, 3000);
  let saveQueued = false;

  const server = https.createServer({
    cert: readFileSync(one('tls-cert-file')), key: readFileSync(one('tls-private-key-file')),
    ca: readFileSync(one('client-ca-file')), requestCert: true, rejectUnauthorized: false,
  }, async (req, res) => {
    const send = (code, body, type = 'application/json') => {
      res.writeHead(code, { 'Content-Type': type, 'Cache-Control': 'no-cache, private' });
      res.end(typeof body === 'string' ? body : JSON.stringify(body, null, 2) + '\n');
    };
    let who;
    const peer = req.socket.getPeerCertificate?.();
    if (req.socket.authorized && peer && peer.subject) {
      const o = peer.subject.O;
      who = { user: peer.subject.CN, groups: Array.isArray(o) ? o : o ? [o] : [] };
    } else {
      const m = (req.headers.authorization ?? '').match(/^Bearer\s+(\S+)$/i);
      if (m) { try { who = await tokenUser(m[1]); } catch (e) { warn(`token lookup: ${e.message}`); } }
    }
    // As the real one: a certificate that does not verify, or a token it does not
    // know, is 401; no credentials at all is system:anonymous while
    // --anonymous-auth is on (the default), which RBAC's
    // system:public-info-viewer lets read /healthz, /livez, /readyz and /version.
    const presented = (peer && peer.subject) || req.headers.authorization;
    if (!who && !presented && anonymousAuth) who = { user: 'system:anonymous', groups: ['system:unauthenticated'] };
    if (!who) return send(401, status(401, 'Unauthorized', 'Unauthorized'));
    state.requests++;
    state.byUser[who.user] = (state.byUser[who.user] ?? 0) + 1;
    if (!saveQueued) { saveQueued = true; setTimeout(() => { saveQueued = false; saveState('kube-apiserver', state); }, 200); }
    const path = (req.url ?? '/').split('?')[0];
    try {
      const body = await readBody(req);
      const [code, out, type] = await handle(req.method, path, req.url ?? '', body, who, req.headers['content-type'] ?? '');
      send(code, out, type);
    } catch (e) {
      warn(`${req.method} ${path}: ${e.message}`);
      send(500, status(500, 'InternalError', e.message));
    }
  });

  /**
   * nodes/<name>/proxy (kubectl logs, exec and metrics go this way): the
   * apiserver dials the kubelet at the Node's InternalIP, shows it
   * --kubelet-client-certificate and, with --kubelet-certificate-authority,
   * verifies the kubelet's serving certificate (its CA and the IP in its
   * SANs) as the real one does; without that flag it does not verify.
   */
  async function kubeletProxy(nodeName, rest, method) {
    const stored = await etcd.get(`/nodes/${nodeName}`);
    if (!stored) return [404, status(404, 'NotFound', `nodes "${nodeName}" not found`)];
    const node = JSON.parse(stored);
    const ip = (node.status?.addresses ?? []).find((a) => a.type === 'InternalIP')?.address;
    if (!ip) return [503, status(503, 'ServiceUnavailable', `no InternalIP for node "${nodeName}"`)];
    const kubeletCa = one('kubelet-certificate-authority');
    const clientCert = one('kubelet-client-certificate');
    const clientKey = one('kubelet-client-key');
    const answer = await new Promise((r) => {
      const req = https.request({
        host: ip, port: node.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? 10250, path: rest, method, timeout: 5000,
        ...(clientCert ? { cert: readFileSync(clientCert), key: readFileSync(clientKey) } : {}),
        ...(kubeletCa ? { ca: readFileSync(kubeletCa), rejectUnauthorized: true } : { rejectUnauthorized: false }),
      }, (res) => {
        let text = '';
        res.on('data', (c) => { text += c; });
        res.on('end', () => r([res.statusCode ?? 502, text, res.headers['content-type'] ?? 'text/plain']));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => r([502, status(502, 'BadGateway', `error trying to reach service: ${e.code === 'ERR_TLS_CERT_ALTNAME_INVALID' || /certificate|verify/i.test(e.message) ? `tls: failed to verify certificate: x509: ${e.message}` : e.message}`)]));
      req.end();
    });
    state.kubeletProxy = { node: nodeName, verified: !!kubeletCa, status: answer[0], at: new Date().toISOString() };
    return answer;
  }

  async function handle(method, path, url, body, who, contentType) {
    const masters = who.groups.includes('system:masters');
    const publicInfo = method === 'GET' && /^\/(version|healthz|livez|readyz)(\/.*)?$/.test(path);
    if (who.user === 'system:anonymous' && !publicInfo) {
      return [403, status(403, 'Forbidden', `forbidden: User "system:anonymous" cannot ${method.toLowerCase()} path "${path}"`)];
    }
    if (path === '/version') return [200, versionInfo(version)];
    const check = path.match(/^\/(healthz|readyz|livez)(\/.*)?$/);
    if (check) {
      const text = 'text/plain; charset=utf-8';
      const needsEtcd = check[1] !== 'livez';
      const ok = !needsEtcd || state.etcd.ok;
      if (!/[?&]verbose/.test(url)) return [ok ? 200 : 500, ok ? 'ok' : `[-]etcd failed: ${state.etcd.lastError}\n${check[1]} check failed`, text];
      const lines = ['[+]ping ok', '[+]log ok', needsEtcd ? `[${ok ? '+' : '-'}]etcd ${ok ? 'ok' : 'failed: reason withheld'}` : null].filter(Boolean);
      return [ok ? 200 : 500, `${lines.join('\n')}\n${check[1]} check ${ok ? 'passed' : 'failed'}\n`, text];
    }
    const d = method === 'GET' ? discovery(path) ?? openapi(path, version) : undefined;
    if (d) return [200, d];
    const proxied = path.match(/^\/api\/v1\/nodes\/([^/]+)\/proxy(\/.*)?$/);
    if (proxied) {
      if (!masters) return [403, status(403, 'Forbidden', `nodes "${proxied[1]}" is forbidden: User "${who.user}" cannot ${method.toLowerCase()} resource "nodes/proxy"`)];
      return kubeletProxy(proxied[1], proxied[2] ?? '/', method);
    }
    const target = resourcePath(path);
    const statusUpdate = target?.resource.name === 'certificatesigningrequests' && ['status', 'approval'].includes(target.subresource) && method === 'PUT';
    if (!target || (target.subresource && !statusUpdate)) return [404, status(404, 'NotFound', 'the server could not find the requested resource')];
    const { resource, namespace, name } = target;
    // authorization, much simplified from RBAC: system:masters may do anything;
    // bootstrappers and nodes may create and read certificate signing requests;
    // other authenticated users may read anything but Secrets.
    const isCsr = resource.name === 'certificatesigningrequests';
    const csr = isCsr && (who.groups.some((g) => g === 'system:bootstrappers' || g === 'system:nodes') || who.user === 'system:kube-controller-manager');
    // the Node authorizer and NodeRestriction: a kubelet writes its own Node object only
    const ownNode = resource.name === 'nodes' && who.groups.includes('system:nodes') && who.user.startsWith('system:node:');
    if (ownNode && method !== 'GET') {
      const nodeName = who.user.slice('system:node:'.length);
      let sent;
      try { sent = body.length ? parseYaml(body.toString('utf8')) : {}; } catch { sent = {}; }
      const target = name ?? sent?.metadata?.name;
      if (target !== nodeName) return [403, status(403, 'Forbidden', `nodes "${target}" is forbidden: node "${nodeName}" is not allowed to modify node "${target}"`)];
      const restricted = Object.keys(sent?.metadata?.labels ?? {}).filter((l) => /^node-role\.kubernetes\.io\//.test(l));
      if (restricted.length) return [403, status(403, 'Forbidden', `nodes "${target}" is forbidden: is not allowed to modify labels: ${restricted.join(', ')}`)];
    }
    if (!masters && !csr && !ownNode && (method !== 'GET' || resource.name === 'secrets')) {
      return [403, status(403, 'Forbidden', `${resource.name}${name ? ` "${name}"` : ''} is forbidden: User "${who.user}" cannot ${method.toLowerCase()} resource "${resource.name}"`)];
    }
    const key = (n) => `/${resource.name}/${namespace ? `${namespace}/` : ''}${n}`;
    const notFound = () => [404, { ...status(404, 'NotFound', `${resource.name} "${name}" not found`), details: { name, kind: resource.name } }];
    if (method === 'GET' && !name) {
      const { revision, values } = await etcd.list(`/${resource.name}/${namespace ? `${namespace}/` : ''}`);
      return [200, { kind: `${resource.kind}List`, apiVersion: resource.gv, metadata: { resourceVersion: String(revision ?? '') }, items: values.map((v) => JSON.parse(v)) }];
    }
    if (!name && method !== 'POST') return [405, status(405, 'MethodNotAllowed', `${method} needs a name`)];
    const existing = name ? await etcd.get(key(name)).then((v) => (v ? JSON.parse(v) : undefined)) : undefined;
    if (method === 'GET') return existing ? [200, existing] : notFound();
    if (method === 'DELETE') {
      if (!existing) return notFound();
      await etcd.del(key(name));
      return [200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, kind: resource.name } }];
    }
    let obj;
    try { obj = body.length ? parseYaml(body.toString('utf8')) : {}; } catch (e) { return [400, status(400, 'BadRequest', `decoding the body: ${e.message}`)]; }
    if (statusUpdate) {
      // the approval and status subresources of a CSR: only its status changes
      if (!existing) return notFound();
      obj = { ...existing, status: { ...existing.status, ...obj?.status } };
    } else if (method === 'PATCH' && !contentType.includes('apply-patch')) {
      if (!existing) return notFound();
      obj = deepMerge(existing, obj); // merge and strategic-merge patches, as a JSON merge patch
    } else if (method === 'POST' || method === 'PUT' || method === 'PATCH') {
      const objName = obj?.metadata?.name ?? name;
      if (!obj || obj.kind !== resource.kind) return [400, status(400, 'BadRequest', `the body is a ${obj && obj.kind}, not a ${resource.kind}`)];
      if (name && objName !== name) return [400, status(400, 'BadRequest', `the name of the object (${objName}) does not match the name on the URL (${name})`)];
      if (method === 'POST' && (await etcd.get(key(objName)))) return [409, status(409, 'AlreadyExists', `${resource.name} "${objName}" already exists`)];
      if (method === 'PUT' && !existing) return notFound();
    } else return [405, status(405, 'MethodNotAllowed', method)];
    const objName = obj.metadata?.name ?? name;
    const keep = existing?.metadata ?? {};
    obj.apiVersion = resource.gv;
    obj.kind = resource.kind;
    obj.metadata = {
      ...obj.metadata, name: objName, ...(namespace ? { namespace } : {}),
      uid: keep.uid ?? randomUUID(), creationTimestamp: keep.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    };
    // as the real one: a CSR records who asked for it
    if (isCsr && !existing) obj.spec = { ...obj.spec, username: who.user, groups: who.groups };
    if (resource.kind === 'Secret' && obj.stringData) {
      obj.data = { ...obj.data };
      for (const [k, v] of Object.entries(obj.stringData)) obj.data[k] = Buffer.from(String(v)).toString('base64');
      delete obj.stringData;
    }
    const put = await etcd.put(key(objName), JSON.stringify(obj));
    obj.metadata.resourceVersion = String(put.header?.revision ?? '');
    return [existing ? 200 : 201, obj];
  }

  const host = one('bind-address', '0.0.0.0');
  const port = Number(one('secure-port', '6443'));
  await new Promise((r, j) => { server.once('error', j); server.listen(port, host, r); });
  log(`Serving securely on ${host.includes(':') ? `[${host}]` : host}:${port}`);
  state.listening = `${host}:${port}`;
  saveState('kube-apiserver', state);
}

/** The kubeconfig a component talks to its apiserver with. */
function clientKubeconfig(component, flags, loaded, config) {
  if (loaded.kubeconfigs.kubeconfig) return loaded.kubeconfigs.kubeconfig;
  const fromConfig = config?.clientConnection?.kubeconfig;
  if (fromConfig) return loadKubeconfig(fromConfig, `--config clientConnection.kubeconfig=${fromConfig}`);
  if (loaded.kubeconfigs['authentication-kubeconfig']) return loaded.kubeconfigs['authentication-kubeconfig'];
  fail(`invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable`);
}

async function client(component, flags, loaded, version) {
  const configPath = flags.get('config')?.at(-1);
  const kinds = { 'kube-scheduler': ['KubeSchedulerConfiguration'], 'kube-proxy': ['KubeProxyConfiguration'], kubelet: ['KubeletConfiguration'] }[component];
  const config = configPath ? loadConfig(configPath, kinds) : undefined;
  const state = { version };
  let kc;
  if (component === 'kubelet') {
    // file paths inside KubeletConfiguration
    const x509 = config?.authentication?.x509?.clientCAFile;
    if (x509) pemCerts(readInput(x509, `--config authentication.x509.clientCAFile`), `clientCAFile ${x509}`);
    if (!!config?.tlsCertFile !== !!config?.tlsPrivateKeyFile) fail(`--config: tlsCertFile and tlsPrivateKeyFile must be given together`);
    if (config?.tlsCertFile) checkPair(readInput(config.tlsCertFile, 'tlsCertFile'), readInput(config.tlsPrivateKeyFile, 'tlsPrivateKeyFile'), `--config tlsCertFile/tlsPrivateKeyFile`);
    // the container runtime must answer on its socket, or the real kubelet exits
    const cri = config?.containerRuntimeEndpoint ?? flags.get('container-runtime-endpoint')?.at(-1) ?? 'unix:///run/containerd/containerd.sock';
    if (cri.startsWith('unix://')) {
      const sock = cri.slice('unix://'.length);
      const err = await new Promise((r) => { const c = net.createConnection(sock, () => { c.destroy(); r(undefined); }); c.on('error', r); });
      if (err) fail(`failed to run Kubelet: validate service connection: validate CRI v1 runtime API for endpoint "${cri}": rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial unix ${sock}: connect: ${err.code === 'ENOENT' ? 'no such file or directory' : err.code}"`);
    }
    const kubeconfigPath = flags.get('kubeconfig')?.at(-1);
    if (kubeconfigPath && existsSync(kubeconfigPath)) { kc = loaded.kubeconfigs.kubeconfig; state.credentials = 'kubeconfig'; }
    else if (flags.get('bootstrap-kubeconfig')) {
      const p = flags.get('bootstrap-kubeconfig').at(-1);
      kc = loadKubeconfig(p, `--bootstrap-kubeconfig=${p}`);
      if (!kc.token) fail(`--bootstrap-kubeconfig=${p}: no bootstrap token in its user`);
      state.credentials = 'bootstrap-kubeconfig';
    } else fail(`unable to load bootstrap kubeconfig: neither --kubeconfig nor --bootstrap-kubeconfig names an existing file`);
  } else {
    kc = clientKubeconfig(component, flags, loaded, config);
    state.credentials = kc.cert ? `client certificate ${kc.subject?.replace(/\n/g, ',')}` : 'token';
  }
  state.server = kc.server;
  saveState(component, { ...state, connected: false });
  const path = component === 'kubelet' ? '/version' : '/healthz';
  log(`${component}: connecting to ${kc.server} with ${state.credentials}`);
  let body = await untilOk(kc, path, component);
  if (component === 'kubelet' && state.credentials === 'bootstrap-kubeconfig') {
    const kubeconfigPath = flags.get('kubeconfig')?.at(-1);
    if (!kubeconfigPath) fail('--bootstrap-kubeconfig needs --kubeconfig: the file the kubelet writes after bootstrapping');
    kc = await tlsBootstrap(kc, flags, kubeconfigPath);
    state.credentials = `client certificate ${kc.subject?.replace(/\n/g, ',')} (TLS bootstrap)`;
    state.tlsBootstrap = { kubeconfig: kubeconfigPath, at: new Date().toISOString() };
    body = await untilOk(kc, path, component);
  }
  let served;
  if (component === 'kubelet') { try { served = JSON.parse(body).gitVersion; } catch { served = body.slice(0, 40); } }
  log(`${component}: GET ${kc.server}${path} succeeded${served ? ` (apiserver ${served})` : ''}`);
  saveState(component, { ...state, connected: true, connectedAt: new Date().toISOString(), apiserverVersion: served });
  // keep calling, as the real ones do, so an outage shows in the log and the state file
  let healthy = true;
  setInterval(async () => {
    try {
      const res = await request(kc.server + path, kc);
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      if (!healthy) log(`${component}: ${kc.server} answers again`);
      healthy = true;
    } catch (e) {
      if (healthy) warn(`${component}: ${kc.server}${path}: ${e.message}`);
      healthy = false;
    }
    saveState(component, { ...state, connected: healthy, apiserverVersion: served });
  }, 10000);
  if (component === 'kube-controller-manager') csrSigner(kc, flags);
  if (component === 'kubelet') registerNode(kc, flags, config);
  // the local health endpoints the real ones serve
  if (component === 'kubelet') {
    serveKubeletApi(config);
    const port = config?.healthzPort ?? 10248;
    if (port) http.createServer((_, res) => res.end('ok')).listen(port, config?.healthzBindAddress ?? '127.0.0.1').on('error', (e) => warn(`healthz: ${e.message}`));
  }
}

/**
 * The kubelet's API on port 10250, the one the apiserver proxies to (logs,
 * exec, metrics): TLS with tlsCertFile/tlsPrivateKeyFile, client certificates
 * of authentication.x509.clientCAFile only. It serves /healthz and an empty
 * /pods; it runs no pod.
 */
function serveKubeletApi(config) {
  if (!config?.tlsCertFile) { warn('kubelet: no tlsCertFile: the real kubelet would serve a self-signed certificate no apiserver can verify'); return; }
  const clientCa = config.authentication?.x509?.clientCAFile;
  const server = https.createServer({
    cert: readFileSync(config.tlsCertFile), key: readFileSync(config.tlsPrivateKeyFile),
    ...(clientCa ? { ca: readFileSync(clientCa) } : {}), requestCert: true, rejectUnauthorized: false,
  }, (req, res) => {
    const peer = req.socket.getPeerCertificate?.();
    if (!req.socket.authorized || !peer?.subject) { res.writeHead(401); res.end('Unauthorized'); return; }
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') { res.writeHead(200, { 'Content-Type': 'text/plain' }); res.end('ok'); return; }
    if (path === '/pods') { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', items: [] })); return; }
    res.writeHead(404); res.end('404 page not found');
  });
  server.listen(config.port ?? 10250, config.address ?? '0.0.0.0').on('error', (e) => warn(`kubelet: serving on ${config.port ?? 10250}: ${e.message}`));
  log(`kubelet: serving the kubelet API over TLS on :${config.port ?? 10250} with ${config.tlsCertFile}`);
}

/** The node name a kubelet registers and asks certificates for. */
function nodeName(flags) {
  return (flags.get('hostname-override')?.at(-1) ?? hostname()).toLowerCase();
}

/**
 * As the real kubelet: once it has its credentials it creates its Node
 * object, with the well-known labels and KubeletConfiguration's
 * registerWithTaints; an existing one is kept (its labels, say
 * node-role.kubernetes.io/control-plane set by an admin, are not touched).
 */
async function registerNode(kc, flags, config) {
  const name = nodeName(flags);
  const ip = flags.get('node-ip')?.at(-1);
  const node = {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch } },
    spec: { ...(config?.registerWithTaints?.length ? { taints: config.registerWithTaints } : {}) },
    status: {
      addresses: [...(ip ? [{ type: 'InternalIP', address: ip }] : []), { type: 'Hostname', address: name }],
      daemonEndpoints: { kubeletEndpoint: { Port: config?.port ?? 10250 } },
    },
  };
  for (let attempt = 1; ; attempt++) {
    const r = await request(`${kc.server}/api/v1/nodes`, { ...kc, method: 'POST', body: node }).catch((e) => ({ status: 0, body: e.message }));
    if (r.status === 201 || r.status === 409) {
      log(`kubelet: node "${name}" ${r.status === 201 ? 'registered' : 'already registered'}`);
      return;
    }
    warn(`kubelet: registering node "${name}": ${r.status ? `HTTP ${r.status}: ${r.body.slice(0, 200)}` : r.body}`);
    await sleep(Math.min(2000 * attempt, 10000));
  }
}

// ---------------------------------------------------------------------------
// kubelet TLS bootstrap: a key, a CSR through the bootstrap token, the
// certificate the controller-manager signs, and the kubeconfig that uses it
function openssl(args, input) {
  const r = spawnSync('openssl', args, { input, encoding: 'utf8' });
  if (r.error || r.status !== 0) throw new Error(`openssl ${args[0]}: ${r.error?.message ?? r.stderr.trim()}`);
  return r.stdout;
}
const CSR_PATH = '/apis/certificates.k8s.io/v1/certificatesigningrequests';
const KUBELET_SIGNER = 'kubernetes.io/kube-apiserver-client-kubelet';

async function tlsBootstrap(kc, flags, kubeconfigPath) {
  const node = nodeName(flags);
  const certDir = flags.get('cert-dir')?.at(-1) ?? '/var/lib/kubelet/pki';
  mkdirSync(certDir, { recursive: true, mode: 0o700 });
  const keyPem = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'sec1', format: 'pem' });
  const tmp = mkdtempSync(join(tmpdir(), 'kubelet-csr-'));
  let csrPem;
  try {
    writeFileSync(join(tmp, 'key.pem'), keyPem, { mode: 0o600 });
    csrPem = openssl(['req', '-new', '-key', join(tmp, 'key.pem'), '-subj', `/O=system:nodes/CN=system:node:${node}`]);
  } finally { rmSync(tmp, { recursive: true, force: true }); }
  const name = `node-csr-${randomBytes(8).toString('hex')}`;
  const csr = {
    apiVersion: 'certificates.k8s.io/v1', kind: 'CertificateSigningRequest', metadata: { name },
    spec: { request: Buffer.from(csrPem).toString('base64'), signerName: KUBELET_SIGNER, usages: ['digital signature', 'client auth'] },
  };
  for (let attempt = 1; ; attempt++) {
    const r = await request(kc.server + CSR_PATH, { ...kc, method: 'POST', body: csr }).catch((e) => ({ status: 0, body: e.message }));
    if (r.status === 201 || r.status === 409) break;
    warn(`kubelet: creating CSR ${name}: ${r.status ? `HTTP ${r.status}: ${r.body.slice(0, 200)}` : r.body}`);
    await sleep(Math.min(2000 * attempt, 10000));
  }
  log(`kubelet: CSR ${name} for system:node:${node} created, waiting for its certificate`);
  let certPem;
  for (let attempt = 1; !certPem; attempt++) {
    await sleep(2000);
    const r = await request(`${kc.server}${CSR_PATH}/${name}`, kc).catch(() => undefined);
    if (r?.status !== 200) continue;
    const st = JSON.parse(r.body).status ?? {};
    const denied = (st.conditions ?? []).find((c) => c.type === 'Denied' || c.type === 'Failed');
    if (denied) fail(`CSR ${name} ${denied.type.toLowerCase()}: ${denied.message ?? denied.reason ?? ''}`);
    if (st.certificate) certPem = Buffer.from(st.certificate, 'base64').toString('utf8');
    else if (attempt % 15 === 0) warn(`kubelet: CSR ${name} still has no certificate (is a controller-manager signing?)`);
  }
  checkPair(Buffer.from(certPem), Buffer.from(keyPem), `CSR ${name}`);
  const current = join(certDir, 'kubelet-client-current.pem');
  writeFileSync(`${current}.tmp`, certPem.trimEnd() + '\n' + keyPem, { mode: 0o600 });
  renameSync(`${current}.tmp`, current);
  const caLine = kc.ca ? `    certificate-authority-data: ${kc.ca.toString('base64')}\n` : '    insecure-skip-tls-verify: true\n';
  writeFileSync(kubeconfigPath, `apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n${caLine}    server: ${kc.server}\n  name: default-cluster\n` +
    `contexts:\n- context:\n    cluster: default-cluster\n    namespace: default\n    user: default-auth\n  name: default-context\ncurrent-context: default-context\n` +
    `users:\n- name: default-auth\n  user:\n    client-certificate: ${current}\n    client-key: ${current}\n`, { mode: 0o600 });
  log(`kubelet: TLS bootstrap done: ${current}, ${kubeconfigPath}`);
  return loadKubeconfig(kubeconfigPath);
}

/**
 * The controller-manager's csrapproving and csrsigning controllers, for
 * kubelet client certificates only: a CSR from a bootstrapper is approved when
 * a ClusterRoleBinding gives its group the nodeclient role (a node renewing its
 * own, the selfnodeclient role), then signed with --cluster-signing-cert-file/key.
 */
function csrSigner(kc, flags) {
  const certFile = flags.get('cluster-signing-cert-file')?.at(-1);
  const keyFile = flags.get('cluster-signing-key-file')?.at(-1);
  if (!certFile || !keyFile) return;
  const hours = Number((flags.get('cluster-signing-duration')?.at(-1) ?? '8760h').match(/^(\d+)h/)?.[1] ?? 8760);
  const get = async (path) => { const r = await request(kc.server + path, kc); if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status}`); return JSON.parse(r.body); };
  let busy = false;
  setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const pending = (await get(CSR_PATH)).items.filter((c) => c.spec?.signerName === KUBELET_SIGNER && !c.status?.certificate
        && !(c.status?.conditions ?? []).some((x) => x.type === 'Denied' || x.type === 'Failed'));
      if (!pending.length) return;
      const bindings = (await get('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings')).items;
      const grants = (role, kind, name) => bindings.some((b) => b.roleRef?.name === role && b.subjects?.some((s) => s.kind === kind && s.name === name));
      for (const c of pending) {
        const tmp = mkdtempSync(join(tmpdir(), 'csr-'));
        try {
          const csrPem = Buffer.from(c.spec.request, 'base64').toString('utf8');
          const subject = openssl(['req', '-noout', '-subject', '-nameopt', 'RFC2253'], csrPem).trim().replace(/^subject=/, '');
          const cn = subject.match(/CN=([^,]+)/)?.[1] ?? '';
          const groups = c.spec.groups ?? [];
          const nodeclient = groups.some((g) => grants('system:certificates.k8s.io:certificatesigningrequests:nodeclient', 'Group', g));
          const self = c.spec.username === cn && groups.some((g) => grants('system:certificates.k8s.io:certificatesigningrequests:selfnodeclient', 'Group', g));
          if (!/^system:node:[a-z0-9.-]+$/.test(cn) || !/(^|,)O=system:nodes(,|$)/.test(subject) || !(nodeclient || self)) {
            warn(`kube-controller-manager: CSR ${c.metadata.name} from ${c.spec.username} (${subject}) not approved: no nodeclient/selfnodeclient binding or not a node's subject`);
            continue;
          }
          writeFileSync(join(tmp, 'csr.pem'), csrPem);
          writeFileSync(join(tmp, 'ext'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');
          const cert = openssl(['x509', '-req', '-in', join(tmp, 'csr.pem'), '-CA', certFile, '-CAkey', keyFile, '-set_serial', `0x${randomBytes(12).toString('hex')}`,
            '-days', String(Math.max(1, Math.floor(hours / 24))), '-extfile', join(tmp, 'ext')]);
          const body = { status: {
            conditions: [{ type: 'Approved', status: 'True', reason: 'AutoApproved', message: 'Auto approving kubelet client certificate after SubjectAccessReview.' }],
            certificate: Buffer.from(cert).toString('base64'),
          } };
          const r = await request(`${kc.server}${CSR_PATH}/${c.metadata.name}/status`, { ...kc, method: 'PUT', body });
          if (r.status !== 200) throw new Error(`PUT status: HTTP ${r.status}: ${r.body.slice(0, 200)}`);
          log(`kube-controller-manager: approved and signed CSR ${c.metadata.name} for ${cn}`);
        } finally { rmSync(tmp, { recursive: true, force: true }); }
      }
    } catch (e) { warn(`kube-controller-manager: CSRs: ${e.message}`); } finally { busy = false; }
  }, 2000);
}

// ---------------------------------------------------------------------------
async function main() {
  const invoked = basename(process.argv[1] ?? '');
  const component = process.env.KUBE_STANDIN_AS ?? invoked;
  if (!COMPONENTS.includes(component)) {
    process.stderr.write(`kube-standin: invoke me as one of ${COMPONENTS.join(', ')} (a copy or link with that name), not ${invoked}\n`);
    return 2;
  }
  const dir = dataDir();
  const version = readFileSync(join(dir, 'version'), 'utf8').trim();
  const known = knownFlags(dir, component);
  const argv = process.argv.slice(2);
  if (argv[0] === 'version') { process.stdout.write(`Kubernetes ${version}\n`); return 0; }
  let parsed;
  try { parsed = parseArgs(argv, known); } catch (e) {
    if (!(e instanceof Fatal)) throw e;
    process.stderr.write(`Error: ${e.message}\nUsage:\n  ${component} [flags]\n\n(STAND-IN for ${component} ${version}: see test/standins/)\n`);
    return 1;
  }
  const { values: flags, positional } = parsed;
  if (flags.has('help')) { process.stdout.write(`STAND-IN for ${component} ${version} (not Kubernetes).\n\nUsage:\n  ${component} [flags]\n\nFlags:\n${[...known.keys()].map((f) => `      --${f}`).join('\n')}\n`); return 0; }
  const v = flags.get('version')?.at(-1);
  if (v && v !== 'false') {
    process.stdout.write(v === 'raw' ? JSON.stringify(versionInfo(version), null, 2) + '\n' : `Kubernetes ${version}\n`);
    return 0;
  }
  if (positional.length) { process.stderr.write(`Error: "${component}" does not take any arguments, got ${JSON.stringify(positional)}\n`); return 1; }
  for (const name of flags.keys()) if (known.get(name)?.deprecated) warn(`Flag --${name} has been deprecated`);
  log(`STAND-IN ${component} ${version} (not Kubernetes) starting with ${argv.length} flags`);
  try {
    const loaded = checkFiles(component, flags);
    if (component === 'kube-apiserver') await kubeApiserver(flags, version);
    else await client(component, flags, loaded, version);
  } catch (e) {
    if (!(e instanceof Fatal)) throw e;
    process.stderr.write(`Error: ${e.message}\n`);
    return 1;
  }
  return undefined; // keep running
}

// Run when started as a component (through a launcher or with KUBE_STANDIN_AS) or
// directly; stay quiet when a test imports the parsers.
const entry = process.argv[1] ?? '';
if (process.env.KUBE_STANDIN_AS || COMPONENTS.includes(basename(entry)) || resolve(entry) === fileURLToPath(import.meta.url)) {
  const code = await main();
  if (code !== undefined) process.exit(code);
}
