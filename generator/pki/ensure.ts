/**
 * ensurePki: read what the cluster's state folder (state/state.ts) already
 * holds, verify it, keep every piece that is still what the model asks for
 * (byte for byte), make what is missing, reissue what changed, and return it
 * all as files of the state folder. It only reads the disk; the pipeline
 * writes the files.
 *
 * Two halves, as Talos keeps its secrets bundle apart from what it generates
 * from it: the roots (roots.ts: CAs, service-account key, secrets) are the
 * cluster's identity, made once and checked strictly; the leaves (leaves.ts)
 * are derived from the roots and the model, and reissued when they drift.
 */
import type { Cluster } from '../model/types.ts';
import type { OutputFile } from '../output/tree.ts';
import { hostsHolding } from './access.ts';
import { assembleBundle, stateFiles } from './bundle.ts';
import { readExisting } from './existing.ts';
import { provideKeys } from './keys.ts';
import { issueLeaves, leafChanges, leafFiles, leafKeyNeeds, planLeaves } from './leaves.ts';
import type { Change, PkiChange } from './outcome.ts';
import { leafProfiles, type RotateTarget } from './profiles.ts';
import { caChanges, checkRoots, keyAndSecretChanges, makeRoots, rootKeyNeeds, ROOT_FILES } from './roots.ts';
import type { PkiBundle } from './types.ts';
import { newBootstrapToken, type BootstrapToken } from './bootstrap-tokens.ts';

export { PkiError, type PkiChange, type PkiProblem } from './outcome.ts';

export interface EnsurePkiOptions {
  /** What to replace even though it is intact. */
  rotate?: readonly RotateTarget[];
  /** "Now" for validity periods; tests move it. */
  now?: Date;
  /** Keys generated at once; one per core by default. */
  parallelism?: number;
  /**
   * Whether the cluster already has its state (the caller knows from every
   * trace of it); by default, whether the folder exists. An existing state
   * is never completed with new CAs or secrets: what is missing is an error.
   */
  existing?: boolean;
  /** The newest bootstrap token (bootstrap-tokens.ts): what the bundle carries. One made now by default. */
  bootstrapToken?: BootstrapToken;
}

export interface EnsurePkiResult {
  bundle: PkiBundle;
  /** Every file of the state folder, paths relative to it; 0o600 for keys and secrets. */
  files: OutputFile[];
  /** Made for the first time (a new PKI, a new etcd member...). */
  created: PkiChange[];
  /** Replaced: rotated, or no longer matching the model. */
  reissued: PkiChange[];
  /** Hosts holding a credential that changed while an earlier PKI existed. */
  hostsToReprovision: string[];
  /** Worth telling the operator (a CA near its end); never a secret. */
  warnings: string[];
}

export async function ensurePki(cluster: Cluster, pkiDir: string, options: EnsurePkiOptions = {}): Promise<EnsurePkiResult> {
  const now = options.now ?? new Date();
  const profiles = leafProfiles(cluster);
  const state = await readExisting(pkiDir, [...ROOT_FILES, ...leafFiles(profiles)], options.existing);
  // Every problem of the roots is reported before the leaves are looked at: a leaf is judged against its CA.
  const { plan: rootPlan, warnings } = checkRoots(cluster, state, { rotate: new Set(options.rotate ?? []), now });
  const leafPlans = planLeaves(profiles, rootPlan.cas, state, now);
  // One batch for the whole run: the roots' keys and the leaves' are made in parallel.
  const keyOf = await provideKeys([...rootKeyNeeds(rootPlan), ...leafKeyNeeds(leafPlans)], options.parallelism);
  const roots = makeRoots(cluster, rootPlan, keyOf, now);
  const leaves = issueLeaves(cluster, leafPlans, roots, keyOf, now);
  // Each CA before what it signs, then the service-account key and the secrets.
  const changes = [...caChanges(rootPlan), ...leafChanges(leafPlans), ...keyAndSecretChanges(rootPlan)];
  return {
    bundle: assembleBundle(cluster, roots, leaves, options.bootstrapToken ?? newBootstrapToken(now)),
    files: stateFiles(cluster, roots, profiles, leaves),
    created: changesOf(changes, 'created'),
    reissued: changesOf(changes, 'reissued'),
    hostsToReprovision: state.initialized ? hostsHolding(cluster, new Set(changes.map((c) => c.item))) : [],
    warnings,
  };
}

function changesOf(changes: readonly Change[], kind: Change['change']): PkiChange[] {
  return changes.filter((c) => c.change === kind).map(({ item, path, reason }) => ({ item, path, reason }));
}

/** Progress lines for stderr: what was made or reissued and why, and who must be re-provisioned. Never a secret. */
export function describePkiResult(result: EnsurePkiResult, pkiDir: string): string[] {
  const lines: string[] = [];
  const { created, reissued } = result;
  if (created.length + reissued.length === 0) lines.push(`pki: ${pkiDir} reused as it is`);
  if (created.length > 0) {
    const fresh = created.every((c) => c.reason === 'new PKI');
    lines.push(fresh
      ? `pki: new PKI in ${pkiDir} (${created.length} certificates, keys and secrets): back this folder up`
      : `pki: created ${created.map((c) => `${c.path} (${c.reason})`).join(', ')}`);
  }
  for (const r of reissued) lines.push(`pki: reissued ${r.path}: ${r.reason}`);
  if (result.hostsToReprovision.length > 0) lines.push(`pki: re-provision these hosts (their credentials changed): ${result.hostsToReprovision.join(', ')}`);
  for (const w of result.warnings) lines.push(`pki: warning: ${w}`);
  return lines;
}
