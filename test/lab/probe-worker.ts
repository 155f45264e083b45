/**
 * The boot lab's background writer (a worker thread of probe.ts's
 * writeInBackground): one write through the VIP every intervalMs, each on a
 * new connection, until the main thread says stop; then it hands back every
 * result. It runs in a thread of its own because the lab's container commands
 * (nsenter, spawnSync) block the main thread for seconds at a time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { call, type Tls } from '../lib/https-call.ts';
import { labProbeWrite, type ProbeResult } from './probe.ts';

const { url, tls, intervalMs } = workerData as { url: string; tls: Tls; intervalMs: number };
const results: ProbeResult[] = [];
let stopped = false;
parentPort!.on('message', (m) => { if (m === 'stop') stopped = true; });

let n = 0;
while (!stopped) {
  const t = Date.now();
  const request = labProbeWrite(n);
  try {
    const r = await call(url, tls, request);
    const ok = r.status >= 200 && r.status < 300;
    results.push({ n, t, ms: Date.now() - t, ok, ...(ok ? {} : { error: `HTTP ${r.status} ${r.body.slice(0, 120)}` }) });
  } catch (e) {
    results.push({ n, t, ms: Date.now() - t, ok: false, error: (e as Error).message });
  }
  n++;
  const wait = intervalMs - (Date.now() - t);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}
parentPort!.postMessage(results);
