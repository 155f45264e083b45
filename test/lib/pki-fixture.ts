/**
 * PKIs for tests: made by ensurePki, written by the pipeline's own writer
 * into a temporary state folder, and helpers to run real tools on it.
 * sharedPki() gives every test file of the process the same one.
 */
import { BootstrapTokens } from '../../generator/pki/bootstrap-tokens.ts';
import { tokenRecordFile } from '../../generator/state/bootstrap-tokens.ts';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Cluster } from '../../generator/model/types.ts';
import { writeTree } from '../../generator/output/tree.ts';
import { ensurePki, type EnsurePkiOptions, type EnsurePkiResult } from '../../generator/pki/index.ts';
import { clusterFromText } from '../../generator/input/validate.ts';
import { STATE_WRITE } from '../../generator/state/state.ts';

const execFileAsync = promisify(execFile);

export interface PkiFixture {
  cluster: Cluster;
  /** Temporary parent folder; remove() deletes it. */
  work: string;
  /** The state folder, <cluster>.pki. */
  pkiDir: string;
  result: EnsurePkiResult;
  /** Absolute path of a file under pki/. */
  file: (relative: string) => string;
  remove: () => void;
}

export async function makePki(specText: string, prefix: string): Promise<PkiFixture> {
  const cluster = clusterFromText(specText);
  const work = mkdtempSync(join(tmpdir(), `ha-k8s-seed-${prefix}-`));
  const pkiDir = join(work, `${cluster.name}.pki`);
  let result: EnsurePkiResult;
  try {
    result = await ensurePki(cluster, pkiDir);
    // The state as the pipeline writes it: the PKI's files and the bootstrap-token record of the bundle's token.
    const tokens = new BootstrapTokens([result.bundle.secrets.bootstrapToken], { now: new Date(), hours: cluster.pki.bootstrapTokenHours, rotate: false });
    await writeTree(pkiDir, [...result.files, tokenRecordFile(tokens)], STATE_WRITE);
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
  return {
    cluster, work, pkiDir, result,
    file: (relative) => join(pkiDir, relative),
    remove: () => rmSync(work, { recursive: true, force: true }),
  };
}

const shared = new Map<string, Promise<PkiFixture>>();

/**
 * One PKI per spec text for the whole test process (uvu runs every file in
 * one), for tests that only read it: they write only in folders of their own
 * under `work`, never in `pkiDir`. Removed when the process exits.
 */
export function sharedPki(specText: string): Promise<PkiFixture> {
  let fixture = shared.get(specText);
  if (!fixture) {
    fixture = makePki(specText, 'shared').then((fx) => {
      process.once('exit', fx.remove);
      return { ...fx, remove: () => {} };
    });
    shared.set(specText, fixture);
  }
  return fixture;
}

/** ensurePki on the fixture's folder again, for another model or options; writes the result like the pipeline does. */
export async function rerun(fx: Pick<PkiFixture, 'pkiDir'>, cluster: Cluster, options: EnsurePkiOptions = {}): Promise<EnsurePkiResult> {
  const result = await ensurePki(cluster, fx.pkiDir, options);
  await writeTree(fx.pkiDir, result.files, STATE_WRITE);
  return result;
}

/** A real tool's output (stdout then stderr); rejects when it fails. test/lib/run.ts runs tools that may fail. */
export async function outputOf(command: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const { stdout, stderr } = await execFileAsync(command, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  return stdout + stderr;
}
