/**
 * Throwaway Debian roots for tests that run real tools inside a whole system
 * (cloud-init applying user-data, the Packer install script, the boot lab).
 *
 * A root is built once with debootstrap from Debian's mirror and cached by
 * its package list; each test works on its own copy. Building takes minutes
 * the first time, so the cache survives between runs (and CI runs).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx';

export const CACHE_DIR = process.env.HA_K8S_SEED_CACHE ?? '/var/cache/ha-k8s-seed';
const SUITE = 'bookworm';
const MIRROR = 'http://deb.debian.org/debian';

async function withLock<T>(lockDir: string, fn: () => Promise<T>): Promise<T> {
  // mkdir is atomic: whoever creates the folder builds; the others wait for it.
  for (let waited = 0; ; waited++) {
    try {
      await mkdir(lockDir);
      break;
    } catch {
      if (waited > 1800) throw new Error(`debian-root: ${lockDir} held for 30 minutes; remove it if no build runs`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try { return await fn(); } finally { await rm(lockDir, { recursive: true, force: true }); }
}

/**
 * A cached Debian 12 root with `packages` installed (minbase + these). Do not
 * modify it: copy it with throwawayCopy() first.
 */
export async function debianRoot(name: string, packages: readonly string[]): Promise<string> {
  const sorted = [...new Set(packages)].sort();
  const key = createHash('sha256').update(`${SUITE}\n${sorted.join('\n')}`).digest('hex').slice(0, 12);
  const root = join(CACHE_DIR, 'roots', `${name}-${key}`);
  if (existsSync(join(root, '.complete'))) return root;
  await mkdir(join(CACHE_DIR, 'roots'), { recursive: true });
  return withLock(`${root}.lock`, async () => {
    if (existsSync(join(root, '.complete'))) return root;
    const building = `${root}.building`;
    await rm(building, { recursive: true, force: true });
    await $({ quiet: true })`debootstrap --variant=minbase ${SUITE} ${building} ${MIRROR}`;
    // No service may start while packages are installed, here or later in a copy.
    await writeFile(join(building, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
    // Packages go in with apt, not debootstrap's --include: only apt resolves
    // virtual packages (cloud-init's python3-cryptography needs one).
    if (sorted.length) {
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
      await $({ quiet: true, env })`chroot ${building} apt-get install -y -qq --no-install-recommends ${sorted}`;
    }
    await $({ quiet: true })`chroot ${building} apt-get clean`;
    await writeFile(join(building, '.complete'), `${sorted.join('\n')}\n`);
    await rm(root, { recursive: true, force: true });
    await rename(building, root);
    return root;
  });
}

/** A private copy of a cached root, removed by the returned cleanup. */
export async function throwawayCopy(root: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const parent = await mkdtemp(join(tmpdir(), 'ha-k8s-seed-root-'));
  const dir = join(parent, 'root');
  await $({ quiet: true })`cp -a --reflink=auto ${root} ${dir}`;
  return {
    dir,
    cleanup: async () => {
      // Anything a test mounted inside goes first; then the files.
      await $({ quiet: true, nothrow: true })`sh -c ${`grep -o " ${dir}[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l`}`;
      await rm(parent, { recursive: true, force: true });
    },
  };
}
