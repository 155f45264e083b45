/**
 * etcd membership over a cluster's life: the founders start together, members
 * added later join the running cluster with --initial-cluster-state=existing
 * after `etcdctl member add`, and no other member's seed changes. Proven
 * with Debian's etcd running the rendered units (test/lib/etcd-members.ts):
 * three founders grow to five, then one member is replaced while a writer
 * keeps writing.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate, type GenerateResult } from '../generator/generate.ts';
import { applyMembership, MEMBERSHIP_FILE, parseMembership, type MembershipRecord } from '../generator/model/etcd-membership.ts';
import { EtcdLab, debianEtcdVersion } from './lib/etcd-members.ts';
import { SSH_KEY } from './lib/spec-fixtures.ts';

const work = mkdtempSync(join(tmpdir(), 'ha-k8s-seed-membership-'));
const out = join(work, 'out');
const stateDir = join(work, 'grow.pki');
const labs: EtcdLab[] = [];

test.after(async () => {
  for (const lab of labs.reverse()) {
    const done = lab.teardown();
    // A teardown that waits on nothing else would let Node exit mid-hook: keep the loop alive while it runs.
    const alive = setInterval(() => {}, 1000);
    await done.finally(() => clearInterval(alive));
  }
  rmSync(work, { recursive: true, force: true });
});

const host = (name: string, octet: number, roles: string) => `  - { name: ${name}, address: 10.77.0.${octet}, roles: [${roles}] }`;

function spec(etcd: [string, number][]): string {
  return [
    'name: grow',
    'network: { interface: eth0, gateway: 10.77.0.1 }',
    `ssh: { authorizedKeys: ["${SSH_KEY}"] }`,
    'hosts:',
    host('cp1', 21, 'control-plane'),
    host('w1', 31, 'worker'),
    ...etcd.map(([name, octet]) => host(name, octet, 'etcd')),
    '',
  ].join('\n');
}

/** `n` days ago: each change is made on a day of its own, in the past (a certificate must be valid now). */
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000);
const dayOf = (date: Date) => date.toISOString().slice(0, 10);

async function generated(text: string, now: Date): Promise<GenerateResult> {
  const file = join(work, 'grow.yaml');
  writeFileSync(file, text);
  return generate({ specFile: file, outDir: out, stateDir, log: () => {}, now });
}

const seed = (name: string) => readFileSync(join(out, 'grow', 'hosts', name, 'user-data'), 'utf8');
const record = () => parseMembership(readFileSync(join(stateDir, MEMBERSHIP_FILE), 'utf8')) as MembershipRecord;
/** An etcdctl call until it succeeds (30 s): etcd adds a member only once every member has been up a few seconds. */
async function until(call: () => { status: number | null; out: string }): Promise<{ status: number | null; out: string }> {
  let r = call();
  for (let i = 0; i < 30 && r.status !== 0; i++) {
    await new Promise((done) => setTimeout(done, 1000));
    r = call();
  }
  return r;
}

/** Every listed member answers healthy. */
const healthy = (lab: EtcdLab, octets: number[]) => until(() => lab.etcdctl(['endpoint', 'health'], { endpoints: octets.map((o) => `https://10.77.0.${o}:2379`).join(',') }));

const flag = (r: GenerateResult, name: string) => r.cluster.etcd.members.find((m) => m.name === name)!;

test('the model alone: every member a founder; a record makes the new ones join in plan order, each listing those before it', () => {
  const fake = {
    hosts: [
      { name: 'w9', roles: ['worker', 'etcd'] }, { name: 'e1', roles: ['etcd'] }, { name: 'e4', roles: ['etcd'] },
    ],
    etcd: {
      initialCluster: 'w9=https://a:2380,e1=https://b:2380,e4=https://c:2380',
      members: [
        { name: 'w9', address: 'a', clientUrl: 'https://a:2379', peerUrl: 'https://a:2380', initialCluster: '', initialClusterState: 'new' },
        { name: 'e1', address: 'b', clientUrl: 'https://b:2379', peerUrl: 'https://b:2380', initialCluster: '', initialClusterState: 'new' },
        { name: 'e4', address: 'c', clientUrl: 'https://c:2379', peerUrl: 'https://c:2380', initialCluster: '', initialClusterState: 'new' },
      ],
    },
  } as never;
  const now = new Date('2026-12-02T00:00:00Z');
  const fresh = applyMembership(fake, undefined, now);
  assert.equal(fresh.joining, []);
  assert.ok(fresh.cluster.etcd.members.every((m) => m.initialClusterState === 'new' && m.initialCluster === 'w9=https://a:2380,e1=https://b:2380,e4=https://c:2380'));
  assert.ok(fresh.record.members.every((m) => m.since === 'founding'));

  const founded: MembershipRecord = { version: 1, members: [{ name: 'e1', peerUrl: 'https://b:2380', since: 'founding', initialCluster: 'e1=https://b:2380', initialClusterState: 'new' }] };
  const grown = applyMembership(fake, founded, now);
  // e4 (etcd only) is provisioned before w9 (a worker): it joins first, and w9's initial cluster lists it.
  assert.equal(grown.joining, ['e4', 'w9']);
  const by = (name: string) => grown.cluster.etcd.members.find((m) => m.name === name)!;
  assert.equal([by('e1').initialCluster, by('e1').initialClusterState], ['e1=https://b:2380', 'new'], 'a founder keeps its flags');
  assert.equal([by('e4').initialCluster, by('e4').initialClusterState], ['e1=https://b:2380,e4=https://c:2380', 'existing']);
  assert.equal(by('w9').initialCluster, 'e1=https://b:2380,e4=https://c:2380,w9=https://a:2380');
  assert.equal(grown.record.members.map((m) => m.since), ['2026-12-02', 'founding', '2026-12-02']);

  const gone = applyMembership(fake, { version: 1, members: [{ ...founded.members[0]!, name: 'old', peerUrl: 'https://z:2380' }] }, now);
  assert.ok(gone.refounded, 'no recorded member stays: a new etcd cluster, said in the plan');
  assert.equal(gone.leaving, ['old']);
  assert.is(parseMembership('{"version":1,"members":[{"name":"x"}]}'), 'members[0] lacks peerUrl, since, initialCluster, initialClusterState');
});

test(`three founders grow to five and one is replaced, on Debian's etcd ${debianEtcdVersion}: joiners use the flags their seeds carry, founders' seeds never change`, async () => {
  // 1. The founders.
  const [dayA, dayB, dayC] = [daysAgo(3), daysAgo(2), daysAgo(1)];
  const a = await generated(spec([['e1', 11], ['e2', 12], ['e3', 13]]), dayA);
  assert.equal(record().members.map((m) => [m.name, m.since]), [['e1', 'founding'], ['e2', 'founding'], ['e3', 'founding']]);
  const foundersSeeds = ['e1', 'e2', 'e3'].map(seed);
  const lab = (r: GenerateResult) => {
    const l = new EtcdLab({ ...r.cluster, etcd: { ...r.cluster.etcd, version: debianEtcdVersion } }, r.pki.bundle, join(work, 'etcd'));
    labs.push(l);
    return l;
  };
  const labA = lab(a);
  labA.createNamespace();
  labA.startAll();
  assert.is((await healthy(labA, [11, 12, 13])).status, 0, 'the founders form a quorum');
  const endpoint = 'https://10.77.0.11:2379';
  assert.is(labA.etcdctl(['put', 'written-by', 'founders'], { endpoints: endpoint }).status, 0);

  // 2. Two members added in one change.
  const b = await generated(spec([['e1', 11], ['e2', 12], ['e3', 13], ['e4', 14], ['e5', 15]]), dayB);
  assert.equal(['e1', 'e2', 'e3'].map(seed), foundersSeeds, 'adding members changes no founder\'s seed');
  assert.equal(b.plan.hosts.e1?.action, 'keep');
  const joinSteps = b.plan.steps.filter((s) => s.host === 'e4' || s.host === 'e5');
  assert.equal(joinSteps.map((s) => s.host), ['e4', 'e5'], 'joined one at a time, in the order their seeds expect');
  for (const s of joinSteps) assert.ok(s.commands.some((c) => c.includes(`member add ${s.host} --peer-urls=https://10.77.0.${s.host === 'e4' ? 14 : 15}:2380`)), s.commands.join('\n'));
  assert.equal([flag(b, 'e4').initialClusterState, flag(b, 'e5').initialClusterState], ['existing', 'existing']);
  assert.match(seed('e5'), /--initial-cluster-state=existing/);
  assert.equal(record().members.map((m) => [m.name, m.since]).slice(3), [['e4', dayOf(dayB)], ['e5', dayOf(dayB)]]);
  const labB = lab(b);
  const started = [11, 12, 13];
  for (const name of ['e4', 'e5']) {
    const m = labB.members.find((x) => x.host.name === name)!;
    labB.plugIn(m);
    const add = await until(() => labA.etcdctl(['member', 'add', name, `--peer-urls=https://${m.host.address}:2380`], { endpoints: endpoint }));
    assert.is(add.status, 0, add.out);
    labB.start(m);
    started.push(Number(m.host.address.split('.')[3]));
    const health = await healthy(labB, started);
    assert.is(health.status, 0, `${name} joined: ${health.out}`);
  }
  const list = labA.etcdctl(['member', 'list'], { endpoints: endpoint }).out;
  assert.is(list.split('\n').filter((l) => l.includes(', started, ')).length, 5, list);
  assert.is(labB.etcdctl(['get', '--print-value-only', 'written-by'], { endpoints: 'https://10.77.0.15:2379' }).out, 'founders');

  // 3. e1 replaced by e6 while a writer keeps writing: e6 joins first, then e1 leaves.
  const c = await generated(spec([['e2', 12], ['e3', 13], ['e4', 14], ['e5', 15], ['e6', 16]]), dayC);
  assert.equal(['e2', 'e3'].map(seed), foundersSeeds.slice(1), 'replacing a member changes no other member\'s seed');
  const order = c.plan.steps.map((s) => `${s.action} ${s.host}`);
  assert.ok(order.indexOf('create e6') < order.indexOf('remove e1'), order.join(', '));
  assert.match(flag(c, 'e6').initialCluster, /^e1=.*e5=https:\/\/10\.77\.0\.15:2380,e6=https:\/\/10\.77\.0\.16:2380$/, 'e6 finds e1 still a member');
  const labC = lab(c);
  const e6 = labC.members.find((x) => x.host.name === 'e6')!;
  labC.plugIn(e6);
  // A writer as the apiserver writes: a failed request is retried once.
  let writes = 0;
  let retried = 0;
  let lost = 0;
  const put = (key: string) => labB.etcdctl(['put', key, 'v'], { endpoints: 'https://10.77.0.12:2379,https://10.77.0.13:2379' }).status === 0;
  const writer = setInterval(() => {
    const key = `k${++writes}`;
    if (put(key)) return;
    retried++;
    if (!put(key)) lost++;
  }, 200);
  try {
    const add = await until(() => labB.etcdctl(['member', 'add', 'e6', '--peer-urls=https://10.77.0.16:2380'], { endpoints: endpoint }));
    assert.is(add.status, 0, add.out);
    labC.start(e6);
    assert.is((await healthy(labC, [11, 12, 13, 14, 15, 16])).status, 0, 'e6 joined');
    // The plan's removal step: leadership moved away first, then the member removed.
    const removal = c.plan.steps.find((st) => st.host === 'e1')!.commands.join('\n');
    assert.match(removal, /move-leader/);
    const memberId = (name: string) => labB.etcdctl(['member', 'list'], { endpoints: 'https://10.77.0.12:2379' }).out.split('\n').find((l) => l.includes(`, ${name}, `))!.split(',')[0]!;
    const e1Status = labB.etcdctl(['endpoint', 'status'], { endpoints: 'https://10.77.0.11:2379' }).out;
    if (/, true, /.test(e1Status)) assert.is(labB.etcdctl(['move-leader', memberId('e2')], { endpoints: 'https://10.77.0.11:2379' }).status, 0);
    assert.is(labB.etcdctl(['member', 'remove', memberId('e1')], { endpoints: 'https://10.77.0.12:2379' }).status, 0);
    await labA.stop(labA.members.find((x) => x.host.name === 'e1')!);
  } finally {
    clearInterval(writer);
  }
  const after = labB.etcdctl(['member', 'list'], { endpoints: 'https://10.77.0.12:2379' }).out;
  assert.equal(after.split('\n').filter((l) => l.includes(', started, ')).map((l) => l.split(', ')[2]).sort(), ['e2', 'e3', 'e4', 'e5', 'e6'], after);
  console.log(`  member replaced with writes continuing: ${writes} writes, ${retried} retried once, ${lost} lost`);
  assert.is(lost, 0, 'no write lost while e6 joined and e1 left');
});

test.run();
