/**
 * The cluster's durable state: its CAs, keys and secrets, everything that
 * cannot be made again without re-provisioning every host. It lives in its own
 * folder, by default `<cluster>.pki/` beside the spec (as Talos keeps
 * secrets.yaml apart from the configs it renders), never inside the
 * disposable output tree: deleting out/ loses nothing.
 *
 * openState() is the start of every `generate` run, before anything is read:
 * it takes the run's locks, puts back a tree a killed run left half-swapped,
 * removes staging folders of killed runs, and decides where the PKI is read
 * from: the state folder, an out/<cluster>/pki/ of an earlier version (moved
 * to the state folder by this run), or nothing at all, a new cluster, which is
 * allowed only when no trace of the cluster exists.
 */
import { dirname, join, relative } from 'node:path';
import { readFile, readdir, lstat } from '../output/fs.ts';
import { exists, recoverInterruptedSwap, removeLeftoverStaging, swapPaths, tracesOf } from '../output/swap.ts';
import type { OutputFile } from '../output/tree.ts';
import { CA_NAMES, CA_PROFILES } from '../pki/profiles.ts';
import { PkiError } from '../pki/ensure.ts';
import { acquireLock, type Lock } from './lock.ts';

/** How the state folder is written: nothing it held is dropped, private as a whole, fsynced before the swap. */
export const STATE_WRITE = { preserve: () => true, topMode: 0o700, durable: true } as const;

/** Where the state of a cluster is kept unless `--state` says otherwise. */
export function defaultStateDir(specFile: string, clusterName: string): string {
  return join(dirname(specFile), `${clusterName}.pki`);
}

export interface StateLayout {
  /** The state folder. */
  stateDir: string;
  /** out/<cluster>: the output tree. */
  clusterDir: string;
}

export interface OpenState {
  /** The folder to read the PKI from: the state folder, or the old out/<cluster>/pki being moved. */
  source: string;
  /** Whether the cluster has state already (reuse it, never complete it with new CAs). */
  existing: boolean;
  /** Files of an old out/<cluster>/pki/ that the PKI does not list, carried over to the state folder as they are. */
  carried: OutputFile[];
  /** What the run found and did, for its log. */
  notes: string[];
  release: () => Promise<void>;
}

const show = (path: string) => relative(process.cwd(), path) || '.';

/** Every file under a folder, with its bytes and mode. */
async function filesUnder(root: string): Promise<OutputFile[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return Promise.all(entries.filter((e) => e.isFile()).map(async (e) => {
    const path = join(e.parentPath, e.name);
    return { path: relative(root, path), content: await readFile(path), mode: (await lstat(path)).mode & 0o777 };
  }));
}

/**
 * Whether the state folder already holds exactly these files (bytes and
 * modes): then the run leaves it alone, and a regeneration that changes no
 * credential cannot touch the state, even if it is killed.
 */
export async function stateHolds(stateDir: string, files: readonly OutputFile[]): Promise<boolean> {
  const checks = await Promise.all(files.map(async (f) => {
    try {
      const path = join(stateDir, f.path);
      const [stat, bytes] = await Promise.all([lstat(path), readFile(path)]);
      return stat.isFile() && (stat.mode & 0o777) === f.mode && bytes.equals(typeof f.content === 'string' ? Buffer.from(f.content) : f.content);
    } catch {
      return false;
    }
  }));
  return checks.every(Boolean);
}

/** CAs that differ between the state folder and an old out/<cluster>/pki/ left beside it. */
async function differingCas(stateDir: string, legacyDir: string): Promise<string[]> {
  const differ: string[] = [];
  for (const name of CA_NAMES) {
    const file = `${CA_PROFILES[name].file}.crt`;
    const [a, b] = await Promise.all([stateDir, legacyDir].map((d) => readFile(join(d, file), 'utf8').catch(() => undefined)));
    if (a !== undefined && b !== undefined && a !== b) differ.push(file);
  }
  return differ;
}

export async function openState(layout: StateLayout, command: string): Promise<OpenState> {
  const { stateDir, clusterDir } = layout;
  const locks: Lock[] = [];
  const release = async () => { for (const lock of locks.reverse()) await lock.release(); };
  try {
    // The state first, then the output: every run takes them in this order.
    locks.push(await acquireLock(`${stateDir}.lock`, command));
    locks.push(await acquireLock(join(dirname(clusterDir), `.${clusterDir.split('/').pop()}.lock`), command));

    // A staging folder of the state is no trace: the output is written only after the state is in
    // place, so a state that never got there was never handed to a host.
    const statePrevious = swapPaths(stateDir).previous;
    const outputPrevious = swapPaths(clusterDir).previous;
    const traces = [
      ...(await Promise.all([stateDir, statePrevious].map(async (p) => (await exists(p) ? [p] : [])))).flat(),
      ...(await tracesOf(clusterDir)),
    ];
    // Refused before anything is touched: the leftovers may be all the operator has to recover from.
    const stateFound = (await exists(stateDir)) || (await exists(statePrevious));
    const legacyFound = (await exists(join(clusterDir, 'pki'))) || (!(await exists(clusterDir)) && (await exists(join(outputPrevious, 'pki'))));
    if (!stateFound && !legacyFound && traces.length > 0) {
      throw new PkiError([{
        file: stateDir,
        message: `missing, but this cluster was generated before (${traces.map(show).join(', ')}): its CAs, keys and secrets are gone. `
          + `Restore ${show(stateDir)} from your backup. To give the cluster a new identity on purpose (every host re-provisioned), delete ${show(clusterDir)} and the folders named first`,
      }]);
    }

    const notes: string[] = [];
    for (const target of [stateDir, clusterDir]) {
      const recovered = await recoverInterruptedSwap(target);
      if (recovered) notes.push(recovered);
      for (const leftover of await removeLeftoverStaging(target)) notes.push(`removed ${show(leftover)}, left by a run that was killed`);
    }

    const legacy = join(clusterDir, 'pki');
    if (await exists(stateDir)) {
      if (await exists(legacy)) {
        const differ = await differingCas(stateDir, legacy);
        if (differ.length > 0) {
          throw new PkiError(differ.map((file) => ({
            file: join(legacy, file),
            message: `differs from ${join(stateDir, file)}: two identities for one cluster. Find out which one the hosts trust, keep that one as ${show(stateDir)} and move ${show(legacy)} away`,
          })));
        }
        notes.push(`removing ${show(legacy)}: an old copy of ${show(stateDir)}`);
      }
      return { source: stateDir, existing: true, carried: [], notes, release };
    }
    if (await exists(legacy)) {
      notes.push(`moving the PKI and secrets from ${show(legacy)} to ${show(stateDir)}: the cluster's state now lives there, apart from the disposable output; back it up`);
      const carried = await filesUnder(legacy).catch(() => []);
      return { source: legacy, existing: true, carried, notes, release };
    }
    return { source: stateDir, existing: false, carried: [], notes, release };
  } catch (err) {
    await release();
    throw err;
  }
}

/**
 * Where a read-only command (`plan`) reads the PKI from, deciding as
 * openState() does but changing nothing: the state folder, an old
 * out/<cluster>/pki/ not yet moved, or (a new cluster) the state folder to be.
 */
export async function peekState(layout: StateLayout): Promise<string> {
  const legacy = join(layout.clusterDir, 'pki');
  if (!(await exists(layout.stateDir)) && (await exists(legacy))) return legacy;
  return layout.stateDir;
}
