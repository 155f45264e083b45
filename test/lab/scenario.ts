/**
 * What the boot lab does once it runs inside its network namespace: generate
 * the lab cluster with the real CLI, boot every host from its ISO's seed,
 * wait for cloud-init and the bootstrap, check etcd and the VIP, break
 * things, and print the figures. Teardown (containers, mounts) on any exit.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { load } from 'js-yaml';
import type { Cluster } from '../../generator/model/types.ts';
import { BIN } from '../../generator/model/paths.ts';
import { Machine, findKubectl, must, sh } from './machines.ts';
import { LAB_PROBE_KEY, labProbeWrite, probeAround, type ProbeFigures } from './probe.ts';
import { call, type Tls } from '../lib/https-call.ts';
import { awaitBootstrap, awaitStandins, bootHosts, hostPrep, MARKER_DIR, mustIn, runHarness, secs, stateOf, until, vipTakenAt, writeFile, type Record_ } from './checks.ts';
import { etcdDayTwo } from './etcd-day-two.ts';

export interface LabOptions {
  work: string; root: string; repo: string; spec: string;
  bridge: { name: string; cidr: string };
  only?: string[];
  faults: boolean;
  /** Keep the containers up this long after the checks (debugging). */
  holdSeconds?: number;
}

export const runLab = (o: LabOptions): Promise<number> => runHarness(o, 'lab', (machines, record) => scenario(o, machines, record));

async function scenario(o: LabOptions, machines: Map<string, Machine>, record: Record_) {
  // ---- generate, as a user does
  const out = join(o.work, 'out');
  const t0 = Date.now();
  must(process.execPath, ['--import', 'tsx', join(o.repo, 'generator/cli.ts'), 'generate', o.spec, '--out', out, '--state', join(o.work, 'state'), '--quiet'], 180);
  const specName = (load(readFileSync(o.spec, 'utf8')) as { name: string }).name;
  const clusterDir = join(out, specName);
  const model = JSON.parse(readFileSync(join(clusterDir, 'model.json'), 'utf8')) as Cluster;
  record('generate', `npm run generate -- ${o.spec.replace(o.repo + '/', '')}`, true, `${model.hosts.length} hosts, Kubernetes ${model.kubernetes.version}, etcd ${model.etcd.version} rendered, in ${secs(Date.now() - t0)}`);
  const hosts = model.hosts.filter((h) => !o.only || o.only.includes(h.name));
  if (o.only) for (const n of o.only) if (!model.hosts.some((h) => h.name === n)) throw new Error(`--hosts: no host ${n} in ${o.spec}`);
  const has = (role: string) => (h: { roles: readonly string[] }) => h.roles.includes(role);

  // ---- the etcd the root carries must take the flags the unit passes
  const etcdHelp = sh('chroot', [o.root, '/usr/bin/etcd', '--help']);
  const known = new Set([...(etcdHelp.stdout + etcdHelp.stderr).matchAll(/--([a-z0-9-]+)/g)].map((m) => m[1]));
  const etcdVersion = sh('chroot', [o.root, '/usr/bin/etcd', '--version']).stdout.match(/etcd Version: (\S+)/)?.[1] ?? '?';
  for (const h of model.hosts.filter(has('etcd')).slice(0, 1)) {
    const unit = writeFile(clusterDir, h.name, '/etc/systemd/system/etcd.service');
    const flags = [...unit.matchAll(/^\s+--([a-z0-9-]+)/gm)].map((m) => m[1]!);
    const unknown = flags.filter((f) => !known.has(f));
    record('preflight', `etcd unit flags known to the root's etcd ${etcdVersion}`, unknown.length === 0,
      unknown.length ? `refused by etcd ${etcdVersion}: ${unknown.map((f) => `--${f}`).join(' ')}` : `${flags.length} flags, all known`);
  }

  // ---- prepare and boot every host from its ISO
  // A real kubectl goes into every root (the bootstrap applies the add-ons
  // with it) and drives the VIP checks. 1.27 or newer: older ones validate
  // with OpenAPI v2 schemas, which the apiserver stand-in does not serve.
  const kubectl = findKubectl();
  if (!kubectl) throw new Error('no kubectl on this machine (see .ci/run)');
  const kubectlMinor = Number(JSON.parse(sh(kubectl, ['version', '--client', '-o', 'json']).stdout || '{}').clientVersion?.minor?.replace(/\D/g, '') ?? 0);
  if (kubectlMinor < 27) throw new Error(`${kubectl} is kubectl 1.${kubectlMinor}: the lab needs 1.27 or newer`);
  await bootHosts(o, model, clusterDir, hosts, machines, kubectl);
  await awaitBootstrap([...machines.values()], record);

  // ---- the stand-ins connected (they retry, as the real ones do)
  await awaitStandins(hosts, machines, record);

  // the kubelets' client certificates: signed by the cluster CA through the CSR
  for (const h of hosts.filter((x) => has('control-plane')(x) || has('worker')(x))) {
    const v = machines.get(h.name)!.exec(['openssl', 'verify', '-CAfile', '/etc/kubernetes/pki/ca.crt', '/var/lib/kubelet/pki/kubelet-client-current.pem'], 20);
    const subject = machines.get(h.name)!.exec(['openssl', 'x509', '-noout', '-subject', '-in', '/var/lib/kubelet/pki/kubelet-client-current.pem'], 20).stdout.trim();
    record(`host ${h.name}`, 'kubelet client certificate verifies against the cluster CA', v.status === 0 && subject.includes(`system:node:${h.name}`), `${subject || v.stderr.trim()}`);
  }
  const cps = hosts.filter(has('control-plane'));
  const etcdHosts = hosts.filter(has('etcd'));
  const lbs = hosts.filter(has('load-balancer'));
  const allEtcd = model.etcd.members.map((m) => m.clientUrl).join(',');

  // ---- etcd over TLS with client certificates, from a control plane
  const etcdFrom = cps[0] ?? etcdHosts[0];
  const etcdctl = (args: string[], m = machines.get(etcdFrom!.name)!, endpoints = allEtcd) => m.exec(['env', 'ETCDCTL_API=3', BIN.etcdctl,
    `--endpoints=${endpoints}`, '--cacert=/etc/kubernetes/pki/etcd/ca.crt',
    '--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt', '--key=/etc/kubernetes/pki/etcd/healthcheck-client.key', '--dial-timeout=3s', '--command-timeout=5s', ...args], 30);
  /** The etcd host whose member leads, by `etcdctl endpoint status`. */
  const etcdLeader = () => {
    try {
      const list = JSON.parse(etcdctl(['endpoint', 'status', '-w', 'json']).stdout) as { Endpoint: string; Status: { header: { member_id: number }; leader: number } }[];
      const url = list.find((e) => String(e.Status.header.member_id) === String(e.Status.leader))?.Endpoint ?? '';
      return etcdHosts.find((h) => url.includes(`//${h.address}:`));
    } catch { return undefined; }
  };
  const etcdHealthy = async (seconds: number) => until(seconds, () => {
    const r = etcdctl(['endpoint', 'health', '-w', 'json']);
    try {
      const list = JSON.parse(r.stdout) as { endpoint: string; health: boolean; took: string }[];
      return list.length === model.etcd.members.length && list.every((e) => e.health) ? list : undefined;
    } catch { return undefined; }
  }, 2000);
  if (etcdFrom && etcdHosts.length === model.etcd.members.length) {
    const health = await etcdHealthy(90);
    record('etcd', `cluster healthy over TLS (client cert) from ${etcdFrom.name}`, !!health,
      health ? health.map((e) => `${new URL(e.endpoint).hostname} ${e.took}`).join(', ') : etcdctl(['endpoint', 'health']).stderr.replace(/\s+/g, ' ').slice(0, 400));
    const keys = etcdctl(['get', '--prefix', '--keys-only', '/registry/']).stdout.split('\n').filter(Boolean);
    const writers = keys.filter((k) => k.startsWith('/registry/standin/kube-apiserver/')).map((k) => k.split('/').pop());
    record('etcd', 'data written by every apiserver stand-in is there', cps.every((c) => writers.includes(c.address)),
      `heartbeat keys from ${writers.join(', ') || 'none'}; ${keys.length} keys under /registry/`);
    const token = keys.find((k) => k.startsWith('/registry/secrets/kube-system/bootstrap-token-'));
    record('etcd', 'the add-ons applied by the bootstrap are stored (kubectl apply --server-side)', !!token, token ?? `keys: ${keys.slice(0, 8).join(' ')}`);
  } else record('etcd', 'cluster checks', null, 'skipped: not every etcd member is booted (--hosts)');

  // ---- through the VIP: real kubectl with the generated admin.kubeconfig
  const vip = model.loadBalancer?.vip;
  const endpoint = model.kubernetes.endpoint.url;
  const adminKubeconfig = join(clusterDir, 'admin.kubeconfig');
  const pki = join(o.work, 'state');
  const tls = { ca: readFileSync(join(pki, 'ca.crt')), cert: readFileSync(join(pki, 'admin.crt')), key: readFileSync(join(pki, 'admin.key')) } satisfies Tls;
  const adminUser = new X509Certificate(tls.cert).subject.match(/CN=([^\n,]+)/)?.[1] ?? 'kubernetes-admin';
  const kc = (args: string[]) => sh(kubectl, ['--kubeconfig', adminKubeconfig, '--request-timeout=5s', ...args], 30);
  if (!vip || lbs.length === 0 || cps.length === 0) {
    record('vip', 'kubectl through the VIP', null, 'skipped: no load balancer or control plane booted');
    return;
  }
  const vipHolder = () => lbs.find((l) => machines.get(l.name)!.exec(['ip', '-4', '-o', 'addr', 'show'], 10).stdout.includes(` ${vip}/`))?.name;
  const preferred = [...(model.loadBalancer?.members ?? [])].sort((a, b) => b.priority - a.priority)[0]?.host;
  const holder = await until(60, () => { const h = vipHolder(); return h && h === preferred ? h : undefined; }, 2000) ?? vipHolder();
  const keepalivedLog = (h: string) => machines.get(h)!.exec(['journalctl', '-u', 'keepalived.service', '-o', 'cat', '--no-pager', '-n', '6'], 20).stdout.replace(/\s+/g, ' ').slice(-400);
  record('vip', `${vip} held by the preferred load balancer (${preferred})`, !!holder && holder === preferred,
    holder === preferred ? holder! : `held by ${holder ?? 'nobody'}; ${lbs.map((l) => `${l.name}: ${keepalivedLog(l.name)}`).join(' | ')}`);
  const healthz = await until(60, () => { const r = kc(['get', '--raw', '/healthz']); return r.status === 0 ? r : undefined; }, 2000);
  record('vip', `kubectl get --raw /healthz via ${endpoint}`, healthz?.stdout.trim() === 'ok', healthz?.stdout.trim() ?? kc(['get', '--raw', '/healthz']).stderr.trim().slice(0, 300));
  const ver = kc(['version', '-o', 'json']);
  let server = '';
  try { server = JSON.parse(ver.stdout).serverVersion?.gitVersion ?? ''; } catch { /* below */ }
  record('vip', 'kubectl version: the server is the target release', server === model.kubernetes.version, server || ver.stderr.trim().slice(0, 300));
  // every node registered by its kubelet; control planes labelled by their bootstrap, tainted when there are workers
  for (const h of hosts.filter((x) => has('control-plane')(x) || has('worker')(x))) {
    const cp = has('control-plane')(h);
    const tainted = cp && !has('worker')(h) && model.hosts.some(has('worker'));
    const node = await until(cp ? 90 : 30, () => {
      const r = kc(['get', 'node', h.name, '-o', 'json']);
      try {
        const n = JSON.parse(r.stdout) as { metadata: { labels?: Record<string, string> }; spec?: { taints?: { key: string; effect: string }[] } };
        return !cp || n.metadata.labels?.['node-role.kubernetes.io/control-plane'] === '' ? n : undefined;
      } catch { return undefined; }
    }, 3000);
    const labelled = node?.metadata.labels?.['node-role.kubernetes.io/control-plane'] === '';
    const taint = (node?.spec?.taints ?? []).some((t) => t.key === 'node-role.kubernetes.io/control-plane' && t.effect === 'NoSchedule');
    record(`host ${h.name}`, cp ? `Node registered, labelled control-plane${tainted ? ', tainted NoSchedule' : ''}` : 'Node registered, no control-plane label or taint',
      !!node && labelled === cp && taint === tainted, node ? `labels: ${Object.keys(node.metadata.labels ?? {}).join(' ')}; taints: ${(node.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`).join(' ') || 'none'}` : kc(['get', 'node', h.name]).stderr.trim().slice(0, 200));
  }
  // kubectl logs/exec/metrics path: apiserver -> kubelet over TLS, the kubelet's serving certificate verified
  for (const h of hosts.filter((x) => has('control-plane')(x) || has('worker')(x))) {
    const r = await until(30, () => { const x = kc(['get', '--raw', `/api/v1/nodes/${h.name}/proxy/healthz`]); return x.status === 0 ? x : undefined; }, 2000)
      ?? kc(['get', '--raw', `/api/v1/nodes/${h.name}/proxy/healthz`]);
    const san = machines.get(h.name)!.exec(['openssl', 'x509', '-noout', '-ext', 'subjectAltName', '-in', '/etc/kubernetes/pki/kubelet.crt'], 20).stdout.replace(/\s+/g, ' ').trim();
    record(`host ${h.name}`, 'the apiserver reaches its kubelet over verified TLS (nodes/proxy/healthz)', r.status === 0 && r.stdout.trim() === 'ok',
      r.status === 0 ? `ok; kubelet serving ${san}` : r.stderr.trim().slice(0, 300));
  }
  const count = (h: string) => Number(stateOf(machines.get(h)!, 'kube-apiserver')?.byUser?.[adminUser] ?? 0);
  const before = Object.fromEntries(cps.map((c) => [c.name, count(c.name)]));
  const N = 12;
  let kcFailed = 0;
  for (let i = 0; i < N; i++) if (kc(['get', '--raw', '/readyz']).status !== 0) kcFailed++;
  await sleep(500);
  const served = cps.map((c) => [c.name, count(c.name) - (before[c.name] ?? 0)] as const);
  record('vip', `both apiservers serve requests through nginx (${N} kubectl calls)`, kcFailed === 0 && served.every(([, n]) => n > 0),
    `${served.map(([h, n]) => `${h} ${n}`).join(', ')}; ${kcFailed} failed`);

  if (!o.faults) return;
  if (lbs.length < 2 || cps.length < 2 || etcdHosts.length < 3) {
    record('faults', 'fault injection', null, 'skipped: needs 2 load balancers, 2 control planes and 3 etcd members booted');
    return;
  }

  // ---- faults, each with a bounded probe loop through the VIP
  const read = (n: number) => ({ path: n % 2 ? '/readyz' : '/healthz' });
  const write = labProbeWrite;
  const figure = (p: ProbeFigures & { timedOut: boolean }) =>
    `${p.requests} requests, ${p.failed} failed, recovery ${Number.isNaN(p.recoverySeconds) ? 'never' : `${p.recoverySeconds.toFixed(1)} s`}, slowest ${p.slowestMs} ms${p.timedOut ? ' (probe ran out of time)' : ''}${p.firstError ? `; first error: ${p.firstError.slice(0, 100)}` : ''}`;
  const lbMachine = (name: string) => machines.get(name)!;

  // 1. nginx killed on the active load balancer: keepalived's check fails, the VIP moves.
  // Every nginx process by name: `systemctl kill` inside these containers reaches
  // only the main PID ("Failed to send signal SIGKILL to auxiliary processes:
  // Input/output error"), and nginx's workers go on serving without their master.
  {
    const active = vipHolder()!;
    let killedAt = 0;
    const p = await probeAround({
      url: endpoint, tls, request: read,
      fault: () => { killedAt = Date.now(); mustIn(lbMachine(active), ['pkill', '--signal', 'KILL', '-x', 'nginx']); },
      settled: () => { const h = vipHolder(); return !!h && h !== active; }, maxSeconds: 60,
    });
    const now = vipHolder();
    const moved = now && now !== active ? vipTakenAt(lbMachine(now), killedAt) : undefined;
    const movedAfter = moved === undefined ? NaN : (moved - killedAt) / 1000;
    record('fault', `nginx killed on ${active} (active): VIP moves to the backup within 3 s, at most ${FAILOVER_FAILURES} requests fail`,
      !p.timedOut && !!now && now !== active && movedAfter <= 3 && p.failed <= FAILOVER_FAILURES,
      `VIP moved to ${now} ${Number.isNaN(movedAfter) ? '(time not found in its keepalived log)' : `${movedAfter.toFixed(1)} s after nginx was killed`}; ${figure(p)}`);
    const u = await probeAround({
      url: endpoint, tls, request: read, fault: () => { mustIn(lbMachine(active), ['systemctl', 'start', 'nginx.service']); },
      settled: () => vipHolder() === active, maxSeconds: 60, minAfterSeconds: 10,
    });
    record('undo', `nginx started on ${active}: VIP back on the preferred load balancer`, !u.timedOut, `VIP on ${vipHolder()}; ${figure(u)}`);
  }

  // 2. the active load balancer's container powered off (plug pulled)
  {
    const active = vipHolder()!;
    const m = lbMachine(active);
    const p = await probeAround({
      url: endpoint, tls, request: read, fault: () => m.pullPlug(),
      settled: () => { const h = vipHolder(); return !!h && h !== active; }, maxSeconds: 60,
    });
    const now = vipHolder();
    record('fault', `${active} (active load balancer) powered off: VIP moves`, !p.timedOut && !!now && now !== active, `VIP now on ${now}; ${figure(p)}`);
    await until(30, () => (m.exited ? true : undefined), 500);
    const doneMarker = join(m.merged, MARKER_DIR, 'bootstrap.done');
    const firstBootstrap = readFileSync(doneMarker, 'utf8');
    const u = await probeAround({
      url: endpoint, tls, request: read, fault: () => m.boot(),
      settled: () => vipHolder() === active, maxSeconds: 120, minAfterSeconds: 10,
    });
    record('undo', `${active} booted again: VIP back`, !u.timedOut, `VIP on ${vipHolder()}; ${figure(u)}`);
    const again = m.exec(['journalctl', '-b', '-u', 'ha-k8s-seed-bootstrap.service', '-o', 'cat', '--no-pager'], 20).stdout;
    record('undo', `${active}'s second boot ran no second bootstrap`, readFileSync(doneMarker, 'utf8') === firstBootstrap && !again.includes('step '),
      `bootstrap.done still ${firstBootstrap.trim()}; this boot's bootstrap log: ${again.replace(/\s+/g, ' ').trim().slice(0, 160) || 'empty'}`);
  }

  // 3. one apiserver stopped: nginx sends every request to the other one
  {
    const victim = cps[0]!;
    const m = machines.get(victim.name)!;
    const down = () => m.exec(['systemctl', 'is-active', 'kube-apiserver.service'], 20).stdout.trim() !== 'active'
      && m.exec(['curl', '-sk', '--max-time', '2', 'https://127.0.0.1:6443/livez'], 20).status !== 0;
    const p = await probeAround({
      url: endpoint, tls, request: read, fault: () => { mustIn(m, ['systemctl', 'stop', 'kube-apiserver.service']); }, maxSeconds: 40, minAfterSeconds: 12,
      settled: down, // probed while it really was down
    });
    record('fault', `kube-apiserver stopped on ${victim.name}: no request fails`, p.failed === 0 && !p.timedOut, figure(p));
    const u = await probeAround({
      url: endpoint, tls, request: read, fault: () => { mustIn(m, ['systemctl', 'start', 'kube-apiserver.service']); },
      settled: () => stateOf(m, 'kube-apiserver')?.etcd?.ok === true && !!stateOf(m, 'kube-apiserver')?.listening, maxSeconds: 60,
    });
    record('undo', `kube-apiserver started on ${victim.name}`, !u.timedOut && u.failed === 0, figure(u));
  }

  // 4. one etcd member stopped (the leader): writes through the apiservers continue
  {
    const leader = etcdLeader();
    const leaderHost = leader ?? etcdHosts.at(-1)!;
    const m = machines.get(leaderHost.name)!;
    const oneDown = () => {
      const r = etcdctl(['endpoint', 'health', '-w', 'json']);
      try { return (JSON.parse(r.stdout) as { health: boolean }[]).filter((e) => !e.health).length === 1; } catch { return false; }
    };
    const p = await probeAround({
      url: endpoint, tls, request: write, fault: () => { mustIn(m, ['systemctl', 'stop', 'etcd.service']); }, maxSeconds: 60, minAfterSeconds: 10,
      settled: oneDown, // probed while the member really was down
    });
    record('fault', `etcd stopped on ${leaderHost.name} (${leader ? 'the leader' : 'a member'}): writes continue`, !p.timedOut, figure(p));
    const u = await probeAround({
      url: endpoint, tls, request: write, fault: () => { mustIn(m, ['systemctl', 'start', 'etcd.service']); },
      settled: async () => !!(await etcdHealthy(1)), maxSeconds: 90,
    });
    record('undo', `etcd started on ${leaderHost.name}: every member healthy`, !u.timedOut, figure(u));
  }

  // 5. the etcd leader killed outright (no leadership hand-over): an election,
  // then systemd restarts it (Restart=always, RestartSec=5)
  {
    const leaderHost = etcdLeader();
    if (!leaderHost) record('fault', 'etcd leader killed', false, `no leader found: ${etcdctl(['endpoint', 'status']).stderr.trim().slice(0, 200)}`);
    else {
      const m = machines.get(leaderHost.name)!;
      const p = await probeAround({
        url: endpoint, tls, request: write, fault: () => { mustIn(m, ['pkill', '--signal', 'KILL', '-x', 'etcd']); }, maxSeconds: 60, minAfterSeconds: 12,
        settled: async () => !!(await etcdHealthy(1)),
      });
      record('fault', `etcd killed (SIGKILL) on ${leaderHost.name}, the leader: writes continue; systemd restarts it`, !p.timedOut, figure(p));
    }
  }

  // ---- healthy again
  const health = await etcdHealthy(60);
  record('after', 'etcd: every member healthy', !!health, health ? `${health.length} members` : '');
  const ready = await until(60, async () => {
    const r = await call(endpoint, tls, { path: '/readyz' }).catch(() => undefined);
    return r?.status === 200 ? r : undefined;
  });
  record('after', 'the VIP serves /readyz', !!ready, vipHolder() ? `VIP on ${vipHolder()}` : 'no VIP holder');
  const stored = etcdctl(['get', LAB_PROBE_KEY, '--print-value-only']).stdout;
  let n = '';
  try { n = JSON.parse(stored).data.n; } catch { /* below */ }
  record('after', 'the last write made through the VIP is in etcd', n !== '', n ? `lab-probe n=${n}` : stored.slice(0, 200));

  // ---- day two: one worker added as a spec change. `plan` must name only it, the other
  // hosts' seeds must not change, and the new host joins through the VIP.
  if (o.only) return;
  const added = { name: 'worker2', address: '10.99.0.22' };
  const spec2 = join(o.work, 'lab-day-two.yaml');
  writeFileSync(spec2, `${readFileSync(o.spec, 'utf8').trimEnd()}\n  - { name: ${added.name}, address: ${added.address}, roles: [worker] }\n`);
  const cliArgs = (command: string, ...more: string[]) => ['--import', 'tsx', join(o.repo, 'generator/cli.ts'), command, spec2, '--out', out, '--state', join(o.work, 'state'), ...more];
  const planned = sh(process.execPath, cliArgs('plan', '--json'), 120);
  let plan: { hosts: Record<string, { action: string }>; steps: { host: string; action: string }[] } | undefined;
  try { plan = JSON.parse(planned.stdout); } catch { /* recorded below */ }
  const actions = Object.entries(plan?.hosts ?? {}).map(([h, x]) => `${h} ${x.action}`);
  record('day two', `plan for ${added.name} added: it alone is created, every other host kept, exit 2`,
    planned.status === 2 && !!plan && actions.every((a) => a === `${added.name} create` || a.endsWith(' keep'))
      && plan.hosts[added.name]?.action === 'create' && plan.steps.map((st) => `${st.action} ${st.host}`).join() === `create ${added.name}`,
    plan ? `${actions.filter((a) => !a.endsWith(' keep')).join(', ')}; ${actions.filter((a) => a.endsWith(' keep')).length} kept; steps: ${plan.steps.map((st) => `${st.action} ${st.host}`).join(', ')}` : planned.stderr.slice(0, 300));
  const seedFiles = ['user-data', 'meta-data', 'network-config'];
  const seedsOf = () => Object.fromEntries(model.hosts.flatMap((h) => seedFiles.map((f) => [`${h.name}/${f}`, readFileSync(join(clusterDir, 'hosts', h.name, f), 'utf8')])));
  const seedsBefore = seedsOf();
  const t2 = Date.now();
  must(process.execPath, cliArgs('generate', '--quiet'), 180);
  const seedsAfter = seedsOf();
  const changed = Object.keys(seedsBefore).filter((k) => seedsBefore[k] !== seedsAfter[k]);
  record('day two', 'generate: every other host\'s seed byte for byte the same', changed.length === 0,
    changed.length ? `changed: ${changed.join(', ')}` : `${Object.keys(seedsBefore).length} seed files of ${model.hosts.length} hosts unchanged; generated in ${secs(Date.now() - t2)}`);
  const model2 = JSON.parse(readFileSync(join(clusterDir, 'model.json'), 'utf8')) as Cluster;
  const h2 = model2.hosts.find((h) => h.name === added.name)!;
  const m2 = new Machine(h2.name, o.work, o.root, o.bridge.name, join(o.work, 'pids'));
  machines.set(h2.name, m2);
  await m2.prepare({
    name: h2.name, iso: join(clusterDir, 'hosts', h2.name, 'cidata.iso'), mac: h2.network.macAddress, address: `${h2.address}/${h2.network.prefixLength}`,
    kubernetesVersion: model2.kubernetes.version, containerdVersion: model2.containerd.version, kubectl,
  });
  m2.boot();
  const done2 = await until(420, () => (existsSync(join(m2.merged, MARKER_DIR, 'bootstrap.done')) ? true : existsSync(join(m2.merged, MARKER_DIR, 'bootstrap.failed')) || m2.exited ? false : undefined), 2000);
  record('day two', `${added.name} booted from its cidata.iso: bootstrap.done`, done2 === true, `after ${secs(Date.now() - m2.bootedAt)}`);
  const kubelet2 = await until(120, () => { const st = stateOf(m2, 'kubelet'); return st?.connected === true && /TLS bootstrap/.test(st?.credentials ?? '') && String(st?.server ?? '').includes(`${vip}:`) ? st : undefined; }, 3000);
  record('day two', `${added.name}'s kubelet bootstrapped through the VIP`, !!kubelet2, kubelet2 ? `${kubelet2.credentials} -> ${kubelet2.server}` : JSON.stringify(stateOf(m2, 'kubelet') ?? null).slice(0, 200));
  const node2 = await until(60, () => (kc(['get', 'node', added.name]).status === 0 ? true : undefined), 3000);
  record('day two', `Node ${added.name} registered, seen through the VIP`, !!node2, node2 ? 'kubectl get node' : kc(['get', 'node', added.name]).stderr.trim().slice(0, 200));

  // ---- day two, etcd: a member replaced while writes go on, then backups and a restore (etcd-day-two.ts)
  await etcdDayTwo({
    repo: o.repo, work: o.work, root: o.root, bridge: o.bridge.name,
    spec: spec2, out, state: join(o.work, 'state'), clusterDir, machines, record, kubectl, endpoint, tls,
  });
}

/** Requests through the VIP that may fail while it moves: the ones in flight when nginx dies, and about one advert. */
const FAILOVER_FAILURES = 5;
