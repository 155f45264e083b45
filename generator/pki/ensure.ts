/**
 * ensurePki: read what the cluster's state folder (state/state.ts) already
 * holds, verify it, keep every piece that is still what the model asks for
 * (byte for byte), make what is missing, reissue what changed, and return it
 * all as files of the state folder. It only reads the disk; the pipeline
 * writes the files.
 *
 * Rules:
 * - CAs, the service-account key and the secrets are made only for a cluster
 *   that has no state yet, and never replaced silently: once the state
 *   exists, a missing, unreadable, damaged or mismatched one is a PkiError
 *   naming the file, unless `rotate` names it.
 * - Every reused key passes a consistency check and makes signatures its
 *   certificate verifies; every reused certificate verifies against its CA
 *   (a CA against itself). A damaged one is a PkiError, never reissued.
 * - A leaf certificate is reissued under the same CA when its subject or SANs
 *   no longer match, when it expires within 30 days, or when it is missing;
 *   its key is kept when it still fits.
 * - Rotating a CA reissues every certificate it signed, with new keys.
 * - Keys are made with pki.keyAlgorithm, except under a kept CA: what it
 *   signs follows the CA's own algorithm, so an RSA cluster stays RSA until
 *   its CA is rotated on purpose (a warning says so when the spec asks otherwise).
 */
import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostsWithRole, isNode, type Cluster, type KeyAlgorithm } from '../model/types.ts';
import type { OutputFile } from '../output/tree.ts';
import { hostsHolding } from './access.ts';
import { generateKeys, keyAlgorithmOf, keyFamily, publicKeyOf } from './keys.ts';
import {
  CA_NAMES, CA_PROFILES, SECRET_FILES, SECRET_NAMES, SERVICE_ACCOUNT, leafProfiles,
  type CaName, type LeafProfile, type RotateTarget, type SecretName,
} from './profiles.ts';
import { CA_WARN_DAYS, LEAF_RENEW_DAYS } from './lifetimes.ts';
import { renderPkiReadme } from './readme.ts';
import { generateSecret, parseSecret, secretFileContent, secretsBundle } from './secrets.ts';
import type { CertifiedKey, PkiBundle } from './types.ts';
import { KEY_NOT_OF_CERTIFICATE, privateKeyProblem, signatureByProblem } from './verify.ts';
import { caShape, issueCertificate, leafShape, notAfter, readShape, shapeDifferences } from './x509.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface PkiChange {
  /** `ca/kubernetes`, `apiserver`, `etcd-server/<member>`, `service-account`, `bootstrap-token`... */
  item: string;
  /** The file in the state folder: `apiserver.crt`. */
  path: string;
  reason: string;
}

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

export interface PkiProblem { file: string; message: string }

/** The existing PKI cannot be used as it is; nothing must be written. */
export class PkiError extends Error {
  constructor(readonly problems: PkiProblem[]) {
    super(problems.map((p) => `${p.file}: ${p.message}`).join('\n'));
    this.name = 'PkiError';
  }
}

type Found = { kind: 'text'; text: string } | { kind: 'missing' } | { kind: 'unreadable'; error: string };

async function readExisting(pkiDir: string, paths: readonly string[]): Promise<Map<string, Found>> {
  const entries = await Promise.all(paths.map(async (p): Promise<[string, Found]> => {
    try {
      // PEMs written by earlier releases of this tool had CRLF line ends: read them as LF.
      return [p, { kind: 'text', text: (await readFile(join(pkiDir, p), 'utf8')).replace(/\r\n/g, '\n') }];
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      return [p, e.code === 'ENOENT' || e.code === 'ENOTDIR' ? { kind: 'missing' } : { kind: 'unreadable', error: `${e.code ?? ''} ${e.message}`.trim() }];
    }
  }));
  return new Map(entries);
}

const crt = (file: string) => `${file}.crt`;
const key = (file: string) => `${file}.key`;

/** How one certified key is obtained this run. */
type Plan =
  | { action: 'keep'; pair: CertifiedKey }
  | { action: 'issue'; keyPem?: string; change: 'created' | 'reissued'; reason: string };

const ROTATE_CA: Record<CaName, RotateTarget> = { kubernetes: 'kubernetes-ca', etcd: 'etcd-ca', 'front-proxy': 'front-proxy-ca' };

export async function ensurePki(cluster: Cluster, pkiDir: string, options: EnsurePkiOptions = {}): Promise<EnsurePkiResult> {
  const now = options.now ?? new Date();
  const rotate = new Set(options.rotate ?? []);
  const leaves = leafProfiles(cluster);
  const persistentPaths = [
    ...CA_NAMES.flatMap((n) => [crt(CA_PROFILES[n].file), key(CA_PROFILES[n].file)]),
    SERVICE_ACCOUNT.key, SERVICE_ACCOUNT.pub,
    ...SECRET_NAMES.map((n) => SECRET_FILES[n]),
  ];
  const found = await readExisting(pkiDir, [...persistentPaths, ...leaves.flatMap((l) => [crt(l.file), key(l.file)])]);
  const initialized = options.existing ?? await lstat(pkiDir).then(() => true, () => false);
  const problems: PkiProblem[] = [];
  const warnings: string[] = [];
  const where = (p: string) => join(pkiDir, p);
  const text = (p: string): string | undefined => {
    const f = found.get(p)!;
    if (f.kind === 'text') return f.text;
    problems.push({ file: where(p), message: f.kind === 'missing' ? 'missing' : `unreadable (${f.error})` });
    return undefined;
  };
  const fresh = (target: RotateTarget) => (rotate.has(target)
    ? { reason: 'rotated on request', change: 'reissued' as const }
    : !initialized ? { reason: 'new PKI', change: 'created' as const } : undefined);
  /** Adds what to do to every problem found since `since`. */
  const advise = (since: number, advice: string) => { for (const p of problems.slice(since)) p.message += `; ${advice}`; };
  const restoreHint = (target: RotateTarget) => `restore it from your backup of ${pkiDir}, or replace it on purpose with --rotate ${target}`;

  // 1. The CAs, the service-account key and the secrets: reused, or made on purpose, never replaced by accident.
  const caPlans = {} as Record<CaName, Plan>;
  /** The algorithm of the keys under each CA: the spec's for a new CA, a kept CA's own. */
  const caAlgorithms = {} as Record<CaName, KeyAlgorithm>;
  for (const name of CA_NAMES) {
    const profile = CA_PROFILES[name];
    const make = fresh(ROTATE_CA[name]);
    if (make) { caPlans[name] = { action: 'issue', ...make }; caAlgorithms[name] = cluster.pki.keyAlgorithm; continue; }
    const before = problems.length;
    const certPem = text(crt(profile.file));
    const keyPem = text(key(profile.file));
    if (certPem !== undefined && keyPem !== undefined) {
      let signature: string | undefined;
      let keyProblem: string | undefined;
      try {
        const shape = readShape(certPem);
        if (!shape.ca) problems.push({ file: where(crt(profile.file)), message: 'is not a CA certificate' });
        else if (shape.cn !== profile.cn) problems.push({ file: where(crt(profile.file)), message: `is the CA "${shape.cn}", not "${profile.cn}"` });
        else if ((signature = signatureByProblem(certPem))) problems.push({ file: where(crt(profile.file)), message: signature });
        else if ((keyProblem = privateKeyProblem(keyPem, certPem))) problems.push({ file: where(key(profile.file)), message: keyMismatch(keyProblem, profile.file) });
        else {
          const daysLeft = (notAfter(certPem).getTime() - now.getTime()) / DAY_MS;
          if (daysLeft <= 0) problems.push({ file: where(crt(profile.file)), message: `expired on ${notAfter(certPem).toISOString()}` });
          else if (daysLeft < CA_WARN_DAYS) warnings.push(`the ${name} CA (${where(crt(profile.file))}) expires on ${notAfter(certPem).toISOString()}: plan its rotation (--rotate ${ROTATE_CA[name]})`);
        }
      } catch (err) {
        problems.push({ file: where(crt(profile.file)), message: `unreadable as a certificate and key pair (${(err as Error).message})` });
      }
    }
    if (problems.length > before) { advise(before, restoreHint(ROTATE_CA[name])); continue; }
    caPlans[name] = { action: 'keep', pair: { certPem: certPem!, keyPem: keyPem! } };
    const own = keyAlgorithmOf(keyPem!);
    caAlgorithms[name] = own ?? cluster.pki.keyAlgorithm;
    if (own !== undefined && own !== cluster.pki.keyAlgorithm) {
      warnings.push(`the ${name} CA (${where(crt(profile.file))}) is ${own} and pki.keyAlgorithm is ${cluster.pki.keyAlgorithm}: what it signs stays ${own} until you rotate it on purpose (--rotate ${ROTATE_CA[name]})`);
    }
  }

  let saPlan: Plan | undefined;
  const saMake = fresh('service-account');
  if (saMake) saPlan = { action: 'issue', ...saMake };
  else {
    const before = problems.length;
    const keyPem = text(SERVICE_ACCOUNT.key);
    // sa.pub is derived from sa.key each run, so the two always agree.
    const problem = keyPem === undefined ? undefined : privateKeyProblem(keyPem);
    if (problem) problems.push({ file: where(SERVICE_ACCOUNT.key), message: problem });
    else if (keyPem !== undefined) saPlan = { action: 'keep', pair: { certPem: publicKeyOf(keyPem), keyPem } };
    advise(before, restoreHint('service-account'));
  }

  const secretValues = {} as Record<SecretName, string>;
  const secretChanges: PkiChange[] = [];
  for (const name of SECRET_NAMES) {
    const file = SECRET_FILES[name];
    const make = name === 'encryption-key'
      ? (initialized ? undefined : { reason: 'new PKI' })
      : fresh(name);
    if (make) {
      secretValues[name] = generateSecret(name);
      secretChanges.push({ item: name, path: file, reason: make.reason });
      continue;
    }
    const before = problems.length;
    const content = text(file);
    const parsed = content === undefined ? undefined : parseSecret(name, content);
    if (parsed && 'value' in parsed) { secretValues[name] = parsed.value; continue; }
    if (parsed) problems.push({ file: where(file), message: parsed.error });
    advise(before, name === 'encryption-key'
      ? `restore it from your backup of ${pkiDir}: without it the Secrets stored in etcd cannot be read`
      : restoreHint(name));
  }
  if (problems.length > 0) throw new PkiError(problems);

  // 2. Leaves: keep what still matches, reissue the rest; a damaged one stops the run.
  const leafPlans = new Map<string, Plan>();
  for (const l of leaves) {
    const plan = planLeaf(l, found, caPlans[l.ca], caAlgorithms[l.ca], now, initialized);
    if ('problem' in plan) problems.push({ file: where(plan.file), message: `${plan.problem}; restore it from your backup of ${pkiDir}, or delete ${crt(l.file)} and ${key(l.file)} to have them made again under the same CA` });
    else leafPlans.set(l.id, plan);
  }
  if (problems.length > 0) throw new PkiError(problems);

  // 3. Every missing key at once, in parallel, each with the algorithm of its CA.
  const plans: [Plan, KeyAlgorithm][] = [
    ...CA_NAMES.map((n): [Plan, KeyAlgorithm] => [caPlans[n], caAlgorithms[n]]),
    [saPlan!, cluster.pki.keyAlgorithm],
    ...leaves.map((l): [Plan, KeyAlgorithm] => [leafPlans.get(l.id)!, caAlgorithms[l.ca]]),
  ];
  for (const algorithm of new Set(plans.map(([, a]) => a))) {
    const needKeys = plans.filter(([p, a]) => a === algorithm && p.action === 'issue' && p.keyPem === undefined)
      .map(([p]) => p as Extract<Plan, { action: 'issue' }>);
    const newKeys = await generateKeys(needKeys.length, algorithm, options.parallelism);
    needKeys.forEach((p, i) => { p.keyPem = newKeys[i]!.privateKeyPem; });
  }

  // 4. Sign: the CAs first, then what they sign.
  const created: PkiChange[] = [];
  const reissued: PkiChange[] = [];
  const record = (item: string, path: string, plan: Plan) => {
    if (plan.action === 'issue') (plan.change === 'created' ? created : reissued).push({ item, path, reason: plan.reason });
  };
  const cas = {} as Record<CaName, CertifiedKey>;
  for (const name of CA_NAMES) {
    const plan = caPlans[name];
    const profile = CA_PROFILES[name];
    cas[name] = plan.action === 'keep' ? plan.pair : {
      certPem: issueCertificate({ shape: caShape(profile.cn, keyFamily(caAlgorithms[name])), publicKeyPem: publicKeyOf(plan.keyPem!), selfKeyPem: plan.keyPem!, validityDays: cluster.pki.caValidityDays, now }),
      keyPem: plan.keyPem!,
    };
    record(profile.id, crt(profile.file), plan);
  }
  const issued = new Map<string, CertifiedKey>();
  for (const l of leaves) {
    const plan = leafPlans.get(l.id)!;
    issued.set(l.id, plan.action === 'keep' ? plan.pair : {
      certPem: issueCertificate({ shape: leafShape(l, keyFamily(caAlgorithms[l.ca])), publicKeyPem: publicKeyOf(plan.keyPem!), issuer: cas[l.ca], validityDays: cluster.pki.certValidityDays, now }),
      keyPem: plan.keyPem!,
    });
    record(l.id, crt(l.file), plan);
  }
  const sa = saPlan!.action === 'keep' ? saPlan!.pair : { certPem: publicKeyOf(saPlan!.keyPem!), keyPem: saPlan!.keyPem! };
  record(SERVICE_ACCOUNT.id, SERVICE_ACCOUNT.key, saPlan!);
  for (const change of secretChanges) (initialized ? reissued : created).push(change);

  const bundle = assembleBundle(cluster, cas, issued, sa, secretValues);
  const files = pkiFiles(cluster, cas, leaves, issued, sa, secretValues);
  const changed = new Set([...created, ...reissued].map((c) => c.item));
  return {
    bundle,
    files,
    created,
    reissued,
    hostsToReprovision: initialized ? hostsHolding(cluster, changed) : [],
    warnings,
  };
}

/** privateKeyProblem()'s words, with the certificate named when the key is simply not its key. */
function keyMismatch(problem: string, file: string): string {
  return problem === KEY_NOT_OF_CERTIFICATE ? `does not match ${crt(file)}` : problem;
}

/** A reused file that fails verification: the run stops and names it. */
type Damaged = { problem: string; file: string };

function planLeaf(l: LeafProfile, found: Map<string, Found>, caPlan: Plan, algorithm: KeyAlgorithm, now: Date, initialized: boolean): Plan | Damaged {
  const certFound = found.get(crt(l.file))!;
  const keyFound = found.get(key(l.file))!;
  if (caPlan.action === 'issue') {
    const existed = certFound.kind !== 'missing';
    return { action: 'issue', change: existed ? 'reissued' : 'created', reason: existed ? `the ${l.ca} CA was replaced` : (initialized ? 'new' : 'new PKI') };
  }
  if (certFound.kind === 'missing' && keyFound.kind === 'missing') return { action: 'issue', change: 'created', reason: 'new' };
  if (certFound.kind === 'unreadable') return { problem: `unreadable (${certFound.error})`, file: crt(l.file) };
  if (keyFound.kind === 'unreadable') return { problem: `unreadable (${keyFound.error})`, file: key(l.file) };
  const keyPem = keyFound.kind === 'text' ? keyFound.text : undefined;
  if (keyPem !== undefined) {
    let problem: string | undefined;
    try { problem = privateKeyProblem(keyPem, certFound.kind === 'text' ? certFound.text : undefined); } catch (err) {
      return { problem: `unreadable as a certificate (${(err as Error).message})`, file: crt(l.file) };
    }
    if (problem) return { problem: keyMismatch(problem, l.file), file: key(l.file) };
  }
  let usableKey: string | undefined;
  try { if (keyPem !== undefined && keyAlgorithmOf(keyPem) === algorithm) usableKey = keyPem; } catch { /* checked above */ }
  if (certFound.kind !== 'text') return { action: 'issue', change: 'reissued', keyPem: usableKey, reason: `${crt(l.file)} missing` };
  if (keyPem === undefined) return { action: 'issue', change: 'reissued', reason: `${key(l.file)} missing` };

  const certPem = certFound.text;
  const reasons: string[] = [];
  try {
    const signature = signatureByProblem(certPem, caPlan.pair.certPem);
    if (signature) return { problem: signature, file: crt(l.file) };
    reasons.push(...shapeDifferences(leafShape(l, keyFamily(algorithm)), readShape(certPem)));
    const end = notAfter(certPem);
    if (end.getTime() - now.getTime() < LEAF_RENEW_DAYS * DAY_MS) reasons.push(`expires on ${end.toISOString()}`);
  } catch (err) {
    return { problem: `unreadable as a certificate (${(err as Error).message})`, file: crt(l.file) };
  }
  if (reasons.length === 0) return { action: 'keep', pair: { certPem, keyPem } };
  return { action: 'issue', change: 'reissued', keyPem: usableKey, reason: reasons.join('; ') };
}

function assembleBundle(cluster: Cluster, cas: Record<CaName, CertifiedKey>, issued: Map<string, CertifiedKey>, sa: CertifiedKey, secrets: Record<SecretName, string>): PkiBundle {
  const get = (id: string) => issued.get(id)!;
  const perMember = (kind: string) => Object.fromEntries(cluster.etcd.members.map((m) => [m.name, get(`${kind}/${m.name}`)]));
  return {
    ca: { kubernetes: cas.kubernetes, etcd: cas.etcd, frontProxy: cas['front-proxy'] },
    etcd: { server: perMember('etcd-server'), peer: perMember('etcd-peer'), healthcheckClient: get('etcd-healthcheck-client') },
    apiserver: Object.fromEntries(hostsWithRole(cluster, 'control-plane').map((h) => [h.name, get(`apiserver/${h.name}`)])),
    apiserverKubeletClient: get('apiserver-kubelet-client'),
    apiserverEtcdClient: get('apiserver-etcd-client'),
    frontProxyClient: get('front-proxy-client'),
    controllerManager: get('controller-manager'),
    scheduler: get('scheduler'),
    admin: get('admin'),
    kubeProxy: get('kube-proxy'),
    kubeletServing: Object.fromEntries(cluster.hosts.filter(isNode).map((h) => [h.name, get(`kubelet-serving/${h.name}`)])),
    serviceAccount: { publicKeyPem: sa.certPem, privateKeyPem: sa.keyPem },
    secrets: secretsBundle(secrets),
  };
}

function pkiFiles(cluster: Cluster, cas: Record<CaName, CertifiedKey>, leaves: LeafProfile[], issued: Map<string, CertifiedKey>, sa: CertifiedKey, secrets: Record<SecretName, string>): OutputFile[] {
  const pairFiles = (file: string, pair: CertifiedKey): OutputFile[] => [
    { path: crt(file), content: pair.certPem, mode: 0o644 },
    { path: key(file), content: pair.keyPem, mode: 0o600 },
  ];
  return [
    { path: 'README.md', content: renderPkiReadme(cluster), mode: 0o644 },
    ...CA_NAMES.flatMap((n) => pairFiles(CA_PROFILES[n].file, cas[n])),
    ...leaves.flatMap((l) => pairFiles(l.file, issued.get(l.id)!)),
    { path: SERVICE_ACCOUNT.key, content: sa.keyPem, mode: 0o600 },
    { path: SERVICE_ACCOUNT.pub, content: sa.certPem, mode: 0o644 },
    ...SECRET_NAMES.map((n) => ({ path: SECRET_FILES[n], content: secretFileContent(secrets[n]), mode: 0o600 })),
  ];
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
