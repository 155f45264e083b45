/**
 * The cidata ISO as its readers see it: blkid (how cloud-init finds the seed),
 * isoinfo (cdrkit) through Rock Ridge, Joliet and plain ISO 9660 names,
 * xorriso/osirrox (libisofs) and pycdlib as independent readers and, where
 * this kernel can, a read-only loop mount. Every file must come back byte for byte.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCidataIso, type IsoFile } from '../generator/output/iso9660.ts';

const work = mkdtempSync(join(tmpdir(), 'ha-k8s-seed-iso-'));

function run(cmd: string, args: string[]): { code: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync(cmd, args, { maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`${cmd}: ${r.error.message} (is its package installed? see .ci/run)`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

/** Runs a tool that must succeed; returns its stdout. */
function ok(cmd: string, args: string[]): Buffer {
  const r = run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Deterministic pseudo-random bytes: no run-to-run variation, but no pattern a bug could hide in. */
function noise(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const userData =
  '#cloud-config\n' +
  Array.from({ length: 400 }, (_, i) => `# line ${i}: naïve café ✓ ${'x'.repeat(i % 37)}\n`).join('') +
  'runcmd:\n  - [ sh, -c, "echo done" ]\n';

/** The NoCloud trio (network-config empty) plus files that cross sector boundaries. */
const FILES: IsoFile[] = [
  { name: 'user-data', content: userData },
  { name: 'meta-data', content: 'instance-id: k8s-master1\nlocal-hostname: k8s-master1\n' },
  { name: 'network-config', content: '' },
  { name: 'vendor-data', content: 'v'.repeat(2048) + '\n' }, // 2049 bytes: two sectors
  { name: 'exact.bin', content: noise(2048, 7) }, // exactly one sector
  { name: 'big.bin', content: noise(300 * 1024 + 17, 42) }, // ~300 KB, odd size
];

const bytesOf = (c: string | Uint8Array): Buffer => (typeof c === 'string' ? Buffer.from(c, 'utf8') : Buffer.from(c));

const iso = buildCidataIso(FILES);
const isoPath = join(work, 'cidata.iso');
writeFileSync(isoPath, iso);

function assertSameFiles(dir: string, names: (f: IsoFile) => string, what: string): void {
  assert.equal(readdirSync(dir).sort(), FILES.map(names).sort(), `${what}: the files at the root`);
  for (const f of FILES) {
    const got = readFileSync(join(dir, names(f)));
    assert.ok(got.equals(bytesOf(f.content)), `${what}: ${f.name} differs (${got.length} bytes, expected ${bytesOf(f.content).length})`);
  }
}

test('the image is whole sectors and at least the data it holds', () => {
  assert.is(iso.length % 2048, 0);
  const data = FILES.reduce((n, f) => n + Math.ceil(bytesOf(f.content).length / 2048) * 2048, 0);
  assert.ok(iso.length >= data + 24 * 2048 && iso.length <= data + 32 * 2048, `size ${iso.length}`);
});

test('blkid -p finds an iso9660 filesystem labelled cidata', () => {
  const out = ok('blkid', ['-p', '-o', 'export', isoPath]).toString();
  assert.match(out, /^TYPE=iso9660$/m);
  assert.match(out, /^LABEL=cidata$/m);
  assert.match(out, /^USAGE=filesystem$/m);
});

test('isoinfo -d shows the volume id, the size, Rock Ridge and Joliet', () => {
  const out = ok('isoinfo', ['-d', '-i', isoPath]).toString();
  assert.match(out, /CD-ROM is in ISO 9660 format/);
  assert.match(out, /^Volume id: cidata$/m);
  assert.match(out, /^Logical block size is: 2048$/m);
  assert.match(out, new RegExp(`^Volume size is: ${iso.length / 2048}$`, 'm'));
  assert.match(out, /^Joliet with UCS level 3 found$/m);
  assert.match(out, /^Rock Ridge signatures version 1 found$/m);
});

test('isoinfo extracts every file byte for byte by its Rock Ridge name and by its Joliet name', () => {
  for (const mode of ['-R', '-J']) {
    for (const f of FILES) {
      const got = ok('isoinfo', [mode, '-i', isoPath, '-x', `/${f.name}`]);
      assert.ok(got.equals(bytesOf(f.content)), `isoinfo ${mode} -x /${f.name}: ${got.length} bytes, expected ${bytesOf(f.content).length}`);
    }
  }
});

interface Listed { name: string; size: number; extent: number; mode: string }

/** isoinfo -l: "-r--r--r--   1    0    0   15 Jan  1 1970 [     29 00]  meta-data " */
function listing(args: string[], path = isoPath): Listed[] {
  const out = ok('isoinfo', [...args, '-l', '-i', path]).toString();
  const rows: Listed[] = [];
  for (const line of out.split('\n')) {
    const m = /^([-d][-rwx]{9})\s+\d+\s+\d+\s+\d+\s+(\d+)\s.*\[\s*(\d+)\s+\d+\]\s+(.+?)\s*$/.exec(line);
    if (m && m[4] !== '.' && m[4] !== '..') rows.push({ mode: m[1]!, size: Number(m[2]), extent: Number(m[3]), name: m[4]! });
  }
  return rows;
}

test('isoinfo -l lists the files with their sizes under Rock Ridge, Joliet and 8.3 names', () => {
  const expected = FILES.map((f) => [f.name, bytesOf(f.content).length]).sort();
  const rock = listing(['-R']);
  assert.equal(rock.map((r) => [r.name, r.size]).sort(), expected);
  for (const r of rock) assert.is(r.mode, '-r--r--r--', `${r.name}: Rock Ridge mode`);
  assert.equal(listing(['-J']).map((r) => [r.name, r.size]).sort(), expected);
  assert.equal(
    listing([]).map((r) => r.name).sort(),
    ['BIG.BIN;1', 'EXACT.BIN;1', 'META_DAT.;1', 'NETWORK_.;1', 'USER_DAT.;1', 'VENDOR_D.;1'],
  );
  const plain = ok('isoinfo', ['-i', isoPath, '-x', '/USER_DAT.;1']);
  assert.ok(plain.equals(bytesOf(userData)), 'plain ISO 9660 name reads the same bytes');
});

test('file data lies in the order the files were given, each in its own extent', () => {
  const extents = new Map(listing(['-R']).map((r) => [r.name, r]));
  let previousEnd = 0;
  for (const f of FILES) {
    const row = extents.get(f.name)!;
    assert.ok(row.extent >= previousEnd, `${f.name} starts at ${row.extent}, before the end of the previous file (${previousEnd})`);
    previousEnd = row.extent + Math.ceil(row.size / 2048);
  }
  assert.ok(previousEnd <= iso.length / 2048);
});

test('xorriso/osirrox, a second reader, extracts the same bytes from the Rock Ridge, Joliet and plain trees', () => {
  const trees: [string, (f: IsoFile) => string][] = [
    ['any', (f) => f.name], // Rock Ridge
    ['norock', (f) => f.name], // Joliet
    ['ecma119', (f) => (f.name.includes('.') ? f.name.toUpperCase() : f.name.toUpperCase().replace(/-/g, '_').slice(0, 8))],
  ];
  for (const [mode, names] of trees) {
    const dir = join(work, `osirrox-${mode}`);
    const r = run('osirrox', ['-read_fs', mode, '-indev', isoPath, '-extract', '/', dir]);
    assert.is(r.code, 0, `osirrox -read_fs ${mode}: ${r.stderr}`);
    assert.not.match(r.stderr, /: (WARNING|SORRY|FAILURE|FATAL) :/, `osirrox -read_fs ${mode} complained: ${r.stderr}`);
    assertSameFiles(dir, names, `osirrox -read_fs ${mode}`);
  }
  const found = ok('xorriso', ['-indev', isoPath, '-find', '/', '-type', 'f', '-exec', 'lsdl', '--']).toString();
  for (const f of FILES) assert.match(found, new RegExp(`-r--r--r-- .* ${bytesOf(f.content).length} .*'/${f.name}'`));
});

/** pycdlib parses strictly (it refuses malformed descriptors, path tables and SUSP entries). */
const PYCDLIB_EXTRACT = `
import os, sys, pycdlib
iso = pycdlib.PyCdlib()
iso.open(sys.argv[1])
print('rock ridge', bool(iso.has_rock_ridge()), 'joliet', bool(iso.has_joliet()))
for kind in ('rr', 'joliet'):
    os.makedirs(os.path.join(sys.argv[2], kind))
    for child in iso.list_children(**{kind + '_path': '/'}):
        if child.is_dot() or child.is_dotdot():
            continue
        name = child.rock_ridge.name().decode() if kind == 'rr' else child.file_identifier().decode('utf-16-be')
        with open(os.path.join(sys.argv[2], kind, name), 'wb') as out:
            iso.get_file_from_iso_fp(out, **{kind + '_path': '/' + name})
iso.close()
`;

test('pycdlib, a third and strict reader, parses it and extracts the same bytes from both trees', () => {
  const dir = join(work, 'pycdlib');
  // Debian's interpreter: python3-pycdlib installs into its dist-packages, not into another python3 on PATH.
  const out = ok('/usr/bin/python3', ['-c', PYCDLIB_EXTRACT, isoPath, dir]).toString();
  assert.match(out, /^rock ridge True joliet True$/m);
  assertSameFiles(join(dir, 'rr'), (f) => f.name, 'pycdlib Rock Ridge');
  assertSameFiles(join(dir, 'joliet'), (f) => f.name, 'pycdlib Joliet');
});

// Containers often lack the isofs module or loop devices: there the mount test is skipped (and
// counted so), not passed; the readers above check the image.
const mountDir = join(work, 'mnt');
mkdirSync(mountDir);
const mountProbe = run('mount', ['-t', 'iso9660', '-o', 'loop,ro', isoPath, mountDir]);
const cannotMount = mountProbe.code !== 0 && /unknown filesystem type|loop device|no such device|not permitted|permission denied|only root/i.test(mountProbe.stderr);
if (mountProbe.code === 0) run('umount', [mountDir]);
if (cannotMount) console.log(`  iso9660: loop mount not possible here (${mountProbe.stderr.trim().split('\n')[0]}): its test is skipped`);

(cannotMount ? test.skip : test)('the kernel mounts it read-only through a loop device', () => {
  const dir = mountDir;
  const r = run('mount', ['-t', 'iso9660', '-o', 'loop,ro', isoPath, dir]);
  assert.is(r.code, 0, `mount -o loop,ro failed: ${r.stderr}`);
  try {
    assertSameFiles(dir, (f) => f.name, 'loop mount (Rock Ridge)');
  } finally {
    run('umount', [dir]);
  }
  const j = run('mount', ['-t', 'iso9660', '-o', 'loop,ro,norock', isoPath, dir]);
  assert.is(j.code, 0, j.stderr);
  try {
    assertSameFiles(dir, (f) => f.name, 'loop mount (Joliet)');
  } finally {
    run('umount', [dir]);
  }
});

test('same input, same bytes; strings and their UTF-8 bytes give the same image', () => {
  const again = buildCidataIso(FILES.map((f) => ({ ...f })));
  assert.ok(Buffer.from(again).equals(Buffer.from(iso)));
  const asBytes = buildCidataIso(FILES.map((f) => ({ name: f.name, content: new Uint8Array(bytesOf(f.content)) })));
  assert.ok(Buffer.from(asBytes).equals(Buffer.from(iso)));
});

test('the timestamp given is the one recorded, and it alone changes the dates', () => {
  const when = new Date('2024-02-29T13:14:15.250Z');
  const dated = buildCidataIso(FILES, { timestamp: when });
  assert.is(dated.length, iso.length);
  assert.ok(!Buffer.from(dated).equals(Buffer.from(iso)));
  assert.ok(Buffer.from(buildCidataIso(FILES, { timestamp: when })).equals(Buffer.from(dated)));
  const path = join(work, 'dated.iso');
  writeFileSync(path, dated);
  assert.match(ok('isoinfo', ['-d', '-debug', '-i', path]).toString(), /^Creation Date:\s+2024 02 29 13:14:15\.25$/m);
  assert.match(ok('blkid', ['-p', '-o', 'export', path]).toString(), /^UUID=2024-02-29-13-14-15-25$/m);
  assert.match(ok('isoinfo', ['-R', '-l', '-i', path]).toString(), /Feb 29 2024 \[\s*\d+ 00\]\s+user-data/);
});

test('another volume label is recorded in both descriptors', () => {
  const path = join(work, 'label.iso');
  writeFileSync(path, buildCidataIso(FILES.slice(0, 3), { volumeLabel: 'CIDATA' }));
  assert.match(ok('blkid', ['-p', '-o', 'export', path]).toString(), /^LABEL=CIDATA$/m);
  assert.match(ok('isoinfo', ['-d', '-i', path]).toString(), /^Volume id: CIDATA$/m);
  assert.match(ok('isoinfo', ['-J', '-d', '-i', path]).toString(), /^Volume id: CIDATA$/m);
});

test('many files: a root directory over several sectors, and 8.3 names that collide', () => {
  const many: IsoFile[] = Array.from({ length: 60 }, (_, i) => ({
    name: `user-data-part-${String(i).padStart(2, '0')}-${'n'.repeat(30)}`,
    content: `part ${i}\n`,
  }));
  const image = buildCidataIso(many);
  const path = join(work, 'many.iso');
  writeFileSync(path, image);
  const dir = join(work, 'many');
  const r = run('osirrox', ['-indev', path, '-extract', '/', dir]);
  assert.is(r.code, 0, r.stderr);
  assert.not.match(r.stderr, /: (WARNING|SORRY|FAILURE|FATAL) :/, r.stderr);
  assert.is(readdirSync(dir).length, many.length);
  for (const f of many) assert.is(readFileSync(join(dir, f.name), 'utf8'), f.content);
  const plain = ok('isoinfo', ['-l', '-i', path]).toString().match(/\]\s+(\S+;1)\s*$/gm) ?? [];
  assert.is(new Set(plain).size, many.length, 'every 8.3 name is distinct');
  const py = join(work, 'many-pycdlib');
  ok('/usr/bin/python3', ['-c', PYCDLIB_EXTRACT, path, py]);
  for (const tree of ['rr', 'joliet']) {
    assert.is(readdirSync(join(py, tree)).length, many.length, `pycdlib ${tree}`);
    for (const f of many) assert.is(readFileSync(join(py, tree, f.name), 'utf8'), f.content, `pycdlib ${tree} ${f.name}`);
  }
  for (const f of [many[0]!, many[59]!]) {
    assert.is(ok('isoinfo', ['-J', '-i', path, '-x', `/${f.name}`]).toString(), f.content);
    assert.is(ok('isoinfo', ['-R', '-i', path, '-x', `/${f.name}`]).toString(), f.content);
  }
});

test('names and labels that do not fit are refused', () => {
  const one = (name: string) => () => buildCidataIso([{ name, content: 'x' }]);
  for (const bad of ['', '.', '..', '.hidden', 'a/b', '../user-data', 'user data', 'ü-data', 'a'.repeat(65), 'x;1', '-x']) {
    assert.throws(one(bad), /ISO file name/, `name ${JSON.stringify(bad)}`);
  }
  assert.not.throws(one('a'.repeat(64)));
  assert.throws(() => buildCidataIso([{ name: 'user-data', content: '' }, { name: 'User-Data', content: '' }]), /given twice/);
  for (const label of ['', 'has space', 'x'.repeat(17), 'ci/data']) {
    assert.throws(() => buildCidataIso([], { volumeLabel: label }), /volume label/, `label ${JSON.stringify(label)}`);
  }
  assert.throws(() => buildCidataIso([], { timestamp: new Date('nope') }), /not a valid date/);
  assert.throws(() => buildCidataIso([], { timestamp: new Date('1899-12-31T00:00:00Z') }), /1900 to 2155/);
});

test('an image with no files is still a valid empty volume', () => {
  const path = join(work, 'empty.iso');
  writeFileSync(path, buildCidataIso([]));
  assert.match(ok('blkid', ['-p', '-o', 'export', path]).toString(), /^LABEL=cidata$/m);
  assert.equal(listing(['-R'], path).length, 0);
});

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();
