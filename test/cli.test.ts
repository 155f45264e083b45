/**
 * The command line as users run it: exit codes, messages on stderr, and the
 * promise that a failed run writes nothing and a repeated run changes nothing.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from '../generator/generate.ts';
import { BASE_SPEC, withLine } from './lib/spec-fixtures.ts';
import { snapshot } from './lib/tree-snapshot.ts';
import { cli } from './lib/cli.ts';

const work = mkdtempSync(join(tmpdir(), 'ha-k8s-seed-cli-'));

function specFile(name: string, text: string): string {
  const path = join(work, name);
  writeFileSync(path, text);
  return path;
}

test('--help documents the commands and exits 0', () => {
  const r = cli(['--help']);
  assert.is(r.status, 0);
  for (const word of ['generate', 'validate', '--out', '--quiet', 'Exit status']) assert.ok(r.stdout.includes(word), word);
});

test('usage errors exit 2', () => {
  assert.is(cli([]).status, 2);
  assert.is(cli(['generate']).status, 2);
  assert.is(cli(['frobnicate', 'x.yaml']).status, 2);
  const r = cli(['generate', 'x.yaml', '--colour']);
  assert.is(r.status, 2);
  assert.match(r.stderr, /Unknown option '--colour'/);
});

test('validate: a valid spec exits 0 and writes nothing', () => {
  const r = cli(['validate', specFile('ok.yaml', BASE_SPEC)]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /valid \(t, 5 hosts/);
});

test('--version prints the version from package.json', () => {
  const r = cli(['--version']);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, `ha-k8s-seed ${JSON.parse(readFileSync('package.json', 'utf8')).version}\n`);
});

test('usage errors say what is wrong in a line, not the whole usage', () => {
  const spec = specFile('usage.yaml', BASE_SPEC);
  const cases: [string[], RegExp][] = [
    [[spec], /^error: no command before .*usage\.yaml: write generate .*usage\.yaml, validate .*usage\.yaml or plan .*usage\.yaml$/],
    [['generate', spec, 'b.yaml'], /^error: generate reads one spec file; unexpected argument after .*usage\.yaml: b\.yaml$/],
    [['validate', spec, '--out', join(work, 'never')], /^error: validate does not take --out: validate writes nothing; use generate or plan$/],
    [['validate', spec, '--rotate', 'cas'], /^error: validate does not take --rotate: validate writes nothing; use generate or plan$/],
    [['validate', spec, '--state', join(work, 'never')], /^error: validate does not take --state: validate writes nothing; use generate or plan$/],
    [['generate', spec, '--json'], /^error: generate does not take --json$/],
    [['frobnicate', 'x'], /^error: unknown command "frobnicate": expected generate, validate or plan$/],
    [['generate'], /^error: generate: give the spec file to read, e.g\. generate cluster\.yaml$/],
  ];
  for (const [args, message] of cases) {
    const r = cli(args);
    assert.is(r.status, 2, args.join(' '));
    const lines = r.stderr.trimEnd().split('\n');
    assert.match(lines[0]!, message);
    assert.equal(lines.slice(1), ['run with --help for the usage'], args.join(' '));
  }
  assert.not.ok(readdirSync(work).includes('never'));
});

test('an output folder that cannot be made fails at once (exit 3), not after the keys, and never hangs', () => {
  const r = cli(['generate', specFile('proc.yaml', BASE_SPEC), '--out', '/proc/ha-k8s-seed-x'], { timeoutSeconds: 60 });
  assert.is(r.status, 3, `${r.signal ?? ''} ${r.stderr}`);
  assert.match(r.stderr, /\nerror: ENOENT: no such file or directory, mkdir '\/proc\/ha-k8s-seed-x'\nnothing was changed in \/proc\/ha-k8s-seed-x\n$/);
  assert.not.match(r.stderr, /pki:/, 'stopped before the PKI was made');
});

test('a bad spec exits 1 with every problem located, no stack trace, and leaves the output as it was', () => {
  const out = join(work, 'out-bad');
  const good = specFile('good.yaml', BASE_SPEC);
  assert.is(cli(['generate', good, '--out', out, '--quiet']).status, 0);
  const before = snapshot(out);

  // Same cluster name, two mistakes.
  const bad = specFile('bad.yaml', withLine(6, '  vip: 192.168.9.100', withLine(12, '  - { name: w1, address: 192.168.1.21, roles: [worker, etcd], colour: blue }')));
  const r = cli(['generate', bad, '--out', out]);
  assert.is(r.status, 1);
  assert.match(r.stderr, new RegExp(`${bad}:12:\\d+: hosts\\[2\\]\\.colour: unknown key "colour"`));
  assert.match(r.stderr, /bad\.yaml: 1 problem; nothing was written/);
  assert.not.match(r.stderr, /\n\s+at /);
  assert.equal(snapshot(out), before);

  const semantic = specFile('bad2.yaml', withLine(6, '  vip: 192.168.9.100'));
  const r2 = cli(['generate', semantic, '--out', out]);
  assert.is(r2.status, 1);
  assert.match(r2.stderr, new RegExp(`${semantic}:6:8: loadBalancer\\.vip: VIP 192\\.168\\.9\\.100 is outside the subnet`));
  assert.equal(snapshot(out), before);
});

test('a missing or unreadable spec exits 1 and names the file', () => {
  const r = cli(['generate', join(work, 'nope.yaml'), '--out', join(work, 'never')]);
  assert.is(r.status, 1);
  assert.match(r.stderr, /nope\.yaml:1:1: cannot read the spec: no such file/);
  const r2 = cli(['validate', work]);
  assert.is(r2.status, 1);
  assert.match(r2.stderr, /is a directory/);
  assert.not.ok(readdirSync(work).includes('never'));
});

test('an output that cannot be written exits 3 and changes nothing', () => {
  const blocker = join(work, 'blocker');
  writeFileSync(blocker, 'a file where the output folder should be');
  const r = cli(['generate', specFile('ok3.yaml', BASE_SPEC), '--out', blocker]);
  assert.is(r.status, 3);
  assert.match(r.stderr, /nothing was changed/);
  assert.is(readFileSync(blocker, 'utf8'), 'a file where the output folder should be');
});

test('generate twice: same bytes, and unchanged files are not rewritten', () => {
  const out = join(work, 'out-twice');
  const spec = specFile('twice.yaml', BASE_SPEC);
  const first = cli(['generate', spec, '--out', out]);
  assert.is(first.status, 0, first.stderr);
  const before = snapshot(out);
  const second = cli(['generate', spec, '--out', out]);
  assert.is(second.status, 0, second.stderr);
  assert.match(second.stderr, / 0 files written/);
  assert.equal(snapshot(out), before);
  assert.ok(statSync(join(out, 't', 'README.md')).isFile());
  // No staging or previous folders are left beside the cluster folder.
  assert.equal(readdirSync(out), ['t']);
});

test('the bundle (validator and templates compiled at build time) writes exactly what the sources write', async () => {
  const out = join(work, 'out-bundle');
  const spec = specFile('bundle.yaml', BASE_SPEC);
  const first = cli(['generate', spec, '--out', out]);
  assert.is(first.status, 0, first.stderr);
  const before = snapshot(out);
  // The same cluster folder, regenerated by the TypeScript sources (runtime ajv, templates compiled on use).
  const result = await generate({ specFile: spec, outDir: out, log: () => {} });
  assert.equal(result.report.written, []);
  assert.equal(snapshot(out), before);
});

test('--quiet silences progress', () => {
  const r = cli(['generate', specFile('quiet.yaml', BASE_SPEC), '--out', join(work, 'out-quiet'), '--quiet']);
  assert.is(r.status, 0);
  assert.is(r.stderr, '');
});

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();
