/**
 * The boot lab's etcd day two, after the scenario's checks and its added
 * worker: one etcd member replaced by a new one as a spec change, the way an
 * operator does it (plan, generate, then every step `plan` prints, in order,
 * with its commands run in the named hosts), while a worker thread keeps
 * writing through the VIP; then the new member's backup timer's service run
 * past its `keep`, and its newest snapshot restored into a fresh etcd.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster, Host } from '../../generator/model/types.ts';
import type { Plan } from '../../generator/plan/plan.ts';
import type { Tls } from '../lib/https-call.ts';
import type { Ran } from '../lib/run.ts';
import { hostPrep, MARKER_DIR, secs, stateOf, until, writeFile, type Record_ } from './checks.ts';
import { Machine, must, sh } from './machines.ts';
import { LAB_PROBE_KEY, writeInBackground, writesBetween, type ProbeSample } from './probe.ts';

export interface EtcdDayTwoContext {
  /** As LabOptions has them; `bridge` is the lab bridge's name. */
  repo: string; work: string; root: string; bridge: string;
  /** The spec the lab runs now (its last generate), generate's --out and --state, and the cluster's folder in --out. */
  spec: string; out: string; state: string; clusterDir: string;
  machines: Map<string, Machine>;
  record: Record_;
  /** The real kubectl the lab puts into every root. */
  kubectl: string;
  /** The VIP's URL, and the admin's client certificate for it. */
  endpoint: string; tls: Tls;
}

/** The member replaced, and the one that takes its place: a new name at an address the lab does not use. */
const REPLACED = 'etcd3';
const ADDED = { name: 'etcd4', address: '10.99.0.14' };
const SECTION = 'etcd day two';

/** The lab's etcdctl calls with a member's health-check client certificate (what plan's commands use). */
const CERTS = ['--cacert=/etc/kubernetes/pki/etcd/ca.crt', '--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt', '--key=/etc/kubernetes/pki/etcd/healthcheck-client.key'];
const etcdctlIn = (m: Machine, endpoints: string, args: string[]) => m.exec(['etcdctl', `--endpoints=${endpoints}`, ...CERTS, '--dial-timeout=3s', '--command-timeout=10s', ...args], 30);

/** `etcdctl member list` as its table prints it: ID, status, name, peer URLs, client URLs. */
function memberList(r: Ran) {
  return r.stdout.split('\n').filter(Boolean).map((l) => {
    const [id, status, name, peerUrls, clientUrls] = l.split(', ');
    return { id: id!, status: status!, name: name!, peerUrls: peerUrls!, clientUrls: clientUrls! };
  });
}

/** `etcdctl endpoint status` as it prints it: endpoint, ID, version, DB size, is leader, ... */
function endpointStatus(r: Ran) {
  return r.stdout.split('\n').filter(Boolean).map((l) => {
    const [endpoint, id, , , isLeader] = l.split(', ');
    return { endpoint: endpoint!, id: id!, leader: isLeader === 'true' };
  });
}


export async function etcdDayTwo(ctx: EtcdDayTwoContext): Promise<void> {
  const { machines, record } = ctx;
  const cli = (command: string, spec: string, ...more: string[]) => [
    '--import', 'tsx', join(ctx.repo, 'generator/cli.ts'), command, spec, '--out', ctx.out, '--state', ctx.state, ...more];
  const { clusterDir } = ctx;
  const before = JSON.parse(readFileSync(join(clusterDir, 'model.json'), 'utf8')) as Cluster;

  // ---- the spec change: etcd3's line becomes etcd4's
  const spec = join(ctx.work, 'lab-etcd-replaced.yaml');
  const text = readFileSync(ctx.spec, 'utf8');
  const line = new RegExp(`^(\\s*- \\{ name: )${REPLACED},(\\s*)address: [0-9.]+,`, 'm');
  if (!line.test(text)) throw new Error(`${ctx.spec} has no line for ${REPLACED}`);
  writeFileSync(spec, text.replace(line, `$1${ADDED.name},$2address: ${ADDED.address},`));

  const planned = sh(process.execPath, cli('plan', spec, '--json'), 120);
  let plan: Plan | undefined;
  try { plan = JSON.parse(planned.stdout) as Plan; } catch { /* recorded below */ }
  const changes = Object.entries(plan?.hosts ?? {}).filter(([, h]) => h.action !== 'keep').map(([name, h]) => `${h.action} ${name}`).sort();
  const cps = before.hosts.filter((h) => h.roles.includes('control-plane')).map((h) => h.name);
  const expectedChanges = [`create ${ADDED.name}`, ...cps.map((c) => `reprovision ${c}`), `remove ${REPLACED}`].sort();
  const expectedSteps = [`create ${ADDED.name}`, ...cps.map((c) => `reprovision ${c}`), `remove ${REPLACED}`];
  const steps = (plan?.steps ?? []).map((s) => `${s.action} ${s.host}`);
  const cpReasons = cps.map((c) => plan?.hosts[c]?.reasons ?? []);
  record(SECTION, `plan for ${REPLACED} replaced by ${ADDED.name}: ${ADDED.name} created, the control planes re-provisioned for --etcd-servers, ${REPLACED} removed last, exit 2`,
    planned.status === 2 && !!plan && changes.join() === expectedChanges.join() && steps.join() === expectedSteps.join()
      && cpReasons.every((r) => r.length === 1 && r[0]!.includes('--etcd-servers') && r[0]!.includes(ADDED.address) && r[0]!.includes(`- https://${before.hosts.find((h) => h.name === REPLACED)!.address}:`)),
    plan ? `${changes.join(', ')}; steps: ${steps.join(', ')}; ${cps.map((c, i) => `${c}: ${cpReasons[i]!.join(' | ')}`).join('; ')}` : planned.stderr.slice(0, 300));
  if (!plan) return;

  const seedFiles = ['user-data', 'meta-data', 'network-config'];
  const kept = Object.entries(plan.hosts).filter(([, h]) => h.action === 'keep').map(([name]) => name);
  const seedsOf = () => Object.fromEntries(kept.flatMap((h) => seedFiles.map((f) => [`${h}/${f}`, readFileSync(join(clusterDir, 'hosts', h, f), 'utf8')])));
  const seedsBefore = seedsOf();
  must(process.execPath, cli('generate', spec, '--quiet'), 180);
  const seedsAfter = seedsOf();
  const changed = Object.keys(seedsBefore).filter((k) => seedsBefore[k] !== seedsAfter[k]);
  record(SECTION, 'generate: the kept hosts\' seeds byte for byte the same', changed.length === 0,
    changed.length ? `changed: ${changed.join(', ')}` : `${kept.join(', ')}: ${Object.keys(seedsBefore).length} seed files unchanged`);
  const model = JSON.parse(readFileSync(join(clusterDir, 'model.json'), 'utf8')) as Cluster;

  // ---- the printed steps, in order, with writes going on through the VIP
  const probe = writeInBackground(ctx.endpoint, ctx.tls);
  const spans: { title: string; from: number; to: number; ok: boolean; notes: string[] }[] = [];
  let results: ProbeSample[] = [];
  try {
    for (const step of plan.steps) {
      const from = Date.now();
      const notes: string[] = [];
      let ok = true;
      for (const command of step.commands) {
        console.log(`lab: ${SECTION}: ${step.title}: ${command.length > 160 ? `${command.slice(0, 100)} ... ${command.slice(-50)}` : command}`);
        const r = await follow(command, ctx, model, clusterDir);
        if (r.note) notes.push(r.note);
        if (!r.ok) { ok = false; notes.push(`FAILED: ${command.slice(0, 120)}: ${r.detail.slice(0, 300)}`); break; }
      }
      spans.push({ title: step.title, from, to: Date.now(), ok, notes });
      if (!ok) break;
    }
  } finally {
    results = await probe.stop();
  }
  for (const s of spans) {
    const w = writesBetween(results, s.from, s.to);
    record(SECTION, `step: ${s.title}: its commands done, writes through the VIP succeeding at its end`, s.ok && w.writes > 0 && w.lastOk,
      `${w.writes} writes, ${w.failed} failed${w.failed ? ` (failing for ${secs(w.failingMs)}; first: ${w.firstError?.slice(0, 100)})` : ''}, slowest ${w.slowestMs} ms; step took ${secs(s.to - s.from)}${s.notes.length ? `; ${s.notes.join('; ')}` : ''}`);
  }
  if (spans.length !== plan.steps.length || spans.some((s) => !s.ok)) return;

  // ---- etcd is cp1, cp2 and etcd4, healthy, with the last write
  const members = model.etcd.members;
  const from = machines.get(cps[0]!)!;
  const all = members.map((m) => m.clientUrl).join(',');
  const list = memberList(etcdctlIn(from, all, ['member', 'list']));
  const health = etcdctlIn(from, all, ['endpoint', 'health']);
  record(SECTION, `etcd: members ${members.map((m) => m.name).join(', ')}, all started and healthy`,
    list.map((m) => `${m.name} ${m.status}`).sort().join() === members.map((m) => `${m.name} started`).sort().join() && health.status === 0,
    `${list.map((m) => `${m.name} ${m.status}`).join(', ')}; ${(health.stdout + health.stderr).split('\n').filter(Boolean).map((l) => l.replace(/ is healthy: successfully committed proposal: took = /, ' ')).join(', ').slice(0, 300)}`);
  const lastOk = results.filter((r) => r.ok).at(-1)?.n;
  const lastTried = results.at(-1)?.n;
  const stored = etcdctlIn(from, members.find((m) => m.name === ADDED.name)!.clientUrl, ['get', LAB_PROBE_KEY, '--print-value-only']).stdout;
  let storedN: number | undefined;
  try { storedN = Number(JSON.parse(stored).data.n); } catch { /* below */ }
  // A write that failed on the way back may still have been committed: stored is the last acknowledged one or later.
  record(SECTION, `the probe's last acknowledged write is in etcd (read from ${ADDED.name})`,
    lastOk !== undefined && storedN !== undefined && storedN >= lastOk && storedN <= lastTried!,
    `${results.length} writes in all, ${results.filter((r) => !r.ok).length} failed; last acknowledged n=${lastOk}, stored n=${storedN ?? stored.slice(0, 100)}`);
  for (const cp of cps) {
    const m = machines.get(cp)!;
    const unit = readFileSync(join(m.merged, 'etc/systemd/system/kube-apiserver.service'), 'utf8');
    const servers = unit.match(/--etcd-servers=(\S+)/)?.[1] ?? '';
    const apiserver = stateOf(m, 'kube-apiserver');
    record(SECTION, `${cp}'s apiserver writes to etcd with --etcd-servers naming ${ADDED.name}, not ${REPLACED}`,
      apiserver?.etcd?.ok === true && servers === all, `--etcd-servers=${servers}; etcd writes: ${apiserver?.etcd?.writes ?? 0}`);
  }

  await backups(ctx, model, storedN);
}

/**
 * One command of a plan step, run where it says: `ssh <host> sudo etcdctl ...`
 * in that host's container (the member IDs filled in from `member list`, as
 * the operator reads them), kubectl from here, and the VM's own words (boot,
 * replace, wait for the marker, power off) done to the containers.
 */
async function follow(command: string, ctx: EtcdDayTwoContext, model: Cluster, clusterDir: string): Promise<{ ok: boolean; detail: string; note?: string }> {
  const [run, comment = ''] = command.split(/\s{2,}# /);
  const machine = (name: string) => {
    const m = ctx.machines.get(name);
    if (!m) throw new Error(`plan names ${name}, which the lab has not booted`);
    return m;
  };
  let m: RegExpMatchArray | null;
  const ran = (r: Ran, note?: string) => ({ ok: r.status === 0, detail: (r.stderr || r.stdout).trim(), note });

  if ((m = run!.match(/^ssh (\S+) sudo (etcdctl .*)$/))) {
    const host = machine(m[1]!);
    const args = m[2]!.split(' ');
    // etcdctl and its flags, before the command: to read `member list` with, as the operator does for the IDs
    const prefix = args.slice(0, args.findIndex((a, i) => i > 0 && !a.startsWith('--')));
    const members = () => memberList(host.exec([...prefix, 'member', 'list'], 30));
    if (args.includes('health')) {
      // run until the new or returning member is healthy
      const t = Date.now();
      const r = await until(180, () => { const x = host.exec(args, 30); return x.status === 0 ? x : undefined; }, 2000) ?? host.exec(args, 30);
      return ran(r, r.status === 0 ? `endpoint health --cluster ok after ${secs(Date.now() - t)}` : undefined);
    }
    const named = m[2]!.match(/<ID of ([^>]+)>/);
    if (named) {
      const id = members().find((x) => x.name === named[1])?.id;
      if (!id) return { ok: false, detail: `no member ${named[1]} in member list` };
      return ran(host.exec(m[2]!.replace(named[0], id).split(' '), 30), `member remove ${id} (${named[1]})`);
    }
    const r = host.exec(args, 30);
    if (!comment.includes('IS LEADER')) return ran(r);
    // "endpoint status --cluster    # if <member> IS LEADER: ssh <host> sudo etcdctl ... move-leader <ID of another member>"
    const leaving = comment.match(/^if (\S+) IS LEADER: ssh (\S+) sudo (etcdctl .*)$/);
    if (!leaving || r.status !== 0) return { ok: false, detail: `${r.stderr} (comment: ${comment})` };
    const list = members();
    const leaver = list.find((x) => x.name === leaving[1]);
    const leader = endpointStatus(r).find((e) => e.leader);
    if (!leaver || !leader) return { ok: false, detail: `no ${leaving[1]} in member list, or no leader in: ${r.stdout}` };
    if (leader.id !== leaver.id) return { ok: true, detail: '', note: `${leaving[1]} does not lead (${list.find((x) => x.id === leader.id)?.name} does): no move-leader` };
    const another = list.find((x) => x.id !== leaver.id && x.status === 'started')!;
    const move = leaving[3]!.replace('<ID of another member>', another.id).split(' ');
    return ran(machine(leaving[2]!).exec(move, 30), `${leaving[1]} led: move-leader to ${another.name}`);
  }
  if ((m = run!.match(/^kubectl (.*)$/))) {
    const args = m[1]!.split(' ');
    if (comment === 'until it prints ok') {
      const t = Date.now();
      const r = await until(180, () => { const x = sh(ctx.kubectl, args, 30); return x.status === 0 && x.stdout.trim() === 'ok' ? x : undefined; }, 1000) ?? sh(ctx.kubectl, args, 30);
      return ran(r, r.status === 0 ? `${args.find((a) => a.startsWith('--server='))?.slice(9)} /readyz ok after ${secs(Date.now() - t)}` : undefined);
    }
    // The kubelet stand-in reports no Ready condition: a Node that is there is what the lab can check.
    return ran(sh(ctx.kubectl, args, 90));
  }
  if ((m = run!.match(/^sleep (\d+)s$/))) {
    await sleep(Number(m[1]) * 1000);
    return { ok: true, detail: '' };
  }
  if ((m = run!.match(/^boot a new VM for (\S+) from the golden image with hosts\/\S+\/cidata\.iso/))) {
    const h = model.hosts.find((x) => x.name === m![1])!;
    const vm = new Machine(h.name, ctx.work, ctx.root, ctx.bridge, join(ctx.work, 'pids'));
    ctx.machines.set(h.name, vm);
    await vm.prepare(hostPrep(model, clusterDir, h, ctx.kubectl));
    vm.boot();
    return { ok: true, detail: '' };
  }
  if ((m = run!.match(/^replace (\S+)'s VM from the golden image with hosts\/\S+\/cidata\.iso, keeping its etcd data \((\S+), on its own disk\)$/))) {
    const h = model.hosts.find((x) => x.name === m![1])!;
    const vm = machine(h.name);
    const t = Date.now();
    await vm.powerOff(30);
    const down = Date.now() - t;
    // The container's one disk is new; etcd's data comes along, as from the disk of its own a VM keeps.
    const data = m[2]!;
    await vm.freshDisk(hostPrep(model, clusterDir, h, ctx.kubectl), [data]);
    vm.boot();
    return { ok: true, detail: '', note: `${h.name} powered off in ${secs(down)}, booted on a fresh disk with ${data} kept` };
  }
  if ((m = run!.match(/^ssh (\S+) cat (\S+)$/)) && comment.startsWith('wait until it exists')) {
    const vm = machine(m[1]!);
    const marker = join(vm.merged, m[2]!);
    const failed = join(vm.merged, MARKER_DIR, 'bootstrap.failed');
    const done = await until(420, () => (existsSync(marker) ? true : existsSync(failed) || vm.exited ? false : undefined), 2000);
    return done
      ? { ok: true, detail: '', note: `${vm.name} bootstrap.done ${secs(Date.now() - vm.bootedAt)} after boot` }
      : { ok: false, detail: existsSync(failed) ? `bootstrap.failed: ${readFileSync(failed, 'utf8').trim()}` : vm.exited ? 'the container exited' : 'no bootstrap.done in 420 s' };
  }
  if ((m = run!.match(/^power off and delete (\S+)'s VM$/))) {
    await machine(m[1]!).powerOff(30);
    return { ok: true, detail: '' };
  }
  return { ok: false, detail: `the lab does not know how to follow this step: ${command}` };
}

/**
 * etcd backups on the new member: its timer is enabled, its service run
 * `keep` + 1 times (the snapshots' names carry the second), the newest `keep`
 * kept with private modes; the newest restored, with the README's
 * `snapshot restore`, into a fresh single etcd on the member's loopback.
 */
async function backups(ctx: EtcdDayTwoContext, model: Cluster, lastWrite: number | undefined): Promise<void> {
  const { record } = ctx;
  const backup = model.etcd.backup;
  const vm = ctx.machines.get(ADDED.name)!;
  if (!backup) { record('etcd backup', 'snapshots', null, 'skipped: etcd.backup is off in the lab spec'); return; }
  const timer = writeFile(ctx.clusterDir, ADDED.name, '/etc/systemd/system/etcd-backup.timer');
  const enabled = vm.exec(['systemctl', 'is-enabled', 'etcd-backup.timer'], 20).stdout.trim();
  const active = vm.exec(['systemctl', 'is-active', 'etcd-backup.timer'], 20).stdout.trim();
  const next = vm.exec(['systemctl', 'show', 'etcd-backup.timer', '-p', 'NextElapseUSecRealtime', '--value'], 20).stdout.trim();
  record('etcd backup', `${ADDED.name}: etcd-backup.timer enabled and waiting (${timer.match(/^OnCalendar=(.*)$/m)?.[1]})`, enabled === 'enabled' && active === 'active', `${enabled}, ${active}; next run ${next || 'unknown'}`);

  const runs = backup.keep + 1;
  let failed = 0;
  const t = Date.now();
  for (let i = 0; i < runs; i++) {
    if (vm.exec(['systemctl', 'start', 'etcd-backup.service'], 120).status !== 0) failed++;
    // systemd refuses a sixth start within 10 s (StartLimitBurst=5, StartLimitIntervalSec=10s, its defaults),
    // and a snapshot's name carries its second: one start every 2.5 s.
    await sleep(2500);
  }
  const saved = vm.exec(['journalctl', '-u', 'etcd-backup.service', '-o', 'cat', '--no-pager'], 20).stdout.split('\n').filter((l) => l.startsWith('etcd-backup: saved '));
  const listing = vm.exec(['sh', '-c', `stat -c '%a %s %n' ${backup.directory} ${backup.directory}/*`], 20).stdout.trim().split('\n').map((l) => l.split(' '));
  const [dir, ...files] = listing;
  const snapshots = files.filter((f) => new RegExp(`/etcd-${ADDED.name}-\\d{8}T\\d{6}Z\\.db$`).test(f[2] ?? ''));
  const newest = snapshots.map((f) => f[2]!).sort().at(-1);
  record('etcd backup', `etcd-backup.service started ${runs} times: the newest ${backup.keep} kept, 0700 folder, 0600 files`,
    failed === 0 && saved.length === runs && snapshots.length === backup.keep && files.length === backup.keep && dir?.[0] === '700' && snapshots.every((f) => f[0] === '600'),
    `${runs} starts, ${failed} failed, ${saved.length} saved in ${secs(Date.now() - t)}; ${files.length} files in ${backup.directory} (${dir?.[0]}): modes ${[...new Set(files.map((f) => f[0]))].join(',')}, newest ${newest?.split('/').pop()} ${Number(snapshots.find((f) => f[2] === newest)?.[1] ?? 0).toLocaleString('en')} bytes; last log: ${saved.at(-1)?.replace(/^etcd-backup: /, '') ?? 'none'}`);
  if (!newest) return;

  // The restore procedure (README "etcd backups"), into one fresh member on loopback beside the running one.
  const restored = { name: 'restore-check', data: '/var/lib/etcd-restore-check', client: 'http://127.0.0.1:12379', peer: 'http://127.0.0.1:12380' };
  const steps: [string, string[]][] = [
    ['copy', ['cp', newest, '/root/restore.db']],
    // Debian's etcd 3.4 has etcdutl's `snapshot status`/`restore` as etcdctl's
    ['status', ['etcdctl', 'snapshot', 'status', '/root/restore.db', '-w', 'table']],
    ['restore', ['etcdctl', 'snapshot', 'restore', '/root/restore.db', '--name', restored.name, '--initial-cluster', `${restored.name}=${restored.peer}`,
      '--initial-cluster-token', model.etcd.initialClusterToken, '--initial-advertise-peer-urls', restored.peer, '--data-dir', restored.data]],
    ['start', ['systemd-run', `--unit=${restored.name}`, 'etcd', '--name', restored.name, '--data-dir', restored.data,
      '--listen-client-urls', restored.client, '--advertise-client-urls', restored.client, '--listen-peer-urls', restored.peer, '--initial-advertise-peer-urls', restored.peer]],
  ];
  const out: string[] = [];
  for (const [what, args] of steps) {
    const r = vm.exec(args, 60);
    if (r.status !== 0) { record('etcd backup', 'the newest snapshot restores into a fresh etcd', false, `${what}: ${(r.stderr || r.stdout).trim().slice(0, 300)}`); return; }
    if (what === 'status') out.push(r.stdout.trim().split('\n').slice(-2, -1)[0]?.replace(/\s+/g, ' ') ?? '');
  }
  try {
    const local = (args: string[]) => vm.exec(['etcdctl', `--endpoints=${restored.client}`, '--dial-timeout=3s', ...args], 30);
    const healthy = await until(60, () => (local(['endpoint', 'health']).status === 0 ? true : undefined), 1000);
    const value = local(['get', LAB_PROBE_KEY, '--print-value-only']).stdout;
    let n: number | undefined;
    try { n = Number(JSON.parse(value).data.n); } catch { /* below */ }
    const token = local(['get', '--prefix', '--keys-only', '/registry/secrets/kube-system/bootstrap-token-']).stdout.split('\n').filter(Boolean)[0];
    const restoredMembers = local(['member', 'list']).stdout.split('\n').filter(Boolean);
    record('etcd backup', `the newest snapshot restored into a fresh single etcd holds the probe's last write and the bootstrap-token Secret`,
      !!healthy && n !== undefined && n === lastWrite && !!token && restoredMembers.length === 1,
      `snapshot ${out.join(' ')}; ${restoredMembers.length} member; lab-probe n=${n ?? value.slice(0, 80)} (in the cluster: ${lastWrite}); ${token ?? 'no bootstrap-token Secret'}`);
  } finally {
    vm.exec(['systemctl', 'stop', restored.name], 30);
  }
}
