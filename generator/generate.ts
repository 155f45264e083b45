/**
 * The generation pipeline, top to bottom: spec file -> resolved model ->
 * every output file in memory -> one atomic write. File I/O happens only at
 * the two ends (reading the spec, writing the tree).
 */
import { join, relative } from 'node:path';
import type { Cluster } from './model/types.ts';
import { makeDirs, writeTree, type OutputFile, type WriteReport } from './output/tree.ts';
import { describePkiResult, ensurePki, type EnsurePkiResult, type RotateTarget } from './pki/index.ts';
import { renderClusterReadme } from './render/cluster-readme.ts';
import { describeSeeds, renderHosts } from './render/hosts.ts';
import { renderPacker } from './render/packer.ts';
import { loadCluster } from './spec/validate.ts';

export interface GenerateOptions {
  specFile: string;
  /** Parent of the cluster folder; out/ by default. */
  outDir: string;
  log: (line: string) => void;
  /** PKI pieces to replace even though they are intact (`--rotate`). */
  rotate?: readonly RotateTarget[];
}

export interface GenerateResult { cluster: Cluster; clusterDir: string; report: WriteReport; pki: EnsurePkiResult }

/** Every file of the cluster folder, rendered from the model alone. */
export function renderCluster(cluster: Cluster, specFile: string): OutputFile[] {
  return [
    renderClusterReadme(cluster, specFile),
    ...renderPacker(cluster),
    { path: 'model.json', content: `${JSON.stringify(cluster, null, 2)}\n`, mode: 0o644 },
  ];
}

export async function generate(options: GenerateOptions): Promise<GenerateResult> {
  const cluster = await loadCluster(options.specFile);
  const clusterDir = join(options.outDir, cluster.name);
  options.log(`${cluster.name}: ${cluster.hosts.length} hosts, Kubernetes ${cluster.kubernetes.version}, endpoint ${cluster.kubernetes.endpoint.url}`);
  const specName = relative(process.cwd(), options.specFile) || options.specFile;
  // A folder that cannot be made fails now, before seconds of key generation.
  await makeDirs(options.outDir);
  // Reads pki/ only; a PkiError (a CA missing or mismatched...) stops the run before anything is written.
  const pkiDir = join(clusterDir, 'pki');
  const pki = await ensurePki(cluster, pkiDir, { rotate: options.rotate ?? [] });
  const hosts = renderHosts(cluster, pki.bundle);
  const files = [...renderCluster(cluster, specName), ...pki.files, ...hosts.files];
  const report = await writeTree(clusterDir, files, { preserve: (path) => path.startsWith('pki/') });
  for (const line of describePkiResult(pki, pkiDir)) options.log(line);
  for (const line of describeSeeds(hosts.seeds)) options.log(line);
  options.log(`wrote ${clusterDir}: ${report.written.length} files written, ${report.unchanged.length} unchanged, ${report.removed.length} removed`);
  return { cluster, clusterDir, report, pki };
}
