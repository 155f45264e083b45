/**
 * Command line: `generate` and `validate`. Parses arguments, calls the
 * pipeline, and turns every failure into a short message on stderr and an
 * exit code. No stack traces for the user's mistakes.
 */
import { parseArgs } from 'node:util';
import { generate } from './generate.ts';
import { SpecError } from './spec/problems.ts';
import { loadCluster } from './spec/validate.ts';

const USAGE = `Usage:
  npm run generate -- <spec.yaml> [--out DIR] [--quiet]
  npm run validate -- <spec.yaml>

Commands:
  generate   Validate the spec and write out/<cluster>/: per-host cloud-init seeds
             (user-data, meta-data, network-config, cidata.iso), the cluster's PKI
             (kept and reused on every later run), kubeconfigs and Packer templates.
  validate   Only check the spec; print every problem with its file, line and column.

Options:
  --out DIR  Parent folder of the cluster folder (default: out)
  --quiet    No progress lines on stderr; problems are still printed
  -h, --help Show this help

Exit status:
  0  success
  1  the spec has problems (each printed as file:line:column: field: message)
  2  wrong command-line usage
  3  the output could not be written (nothing was changed)
`;

export const EXIT = { ok: 0, spec: 1, usage: 2, io: 3 } as const;

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        out: { type: 'string', default: 'out' },
        quiet: { type: 'boolean', short: 'q', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return EXIT.ok;
  }
  const [command, specFile, ...extra] = positionals;
  if (!command || !['generate', 'validate'].includes(command) || !specFile || extra.length > 0) {
    process.stderr.write(`error: ${!specFile ? 'give the spec file to read' : `unexpected arguments: ${[command, ...extra].join(' ')}`}\n\n${USAGE}`);
    return EXIT.usage;
  }
  const log = values.quiet ? () => {} : (line: string) => process.stderr.write(`${line}\n`);

  try {
    if (command === 'validate') {
      const cluster = await loadCluster(specFile);
      log(`${specFile}: valid (${cluster.name}, ${cluster.hosts.length} hosts, Kubernetes ${cluster.kubernetes.version})`);
    } else {
      await generate({ specFile, outDir: values.out!, log });
    }
    return EXIT.ok;
  } catch (err) {
    if (err instanceof SpecError) {
      const n = err.problems.length;
      process.stderr.write(`${err.message}\n${specFile}: ${n} problem${n === 1 ? '' : 's'}; nothing was written\n`);
      return EXIT.spec;
    }
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(`error: ${e.code ? `${e.code}: ` : ''}${e.message}\nnothing was changed in ${values.out}\n`);
    return EXIT.io;
  }
}

// Run when executed directly, not when imported by tests.
if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('generator/cli.ts')) {
  process.exitCode = await main(process.argv.slice(2));
}
