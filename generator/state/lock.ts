/**
 * One run at a time: a lock file beside what the run writes, holding who
 * holds it. A second run fails fast and names the holder; the lock of a
 * process that is gone is taken over.
 *
 * The lock is taken with link(2), which creates the lock file whole or not at
 * all. Taking over a stale lock goes through a second, short-lived file made
 * with O_EXCL (`<lock>.takeover`): only its holder may remove a stale lock,
 * and it checks again that the lock is still the stale one before it does, so
 * two runs that both find a dead holder never both end up holding the lock.
 */
import { constants } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { link, makeDirs, mkdir, readFile, readdir, rmdir, unlink, writeFile } from '../output/fs.ts';

export interface LockHolder {
  pid: number;
  host: string;
  /** When the holder took the lock (ISO 8601). */
  since: string;
  /** The holder's process start time in clock ticks (/proc/<pid>/stat), so a reused pid is not taken for it. */
  processStart?: string;
  command: string;
}

/** Another run holds the lock. */
export class LockHeldError extends Error {
  constructor(readonly lockPath: string, readonly holder: LockHolder | undefined) {
    super(holder
      ? `${lockPath}: another run holds this cluster (pid ${holder.pid} on ${holder.host}, since ${holder.since}: ${holder.command}); wait for it to finish${holder.host === hostname() ? '' : `, or, if that run is gone, delete ${lockPath}`}`
      : `${lockPath}: another run is taking over this cluster's lock; try again in a moment (if this persists, no run is active: delete ${lockPath}.takeover)`);
    this.name = 'LockHeldError';
  }
}

export interface Lock { path: string; release: () => Promise<void> }

async function processStart(pid: number | 'self'): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime); the command name before it is in parentheses and may hold spaces.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Whether the holder is certainly gone: only provable for a process of this host. */
async function isGone(holder: LockHolder): Promise<boolean> {
  if (holder.host !== hostname()) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  // Alive, unless the pid now belongs to another process.
  const start = await processStart(holder.pid);
  return holder.processStart !== undefined && start !== undefined && start !== holder.processStart;
}

async function readHolder(path: string): Promise<LockHolder | undefined> {
  try { return JSON.parse(await readFile(path, 'utf8')) as LockHolder; } catch { return undefined; }
}

const isCode = (err: unknown, code: string) => (err as NodeJS.ErrnoException).code === code;

/** Our own candidate lock files (`<lock>.<pid>`) that dead runs left behind. */
async function removeDeadCandidates(lockPath: string): Promise<void> {
  const prefix = `${basename(lockPath)}.`;
  let names: string[];
  try { names = await readdir(dirname(lockPath)); } catch { return; }
  for (const name of names) {
    const pid = Number(name.slice(prefix.length));
    if (!name.startsWith(prefix) || !Number.isInteger(pid) || pid === process.pid) continue;
    const holder = await readHolder(join(dirname(lockPath), name));
    if (holder && await isGone(holder)) await unlink(join(dirname(lockPath), name)).catch(() => {});
  }
}

/**
 * Takes the lock at `lockPath` or throws LockHeldError. `command` says what
 * the run does, for the message another run prints.
 */
export async function acquireLock(lockPath: string, command: string): Promise<Lock> {
  // A folder made only to hold the lock (out/ on a first run) goes with it if the run left
  // nothing else there: a refused run writes nothing.
  const made = await makeDirs(dirname(lockPath));
  const unmake = async () => { for (const d of made.reverse()) await rmdir(d).catch(() => {}); };
  await removeDeadCandidates(lockPath);
  const me: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), processStart: await processStart('self'), command };
  const candidate = `${lockPath}.${process.pid}`;
  await writeFile(candidate, `${JSON.stringify(me)}\n`, { mode: 0o644 });
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await link(candidate, lockPath);
        return { path: lockPath, release: async () => { await unlink(lockPath).catch(() => {}); await unmake(); } };
      } catch (err) {
        if (!isCode(err, 'EEXIST')) throw err;
      }
      const holder = await readHolder(lockPath);
      if (holder === undefined || !(await isGone(holder))) {
        // Unreadable: being replaced by a run taking over; otherwise alive.
        if (holder !== undefined) throw new LockHeldError(lockPath, holder);
        continue;
      }
      await takeOverStale(lockPath, holder);
    }
    throw new LockHeldError(lockPath, await readHolder(lockPath));
  } finally {
    await unlink(candidate).catch(() => {});
  }
}

/** Removes the lock of a process that is gone, if it still is that one; a live holder's lock is never removed. */
async function takeOverStale(lockPath: string, stale: LockHolder): Promise<void> {
  const takeover = `${lockPath}.takeover`;
  try {
    await writeFile(takeover, `${process.pid}\n`, { flag: constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, mode: 0o644 });
  } catch (err) {
    if (isCode(err, 'EEXIST')) throw new LockHeldError(lockPath, undefined);
    throw err;
  }
  try {
    const now = await readHolder(lockPath);
    if (now && now.pid === stale.pid && now.since === stale.since && now.host === stale.host) await unlink(lockPath);
  } finally {
    await unlink(takeover);
  }
}
