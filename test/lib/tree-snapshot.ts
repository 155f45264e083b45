/** What "left exactly as it was" means for a folder, for tests that promise a run writes nothing. */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every file under a folder with its bytes, mode, inode and mtime; every folder with its mode. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    const s = statSync(path);
    out[path] = entry.isFile()
      ? `${s.mode.toString(8)} ${s.ino} ${s.mtimeMs} ${readFileSync(path).toString('base64')}`
      : `dir ${s.mode.toString(8)}`;
  }
  return out;
}
