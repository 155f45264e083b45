/**
 * The cluster's identity as durable state (issue 11): kept apart from out/,
 * made only when no trace of the cluster exists, recovered before it is read,
 * one run at a time, verified on every run, never in a file that is not
 * 0600, and file-system failures told in words a user can act on. Every case
 * runs the real command line (bin/ha-k8s-seed.mjs) in a folder of its own.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePki, PkiError } from '../generator/pki/index.ts';
import { clusterFromText } from '../generator/input/validate.ts';
import { BASE_SPEC, problemsOf } from './lib/spec-fixtures.ts';
import { snapshot, treeContents } from './lib/tree-snapshot.ts';
import { cli, cliAsync } from './lib/cli.ts';
import type { Ran } from './lib/run.ts';

const work = mkdtempSync(join(tmpdir(), 'ha-k8s-seed-state-'));
test.after(() => rmSync(work, { recursive: true, force: true }));
const NAME = clusterFromText(BASE_SPEC).name;

/** A folder with spec.yaml in it; `generate` there writes out/<name>/ and <name>.pki/ beside the spec. */
function project(name: string, spec = BASE_SPEC): { dir: string; spec: string; out: string; state: string; clusterDir: string; generate: (...extra: string[]) => Ran } {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  const spec_ = join(dir, 'spec.yaml');
  writeFileSync(spec_, spec);
  const cluster = /^name: (\S+)$/m.exec(spec)![1]!;
  const out = join(dir, 'out');
  return {
    dir, spec: spec_, out, state: join(dir, `${cluster}.pki`), clusterDir: join(out, cluster),
    generate: (...extra) => cli(['generate', spec_, '--out', out, '--quiet', ...extra]),
  };
}

const caOf = (stateDir: string) => readFileSync(join(stateDir, 'ca.crt'), 'utf8');

// One project generated once; cases copy it.
const base = project('base');
assert.is(base.generate().status, 0, 'the first run of the fixture');
const baseCa = caOf(base.state);

function copyOf(name: string): ReturnType<typeof project> {
  const p = project(name);
  cpSync(base.out, p.out, { recursive: true });
  cpSync(base.state, p.state, { recursive: true });
  return p;
}

test('the state lives beside the spec, 0700, apart from out/; deleting out/ loses nothing', () => {
  const p = copyOf('rm-out');
  assert.is(statSync(p.state).mode & 0o777, 0o700);
  assert.not.ok(existsSync(join(p.clusterDir, 'pki')), 'no PKI in the disposable output');
  rmSync(p.out, { recursive: true });
  const r = p.generate();
  assert.is(r.status, 0, r.stderr);
  assert.is(caOf(p.state), baseCa, 'the same CA');
  assert.ok(readFileSync(join(p.clusterDir, 'hosts/cp1/user-data'), 'utf8').includes(baseCa.split(/\r?\n/)[5]!), 'the seeds carry it');
});

test('an out/<cluster>/pki/ of an earlier version is moved to the state folder on the next run, visibly and byte for byte', () => {
  const p = copyOf('migrate');
  const before = treeContents(p.state);
  renameSync(p.state, join(p.clusterDir, 'pki'));
  writeFileSync(join(p.clusterDir, 'pki/etcd/server-old.crt'), 'a file the PKI no longer lists\n');
  const r = cli(['generate', p.spec, '--out', p.out]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`state: moving the PKI and secrets from .*${NAME}/pki to .*${NAME}\\.pki`));
  assert.equal(treeContents(p.state), { ...before, 'etcd/server-old.crt': `file 644 ${Buffer.from('a file the PKI no longer lists\n').toString('base64')}` });
  assert.not.ok(existsSync(join(p.clusterDir, 'pki')), 'out/ no longer holds it');
  assert.is(p.generate().status, 0);
  assert.is(caOf(p.state), baseCa);
});

test('a run killed between the two renames of the tree swap: the previous tree is put back before anything is read', () => {
  // The old layout, as issue 11 found it: out/<cluster> moved aside, nothing in its place, no state folder.
  const old = copyOf('half-swapped-old');
  renameSync(old.state, join(old.clusterDir, 'pki'));
  renameSync(old.clusterDir, join(old.out, `.${NAME}.previous`));
  const r1 = old.generate();
  assert.is(r1.status, 0, r1.stderr);
  assert.is(caOf(old.state), baseCa, 'the same CA, not a new one');
  assert.not.ok(existsSync(join(old.out, `.${NAME}.previous`)));
  // The state folder itself, killed half-way through its swap.
  const p = copyOf('half-swapped-state');
  renameSync(p.state, join(p.dir, `.${NAME}.pki.previous`));
  const r2 = cli(['generate', p.spec, '--out', p.out]);
  assert.is(r2.status, 0, r2.stderr);
  assert.match(r2.stderr, /state: put back .*\.pki from .*\.pki\.previous/);
  assert.is(caOf(p.state), baseCa);
});

test('no state where the cluster existed is exit 4 naming the state folder, never a new CA, and nothing is touched', () => {
  const gone = new RegExp(`${NAME}\\.pki: missing, but this cluster was generated before .*Restore`);
  const cases: [string, (p: ReturnType<typeof project>) => void, RegExp][] = [
    ['state deleted', (p) => rmSync(p.state, { recursive: true }), gone],
    ['only a previous output tree', (p) => { rmSync(p.state, { recursive: true }); renameSync(p.clusterDir, join(p.out, `.${NAME}.previous`)); }, gone],
    ['only a staging folder of the output', (p) => { rmSync(p.state, { recursive: true }); renameSync(p.clusterDir, join(p.out, `.${NAME}.staging-4242`)); }, gone],
    ['state a dangling symlink', (p) => { rmSync(p.state, { recursive: true }); symlinkSync(join(p.dir, 'gone'), p.state); }, new RegExp(`${NAME}\\.pki/ca\\.crt: missing`)],
    ['state emptied', (p) => { rmSync(p.state, { recursive: true }); mkdirSync(p.state); }, new RegExp(`${NAME}\\.pki/ca\\.key: missing`)],
    ['old layout, pki/ a dangling symlink', (p) => { rmSync(p.state, { recursive: true }); symlinkSync(join(p.dir, 'gone'), join(p.clusterDir, 'pki')); }, new RegExp(`${NAME}/pki/ca\\.key: missing`)],
    ['old layout, pki/ emptied', (p) => { rmSync(p.state, { recursive: true }); mkdirSync(join(p.clusterDir, 'pki')); }, new RegExp(`${NAME}/pki/etcd/ca\\.key: missing`)],
  ];
  for (const [name, damage, says] of cases) {
    const p = copyOf(`refuse-${name.replace(/\W+/g, '-')}`);
    damage(p);
    const before = snapshot(p.dir);
    const r = p.generate();
    assert.is(r.status, 4, `${name}: ${r.stderr}`);
    assert.match(r.stderr, says, name);
    assert.not.match(r.stderr, /new PKI/, name);
    assert.equal(snapshot(p.dir), before, `${name}: nothing written`);
  }
});

test('leftover staging folders of killed runs are removed by the next run', () => {
  const p = copyOf('staging');
  for (const dir of [join(p.out, `.${NAME}.staging-4242`), join(p.dir, `.${NAME}.pki.staging-4243`)]) {
    mkdirSync(dir, { recursive: true });
    cpSync(join(p.state, 'ca.key'), join(dir, 'ca.key'));
  }
  const r = cli(['generate', p.spec, '--out', p.out]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /state: removed .*staging-4242, left by a run that was killed/);
  assert.match(r.stderr, /state: removed .*staging-4243, left by a run that was killed/);
  assert.equal(readdirSync(p.out), [NAME]);
  assert.equal(readdirSync(p.dir).sort(), ['out', 'spec.yaml', `${NAME}.pki`]);
  assert.is(caOf(p.state), baseCa);
});

/** A PEM with one byte of its DER body changed. */
function flipByte(pem: string, offset: (derLength: number) => number): string {
  const [, label, body] = /-----BEGIN ([A-Z ]+)-----\r?\n([\s\S]+?)-----END/.exec(pem)!;
  const der = Buffer.from(body!.replace(/\s+/g, ''), 'base64');
  der[offset(der.length)]! ^= 0x01;
  return `-----BEGIN ${label}-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END ${label}-----\n`;
}

async function refusedPki(name: string, damage: (stateDir: string) => void): Promise<PkiError> {
  const p = copyOf(`verify-${name}`);
  damage(p.state);
  const err = await ensurePki(clusterFromText(BASE_SPEC), p.state).then(() => undefined, (e: unknown) => e);
  assert.instance(err, PkiError, name);
  return err as PkiError;
}

test('a CA key with a flipped byte is refused: exit 4 naming ca.key, nothing written', async () => {
  // In the private scalar d (SEC 1: 30 77 02 01 01 04 20 <d>), which still parses and still "matches"
  // the certificate: only the EC key check (d x G = the stored point) sees it; and in the public point,
  // which OpenSSL itself refuses to decode.
  for (const [where, offset] of [['d', () => 10], ['public point', (n: number) => n - 20]] as const) {
    const err = await refusedPki(`ca-key-${where}`, (d) => writeFileSync(join(d, 'ca.key'), flipByte(readFileSync(join(d, 'ca.key'), 'utf8'), offset)));
    assert.equal(err.problems.map((q) => q.file.split('/').pop()), ['ca.key'], where);
    assert.match(err.problems[0]!.message, /(EC|RSA) key check failed|not a private key/, where);
  }
  const p = copyOf('ca-key-cli');
  writeFileSync(join(p.state, 'ca.key'), flipByte(readFileSync(join(p.state, 'ca.key'), 'utf8'), () => 10));
  const before = snapshot(p.dir);
  const r = p.generate();
  assert.is(r.status, 4);
  assert.match(r.stderr, new RegExp(`${join(p.state, 'ca.key')}: EC key check failed: the public point does not match the private key`));
  assert.equal(snapshot(p.dir), before);
});

test('a CA certificate with a damaged signature is refused, naming ca.crt; so is a damaged or foreign leaf', async () => {
  const ca = await refusedPki('ca-sig', (d) => writeFileSync(join(d, 'etcd/ca.crt'), flipByte(readFileSync(join(d, 'etcd/ca.crt'), 'utf8'), (n) => n - 3)));
  assert.equal(ca.problems.map((q) => q.file.split(`${NAME}.pki/`)[1]), ['etcd/ca.crt']);
  assert.match(ca.problems[0]!.message, /self-signature does not verify/);
  const leaf = await refusedPki('leaf-sig', (d) => writeFileSync(join(d, 'apiserver-cp1.crt'), flipByte(readFileSync(join(d, 'apiserver-cp1.crt'), 'utf8'), (n) => n - 3)));
  assert.equal(leaf.problems.map((q) => q.file.split(`${NAME}.pki/`)[1]), ['apiserver-cp1.crt']);
  assert.match(leaf.problems[0]!.message, /signature does not verify against its CA.*delete apiserver-cp1\.crt and apiserver-cp1\.key/);
  const foreign = await refusedPki('leaf-key', (d) => cpSync(join(d, 'admin.key'), join(d, 'scheduler.key')));
  assert.equal(foreign.problems.map((q) => q.file.split(`${NAME}.pki/`)[1]), ['scheduler.key']);
  assert.match(foreign.problems[0]!.message, /does not match scheduler\.crt/);
  const sa = await refusedPki('sa-key', (d) => writeFileSync(join(d, 'sa.key'), flipByte(readFileSync(join(d, 'sa.key'), 'utf8'), (n) => n - 20)));
  assert.equal(sa.problems.map((q) => q.file.split(`${NAME}.pki/`)[1]), ['sa.key']);
});

test('leaf lifetimes below the renewal window or beyond the CA are spec errors with the fix', () => {
  const withPki = (pki: string) => `${BASE_SPEC}pki: { ${pki} }\n`;
  const [short] = problemsOf(withPki('certValidityDays: 30'));
  assert.match(`${short!.path}: ${short!.message}`, /pki\.certValidityDays: certificates valid for 30 days would be renewed on every run/);
  assert.match(short!.fix ?? '', /more than 30/);
  assert.equal(problemsOf(withPki('certValidityDays: 31')), []);
  const [long] = problemsOf(withPki('certValidityDays: 4000'));
  assert.match(`${long!.path}: ${long!.message}`, /pki\.certValidityDays: .*outlive their CAs \(pki\.caValidityDays: 3650\)/);
  const [shortCa] = problemsOf(withPki('caValidityDays: 100'));
  assert.match(`${shortCa!.path}: ${shortCa!.message}`, /pki\.caValidityDays: certificates valid for 365 days would outlive/);
  const p = project('lifetime', withPki('certValidityDays: 7'));
  const r = p.generate();
  assert.is(r.status, 1);
  assert.match(r.stderr, /spec\.yaml:\d+:\d+: pki\.certValidityDays:/);
  assert.not.ok(existsSync(p.state) || existsSync(p.out), 'nothing written');
});

test('no secret in model.json or in any file that is not 0600', () => {
  const secretText = 'S3CRET-only-for-the-owner';
  const p = project('secrets', `${BASE_SPEC}files:\n  - { path: /etc/app/token, content: "${secretText}", permissions: "0600" }\n  - { path: /etc/app/public, content: "not a secret", permissions: "0644" }\n`);
  assert.is(p.generate().status, 0);
  const tokens = (JSON.parse(readFileSync(join(p.state, 'bootstrap-tokens.json'), 'utf8')) as { tokens: { secret: string }[] }).tokens;
  assert.is(tokens.length, 1);
  const secrets = [secretText, tokens[0]!.secret, ...['encryption-key', 'vrrp-password'].map((s) => readFileSync(join(p.state, 'secrets', s), 'utf8').trim())];
  let checked = 0;
  for (const root of [p.out, p.state]) {
    for (const entry of readdirSync(root, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue;
      const path = join(entry.parentPath, entry.name);
      if ((statSync(path).mode & 0o077) === 0) continue;
      const text = readFileSync(path, 'latin1');
      for (const s of secrets) assert.not.ok(text.includes(s), `a secret in ${path}`);
      assert.not.match(text, /PRIVATE KEY/, path);
      checked += 1;
    }
  }
  assert.ok(checked > 5);
  const model = readFileSync(join(p.clusterDir, 'model.json'), 'utf8');
  assert.match(model, /"content": "\(secret: 25 bytes/);
  assert.match(model, /"content": "not a secret"/);
  assert.ok(readFileSync(join(p.clusterDir, 'hosts/cp1/user-data'), 'utf8').includes(secretText), 'the host still gets it');
});

test('under umask 000 no folder or file the run makes is writable by others', () => {
  const p = project('umask');
  const out = join(p.dir, 'a/b/out');
  const state = join(p.dir, 'c/d/state');
  const r = spawnSync('sh', ['-c', 'umask 000 && exec "$0" "$@"', process.execPath, 'bin/ha-k8s-seed.mjs', 'generate', p.spec, '--out', out, '--state', state, '--quiet'], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  for (const entry of readdirSync(p.dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    if (path === p.spec) continue;
    assert.is(statSync(path).mode & 0o002, 0, `${path} is world-writable`);
  }
});

// ---- file-system errors, on real file systems (tmpfs mounts; the tests run as root) -------------------
function withTmpfs(name: string, options: string, body: (mount: string) => void) {
  const mount = join(work, name);
  mkdirSync(mount, { recursive: true });
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', mount], { encoding: 'utf8' });
  assert.is(m.status, 0, `mount: ${m.stderr}`);
  try { body(mount); } finally { spawnSync('umount', [mount]); }
}

test('a read-only file system and a full disk are named as such, exit 3, with no "ENOSPC: ENOSPC:"', () => {
  const p = project('fs-errors');
  withTmpfs('ro', 'ro,size=1m', (mount) => {
    const r = cli(['generate', p.spec, '--out', join(mount, 'out'), '--state', join(mount, 'state')]);
    assert.is(r.status, 3, r.stderr);
    assert.match(r.stderr, /error: the file system is read-only: .*\/ro\/.* \(EROFS from \w+\)/);
  });
  withTmpfs('full', 'size=96k', (mount) => {
    const r = cli(['generate', p.spec, '--out', join(mount, 'out'), '--state', join(mount, 'state')]);
    assert.is(r.status, 3, r.stderr);
    assert.match(r.stderr, /error: no space left on the device: .*\/full\/(out|state)\S* \(ENOSPC from \w+\)/);
    assert.not.match(r.stderr, /ENOSPC: ENOSPC/);
    assert.equal(readdirSync(mount).filter((n) => n.includes('staging')), [], 'no staging folder left');
  });
});

// ---- one run at a time ----------------------------------------------------------------------
function processStart(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

test('a live holder of the lock is named and the run exits 5; a dead holder\'s lock, or a reused pid, is taken over', async () => {
  const p = copyOf('lock');
  const lock = `${p.state}.lock`;
  const holder = spawn('sleep', ['60']);
  try {
    writeFileSync(lock, JSON.stringify({ pid: holder.pid, host: hostname(), since: '2026-01-01T00:00:00.000Z', processStart: processStart(holder.pid!), command: 'generate spec.yaml' }));
    const before = snapshot(p.dir);
    const r = p.generate();
    assert.is(r.status, 5, r.stderr);
    assert.match(r.stderr, new RegExp(`another run holds this cluster \\(pid ${holder.pid} on ${hostname()}, since 2026-01-01T00:00:00.000Z: generate spec.yaml\\)`));
    assert.equal(snapshot(p.dir), before, 'nothing changed');
    // The same pid, but another process start: the pid was reused, the holder is gone.
    writeFileSync(lock, JSON.stringify({ pid: holder.pid, host: hostname(), since: '2026-01-01T00:00:00.000Z', processStart: '1', command: 'generate spec.yaml' }));
    assert.is(p.generate().status, 0);
  } finally {
    holder.kill();
  }
  await new Promise((resolve) => holder.once('exit', resolve));
  writeFileSync(lock, JSON.stringify({ pid: holder.pid, host: hostname(), since: '2026-01-01T00:00:00.000Z', command: 'generate spec.yaml' }));
  const r = p.generate();
  assert.is(r.status, 0, r.stderr);
  assert.not.ok(existsSync(lock), 'released');
  assert.is(caOf(p.state), baseCa);
});

/** Runs `count` generate processes at once; resolves with what each said. */
async function together(p: ReturnType<typeof project>, count: number, spec = p.spec): Promise<Ran[]> {
  return Promise.all(Array.from({ length: count }, () => cliAsync(['generate', spec, '--out', p.out])));
}

test('20 runs started together: a first run makes exactly one CA, a regeneration keeps it; the others wait their turn or exit 5', async () => {
  const p = project('concurrent');
  const first = await together(p, 20);
  const codes = first.map((r) => r.status);
  assert.ok(codes.every((c) => c === 0 || c === 5), `exit codes ${codes.join(',')}: ${first.find((r) => r.status !== 0 && r.status !== 5)?.stderr}`);
  assert.is(first.filter((r) => /new PKI/.test(r.stderr)).length, 1, 'exactly one run made a CA');
  const ca = caOf(p.state);
  for (const r of first.filter((x) => x.status === 5)) assert.match(r.stderr, /another run holds this cluster \(pid \d+/);
  for (const r of first.filter((x) => x.status === 0 && !/new PKI/.test(x.stderr))) assert.match(r.stderr, /reused as it is/);
  assert.ok(readFileSync(join(p.clusterDir, 'hosts/cp1/user-data'), 'utf8').includes(ca.split(/\r?\n/)[5]!), 'the output carries that CA');
  // A regeneration that reissues the apiserver certificate, 20 at once.
  const changed = join(p.dir, 'changed.yaml');
  writeFileSync(changed, BASE_SPEC.replace('vip: 192.168.1.100', 'vip: 192.168.1.101'));
  const again = await together(p, 20, changed);
  assert.ok(again.every((r) => r.status === 0 || r.status === 5), again.map((r) => r.status).join(','));
  assert.ok(again.some((r) => r.status === 0));
  assert.is(again.filter((r) => /reissued apiserver-cp1\.crt/.test(r.stderr)).length, 1, 'reissued once');
  assert.is(caOf(p.state), ca, 'the same CA');
  assert.equal(readdirSync(p.out), [NAME]);
  assert.equal(readdirSync(p.dir).sort(), ['changed.yaml', 'out', 'spec.yaml', `${NAME}.pki`]);
});

test.run();
