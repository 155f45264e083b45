/**
 * The README's spec reference and quick start are part of the interface:
 * they must name every key of the schema and run what they say.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ARCHITECTURES, BINARY_SOURCES, CNI_PLUGINS, KEY_ALGORITHMS, KEY_SIZES, OPERATING_SYSTEMS, OS_FAMILY, PLATFORM_TYPES, ROLES } from '../generator/model/types.ts';
import { run } from './lib/run.ts';

const readme = readFileSync('README.md', 'utf8');
const schema = JSON.parse(readFileSync('cluster.schema.json', 'utf8'));
const reference = readme.slice(readme.indexOf('## Spec reference'), readme.indexOf('### What validation checks'));

function resolveRef(node: any): any {
  if (!node?.$ref) return node;
  const path = node.$ref.replace(/^#\//, '').split('/');
  return resolveRef(path.reduce((n: any, key: string) => n[key], schema));
}

/** Dotted key paths of the schema: kubernetes.version, hosts[].macAddress, ... */
function keyPaths(node: any, prefix: string): string[] {
  node = resolveRef(node);
  if (node.type === 'array' && node.items) {
    const items = resolveRef(node.items);
    return items.properties ? keyPaths(items, `${prefix}[]`) : [];
  }
  if (!node.properties) return [];
  return Object.entries(node.properties).flatMap(([key, child]) => {
    if (key === '$schema') return [];
    const path = prefix ? `${prefix}.${key}` : key;
    const nested = keyPaths(child, path);
    return nested.length ? nested : [path];
  });
}

test('the README spec reference names every key of cluster.schema.json', () => {
  const paths = keyPaths(schema, '');
  assert.ok(paths.length > 30, `${paths.length} keys`);
  const missing = paths.filter((p) => {
    const leaf = p.split('.').at(-1)!;
    const parent = p.slice(0, p.length - leaf.length - 1);
    // A key is documented as `a.b`, or as `.b` in a row about its parent, or inside a list of `parent[]` fields.
    return !reference.includes(`\`${p}\``) && !reference.includes(`\`.${leaf}\``) && !(parent && reference.includes(`\`${parent}\``) && reference.includes(`\`${leaf}\``));
  });
  assert.equal(missing, []);
});

test('the schema and the model list the same choices', () => {
  const p = schema.properties;
  assert.equal(p.image.properties.os.enum, [...OPERATING_SYSTEMS]);
  assert.equal(Object.keys(OS_FAMILY).sort(), [...OPERATING_SYSTEMS].sort());
  assert.equal(p.image.properties.arch.enum, [...ARCHITECTURES]);
  assert.equal(p.image.properties.binaries.enum, [...BINARY_SOURCES]);
  assert.equal(p.cni.properties.plugin.enum, [...CNI_PLUGINS]);
  assert.equal(p.pki.properties.keyAlgorithm.enum, [...KEY_ALGORITHMS]);
  assert.equal(p.pki.properties.keySize.enum, [...KEY_SIZES]);
  assert.equal(schema.definitions.host.properties.roles.items.enum, [...ROLES]);
  assert.equal(p.platform.enum, [...PLATFORM_TYPES]);
  assert.equal(Object.keys(p.resources.properties), [...ROLES]);
});

/** `npm run <script> -- <args>` as npm runs it (package.json's scripts), with `cwd` as the folder it works in. */
function npmRun(command: string, cwd: string) {
  const [, script, args = ''] = /^npm run (\S+)(?: -- (.*))?$/.exec(command)!;
  const line = (JSON.parse(readFileSync('package.json', 'utf8')).scripts as Record<string, string>)[script!];
  assert.ok(line, `package.json has no script ${script}`);
  const [node, bin, ...words] = line!.split(' ');
  assert.is(node, 'node', line);
  return run(process.execPath, [resolve(bin!), ...words, ...args.split(' ').filter(Boolean)], { cwd });
}

test('the quick start runs as it says: generate writes the folders its comment names, validate and --help answer, --help lists every option; npm test is what .ci/run runs', () => {
  const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## Command line'));
  const block = /```sh\n([^]*?)```/.exec(quickStart)![1]!;
  const generate = /npm ci && (npm run generate -- cluster\.yaml) +# writes (.*)$/m.exec(block);
  assert.ok(generate, block);
  assert.match(block, /^npm test +#/m);
  assert.ok((JSON.parse(readFileSync('package.json', 'utf8')).scripts as Record<string, string>).test, 'package.json has a test script');
  // .ci/run must call the same test command.
  assert.match(readFileSync('.ci/run', 'utf8'), /^npm test 2>&1/m);
  // Run in a folder of its own holding the spec, as a user's checkout holds it.
  const work = mkdtempSync(join(tmpdir(), 'ha-k8s-seed-docs-'));
  try {
    copyFileSync('cluster.yaml', join(work, 'cluster.yaml'));
    const r = npmRun(generate![1]!, work);
    assert.is(r.status, 0, r.out);
    const named = [...generate![2]!.matchAll(/([\w.-]+(?:\/[\w.-]+)*)\//g)].map((m) => m[1]!);
    assert.ok(named.length > 0, generate![2]);
    for (const dir of named) assert.ok(statSync(join(work, dir)).isDirectory(), `${dir}/ written`);
    // The commands the text around the block names.
    const commands = [...quickStart.replace(block, '').matchAll(/`(npm run \S+ -- [^`]+)`/g)].map((m) => m[1]!);
    assert.ok(commands.some((c) => c.endsWith('--help')), quickStart);
    for (const command of commands) {
      const said = npmRun(command, work);
      assert.is(said.status, 0, `${command}: ${said.out}`);
      // "lists every option": each option of the Command line synopsis
      if (command.endsWith('--help')) {
        const synopsis = /## Command line\n\n```\n([^]*?)```/.exec(readme)![1]!;
        const options = new Set(synopsis.match(/--[\w-]+/g) ?? []);
        assert.ok(options.size > 0, `the synopsis names options: ${synopsis}`);
        for (const option of options) assert.ok(said.stdout.includes(option), `${command} lists ${option}`);
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test.run();
