/**
 * The command line as users run it: bin/ha-k8s-seed.mjs and its bundle, in a
 * process of its own, from any folder.
 */
import { fileURLToPath } from 'node:url';
import { run, runAsync, type Ran, type RunOptions } from './run.ts';

const BIN = fileURLToPath(new URL('../../bin/ha-k8s-seed.mjs', import.meta.url));

export interface CliOptions extends RunOptions {
  /** Modules node loads before the CLI (node --import), e.g. test/lib/kill-at.mjs. */
  preload?: string[];
}

const argv = (args: readonly string[], o: CliOptions) => [...(o.preload ?? []).flatMap((p) => ['--import', p]), BIN, ...args];

/** `ha-k8s-seed ARGS...` to its end. */
export function cli(args: readonly string[], o: CliOptions = {}): Ran {
  return run(process.execPath, argv(args, o), o);
}

/** The same, while the test goes on (runs side by side). */
export function cliAsync(args: readonly string[], o: CliOptions = {}): Promise<Ran> {
  return runAsync(process.execPath, argv(args, o), o);
}
