/**
 * The one entry point from a spec file to the resolved model: read, check the
 * structure, check the meaning, resolve. Any problem stops here, all reported.
 */
import { resolve } from '../model/resolve.ts';
import type { Cluster } from '../model/types.ts';
import { generatedPaths } from '../render/cloud-config.ts';
import { checkResolved, checkSemantics } from './checks.ts';
import { SpecError } from './problems.ts';
import { checkSchema, dedupe } from './schema.ts';
import { parseSpec, readSpec, type SpecSource } from './source.ts';
import type { ClusterSpec } from './types.ts';

export function validateSource(source: SpecSource): Cluster {
  const structural = checkSchema(source);
  if (structural.length > 0) throw new SpecError(structural);
  const spec = source.data as ClusterSpec;
  const semantic = dedupe(checkSemantics(source, spec));
  if (semantic.length > 0) throw new SpecError(semantic);
  const cluster = resolve(spec);
  const collisions = dedupe(checkResolved(source, spec, cluster, (host) => generatedPaths(cluster, host)));
  if (collisions.length > 0) throw new SpecError(collisions);
  return cluster;
}

/** Reads, validates and resolves a spec file. Throws SpecError with every problem found. */
export async function loadCluster(file: string): Promise<Cluster> {
  return validateSource(await readSpec(file));
}

/** The same for spec text already in memory (tests, benchmarks). */
export function clusterFromText(text: string, file = 'cluster.yaml'): Cluster {
  return validateSource(parseSpec(file, text));
}
