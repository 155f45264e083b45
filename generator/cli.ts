/**
 * Command line: `generate`, `validate` and `plan`. Parses arguments, calls the
 * pipeline, and turns every failure into a short message on stderr and an
 * exit code. No stack traces for the user's mistakes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { assetPath } from './assets.ts';
import { describeFsError } from './output/fs-errors.ts';
import { ROTATE_ALL_CAS, ROTATE_TARGETS, isRotateTarget, type RotateTarget } from './pki/profiles.ts';
import { SpecError } from './input/problems.ts';
import { loadCluster } from './input/validate.ts';
import { LockHeldError } from './state/lock.ts';

const USAGE = `Usage:
  npm run generate -- <spec.yaml> [--out DIR] [--state DIR] [--quiet] [--rotate WHAT]...
  npm run validate -- <spec.yaml>
  npm run plan -- <spec.yaml> [--out DIR] [--state DIR] [--json] [--rotate WHAT]...

Commands:
  generate   Validate the spec and write out/<cluster>/: per-host cloud-init seeds
             (user-data, meta-data, network-config, cidata.iso), kubeconfigs and
             Packer templates. The cluster's PKI and secrets are its state, kept
             apart in <cluster>.pki/ beside the spec: made on the first run,
             verified and reused on every later one. Back that folder up.
  validate   Only check the spec; print every problem with its file, line and column.
  plan       Compare the spec with out/<cluster>/ and write nothing: every host's
             action (create, reprovision, keep, remove) and why, the certificates
             issued or reissued and who holds them, the steps in a safe order with
             the commands to run between them. Exit 0: nothing changes; 2: changes.

Options:
  --out DIR  Parent folder of the cluster folder (default: out)
  --state DIR
             The cluster's state folder (default: <cluster>.pki beside the spec)
  --quiet    No progress lines on stderr; problems and warnings (a certificate
             ending within 60 days) are still printed
  --json     (plan) The plan as one JSON object on stdout
  --rotate WHAT
             Replace a piece of the PKI on purpose (repeatable): kubernetes-ca,
             etcd-ca, front-proxy-ca, cas (all three), service-account,
             bootstrap-token (a new join token now; the earlier ones are named
             to delete), vrrp-password. A rotated CA reissues everything it
             signed; the hosts to re-provision are listed. Never needed otherwise.
  -h, --help Show this help
  -V, --version
             Print the tool's version

Exit status:
  0  success (plan: nothing changes)
  1  the spec has problems (each printed as file:line:column: field: message)
  2  wrong command-line usage; plan: the spec changes something
  3  the output could not be written (nothing was changed)
  4  the cluster's state is missing, incomplete or damaged (a CA key missing,
     a pair that does not match, a signature that does not verify, the state
     folder gone while the cluster's output exists...): each file is named;
     nothing was changed. Restore it from a backup, or --rotate it on purpose.
  5  another generate run holds the cluster's lock (its pid is named); nothing
     was changed
`;

/** `plan` exits with planChanges when the spec changes something, as `terraform plan -detailed-exitcode` does. */
export const EXIT = { ok: 0, spec: 1, usage: 2, io: 3, pki: 4, locked: 5, planChanges: 2 } as const;

const COMMANDS = ['generate', 'validate', 'plan'] as const;
type Command = (typeof COMMANDS)[number];

/** The options each command takes; any other is a usage error, not silently ignored. */
const COMMAND_OPTIONS: Record<Command, readonly string[]> = {
  generate: ['out', 'state', 'quiet', 'rotate'],
  validate: ['quiet'],
  plan: ['out', 'state', 'json', 'rotate', 'quiet'],
};

/** The tool's version: the project's package.json, the one source of it. */
function toolVersion(): string {
  return (JSON.parse(readFileSync(assetPath('package.json'), 'utf8')) as { version: string }).version;
}

/** A usage error: one line saying what is wrong and one saying where the usage is. */
function usageError(message: string): number {
  process.stderr.write(`error: ${message}\nrun with --help for the usage\n`);
  return EXIT.usage;
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        out: { type: 'string' },
        state: { type: 'string' },
        quiet: { type: 'boolean', short: 'q' },
        rotate: { type: 'string', multiple: true },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'V', default: false },
      },
    });
  } catch (err) {
    return usageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  if (values.version) {
    process.stdout.write(`ha-k8s-seed ${toolVersion()}\n`);
    return EXIT.ok;
  }
  const [command, specFile, ...extra] = positionals;
  if (!command) return usageError('give a command and a spec file, e.g. generate cluster.yaml');
  if (!(COMMANDS as readonly string[]).includes(command)) {
    return usageError(/\.ya?ml$/i.test(command) || existsSync(command)
      ? `no command before ${command}: write generate ${command}, validate ${command} or plan ${command}`
      : `unknown command "${command}": expected generate, validate or plan`);
  }
  if (!specFile) return usageError(`${command}: give the spec file to read, e.g. ${command} cluster.yaml`);
  if (extra.length > 0) {
    return usageError(`${command} reads one spec file; unexpected ${extra.length === 1 ? 'argument' : 'arguments'} after ${specFile}: ${extra.join(' ')}`);
  }
  const given = Object.entries(values).filter(([name, value]) => value !== undefined && !['help', 'version'].includes(name) && !(Array.isArray(value) && value.length === 0));
  const foreign = given.map(([name]) => name).filter((name) => !COMMAND_OPTIONS[command as Command].includes(name));
  if (foreign.length) {
    const flags = foreign.map((name) => `--${name}`);
    return usageError(`${command} does not take ${flags.join(' or ')}${command === 'validate' ? ': validate writes nothing; use generate or plan' : ''}`);
  }
  const outDir = values.out ?? 'out';
  const rotate: RotateTarget[] = [];
  for (const what of values.rotate ?? []) {
    if (what === ROTATE_ALL_CAS) rotate.push('kubernetes-ca', 'etcd-ca', 'front-proxy-ca');
    else if (isRotateTarget(what)) rotate.push(what);
    else return usageError(`--rotate ${what}: expected one of ${[...ROTATE_TARGETS, ROTATE_ALL_CAS].join(', ')}`);
  }
  const stderr = (line: string) => process.stderr.write(`${line}\n`);
  const log = values.quiet ? () => {} : stderr;
  // What only `generate` and `plan` need (the PKI and its X.509 library, rendering, the
  // writer) is loaded when they run: `validate` starts without it.
  const pipeline = command === 'validate' ? undefined : await import('./generate.ts');

  try {
    if (command === 'plan') {
      const plan = await pipeline!.plan({ specFile, outDir, stateDir: values.state, rotate });
      process.stdout.write(values.json ? `${JSON.stringify(plan, null, 2)}\n` : pipeline!.formatPlan(plan));
      return plan.changed ? EXIT.planChanges : EXIT.ok;
    }
    if (command === 'validate') {
      const cluster = await loadCluster(specFile);
      log(`${specFile}: valid (${cluster.name}, ${cluster.hosts.length} hosts, Kubernetes ${cluster.kubernetes.version})`);
    } else {
      await pipeline!.generate({ specFile, outDir, stateDir: values.state, log, warn: stderr, rotate });
    }
    return EXIT.ok;
  } catch (err) {
    if (err instanceof SpecError) {
      const n = err.problems.length;
      process.stderr.write(`${err.message}\n${specFile}: ${n} problem${n === 1 ? '' : 's'}; nothing was written\n`);
      return EXIT.spec;
    }
    if (pipeline && err instanceof pipeline.PkiError) {
      process.stderr.write(`${err.message}\nthe cluster's state cannot be used as it is; nothing was changed\n`);
      return EXIT.pki;
    }
    if (err instanceof LockHeldError) {
      process.stderr.write(`error: ${err.message}\nnothing was changed\n`);
      return EXIT.locked;
    }
    process.stderr.write(`error: ${describeFsError(err as NodeJS.ErrnoException)}\nnothing was changed in ${outDir}\n`);
    return EXIT.io;
  }
}

// Run when executed directly, not when imported by tests.
if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('generator/cli.ts')) {
  process.exitCode = await main(process.argv.slice(2));
}
