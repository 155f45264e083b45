/**
 * The generation pipeline, top to bottom: spec file -> resolved model ->
 * the cluster's state opened (locked, recovered, verified) -> the state
 * folder written, then the output files, rendered host by host as the
 * writer takes them; each tree swapped in whole. File I/O happens only at
 * the ends.
 */
import { join, relative } from 'node:path';
import { isSecretFile, type Cluster, type ExtraFile } from './model/types.ts';
import { writeTree, type OutputFile, type WriteReport } from './output/tree.ts';
import { calendarJson, expiryCalendar, expiryWarnings, type CertificateExpiry } from './pki/calendar.ts';
import { describePkiResult, ensurePki, PkiError, type EnsurePkiResult, type RotateTarget } from './pki/index.ts';

export { PkiError } from './pki/index.ts';
export { formatPlan } from './plan/plan.ts';
import { renderClusterReadme } from './render/cluster-readme.ts';
import { LEGACY_TOKEN_FILE, TOKEN_RECORD, type BootstrapToken, type BootstrapTokens } from './pki/bootstrap-tokens.ts';
import { readBootstrapTokens, tokenRecordFile } from './state/bootstrap-tokens.ts';
import { bootstrapTokenFile } from './render/bootstrap-token.ts';
import { operatorAppliesToken } from './plan/steps.ts';
import { describeSeeds, seedSize, streamHosts, streamSeeds, type SeedSize } from './render/hosts.ts';
import { describeHostActions, SeedComparison, type Plan } from './plan/plan.ts';
import { renderPacker } from './render/packer.ts';
import { platformSeedFiles, renderPlatform, type SeedFact, type SeedFacts } from './render/platforms/index.ts';
import { loadCluster } from './input/validate.ts';
import { STATE_WRITE, defaultStateDir, openState, peekState, stateHolds } from './state/state.ts';
import { membershipFile, readMembership } from './state/membership.ts';
import { applyMembership, MEMBERSHIP_FILE } from './model/etcd-membership.ts';

export interface GenerateOptions {
  specFile: string;
  /** Parent of the cluster folder; out/ by default. */
  outDir: string;
  log: (line: string) => void;
  /** What the operator must act on (certificates about to end); printed even when `log` is quiet. Default: `log`. */
  warn?: (line: string) => void;
  /** "Now" for certificate validity; tests move it. */
  now?: Date;
  /** PKI pieces to replace even though they are intact (`--rotate`). */
  rotate?: readonly RotateTarget[];
  /** The cluster's state folder; `<cluster>.pki` beside the spec by default. */
  stateDir?: string;
}

export interface GenerateResult {
  cluster: Cluster;
  clusterDir: string;
  stateDir: string;
  report: WriteReport;
  stateReport: WriteReport;
  pki: EnsurePkiResult;
  /** What the run changed, host by host, with the steps to carry it out. */
  plan: Plan;
  /** Every certificate's end, its holders and the date to re-provision them by. */
  calendar: CertificateExpiry[];
}

/**
 * The model as model.json shows it: a file only its owner may read
 * (`files[]` with no group or other permission, 0600 and narrower) is a
 * secret, and model.json is not one: its content is left out.
 */
export function withoutSecrets(cluster: Cluster): Cluster {
  const redact = (f: ExtraFile): ExtraFile => (isSecretFile(f) ? { ...f, content: `(secret: ${Buffer.byteLength(f.content)} bytes, only in the seeds of the hosts that get it)` } : f);
  return { ...cluster, hosts: cluster.hosts.map((h) => ({ ...h, files: h.files.map(redact) })) };
}

/**
 * Every file of the cluster folder outside hosts/: from the model, the expiry
 * calendar of its PKI, and what the platform kept of the seeds.
 */
export function renderCluster(cluster: Cluster, specFile: string, calendar: readonly CertificateExpiry[], facts: SeedFacts, bootstrapToken: BootstrapToken): OutputFile[] {
  return [
    bootstrapTokenFile(cluster, bootstrapToken),
    renderClusterReadme(cluster, specFile, calendar, facts),
    ...renderPlatform(cluster, facts),
    { path: 'certificates.json', content: calendarJson(cluster, calendar), mode: 0o644 },
    ...renderPacker(cluster),
    { path: 'model.json', content: `${JSON.stringify(withoutSecrets(cluster), null, 2)}\n`, mode: 0o644 },
  ];
}

/** The PKI (verified, completed) and the bootstrap tokens, read from the state; every problem of both is reported at once. */
async function openPki(cluster: Cluster, source: string, options: Pick<GenerateOptions, 'rotate'>, now: Date, existing?: boolean): Promise<{ pki: EnsurePkiResult; tokens: BootstrapTokens }> {
  const rotate = options.rotate ?? [];
  const read = await readBootstrapTokens(source, { now, hours: cluster.pki.bootstrapTokenHours, rotate: rotate.includes('bootstrap-token'), existing })
    .then((tokens) => ({ tokens }), (error: unknown) => {
      if (error instanceof PkiError) return { error };
      throw error;
    });
  const tokens = 'tokens' in read ? read.tokens : undefined;
  const pki = await ensurePki(cluster, source, { rotate, existing, now, bootstrapToken: tokens?.newest }).catch((error: unknown) => {
    throw error instanceof PkiError && 'error' in read ? new PkiError([...error.problems, ...read.error.problems]) : error;
  });
  if (!tokens) throw (read as { error: PkiError }).error;
  return { pki, tokens };
}

/** A write error that names no file (ENOSPC from write(2)...) names the tree being written. */
async function writing<T>(target: string, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code && !e.path) e.path = target;
    throw err;
  }
}

export async function generate(options: GenerateOptions): Promise<GenerateResult> {
  const specCluster = await loadCluster(options.specFile);
  let cluster = specCluster;
  const clusterDir = join(options.outDir, cluster.name);
  const stateDir = options.stateDir ?? defaultStateDir(options.specFile, cluster.name);
  options.log(`${cluster.name}: ${cluster.hosts.length} hosts, Kubernetes ${cluster.kubernetes.version}, endpoint ${cluster.kubernetes.endpoint.url}`);
  const specName = relative(process.cwd(), options.specFile) || options.specFile;
  const state = await openState({ stateDir, clusterDir }, `generate ${specName}`);
  try {
    for (const note of state.notes) options.log(`state: ${note}`);
    // Reads and verifies the PKI only; a PkiError (a CA missing or damaged...) stops the run before anything is written.
    const now = options.now ?? new Date();
    const membership = applyMembership(specCluster, await readMembership(state.source), now);
    cluster = membership.cluster;
    const { pki, tokens } = await openPki(cluster, state.source, options, now, state.existing);
    const calendar = expiryCalendar(cluster, pki.bundle);
    const own = new Set([...pki.files.map((f) => f.path), MEMBERSHIP_FILE, TOKEN_RECORD, LEGACY_TOKEN_FILE]);
    const carried = state.carried.filter((f) => !own.has(f.path));
    const stateFiles = () => [...pki.files, membershipFile(membership.record), tokenRecordFile(tokens), ...carried];
    // The state first: output that exists always has its state in place.
    const firstState = stateFiles();
    const stateReport = state.source === stateDir && await stateHolds(stateDir, firstState)
      ? { written: [], unchanged: firstState.map((f) => f.path).sort(), removed: [] }
      : await writing(stateDir, writeTree(stateDir, firstState, STATE_WRITE));
    const recordedTokens = tokens.recordText();
    const seedSizes: SeedSize[] = [];
    // Each seed is compared with the one it replaces while the old tree is still in place.
    const comparison = SeedComparison.open(cluster, clusterDir);
    const facts = new Map<string, SeedFact>();
    const tokenChoice = { tokens, previousUserData: (host: string) => comparison.previousUserData(host) };
    function* files() {
      yield* streamHosts(cluster, pki.bundle, tokenChoice, (seed) => {
        seedSizes.push(seedSize(seed));
        comparison.observe(seed);
        const platform = platformSeedFiles(cluster, seed);
        facts.set(seed.host, platform.fact);
        return platform.files;
      });
      // Last: these read what the seeds left behind.
      yield* renderCluster(cluster, specName, calendar, facts, tokens.newest);
    }
    const report = await writing(clusterDir, writeTree(clusterDir, files()));
    // A changed node seed asked for a new token: the record keeps it. (Killed before
    // this, the next run gives those hosts a token again; no kept host's seed changes.)
    if (tokens.recordText() !== recordedTokens) await writing(stateDir, writeTree(stateDir, stateFiles(), STATE_WRITE));
    const plan = await comparison.plan(pki, membership, tokens);
    for (const line of describePkiResult(pki, stateDir)) options.log(line);
    if (tokens.made && !plan.firstRun) {
      options.log(`pki: a new bootstrap token (${tokens.made.id}) for the new and changed node seeds; before they boot, apply it: ${operatorAppliesToken(cluster, clusterDir)}`);
    }
    for (const line of describeSeeds(seedSizes)) options.log(line);
    for (const line of expiryWarnings(calendar, now)) (options.warn ?? options.log)(line);
    options.log(`wrote ${clusterDir}: ${report.written.length} files written, ${report.unchanged.length} unchanged, ${report.removed.length} removed`);
    for (const line of describeHostActions(plan)) options.log(line);
    for (const line of plan.warnings) (options.warn ?? options.log)(`plan: warning: ${line}`);
    return { cluster, clusterDir, stateDir, report, stateReport, pki, plan, calendar };
  } finally {
    await state.release();
  }
}

/**
 * `plan`: what `generate` would change, host by host, compared with the
 * cluster folder as it is. Reads the spec, the state and the output; takes no
 * lock and writes nothing, not even a recovery of a killed run's leftovers.
 */
export async function plan(options: Omit<GenerateOptions, 'log'>): Promise<Plan> {
  const specCluster = await loadCluster(options.specFile);
  const clusterDir = join(options.outDir, specCluster.name);
  const stateDir = options.stateDir ?? defaultStateDir(options.specFile, specCluster.name);
  const now = options.now ?? new Date();
  const source = await peekState({ stateDir, clusterDir });
  const membership = applyMembership(specCluster, await readMembership(source), now);
  const cluster = membership.cluster;
  const { pki, tokens } = await openPki(cluster, source, options, now);
  const comparison = SeedComparison.open(cluster, clusterDir);
  const tokenChoice = { tokens, previousUserData: (host: string) => comparison.previousUserData(host) };
  for (const seed of streamSeeds(cluster, pki.bundle, tokenChoice)) comparison.observe(seed);
  const result = await comparison.plan(pki, membership, tokens);
  // What ends soon: renewed by this change (then listed under certificates) or to be planned.
  result.warnings.push(...expiryWarnings(expiryCalendar(cluster, pki.bundle), now));
  return result;
}
