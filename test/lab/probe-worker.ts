/**
 * The probe loop of probe.ts's probeInWorker, in a worker thread: the lab's
 * own thread blocks in synchronous exec calls (nsenter, kubectl), and the
 * requests must go on meanwhile. Every `intervalMs` one request to each
 * target, writes and reads in turn (or writes only), each on a new connection; on 'stop' it
 * posts every sample it took.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { call, type Tls } from '../lib/https-call.ts';
import { probeRequest, type ProbeSample, type ProbeTarget } from './probe.ts';

const { targets, tls, intervalMs, writesOnly } = workerData as { targets: ProbeTarget[]; tls: Tls; intervalMs: number; writesOnly: boolean };
let stopping = false;
parentPort!.on('message', (m) => { if (m === 'stop') stopping = true; });

const samples: ProbeSample[] = [];
for (let n = 0; !stopping; n++) {
  const t = Date.now();
  const { write, call: request } = probeRequest(n, writesOnly);
  await Promise.all(targets.map(async (target) => {
    const at = Date.now();
    try {
      const r = await call(target.url, { ca: Buffer.from(tls.ca), cert: tls.cert && Buffer.from(tls.cert), key: tls.key && Buffer.from(tls.key) }, request);
      const ok = r.status >= 200 && r.status < 300;
      samples.push({ target: target.name, n, t: at, ms: Date.now() - at, ok, write, ...(ok ? {} : { error: `HTTP ${r.status} ${r.body.slice(0, 120)}` }) });
    } catch (e) {
      samples.push({ target: target.name, n, t: at, ms: Date.now() - at, ok: false, write, error: (e as Error).message });
    }
  }));
  const wait = intervalMs - (Date.now() - t);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}
parentPort!.postMessage(samples);
