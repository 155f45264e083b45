/**
 * The README's spec reference and quick start are part of the interface:
 * they must name every key of the schema and run what they say.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { ARCHITECTURES, BINARY_SOURCES, CNI_PLUGINS, KEY_ALGORITHMS, KEY_SIZES, OPERATING_SYSTEMS, OS_FAMILY, PLATFORM_TYPES, ROLES } from '../generator/model/types.ts';

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

test('the quick start generates the reference spec and runs the tests', () => {
  const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## Command line'));
  assert.match(quickStart, /npm run generate -- cluster\.yaml/);
  assert.match(quickStart, /npm test/);
  // .ci/run must call the same test command.
  assert.match(readFileSync('.ci/run', 'utf8'), /^npm test 2>&1/m);
});

test.run();
