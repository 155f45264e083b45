/**
 * Writing the output tree: the only place that writes the cluster folder.
 *
 * The new tree is built next to the old one and swapped in with two renames,
 * so a failed or interrupted run leaves the previous tree as it was. Files
 * whose bytes did not change are hard-linked from the previous tree rather
 * than rewritten: they keep their inode and mtime, and regeneration costs
 * little more than a comparison.
 */
import { constants } from 'node:fs';
import { chmod, link, lstat, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';

export interface OutputFile {
  /** Path inside the cluster folder, with forward slashes: hosts/k8s-master1/user-data. */
  path: string;
  content: string | Uint8Array;
  /** 0o600 for anything that holds a secret; 0o644 otherwise. */
  mode: number;
}

export interface WriteReport { written: string[]; unchanged: string[]; removed: string[] }

async function exists(path: string): Promise<boolean> {
  try { await lstat(path); return true; } catch { return false; }
}

async function listFiles(root: string): Promise<string[]> {
  if (!(await exists(root))) return [];
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath, e.name)).split('\\').join('/'));
}

function sameBytes(a: Uint8Array, b: string | Uint8Array): boolean {
  const other = typeof b === 'string' ? Buffer.from(b) : b;
  return a.length === other.length && Buffer.compare(a, other) === 0;
}

/**
 * mkdir -p, one level at a time. Node's recursive mkdir retries for ever
 * where the parent exists but refuses new entries (/proc, /sys: ENOENT on
 * the child, EEXIST on the parent); this fails at once with the error.
 */
export async function makeDirs(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let d = resolve(dir); !(await exists(d)); d = dirname(d)) {
    missing.push(d);
    if (dirname(d) === d) break;
  }
  for (const d of missing.reverse()) {
    try {
      await mkdir(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/** Leftovers of a run that died between the two renames: put the previous tree back. */
async function recover(target: string, previous: string): Promise<void> {
  if (!(await exists(target)) && (await exists(previous))) await rename(previous, target);
  else if (await exists(previous)) await rm(previous, { recursive: true, force: true });
}

export interface WriteOptions {
  /**
   * Files of the previous tree that survive even when this run does not list
   * them: a safety net for what must never be lost by accident (the PKI).
   */
  preserve?: (path: string) => boolean;
}

export async function writeTree(target: string, files: readonly OutputFile[], options: WriteOptions = {}): Promise<WriteReport> {
  const parent = dirname(target);
  const name = basename(target);
  const staging = join(parent, `.${name}.staging-${process.pid}`);
  const previous = join(parent, `.${name}.previous`);
  await makeDirs(parent);
  await recover(target, previous);

  const report: WriteReport = { written: [], unchanged: [], removed: [] };
  const wanted = new Set(files.map((f) => f.path));
  try {
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true, mode: 0o700 });
    const dirs = new Set(files.map((f) => dirname(join(staging, f.path))));
    await Promise.all([...dirs].map((d) => mkdir(d, { recursive: true, mode: 0o700 })));
    await Promise.all(files.map(async (file) => {
      const old = join(target, file.path);
      const fresh = join(staging, file.path);
      let same = false;
      try {
        const stat = await lstat(old);
        same = stat.isFile() && (stat.mode & 0o777) === file.mode && sameBytes(await readFile(old), file.content);
      } catch { /* not there before */ }
      if (same) {
        await link(old, fresh);
        report.unchanged.push(file.path);
      } else {
        await writeFile(fresh, file.content, { mode: file.mode, flag: constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY });
        await chmod(fresh, file.mode); // the umask may have narrowed it
        report.written.push(file.path);
      }
    }));
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
    await chmod(staging, 0o755);
    if (await exists(target)) await rename(target, previous);
    await rename(staging, target);
    await rm(previous, { recursive: true, force: true });
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    await recover(target, previous);
    throw err;
  }
  report.written.sort();
  report.unchanged.sort();
  report.removed.sort();
  return report;
}
