/**
 * A file of the cluster's state folder that may be missing (a new cluster, or
 * one made before the file existed): its text, or undefined. Any other read
 * error is a PkiError naming the file.
 */
import { readFile } from 'node:fs/promises';
import { PkiError } from '../pki/outcome.ts';

export async function readStateText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PkiError([{ file: path, message: `unreadable (${(error as Error).message})` }]);
  }
}
