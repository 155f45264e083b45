/**
 * etcd membership over a cluster's life. A member's seed starts etcd with
 * the initial cluster it joins: the founders start together
 * (`--initial-cluster-state=new`, every founder listed); a member added to a
 * running cluster starts with `--initial-cluster-state=existing` and the
 * members it joins, after `etcdctl member add`. etcd reads these flags only
 * on a member's first start, so a member keeps the ones it was born with:
 * adding or removing another member changes no other member's seed.
 *
 * The cluster's state records each member's flags and when it came
 * (`etcd-members.json`): the spec says who the members are now, the record
 * who they were, and the difference is who joins and who leaves.
 */
import { PROVISION_TIERS, provisionTier, type Cluster, type EtcdMember } from './types.ts';

export const MEMBERSHIP_FILE = 'etcd-members.json';

export interface RecordedMember {
  name: string;
  peerUrl: string;
  /** `founding` for the cluster's first members; otherwise the UTC day `generate` first made its seed. */
  since: string;
  initialCluster: string;
  initialClusterState: 'new' | 'existing';
}

export interface MembershipRecord {
  version: 1;
  members: RecordedMember[];
}

export interface MembershipChange {
  /** The model, each member with the flags it starts with. */
  cluster: Cluster;
  /** What the state records from now on. */
  record: MembershipRecord;
  /** Members added to the running cluster, in the order they must join. */
  joining: string[];
  /** Recorded members the spec no longer has. */
  leaving: string[];
  /** Set when no recorded member stays: the spec describes a new etcd cluster. */
  refounded: boolean;
}

/** The record as the state holds it, or a problem in words. */
export function parseMembership(text: string): MembershipRecord | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `not JSON (${(error as Error).message})`;
  }
  const record = value as MembershipRecord;
  const fields = ['name', 'peerUrl', 'since', 'initialCluster', 'initialClusterState'] as const;
  if (record?.version !== 1 || !Array.isArray(record.members)) return 'not an etcd membership record (version 1, members[])';
  for (const [i, m] of record.members.entries()) {
    const missing = fields.filter((f) => typeof m?.[f] !== 'string');
    if (missing.length) return `members[${i}] lacks ${missing.join(', ')}`;
    if (m.initialClusterState !== 'new' && m.initialClusterState !== 'existing') return `members[${i}].initialClusterState is "${m.initialClusterState}"`;
  }
  return record;
}

export function membershipText(record: MembershipRecord): string {
  return `${JSON.stringify(record, null, 2)}\n`;
}

const entry = (m: Pick<EtcdMember, 'name' | 'peerUrl'>) => `${m.name}=${m.peerUrl}`;

/**
 * The members' flags given what the state recorded (none: the cluster is new,
 * or was made before membership was recorded, when every member was a
 * founder). A member is the same member while its name and peer URL are.
 */
export function applyMembership(cluster: Cluster, recorded: MembershipRecord | undefined, now: Date): MembershipChange {
  const spec = cluster.etcd.members;
  const founders = (): MembershipChange => {
    const members = spec.map((m) => ({ ...m, initialCluster: cluster.etcd.initialCluster, initialClusterState: 'new' as const }));
    return {
      cluster: withMembers(cluster, members),
      record: { version: 1, members: members.map((m) => record(m, 'founding')) },
      joining: [],
      leaving: [],
      refounded: recorded !== undefined,
    };
  };
  if (!recorded) return founders();

  const isSpecMember = (r: RecordedMember) => spec.some((m) => m.name === r.name && m.peerUrl === r.peerUrl);
  const staying = recorded.members.filter(isSpecMember);
  const leaving = recorded.members.filter((r) => !isSpecMember(r)).map((r) => r.name);
  if (staying.length === 0) return { ...founders(), leaving };

  const day = now.toISOString().slice(0, 10);
  const tier = (m: EtcdMember) => PROVISION_TIERS.indexOf(provisionTier(cluster.hosts.find((h) => h.name === m.name)!.roles));
  // Joiners in the order plan provisions them: by tier, then as the spec lists them (the sort is stable).
  const joining = spec.filter((m) => !staying.some((r) => r.name === m.name)).sort((a, b) => tier(a) - tier(b));
  // The running cluster as each joiner finds it: every recorded member (those leaving
  // are removed after the joiners), except one of the joiner's own name, which leaves
  // just before it (a member replaced in place), and the joiners before it.
  const running = recorded.members.map((r) => ({ name: r.name, peerUrl: r.peerUrl }));
  const joined = new Map<string, EtcdMember>();
  for (const m of joining) {
    const same = running.findIndex((r) => r.name === m.name);
    if (same >= 0) running.splice(same, 1);
    running.push({ name: m.name, peerUrl: m.peerUrl });
    joined.set(m.name, { ...m, initialCluster: running.map(entry).join(','), initialClusterState: 'existing' });
  }
  const records: RecordedMember[] = [];
  const members = spec.map((m) => {
    const known = staying.find((r) => r.name === m.name);
    if (known) {
      records.push(known);
      return { ...m, initialCluster: known.initialCluster, initialClusterState: known.initialClusterState };
    }
    const member = joined.get(m.name)!;
    records.push(record(member, day));
    return member;
  });
  return { cluster: withMembers(cluster, members), record: { version: 1, members: records }, joining: joining.map((m) => m.name), leaving, refounded: false };
}

function record(m: EtcdMember, since: string): RecordedMember {
  return { name: m.name, peerUrl: m.peerUrl, since, initialCluster: m.initialCluster, initialClusterState: m.initialClusterState };
}

function withMembers(cluster: Cluster, members: EtcdMember[]): Cluster {
  return { ...cluster, etcd: { ...cluster.etcd, members } };
}
