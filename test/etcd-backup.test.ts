/**
 * etcd backups for real: the three members of cluster.yaml run from their
 * rendered units (test/lib/etcd-members.ts) on Debian's etcd; the backup
 * script the first member's user-data carries, which its etcd-backup.service
 * runs, is run against them as it is (only its certificate folder and
 * etcdctl's path substituted, as in the etcd test), five times with keep: 3.
 * Then the restore procedure: every member stopped, the newest snapshot
 * restored into a fresh data folder of each with the commands the generated
 * cluster README prints for it (`etcdutl` on 3.5/3.6, Debian's 3.4 has the
 * same command as `etcdctl snapshot restore`), the members started again
 * from the same rendered units, and the restored cluster must serve what was
 * written before that snapshot, and nothing written after it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, CONFIG } from '../generator/model/paths.ts';
import { expiryCalendar } from '../generator/pki/calendar.ts';
import { renderClusterReadme } from '../generator/render/cluster-readme.ts';
import { FILES } from '../generator/roles/paths.ts';
import { EtcdLab, debianEtcdVersion } from './lib/etcd-members.ts';
import { exampleSeeds } from './lib/seeds.ts';
import { run } from './lib/run.ts';

let lab: EtcdLab | undefined;
let work: string;
test.after(async () => {
  await lab?.teardown();
  if (work) rmSync(work, { recursive: true, force: true });
});

const KEEP = 3;

test(`the generated backup script snapshots a TLS member, keeps the newest ${KEEP}, and a snapshot restores into fresh members (etcd ${debianEtcdVersion})`, async () => {
  const ex = (await exampleSeeds()).find((e) => e.spec === 'cluster.yaml')!;
  work = mkdtempSync(join(tmpdir(), 'ha-k8s-seed-etcd-backup-'));
  const directory = join(work, 'backups');
  const backup = { ...ex.cluster.etcd.backup!, keep: KEEP, directory };
  const cluster = { ...ex.cluster, etcd: { ...ex.cluster.etcd, version: debianEtcdVersion, backup } };
  lab = new EtcdLab(cluster, ex.bundle, work);
  lab.createNamespace();
  lab.startAll();
  const health = await lab.waitHealthy();
  assert.is(health.status, 0, health.out);

  // The script as etcd-backup.service runs it.
  const member = lab.members[0]!;
  const file = (path: string) => member.files.find((f) => f.path === path)!;
  assert.match(file('/etc/systemd/system/etcd-backup.service').content, new RegExp(`^ExecStart=${FILES.etcdBackupScript}$`, 'm'));
  assert.match(file('/etc/systemd/system/etcd-backup.timer').content, new RegExp(`^OnCalendar=${backup.schedule.replaceAll('*', '\\*')}$`, 'm'));
  const scriptFile = file(FILES.etcdBackupScript);
  assert.is(scriptFile.permissions, '0755');
  assert.ok(scriptFile.content.includes('--cert=/etc/kubernetes/pki/etcd/healthcheck-client.crt'), 'the member\'s health-check client certificate');
  const script = join(work, 'etcd-backup.sh');
  writeFileSync(script, member.local(scriptFile.content).replace(BIN.etcdctl, run('sh', ['-c', 'command -v etcdctl']).out));
  chmodSync(script, 0o755);

  const saved: string[] = [];
  for (let run = 1; run <= 5; run++) {
    const put = lab.etcdctl(['put', `/backup-test/key-${run}`, `value-${run}`]);
    assert.is(put.status, 0, put.out);
    const r = lab.inNamespace(script, []);
    assert.is(r.status, 0, r.out);
    const m = /^etcd-backup: saved (\S+) \((\d+) bytes\); (\d+) kept in /m.exec(r.out);
    assert.ok(m, r.out);
    saved.push(m![1]!);
    assert.is(Number(m![3]), Math.min(run, KEEP), r.out);
    // Snapshot names carry the second they were taken.
    await new Promise((resolve) => setTimeout(resolve, 1100));
  }
  const kept = readdirSync(directory).sort();
  assert.equal(kept.map((n) => join(directory, n)), saved.slice(-KEEP), `the newest ${KEEP} are kept, the rest pruned`);
  for (const n of kept) {
    assert.match(n, new RegExp(`^etcd-${member.host.name}-\\d{8}T\\d{6}Z\\.db$`));
    assert.is(statSync(join(directory, n)).mode & 0o777, 0o600, `${n}: only root reads a snapshot`);
  }
  assert.is(statSync(directory).mode & 0o777, 0o700);
  const status = lab.inNamespace('etcdctl', ['snapshot', 'status', saved.at(-1)!, '-w', 'json']);
  assert.is(status.status, 0, status.out);
  assert.ok(JSON.parse(status.stdout).totalKey > 5, status.out);

  // Written after the newest snapshot: the restored cluster must not have it.
  assert.is(lab.etcdctl(['put', '/backup-test/after', 'lost']).status, 0);

  // The restore procedure, on every member: the commands the generated cluster README gives for it, run as they are
  // but for the snapshot's and data folder's paths, and etcd 3.4's `etcdctl snapshot restore` for 3.5/3.6's `etcdutl`.
  await lab.stopAll();
  const readme = renderClusterReadme(cluster, 'cluster.yaml', expiryCalendar(cluster, ex.bundle), new Map()).content as string;
  const snapshot = saved.at(-1)!;
  for (const m of lab.members) {
    const block = new RegExp(`\`\`\`sh\n# on ${m.host.name}\n([^]*?)\`\`\``).exec(readme);
    assert.ok(block, `the cluster README's restore commands for ${m.host.name}`);
    const commands = block![1]!.replaceAll(BIN.etcdutl, 'etcdctl').replaceAll('/root/restore.db', snapshot).replaceAll(CONFIG.etcdDataDir, m.dataDir);
    const r = run('bash', ['-euo', 'pipefail', '-c', commands]);
    assert.is(r.status, 0, `${commands}\n${r.out}`);
    assert.is(statSync(m.dataDir).mode & 0o777, 0o700);
    assert.ok(statSync(`${m.dataDir}.before-restore`).isDirectory(), 'the old data folder is kept aside');
  }
  lab.startAll();
  const again = await lab.waitHealthy();
  assert.is(again.status, 0, again.out);
  assert.is(again.out.split('\n').filter((l) => l.includes('is healthy')).length, 3, again.out);
  const got = lab.etcdctl(['get', '--prefix', '/backup-test/', '--print-value-only']);
  assert.is(got.status, 0, got.out);
  assert.equal(got.out.split('\n'), ['value-1', 'value-2', 'value-3', 'value-4', 'value-5'], 'what was written before the snapshot, and only that');
  const list = lab.etcdctl(['member', 'list'], { endpoints: `https://${member.host.address}:2379` });
  assert.is(list.out.split('\n').filter((l) => l.includes(', started, ')).length, 3, list.out);
  // The restored cluster takes writes again.
  assert.is(lab.etcdctl(['put', '/backup-test/after-restore', 'ok']).status, 0);
});

test.run();
