/**
 * The cluster's packer/ folder written as the output holds it, and Debian's
 * packer run on it with no network at all (unshare -n) and no checkpoint
 * call. Packer 1.6 does not know `required_plugins` (why plugins.pkr.hcl is a
 * file of its own), so the folder leaves that file out unless asked.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Cluster } from '../../generator/model/types.ts';
import { renderPacker } from '../../generator/render/packer.ts';
import { run, type Ran } from './run.ts';

/** renderPacker's files under `dir` (emptied first), as under out/<cluster>/packer/; returns `dir`. */
export function writePackerFolder(dir: string, cluster: Cluster, o: { plugins?: boolean } = {}): string {
  rmSync(dir, { recursive: true, force: true });
  for (const f of renderPacker(cluster)) {
    if (f.path === 'packer/plugins.pkr.hcl' && !o.plugins) continue;
    const path = join(dir, f.path.replace(/^packer\//, ''));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, f.content, { mode: f.mode });
  }
  return dir;
}

/** `packer ARGS...` in `dir`, its cache beside `dir`. */
export function packer(dir: string, args: readonly string[], input?: string): Ran {
  return run('unshare', ['-n', 'packer', ...args], {
    cwd: dir, input, env: { ...process.env, CHECKPOINT_DISABLE: '1', PACKER_CACHE_DIR: join(dirname(dir), 'packer-cache') },
  });
}

/** `expression` as Packer evaluates it in `dir` (packer console), with `args` (-var ...) before the folder. */
export function packerConsole(dir: string, expression: string, args: readonly string[] = []): Ran {
  return packer(dir, ['console', ...args, '.'], `${expression}\n`);
}
