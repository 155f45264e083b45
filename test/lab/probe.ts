/**
 * Bounded probe loops for the boot lab's faults: one HTTPS request at a time
 * through the VIP, each on a new connection (so nginx picks a backend each
 * time), counting failures and measuring the time to recovery.
 */
import { Worker } from 'node:worker_threads';
import { call, type Call, type Tls } from '../lib/https-call.ts';

export interface ProbeFigures {
  requests: number;
  failed: number;
  /** Seconds from the fault to the first success after the last failure; 0 when nothing failed. */
  recoverySeconds: number;
  /** Seconds the probe ran for after the fault. */
  observedSeconds: number;
  /** The slowest request after the fault, in milliseconds. */
  slowestMs: number;
  firstError?: string;
}

/**
 * Runs `fault` while requests go on; then keeps probing until `settled()` is
 * true and at least `minAfterSeconds` have passed with `okStreak` successes in
 * a row, or `maxSeconds` run out (then `timedOut` is set).
 */
export async function probeAround(opts: {
  url: string; tls: Tls; request: (n: number) => Call; ok?: (status: number) => boolean;
  intervalMs?: number; leadSeconds?: number; minAfterSeconds?: number; maxSeconds?: number; okStreak?: number;
  fault: () => Promise<void> | void; settled?: () => Promise<boolean> | boolean;
}): Promise<ProbeFigures & { timedOut: boolean }> {
  const { url, tls, intervalMs = 200, leadSeconds = 2, minAfterSeconds = 8, maxSeconds = 90, okStreak = 10 } = opts;
  const ok = opts.ok ?? ((s: number) => s >= 200 && s < 300);
  const results: { t: number; ms: number; ok: boolean; error?: string }[] = [];
  let n = 0;
  let faultAt = 0;
  const once = async () => {
    const t = Date.now();
    try {
      const r = await call(url, tls, opts.request(n++));
      results.push({ t, ms: Date.now() - t, ok: ok(r.status), error: ok(r.status) ? undefined : `HTTP ${r.status} ${r.body.slice(0, 120)}` });
    } catch (e) { results.push({ t, ms: Date.now() - t, ok: false, error: (e as Error).message }); }
    const wait = intervalMs - (Date.now() - t);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  };
  const leadEnd = Date.now() + leadSeconds * 1000;
  while (Date.now() < leadEnd) await once();
  faultAt = Date.now();
  const faultDone = Promise.resolve(opts.fault());
  let timedOut = true;
  while (Date.now() - faultAt < maxSeconds * 1000) {
    await once();
    const after = results.filter((r) => r.t >= faultAt);
    const tail = after.slice(-okStreak);
    if (Date.now() - faultAt >= minAfterSeconds * 1000 && tail.length === okStreak && tail.every((r) => r.ok) && (!opts.settled || await opts.settled())) {
      timedOut = false;
      break;
    }
  }
  await faultDone;
  const after = results.filter((r) => r.t >= faultAt);
  const lastFail = after.map((r) => r.ok).lastIndexOf(false);
  const recovered = lastFail >= 0 ? after.slice(lastFail + 1).find((r) => r.ok) : undefined;
  return {
    requests: results.length,
    failed: results.filter((r) => !r.ok).length,
    recoverySeconds: lastFail < 0 ? 0 : recovered ? (recovered.t - faultAt) / 1000 : NaN,
    observedSeconds: (Date.now() - faultAt) / 1000,
    slowestMs: Math.max(0, ...after.map((r) => r.ms)),
    firstError: results.find((r) => !r.ok)?.error,
    timedOut,
  };
}

/**
 * The lab's write: a server-side apply of ConfigMap default/lab-probe holding
 * the counter `n` (stored by the apiserver stand-in at LAB_PROBE_KEY).
 */
export const labProbeWrite = (n: number): Call => ({
  method: 'PATCH', path: '/api/v1/namespaces/default/configmaps/lab-probe?fieldManager=lab&force=true', contentType: 'application/apply-patch+yaml',
  body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'lab-probe', namespace: 'default' }, data: { n: String(n), at: new Date().toISOString() } },
});
export const LAB_PROBE_KEY = '/registry/configmaps/default/lab-probe';

/** Where a probe in a worker thread sends its requests: a name for the figures and the API's URL. */
export interface ProbeTarget { name: string; url: string }
/** One request: `n` its number (a write stores it), `t` when it started. */
export interface ProbeSample { target: string; n: number; t: number; ms: number; ok: boolean; write: boolean; error?: string }

/** The n-th request of a probe: writes and reads (/readyz) in turn, or writes only. */
export function probeRequest(n: number, writesOnly: boolean): { write: boolean; call: Call } {
  return n % 2 && !writesOnly ? { write: false, call: { path: '/readyz' } } : { write: true, call: labProbeWrite(n) };
}

/**
 * Probes `targets` from a worker thread (probe-worker.ts) until stop(), which
 * gives every sample taken: the lab's thread may block in synchronous exec
 * calls meanwhile without pausing the requests.
 */
export function probeInWorker(targets: ProbeTarget[], tls: Tls, intervalMs = 300, writesOnly = false): { stop(): Promise<ProbeSample[]> } {
  // The worker's entry is a line of JavaScript that registers tsx in the
  // worker, then imports the TypeScript file (Node 20 gives a worker no hooks of the main thread's).
  const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const file = JSON.stringify(new URL('./probe-worker.ts', import.meta.url).href);
  const worker = new Worker(`import(${tsx}).then((t) => { t.register(); return import(${file}); })`, { eval: true, workerData: { targets, tls, intervalMs, writesOnly } });
  const samples = new Promise<ProbeSample[]>((resolve, reject) => {
    worker.once('message', (s: ProbeSample[]) => resolve(s));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the probe's worker exited (${code}) before handing back its samples`)));
  });
  return {
    async stop() {
      worker.postMessage('stop');
      const s = await samples;
      await worker.terminate();
      return s;
    },
  };
}

/** One target's samples summed up: requests, failures, and the longest run of failures in seconds (first failure to the next success). */
export function tally(samples: readonly ProbeSample[], target: string): { requests: number; failed: number; longestOutageSeconds: number; firstError?: string } {
  const mine = samples.filter((s) => s.target === target);
  let longest = 0;
  let since: number | undefined;
  for (const s of mine) {
    if (!s.ok) since ??= s.t;
    else if (since !== undefined) { longest = Math.max(longest, (s.t - since) / 1000); since = undefined; }
  }
  if (since !== undefined && mine.length) longest = Math.max(longest, (mine.at(-1)!.t - since) / 1000);
  return { requests: mine.length, failed: mine.filter((s) => !s.ok).length, longestOutageSeconds: longest, firstError: mine.find((s) => !s.ok)?.error };
}

/** Writes only, through `url` (the VIP), in a worker thread: the etcd day two's writer. */
export function writeInBackground(url: string, tls: Tls, intervalMs = 200): { stop(): Promise<ProbeSample[]> } {
  return probeInWorker([{ name: 'vip', url }], tls, intervalMs, true);
}

/** What a stretch of background writes did: how many, how many failed, the slowest, the first error. */
export function writesBetween(samples: readonly ProbeSample[], from: number, to: number) {
  const part = samples.filter((r) => r.write && r.t >= from && r.t < to);
  const failed = part.filter((r) => !r.ok);
  return {
    writes: part.length, failed: failed.length, slowestMs: Math.max(0, ...part.map((r) => r.ms)), lastOk: part.at(-1)?.ok === true,
    firstError: failed[0]?.error,
    /** From the first failed write's start to the last one's end: how long writes failed. */
    failingMs: failed.length ? failed.at(-1)!.t + failed.at(-1)!.ms - failed[0]!.t : 0,
  };
}
