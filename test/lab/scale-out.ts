/**
 * The boot lab's scale-out (npm run test:e2e -- --scale-out): the tutorial's
 * single master grown to HA, proven the way an operator would do it. The
 * before spec (test/lab/scale-out-before.yaml: k8s-master1 with etcd, two
 * workers with etcd, no load balancer) is generated and booted; `plan --json`
 * on the after spec (scale-out-after.yaml: + k8s-master2, lb-master,
 * lb-backup and a VIP) must name the expected hosts, actions and step order;
 * then the after spec is generated and plan's steps are followed one at a
 * time, running the commands each step prints (`ssh <host> sudo ...` becomes
 * an exec in that container, kubectl is the real one against the lab), while
 * a probe in a worker thread writes and reads through the API directly at
 * k8s-master1 and, once it exists, through the VIP, counting failed requests
 * per step. At the end every kubelet talks to the VIP, every Node is
 * registered and etcd is healthy with its three members.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { load } from 'js-yaml';
import type { Cluster } from '../../generator/model/types.ts';
import type { Plan } from '../../generator/plan/plan.ts';
import type { PlanStep } from '../../generator/plan/steps.ts';
import { Machine, findKubectl, must, sh } from './machines.ts';
import { awaitBootstrap, awaitStandins, bootHosts, hostPrep, MARKER_DIR, runHarness, secs, stateOf, until, type Record_ } from './checks.ts';
import { probeInWorker, tally, type ProbeTarget } from './probe.ts';
import type { Tls } from '../lib/https-call.ts';

export interface ScaleOutOptions {
  work: string; root: string; repo: string;
  before: string; after: string;
  bridge: { name: string; cidr: string };
  holdSeconds?: number;
}

/** What plan must say for the tutorial's scale-out, host by host and step by step (README "Day two: plan"). */
const EXPECTED_ACTIONS = {
  'k8s-master1': 'reprovision', 'k8s-node1': 'reprovision', 'k8s-node2': 'reprovision',
  'k8s-master2': 'create', 'lb-master': 'create', 'lb-backup': 'create',
};
const EXPECTED_STEPS = ['create lb-backup', 'create lb-master', 'create k8s-master2', 'reprovision k8s-master1', 'reprovision k8s-node1', 'reprovision k8s-node2'];
const SEED_FILES = ['user-data', 'meta-data', 'network-config'];

export const runScaleOut = (o: ScaleOutOptions): Promise<number> => runHarness(o, 'scale-out', (machines, record) => scaleOut(o, machines, record));

async function scaleOut(o: ScaleOutOptions, machines: Map<string, Machine>, record: Record_) {
  const out = join(o.work, 'out');
  const state = join(o.work, 'state');
  const cli = (command: string, spec: string, ...more: string[]) => ['--import', 'tsx', join(o.repo, 'generator/cli.ts'), command, spec, '--out', out, '--state', state, ...more];
  const rel = (p: string) => p.replace(`${o.repo}/`, '');
  const kubectl = findKubectl();
  if (!kubectl) throw new Error('no kubectl on this machine (see .ci/run)');

  // ---- before: the single master, generated and booted
  let t = Date.now();
  must(process.execPath, cli('generate', o.before, '--quiet'), 180);
  const clusterDir = join(out, (load(readFileSync(o.before, 'utf8')) as { name: string }).name);
  const modelOf = () => JSON.parse(readFileSync(join(clusterDir, 'model.json'), 'utf8')) as Cluster;
  const before = modelOf();
  record('before', `generate ${rel(o.before)}`, true, `${before.hosts.length} hosts, no load balancer, in ${secs(Date.now() - t)}`);
  await bootHosts(o, before, clusterDir, before.hosts, machines, kubectl);
  await awaitBootstrap([...machines.values()], record);
  await awaitStandins(before.hosts, machines, record);
  const master1 = before.hosts.find((h) => h.roles.includes('control-plane'))!;
  const adminKubeconfig = join(clusterDir, 'admin.kubeconfig');
  const kc = (args: string[], timeoutSeconds = 30) => sh(kubectl, ['--kubeconfig', adminKubeconfig, '--request-timeout=5s', ...args], timeoutSeconds);
  for (const h of before.hosts) {
    const node = await until(90, () => (kc(['get', 'node', h.name]).status === 0 ? true : undefined), 3000);
    record('before', `Node ${h.name} registered (kubectl at ${master1.name})`, !!node, node ? before.kubernetes.endpoint.url : kc(['get', 'node', h.name]).stderr.trim().slice(0, 200));
  }

  // ---- plan, then generate the after spec
  const planned = sh(process.execPath, cli('plan', o.after, '--json'), 120);
  let plan: Plan | undefined;
  try { plan = JSON.parse(planned.stdout) as Plan; } catch { /* recorded below */ }
  if (!plan) throw new Error(`plan --json ${rel(o.after)} exited ${planned.status}: ${planned.stderr.slice(0, 400)}`);
  const actions = Object.fromEntries(Object.entries(plan.hosts).map(([h, x]) => [h, x.action]));
  const sameActions = JSON.stringify(Object.entries(actions).sort()) === JSON.stringify(Object.entries(EXPECTED_ACTIONS).sort());
  record('plan', `plan --json ${rel(o.after)}: exactly the expected hosts and actions, exit 2`, planned.status === 2 && sameActions,
    Object.entries(actions).map(([h, a]) => `${a} ${h}`).join(', '));
  const order = plan.steps.map((s) => `${s.action} ${s.host}`);
  record('plan', 'the steps in the expected order: load balancers (backup, master), control planes (new, then re-provisioned), workers',
    order.join() === EXPECTED_STEPS.join(), order.join(', '));
  // The new VIP is for clients once every control plane's certificate names it: until the last
  // control plane's step, that step's kubectl talks to the host's own apiserver.
  const cpSteps = plan.steps.filter((st) => plan!.hosts[st.host]!.roles.includes('control-plane'));
  const ownServer = cpSteps.every((st) => st.commands.filter((c) => c.startsWith('kubectl ') && !c.includes('# through the VIP now'))
    .every((c) => c.includes(`--server=https://${plan!.hosts[st.host]!.address}:`)));
  const vipNow = plan.steps.findIndex((st) => st.commands.some((c) => c.includes('# through the VIP now')));
  record('plan', 'control plane steps: kubectl at the host\'s own apiserver; the last one ends "through the VIP now"',
    cpSteps.length === 2 && ownServer && vipNow === plan.steps.indexOf(cpSteps.at(-1)!),
    `"through the VIP now" in step ${vipNow + 1}; ${cpSteps.map((st) => st.commands.find((c) => c.startsWith('kubectl '))?.match(/--server=\S+/)?.[0] ?? 'no --server').join(', ')}`);
  const seedsOf = (hosts: readonly string[]) => Object.fromEntries(hosts.flatMap((h) => SEED_FILES.map((f) => [`${h}/${f}`, readFileSync(join(clusterDir, 'hosts', h, f))])));
  const existing = before.hosts.map((h) => h.name);
  const seedsBefore = seedsOf(existing);
  t = Date.now();
  must(process.execPath, cli('generate', o.after, '--quiet'), 180);
  const after = modelOf();
  const seedsAfter = seedsOf(existing);
  const kept = Object.entries(plan.hosts).filter(([, h]) => h.action === 'keep').map(([n]) => n);
  const changedKept = kept.flatMap((h) => SEED_FILES.map((f) => `${h}/${f}`)).filter((k) => !seedsBefore[k]!.equals(seedsAfter[k]!));
  const reprovisioned = Object.entries(plan.hosts).filter(([, h]) => h.action === 'reprovision').map(([n]) => n);
  const unchangedReprovisioned = reprovisioned.filter((h) => seedsBefore[`${h}/user-data`]!.equals(seedsAfter[`${h}/user-data`]!));
  record('plan', `generate ${rel(o.after)}: hosts plan keeps keep their seed bytes; those it re-provisions get new user-data`,
    changedKept.length === 0 && unchangedReprovisioned.length === 0,
    `${kept.length} kept${changedKept.length ? `, changed: ${changedKept.join(' ')}` : ''}; ${reprovisioned.length - unchangedReprovisioned.length} of ${reprovisioned.length} re-provisioned with new user-data; generated in ${secs(Date.now() - t)}`);

  // ---- the steps, one at a time, with the API probed meanwhile
  const tls: Tls = { ca: readFileSync(join(state, 'ca.crt')), cert: readFileSync(join(state, 'admin.crt')), key: readFileSync(join(state, 'admin.key')) };
  const vip = after.loadBalancer!.vip;
  const direct: ProbeTarget = { name: `direct ${master1.name}`, url: `https://${master1.address}:${after.kubernetes.apiserverPort}` };
  const viaVip: ProbeTarget = { name: 'VIP', url: after.kubernetes.endpoint.url };
  const vipHolder = () => after.loadBalancer!.members.map((m) => m.host).find((h) => machines.get(h)?.exec(['ip', '-4', '-o', 'addr', 'show'], 10).stdout.includes(` ${vip}/`));
  for (const [i, step] of plan.steps.entries()) {
    // the VIP from the step after the first load balancer's on (keepalived takes it some seconds after its bootstrap)
    const targets = after.loadBalancer!.members.some((l) => machines.has(l.host)) ? [direct, viaVip] : [direct];
    const probe = probeInWorker(targets, tls);
    const started = Date.now();
    let ok = true;
    const section = `step ${i + 1}`;
    for (const command of step.commands) ok = (await runCommand(command, { o, after, clusterDir, machines, kubectl, record, section, whileDown: () => etcdWhileDown(step, section, machines, record) })) && ok;
    const seconds = (Date.now() - started) / 1000;
    const samples = await probe.stop();
    const perTarget = targets.map((target) => {
      const x = tally(samples, target.name);
      return `${target.name} ${x.failed} of ${x.requests} failed${x.failed ? ` (longest outage ${x.longestOutageSeconds.toFixed(1)} s; first: ${x.firstError?.slice(0, 80)})` : ''}`;
    });
    record(`step ${i + 1}`, `${step.title}: every runnable command succeeded`, ok, `${seconds.toFixed(0)} s; ${perTarget.join('; ')}`);
    // Once every control plane's certificate names the VIP, it is for clients: while a worker
    // (an etcd member too) is re-provisioned an apiserver always answers there; requests may be
    // slow while etcd's leadership moves and the apiservers' etcd clients reconnect.
    if (step.action === 'reprovision' && !plan.hosts[step.host]!.roles.includes('control-plane')) {
      const mine = samples.filter((x) => x.target === viaVip.name);
      const refused = mine.filter((x) => !x.ok && !/^timeout after/.test(x.error ?? ''));
      const slow = mine.filter((x) => !x.ok).length - refused.length;
      record(section, `through the VIP an apiserver answered all along while ${step.host} was re-provisioned (failures only timeouts), and at its end`,
        mine.length > 0 && refused.length === 0 && mine.at(-1)!.ok,
        `${mine.length} requests: ${slow} timed out (2 s; ${mine.filter((x) => !x.ok && x.write).length} of them writes), ${refused.length} other failures${refused.length ? ` (first: ${refused[0]!.error?.slice(0, 100)})` : ''}`);
    }
  }

  // ---- after: HA
  const endpointHost = `${vip}:${after.kubernetes.apiserverPort}`;
  for (const h of after.hosts.filter((x) => x.roles.includes('control-plane') || x.roles.includes('worker'))) {
    const m = machines.get(h.name)!;
    const kubelet = await until(60, () => { const s = stateOf(m, 'kubelet'); return s?.connected === true && String(s.server ?? '').includes(endpointHost) ? s : undefined; }, 3000);
    record('after', `${h.name}'s kubelet talks to the VIP`, !!kubelet, kubelet ? `${kubelet.credentials} -> ${kubelet.server}` : JSON.stringify(stateOf(m, 'kubelet') ?? null).slice(0, 200));
    const node = await until(60, () => (kc(['get', 'node', h.name]).status === 0 ? true : undefined), 3000);
    record('after', `Node ${h.name} registered, seen through the VIP`, !!node, node ? after.kubernetes.endpoint.url : kc(['get', 'node', h.name]).stderr.trim().slice(0, 200));
  }
  const readyz = await until(60, () => { const r = kc(['get', '--raw', '/readyz']); return r.status === 0 ? r : undefined; }, 2000);
  record('after', `kubectl get --raw /readyz through the VIP ${vip}`, readyz?.stdout.trim() === 'ok', readyz?.stdout.trim() ?? '');
  const preferred = [...after.loadBalancer!.members].sort((a, b) => b.priority - a.priority)[0]!.host;
  record('after', `the VIP is held by the preferred load balancer (${preferred})`, vipHolder() === preferred, vipHolder() ?? 'nobody');
  const etcdctl = (args: string[]) => machines.get(master1.name)!.exec(['etcdctl', `--endpoints=${after.etcd.members.map((m) => m.clientUrl).join(',')}`,
    '--cacert=/etc/kubernetes/pki/etcd/ca.crt', '--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt', '--key=/etc/kubernetes/pki/etcd/healthcheck-client.key',
    '--dial-timeout=3s', '--command-timeout=5s', ...args], 30);
  const health = await until(60, () => {
    try {
      const list = JSON.parse(etcdctl(['endpoint', 'health', '-w', 'json']).stdout) as { health: boolean }[];
      return list.length === 3 && list.every((e) => e.health) ? list : undefined;
    } catch { return undefined; }
  }, 2000);
  const members = etcdctl(['member', 'list']).stdout.trim().split('\n').filter(Boolean);
  record('after', 'etcd healthy with 3 members', !!health && members.length === 3, `${members.length} members: ${members.map((l) => l.split(', ')[2]).join(', ')}`);
}

interface StepContext {
  o: ScaleOutOptions; after: Cluster; clusterDir: string; machines: Map<string, Machine>; kubectl: string; record: Record_; section: string;
  /** Runs while a re-provisioned host is powered off, before its new disk boots. */
  whileDown: () => Promise<void>;
}

/**
 * etcd while a re-provisioned member is down, against what the step's cost
 * says ("etcd: 2 of 3 members run meanwhile"): the step's own `endpoint
 * health --cluster`, run once, counts the members that answer.
 */
async function etcdWhileDown(step: PlanStep, section: string, machines: Map<string, Machine>, record: Record_): Promise<void> {
  const said = step.cost?.match(/etcd: (\d+) of (\d+) members run meanwhile/);
  const health = step.commands.map((c) => c.match(/^ssh (\S+) sudo (etcdctl .* endpoint health --cluster)$/)).find(Boolean);
  if (!said || !health) return;
  // the step's own command, as JSON (every endpoint on stdout, healthy or not); a leader's
  // stop moves leadership, so it is polled for a while until the count settles
  const count = () => {
    const r = machines.get(health[1]!)!.exec([...health[2]!.split(/\s+/), '-w', 'json'], 40);
    try { const list = JSON.parse(r.stdout) as { health: boolean }[]; return { healthy: list.filter((e) => e.health).length, all: list.length, text: '' }; }
    catch { return { healthy: 0, all: 0, text: `${r.stdout}${r.stderr}`.replace(/\s+/g, ' ').slice(0, 200) }; }
  };
  const expected = { healthy: Number(said[1]), all: Number(said[2]) };
  let seen = count();
  for (let i = 0; i < 10 && (seen.healthy !== expected.healthy || seen.all !== expected.all); i++) { await sleep(2000); seen = count(); }
  record(section, `etcd while ${step.host} is down: as the step's cost says, ${said[1]} of ${said[2]} members run`,
    seen.healthy === expected.healthy && seen.all === expected.all, `${seen.healthy} of ${seen.all} healthy (endpoint health --cluster on ${health[1]})${seen.text ? `: ${seen.text}` : ''}`);
}

/**
 * Runs one command of a plan step as an operator would, recording it: VM
 * lines become containers booted or re-provisioned, `ssh <host> cat <file>`
 * a wait for that file, `ssh <host> sudo <command>` an exec in that
 * container, kubectl the real one (a pipeline into kubectl runs in a
 * shell, with the real one). A line with a placeholder (`<ID of ...>`)
 * is not runnable as printed and is recorded as such.
 */
async function runCommand(command: string, c: StepContext): Promise<boolean> {
  const line = command.split(/\s+#\s/)[0]!.trim();
  const shown = line.length > 90 ? `${line.slice(0, 87)}...` : line;
  const t = Date.now();
  const done = (ok: boolean, figure: string) => { c.record(c.section, shown, ok, `${figure} (${secs(Date.now() - t)})`); return ok; };
  if (/<[^>]+>/.test(line)) { c.record(c.section, shown, null, 'not run: the operator fills in a placeholder'); return true; }
  let m: RegExpMatchArray | null;
  if ((m = line.match(/^boot a new VM for (\S+) /))) {
    const host = c.after.hosts.find((h) => h.name === m![1])!;
    await bootHosts(c.o, c.after, c.clusterDir, [host], c.machines, c.kubectl);
    return done(true, 'container prepared from its cidata.iso and booted');
  }
  if ((m = line.match(/^replace (\S+)'s VM/))) {
    const name = m[1]!;
    const machine = c.machines.get(name)!;
    const keep = /keeping its etcd data \(([^,)]+)/.exec(line)?.[1];
    await machine.powerOff(30);
    await c.whileDown();
    await machine.freshDisk(hostPrep(c.after, c.clusterDir, c.after.hosts.find((h) => h.name === name)!, c.kubectl), keep ? [keep] : []);
    machine.boot();
    return done(true, `powered off; a fresh disk from the root${keep ? `, ${keep} kept` : ''}; booted with its new cidata.iso`);
  }
  if ((m = line.match(/^ssh (\S+) cat (\S+)$/))) {
    const machine = c.machines.get(m[1]!)!;
    const file = m[2]!;
    const failed = join(machine.merged, MARKER_DIR, 'bootstrap.failed');
    const r = await until(420, () => (existsSync(join(machine.merged, file)) ? 'done' : existsSync(failed) ? 'failed' : machine.exited ? 'exited' : undefined), 2000);
    if (r !== 'done') {
      const journal = machine.exec(['journalctl', '-u', 'ha-k8s-seed-bootstrap.service', '--no-pager', '-n', '12', '-o', 'cat'], 30).stdout.replace(/\s+/g, ' ').slice(-400);
      return done(false, `${r ?? 'timed out'}${r === 'failed' ? ` at ${readFileSync(failed, 'utf8').trim()}` : ''}; ${journal}`);
    }
    return done(true, `there ${secs(Date.now() - machine.bootedAt)} after boot`);
  }
  if ((m = line.match(/^ssh (\S+) sudo (.+)$/))) {
    const machine = c.machines.get(m[1]!)!;
    const args = m[2]!.split(/\s+/);
    // endpoint health: a member just booted may still be catching up
    const r = await until(90, () => { const x = machine.exec(args, 30); return x.status === 0 ? x : undefined; }, 3000) ?? machine.exec(args, 30);
    return done(r.status === 0, (r.status === 0 ? r.stdout || r.stderr : r.stderr || r.stdout).replace(/\s+/g, ' ').trim().slice(0, 200));
  }
  if (/\|\s*kubectl /.test(line)) {
    // A pipeline into kubectl (the bootstrap token's apply): a shell runs it as printed, with the lab's kubectl.
    const r = sh('bash', ['-c', `set -o pipefail; kubectl() { ${c.kubectl} --request-timeout=10s "$@"; }\n${line}`], 60);
    return done(r.status === 0, (r.status === 0 ? r.stdout : r.stderr).replace(/\s+/g, ' ').trim().slice(0, 200));
  }
  if ((m = line.match(/^kubectl (.+)$/))) {
    const args = m[1]!.split(/\s+/);
    const drain = args.includes('drain');
    const run = () => sh(c.kubectl, ['--request-timeout=10s', ...args, ...(drain ? ['--timeout=60s'] : [])], 90);
    // get node: a kubelet registers some seconds after the bootstrap
    const r = await until(args.includes('get') ? 120 : 30, () => { const x = run(); return x.status === 0 ? x : undefined; }, 3000) ?? run();
    return done(r.status === 0, (r.status === 0 ? r.stdout : r.stderr).replace(/\s+/g, ' ').trim().slice(0, 200));
  }
  c.record(c.section, shown, null, 'not run: no lab counterpart');
  return true;
}
