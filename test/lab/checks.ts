/**
 * What the boot lab's scenarios share: the run around them (records, the
 * figures table, teardown), booting hosts and waiting for their bootstrap and
 * stand-ins, polling, reading a host's state off its container, and a file as
 * its seed writes it.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import { load } from 'js-yaml';
import type { Cluster } from '../../generator/model/types.ts';
import { Machine, type HostPrep } from './machines.ts';

export const MARKER_DIR = '/var/lib/ha-k8s-seed';
export const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export interface Row { section: string; check: string; ok: boolean | null; figure: string }

/** Records one check (ok null: a figure, no verdict) and prints it as it happens. */
export type Record_ = (section: string, check: string, ok: boolean | null, figure?: string) => void;

export function printFigures(rows: Row[]) {
  const w = (k: keyof Row) => Math.min(60, Math.max(...rows.map((r) => String(r[k]).length), 6));
  const ws = { section: w('section'), check: w('check') };
  console.log('\n=== boot lab figures ===');
  console.log(`${'section'.padEnd(ws.section)}  ${'check'.padEnd(ws.check)}  result  figure`);
  for (const r of rows) {
    console.log(`${r.section.padEnd(ws.section)}  ${r.check.padEnd(ws.check)}  ${(r.ok === null ? 'info' : r.ok ? 'ok' : 'FAIL').padEnd(6)}  ${r.figure}`);
  }
  console.log('');
}

/** Polls `fn` until it gives a value, or `seconds` run out (undefined). */
export async function until<T>(seconds: number, fn: () => T | undefined | Promise<T | undefined>, everyMs = 1000): Promise<T | undefined> {
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    const v = await fn();
    if (v !== undefined) return v;
    await sleep(everyMs);
  }
  return undefined;
}

/** What a Kubernetes stand-in on `m` last reported about itself (/run/kube-standin/<component>.json). */
export function stateOf(m: Machine, component: string): any {
  const r = m.exec(['cat', `/run/kube-standin/${component}.json`], 20);
  try { return r.status === 0 ? JSON.parse(r.stdout) : undefined; } catch { return undefined; }
}

/**
 * When the load balancer `m` took the VIP (keepalived's "Entering MASTER
 * STATE") after `since`, in ms since the epoch; the containers share the
 * host's clock.
 */
export function vipTakenAt(m: Machine, since: number): number | undefined {
  const log = m.exec(['journalctl', '-u', 'keepalived.service', '-o', 'short-unix', '--no-pager', '--since', `@${Math.floor(since / 1000)}`], 20).stdout;
  const line = log.split('\n').find((l) => l.includes('Entering MASTER STATE') && Number(l.split(' ')[0]) * 1000 >= since);
  return line ? Number(line.split(' ')[0]) * 1000 : undefined;
}

/** A command in a container that must succeed (the fault must really happen). */
export function mustIn(m: Machine, args: string[]): string {
  const r = m.exec(args, 60);
  if (r.status !== 0) throw new Error(`${m.name}: ${args.join(' ')} exited ${r.status}: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

/** A file a host's user-data writes (write_files), as rendered into its seed; gz+b64 decoded as cloud-init does. */
export function writeFile(clusterDir: string, host: string, path: string): string {
  const doc = load(readFileSync(join(clusterDir, 'hosts', host, 'user-data'), 'utf8')) as { write_files?: { path: string; content: string; encoding?: string }[] };
  const f = doc.write_files?.find((w) => w.path === path);
  if (!f) throw new Error(`${host}'s user-data writes no ${path}`);
  return f.encoding === 'gz+b64' ? gunzipSync(Buffer.from(f.content, 'base64')).toString('utf8') : f.content;
}

/**
 * Runs a scenario with its records printed as they happen (`<label>: ok ...`),
 * powers every container off on any exit or signal, prints the figures
 * table and writes result.json for run.ts's closing line.
 */
export async function runHarness(o: { work: string; holdSeconds?: number }, label: string, play: (machines: Map<string, Machine>, record: Record_) => Promise<void>): Promise<number> {
  const rows: Row[] = [];
  const record = (section: string, check: string, ok: boolean | null, figure = '') => {
    rows.push({ section, check, ok, figure });
    console.log(`${label}: ${ok === null ? 'INFO' : ok ? 'ok  ' : 'FAIL'} ${section}: ${check}${figure ? ` — ${figure}` : ''}`);
  };
  const machines = new Map<string, Machine>();
  let tornDown = false;
  const teardown = async () => {
    if (tornDown) return;
    tornDown = true;
    console.log(`${label}: powering off ${machines.size} containers`);
    await Promise.all([...machines.values()].map((m) => m.powerOff(20)));
    for (const m of machines.values()) m.unmount();
  };
  const onSignal = (sig: NodeJS.Signals) => {
    console.error(`${label}: ${sig} inside the namespace: tearing down`);
    void teardown().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    await play(machines, record);
  } catch (e) {
    record(label, 'ran to the end', false, (e as Error).stack?.split('\n').slice(0, 4).join(' | ') ?? String(e));
  } finally {
    if (o.holdSeconds) {
      console.log(`${label}: holding the containers for ${o.holdSeconds} s: ${[...machines.values()].map((m) => `${m.name} nsenter -t ${m.init()} -a`).join('; ')}`);
      await sleep(o.holdSeconds * 1000);
    }
    await teardown();
  }
  printFigures(rows);
  const failed = rows.filter((r) => r.ok === false).length;
  const passed = rows.filter((r) => r.ok === true).length;
  // run.ts prints the closing "N passed, N failed" line after the teardown
  writeFileSync(join(o.work, 'result.json'), JSON.stringify({ passed, failed }));
  return failed ? 1 : 0;
}

type Host = Cluster['hosts'][number];

/** What Machine.prepare needs for host `h` of the generated cluster. */
export function hostPrep(model: Cluster, clusterDir: string, h: Host, kubectl: string): HostPrep {
  return {
    name: h.name, iso: join(clusterDir, 'hosts', h.name, 'cidata.iso'), mac: h.network.macAddress, address: `${h.address}/${h.network.prefixLength}`,
    kubernetesVersion: model.kubernetes.version, containerdVersion: model.containerd.version, kubectl,
  };
}

/** One container per host of the generated cluster, prepared from its ISO and booted (1.5 s apart). */
export async function bootHosts(lab: { work: string; root: string; bridge: { name: string } }, model: Cluster, clusterDir: string, hosts: readonly Host[], machines: Map<string, Machine>, kubectl: string): Promise<Machine[]> {
  const pidDir = join(lab.work, 'pids');
  mkdirSync(pidDir, { recursive: true });
  const booted: Machine[] = [];
  for (const h of hosts) {
    const m = new Machine(h.name, lab.work, lab.root, lab.bridge.name, pidDir);
    machines.set(h.name, m);
    await m.prepare(hostPrep(model, clusterDir, h, kubectl));
    booted.push(m);
  }
  console.log(`lab: booting ${hosts.map((h) => h.name).join(', ')}`);
  for (const m of booted) { m.boot(); await sleep(1500); }
  return booted;
}

/** cloud-init and the bootstrap on each of `ms`: both recorded per host, with why when it failed. */
export async function awaitBootstrap(ms: readonly Machine[], record: Record_): Promise<boolean> {
  const bootFigures = await Promise.all(ms.map(async (m) => {
    const result = join(m.merged, 'var/lib/cloud/data/result.json');
    const ci = await until(420, () => (existsSync(result) ? true : m.exited ? false : undefined), 2000);
    const ciAt = Date.now();
    const status = m.exec(['cloud-init', 'status', '--long'], 60);
    const done = join(m.merged, MARKER_DIR, 'bootstrap.done');
    const failed = join(m.merged, MARKER_DIR, 'bootstrap.failed');
    const marker = ci ? await until(420, () => (existsSync(done) ? 'done' : existsSync(failed) ? 'failed' : m.exited ? 'exited' : undefined), 2000) : undefined;
    return { m, ci: !!ci, ciSeconds: (ciAt - m.bootedAt) / 1000, status, marker, markerSeconds: (Date.now() - m.bootedAt) / 1000 };
  }));
  for (const b of bootFigures) {
    const statusLine = b.status.stdout.match(/^status: (.*)$/m)?.[1] ?? 'unknown';
    const logFile = join(b.m.merged, 'var/log/cloud-init.log');
    const warnings = existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').filter((l) => /\[(WARNING|ERROR)\]/.test(l)) : [];
    const errors = b.status.stdout.match(/^errors?:[\s\S]*$/m)?.[0]?.trim();
    record(`host ${b.m.name}`, 'cloud-init status: done, no errors', b.ci && statusLine === 'done' && b.status.status === 0,
      b.ci ? `${statusLine} after ${b.ciSeconds.toFixed(0)} s, ${warnings.length} WARNING/ERROR lines in cloud-init.log${warnings.length ? ` (first: ${warnings[0]!.slice(0, 160)})` : ''}${b.status.status !== 0 ? ` (exit ${b.status.status}) ${(errors ?? b.status.stderr).replace(/\s+/g, ' ').slice(0, 300)}` : ''}` : 'cloud-init never finished');
    const ok = b.marker === 'done';
    let why = '';
    if (!ok) {
      const step = existsSync(join(b.m.merged, MARKER_DIR, 'bootstrap.failed')) ? readFileSync(join(b.m.merged, MARKER_DIR, 'bootstrap.failed'), 'utf8').trim() : '';
      const journal = b.m.exec(['journalctl', '-u', 'ha-k8s-seed-bootstrap.service', '--no-pager', '-n', '15', '-o', 'cat'], 30).stdout;
      const failedUnits = b.m.exec(['systemctl', '--failed', '--no-legend', '--plain'], 30).stdout.trim();
      why = `${b.marker ?? 'no marker'}${step ? ` at step ${step}` : ''}; failed units: ${failedUnits || 'none'}; bootstrap log: ${journal.replace(/\s+/g, ' ').slice(-600)}`;
    }
    record(`host ${b.m.name}`, `bootstrap marker ${MARKER_DIR}/bootstrap.done`, ok, ok ? `after ${b.markerSeconds.toFixed(0)} s` : why);
  }
  return bootFigures.every((b) => b.marker === 'done');
}

/** Every Kubernetes stand-in of `hosts` connected (they retry, as the real ones do), recorded per component. */
export async function awaitStandins(hosts: readonly Host[], machines: Map<string, Machine>, record: Record_): Promise<void> {
  const has = (role: string) => (h: { roles: readonly string[] }) => h.roles.includes(role);
  const expectations: [string, string, (s: any) => boolean][] = [];
  for (const h of hosts) {
    if (has('control-plane')(h)) {
      expectations.push([h.name, 'kube-apiserver', (s) => s?.etcd?.ok === true]);
      expectations.push([h.name, 'kube-controller-manager', (s) => s?.connected === true]);
      expectations.push([h.name, 'kube-scheduler', (s) => s?.connected === true]);
    }
    if (has('control-plane')(h) || has('worker')(h)) {
      expectations.push([h.name, 'kubelet', (s) => s?.connected === true && /system:node:.*TLS bootstrap/.test(s?.credentials ?? '')]);
      expectations.push([h.name, 'kube-proxy', (s) => s?.connected === true]);
    }
  }
  await Promise.all(expectations.map(async ([host, component, ok]) => {
    const m = machines.get(host)!;
    const t = Date.now();
    const s = await until(120, () => { const st = stateOf(m, component); return ok(st) ? st : undefined; }, 3000);
    const last = s ?? stateOf(m, component);
    const unit = s ? '' : m.exec(['systemctl', 'status', '--no-pager', '-n', '6', `${component}.service`], 20).stdout.replace(/\s+/g, ' ').slice(-500);
    const detail = component === 'kube-apiserver' ? `etcd writes: ${last?.etcd?.writes ?? 0}` : `${last?.credentials ?? ''} -> ${last?.server ?? ''}`;
    const what = { 'kube-apiserver': 'writes to etcd', kubelet: 'bootstrapped its client certificate (CSR) and calls with it' }[component] ?? 'reached its apiserver';
    record(`host ${host}`, `${component} stand-in ${what}`, !!s,
      s ? `${detail} (waited ${secs(Date.now() - t)})` : `${JSON.stringify(last ?? null).slice(0, 200)} ${unit}`);
  }));
}
