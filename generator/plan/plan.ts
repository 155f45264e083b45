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
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Cluster, Role } from '../model/types.ts';
import { hostsHolding } from '../pki/access.ts';
import type { EnsurePkiResult } from '../pki/ensure.ts';
import type { HostSeed } from '../render/hosts.ts';
import { describeSeedChange, type AddressNames, type SeedText } from './seed-diff.ts';
import type { MembershipChange } from '../model/etcd-membership.ts';
import { orderSteps, type PlanStep } from './steps.ts';

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

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function readPreviousModel(clusterDir: string): Promise<PreviousModel | undefined> {
  const text = await readText(join(clusterDir, 'model.json'));
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as PreviousModel;
  } catch {
    return undefined;
  }
}

async function readSeed(clusterDir: string, host: string): Promise<SeedText | undefined> {
  const dir = join(clusterDir, 'hosts', host);
  const userData = await readText(join(dir, 'user-data'));
  const networkConfig = await readText(join(dir, 'network-config'));
  return userData === undefined || networkConfig === undefined ? undefined : { userData, networkConfig };
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
  private readonly pending: Promise<[string, HostPlan]>[] = [];
  private readonly names: AddressNames;

  private constructor(
    private readonly cluster: Cluster,
    private readonly clusterDir: string,
    private readonly previous: PreviousModel | undefined,
  ) {
    this.names = addressNames(cluster, previous);
  }

  static async open(cluster: Cluster, clusterDir: string): Promise<SeedComparison> {
    return new SeedComparison(cluster, clusterDir, await readPreviousModel(clusterDir));
  }

  /** One host's new seed; compared with its old one in the background. */
  observe(seed: HostSeed): void {
    const host = this.cluster.hosts.find((h) => h.name === seed.host)!;
    const base = { roles: [...host.roles], address: host.address };
    const names = this.names;
    this.pending.push(readSeed(this.clusterDir, seed.host).then((old): [string, HostPlan] => {
      if (!old) return [seed.host, { ...base, action: 'create', reasons: ['a new host'] }];
      const reasons = describeSeedChange(old, { userData: seed.userData, networkConfig: seed.networkConfig }, names);
      return [seed.host, { ...base, action: reasons.length ? 'reprovision' : 'keep', reasons }];
    }));
  }

  /** The plan, once every seed was observed; `pki` says which credentials were made or replaced. */
  async plan(pki: EnsurePkiResult, membership: Pick<MembershipChange, 'joining' | 'leaving' | 'refounded'>): Promise<Plan> {
    const { cluster, clusterDir, previous } = this;
    const hosts: Record<string, HostPlan> = Object.fromEntries(await Promise.all(this.pending));
    let anyOld = Object.values(hosts).some((h) => h.action !== 'create');
    for (const gone of previous?.hosts ?? []) {
      if (hosts[gone.name]) continue;
      anyOld = true;
      hosts[gone.name] = { roles: gone.roles, address: gone.address, action: 'remove', reasons: ['no longer in the spec'] };
    }
    const firstRun = !anyOld;
    const certificates: CertificateChange[] = firstRun ? [] : [
      ...pki.created.map((c) => ({ item: c.item, change: 'issued' as const, reason: c.reason })),
      ...pki.reissued.map((c) => ({ item: c.item, change: 'reissued' as const, reason: c.reason })),
    ].map((c) => ({ ...c, holders: hostsHolding(cluster, new Set([c.item])) }));
    const { steps, availability, warnings } = orderSteps(cluster, hosts, firstRun, clusterDir, membership);
    const changed = firstRun || certificates.length > 0 || Object.values(hosts).some((h) => h.action !== 'keep');
    return { cluster: cluster.name, changed, firstRun, hosts, certificates, steps, availability, warnings };
  }
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
