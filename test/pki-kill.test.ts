/**
 * A run killed at any moment never loses, forks or half-writes the cluster's
 * state (issue 11). `generate` is started again and again with
 * test/lib/kill-at.mjs preloaded, which sends it SIGKILL just before its Nth
 * call that changes the disk, for every N of a first run and of a
 * regeneration that reissues certificates; after each kill, what is on disk
 * is checked, and the next, uninterrupted run must succeed with the same CA.
 *
 * The processes take their RSA keys from a pool of real keys made once here
 * (test/lib/key-pool.mjs): a first run's key generation would otherwise be
 * most of the time of several hundred runs, and it is not what is tested.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SSH_KEY } from './lib/spec-fixtures.ts';
import { treeContents } from './lib/tree-snapshot.ts';
import { cliAsync } from './lib/cli.ts';
import type { Ran } from './lib/run.ts';

const work = mkdtempSync(join(tmpdir(), 'ha-k8s-seed-kill-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

const SPEC = `name: k
ssh:
  authorizedKeys: ["${SSH_KEY}"]
hosts:
  - { name: n1, address: 192.168.1.11, roles: [control-plane, etcd, worker] }
`;
// A new address: the etcd and apiserver certificates are reissued under the same CA.
const MOVED = SPEC.replace('192.168.1.11', '192.168.1.12');

const pool = join(work, 'key-pool.json');
writeFileSync(pool, JSON.stringify(Array.from({ length: 16 }, () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }))));

function generate(dir: string, spec: string, env: Record<string, string> = {}): Promise<Ran> {
  const specFile = join(dir, `${spec === SPEC ? 'spec' : 'moved'}.yaml`);
  writeFileSync(specFile, spec);
  return cliAsync(['generate', specFile, '--out', join(dir, 'out')], {
    preload: ['./test/lib/kill-at.mjs', './test/lib/key-pool.mjs'], env: { ...process.env, HA_K8S_SEED_KEY_POOL: pool, ...env },
  });
}

async function callsOf(dir: string, spec: string): Promise<number> {
  mkdirSync(dir, { recursive: true });
  const countFile = join(dir, '..', `${dir.split('/').pop()}.count`);
  const r = await generate(dir, spec, { HA_K8S_SEED_COUNT_CALLS: countFile });
  assert.is(r.status, 0, r.stderr);
  return Number(readFileSync(countFile, 'utf8'));
}

const STATE = 'k.pki';
const ca = (dir: string) => readFileSync(join(dir, STATE, 'ca.crt'), 'utf8');

/** Runs `check(n)` for n = 1..count, a few at a time. */
async function everyCall(count: number, check: (n: number) => Promise<void>): Promise<void> {
  let next = 1;
  const worker = async () => { while (next <= count) await check(next++); };
  await Promise.all(Array.from({ length: Math.min(4, Math.max(2, availableParallelism())) }, worker));
}

/** What a finished run leaves: the spec files, out/k and k.pki, nothing else (no staging, previous or lock files). */
function assertNoLeftovers(dir: string, what: string) {
  assert.equal(readdirSync(dir).filter((n) => !n.endsWith('.yaml')).sort(), ['k.pki', 'out'], what);
  assert.equal(readdirSync(join(dir, 'out')), ['k'], what);
}

test('killed at every file-system call of a first run: no state, or the whole state; the next run succeeds', async () => {
  const calls = await callsOf(join(work, 'count-first'), SPEC);
  assert.ok(calls > 50, `the hook saw ${calls} calls`);
  await everyCall(calls, async (n) => {
    const dir = join(work, `first-${n}`);
    mkdirSync(dir);
    const killed = await generate(dir, SPEC, { HA_K8S_SEED_KILL_AT: String(n) });
    assert.is(killed.signal, 'SIGKILL', `call ${n}: ${killed.stderr}`);
    const had = existsSync(join(dir, STATE));
    // The output is written only once the state is in place: without state there is no output and no CA anywhere a run reads.
    if (!had) assert.not.ok(existsSync(join(dir, 'out', 'k')) || existsSync(join(dir, 'out', '.k.previous')), `call ${n}: output without state`);
    const before = had ? ca(dir) : undefined;
    const next = await generate(dir, SPEC);
    assert.is(next.status, 0, `call ${n}: ${next.stderr}`);
    if (had) {
      assert.is(ca(dir), before, `call ${n}: the same CA`);
      assert.match(next.stderr, /pki: \S+ reused as it is/, `call ${n}: the state was whole`);
    } else {
      assert.match(next.stderr, /pki: new PKI/, `call ${n}`);
    }
    assertNoLeftovers(dir, `call ${n}`);
    rmSync(dir, { recursive: true });
  });
});

test('killed at every file-system call of a regeneration that reissues: the state as before, or the whole new one; same CA', async () => {
  const base = join(work, 'regen-base');
  mkdirSync(base);
  assert.is((await generate(base, SPEC)).status, 0);
  const stateBefore = treeContents(join(base, STATE));
  const caBefore = ca(base);
  const counting = join(work, 'count-regen');
  cpSync(base, counting, { recursive: true });
  const calls = await callsOf(counting, MOVED);
  assert.ok(calls > 30, `the hook saw ${calls} calls`);
  let untouched = 0;
  await everyCall(calls, async (n) => {
    const dir = join(work, `regen-${n}`);
    cpSync(base, dir, { recursive: true });
    const killed = await generate(dir, MOVED, { HA_K8S_SEED_KILL_AT: String(n) });
    assert.is(killed.signal, 'SIGKILL', `call ${n}: ${killed.stderr}`);
    // Killed between the two renames, the state is in .k.pki.previous; the next run puts it back first.
    const state = existsSync(join(dir, STATE)) ? join(dir, STATE) : join(dir, `.${STATE}.previous`);
    const same = JSON.stringify(treeContents(state)) === JSON.stringify(stateBefore);
    if (same) untouched += 1;
    const next = await generate(dir, MOVED);
    assert.is(next.status, 0, `call ${n}: ${next.stderr}`);
    assert.is(ca(dir), caBefore, `call ${n}: the same CA`);
    // Either the old state, reissued now, or the new state, whole, reused as it is.
    if (same) assert.match(next.stderr, /pki: reissued apiserver-n1\.crt/, `call ${n}`);
    else assert.match(next.stderr, /pki: \S+ reused as it is/, `call ${n}: the new state was whole`);
    assert.not.match(next.stderr, /new PKI|created/, `call ${n}`);
    assertNoLeftovers(dir, `call ${n}`);
    rmSync(dir, { recursive: true });
  });
  assert.ok(untouched > 0 && untouched < calls, `${untouched} of ${calls} kills left the state as it was`);
});

test.run();
