/**
 * The folders around a tree that writeTree swaps in with two renames, and
 * what a later run does with those a killed run left behind:
 *
 *   <parent>/<name>                   the tree
 *   <parent>/.<name>.staging-<pid>    the next tree, being built
 *   <parent>/.<name>.previous         the tree before, between the two renames
 *
 * Callers hold the run's lock (state/lock.ts) around all of it, so any staging
 * folder found is a dead run's.
 */
import { basename, dirname, join } from 'node:path';
import { lstat, open, readdir, rename, rm } from './fs.ts';

export interface SwapPaths { staging: string; previous: string }

export function swapPaths(target: string, pid: number = process.pid): SwapPaths {
  const parent = dirname(target);
  const name = basename(target);
  return { staging: join(parent, `.${name}.staging-${pid}`), previous: join(parent, `.${name}.previous`) };
}

export async function exists(path: string): Promise<boolean> {
  try { await lstat(path); return true; } catch { return false; }
}

/** Staging folders of the tree, by path: a run's own and those left by killed runs. */
async function stagingFolders(target: string): Promise<string[]> {
  const parent = dirname(target);
  const prefix = `.${basename(target)}.staging-`;
  let names: string[];
  try { names = await readdir(parent); } catch { return []; }
  return names.filter((n) => n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length))).sort().map((n) => join(parent, n));
}

/** Every folder that shows the tree was written before: the tree itself, its previous copy, staging folders. */
export async function tracesOf(target: string): Promise<string[]> {
  const { previous } = swapPaths(target);
  const found: string[] = [];
  for (const path of [target, previous]) if (await exists(path)) found.push(path);
  return [...found, ...(await stagingFolders(target))];
}

/**
 * Undoes what a run killed between the two renames left: the previous tree
 * is put back when the tree is missing, and dropped when the new tree made it.
 * Returns what it did, for the run's log.
 */
export async function recoverInterruptedSwap(target: string): Promise<string | undefined> {
  const { previous } = swapPaths(target);
  if (!(await exists(previous))) return undefined;
  if (!(await exists(target))) {
    await rename(previous, target);
    return `put back ${target} from ${previous}, left by a run killed while swapping it in`;
  }
  await rm(previous, { recursive: true, force: true });
  return `removed ${previous}, left by a run killed after swapping ${target} in`;
}

/** Removes the staging folders of killed runs (they may hold private keys); returns their paths. */
export async function removeLeftoverStaging(target: string): Promise<string[]> {
  const folders = await stagingFolders(target);
  for (const folder of folders) await rm(folder, { recursive: true, force: true });
  return folders;
}

/** fsync one file or folder. */
export async function syncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try { await handle.sync(); } finally { await handle.close(); }
}

/** fsyncs in flight at once: the thread pool's 4 threads kept busy, and the file system commits its journal for several at a time. */
const SYNC_LANES = 16;

/** fsync every file and folder of a tree, so that the tree renamed in afterwards survives a power cut. */
export async function syncTree(root: string): Promise<void> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const paths = [...entries.map((e) => join(e.parentPath, e.name)), root];
  let next = 0;
  const lane = async () => { while (next < paths.length) await syncPath(paths[next++]!); };
  await Promise.all(Array.from({ length: SYNC_LANES }, lane));
}
