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

export interface ProbeResult { n: number; t: number; ms: number; ok: boolean; error?: string }

/**
 * labProbeWrite through `url` every `intervalMs` in a worker thread
 * (probe-worker.ts), so writes go on while the main thread blocks on
 * container commands; stop() ends the loop and gives every result, each with
 * its start time, for the caller to split by its own steps' times.
 */
export function writeInBackground(url: string, tls: Tls, intervalMs = 200): { stop(): Promise<ProbeResult[]> } {
  // The worker loads TypeScript through tsx's API: a worker does not inherit the lab's `--import tsx`.
  const source = `import { tsImport } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))};\n`
    + `await tsImport(${JSON.stringify(new URL('./probe-worker.ts', import.meta.url).href)}, ${JSON.stringify(import.meta.url)});`;
  const worker = new Worker(source, { eval: true, workerData: { url, tls, intervalMs } });
  const done = new Promise<ProbeResult[]>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the write probe's worker exited (${code}) before handing back its results`)));
  });
  return {
    async stop() {
      worker.postMessage('stop');
      const results = await done;
      await worker.terminate();
      return results;
    },
  };
}

/** What a stretch of background writes did: how many, how many failed, the slowest, the first error. */
export function writesBetween(results: ProbeResult[], from: number, to: number) {
  const part = results.filter((r) => r.t >= from && r.t < to);
  const failed = part.filter((r) => !r.ok);
  return {
    writes: part.length, failed: failed.length, slowestMs: Math.max(0, ...part.map((r) => r.ms)), lastOk: part.at(-1)?.ok === true,
    firstError: failed[0]?.error,
    /** From the first failed write's start to the last one's end: how long writes failed. */
    failingMs: failed.length ? failed.at(-1)!.t + failed.at(-1)!.ms - failed[0]!.t : 0,
  };
}
