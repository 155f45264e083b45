/**
 * Whole-cluster generation: the reference cluster (first run, unchanged
 * regeneration, one worker added) and specs of 10 to 10,000 workers.
 * Each figure is a whole `generate` process: Node start-up, validation, PKI,
 * rendering, ISOs and the write.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { snapshot } from '../test/lib/tree-snapshot.ts';
import { median, runCli, type ProcessSample } from './lib.ts';

export interface Figure { ms: number; maxRssMiB: number }

function summarize(samples: ProcessSample[]): Figure {
  return {
    ms: Math.round(median(samples.map((s) => s.ms))),
    maxRssMiB: Math.round(Math.max(...samples.map((s) => s.maxRssKiB)) / 1024),
  };
}

/** The reference spec with `extra` more workers, on a /16 so that a thousand fit. */
export function specWithWorkers(base: string, extra: number): string {
  const lines = Array.from({ length: extra }, (_, i) =>
    `  - { name: bench-w${i + 1}, address: 192.168.${100 + Math.floor(i / 250)}.${(i % 250) + 1}, roles: [worker], prefixLength: 16 }`);
  // The reference hosts move to the same /16 so that every host shares one network.
  // A /10 of pod addresses holds 16,384 node /24s.
  return `${base.replace(/prefixLength: 24/, 'prefixLength: 16').replace(/podCIDR: \S+/, 'podCIDR: 10.128.0.0/10').trimEnd()}\n${lines.join('\n')}\n`;
}

export interface ReferenceFigures { first: Figure; unchanged: Figure & { filesRewritten: number }; oneWorkerAdded: Figure; runs: number }

export async function benchReference(specFile: string, runs: number): Promise<ReferenceFigures> {
  const work = mkdtempSync(join(tmpdir(), 'ha-k8s-seed-bench-'));
  try {
    const first: ProcessSample[] = [];
    const unchanged: ProcessSample[] = [];
    const added: ProcessSample[] = [];
    const base = readFileSync(specFile, 'utf8');
    const plusOne = join(work, 'plus-one.yaml');
    writeFileSync(plusOne, base.replace(/(\n {2}- \{ name: k8s-node2[^\n]*)/, '$1\n  - { name: k8s-node3,   address: 192.168.31.75, roles: [worker] }'));
    let filesRewritten = 0;
    for (let i = 0; i < runs; i++) {
      const out = join(work, `out-${i}`);
      const state = ['--state', join(work, `state-${i}`)];
      first.push(await runCli(['generate', specFile, '--out', out, ...state, '--quiet']));
      const before = snapshot(out);
      unchanged.push(await runCli(['generate', specFile, '--out', out, ...state, '--quiet']));
      const after = snapshot(out);
      filesRewritten += Object.entries(after).filter(([path, entry]) => entry.startsWith('file ') && before[path] !== entry).length;
      added.push(await runCli(['generate', plusOne, '--out', out, ...state, '--quiet']));
    }
    return { first: summarize(first), unchanged: { ...summarize(unchanged), filesRewritten }, oneWorkerAdded: summarize(added), runs };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export interface ScaleFigure extends Figure { workers: number; hosts: number; msPerHost: number }

export async function benchScale(specFile: string, workerCounts: number[], runs: number): Promise<ScaleFigure[]> {
  const work = mkdtempSync(join(tmpdir(), 'ha-k8s-seed-bench-'));
  try {
    const base = readFileSync(specFile, 'utf8');
    const figures: ScaleFigure[] = [];
    for (const workers of workerCounts) {
      const spec = join(work, `workers-${workers}.yaml`);
      writeFileSync(spec, specWithWorkers(base, workers));
      const samples: ProcessSample[] = [];
      for (let i = 0; i < runs; i++) {
        samples.push(await runCli(['generate', spec, '--out', join(work, `out-${workers}-${i}`), '--state', join(work, `state-${workers}-${i}`), '--quiet']));
      }
      const hosts = base.match(/^\s+- \{ name:/gm)!.length + workers;
      const f = summarize(samples);
      figures.push({ workers, hosts, ...f, msPerHost: Number((f.ms / hosts).toFixed(2)) });
    }
    return figures;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
