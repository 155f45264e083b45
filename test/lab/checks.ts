/**
 * What the boot lab's scenarios share: polling, the figures table, reading a
 * host's state off its container, and a file as its seed writes it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import { load } from 'js-yaml';
import type { Machine } from './machines.ts';

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
