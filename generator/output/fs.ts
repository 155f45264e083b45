/**
 * The file-system calls of the writers (output tree, state folder, lock), in
 * one place so that a test can stop the process at any one of them: before
 * each call that changes the disk, `fileSystemCalls.beforeChange` is called
 * with its name and path. It does nothing unless a test sets it
 * (test/lib/kill-at.mjs kills the process there with SIGKILL).
 *
 * Reads are not announced: a process killed before a read leaves the disk as
 * it is before the next change.
 *
 * The output tree's files are written with the synchronous calls: tens of
 * thousands of small files, where a trip through the thread pool and a
 * promise per call cost more than the call itself.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

export interface FileSystemCalls { beforeChange: (call: string, path: string) => void }

// Kept on globalThis so that a hook preloaded before the bundled CLI (bin/ha-k8s-seed.mjs) reaches it.
const KEY = Symbol.for('ha-k8s-seed.fileSystemCalls');
const slot = globalThis as { [KEY]?: FileSystemCalls };
export const fileSystemCalls: FileSystemCalls = (slot[KEY] ??= { beforeChange: () => {} });

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function announced<F extends (...args: any[]) => unknown>(call: string, fn: F): F {
  const wrapped = (...args: Parameters<F>) => {
    fileSystemCalls.beforeChange(call, String(args[0]));
    return fn(...args);
  };
  return wrapped as unknown as F;
}

export const mkdir = announced('mkdir', fsp.mkdir);
export const writeFile = announced('writeFile', fsp.writeFile);
export const chmod = announced('chmod', fsp.chmod);
export const link = announced('link', fsp.link);
export const rename = announced('rename', fsp.rename);
export const rm = announced('rm', fsp.rm);
export const unlink = announced('unlink', fsp.unlink);
export const rmdir = announced('rmdir', fsp.rmdir);
export const { lstat, readFile, readdir, open } = fsp;
export const mkdirSync = announced('mkdir', fs.mkdirSync);
export const writeFileSync = announced('writeFile', fs.writeFileSync);
export const chmodSync = announced('chmod', fs.chmodSync);
export const linkSync = announced('link', fs.linkSync);
export const { lstatSync, readFileSync } = fs;

/**
 * mkdir -p, one level at a time, each new folder 0755 (less under a stricter
 * umask, never world-writable under umask 000). Node's recursive mkdir
 * retries for ever where the parent exists but refuses new entries (/proc,
 * /sys: ENOENT on the child, EEXIST on the parent); this fails at once.
 */
export async function makeDirs(dir: string): Promise<string[]> {
  const missing: string[] = [];
  for (let d = resolve(dir); !(await fsp.lstat(d).then(() => true, () => false)); d = dirname(d)) {
    missing.push(d);
    if (dirname(d) === d) break;
  }
  const made: string[] = [];
  for (const d of missing.reverse()) {
    try {
      await mkdir(d, { mode: 0o755 });
      made.push(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return made;
}
