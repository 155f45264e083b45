#!/usr/bin/env node
/**
 * The command users run (npm run generate / validate). It runs the generator
 * from one bundle of its TypeScript sources, rebuilt with esbuild whenever a
 * source is newer than the bundle: Node then loads one file instead of
 * transpiling dozens on every run, which is most of a regeneration's time.
 */
import { mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'node_modules', '.cache', 'ha-k8s-seed', 'cli.mjs');

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts')) {
      newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
    }
  }
  return newest;
}

function bundleTime() {
  try { return statSync(bundle).mtimeMs; } catch { return -1; }
}

/** The CLI's main(argv) from an up-to-date bundle. */
export async function loadCli() {
  if (bundleTime() < newestSource(join(root, 'generator'))) {
    const { build } = await import('esbuild');
    const result = await build({
      entryPoints: [join(root, 'generator', 'cli.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      write: false,
      logLevel: 'silent',
    });
    // Written beside and renamed into place: a concurrent run never sees half a file.
    mkdirSync(dirname(bundle), { recursive: true });
    const staging = `${bundle}.${process.pid}`;
    writeFileSync(staging, result.outputFiles[0].contents);
    renameSync(staging, bundle);
  }
  return (await import(pathToFileURL(bundle).href)).main;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const main = await loadCli();
  process.exitCode = await main(process.argv.slice(2));
}
