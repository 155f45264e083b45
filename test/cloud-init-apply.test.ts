/**
 * The generated user-data applied by real cloud-init (Debian 12's 22.4) in a
 * throwaway Debian root, under unshare with its own network, UTS, mount and
 * PID namespaces: the NoCloud seed goes to /var/lib/cloud/seed/nocloud/ and
 * the four stages run as on a first boot (init --local, init, modules
 * config, modules final). Then every file, mode and owner that landed is
 * compared with the user-data, and the bootstrap script is run with
 * stand-ins to see its markers.
 *
 * Daemons: systemctl inside a chroot refuses to talk to a system manager, so
 * the root gets a stand-in systemctl (first on PATH, /usr/local/sbin) that
 * records each call and hands `enable` (an offline operation) to the real
 * one; the test then checks the recorded calls and the real enable symlink.
 * Nothing starts, and nothing reaches an address outside the namespace.
 *
 * Not applied here: a download-mode host. Its user-data installs packages
 * (`packages:`), which needs a Debian mirror the namespace cannot reach; its
 * files are checked by cloud-init-render.test.ts and cloud-init-tools.test.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SEED } from '../generator/roles/paths.ts';
import { CLOUD_INIT_ROOT_PACKAGES } from './lib/cloud-init-root-packages.ts';
import { debianRoot, throwawayCopy } from './lib/debian-root.ts';
import { orderingCycle } from './lib/unit-order.ts';
import { exampleSeeds, parseWithPyYaml, type ExampleSeeds } from './lib/seeds.ts';

const SYSTEMCTL_STANDIN = `#!/bin/sh
# stand-in for systemctl in a chroot (test only): record, and do what works offline.
echo "$*" >> /var/log/systemctl-standin.log
case "$1" in enable|disable|is-enabled) exec /usr/bin/systemctl "$@" ;; esac
exit 0
`;

/** Runs a shell command in the root, inside fresh namespaces; /dev, /proc, /sys and /run are mounted there only. */
function inRoot(dir: string, command: string, nic?: { name: string; mac?: string }) {
  const mounts = `mount --rbind /dev ${dir}/dev && mount -t proc proc ${dir}/proc && mount -t sysfs sys ${dir}/sys && mount -t tmpfs run ${dir}/run`;
  // The VM's NIC, inside the new network namespace: cloud-init waits for a MAC-matched one to exist.
  const link = nic ? ` && ip link add ${nic.name} ${nic.mac ? `address ${nic.mac} ` : ''}type veth peer name peer0` : '';
  const r = spawnSync('unshare', ['--net', '--uts', '--mount', '--pid', '--fork', 'sh', '-c',
    `${mounts}${link} && exec chroot ${dir} /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /bin/sh -c '${command}'`],
  { encoding: 'utf8', timeout: 300_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

let examples: ExampleSeeds[];
let root: string;
test.before(async () => {
  examples = await exampleSeeds();
  root = await debianRoot('cloud-init', CLOUD_INIT_ROOT_PACKAGES);
});

/** One host of each kind: etcd + control plane, worker + etcd, load balancer; a MAC-matched worker with NTP servers. */
const CASES: [spec: string, host: string][] = [
  ['cluster.yaml', 'k8s-master1'],
  ['cluster.yaml', 'k8s-node1'],
  ['cluster.yaml', 'lb-master'],
  ['examples/stacked-3cp.yaml', 'worker1'],
];

for (const [spec, hostName] of CASES) {
  test(`cloud-init applies ${spec} ${hostName}: files, modes, owners, hostname, keys, network, time sync, bootstrap enabled`, async () => {
    const ex = examples.find((e) => e.spec === spec)!;
    const seed = ex.rendered.seeds.find((s) => s.host === hostName)!;
    const host = ex.cluster.hosts.find((h) => h.name === hostName)!;
    const { dir, cleanup } = await throwawayCopy(root);
    try {
      const seedDir = join(dir, 'var/lib/cloud/seed/nocloud');
      mkdirSync(seedDir, { recursive: true });
      writeFileSync(join(seedDir, 'user-data'), seed.userData, { mode: 0o600 });
      writeFileSync(join(seedDir, 'meta-data'), seed.metaData);
      writeFileSync(join(seedDir, 'network-config'), seed.networkConfig);
      // The datasource, as ds-identify would find it on a VM; and no root resize: this root is a folder, not a disk.
      writeFileSync(join(dir, 'etc/cloud/cloud.cfg.d/99-test.cfg'), 'datasource_list: [NoCloud, None]\nresize_rootfs: false\n');
      writeFileSync(join(dir, 'usr/local/sbin/systemctl'), SYSTEMCTL_STANDIN);
      chmodSync(join(dir, 'usr/local/sbin/systemctl'), 0o755);
      const hostsBefore = readFileSync(join(dir, 'etc/hosts'), 'utf8');

      const stages = 'cloud-init init --local && cloud-init init && cloud-init modules --mode=config && cloud-init modules --mode=final';
      const r = inRoot(dir, `${stages}; echo; echo RESULT; cat /run/cloud-init/result.json`,
        { name: host.network.interface, ...(host.network.macAddress ? { mac: host.network.macAddress } : {}) });
      const json = r.out.slice(r.out.lastIndexOf('RESULT\n') + 7);
      assert.ok(json.startsWith('{'), r.out.slice(-3000));
      const result = JSON.parse(json) as { v1: { errors: string[]; datasource: string } };
      assert.equal(result.v1.errors, [], r.out.slice(-3000));
      assert.match(result.v1.datasource, /NoCloud/);
      const warnings = readFileSync(join(dir, 'var/log/cloud-init.log'), 'utf8').split('\n').filter((l) => l.includes('[WARNING]'));
      assert.equal(warnings, [], 'cloud-init logged warnings');
      assert.match(readFileSync(join(dir, 'var/lib/cloud/data/instance-id'), 'utf8'), new RegExp(`^${hostName}-[0-9a-f]{16}`));

      for (const f of parseWithPyYaml(seed.userData).files) {
        const path = join(dir, f.path);
        assert.ok(existsSync(path), `${f.path} did not land`);
        const st = statSync(path);
        const content = readFileSync(path, 'utf8');
        if (f.append) {
          assert.is(content, hostsBefore + f.content, `${f.path}: appended`);
        } else {
          assert.is(content, f.content, `${f.path}: bytes`);
          assert.is((st.mode & 0o777).toString(8).padStart(4, '0'), f.permissions, `${f.path}: mode`);
        }
        assert.is(`${st.uid}:${st.gid}`, '0:0', `${f.path}: owner`);
      }

      assert.is(readFileSync(join(dir, 'etc/hostname'), 'utf8').trim(), hostName);
      assert.ok(readFileSync(join(dir, 'home/debian/.ssh/authorized_keys'), 'utf8').includes(ex.cluster.ssh.authorizedKeys[0]!));
      const network = readFileSync(join(dir, `etc/systemd/network/10-cloud-init-${host.network.interface}.network`), 'utf8');
      assert.match(network, new RegExp(`Address=${host.address}/${host.network.prefixLength}`));
      if (host.network.macAddress) assert.match(network, new RegExp(`MACAddress=${host.network.macAddress}`));
      const chrony = readFileSync(join(dir, 'etc/chrony/chrony.conf'), 'utf8');
      for (const server of ex.cluster.ntp.servers) assert.match(chrony, new RegExp(`^server ${server}`, 'm'));

      assert.equal(orderingCycle(dir, SEED.bootstrapUnit), [], 'the enabled bootstrap unit is in an ordering cycle');
      const wants = join(dir, 'etc/systemd/system/multi-user.target.wants', SEED.bootstrapUnit);
      assert.ok(lstatSync(wants).isSymbolicLink(), 'bootstrap unit enabled');
      assert.is(readlinkSync(wants), `/etc/systemd/system/${SEED.bootstrapUnit}`);
      // The units the bootstrap enables later: none may close an ordering cycle once enabled either.
      for (const f of parseWithPyYaml(seed.userData).files.filter((x) => /^\/etc\/systemd\/system\/[^/]+\.service$/.test(x.path))) {
        const name = f.path.split('/').at(-1)!;
        const link = join(dir, 'etc/systemd/system/multi-user.target.wants', name);
        if (!lstatSync(link, { throwIfNoEntry: false })) symlinkSync(f.path, link);
        assert.equal(orderingCycle(dir, name), [], `${name}: ordering cycle once enabled`);
      }
      const calls = readFileSync(join(dir, 'var/log/systemctl-standin.log'), 'utf8');
      for (const call of ['daemon-reload', `enable ${SEED.bootstrapUnit}`, `start --no-block ${SEED.bootstrapUnit}`]) {
        assert.ok(calls.split('\n').includes(call), `runcmd: systemctl ${call}`);
      }
    } finally {
      await cleanup();
    }
  });
}

test('the bootstrap script writes the failure marker naming the failed step, then the done marker once it succeeds', async () => {
  const ex = examples.find((e) => e.spec === 'cluster.yaml')!;
  const seed = ex.rendered.seeds.find((s) => s.host === 'k8s-master1')!;
  const { dir, cleanup } = await throwawayCopy(root);
  try {
    for (const f of parseWithPyYaml(seed.userData).files) {
      mkdirSync(join(dir, f.path, '..'), { recursive: true });
      writeFileSync(join(dir, f.path), f.content, { mode: parseInt(f.permissions as string, 8) });
    }
    // Stand-ins for everything that would touch the kernel, services or a cluster.
    const standin = (path: string, body: string) => { writeFileSync(join(dir, path), `#!/bin/sh\n# stand-in (test only)\n${body}\n`); chmodSync(join(dir, path), 0o755); };
    standin('usr/local/sbin/sysctl', 'exit 0');
    standin('usr/local/sbin/swapoff', 'exit 0');
    // It reads what `-f -` gives it, as kubectl does (a writer into a closed pipe would fail the step under pipefail).
    standin('usr/local/bin/kubectl', 'echo "kubectl $*" >> /var/log/kubectl-standin.log\ncase "$*" in *"-f -") cat >> /var/log/kubectl-stdin.log ;; esac');
    standin('usr/local/sbin/systemctl', 'echo "$*" >> /var/log/systemctl-standin.log\ncase "$*" in *kube-apiserver*) [ -e /tmp/apiserver-ok ] || exit 1 ;; esac');

    const first = inRoot(dir, SEED.bootstrapScript);
    assert.is.not(first.status, 0);
    assert.is(readFileSync(join(dir, SEED.failedMarker), 'utf8'), 'start-control-plane\n');
    assert.not.ok(existsSync(join(dir, SEED.doneMarker)));
    assert.match(first.out, /ha-k8s-seed: bootstrap of k8s-master1 FAILED at step start-control-plane/);

    writeFileSync(join(dir, 'tmp/apiserver-ok'), '');
    const second = inRoot(dir, SEED.bootstrapScript);
    assert.is(second.status, 0, second.out);
    assert.ok(existsSync(join(dir, SEED.doneMarker)));
    assert.not.ok(existsSync(join(dir, SEED.failedMarker)), 'a later success clears the failure marker');
    assert.match(second.out, /ha-k8s-seed: bootstrap of k8s-master1 \(etcd, control-plane\) finished/);
    const kubectl = readFileSync(join(dir, 'var/log/kubectl-standin.log'), 'utf8');
    assert.match(kubectl, /get --raw=\/readyz/);
    assert.match(kubectl, /apply --server-side --force-conflicts --field-manager=ha-k8s-seed -f \/etc\/kubernetes\/addons\//);
    // The bootstrap token is applied apart, its expiration set as it is applied: 24 h from then.
    const applied = readFileSync(join(dir, 'var/log/kubectl-stdin.log'), 'utf8');
    const expiration = applied.match(/^  expiration: "(.+)"$/m)?.[1];
    assert.ok(applied.includes(`name: bootstrap-token-${ex.bundle.secrets.bootstrapToken.id}`), applied);
    assert.ok(expiration && Math.abs(Date.parse(expiration) - Date.now() - 24 * 3_600_000) < 10 * 60_000, `expiration ${expiration}`);
    assert.match(readFileSync(join(dir, 'var/log/systemctl-standin.log'), 'utf8'), /enable --now --no-block etcd\.service/);
    assert.match(readFileSync(join(dir, 'var/log/systemctl-standin.log'), 'utf8'), /^enable --now etcd-backup\.timer$/m, 'the backup timer is enabled where etcd is started');
    assert.ok(statSync(join(dir, '/var/backups/etcd')).isDirectory(), 'the snapshot folder is made');
  } finally {
    await cleanup();
  }
});

test.run();
