/**
 * What the cluster's state folder already holds, read once at the start of a
 * run: the roots (roots.ts) and the leaves (leaves.ts) are checked against
 * this snapshot, and nothing else of the PKI touches the disk.
 */
import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PkiProblem } from './outcome.ts';

/** One file as the run found it. */
export type Found = { kind: 'text'; text: string } | { kind: 'missing' } | { kind: 'unreadable'; error: string };

export interface ExistingState {
  /** The state folder. */
  dir: string;
  /**
   * Whether the cluster already has its state. An existing state is never
   * completed with new roots: what is missing from it is an error.
   */
  initialized: boolean;
  /** A file read at the start, by its path in the folder. */
  found(path: string): Found;
  /** A file's path as the operator sees it in messages. */
  where(path: string): string;
}

export const crt = (file: string) => `${file}.crt`;
export const key = (file: string) => `${file}.key`;

/**
 * Reads `paths` of `dir` at once. `initialized` is the caller's word when it
 * knows (from every trace of the state), else whether the folder exists.
 */
export async function readExisting(dir: string, paths: readonly string[], initialized?: boolean): Promise<ExistingState> {
  const files = new Map(await Promise.all(paths.map(async (p): Promise<[string, Found]> => [p, await readFound(join(dir, p))])));
  return {
    dir,
    initialized: initialized ?? await lstat(dir).then(() => true, () => false),
    found: (path) => files.get(path)!,
    where: (path) => join(dir, path),
  };
}

async function readFound(path: string): Promise<Found> {
  try {
    // PEMs written by earlier releases of this tool had CRLF line ends: read them as LF.
    return { kind: 'text', text: (await readFile(path, 'utf8')).replace(/\r\n/g, '\n') };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return e.code === 'ENOENT' || e.code === 'ENOTDIR' ? { kind: 'missing' } : { kind: 'unreadable', error: `${e.code ?? ''} ${e.message}`.trim() };
  }
}

/**
 * The text of a file an existing state must have; when it is missing or
 * unreadable, undefined, and the problem is added to `problems`.
 */
export function requiredText(state: ExistingState, path: string, problems: PkiProblem[]): string | undefined {
  const found = state.found(path);
  if (found.kind === 'text') return found.text;
  problems.push({ file: state.where(path), message: found.kind === 'missing' ? 'missing' : `unreadable (${found.error})` });
  return undefined;
}
