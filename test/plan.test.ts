/**
 * `plan` as an operator runs it: the tutorial's own scale-out (a single
 * master grown to HA, examples/day-two/), an unchanged spec, a removed host,
 * a rotated secret. The plan must name exactly the hosts that change and why,
 * order the steps so etcd and the API stay up, exit 0/2, and write nothing.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Plan } from '../generator/plan/plan.ts';
import { snapshot } from './lib/tree-snapshot.ts';
import { cli } from './lib/cli.ts';

const SINGLE = 'examples/day-two/1-single-master.yaml';
const HA = 'examples/day-two/2-ha.yaml';
const work = mkdtempSync(join(tmpdir(), 'ha-k8s-seed-plan-'));
const out = join(work, 'out');

/** The CLI with `--out DIR`, and the cluster's state kept beside that folder (not beside the spec, in the repository). */
function cliAt(command: string, spec: string, outDir: string, ...args: string[]) {
  return cli([command, spec, '--out', outDir, '--state', `${outDir}.tutorial.pki`, ...args]);
}

function planJson(spec: string, outDir = out, ...extra: string[]): { code: number | null; plan: Plan } {
  const r = cliAt('plan', spec, outDir, '--json', ...extra);
  assert.ok(r.status === 0 || r.status === 2, r.stderr);
  return { code: r.status, plan: JSON.parse(r.stdout) as Plan };
}

function actions(plan: Plan): Record<string, string> {
  return Object.fromEntries(Object.entries(plan.hosts).map(([name, h]) => [name, h.action]));
}

/** The HA cluster generated once, for the tests that only plan against it (plan writes nothing). */
const ha = join(work, 'ha');

test.before(() => {
  const r = cliAt('generate', SINGLE, out, '--quiet');
  assert.is(r.status, 0, r.stderr);
  const h = cliAt('generate', HA, ha, '--quiet');
  assert.is(h.status, 0, h.stderr);
});
test.after(() => rmSync(work, { recursive: true, force: true }));

test('an unchanged spec: every host kept, no steps, exit 0', () => {
  const { code, plan } = planJson(SINGLE);
  assert.is(code, 0);
  assert.is(plan.changed, false);
  assert.equal(actions(plan), { 'k8s-master1': 'keep', 'k8s-node1': 'keep', 'k8s-node2': 'keep' });
  assert.equal(plan.steps, []);
  assert.equal(plan.certificates, []);
});

test('the tutorial\'s scale-out: which hosts, why, and in which order; nothing written', () => {
  const before = snapshot(work);
  const { code, plan } = planJson(HA);
  assert.equal(snapshot(work), before, 'plan wrote nothing, neither output nor state');
  assert.is(code, 2);
  assert.equal(actions(plan), {
    'k8s-master1': 'reprovision', 'k8s-node1': 'reprovision', 'k8s-node2': 'reprovision',
    'k8s-master2': 'create', 'lb-master': 'create', 'lb-backup': 'create',
  });
  // The tutorial's step 7.4 (sed 192.168.31.71:6443 -> VIP on every node), named per file.
  for (const host of ['k8s-node1', 'k8s-node2', 'k8s-master1']) {
    const reasons = plan.hosts[host]!.reasons;
    assert.ok(reasons.includes('/etc/kubernetes/kube-proxy.kubeconfig: server https://192.168.31.71:6443 -> https://192.168.31.88:6443'), `${host}: ${reasons.join('\n')}`);
    assert.ok(reasons.includes('/etc/kubernetes/bootstrap-kubelet.kubeconfig: server https://192.168.31.71:6443 -> https://192.168.31.88:6443'), host);
  }
  const apiserverReason = plan.hosts['k8s-master1']!.reasons.find((r) => r.startsWith('/etc/kubernetes/pki/apiserver.crt:'));
  assert.ok(apiserverReason?.includes('+ IP Address:192.168.31.88'), apiserverReason);
  // k8s-master1's own apiserver certificate gains the VIP; k8s-master2 gets one of its own.
  const apiserver = (host: string) => plan.certificates.find((c) => c.item === `apiserver/${host}`);
  assert.equal([apiserver('k8s-master1')?.change, apiserver('k8s-master1')?.holders], ['reissued', ['k8s-master1']]);
  assert.equal([apiserver('k8s-master2')?.change, apiserver('k8s-master2')?.holders], ['issued', ['k8s-master2']]);

  // A new VIP: its load balancers first (backup before master; nobody uses them
  // yet), then the control planes (the new one before the re-provisioned one),
  // then the workers, one at a time.
  assert.equal(plan.steps.map((s) => `${s.action} ${s.host}`), [
    'create lb-backup', 'create lb-master', 'create k8s-master2', 'reprovision k8s-master1',
    'reprovision k8s-node1', 'reprovision k8s-node2',
  ]);
  const master1 = plan.steps[3]!;
  // Until every control plane's certificate names the VIP it is not for clients: kubectl talks to the host itself.
  assert.ok(master1.commands[0]!.includes('--server=https://192.168.31.71:6443 drain k8s-master1'), master1.commands[0]);
  assert.ok(master1.commands.some((c) => c.includes('keeping its etcd data (/var/lib/etcd')), master1.commands.join('\n'));
  assert.ok(master1.commands.some((c) => c.startsWith('ssh k8s-node1 sudo etcdctl --endpoints=https://192.168.31.72:2379 ') && c.endsWith('endpoint health --cluster')));
  assert.ok(master1.commands.at(-1)!.endsWith('admin.kubeconfig get nodes    # through the VIP now; every node re-provisioned so far is Ready'), master1.commands.at(-1));
  assert.match(master1.cost ?? '', /^etcd: 2 of 3 members run meanwhile \(one more failure would stop writes\)/);
  assert.ok(plan.steps[2]!.commands.some((c) => c.includes('--server=https://192.168.31.74:6443 get node k8s-master2')), plan.steps[2]!.commands.join('\n'));
  const node1 = plan.steps[4]!;
  assert.ok(node1.commands[0]!.endsWith(`admin.kubeconfig drain k8s-node1 --ignore-daemonsets --delete-emptydir-data`), node1.commands[0]);
  assert.ok(node1.commands.at(-1)!.endsWith('uncordon k8s-node1'));
  assert.ok(plan.availability.some((a) => a.startsWith('etcd: 3 member(s) changed one at a time')));
});

test('the text plan says the same, and generate ends with the per-host summary', () => {
  const text = cliAt('plan', HA, out);
  assert.is(text.status, 2);
  assert.match(text.stdout, /^ {2}reprovision k8s-node1 \(etcd, worker, 192\.168\.31\.72\)$/m);
  assert.match(text.stdout, /^ {2}1\. create lb-backup \(load-balancer\)$/m);
  const copy = join(work, 'copy');
  cpSync(out, copy, { recursive: true });
  cpSync(`${out}.tutorial.pki`, `${copy}.tutorial.pki`, { recursive: true });
  const generated = cliAt('generate', HA, copy);
  assert.is(generated.status, 0, generated.stderr);
  assert.match(generated.stderr, /^plan: create k8s-master2, lb-master, lb-backup$/m);
  assert.match(generated.stderr, /^plan: reprovision k8s-master1, k8s-node1, k8s-node2$/m);
  // Once generated, the same spec plans nothing.
  assert.is(planJson(HA, copy).code, 0);
});

test('adding a control plane touches only itself and the load balancers, whose reasons name the new upstream', () => {
  const spec = join(work, 'three-cp.yaml');
  writeFileSync(spec, `${readFileSync(HA, 'utf8')}  - { name: k8s-master3, address: 192.168.31.75, roles: [control-plane] }\n`);
  const { plan } = planJson(spec, ha);
  assert.equal(actions(plan), {
    'k8s-master1': 'keep', 'k8s-node1': 'keep', 'k8s-node2': 'keep', 'k8s-master2': 'keep',
    'lb-master': 'reprovision', 'lb-backup': 'reprovision', 'k8s-master3': 'create',
  });
  assert.equal(plan.certificates.map((c) => `${c.change} ${c.item}`).sort(), ['issued apiserver/k8s-master3', 'issued kubelet-serving/k8s-master3']);
  assert.ok(plan.hosts['lb-master']!.reasons.includes('/etc/nginx/nginx.conf: upstreams + k8s-master3 (192.168.31.75:6443)'), plan.hosts['lb-master']!.reasons.join('\n'));
  const order = plan.steps.map((s) => s.host);
  assert.ok(order.indexOf('k8s-master3') < order.indexOf('lb-backup'));
  assert.ok(order.indexOf('lb-backup') < order.indexOf('lb-master'), 'backup before master');
  const master = plan.steps.find((s) => s.host === 'lb-master')!;
  assert.match(master.cost ?? '', /VIP moves to the backup/);
});

test('adding a worker touches no other host: only it is created, with its own kubelet serving certificate', () => {
  const spec = join(work, 'one-more-worker.yaml');
  writeFileSync(spec, `${readFileSync(HA, 'utf8')}  - { name: k8s-node3, address: 192.168.31.76, roles: [worker] }\n`);
  const { code, plan } = planJson(spec, ha);
  assert.is(code, 2);
  assert.equal(Object.entries(plan.hosts).filter(([, h]) => h.action !== 'keep').map(([name, h]) => `${h.action} ${name}`), ['create k8s-node3']);
  assert.equal(plan.certificates.map((c) => `${c.change} ${c.item}`), ['issued kubelet-serving/k8s-node3']);
  assert.equal(plan.steps.map((s) => `${s.action} ${s.host}`), ['create k8s-node3']);
  assert.equal(plan.availability, ['none: only new hosts are added']);
});

test('removing a worker that is an etcd member: drain, member remove, delete node, after everything else', () => {
  const spec = join(work, 'no-node2.yaml');
  writeFileSync(spec, readFileSync(HA, 'utf8').replace(/^.*k8s-node2.*\n/m, '').replace(/^.*k8s-node1.*\n/m, ''));
  const { plan } = planJson(spec, ha);
  assert.is(plan.hosts['k8s-node2']!.action, 'remove');
  const removal = plan.steps.filter((s) => s.action === 'remove').map((s) => s.host).sort();
  assert.equal(removal, ['k8s-node1', 'k8s-node2']);
  const step = plan.steps.find((s) => s.host === 'k8s-node2')!;
  assert.ok(step.commands[0]!.includes('drain k8s-node2'));
  assert.ok(step.commands.some((c) => c.endsWith('member remove <ID of k8s-node2>')));
  assert.ok(step.commands.at(-1)!.endsWith('delete node k8s-node2'));
  assert.ok(plan.steps.findIndex((s) => s.action === 'remove') >= plan.steps.length - 2, 'removals come last');
  // Each removal shrinks etcd by one and stops no other member: 3 -> 2 -> 1.
  assert.equal(plan.steps.filter((s) => s.action === 'remove').map((s) => s.cost?.match(/etcd shrinks from \d to \d members/)?.[0]),
    ['etcd shrinks from 3 to 2 members', 'etcd shrinks from 2 to 1 members']);
});

test('etcd\'s size per step: each joiner counts the members of its moment (3 of 4, then 4 of 5), and so do the steps after them', () => {
  const spec = join(work, 'etcd5.yaml');
  writeFileSync(spec, `${readFileSync(HA, 'utf8')}  - { name: k8s-etcd4, address: 192.168.31.77, roles: [etcd] }\n  - { name: k8s-etcd5, address: 192.168.31.78, roles: [etcd] }\n`);
  const { plan } = planJson(spec, ha);
  const step = (host: string) => plan.steps.find((s) => s.host === host)!;
  assert.equal([step('k8s-etcd4').action, step('k8s-etcd5').action], ['create', 'create']);
  assert.is(step('k8s-etcd4').cost, 'etcd: 3 of 4 members run from its member add until it is up (one more failure would stop writes)');
  assert.is(step('k8s-etcd5').cost, 'etcd: 4 of 5 members run from its member add until it is up (1 more failure(s) tolerated)');
  assert.ok(plan.steps.indexOf(step('k8s-etcd5')) < plan.steps.indexOf(step('k8s-master1')));
  assert.match(step('k8s-master1').cost ?? '', /^etcd: 4 of 5 members run meanwhile \(1 more failure\(s\) tolerated\)/);
});

test('an etcd member replaced by a new one: it joins first, the control planes follow for --etcd-servers, the old one leaves last; each cost counts the members of that moment', () => {
  const spec = join(work, 'etcd4-for-node2.yaml');
  writeFileSync(spec, readFileSync(HA, 'utf8').replace(/^.*k8s-node2.*\n/m, '  - { name: k8s-etcd4,   address: 192.168.31.75, roles: [etcd] }\n'));
  const { code, plan } = planJson(spec, ha);
  assert.is(code, 2);
  assert.equal(plan.steps.map((s) => `${s.action} ${s.host}`), ['create k8s-etcd4', 'reprovision k8s-master1', 'reprovision k8s-master2', 'remove k8s-node2']);
  for (const cp of ['k8s-master1', 'k8s-master2']) {
    assert.equal(plan.hosts[cp]!.reasons, ['/etc/systemd/system/kube-apiserver.service: --etcd-servers + https://192.168.31.75:2379, - https://192.168.31.73:2379']);
  }
  const [join_, master1, master2, removal] = plan.steps;
  assert.ok(join_!.commands[0]!.endsWith('member add k8s-etcd4 --peer-urls=https://192.168.31.75:2380'), 'added before its VM boots');
  // member add counts k8s-etcd4 in the quorum at once: 3 of 4 running until it starts
  assert.match(join_!.cost ?? '', /^etcd: 3 of 4 members run from its member add until it is up \(one more failure would stop writes\)/);
  assert.match(master1!.cost ?? '', /^etcd: 3 of 4 members run meanwhile \(one more failure would stop writes\)/);
  assert.not.match(master2!.cost ?? '', /etcd:/, 'k8s-master2 is no etcd member');
  // bootstrap.done does not say the apiserver serves, and nginx rests one that refused connections for its fail_timeout
  for (const [step, address] of [[master1!, '192.168.31.71'], [master2!, '192.168.31.74']] as const) {
    const own = step.commands.findIndex((c) => c.endsWith(`--server=https://${address}:6443 get --raw /readyz    # until it prints ok`));
    assert.ok(own > step.commands.findIndex((c) => c.includes('bootstrap.done')), step.commands.join('\n'));
    assert.match(step.commands.at(-1)!, /^sleep 10s    # nginx counts an apiserver that refused 2 connections as down for 10s/);
  }
  assert.match(master2!.cost ?? '', /nginx sends new connections to the others, but connections open to it when it stops/);
  assert.ok(removal!.commands.some((c) => c.includes('--endpoints=https://192.168.31.73:2379') && c.includes('move-leader')), 'move-leader is sent to the leaving member');
  assert.match(removal!.cost ?? '', /^etcd shrinks from 4 to 3 members and no other member stops: etcd: 3 of 3 members run after it \(1 more failure\(s\) tolerated\)/);
});

test('a rotated secret is named as a change, never printed; a rotated bootstrap token changes no seed and names the old one to delete', () => {
  const password = readFileSync(join(`${ha}.tutorial.pki`, 'secrets', 'vrrp-password'), 'utf8').trim();
  const [token] = (JSON.parse(readFileSync(join(`${ha}.tutorial.pki`, 'bootstrap-tokens.json'), 'utf8')) as { tokens: { id: string; secret: string }[] }).tokens;
  const before = snapshot(work);
  const r = cliAt('plan', HA, ha, '--rotate', 'vrrp-password', '--rotate', 'bootstrap-token');
  const j = cliAt('plan', HA, ha, '--json', '--rotate', 'vrrp-password', '--rotate', 'bootstrap-token');
  assert.equal(snapshot(work), before, 'plan --rotate writes nothing, the state included');
  assert.is(r.status, 2);
  assert.match(r.stdout, /keepalived\.conf: VRRP password changed/);
  const plan = JSON.parse(j.stdout) as Plan;
  assert.equal(Object.entries(plan.hosts).filter(([, h]) => h.action !== 'keep').map(([name]) => name).sort(), ['lb-backup', 'lb-master'], 'only the VRRP password changes seeds');
  assert.ok(plan.certificates.some((c) => c.item === 'bootstrap-token' && c.change === 'issued' && /rotated/.test(c.reason)));
  assert.ok(plan.warnings.some((w) => w.endsWith(`delete secret --ignore-not-found bootstrap-token-${token!.id}`)), 'the old token is named for deletion');
  for (const secret of [password, `${token!.id}.${token!.secret}`, token!.secret]) {
    assert.not.ok(r.stdout.includes(secret) || j.stdout.includes(secret), 'no secret in the plan');
  }
});

test('a bad spec exits 1, like generate', () => {
  const spec = join(work, 'bad.yaml');
  writeFileSync(spec, readFileSync(HA, 'utf8').replace('roles: [worker, etcd]', 'roles: [wroker, etcd]'));
  const r = cliAt('plan', spec, out);
  assert.is(r.status, 1);
  assert.match(r.stderr, /did you mean "worker"/);
});

test.run();
