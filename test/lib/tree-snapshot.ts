/**
 * Folder trees as values a test can compare, by path relative to the folder:
 * snapshot() for "left exactly as it was" (a run that promises to write
 * nothing), treeContents() for "holds the same as" (a copy, somewhere else).
 */
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';

type Describe = (path: string, s: Stats) => string;

function tree(dir: string, file: Describe, folder: Describe): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  // Sorted: two snapshots of the same tree list their entries in the same order.
  for (const path of readdirSync(dir, { recursive: true, withFileTypes: true }).map((e) => join(e.parentPath, e.name)).sort()) {
    const s = lstatSync(path);
    out[path.slice(dir.length + 1)] = s.isFile() ? file(path, s) : s.isDirectory() ? folder(path, s) : `link ${readlinkSync(path)}`;
  }
  return out;
}

const mode = (s: Stats) => (s.mode & 0o7777).toString(8);

/**
 * Every entry under a folder: a file's mode, inode, mtime and bytes, a
 * folder's mode, a link's target. Equal snapshots of one folder mean nothing
 * in it was written, not even the same bytes again. Empty when the folder
 * does not exist.
 */
export function snapshot(dir: string): Record<string, string> {
  return tree(dir, (path, s) => `file ${mode(s)} ${s.ino} ${s.mtimeMs} ${readFileSync(path).toString('base64')}`, (_, s) => `dir ${mode(s)}`);
}

/**
 * What a folder holds: a file's mode and bytes, a folder, a link's target;
 * no inode or time, so that a copy elsewhere compares equal. Empty when the
 * folder does not exist.
 */
export function treeContents(dir: string): Record<string, string> {
  return tree(dir, (path, s) => `file ${mode(s)} ${readFileSync(path).toString('base64')}`, () => 'dir');
}
