/**
 * Writing the output tree: the only place that writes the cluster folder.
 *
 * The new tree is built next to the old one and swapped in with two renames,
 * so a failed or interrupted run leaves the previous tree as it was. Files
 * whose bytes did not change are hard-linked from the previous tree rather
 * than rewritten: they keep their inode and mtime, and regeneration costs
 * little more than a comparison.
 */
import { dirname, join, relative } from 'node:path';
import { chmod, chmodSync, link, linkSync, lstatSync, makeDirs, mkdir, mkdirSync, readdir, readFileSync, rename, rm, writeFileSync } from './fs.ts';
import { exists, recoverInterruptedSwap, swapPaths, syncPath, syncTree } from './swap.ts';

export interface OutputFile {
  /** Path inside the cluster folder, with forward slashes: hosts/k8s-master1/user-data. */
  path: string;
  content: string | Uint8Array;
  /** 0o600 for anything that holds a secret; 0o644 otherwise. */
  mode: number;
}

export interface WriteReport { written: string[]; unchanged: string[]; removed: string[] }

async function listFiles(root: string): Promise<string[]> {
  if (!(await exists(root))) return [];
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)).split('\\').join('/'));
}

/** Whether the file at `path` holds exactly `bytes`: its size first (from the lstat already made), then its bytes, read only when the sizes agree. */
function sameBytes(path: string, size: number, bytes: Uint8Array): boolean {
  return size === bytes.length && readFileSync(path).equals(bytes);
}

export interface WriteOptions {
  /**
   * Files of the previous tree that survive even when this run does not list
   * them: a safety net for what must never be lost by accident (the PKI).
   */
  preserve?: (path: string) => boolean;
  /** Mode of the tree's top folder: 0o755 by default, 0o700 for a folder that is secret as a whole. */
  topMode?: number;
  /** fsync the new tree before it is swapped in: for state that must survive a power cut. */
  durable?: boolean;
}

/**
 * `files` may be produced lazily (a generator rendering host after host):
 * each is written as it comes, so memory holds one file, not the tree, and
 * one descriptor is open at a time.
 */
export async function writeTree(target: string, files: Iterable<OutputFile> | AsyncIterable<OutputFile>, options: WriteOptions = {}): Promise<WriteReport> {
  const { staging, previous } = swapPaths(target);
  // 0755 whatever the umask: under umask 000 the folders above the tree would be world-writable.
  await makeDirs(dirname(target));
  await recoverInterruptedSwap(target);

  const report: WriteReport = { written: [], unchanged: [], removed: [] };
  const wanted = new Set<string>();
  // Folders are made once each, the first time a file needs one, parent first:
  // one plain mkdir per folder (a recursive one checks every level every time).
  const folders = new Set<string>([staging]);
  const folder = (dir: string): void => {
    if (folders.has(dir)) return;
    folder(dirname(dir));
    mkdirSync(dir, { mode: 0o700 });
    folders.add(dir);
  };
  // A first generation has no old files to compare with.
  const hadTree = await exists(target);
  const umask = process.umask();
  const writeOne = (file: OutputFile) => {
    const old = join(target, file.path);
    const fresh = join(staging, file.path);
    const bytes = typeof file.content === 'string' ? Buffer.from(file.content) : file.content;
    folder(dirname(fresh));
    let same = false;
    if (hadTree) {
      try {
        const stat = lstatSync(old);
        same = stat.isFile() && (stat.mode & 0o777) === file.mode && sameBytes(old, stat.size, bytes);
      } catch { /* not there before */ }
    }
    if (same) {
      linkSync(old, fresh);
      report.unchanged.push(file.path);
    } else {
      writeFileSync(fresh, bytes, { mode: file.mode, flag: 'wx' }); // never through a file or link already there
      if (file.mode & umask) chmodSync(fresh, file.mode); // the umask narrowed it
      report.written.push(file.path);
    }
  };
  try {
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true, mode: 0o700 });
    for await (const file of files) {
      if (wanted.has(file.path)) throw new Error(`two output files at ${file.path}`);
      wanted.add(file.path);
      writeOne(file);
    }
    const leftOver = (await listFiles(target)).filter((p) => !wanted.has(p));
    for (const path of leftOver) {
      if (options.preserve?.(path)) {
        await mkdir(dirname(join(staging, path)), { recursive: true, mode: 0o700 });
        await link(join(target, path), join(staging, path));
        report.unchanged.push(path);
      } else {
        report.removed.push(path);
      }
    }

    // Folders holding secrets stay private; the others can be read by the operator's tools.
    await chmod(staging, options.topMode ?? 0o755);
    if (options.durable) await syncTree(staging);
    if (await exists(target)) await rename(target, previous);
    await rename(staging, target);
    if (options.durable) await syncPath(dirname(target));
    await rm(previous, { recursive: true, force: true });
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    await recoverInterruptedSwap(target);
    throw err;
  }
  report.written.sort();
  report.unchanged.sort();
  report.removed.sort();
  return report;
}
