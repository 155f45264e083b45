/**
 * The bootstrap-token record in the cluster's state folder
 * (pki/bootstrap-tokens.ts says what it means): read at the start of a run,
 * written with the rest of the state, and again after the output when the
 * run made a token.
 */
import { readStateText } from './read.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BootstrapTokens, LEGACY_TOKEN_FILE, parseLegacyToken, parseTokenRecord, TOKEN_RECORD, type TokenOptions } from '../pki/bootstrap-tokens.ts';
import type { OutputFile } from '../output/tree.ts';
import { PkiError } from '../pki/outcome.ts';

/**
 * The state's tokens: the record, else a legacy secrets/bootstrap-token, else
 * none (a new cluster). An existing state with neither lost the tokens its
 * seeds carry: that is an error, as any missing secret is.
 */
export async function readBootstrapTokens(stateDir: string, options: TokenOptions & { existing?: boolean }): Promise<BootstrapTokens> {
  const recordPath = join(stateDir, TOKEN_RECORD);
  const record = await readStateText(recordPath);
  if (record !== undefined) {
    const tokens = parseTokenRecord(record);
    if (typeof tokens === 'string') throw new PkiError([{ file: recordPath, message: `${tokens}; restore it from your backup of ${stateDir}` }]);
    return new BootstrapTokens(tokens, options);
  }
  const legacyPath = join(stateDir, LEGACY_TOKEN_FILE);
  const legacy = await readStateText(legacyPath);
  if (legacy !== undefined) {
    const token = parseLegacyToken(legacy);
    if (typeof token === 'string') throw new PkiError([{ file: legacyPath, message: `${token}; restore it from your backup of ${stateDir}` }]);
    return new BootstrapTokens([token], options, true);
  }
  if (options.existing ?? existsSync(join(stateDir, 'ca.crt'))) {
    throw new PkiError([{ file: recordPath, message: `missing: restore it from your backup of ${stateDir}, or write {"version": 1, "tokens": []} there to start with a new token (then every node's seed changes)` }]);
  }
  return new BootstrapTokens([], options);
}

export function tokenRecordFile(tokens: BootstrapTokens): OutputFile {
  return { path: TOKEN_RECORD, content: tokens.recordText(), mode: 0o600 };
}
