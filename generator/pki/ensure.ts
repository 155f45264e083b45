/**
 * ensurePki: read what out/<cluster>/pki/ already holds, keep every piece that
 * is still what the model asks for (byte for byte), make what is missing,
 * reissue what changed, and return it all as output files. It only reads the
 * disk; the pipeline writes the files with the rest of the tree.
 *
 * Rules:
 * - CAs, the service-account key and the secrets are never replaced silently:
 *   once pki/ holds any of them, a missing, unreadable or mismatched one is a
 *   PkiError naming the file, unless `rotate` names it.
 * - A leaf certificate is reissued under the same CA when its subject, SANs,
 *   usages or issuer no longer match, when it expires within 30 days, or when
 *   it or its key is missing or broken; its key is kept when it still fits.
 * - Rotating a CA reissues every certificate it signed, with new keys.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isNode, type Cluster } from '../model/types.ts';
import type { OutputFile } from '../output/tree.ts';
import { hostsHolding } from './access.ts';
import { generateRsaKeys, publicKeyOf, rsaKeyBits } from './keys.ts';
import {
  CA_NAMES, CA_PROFILES, SECRET_FILES, SECRET_NAMES, SERVICE_ACCOUNT, leafProfiles,
  type CaName, type LeafProfile, type RotateTarget, type SecretName,
} from './profiles.ts';
import { renderPkiReadme } from './readme.ts';
import { generateSecret, parseSecret, secretFileContent, secretsBundle } from './secrets.ts';
import type { CertifiedKey, PkiBundle } from './types.ts';
import { caShape, issueCertificate, issuedBy, keyMatches, leafShape, notAfter, readShape, shapeDifferences } from './x509.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/** A leaf this close to its end is reissued; a CA this close to its end is warned about. */
const LEAF_RENEW_DAYS = 30;
const CA_WARN_DAYS = 180;

export interface PkiChange {
  /** `ca/kubernetes`, `apiserver`, `etcd-server/<member>`, `service-account`, `bootstrap-token`... */
  item: string;
  /** The file in the cluster folder: `pki/apiserver.crt`. */
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
}

export interface EnsurePkiResult {
  bundle: PkiBundle;
  /** Every file of pki/, paths relative to the cluster folder; 0o600 for keys and secrets. */
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
  const initialized = persistentPaths.some((p) => found.get(p)!.kind !== 'missing');
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
  const restoreHint = (target: RotateTarget) => `restore it from your backup of pki/, or replace it on purpose with --rotate ${target}`;

  // 1. The CAs, the service-account key and the secrets: reused, or made on purpose, never replaced by accident.
  const caPlans = {} as Record<CaName, Plan>;
  for (const name of CA_NAMES) {
    const profile = CA_PROFILES[name];
    const make = fresh(ROTATE_CA[name]);
    if (make) { caPlans[name] = { action: 'issue', ...make }; continue; }
    const before = problems.length;
    const certPem = text(crt(profile.file));
    const keyPem = text(key(profile.file));
    if (certPem !== undefined && keyPem !== undefined) {
      try {
        const shape = readShape(certPem);
        if (!shape.ca) problems.push({ file: where(crt(profile.file)), message: 'is not a CA certificate' });
        else if (shape.cn !== profile.cn) problems.push({ file: where(crt(profile.file)), message: `is the CA "${shape.cn}", not "${profile.cn}"` });
        else if (!keyMatches(certPem, keyPem)) problems.push({ file: where(key(profile.file)), message: `does not match ${crt(profile.file)}` });
        else {
          const daysLeft = (notAfter(certPem).getTime() - now.getTime()) / DAY_MS;
          if (daysLeft <= 0) problems.push({ file: where(crt(profile.file)), message: `expired on ${notAfter(certPem).toISOString()}` });
          else if (daysLeft < CA_WARN_DAYS) warnings.push(`the ${name} CA (pki/${crt(profile.file)}) expires on ${notAfter(certPem).toISOString()}: plan its rotation (--rotate ${ROTATE_CA[name]})`);
        }
      } catch (err) {
        problems.push({ file: where(crt(profile.file)), message: `unreadable as a certificate and key pair (${(err as Error).message})` });
      }
    }
    if (problems.length > before) advise(before, restoreHint(ROTATE_CA[name]));
    else caPlans[name] = { action: 'keep', pair: { certPem: certPem!, keyPem: keyPem! } };
  }

  let saPlan: Plan | undefined;
  const saMake = fresh('service-account');
  if (saMake) saPlan = { action: 'issue', ...saMake };
  else {
    const before = problems.length;
    const keyPem = text(SERVICE_ACCOUNT.key);
    // sa.pub is derived from sa.key each run, so the two always agree.
    try { if (keyPem !== undefined) saPlan = { action: 'keep', pair: { certPem: publicKeyOf(keyPem), keyPem } }; } catch (err) {
      problems.push({ file: where(SERVICE_ACCOUNT.key), message: `not a private key (${(err as Error).message})` });
    }
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
      secretChanges.push({ item: name, path: `pki/${file}`, reason: make.reason });
      continue;
    }
    const before = problems.length;
    const content = text(file);
    const parsed = content === undefined ? undefined : parseSecret(name, content);
    if (parsed && 'value' in parsed) { secretValues[name] = parsed.value; continue; }
    if (parsed) problems.push({ file: where(file), message: parsed.error });
    advise(before, name === 'encryption-key'
      ? 'restore it from your backup of pki/: without it the Secrets stored in etcd cannot be read'
      : restoreHint(name));
  }
  if (problems.length > 0) throw new PkiError(problems);

  // 2. Leaves: keep what still matches, reissue the rest.
  const leafPlans = new Map<string, Plan>(leaves.map((l) => [l.id, planLeaf(l, found, caPlans[l.ca], cluster.pki.keySize, now, initialized)]));

  // 3. Every missing key at once, in parallel.
  const plans: Plan[] = [...CA_NAMES.map((n) => caPlans[n]), saPlan!, ...leafPlans.values()];
  const needKeys = plans.filter((p): p is Extract<Plan, { action: 'issue' }> => p.action === 'issue' && p.keyPem === undefined);
  const newKeys = await generateRsaKeys(needKeys.length, cluster.pki.keySize, options.parallelism);
  needKeys.forEach((p, i) => { p.keyPem = newKeys[i]!.privateKeyPem; });

  // 4. Sign: the CAs first, then what they sign.
  const created: PkiChange[] = [];
  const reissued: PkiChange[] = [];
  const record = (item: string, path: string, plan: Plan) => {
    if (plan.action === 'issue') (plan.change === 'created' ? created : reissued).push({ item, path: `pki/${path}`, reason: plan.reason });
  };
  const cas = {} as Record<CaName, CertifiedKey>;
  for (const name of CA_NAMES) {
    const plan = caPlans[name];
    const profile = CA_PROFILES[name];
    cas[name] = plan.action === 'keep' ? plan.pair : {
      certPem: issueCertificate({ shape: caShape(profile.cn), publicKeyPem: publicKeyOf(plan.keyPem!), selfKeyPem: plan.keyPem!, validityDays: cluster.pki.caValidityDays, now }),
      keyPem: plan.keyPem!,
    };
    record(profile.id, crt(profile.file), plan);
  }
  const issued = new Map<string, CertifiedKey>();
  for (const l of leaves) {
    const plan = leafPlans.get(l.id)!;
    issued.set(l.id, plan.action === 'keep' ? plan.pair : {
      certPem: issueCertificate({ shape: leafShape(l), publicKeyPem: publicKeyOf(plan.keyPem!), issuer: cas[l.ca], validityDays: cluster.pki.certValidityDays, now }),
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

function planLeaf(l: LeafProfile, found: Map<string, Found>, caPlan: Plan, keySize: number, now: Date, initialized: boolean): Plan {
  const certFound = found.get(crt(l.file))!;
  const keyFound = found.get(key(l.file))!;
  if (caPlan.action === 'issue') {
    const existed = certFound.kind !== 'missing';
    return { action: 'issue', change: existed ? 'reissued' : 'created', reason: existed ? `the ${l.ca} CA was replaced` : (initialized ? 'new' : 'new PKI') };
  }
  if (certFound.kind === 'missing' && keyFound.kind === 'missing') return { action: 'issue', change: 'created', reason: 'new' };
  const keyPem = keyFound.kind === 'text' ? keyFound.text : undefined;
  let usableKey: string | undefined;
  try { if (keyPem !== undefined && rsaKeyBits(keyPem) === keySize) usableKey = keyPem; } catch { /* broken key: a new one */ }
  if (certFound.kind !== 'text') return { action: 'issue', change: 'reissued', keyPem: usableKey, reason: `pki/${crt(l.file)} ${certFound.kind}` };
  if (keyPem === undefined) return { action: 'issue', change: 'reissued', reason: `pki/${key(l.file)} ${keyFound.kind}` };

  const certPem = certFound.text;
  const reasons: string[] = [];
  try {
    reasons.push(...shapeDifferences(leafShape(l), readShape(certPem)));
    if (!issuedBy(certPem, caPlan.pair.certPem)) reasons.push(`not signed by the ${l.ca} CA`);
    let matches = false;
    try { matches = keyMatches(certPem, keyPem); } catch { /* unreadable key */ }
    if (!matches) { reasons.push('key does not match'); usableKey = undefined; }
    const end = notAfter(certPem);
    if (end.getTime() - now.getTime() < LEAF_RENEW_DAYS * DAY_MS) reasons.push(`expires on ${end.toISOString()}`);
  } catch (err) {
    return { action: 'issue', change: 'reissued', keyPem: usableKey, reason: `unreadable certificate (${(err as Error).message})` };
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
    apiserver: get('apiserver'),
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
    { path: `pki/${crt(file)}`, content: pair.certPem, mode: 0o644 },
    { path: `pki/${key(file)}`, content: pair.keyPem, mode: 0o600 },
  ];
  return [
    { path: 'pki/README.md', content: renderPkiReadme(cluster), mode: 0o644 },
    ...CA_NAMES.flatMap((n) => pairFiles(CA_PROFILES[n].file, cas[n])),
    ...leaves.flatMap((l) => pairFiles(l.file, issued.get(l.id)!)),
    { path: `pki/${SERVICE_ACCOUNT.key}`, content: sa.keyPem, mode: 0o600 },
    { path: `pki/${SERVICE_ACCOUNT.pub}`, content: sa.certPem, mode: 0o644 },
    ...SECRET_NAMES.map((n) => ({ path: `pki/${SECRET_FILES[n]}`, content: secretFileContent(secrets[n]), mode: 0o600 })),
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
