#!/usr/bin/env node
/**
 * The command users run (npm run generate / validate). It runs the generator
 * from one bundle of its TypeScript sources, rebuilt with esbuild whenever a
 * source, template or the schema is newer than the bundle: Node then loads
 * one file instead of transpiling dozens on every run. The bundle also holds,
 * compiled at build time (generator/bundle-assets.ts), the spec validator as
 * ajv's standalone code and every template precompiled, so a run loads
 * neither ajv's compiler nor Handlebars' parser. The bundle is split where
 * the CLI imports the generation pipeline lazily, so `validate` loads neither
 * the PKI's X.509 library nor the renderers.
 *
 * Each build goes to a folder of its own named after the newest source's
 * time, made beside and renamed into place: a run uses the build of exactly
 * the sources it sees, and a concurrent run never sees half of one.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cacheDir = join(root, 'node_modules', '.cache', 'ha-k8s-seed');
/** What the bundle is made from: a change in any of them means a new bundle. */
const SOURCES = ['generator', 'templates', 'cloud-init', 'packer', 'cluster.schema.json'];

function newestSource() {
  let newest = 0;
  for (const source of SOURCES) {
    const path = join(root, source);
    const stat = statSync(path);
    if (!stat.isDirectory()) { newest = Math.max(newest, stat.mtimeMs); continue; }
    for (const entry of readdirSync(path, { withFileTypes: true, recursive: true })) {
      if (entry.isFile()) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
    }
  }
  return newest;
}

const ESBUILD = { bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', write: false, logLevel: 'silent' };

/** Written beside and renamed into place: a concurrent run never sees half a file. */
function writeAtomically(path, contents) {
  mkdirSync(dirname(path), { recursive: true });
  const staging = `${path}.${process.pid}`;
  writeFileSync(staging, contents);
  renameSync(staging, path);
}

/** generator/bundle-assets.ts, built and loaded for this build only. */
async function buildTimeAssets(build) {
  const result = await build({ ...ESBUILD, entryPoints: [join(root, 'generator', 'bundle-assets.ts')] });
  const module = join(cacheDir, `bundle-assets.${process.pid}.mjs`);
  writeAtomically(module, result.outputFiles[0].contents);
  try { return await import(pathToFileURL(module).href); } finally { rmSync(module, { force: true }); }
}

async function buildBundle(buildDir) {
  const { build } = await import('esbuild');
  const assets = await buildTimeAssets(build);
  const formats = join(root, 'generator', 'input', 'formats.ts');
  const validator = assets.standaloneSpecValidator(formats);
  const replacements = {
    [join(root, 'generator', 'input', 'schema-validator.ts')]: validator,
    [join(root, 'generator', 'render', 'precompiled-templates.ts')]: assets.precompiledTemplatesModule(),
  };
  const staging = `${buildDir}.${process.pid}`;
  const result = await build({
    ...ESBUILD,
    entryPoints: { cli: join(root, 'generator', 'cli.ts') },
    splitting: true,
    outdir: staging,
    entryNames: '[name]',
    chunkNames: 'chunk-[hash]',
    outExtension: { '.js': '.mjs' },
    // The validator's require() of ajv's small runtime helpers, resolved from node_modules like the imports.
    banner: { js: "import { createRequire as createRequireOfBundle } from 'node:module'; const require = createRequireOfBundle(import.meta.url);" },
    plugins: [{
      name: 'compiled-at-build-time',
      setup(b) {
        b.onLoad({ filter: /(schema-validator|precompiled-templates)\.ts$/ }, (args) =>
          (replacements[args.path] === undefined ? undefined : { contents: replacements[args.path], loader: 'js' }));
      },
    }],
  });
  rmSync(staging, { recursive: true, force: true });
  for (const file of result.outputFiles) {
    mkdirSync(dirname(file.path), { recursive: true });
    writeFileSync(file.path, file.contents);
  }
  try {
    renameSync(staging, buildDir);
  } catch (err) {
    // Another run finished the same build first: use that one.
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(join(buildDir, 'cli.mjs'))) throw err;
  }
  // Builds of older sources are no longer wanted.
  for (const entry of readdirSync(cacheDir)) {
    if (entry.startsWith('build-') && join(cacheDir, entry) !== buildDir && !entry.includes('.')) rmSync(join(cacheDir, entry), { recursive: true, force: true });
  }
}

/** The bundle's entry for the sources as they are now, built first when missing. */
export async function bundleEntry() {
  const buildDir = join(cacheDir, `build-${Math.floor(newestSource())}`);
  const entry = join(buildDir, 'cli.mjs');
  if (!existsSync(entry)) await buildBundle(buildDir);
  return entry;
}

/** The CLI's main(argv) from an up-to-date bundle. */
export async function loadCli() {
  return (await import(pathToFileURL(await bundleEntry()).href)).main;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const main = await loadCli();
  process.exitCode = await main(process.argv.slice(2));
}
