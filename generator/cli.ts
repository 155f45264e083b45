/**
 * Command line: `generate` and `validate`. Parses arguments, calls the
 * pipeline, and turns every failure into a short message on stderr and an
 * exit code. No stack traces for the user's mistakes.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { assetPath } from './assets.ts';
import { generate } from './generate.ts';
import { PkiError, ROTATE_ALL_CAS, ROTATE_TARGETS, isRotateTarget, type RotateTarget } from './pki/index.ts';
import { SpecError } from './spec/problems.ts';
import { loadCluster } from './spec/validate.ts';

const USAGE = `Usage:
  npm run generate -- <spec.yaml> [--out DIR] [--quiet] [--rotate WHAT]...
  npm run validate -- <spec.yaml>

Commands:
  generate   Validate the spec and write out/<cluster>/: per-host cloud-init seeds
             (user-data, meta-data, network-config, cidata.iso), the cluster's PKI
             (kept and reused on every later run), kubeconfigs and Packer templates.
  validate   Only check the spec; print every problem with its file, line and column.

Options:
  --out DIR  Parent folder of the cluster folder (default: out)
  --quiet    No progress lines on stderr; problems are still printed
  --rotate WHAT
             Replace a piece of the PKI on purpose (repeatable): kubernetes-ca,
             etcd-ca, front-proxy-ca, cas (all three), service-account,
             bootstrap-token, vrrp-password. A rotated CA reissues everything it
             signed; the hosts to re-provision are listed. Never needed otherwise.
  -h, --help Show this help
  -V, --version
             Print the tool's version

Exit status:
  0  success
  1  the spec has problems (each printed as file:line:column: field: message)
  2  wrong command-line usage
  3  the output could not be written (nothing was changed)
  4  the existing PKI in out/<cluster>/pki is incomplete or inconsistent (a CA
     key missing, a pair that does not match...): each file is named; nothing
     was changed. Restore it from a backup, or --rotate it on purpose.
`;

export const EXIT = { ok: 0, spec: 1, usage: 2, io: 3, pki: 4 } as const;

const COMMANDS = ['generate', 'validate'] as const;
type Command = (typeof COMMANDS)[number];

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
        quiet: { type: 'boolean', short: 'q', default: false },
        rotate: { type: 'string', multiple: true },
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
      ? `no command before ${command}: write generate ${command} or validate ${command}`
      : `unknown command "${command}": expected generate or validate`);
  }
  if (!specFile) return usageError(`${command}: give the spec file to read, e.g. ${command} cluster.yaml`);
  if (extra.length > 0) {
    return usageError(`${command} reads one spec file; unexpected ${extra.length === 1 ? 'argument' : 'arguments'} after ${specFile}: ${extra.join(' ')}`);
  }
  if ((command as Command) === 'validate') {
    const writing = [values.out !== undefined ? '--out' : '', values.rotate?.length ? '--rotate' : ''].filter(Boolean);
    if (writing.length) return usageError(`validate writes nothing, so ${writing.join(' and ')} ${writing.length === 1 ? 'does' : 'do'} not apply; use generate`);
  }
  const outDir = values.out ?? 'out';
  const rotate: RotateTarget[] = [];
  for (const what of values.rotate ?? []) {
    if (what === ROTATE_ALL_CAS) rotate.push('kubernetes-ca', 'etcd-ca', 'front-proxy-ca');
    else if (isRotateTarget(what)) rotate.push(what);
    else return usageError(`--rotate ${what}: expected one of ${[...ROTATE_TARGETS, ROTATE_ALL_CAS].join(', ')}`);
  }
  const log = values.quiet ? () => {} : (line: string) => process.stderr.write(`${line}\n`);

  try {
    if (command === 'validate') {
      const cluster = await loadCluster(specFile);
      log(`${specFile}: valid (${cluster.name}, ${cluster.hosts.length} hosts, Kubernetes ${cluster.kubernetes.version})`);
    } else {
      await generate({ specFile, outDir, log, rotate });
    }
    return EXIT.ok;
  } catch (err) {
    if (err instanceof SpecError) {
      const n = err.problems.length;
      process.stderr.write(`${err.message}\n${specFile}: ${n} problem${n === 1 ? '' : 's'}; nothing was written\n`);
      return EXIT.spec;
    }
    if (err instanceof PkiError) {
      process.stderr.write(`${err.message}\nthe PKI cannot be used as it is; nothing was changed in ${outDir}\n`);
      return EXIT.pki;
    }
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(`error: ${e.code && !e.message.startsWith(e.code) ? `${e.code}: ` : ''}${e.message}\nnothing was changed in ${outDir}\n`);
    return EXIT.io;
  }
}

// Run when executed directly, not when imported by tests.
if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('generator/cli.ts')) {
  process.exitCode = await main(process.argv.slice(2));
}
