/**
 * The expiry calendar against real certificates: every date read back with
 * `openssl x509 -enddate` equals the calendar's, every holder is a host whose
 * seed really carries the certificate, the files land with the output, and a
 * PKI made with an earlier "now" (so its certificates end within 60 days)
 * makes `generate` warn on stderr, --quiet or not.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from '../generator/generate.ts';
import { certifiedKey } from '../generator/pki/access.ts';
import { EXPIRY_WARN_DAYS, expiryCalendar, expiryWarnings } from '../generator/pki/calendar.ts';
import { renderCloudConfig } from '../generator/render/cloud-config.ts';
import { exampleSeeds } from './lib/seeds.ts';
import { must } from './lib/run.ts';
import { cli } from './lib/cli.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const work = mkdtempSync(join(tmpdir(), 'ha-k8s-seed-calendar-'));
test.after(() => rmSync(work, { recursive: true, force: true }));

function openssl(pem: string, ...args: string[]): string {
  const file = join(work, `cert-${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(file, pem);
  return must('openssl', ['x509', '-in', file, '-noout', ...args]).trim();
}

/** The certificates in a file's text: PEM blocks, and those inside kubeconfigs' base64 `-data:` fields. */
function certificatesIn(text: string): string[] {
  const decoded = [...text.matchAll(/-data: (\S+)/g)].map((m) => Buffer.from(m[1]!, 'base64').toString());
  return [text, ...decoded].flatMap((t) => t.match(/-----BEGIN CERTIFICATE-----\n[^-]+-----END CERTIFICATE-----/g) ?? []);
}

test('every certificate is on the calendar with the end openssl reads, its subject and the 30/180-day renewal date', async () => {
  for (const ex of await exampleSeeds()) {
    const calendar = expiryCalendar(ex.cluster, ex.bundle);
    // Exactly the certificates the cluster hands out: on its hosts, or beside the seeds (admin.kubeconfig).
    const files = [...ex.cluster.hosts.flatMap((h) => renderCloudConfig(ex.cluster, h, ex.bundle).files), ...ex.rendered.files.filter((f) => !f.path.startsWith('hosts/'))];
    const delivered = new Set(files.flatMap((f) => certificatesIn(String(f.content))));
    assert.equal(calendar.map((c) => certifiedKey(ex.bundle, c.name).certPem.trim()).sort(), [...delivered].sort(), ex.spec);
    for (const c of calendar) {
      const pem = certifiedKey(ex.bundle, c.name).certPem;
      const enddate = openssl(pem, '-enddate').replace(/^notAfter=/, '');
      assert.is(c.notAfter, new Date(enddate).toISOString(), `${ex.spec} ${c.name}: ${enddate}`);
      // openssl's one-line subject, "O = system:masters, CN = kubernetes-admin", without the spaces around "=".
      assert.is(c.subject, openssl(pem, '-subject').replace(/^subject=/, '').replaceAll(' = ', '='), `${ex.spec} ${c.name}`);
      const window = c.name.startsWith('ca/') ? 180 : 30;
      assert.is(Date.parse(c.notAfter) - Date.parse(c.renewBy), window * DAY_MS, `${ex.spec} ${c.name}`);
    }
    const ends = calendar.map((c) => c.notAfter);
    assert.equal(ends, [...ends].sort(), 'soonest end first');
  }
});

test("a certificate's holders are exactly the hosts whose files carry it (as a PEM file or inside a kubeconfig)", async () => {
  for (const ex of await exampleSeeds()) {
    for (const c of expiryCalendar(ex.cluster, ex.bundle)) {
      const pem = certifiedKey(ex.bundle, c.name).certPem;
      const base64 = Buffer.from(pem).toString('base64');
      const carriers = ex.cluster.hosts
        .filter((h) => renderCloudConfig(ex.cluster, h, ex.bundle).files.some((f) => f.content.includes(pem) || f.content.includes(base64)))
        .map((h) => h.name);
      assert.equal(c.hosts, carriers, `${ex.spec} ${c.name}`);
    }
  }
});

const SPEC = readFileSync('cluster.yaml', 'utf8');

test('generate writes certificates.json and the README table; an earlier "now" ending within 60 days makes it warn, --quiet or not', async () => {
  const specFile = join(work, 'cluster.yaml');
  writeFileSync(specFile, SPEC);
  const out = join(work, 'out');
  // A PKI made 320 days ago: its one-year leaves end in 45 days, outside the 30-day window that reissues them.
  const madeAt = new Date(Date.now() - 320 * DAY_MS);
  const early: string[] = [];
  const first = await generate({ specFile, outDir: out, log: () => {}, warn: (l) => early.push(l), now: madeAt });
  assert.equal(early, [], 'nothing ends within 60 days of the day it was made');

  const json = JSON.parse(readFileSync(join(first.clusterDir, 'certificates.json'), 'utf8'));
  assert.equal(json.certificates, first.calendar);
  const readme = readFileSync(join(first.clusterDir, 'README.md'), 'utf8');
  const apiserver = first.calendar.find((c) => c.name === 'apiserver/k8s-master1')!;
  assert.ok(readme.includes(`| \`apiserver/k8s-master1\` | \`CN=kube-apiserver\` | ${apiserver.notAfter.slice(0, 10)} ${apiserver.notAfter.slice(11, 16)} | ${apiserver.renewBy.slice(0, 10)} `), 'README row');

  const r = cli(['generate', specFile, '--out', out, '--quiet']);
  assert.is(r.status, 0, r.stderr);
  const warnings = r.stderr.trim().split('\n');
  const leaves = first.calendar.filter((c) => !c.name.startsWith('ca/'));
  assert.is(warnings.length, leaves.length, r.stderr);
  for (const c of leaves) {
    const line = warnings.find((l) => l.startsWith(`certificates: warning: ${c.name} (`));
    assert.ok(line, `${c.name} warned about`);
    assert.match(line!, /expires in 4[45] days/);
    assert.ok(line!.includes(`re-provision ${c.hosts.join(', ')}`), line);
  }
  // Kept, not reissued: the calendar of the second run is the first one's.
  assert.equal(JSON.parse(readFileSync(join(first.clusterDir, 'certificates.json'), 'utf8')).certificates, first.calendar);
});

test(`expiryWarnings: exactly what ends within ${EXPIRY_WARN_DAYS} days, a CA with its --rotate, an expired one said so`, async () => {
  const ex = (await exampleSeeds())[0]!;
  const calendar = expiryCalendar(ex.cluster, ex.bundle);
  const leafEnd = Date.parse(calendar.find((c) => c.name.startsWith('apiserver/'))!.notAfter);
  assert.equal(expiryWarnings(calendar, new Date(leafEnd - (EXPIRY_WARN_DAYS + 1) * DAY_MS)), []);
  assert.ok(expiryWarnings(calendar, new Date(leafEnd - (EXPIRY_WARN_DAYS - 1) * DAY_MS)).some((l) => /apiserver\/\S+ \(CN=kube-apiserver\) expires in 59 days/.test(l)));
  const caEnd = Date.parse(calendar.find((c) => c.name === 'ca/etcd')!.notAfter);
  const late = expiryWarnings(calendar, new Date(caEnd - 10 * DAY_MS));
  assert.ok(late.some((l) => /^certificates: warning: ca\/etcd \(CN=etcd-ca\) expires in 10 days, .*--rotate etcd-ca/.test(l)), late.join('\n'));
  assert.ok(late.some((l) => /apiserver\/k8s-master1 \(CN=kube-apiserver\) expired, on /.test(l)), late.join('\n'));
});

test.run();
