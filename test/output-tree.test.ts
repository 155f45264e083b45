/**
 * writeTree on its own: files taken from a generator as they are made, with a
 * bounded number open at once (it runs under a descriptor limit far below the
 * file count); unchanged files kept by inode, a changed byte or mode written;
 * a failure in the middle leaves the previous tree as it was.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTree, type OutputFile } from '../generator/output/tree.ts';

const work = mkdtempSync(join(tmpdir(), 'ha-k8s-seed-tree-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

function* manyFiles(count: number, changed = -1): Generator<OutputFile> {
  for (let i = 0; i < count; i++) {
    yield { path: `hosts/h${Math.floor(i / 4)}/f${i % 4}`, content: `file ${i}${i === changed ? '!' : '.'}\n`, mode: i % 2 ? 0o600 : 0o644 };
  }
}

test('3,000 files from a generator under a limit of 64 open descriptors', () => {
  const target = join(work, 'limited');
  const script = `
    import { writeTree } from ${JSON.stringify(join(process.cwd(), 'generator/output/tree.ts'))};
    function* files() { for (let i = 0; i < 3000; i++) yield { path: 'hosts/h' + Math.floor(i / 4) + '/f' + (i % 4), content: 'x' + i, mode: 0o644 }; }
    const report = await writeTree(${JSON.stringify(target)}, files());
    process.stdout.write(String(report.written.length));`;
  const r = spawnSync('prlimit', ['--nofile=64:64', process.execPath, '--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim(), '3000');
  assert.is(readFileSync(join(target, 'hosts/h749/f3'), 'utf8'), 'x2999');
});

test('unchanged files keep their inode; a changed byte of the same size and a changed mode are written', async () => {
  const target = join(work, 'again');
  await writeTree(target, manyFiles(400));
  const inode = (p: string) => statSync(join(target, p)).ino;
  const before = { same: inode('hosts/h0/f0'), byte: inode('hosts/h10/f1') };
  const report = await writeTree(target, manyFiles(400, 41));
  assert.equal(report.written, ['hosts/h10/f1']);
  assert.is(report.unchanged.length, 399);
  assert.is(inode('hosts/h0/f0'), before.same);
  assert.is.not(inode('hosts/h10/f1'), before.byte);
  const modes = (function* () { for (const f of manyFiles(400)) yield f.path === 'hosts/h0/f0' ? { ...f, mode: 0o600 } : f; })();
  const third = await writeTree(target, modes);
  assert.equal(third.written.sort(), ['hosts/h0/f0', 'hosts/h10/f1']);
  assert.is(statSync(join(target, 'hosts/h0/f0')).mode & 0o777, 0o600);
});

test('a failure half-way (a generator that throws, a path given twice) leaves the previous tree whole', async () => {
  const target = join(work, 'failing');
  await writeTree(target, manyFiles(40));
  function* throwing() { yield* manyFiles(20, 3); throw new Error('rendering failed'); }
  await writeTree(target, throwing()).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /rendering failed/));
  function* twice() { yield* manyFiles(40); yield { path: 'hosts/h0/f0', content: 'again', mode: 0o644 }; }
  await writeTree(target, twice()).then(() => assert.unreachable(), (e: Error) => assert.match(e.message, /two output files at hosts\/h0\/f0/));
  assert.is(readFileSync(join(target, 'hosts/h0/f3'), 'utf8'), 'file 3.\n');
  assert.is(readFileSync(join(target, 'hosts/h9/f3'), 'utf8'), 'file 39.\n');
  const leftovers = spawnSync('ls', ['-a', work], { encoding: 'utf8' }).stdout;
  assert.not.match(leftovers, /staging|previous/);
});

test.run();
