/**
 * The generated etcd units, started for real: Debian's etcd (3.4, so the
 * model is pinned to it and the units carry the pre-3.6 flags) runs the three
 * members of cluster.yaml with exactly the rendered ExecStart arguments and
 * the certificates the hosts' user-data delivers (test/lib/etcd-members.ts
 * says what is substituted). They must form a quorum over TLS, and refuse a
 * client without a certificate.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdLab, debianEtcdVersion } from './lib/etcd-members.ts';
import { exampleSeeds } from './lib/seeds.ts';

let lab: EtcdLab | undefined;
let work: string;

test.after(async () => {
  await lab?.teardown();
  if (work) rmSync(work, { recursive: true, force: true });
});

test(`three members from the rendered units (etcd ${debianEtcdVersion}) form a TLS quorum with client and peer certificate auth`, async () => {
  const ex = (await exampleSeeds()).find((e) => e.spec === 'cluster.yaml')!;
  const cluster = { ...ex.cluster, etcd: { ...ex.cluster.etcd, version: debianEtcdVersion } };
  work = mkdtempSync(join(tmpdir(), 'ha-k8s-seed-etcd-'));
  lab = new EtcdLab(cluster, ex.bundle, work);
  assert.is(lab.members.length, 3);
  for (const m of lab.members) assert.ok(m.args.includes('--experimental-initial-corrupt-check=true'), 'pre-3.6 flags for etcd 3.4');
  lab.createNamespace();
  lab.startAll();

  const health = await lab.waitHealthy();
  assert.is(health.status, 0, health.out);
  assert.is(health.out.split('\n').filter((l) => l.includes('is healthy')).length, 3, health.out);
  const first = lab.members[0]!.host;
  const members3 = lab.etcdctl(['member', 'list'], { endpoints: `https://${first.address}:2379` });
  for (const m of lab.members) assert.ok(members3.out.includes(`, ${m.host.name}, https://${m.host.address}:2380`), members3.out);
  assert.is.not(lab.etcdctl(['endpoint', 'health'], { withCert: false }).status, 0, 'a client without a certificate is refused');
});

test.run();
