/**
 * The leaf certificates: derived from the roots (roots.ts) and the model
 * (profiles.ts), so a run can tell of each one on disk whether it still is
 * what the model asks for.
 *
 * Rules:
 * - A reused leaf verifies against its CA, and its key is consistent and
 *   makes signatures the certificate verifies. A damaged one is a PkiError,
 *   never reissued behind the operator's back: they restore it, or delete it.
 * - A leaf is reissued under the same CA when its subject or SANs no longer
 *   match, when it expires within LEAF_RENEW_DAYS, or when it is missing; its
 *   key is kept when it still fits (same algorithm as its CA's keys).
 * - A new or rotated CA reissues every certificate it signs, with new keys.
 */
import type { Cluster } from '../model/types.ts';
import { crt, key, type ExistingState, type Found } from './existing.ts';
import { keyAlgorithmOf, keyFamily, publicKeyOf, type KeyNeed, type KeyOf } from './keys.ts';
import { LEAF_RENEW_DAYS } from './lifetimes.ts';
import { PkiError, type Change, type Made, type PkiProblem } from './outcome.ts';
import type { CaName, LeafProfile } from './profiles.ts';
import type { CaRoot, Roots } from './roots.ts';
import type { CertifiedKey } from './types.ts';
import { keyProblemWords, privateKeyProblem, signatureByProblem } from './verify.ts';
import { daysLeft, issueCertificate, leafShape, notAfter, readShape, shapeDifferences } from './x509.ts';

/** How one leaf is had this run: the one on disk as it is, or a new certificate (on a kept key or a new one), and why. */
export type LeafPlan = { profile: LeafProfile } & (
  | { action: 'reuse'; pair: CertifiedKey }
  | ({ action: 'issue'; key: KeyNeed } & Made));

/** Every leaf's certificate and key, by leaf id. */
export type LeafCertificates = ReadonlyMap<string, CertifiedKey>;

/** A leaf on disk that fails verification: the run stops and names it. */
type Damaged = { problem: string; file: string };

/** Every file a leaf is read from. */
export function leafFiles(leaves: readonly LeafProfile[]): string[] {
  return leaves.flatMap((l) => [crt(l.file), key(l.file)]);
}

/** What to do with every leaf; throws a PkiError naming every damaged one at once. */
export function planLeaves(leaves: readonly LeafProfile[], cas: Record<CaName, CaRoot>, state: ExistingState, now: Date): LeafPlan[] {
  const plans: LeafPlan[] = [];
  const problems: PkiProblem[] = [];
  for (const profile of leaves) {
    const plan = planLeaf(profile, cas[profile.ca], state, now);
    if ('problem' in plan) problems.push(damagedProblem(profile, plan, state));
    else plans.push(plan);
  }
  if (problems.length > 0) throw new PkiError(problems);
  return plans;
}

/** A leaf is derived from its CA and the model: deleting a damaged one has it made again. */
function damagedProblem(profile: LeafProfile, damaged: Damaged, state: ExistingState): PkiProblem {
  return {
    file: state.where(damaged.file),
    message: `${damaged.problem}; restore it from your backup of ${state.dir}, or delete ${crt(profile.file)} and ${key(profile.file)} to have them made again under the same CA`,
  };
}

function planLeaf(profile: LeafProfile, ca: CaRoot, state: ExistingState, now: Date): LeafPlan | Damaged {
  const certFound = state.found(crt(profile.file));
  const keyFound = state.found(key(profile.file));
  const issue = (made: Made, kept?: string): LeafPlan => ({ profile, action: 'issue', key: { algorithm: ca.algorithm, kept }, ...made });
  if (ca.source === 'fresh') return issue(underFreshCa(profile, certFound, state));
  if (certFound.kind === 'missing' && keyFound.kind === 'missing') return issue({ change: 'created', reason: 'new' });
  if (certFound.kind === 'unreadable') return { problem: `unreadable (${certFound.error})`, file: crt(profile.file) };
  if (keyFound.kind === 'unreadable') return { problem: `unreadable (${keyFound.error})`, file: key(profile.file) };
  const certPem = certFound.kind === 'text' ? certFound.text : undefined;
  const keyPem = keyFound.kind === 'text' ? keyFound.text : undefined;
  if (keyPem !== undefined) {
    const problem = leafKeyProblem(profile, keyPem, certPem);
    if (problem) return problem;
  }
  const keptKey = keyPem !== undefined && keyAlgorithmOf(keyPem) === ca.algorithm ? keyPem : undefined;
  if (certPem === undefined) return issue({ change: 'reissued', reason: `${crt(profile.file)} missing` }, keptKey);
  if (keyPem === undefined) return issue({ change: 'reissued', reason: `${key(profile.file)} missing` });
  const reasons = reasonsToReissue(profile, certPem, ca, now);
  if ('problem' in reasons) return reasons;
  if (reasons.length === 0) return { profile, action: 'reuse', pair: { certPem, keyPem } };
  return issue({ change: 'reissued', reason: reasons.join('; ') }, keptKey);
}

/** Under a new or rotated CA every leaf is new: the one on disk, if any, was signed by the CA it replaces. */
function underFreshCa(profile: LeafProfile, certFound: Found, state: ExistingState): Made {
  if (certFound.kind !== 'missing') return { change: 'reissued', reason: `the ${profile.ca} CA was replaced` };
  return { change: 'created', reason: state.initialized ? 'new' : 'new PKI' };
}

/** What is wrong with a leaf's key (checked against its certificate when there is one). */
function leafKeyProblem(profile: LeafProfile, keyPem: string, certPem: string | undefined): Damaged | undefined {
  let problem: string | undefined;
  try {
    problem = privateKeyProblem(keyPem, certPem);
  } catch (err) {
    return { problem: `unreadable as a certificate (${(err as Error).message})`, file: crt(profile.file) };
  }
  return problem ? { problem: keyProblemWords(problem, crt(profile.file)), file: key(profile.file) } : undefined;
}

/** Why a leaf that verifies against its CA is no longer what the model asks for; none when it can be reused. */
function reasonsToReissue(profile: LeafProfile, certPem: string, ca: Extract<CaRoot, { source: 'verified' }>, now: Date): string[] | Damaged {
  try {
    const signature = signatureByProblem(certPem, ca.pair.certPem);
    if (signature) return { problem: signature, file: crt(profile.file) };
    const reasons = shapeDifferences(leafShape(profile, keyFamily(ca.algorithm)), readShape(certPem));
    if (daysLeft(certPem, now) < LEAF_RENEW_DAYS) reasons.push(`expires on ${notAfter(certPem).toISOString()}`);
    return reasons;
  } catch (err) {
    return { problem: `unreadable as a certificate (${(err as Error).message})`, file: crt(profile.file) };
  }
}

/** Every key the leaves to issue need, in the leaves' order. */
export function leafKeyNeeds(plans: readonly LeafPlan[]): KeyNeed[] {
  return plans.flatMap((p) => (p.action === 'issue' ? [p.key] : []));
}

/** Every leaf's certificate and key: the reused ones as they are, the others signed now by their CA. */
export function issueLeaves(cluster: Cluster, plans: readonly LeafPlan[], roots: Roots, keyOf: KeyOf, now: Date): LeafCertificates {
  return new Map(plans.map((plan): [string, CertifiedKey] => {
    if (plan.action === 'reuse') return [plan.profile.id, plan.pair];
    const keyPem = keyOf(plan.key);
    const certPem = issueCertificate({
      shape: leafShape(plan.profile, keyFamily(plan.key.algorithm)),
      publicKeyPem: publicKeyOf(keyPem),
      issuer: roots.cas[plan.profile.ca],
      validityDays: cluster.pki.certValidityDays,
      now,
    });
    return [plan.profile.id, { certPem, keyPem }];
  }));
}

/** The leaves issued this run, in the leaves' order. */
export function leafChanges(plans: readonly LeafPlan[]): Change[] {
  return plans.flatMap((p) => (p.action === 'issue' ? [{ item: p.profile.id, path: crt(p.profile.file), reason: p.reason, change: p.change }] : []));
}
