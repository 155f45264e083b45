/**
 * artifacts.yaml as the code reads it: the file itself loads with no problem,
 * every install entry lands on a path the units use, and a malformed record
 * is refused with every problem named by its place in the file.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { load } from 'js-yaml';
import { INSTALLED_FILES } from '../generator/install/plan.ts';
import { BIN } from '../generator/model/paths.ts';
import { renderCloudConfig } from '../generator/render/cloud-config.ts';
import { execStart } from './lib/exec-start.ts';
import { exampleSeeds } from './lib/seeds.ts';
import { readTable } from '../generator/versions/table.ts';
import { INSTALLED_ARTIFACTS, supportedKubernetesVersions } from '../generator/versions/versions.ts';

const file = () => load(readFileSync('generator/versions/artifacts.yaml', 'utf8')) as Record<string, any>;

test('artifacts.yaml reads without a problem; the pinned-only records install nothing', () => {
  const problems: string[] = [];
  const table = readTable(file(), problems);
  assert.equal(problems, []);
  assert.equal(INSTALLED_ARTIFACTS.map((a) => a.name), ['kubernetes-server', 'kubernetes-node', 'etcd', 'containerd', 'runc', 'cni-plugins', 'crictl']);
  assert.equal(table.artifacts.filter((a) => a.roles.length === 0).map((a) => [a.name, a.install.length]),
    [['containerd-static', 0], ['kubelet', 0], ['kubectl', 0], ['kubeadm', 0]]);
  assert.equal(supportedKubernetesVersions, ['v1.33.13', 'v1.34.7', 'v1.35.4', 'v1.36.3']);
});

test('every path of BIN is installed, and every binary a generated unit starts is among them', async () => {
  const paths = new Set(INSTALLED_FILES.map((f) => f.path.replace(/\/$/, '')));
  assert.equal(Object.values(BIN).filter((p) => !paths.has(p)), []);
  const started = new Set<string>();
  for (const ex of await exampleSeeds()) {
    for (const host of ex.cluster.hosts) {
      for (const unit of renderCloudConfig(ex.cluster, host, ex.bundle).files.filter((f) => f.path.endsWith('.service'))) {
        const { exec } = execStart(unit.content);
        // The tool's own scripts (bootstrap, etcd backup) are written by the seed, not installed.
        if (exec.startsWith('/usr/local/bin/') || exec.startsWith('/usr/local/sbin/')) started.add(exec);
      }
    }
  }
  assert.ok(started.size >= 7, [...started].join(' '));
  assert.equal([...started].filter((exec) => !paths.has(exec)), [], 'started but not installed');
  assert.equal(INSTALLED_FILES.filter((f) => f.path.endsWith('/')).map((f) => [f.artifact, f.path]), [['cni-plugins', `${BIN.cniDir}/`]]);
  assert.ok(INSTALLED_FILES.every((f) => f.mode === 0o755));
});

test('a malformed table is refused with every problem named by its place', () => {
  const data = file();
  const etcd = data.artifacts.etcd;
  etcd.url = 'https://example/{version}/{os}-{arch}.tar.gz';
  etcd.install = [
    { member: 'etcd', to: 'etcd', into: 'cniDir', mode: '0755' },
    { member: 'etcdctl', to: 'etcdCtl', mode: '0755' },
    { member: 'etcdutl', to: 'etcdutl', mode: 755 },
    { member: "it's", to: 'etcd', mode: '0755' },
  ];
  etcd.releases['3.6.14'] = { amd64: 'ABC', arm64: etcd.releases['3.6.14'].arm64 };
  data.artifacts.runc.checksum = 'md5';
  data.artifacts.crictl.roles = ['worker', 'master'];
  data.artifacts.crictl.install = [];
  data.artifacts.kubelet.install = [{ member: 'kubelet', to: 'kubelet', mode: '0755' }];
  data.artifacts['cni-plugins'].releases = {};
  delete data.kubernetes['1.34'].etcd;
  data.packages.nginx.dnf = '';
  data.packages.keepalived.apt = 'keepalived extra';
  data.schema_version = 1;
  const problems: string[] = [];
  readTable(data, problems);
  assert.equal(problems, [
    'schema_version: must be 2 (the shape this code reads)',
    'kubernetes.1.34.etcd: must be a non-empty string',
    'artifacts.etcd.url: {os} is not {version} or {arch}',
    'artifacts.etcd.install[0]: needs exactly one of to (a file) or into (a folder)',
    'artifacts.etcd.install[1].to: "etcdCtl" is not a path of BIN (generator/model/paths.ts)',
    'artifacts.etcd.install[2].mode: must be an octal mode such as "0755"',
    'artifacts.etcd.install[3].member: "it\'s" must be one word, without quotes or "#"',
    'artifacts.etcd.releases.3.6.14.amd64: must be a sha256 in lowercase hex',
    'artifacts.runc.checksum: must be sha256 or sha512',
    'artifacts.cni-plugins.releases: pins no release',
    'artifacts.crictl.roles[1]: "master" is not one of etcd, control-plane, worker, load-balancer',
    'artifacts.crictl.install: an artifact some role installs must say where its files go',
    'artifacts.kubelet.install: an artifact no role installs has nowhere to go',
    'packages.nginx.dnf: must be a non-empty string',
    'packages.keepalived.apt: "keepalived extra" must be one word, without quotes or "#"',
  ]);
});

test.run();
