/**
 * Running a program for a test: to its end, with its exit and everything it
 * printed. run() waits; runAsync() lets the test go on meanwhile (daemons
 * whose output it reads, runs side by side); must() is run() where anything
 * but success is the test's failure.
 */
import { spawn, spawnSync } from 'node:child_process';

export interface RunOptions {
  input?: string;
  /** The whole environment; this process's when not given. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Killed (SIGTERM) after this long; no limit when not given. */
  timeoutSeconds?: number;
}

export interface Ran {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** Its stderr, then why the run ended early (a timeout), if it did. */
  stderr: string;
  /** stdout then stderr, trimmed: all it said. */
  out: string;
}

function ran(status: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string, error?: Error): Ran {
  const err = error ? `${stderr}\n${error.message}` : stderr;
  return { status, signal, stdout, stderr: err, out: `${stdout}${err}`.trim() };
}

function notInstalled(command: string, error: Error | undefined): void {
  if ((error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new Error(`${command}: not installed (test/setup.sh installs what the tests run)`);
  }
}

export function run(command: string, args: readonly string[], o: RunOptions = {}): Ran {
  const r = spawnSync(command, args, {
    encoding: 'utf8', input: o.input, env: o.env, cwd: o.cwd, maxBuffer: 64 * 1024 * 1024,
    ...(o.timeoutSeconds ? { timeout: o.timeoutSeconds * 1000 } : {}),
  });
  notInstalled(command, r.error);
  return ran(r.status, r.signal, r.stdout ?? '', r.stderr ?? '', r.error);
}

export function runAsync(command: string, args: readonly string[], o: RunOptions = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: o.env, cwd: o.cwd, stdio: [o.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => { stdout += d; });
    child.stderr!.on('data', (d: Buffer) => { stderr += d; });
    const timer = o.timeoutSeconds ? setTimeout(() => child.kill('SIGTERM'), o.timeoutSeconds * 1000) : undefined;
    child.on('error', (e) => {
      clearTimeout(timer);
      try { notInstalled(command, e); reject(e); } catch (missing) { reject(missing); }
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve(ran(status, signal, stdout, stderr));
    });
    if (o.input !== undefined) child.stdin!.end(o.input);
  });
}

/** The stdout of a program that must succeed; otherwise an error naming it, with what it said. */
export function must(command: string, args: readonly string[], o: RunOptions = {}): string {
  const r = run(command, args, o);
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.status ?? r.signal}: ${r.out}`);
  return r.stdout;
}
