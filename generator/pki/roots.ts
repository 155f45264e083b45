/**
 * The roots of the cluster's PKI: the three CAs, the service-account key pair
 * and the shared secrets. Together they are the cluster's identity (what
 * Talos keeps as its secrets bundle); the leaves (leaves.ts) are derived from
 * them and the model.
 *
 * Rules:
 * - A root is made only for a cluster that has no state yet, or on purpose
 *   when `--rotate` names it. Once the state exists, a missing, unreadable,
 *   damaged or mismatched root is a PkiError naming the file and what to do:
 *   a root is never replaced silently, since everything signed by it or
 *   holding it would stop working.
 * - A reused CA is a CA with the right name, verifies against itself, and its
 *   key is consistent and makes signatures the certificate verifies.
 * - The keys under a kept CA follow the CA's own algorithm, so an RSA cluster
 *   stays RSA until its CA is rotated on purpose (a warning says so when the
 *   spec asks otherwise).
 * - The encryption key is never rotated: without it the Secrets in etcd
 *   cannot be read.
 */
import type { Cluster, KeyAlgorithm } from '../model/types.ts';
import { crt, key, requiredText, type ExistingState } from './existing.ts';
import { keyAlgorithmOf, keyFamily, publicKeyOf, type KeyNeed, type KeyOf, type KeyPairPem } from './keys.ts';
import { CA_WARN_DAYS } from './lifetimes.ts';
import { advised, PkiError, type Change, type Made, type PkiProblem } from './outcome.ts';
import {
  CA_NAMES, CA_PROFILES, SECRET_FILES, SECRET_NAMES, SERVICE_ACCOUNT,
  type CaName, type CaProfile, type RotateTarget, type SecretName,
} from './profiles.ts';
import { generateSecret, parseSecret } from './secrets.ts';
import type { CertifiedKey } from './types.ts';
import { keyProblemWords, privateKeyProblem, signatureByProblem } from './verify.ts';
import { caShape, daysLeft, issueCertificate, notAfter, readShape } from './x509.ts';

/** Read back from the state folder and verified: used as it is. */
type Verified<T> = { source: 'verified' } & T;
/** Made this run, and why. */
type Fresh<T> = { source: 'fresh'; made: Made } & T;

/** A CA, and the algorithm of every key it signs: its own when kept, the spec's when new. */
export type CaRoot = { algorithm: KeyAlgorithm } & (Verified<{ pair: CertifiedKey }> | Fresh<{ key: KeyNeed }>);
export type ServiceAccountRoot = Verified<{ pair: KeyPairPem }> | Fresh<{ key: KeyNeed }>;
/** A secret is made on the spot: it needs no key. */
export type SecretRoot = Verified<{ value: string }> | Fresh<{ value: string }>;

/** Every root, checked; fresh ones still wait for their keys (makeRoots). */
export interface RootPlan {
  cas: Record<CaName, CaRoot>;
  serviceAccount: ServiceAccountRoot;
  secrets: Record<SecretName, SecretRoot>;
}

/** Every root, ready to sign and to be handed out. */
export interface Roots {
  cas: Record<CaName, CertifiedKey>;
  serviceAccount: KeyPairPem;
  secrets: Record<SecretName, string>;
}

export interface RootOptions {
  /** What to replace even though it is intact. */
  rotate: ReadonlySet<RotateTarget>;
  now: Date;
}

const ROTATE_CA: Record<CaName, RotateTarget> = { kubernetes: 'kubernetes-ca', etcd: 'etcd-ca', 'front-proxy': 'front-proxy-ca' };
/** What `--rotate` calls each secret; the encryption key has no such name. */
const ROTATE_SECRET: Record<SecretName, RotateTarget | undefined> = {
  'encryption-key': undefined, 'vrrp-password': 'vrrp-password',
};

/** Every file a root is read from (sa.pub is not: it is derived from sa.key each run, so the two always agree). */
export const ROOT_FILES: readonly string[] = [
  ...CA_NAMES.flatMap((n) => [crt(CA_PROFILES[n].file), key(CA_PROFILES[n].file)]),
  SERVICE_ACCOUNT.key,
  ...SECRET_NAMES.map((n) => SECRET_FILES[n]),
];

/**
 * Every root, verified or to be made; throws a PkiError listing the problems
 * of all of them at once. Warnings are worth telling the operator, never an
 * error.
 */
export function checkRoots(cluster: Cluster, state: ExistingState, options: RootOptions): { plan: RootPlan; warnings: string[] } {
  const problems: PkiProblem[] = [];
  const warnings: string[] = [];
  const cas = {} as Record<CaName, CaRoot>;
  for (const name of CA_NAMES) {
    const checked = checkCa(name, cluster, state, options);
    if ('problems' in checked) problems.push(...checked.problems);
    else { cas[name] = checked.root; warnings.push(...checked.warnings); }
  }
  const serviceAccount = checkServiceAccount(cluster, state, options);
  if ('problems' in serviceAccount) problems.push(...serviceAccount.problems);
  const secrets = {} as Record<SecretName, SecretRoot>;
  for (const name of SECRET_NAMES) {
    const checked = checkSecret(name, state, options);
    if ('problems' in checked) problems.push(...checked.problems);
    else secrets[name] = checked;
  }
  // The service account's problems are among `problems`; testing it again tells the compiler it is a root.
  if ('problems' in serviceAccount || problems.length > 0) throw new PkiError(problems);
  return { plan: { cas, serviceAccount, secrets }, warnings };
}

/** Why a root is made this run: named by `--rotate`, or the cluster is new; undefined when it must be read back. */
function whyMake(target: RotateTarget | undefined, state: ExistingState, options: RootOptions): Made | undefined {
  if (target !== undefined && options.rotate.has(target)) return { change: 'reissued', reason: 'rotated on request' };
  if (!state.initialized) return { change: 'created', reason: 'new PKI' };
  return undefined;
}

function restoreHint(target: RotateTarget, state: ExistingState): string {
  return `restore it from your backup of ${state.dir}, or replace it on purpose with --rotate ${target}`;
}

type Problems = { problems: PkiProblem[] };

function checkCa(name: CaName, cluster: Cluster, state: ExistingState, options: RootOptions): { root: CaRoot; warnings: string[] } | Problems {
  const made = whyMake(ROTATE_CA[name], state, options);
  const algorithm = cluster.pki.keyAlgorithm;
  if (made) return { root: { source: 'fresh', made, algorithm, key: { algorithm } }, warnings: [] };
  const profile = CA_PROFILES[name];
  const problems: PkiProblem[] = [];
  const certPem = requiredText(state, crt(profile.file), problems);
  const keyPem = requiredText(state, key(profile.file), problems);
  if (certPem !== undefined && keyPem !== undefined) {
    const problem = caProblem(profile, { certPem, keyPem }, options.now);
    if (problem) problems.push({ file: state.where(problem.file), message: problem.message });
  }
  if (problems.length > 0) return { problems: advised(problems, restoreHint(ROTATE_CA[name], state)) };
  const pair = { certPem: certPem!, keyPem: keyPem! };
  const own = keyAlgorithmOf(pair.keyPem);
  return {
    root: { source: 'verified', pair, algorithm: own ?? algorithm },
    warnings: caWarnings(name, pair, own, cluster, state, options.now),
  };
}

/** What is wrong with a CA read back, the first thing found, with its file in the state folder; undefined when it can be reused. */
function caProblem(profile: CaProfile, pair: CertifiedKey, now: Date): PkiProblem | undefined {
  const certFile = crt(profile.file);
  try {
    const shape = readShape(pair.certPem);
    if (!shape.ca) return { file: certFile, message: 'is not a CA certificate' };
    if (shape.cn !== profile.cn) return { file: certFile, message: `is the CA "${shape.cn}", not "${profile.cn}"` };
    const signature = signatureByProblem(pair.certPem);
    if (signature) return { file: certFile, message: signature };
    const keyProblem = privateKeyProblem(pair.keyPem, pair.certPem);
    if (keyProblem) return { file: key(profile.file), message: keyProblemWords(keyProblem, certFile) };
    if (daysLeft(pair.certPem, now) <= 0) return { file: certFile, message: `expired on ${notAfter(pair.certPem).toISOString()}` };
    return undefined;
  } catch (err) {
    return { file: certFile, message: `unreadable as a certificate and key pair (${(err as Error).message})` };
  }
}

/** A kept CA near its end, or of another algorithm than the spec asks for: both are for the operator to plan a rotation. */
function caWarnings(name: CaName, pair: CertifiedKey, own: KeyAlgorithm | undefined, cluster: Cluster, state: ExistingState, now: Date): string[] {
  const where = state.where(crt(CA_PROFILES[name].file));
  const rotate = `--rotate ${ROTATE_CA[name]}`;
  const wanted = cluster.pki.keyAlgorithm;
  return [
    ...(daysLeft(pair.certPem, now) < CA_WARN_DAYS ? [`the ${name} CA (${where}) expires on ${notAfter(pair.certPem).toISOString()}: plan its rotation (${rotate})`] : []),
    ...(own !== undefined && own !== wanted ? [`the ${name} CA (${where}) is ${own} and pki.keyAlgorithm is ${wanted}: what it signs stays ${own} until you rotate it on purpose (${rotate})`] : []),
  ];
}

function checkServiceAccount(cluster: Cluster, state: ExistingState, options: RootOptions): ServiceAccountRoot | Problems {
  const made = whyMake('service-account', state, options);
  if (made) return { source: 'fresh', made, key: { algorithm: cluster.pki.keyAlgorithm } };
  const problems: PkiProblem[] = [];
  const keyPem = requiredText(state, SERVICE_ACCOUNT.key, problems);
  const problem = keyPem === undefined ? undefined : privateKeyProblem(keyPem);
  if (problem) problems.push({ file: state.where(SERVICE_ACCOUNT.key), message: problem });
  if (keyPem === undefined || problem) return { problems: advised(problems, restoreHint('service-account', state)) };
  return { source: 'verified', pair: keyPairOf(keyPem) };
}

function checkSecret(name: SecretName, state: ExistingState, options: RootOptions): SecretRoot | Problems {
  const target = ROTATE_SECRET[name];
  const made = whyMake(target, state, options);
  // A secret counts as created in a new state and as reissued in an existing one, whatever made it.
  if (made) return { source: 'fresh', made: { change: state.initialized ? 'reissued' : 'created', reason: made.reason }, value: generateSecret(name) };
  const problems: PkiProblem[] = [];
  const file = SECRET_FILES[name];
  const content = requiredText(state, file, problems);
  const parsed = content === undefined ? undefined : parseSecret(name, content);
  if (parsed && 'value' in parsed) return { source: 'verified', value: parsed.value };
  if (parsed) problems.push({ file: state.where(file), message: parsed.error });
  return {
    problems: advised(problems, target === undefined
      ? `restore it from your backup of ${state.dir}: without it the Secrets stored in etcd cannot be read`
      : restoreHint(target, state)),
  };
}

/** Every key the fresh roots need, the CAs first. */
export function rootKeyNeeds(plan: RootPlan): KeyNeed[] {
  return [...CA_NAMES.map((n) => plan.cas[n]), plan.serviceAccount].flatMap((root) => (root.source === 'fresh' ? [root.key] : []));
}

/** The roots with their keys: fresh CAs sign themselves. */
export function makeRoots(cluster: Cluster, plan: RootPlan, keyOf: KeyOf, now: Date): Roots {
  const cas = {} as Record<CaName, CertifiedKey>;
  for (const name of CA_NAMES) {
    const root = plan.cas[name];
    cas[name] = root.source === 'verified' ? root.pair : selfSignedCa(CA_PROFILES[name], keyOf(root.key), root.algorithm, cluster, now);
  }
  const sa = plan.serviceAccount;
  const secrets = {} as Record<SecretName, string>;
  for (const name of SECRET_NAMES) secrets[name] = plan.secrets[name].value;
  return { cas, serviceAccount: sa.source === 'verified' ? sa.pair : keyPairOf(keyOf(sa.key)), secrets };
}

function keyPairOf(privateKeyPem: string): KeyPairPem {
  return { publicKeyPem: publicKeyOf(privateKeyPem), privateKeyPem };
}

function selfSignedCa(profile: CaProfile, keyPem: string, algorithm: KeyAlgorithm, cluster: Cluster, now: Date): CertifiedKey {
  return {
    certPem: issueCertificate({ shape: caShape(profile.cn, keyFamily(algorithm)), publicKeyPem: publicKeyOf(keyPem), selfKeyPem: keyPem, validityDays: cluster.pki.caValidityDays, now }),
    keyPem,
  };
}

/** The CAs made this run. The report lists them apart: each CA before what it signs (leaves.ts). */
export function caChanges(plan: RootPlan): Change[] {
  return CA_NAMES.flatMap((name) => {
    const root = plan.cas[name];
    return root.source === 'fresh' ? [{ item: CA_PROFILES[name].id, path: crt(CA_PROFILES[name].file), reason: root.made.reason, change: root.made.change }] : [];
  });
}

/** The service-account key and the secrets made this run, which the report lists after the certificates. */
export function keyAndSecretChanges(plan: RootPlan): Change[] {
  const sa = plan.serviceAccount;
  return [
    ...(sa.source === 'fresh' ? [{ item: SERVICE_ACCOUNT.id, path: SERVICE_ACCOUNT.key, reason: sa.made.reason, change: sa.made.change }] : []),
    ...SECRET_NAMES.flatMap((name) => {
      const root = plan.secrets[name];
      return root.source === 'fresh' ? [{ item: name, path: SECRET_FILES[name], reason: root.made.reason, change: root.made.change }] : [];
    }),
  ];
}
