/**
 * Bootstrap tokens that expire (generator/pki/bootstrap-tokens.ts), through
 * the pipeline as an operator meets them: the first run's token in every
 * node's seed; a worker added a day later gets a new token and no other seed
 * changes; the command plan prints sets the Secret's expiration as it runs;
 * a rotation changes no seed and names the old token to delete; a state made
 * before tokens expired is read and its permanent token named; a damaged
 * record is an error naming the file.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { generate, plan, PkiError } from '../generator/generate.ts';
import { FILES } from '../generator/roles/paths.ts';
import { snapshot } from './lib/tree-snapshot.ts';

const work = mkdtempSync(join(tmpdir(), 'ha-k8s-seed-tokens-'));
const out = join(work, 'out');
const state = join(work, 'demo.pki');
const spec = join(work, 'cluster.yaml');
const grown = join(work, 'grown.yaml');
const base = readFileSync('cluster.yaml', 'utf8');
writeFileSync(spec, base);
writeFileSync(grown, `${base.trimEnd()}\n  - { name: k8s-node3, address: 192.168.31.75, roles: [worker] }\n`);
const HOUR = 3_600_000;
const start = new Date();
const run = (specFile: string, now: Date, more: Partial<Parameters<typeof generate>[0]> = {}) =>
  generate({ specFile, outDir: out, stateDir: state, log: () => {}, warn: () => {}, now, ...more });

interface Token { id: string; secret: string; made: string | null }
const record = (): Token[] => (JSON.parse(readFileSync(join(state, 'bootstrap-tokens.json'), 'utf8')) as { tokens: Token[] }).tokens;
const userData = (host: string) => readFileSync(join(out, 'demo', 'hosts', host, 'user-data'), 'utf8');
const seeds = (hosts: string[]) => Object.fromEntries(hosts.flatMap((h) => ['user-data', 'meta-data', 'network-config'].map((f) => [`${h}/${f}`, readFileSync(join(out, 'demo', 'hosts', h, f), 'utf8')])));
/** The bootstrap kubeconfig's token, as the node's kubelet reads it. */
const carried = (host: string) => userData(host).match(/\btoken: ([a-z0-9]{6}\.[a-z0-9]{16})\b/)?.[1];
const FIRST_HOSTS = ['k8s-master1', 'k8s-master2', 'k8s-node1', 'k8s-node2', 'lb-master', 'lb-backup'];

test.after(() => rmSync(work, { recursive: true, force: true }));

test('a first run: one token, recorded 0600, in every node seed and in the control planes\' Secret with an expiration', async () => {
  await run(spec, start);
  const tokens = record();
  assert.is(tokens.length, 1);
  assert.is(statSync(join(state, 'bootstrap-tokens.json')).mode & 0o777, 0o600);
  const [t] = tokens;
  assert.is(t!.made, start.toISOString());
  for (const node of ['k8s-master1', 'k8s-master2', 'k8s-node1', 'k8s-node2']) assert.is(carried(node), `${t!.id}.${t!.secret}`, node);
  for (const lb of ['lb-master', 'lb-backup']) assert.is(carried(lb), undefined, `${lb} holds no token`);
  const cloudConfig = load(userData('k8s-master1')) as { write_files: { path: string; content: string; permissions: string }[] };
  const secret = cloudConfig.write_files.find((f) => f.path === FILES.bootstrapTokenSecret)!;
  assert.is(secret.permissions, '0600');
  const doc = load(secret.content) as { metadata: { name: string }; stringData: Record<string, string> };
  assert.is(doc.metadata.name, `bootstrap-token-${t!.id}`);
  assert.is(doc.stringData.expiration, new Date(start.getTime() + 24 * HOUR).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  const operatorFile = join(out, 'demo', 'bootstrap-token.yaml');
  assert.is(statSync(operatorFile).mode & 0o777, 0o600);
  assert.is(readFileSync(operatorFile, 'utf8'), secret.content, 'the operator applies the same Secret');
});

test('a worker added within the token\'s lifetime carries the same token; nothing new is recorded', async () => {
  const p = await plan({ specFile: grown, outDir: out, stateDir: state, now: new Date(start.getTime() + 2 * HOUR) });
  assert.not.ok(p.certificates.some((c) => c.item === 'bootstrap-token'), 'no new token');
  assert.ok(p.steps[0]!.commands[0]!.includes('bootstrap-token.yaml'), 'still applied before the worker boots: it may have expired in the cluster');
});

test('a worker added a day later: a new token for it alone, every other seed byte for byte, the state records both', async () => {
  const before = seeds(FIRST_HOSTS);
  const later = new Date(start.getTime() + 25 * HOUR);
  const p = await plan({ specFile: grown, outDir: out, stateDir: state, now: later });
  const token = p.certificates.find((c) => c.item === 'bootstrap-token');
  assert.equal(token?.holders, ['k8s-node3']);
  assert.match(token!.reason, /more than 24 h old/);
  const step = p.steps.find((s) => s.host === 'k8s-node3')!;
  const apply = step.commands.findIndex((c) => c.includes('bootstrap-token.yaml'));
  assert.ok(apply >= 0 && apply < step.commands.findIndex((c) => c.startsWith('boot a new VM')), 'the token is applied before the worker boots');

  await run(grown, later);
  assert.equal(seeds(FIRST_HOSTS), before, 'no other host\'s seed changed');
  const tokens = record();
  assert.is(tokens.length, 2);
  assert.is(carried('k8s-node3'), `${tokens[1]!.id}.${tokens[1]!.secret}`);
  assert.is(carried('k8s-node1'), `${tokens[0]!.id}.${tokens[0]!.secret}`, 'k8s-node1 keeps the token it joined with');

  // The printed command, run by a shell: kubectl receives the Secret with an expiration 24 h from now.
  const command = step.commands[apply]!.replace(/\s+# .*$/, '');
  const r = spawnSync('bash', ['-c', `kubectl() { cat; }\n${command}`], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const applied = load(r.stdout) as { metadata: { name: string }; stringData: Record<string, string> };
  assert.is(applied.metadata.name, `bootstrap-token-${tokens[1]!.id}`);
  const lives = Date.parse(applied.stringData.expiration!) - Date.now();
  assert.ok(Math.abs(lives - 24 * HOUR) < 5 * 60_000, `expiration ${applied.stringData.expiration}: 24 h from when it is applied`);

  const again = await run(grown, later);
  assert.equal([again.report.written, again.stateReport.written], [[], []], 'an unchanged regeneration writes nothing');
});

test('a changed node seed gets the current token; --rotate makes a new one, changes no seed and names the old ones to delete', async () => {
  const later = new Date(start.getTime() + 26 * HOUR);
  writeFileSync(grown, readFileSync(grown, 'utf8').replace('{ name: k8s-node1,   address: 192.168.31.72, roles: [worker, etcd] }', '{ name: k8s-node1,   address: 192.168.31.72, roles: [worker, etcd], packages: [jq] }'));
  const changed = await run(grown, later);
  assert.is(changed.plan.hosts['k8s-node1']!.action, 'reprovision');
  const tokens = record();
  assert.is(tokens.length, 2, 'the newest token is still current');
  assert.is(carried('k8s-node1'), `${tokens[1]!.id}.${tokens[1]!.secret}`);

  const seedsBefore = seeds([...FIRST_HOSTS, 'k8s-node3']);
  const p = await plan({ specFile: grown, outDir: out, stateDir: state, now: later, rotate: ['bootstrap-token'] });
  assert.ok(Object.values(p.hosts).every((h) => h.action === 'keep'), 'running nodes keep their seeds');
  assert.ok(p.changed);
  for (const t of tokens) assert.ok(p.warnings.some((w) => w.endsWith(`bootstrap-token-${t.id}`) && w.includes('superseded')), t.id);
  const rotated = await run(grown, later, { rotate: ['bootstrap-token'] });
  assert.equal(seeds([...FIRST_HOSTS, 'k8s-node3']), seedsBefore, 'no seed changed');
  assert.is(record().length, 3);
  assert.ok(readFileSync(join(out, 'demo', 'bootstrap-token.yaml'), 'utf8').includes(`bootstrap-token-${record()[2]!.id}`), 'bootstrap-token.yaml holds the new token');
  assert.ok(rotated.plan.warnings.length >= 2);
});

test('a state made before tokens expired: its token is read, kept for the seeds that carry it, and named as never expiring', async () => {
  const [first] = record();
  writeFileSync(join(state, 'secrets', 'bootstrap-token'), `${first!.id}.${first!.secret}\n`, { mode: 0o600 });
  unlinkSync(join(state, 'bootstrap-tokens.json'));
  const p = await plan({ specFile: grown, outDir: out, stateDir: state, now: new Date(start.getTime() + 27 * HOUR) });
  assert.ok(p.warnings.some((w) => w.includes(`bootstrap token ${first!.id} was applied without an expiration`)), p.warnings.join('\n'));
});

test('a damaged record is an error naming the file (PkiError: exit 4), nothing written', async () => {
  writeFileSync(join(state, 'bootstrap-tokens.json'), '{"version": 1, "tokens": [{"id": "x"}]}\n');
  const before = snapshot(work);
  const err = await run(grown, new Date()).then(() => undefined, (e: unknown) => e);
  assert.instance(err, PkiError);
  assert.equal((err as PkiError).problems.map((x) => x.file), [join(state, 'bootstrap-tokens.json')]);
  assert.match((err as PkiError).problems[0]!.message, /tokens\[0\]/);
  assert.equal(snapshot(work), before);
});

test.run();
