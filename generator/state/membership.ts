/**
 * The etcd membership record in the cluster's state folder
 * (model/etcd-membership.ts says what it means): read at the start of a run,
 * written with the rest of the state.
 */
import { readStateText } from './read.ts';
import { join } from 'node:path';
import { MEMBERSHIP_FILE, membershipText, parseMembership, type MembershipRecord } from '../model/etcd-membership.ts';
import type { OutputFile } from '../output/tree.ts';
import { PkiError } from '../pki/outcome.ts';

/** The record, or undefined when the state has none (a new cluster, or one made before membership was recorded). */
export async function readMembership(stateDir: string): Promise<MembershipRecord | undefined> {
  const path = join(stateDir, MEMBERSHIP_FILE);
  const text = await readStateText(path);
  if (text === undefined) return undefined;
  const record = parseMembership(text);
  if (typeof record === 'string') {
    throw new PkiError([{ file: path, message: `${record}; restore it from your backup of ${stateDir}, or delete it to count every etcd member of the spec as a founder` }]);
  }
  return record;
}

export function membershipFile(record: MembershipRecord): OutputFile {
  return { path: MEMBERSHIP_FILE, content: membershipText(record), mode: 0o644 };
}
