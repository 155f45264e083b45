/**
 * The plan of a spec change: for every host, whether it is created,
 * re-provisioned, kept or removed and why; the certificates that change and
 * who holds them; and the order to do it in, with the commands to run between
 * steps. It compares what this run would write with the cluster folder as it
 * is, and writes nothing.
 *
 * Re-provisioning a host means replacing its VM: a fresh disk from the golden
 * image booted with the host's new cidata.iso. (The bootstrap runs once per
 * disk, so booting an old disk with a new seed rewrites files but starts
 * nothing anew.)
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isNode, type Cluster, type Role } from '../model/types.ts';
import type { BootstrapTokens } from '../pki/bootstrap-tokens.ts';
import { grantsFor } from '../pki/access.ts';
import type { EnsurePkiResult } from '../pki/ensure.ts';
import type { HostSeed } from '../render/hosts.ts';
import { describeSeedChange, type AddressNames, type SeedText } from './seed-diff.ts';
import type { MembershipChange } from '../model/etcd-membership.ts';
import { operatorKubectl, orderSteps, type PlanStep } from './steps.ts';

export type HostAction = 'create' | 'reprovision' | 'keep' | 'remove';

export interface HostPlan {
  action: HostAction;
  roles: Role[];
  address: string;
  /** Why, one line per changed file or setting; empty for `keep`. */
  reasons: string[];
}

export interface CertificateChange {
  /** `apiserver`, `etcd-server/k8s-master1`, `ca/kubernetes`, `bootstrap-token`... */
  item: string;
  change: 'issued' | 'reissued';
  reason: string;
  /** Hosts that receive it. */
  holders: string[];
}

export interface Plan {
  cluster: string;
  /** False when no host changes and no certificate is issued. */
  changed: boolean;
  /** True when the cluster folder held no earlier output: every host is new. */
  firstRun: boolean;
  hosts: Record<string, HostPlan>;
  certificates: CertificateChange[];
  steps: PlanStep[];
  /** What the change costs while it is carried out, in words. */
  availability: string[];
  warnings: string[];
}

/** The subset of an earlier run's model.json the plan reads. */
interface PreviousModel {
  hosts: { name: string; address: string; roles: Role[] }[];
}

/** A file of the cluster folder, or undefined when it is not there; read synchronously, before the writer swaps the folder. */
function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function readPreviousModel(clusterDir: string): PreviousModel | undefined {
  const text = readText(join(clusterDir, 'model.json'));
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as PreviousModel;
  } catch {
    return undefined;
  }
}

/** A host's seed in the cluster folder. */
function readSeed(clusterDir: string, host: string): SeedText | undefined {
  const dir = join(clusterDir, 'hosts', host);
  const userData = readText(join(dir, 'user-data'));
  const networkConfig = userData === undefined ? undefined : readText(join(dir, 'network-config'));
  return userData === undefined || networkConfig === undefined ? undefined : { userData, networkConfig };
}

/**
 * The hosts holding each of `items`, in one pass over the hosts: asking
 * hostsHolding() item by item costs items x hosts, and a rotated CA reissues
 * one certificate per node.
 */
function holdersOf(cluster: Cluster, items: ReadonlySet<string>): Map<string, string[]> {
  const holders = new Map<string, string[]>();
  if (items.size === 0) return holders;
  for (const host of cluster.hosts) {
    for (const grant of grantsFor(host)) {
      if (!items.has(grant.item)) continue;
      const list = holders.get(grant.item) ?? [];
      if (list.at(-1) !== host.name) list.push(host.name);
      holders.set(grant.item, list);
    }
  }
  return holders;
}

function addressNames(cluster: Cluster, previous?: PreviousModel): AddressNames {
  const names = new Map<string, string>();
  for (const h of previous?.hosts ?? []) names.set(h.address, h.name);
  for (const h of cluster.hosts) names.set(h.address, h.name);
  if (cluster.loadBalancer) names.set(cluster.loadBalancer.vip, 'VIP');
  return names;
}

/**
 * The comparison of each new seed with the one in the cluster folder, made
 * while the seeds are rendered one by one (by `generate` as it writes them,
 * by `plan` alone): each seed is compared as it comes and only its reasons
 * are kept, so memory stays flat however many hosts there are. Open it before
 * anything is written: it reads the earlier output.
 */
export class SeedComparison {
  private readonly hosts: [string, HostPlan][] = [];
  private readonly names: AddressNames;
  private readonly byName: ReadonlyMap<string, Cluster['hosts'][number]>;
  /** Whether the cluster folder holds any seed: a first run reads none of them. */
  private readonly hadSeeds: boolean;
  /** The last seed read, kept for observe(): the renderer reads it first (which token it carries). */
  private lastRead: { host: string; seed: SeedText | undefined } | undefined;

  private constructor(
    private readonly cluster: Cluster,
    private readonly clusterDir: string,
    private readonly previous: PreviousModel | undefined,
  ) {
    this.names = addressNames(cluster, previous);
    this.byName = new Map(cluster.hosts.map((h) => [h.name, h]));
    this.hadSeeds = existsSync(join(clusterDir, 'hosts'));
  }

  static open(cluster: Cluster, clusterDir: string): SeedComparison {
    return new SeedComparison(cluster, clusterDir, readPreviousModel(clusterDir));
  }

  /** A host's seed in the cluster folder as it is (read once for both the renderer and observe()). */
  private previousSeed(host: string): SeedText | undefined {
    if (this.lastRead?.host !== host) this.lastRead = { host, seed: this.hadSeeds ? readSeed(this.clusterDir, host) : undefined };
    return this.lastRead.seed;
  }

  /** The host's user-data in the cluster folder as it is: which bootstrap token it carries (render/hosts.ts, TokenChoice). */
  previousUserData(host: string): string | undefined {
    return this.previousSeed(host)?.userData;
  }

  /** One host's new seed, compared with its old one now: the writer may replace the old tree as soon as it has the last seed. */
  observe(seed: HostSeed): void {
    const host = this.byName.get(seed.host)!;
    const base = { roles: [...host.roles], address: host.address };
    const old = this.previousSeed(seed.host);
    if (!old) {
      this.hosts.push([seed.host, { ...base, action: 'create', reasons: ['a new host'] }]);
      return;
    }
    const reasons = describeSeedChange(old, { userData: seed.userData, networkConfig: seed.networkConfig }, this.names);
    this.hosts.push([seed.host, { ...base, action: reasons.length ? 'reprovision' : 'keep', reasons }]);
  }

  /** The plan, once every seed was observed; `pki` says which credentials were made or replaced. */
  async plan(pki: EnsurePkiResult, membership: Pick<MembershipChange, 'joining' | 'leaving' | 'refounded'>, tokens: BootstrapTokens): Promise<Plan> {
    const { cluster, clusterDir, previous } = this;
    const hosts: Record<string, HostPlan> = Object.fromEntries(this.hosts);
    let anyOld = Object.values(hosts).some((h) => h.action !== 'create');
    for (const gone of previous?.hosts ?? []) {
      if (hosts[gone.name]) continue;
      anyOld = true;
      hosts[gone.name] = { roles: gone.roles, address: gone.address, action: 'remove', reasons: ['no longer in the spec'] };
    }
    const firstRun = !anyOld;
    const changes = firstRun ? [] : [
      ...pki.created.map((c) => ({ item: c.item, change: 'issued' as const, reason: c.reason })),
      ...pki.reissued.map((c) => ({ item: c.item, change: 'reissued' as const, reason: c.reason })),
    ];
    const holders = holdersOf(cluster, new Set(changes.map((c) => c.item)));
    const certificates: CertificateChange[] = changes.map((c) => ({ ...c, holders: holders.get(c.item) ?? [] }));
    if (!firstRun && tokens.made) certificates.push(tokenIssued(cluster, hosts, tokens));
    const { steps, availability, warnings } = orderSteps(cluster, hosts, firstRun, clusterDir, membership);
    if (!firstRun) warnings.push(...supersededTokens(tokens, clusterDir));
    const changed = firstRun || certificates.length > 0 || Object.values(hosts).some((h) => h.action !== 'keep');
    return { cluster: cluster.name, changed, firstRun, hosts, certificates, steps, availability, warnings };
  }
}

/** The bootstrap token made by this change: every new or changed node seed carries it (render/hosts.ts). */
function tokenIssued(cluster: Cluster, hosts: Record<string, HostPlan>, tokens: BootstrapTokens): CertificateChange {
  const reason = tokens.superseded.length && !tokens.migrated ? 'rotated (--rotate bootstrap-token)'
    : tokens.migrated ? 'the first that expires: the earlier one was applied without an expiration'
    : `the last one is more than ${tokens.hours} h old`;
  const nodes = new Set(cluster.hosts.filter(isNode).map((h) => h.name));
  const holders = Object.entries(hosts).filter(([name, h]) => nodes.has(name) && (h.action === 'create' || h.action === 'reprovision')).map(([name]) => name);
  return { item: 'bootstrap-token', change: 'issued', reason: `${reason}; lives ${tokens.hours} h in the cluster from when it is applied`, holders };
}

/** What to delete from the cluster once a token is superseded: by a rotation at once; a legacy one (it never expires) once its nodes joined. */
function supersededTokens(tokens: BootstrapTokens, clusterDir: string): string[] {
  const kubectl = `${operatorKubectl(clusterDir)} -n kube-system delete secret --ignore-not-found`;
  return tokens.superseded.map((t) => t.made === null
    ? `bootstrap token ${t.id} was applied without an expiration (before tokens expired): once every node booted from an earlier seed has joined, delete it: ${kubectl} bootstrap-token-${t.id}`
    : `bootstrap token ${t.id} is superseded by the rotation: delete it from the cluster now: ${kubectl} bootstrap-token-${t.id}`);
}

/** The per-host summary `plan` and `generate` both end with. */
export function describeHostActions(plan: Plan): string[] {
  const entries = Object.entries(plan.hosts);
  if (plan.firstRun) return [`plan: a new cluster: boot all ${entries.length} hosts from their cidata.iso (first boot needs no order)`];
  const by = (action: HostAction) => entries.filter(([, h]) => h.action === action).map(([name]) => name);
  const lines: string[] = [];
  const kept = by('keep');
  for (const action of ['create', 'reprovision', 'remove'] as const) {
    const list = by(action);
    if (list.length) lines.push(`plan: ${action} ${list.join(', ')}`);
  }
  lines.push(kept.length === entries.length
    ? 'plan: no host changes'
    : `plan: keep ${kept.length > 8 ? `${kept.length} hosts` : kept.join(', ') || 'no host'}${lines.length ? `; in the order \`npm run plan\` prints` : ''}`);
  return lines;
}

/** The whole plan as text, for `npm run plan`. */
export function formatPlan(plan: Plan): string {
  const out: string[] = [];
  out.push(`plan for ${plan.cluster}${plan.changed ? '' : ': nothing changes'}`);
  out.push('');
  out.push('hosts:');
  for (const [name, host] of Object.entries(plan.hosts)) {
    out.push(`  ${host.action.padEnd(11)} ${name} (${host.roles.join(', ')}, ${host.address})`);
    if (host.action !== 'create' || !plan.firstRun) for (const reason of host.reasons) out.push(`      ${reason}`);
  }
  if (plan.certificates.length) {
    out.push('', 'certificates and secrets:');
    for (const c of plan.certificates) out.push(`  ${c.change} ${c.item}: ${c.reason}${c.holders.length ? ` (held by ${c.holders.join(', ')})` : ''}`);
  }
  if (plan.steps.length) {
    out.push('', 'steps, in order:');
    plan.steps.forEach((step, i) => {
      out.push(`  ${i + 1}. ${step.title}`);
      for (const command of step.commands) out.push(`       ${command}`);
      if (step.cost) out.push(`       cost: ${step.cost}`);
    });
  }
  if (plan.availability.length) {
    out.push('', 'availability:');
    for (const line of plan.availability) out.push(`  ${line}`);
  }
  if (plan.warnings.length) {
    out.push('', 'warnings:');
    for (const line of plan.warnings) out.push(`  ${line}`);
  }
  return `${out.join('\n')}\n`;
}
