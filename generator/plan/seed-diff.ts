/**
 * What changed in one host's seed, in words an operator can check: which file
 * on the host changes and how ("kubeconfig server https://192.168.31.71:6443
 * -> https://192.168.31.88:6443", "nginx upstreams + k8s-master2").
 *
 * It reads the two seeds as cloud-init does (the user-data's write_files and
 * top-level keys, network-config as YAML) and never prints the content of a
 * secret: a file written 0600 is described by what changed in it, not by its
 * values.
 */
import { X509Certificate } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { load } from 'js-yaml';

export interface SeedText {
  userData: string;
  networkConfig: string;
}

/** Names the plan can put beside addresses: 192.168.31.72 -> k8s-master2. */
export type AddressNames = ReadonlyMap<string, string>;

interface WrittenFile { content: string; secret: boolean }

const MAX_DETAILS = 6;

function decode(entry: Record<string, unknown>): string {
  const content = String(entry.content ?? '');
  const encoding = String(entry.encoding ?? '');
  if (/^(gz\+)?b(ase)?64$/.test(encoding)) {
    const bytes = Buffer.from(content, 'base64');
    return (encoding.startsWith('gz') ? gunzipSync(bytes) : bytes).toString();
  }
  if (encoding === 'gz' || encoding === 'gzip') return gunzipSync(Buffer.from(content)).toString();
  return content;
}

function readUserData(text: string): { files: Map<string, WrittenFile>; other: Record<string, unknown> } {
  const doc = (load(text) ?? {}) as Record<string, unknown>;
  const files = new Map<string, WrittenFile>();
  for (const entry of (doc.write_files ?? []) as Record<string, unknown>[]) {
    const path = String(entry.path);
    const previous = files.get(path);
    const content = decode(entry);
    // An `append: true` entry adds to the same path (cloud-init writes them in order).
    files.set(path, {
      content: entry.append && previous ? previous.content + content : content,
      secret: (Number.parseInt(String(entry.permissions ?? '0644'), 8) & 0o077) === 0,
    });
  }
  const { write_files: _files, ...other } = doc;
  return { files, other };
}

function named(address: string, names: AddressNames): string {
  const bare = address.replace(/:\d+$/, '');
  const name = names.get(bare);
  return name ? `${name} (${address})` : address;
}

function setChange(label: string, before: Iterable<string>, after: Iterable<string>, show: (v: string) => string = (v) => v): string | undefined {
  const a = new Set(before);
  const b = new Set(after);
  const added = [...b].filter((v) => !a.has(v)).map((v) => `+ ${show(v)}`);
  const removed = [...a].filter((v) => !b.has(v)).map((v) => `- ${show(v)}`);
  const all = [...added, ...removed];
  if (all.length === 0) return undefined;
  return `${label} ${all.slice(0, MAX_DETAILS).join(', ')}${all.length > MAX_DETAILS ? ` and ${all.length - MAX_DETAILS} more` : ''}`;
}

function lineCounts(before: string, after: string): string {
  const count = (text: string) => {
    const m = new Map<string, number>();
    for (const line of text.split('\n')) m.set(line, (m.get(line) ?? 0) + 1);
    return m;
  };
  const a = count(before);
  const b = count(after);
  let added = 0;
  let removed = 0;
  for (const [line, n] of b) added += Math.max(0, n - (a.get(line) ?? 0));
  for (const [line, n] of a) removed += Math.max(0, n - (b.get(line) ?? 0));
  return `+${added}/-${removed} lines`;
}

/** Scalar leaves of a parsed YAML document, by dotted path. */
function leaves(value: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      leaves(child, prefix ? `${prefix}.${key}` : key, out);
    }
  } else {
    out.set(prefix, String(value));
  }
  return out;
}

/** `key: old -> new` for each scalar that differs; values hidden for secrets and for long blobs. */
function structuralChanges(before: unknown, after: unknown, secret: boolean): string[] {
  const a = leaves(before);
  const b = leaves(after);
  const shown = (v: string | undefined) => (v === undefined ? '(none)' : v.length > 80 ? '(a new value)' : v);
  const changes: string[] = [];
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    if (a.get(key) === b.get(key)) continue;
    changes.push(secret || (a.get(key) ?? '').length > 80 || (b.get(key) ?? '').length > 80
      ? `${key} changed`
      : `${key} ${shown(a.get(key))} -> ${shown(b.get(key))}`);
  }
  return changes;
}

function limited(changes: string[]): string {
  return changes.length > MAX_DETAILS
    ? `${changes.slice(0, MAX_DETAILS).join('; ')}; and ${changes.length - MAX_DETAILS} more`
    : changes.join('; ');
}

function tryYaml(text: string): unknown {
  try { return load(text); } catch { return undefined; }
}

function describeCertificate(before: string, after: string): string {
  let a: X509Certificate;
  let b: X509Certificate;
  try {
    a = new X509Certificate(before);
    b = new X509Certificate(after);
  } catch {
    return 'replaced';
  }
  const parts: string[] = [];
  if (a.issuer !== b.issuer) parts.push(`issuer ${a.issuer.replace(/\n/g, ', ')} -> ${b.issuer.replace(/\n/g, ', ')}`);
  if (a.subject !== b.subject) parts.push(`subject ${a.subject.replace(/\n/g, ', ')} -> ${b.subject.replace(/\n/g, ', ')}`);
  const sans = (c: X509Certificate) => (c.subjectAltName ?? '').split(', ').filter(Boolean);
  const san = setChange('SANs', sans(a), sans(b));
  if (san) parts.push(san);
  if (!a.publicKey.equals(b.publicKey)) parts.push('new key');
  const day = (c: X509Certificate) => new Date(c.validTo).toISOString().slice(0, 10);
  if (day(a) !== day(b)) parts.push(`valid until ${new Date(b.validTo).toISOString().slice(0, 10)} (was ${new Date(a.validTo).toISOString().slice(0, 10)})`);
  return parts.length ? `reissued: ${parts.join('; ')}` : 'reissued';
}

/** The flags of a unit's ExecStart, continuation lines joined: --name -> value. */
function execFlags(unit: string): Map<string, string> | undefined {
  const exec = /^ExecStart=((?:.*\\\n)*.*)$/m.exec(unit)?.[1];
  if (!exec) return undefined;
  const flags = new Map<string, string>();
  for (const token of exec.replace(/\\\n/g, ' ').split(/\s+/)) {
    const m = /^(--[a-z0-9-]+)(?:=(.*))?$/.exec(token);
    if (m) flags.set(m[1]!, m[2] ?? 'true');
  }
  return flags;
}

function describeUnit(before: string, after: string): string {
  const a = execFlags(before);
  const b = execFlags(after);
  const parts: string[] = [];
  if (a && b) {
    for (const flag of new Set([...a.keys(), ...b.keys()])) {
      const x = a.get(flag);
      const y = b.get(flag);
      if (x === y) continue;
      if (x === undefined) parts.push(`${flag} added`);
      else if (y === undefined) parts.push(`${flag} removed`);
      else if (x.includes(',') || y.includes(',')) parts.push(setChange(flag, x.split(','), y.split(',')) ?? `${flag} reordered`);
      else parts.push(`${flag} ${x} -> ${y}`);
    }
    const rest = (u: string) => u.replace(/^ExecStart=(?:.*\\\n)*.*$/m, '');
    if (rest(before) !== rest(after)) parts.push(`unit settings ${lineCounts(rest(before), rest(after))}`);
  }
  return parts.length ? limited(parts) : lineCounts(before, after);
}

function describeKubeconfig(before: string, after: string): string {
  const a = tryYaml(before) as Record<string, any> | undefined;
  const b = tryYaml(after) as Record<string, any> | undefined;
  const server = (k: Record<string, any> | undefined) => k?.clusters?.[0]?.cluster?.server as string | undefined;
  const parts: string[] = [];
  if (server(a) !== server(b)) parts.push(`server ${server(a)} -> ${server(b)}`);
  const user = (k: Record<string, any> | undefined) => JSON.stringify(k?.users ?? null);
  if (user(a) !== user(b)) parts.push('client credentials changed');
  const ca = (k: Record<string, any> | undefined) => JSON.stringify(k?.clusters?.[0]?.cluster?.['certificate-authority-data'] ?? k?.clusters?.[0]?.cluster?.['certificate-authority'] ?? null);
  if (ca(a) !== ca(b)) parts.push('cluster CA changed');
  return parts.length ? parts.join('; ') : lineCounts(before, after);
}

/** One changed file, described by what kind of file it is. */
function describeFile(path: string, before: WrittenFile, after: WrittenFile, names: AddressNames): string {
  const a = before.content;
  const b = after.content;
  if (path === '/etc/hosts') {
    const entries = (t: string) => t.split('\n').filter((l) => /^\d/.test(l)).map((l) => l.split(/\s+/).slice(1).join(' '));
    return setChange('names', entries(a), entries(b)) ?? lineCounts(a, b);
  }
  if (path.endsWith('nginx.conf')) {
    const upstreams = (t: string) => [...t.matchAll(/^\s*server\s+([^\s;]+)[^;]*;/gm)].map((m) => m[1]!);
    return setChange('upstreams', upstreams(a), upstreams(b), (v) => named(v, names)) ?? lineCounts(a, b);
  }
  if (path.endsWith('keepalived.conf')) {
    // Safe to show: peers and priority; the VRRP password is never printed.
    const peers = (t: string) => [...(/unicast_peer\s*\{([^}]*)\}/.exec(t)?.[1] ?? '').matchAll(/\d+\.\d+\.\d+\.\d+/g)].map((m) => m[0]);
    const parts = [setChange('unicast peers', peers(a), peers(b), (v) => named(v, names))].filter(Boolean) as string[];
    const field = (t: string, key: string) => new RegExp(`^\\s*${key}\\s+(\\S+)`, 'm').exec(t)?.[1];
    for (const key of ['priority', 'virtual_router_id', 'state']) {
      if (field(a, key) !== field(b, key)) parts.push(`${key} ${field(a, key)} -> ${field(b, key)}`);
    }
    if (/auth_pass\s+\S+/.exec(a)?.[0] !== /auth_pass\s+\S+/.exec(b)?.[0]) parts.push('VRRP password changed');
    const vip = (t: string) => /virtual_ipaddress\s*\{\s*([^\s}]+)/.exec(t)?.[1];
    if (vip(a) !== vip(b)) parts.push(`VIP ${vip(a)} -> ${vip(b)}`);
    return parts.length ? parts.join('; ') : lineCounts(a, b);
  }
  if (path.endsWith('.crt') || path.endsWith('.pem') && a.includes('BEGIN CERTIFICATE')) return describeCertificate(a, b);
  if (path.endsWith('.key') || path.endsWith('.pub')) return 'replaced (a new key)';
  if (path.endsWith('.kubeconfig')) return describeKubeconfig(a, b);
  if (path.endsWith('.service') || path.endsWith('.timer')) return describeUnit(a, b);
  if (/\.ya?ml$/.test(path)) {
    const docs = (t: string) => t.split(/^---$/m).map(tryYaml);
    const x = docs(a);
    const y = docs(b);
    if (x.every((d) => d !== undefined) && y.every((d) => d !== undefined)) {
      const single = x.length === 1 && y.length === 1;
      const changes = structuralChanges(single ? x[0] : x, single ? y[0] : y, before.secret || after.secret);
      if (changes.length) return limited(changes);
    }
  }
  return before.secret || after.secret ? `changed (${lineCounts(a, b)}; a secret: not shown)` : lineCounts(a, b);
}

const CLOUD_CONFIG_WORDS: Record<string, string> = {
  ssh_authorized_keys: 'SSH authorized keys changed',
  hostname: 'host name changed',
  ntp: 'time servers changed',
  packages: 'packages changed',
  runcmd: 'first-boot commands changed',
};

/**
 * Every difference between two seeds of one host, one reason per changed
 * file or setting; empty when the seeds are byte-identical.
 */
export function describeSeedChange(before: SeedText, after: SeedText, names: AddressNames): string[] {
  const reasons: string[] = [];
  if (before.userData !== after.userData) {
    const a = readUserData(before.userData);
    const b = readUserData(after.userData);
    for (const [path, file] of b.files) {
      const old = a.files.get(path);
      if (!old) reasons.push(`${path}: new file`);
      else if (old.content !== file.content) reasons.push(`${path}: ${describeFile(path, old, file, names)}`);
      else if (old.secret !== file.secret) reasons.push(`${path}: permissions changed`);
    }
    for (const path of a.files.keys()) if (!b.files.has(path)) reasons.push(`${path}: no longer written`);
    for (const key of new Set([...Object.keys(a.other), ...Object.keys(b.other)])) {
      if (JSON.stringify(a.other[key]) !== JSON.stringify(b.other[key])) reasons.push(`cloud-config: ${CLOUD_CONFIG_WORDS[key] ?? `${key} changed`}`);
    }
    if (reasons.length === 0) reasons.push('user-data: formatting changed');
  }
  if (before.networkConfig !== after.networkConfig) {
    const changes = structuralChanges(tryYaml(before.networkConfig), tryYaml(after.networkConfig), false);
    reasons.push(`network-config: ${changes.length ? limited(changes) : lineCounts(before.networkConfig, after.networkConfig)}`);
  }
  return reasons;
}
