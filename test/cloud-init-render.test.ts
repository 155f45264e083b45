/**
 * The rendered seeds, read the way cloud-init reads them (PyYAML): every
 * file each role needs is there with quoted permissions, an owner and 0600
 * for secrets; every unit flag is one the target release knows; kubeconfigs
 * point at the VIP; rendering is deterministic and the instance-id follows
 * the content; over-limit user-data has a gzip+base64 twin that decodes back.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { load, loadAll } from 'js-yaml';
import { hasRole, isNode, OS_FAMILY } from '../generator/model/types.ts';
import { renderCloudConfig } from '../generator/render/cloud-config.ts';
import { etcdUnit } from '../generator/roles/etcd.ts';
import { renderFlags, UnknownFlagError } from '../generator/roles/flags.ts';
import { FILES, SEED } from '../generator/roles/paths.ts';
import { CATALOGUE, ON_HOST } from '../generator/pki/on-host.ts';
import { HOST_PKI } from '../generator/pki/types.ts';
import { renderHosts, USER_DATA_LIMIT } from '../generator/render/hosts.ts';
import { supportedKubernetesVersions } from '../generator/versions/versions.ts';
import { shapeOnlyBundle } from '../generator/pki/shape.ts';
import { clusterFromText } from '../generator/input/validate.ts';
import { BASE_SPEC, insertAfter } from './lib/spec-fixtures.ts';
import { EXAMPLE_SPECS, exampleSeeds, fileAt, parseWithPyYaml, type ExampleSeeds } from './lib/seeds.ts';
import { execStart } from './lib/exec-start.ts';

let examples: ExampleSeeds[];
let parsedHosts: { ex: ExampleSeeds; seed: ExampleSeeds['rendered']['seeds'][number]; host: ExampleSeeds['cluster']['hosts'][number]; parsed: ReturnType<typeof parseWithPyYaml> }[];
test.before(async () => {
  examples = await exampleSeeds();
  parsedHosts = examples.flatMap((ex) => ex.rendered.seeds.map((seed) => ({
    ex, seed, host: ex.cluster.hosts.find((h) => h.name === seed.host)!, parsed: parseWithPyYaml(seed.userData),
  })));
});

const hosts = () => parsedHosts;

/** A unit's binary, its `--flag=value` arguments, and the flags' names in order. */
function unitFlags(unit: string): { exec: string; flags: Map<string, string>; names: string[] } {
  const { exec, args } = execStart(unit);
  return { exec, flags: new Map(args.map((a) => [a.split('=')[0]!, a.slice(a.indexOf('=') + 1)])), names: args.map((a) => a.split('=')[0]!) };
}

const COMPONENT_OF: Record<string, string> = {
  'etcd.service': 'etcd', 'kube-apiserver.service': 'kube-apiserver', 'kube-controller-manager.service': 'kube-controller-manager',
  'kube-scheduler.service': 'kube-scheduler', 'kubelet.service': 'kubelet', 'kube-proxy.service': 'kube-proxy',
};

test('user-data is #cloud-config; modes quoted, cloud-init\'s defaults (0644, root:root) left out; secrets are 0600', () => {
  for (const { seed, parsed } of hosts()) {
    assert.is(parsed.header, '#cloud-config', seed.host);
    assert.ok(parsed.files.length > 5, seed.host);
    for (const f of parsed.carried) {
      if (f.permissions !== undefined) {
        assert.type(f.permissions, 'string', `${seed.host} ${f.path}: mode must reach cloud-init as a string`);
        assert.is.not(f.permissions, '0644', `${seed.host} ${f.path}: 0644 is cloud-init's default, left out`);
      }
      assert.is.not(f.owner, 'root:root', `${seed.host} ${f.path}: root:root is cloud-init's default, left out`);
      if (f.encoding !== undefined) assert.is(f.encoding, 'gz+b64', `${seed.host} ${f.path}`);
    }
    for (const f of parsed.files) {
      assert.match(f.permissions as string, /^0[0-7]{3}$/, `${seed.host} ${f.path}`);
      const secret = /PRIVATE KEY|client-key-data|token:|secret:|auth_pass|token-secret/.test(f.content);
      if (secret) assert.is(f.permissions, '0600', `${seed.host} ${f.path} holds a secret`);
    }
  }
});

test('the bytes of every file survive YAML: what cloud-init reads is what was rendered', () => {
  for (const { ex, seed, host, parsed } of hosts()) {
    const rendered = renderCloudConfig(ex.cluster, host, ex.bundle).files;
    assert.equal(parsed.files.map((f) => [f.path, f.content]), rendered.map((f) => [f.path, f.content]), seed.host);
    const etcHosts = fileAt(parsed, '/etc/hosts')!;
    // Its own name only: what grows with the cluster stays out of every seed.
    assert.equal(etcHosts.content.split('\n').filter((l) => l && !l.startsWith('#')), [`${host.address} ${host.name}`], `${seed.host}: /etc/hosts`);
    assert.ok(etcHosts.append, '/etc/hosts is appended to, not replaced');
  }
});

test('rendering is deterministic and the instance-id follows the host content', () => {
  const ex = examples[0]!;
  const a = renderHosts(ex.cluster, ex.bundle);
  const b = renderHosts(ex.cluster, ex.bundle);
  assert.equal(a.files.map((f) => [f.path, Buffer.from(f.content).toString('base64')]), b.files.map((f) => [f.path, Buffer.from(f.content).toString('base64')]));
  const changed = structuredClone(ex.cluster);
  changed.hosts[changed.hosts.length - 1]!.network.nameservers = ['192.0.2.53'];
  const c = renderHosts(changed, ex.bundle);
  const id = (r: typeof a, host: string) => /instance-id: (\S+)/.exec(r.seeds.find((s) => s.host === host)!.metaData)![1];
  const last = changed.hosts.at(-1)!.name;
  const first = changed.hosts[0]!.name;
  assert.is.not(id(c, last), id(a, last), 'a changed host gets a new instance-id');
  assert.is(id(c, first), id(a, first), 'an unchanged host keeps its instance-id');
});

test('every host: bootstrap unit and script with markers, kernel settings of its roles, SSH keys, time sync', () => {
  for (const { ex, seed, host, parsed } of hosts()) {
    const script = fileAt(parsed, SEED.bootstrapScript)!;
    assert.is(script.permissions, '0755');
    assert.ok(script.content.includes(SEED.doneMarker) && script.content.includes(SEED.failedMarker), seed.host);
    assert.match(script.content, /trap 'echo "\$step" > \/var\/lib\/ha-k8s-seed\/bootstrap.failed/);
    assert.ok(fileAt(parsed, `/etc/systemd/system/${SEED.bootstrapUnit}`)!.content.includes(`ConditionPathExists=!${SEED.doneMarker}`));
    assert.equal(parsed.config.ssh_authorized_keys, ex.cluster.ssh.authorizedKeys);
    assert.is(parsed.config.hostname, host.name);
    assert.is((parsed.config.ntp as { enabled: boolean }).enabled, true);
    assert.ok(script.content.includes('swapoff -a'), `${seed.host}: swap off`);
    const sysctl = fileAt(parsed, SEED.sysctl)!.content;
    const modules = fileAt(parsed, SEED.modulesLoad)!.content;
    if (isNode(host)) {
      assert.match(modules, /^overlay$/m);
      assert.match(modules, /^br_netfilter$/m);
      assert.match(sysctl, /^net\.ipv4\.ip_forward = 1$/m);
    }
    assert.is(/ip_nonlocal_bind = 1/.test(sysctl), hasRole(host, 'load-balancer'), `${seed.host}: ip_nonlocal_bind only on load balancers`);
    const runcmd = JSON.stringify(parsed.config.runcmd);
    assert.ok(runcmd.includes(SEED.bootstrapUnit), seed.host);
    if (ex.cluster.image.binaries === 'download') {
      assert.ok(fileAt(parsed, SEED.installScript) && fileAt(parsed, SEED.installManifest), `${seed.host}: install script`);
      assert.ok(script.content.indexOf('begin install-binaries') < script.content.indexOf('begin start-'), `${seed.host}: binaries before any daemon starts`);
    } else {
      assert.not.ok(fileAt(parsed, SEED.installScript), `${seed.host}: golden image needs no install script`);
    }
  }
});

/** A flag list as the test reads it, apart from the generator's own reader: the `--name` of every line. */
function flagList(name: string): Set<string> {
  return new Set(readFileSync(`generator/versions/flags/${name}.txt`, 'utf8').split('\n').filter((l) => l.startsWith('--')).map((l) => l.split(' ')[0]!));
}

/** The list of the target minor: kubelet 1.33 has none obtainable and uses 1.34's (README). */
function listOf(component: string, version: string): string {
  const minor = version.replace(/^v/, '').split('.').slice(0, 2).join('.');
  if (component === 'etcd') return /^3\.[7-9]/.test(version) ? 'etcd-3.7' : 'etcd';
  return component === 'kubelet' && minor === '1.33' ? 'kubelet-1.34' : `${component}-${minor}`;
}

const REMOVED = (load(readFileSync('generator/versions/flags/removed.yaml', 'utf8')) as { flags: { component: string | string[]; flag: string; removed_in: string | null }[] }).flags;

/** A spec's text with its Kubernetes version set to `version`. */
function atVersion(text: string, version: string): string {
  return /^\s+version: v\d+\.\d+\.\d+/m.test(text)
    ? text.replace(/^(\s+)version: v\d+\.\d+\.\d+.*$/m, `$1version: ${version}`)
    : text.replace(/^name: .*$/m, (line) => `${line}\nkubernetes: { version: ${version} }`);
}

// renderFlags refuses a name missing from the list it is pointed at, so a rendered unit cannot fail a
// check against that same list. What it does not see is checked here: the list follows the binary the
// unit starts (not the component the renderer was told) and the minor by the rule above, read from the
// files by this test; no flag is given twice; none is one removed.yaml says was gone by then.
test("every example at every supported minor: each unit starts its own binary with flags from that binary's list for the minor, each once, none removed by then", () => {
  let units = 0;
  for (const spec of EXAMPLE_SPECS) {
    const text = readFileSync(spec, 'utf8');
    for (const version of supportedKubernetesVersions) {
      const cluster = clusterFromText(atVersion(text, version), spec);
      assert.is(cluster.kubernetes.version, version, spec);
      const minor = Number(version.split('.')[1]);
      for (const host of cluster.hosts) {
        for (const f of renderCloudConfig(cluster, host, shapeOnlyBundle(cluster)).files.filter((x) => x.path.startsWith('/etc/systemd/system/'))) {
          const name = f.path.split('/').at(-1)!;
          const component = COMPONENT_OF[name];
          if (!component) continue;
          units++;
          const { exec, flags, names } = unitFlags(f.content);
          assert.is(exec.split('/').at(-1), component, `${spec} ${version} ${host.name} ${name} starts ${exec}`);
          const list = listOf(component, component === 'etcd' ? cluster.etcd.version : version);
          const known = flagList(list);
          for (const flag of names) assert.ok(known.has(flag), `${spec} ${version} ${host.name} ${name}: ${flag} not in ${list}.txt`);
          assert.equal(names.filter((n, i) => names.indexOf(n) !== i), [], `${spec} ${version} ${host.name} ${name}: a flag given twice`);
          const removed = REMOVED.filter((r) => component !== 'etcd' && [r.component].flat().includes(component) && r.removed_in && minor >= Number(r.removed_in.split('.')[1]));
          for (const r of removed) assert.not.ok(flags.has(r.flag), `${spec} ${version} ${host.name} ${name}: ${r.flag} was removed in ${r.removed_in}`);
        }
      }
    }
  }
  assert.ok(units > 40 * supportedKubernetesVersions.length, `${units} units checked`);
});

test('every supported minor has a flag list for every component', () => {
  for (const version of supportedKubernetesVersions) {
    for (const component of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet', 'kube-proxy']) {
      assert.ok(flagList(listOf(component, version)).size > 20, `${component} ${version}`);
    }
  }
});

test('renderFlags refuses a flag the release does not know, naming the component, the flag and the version', () => {
  assert.throws(() => renderFlags('kubelet', 'v1.36.3', [['pod-infra-container-image', 'x']]), (e: Error) => e instanceof UnknownFlagError);
  assert.throws(() => renderFlags('kube-apiserver', 'v1.36.3', [['insecure-port', 0]]), /insecure-port/);
  assert.equal(renderFlags('kubelet', 'v1.36.3', [['config', '/x']]), ['--config=/x']);
  // New in 1.36: a 1.33 unit must not carry it.
  assert.equal(renderFlags('kube-apiserver', 'v1.36.3', [['coordinated-leadership-lease-duration', '15s']]), ['--coordinated-leadership-lease-duration=15s']);
  assert.throws(() => renderFlags('kube-apiserver', 'v1.33.13', [['coordinated-leadership-lease-duration', '15s']]),
    /^kube-apiserver v1\.33\.13 does not accept --coordinated-leadership-lease-duration: not in generator\/versions\/flags\/kube-apiserver-1\.33\.txt$/);
  // kubelet 1.33 is checked against 1.34's list; 1.34 still had the flag, 1.35 dropped it.
  assert.equal(renderFlags('kubelet', 'v1.33.13', [['pod-infra-container-image', 'x']]), ['--pod-infra-container-image=x']);
  assert.throws(() => renderFlags('kubelet', 'v1.35.4', [['pod-infra-container-image', 'x']]), /kubelet v1\.35\.4 does not accept/);
});

test('etcd flags follow the etcd version: feature gate on 3.6, experimental flags on 3.5 and 3.4', () => {
  const ex = examples[0]!;
  const host = ex.cluster.hosts.find((h) => hasRole(h, 'etcd'))!;
  const args = (version: string) => etcdUnit({ ...ex.cluster, etcd: { ...ex.cluster.etcd, version } }, host).args;
  assert.ok(args('3.6.14').includes('--feature-gates=InitialCorruptCheck=true'));
  assert.not.ok(args('3.6.14').some((a) => a.startsWith('--experimental-')));
  for (const v of ['3.5.33', '3.4.23']) {
    assert.ok(args(v).includes('--experimental-initial-corrupt-check=true'), v);
    assert.not.ok(args(v).some((a) => a.startsWith('--feature-gates')), v);
  }
  for (const a of ['--client-cert-auth=true', '--peer-client-cert-auth=true', `--initial-cluster=${ex.cluster.etcd.initialCluster}`]) {
    assert.ok(args('3.6.14').includes(a), a);
  }
});

test('control planes: apiserver with bootstrap tokens, Node+RBAC, secretbox, audit, SA keys, front proxy; local apiserver for controller-manager and scheduler', () => {
  for (const { ex, seed, host, parsed } of hosts()) {
    if (!hasRole(host, 'control-plane')) continue;
    const api = unitFlags(fileAt(parsed, '/etc/systemd/system/kube-apiserver.service')!.content).flags;
    assert.is(api.get('--authorization-mode'), 'Node,RBAC');
    assert.is(api.get('--enable-bootstrap-token-auth'), 'true');
    assert.is(api.get('--kubelet-certificate-authority'), ON_HOST.kubernetesCa.cert.path, 'the apiserver verifies kubelets');
    // Every etcd member at its own address, on etcd's client port.
    assert.is(api.get('--etcd-servers'), ex.cluster.hosts.filter((h) => hasRole(h, 'etcd')).map((h) => `https://${h.address}:2379`).join(','));
    for (const flag of ['--encryption-provider-config', '--audit-policy-file', '--service-account-issuer', '--service-account-key-file',
      '--service-account-signing-key-file', '--requestheader-client-ca-file', '--proxy-client-cert-file']) assert.ok(api.has(flag), flag);
    const enc = fileAt(parsed, FILES.encryptionConfig)!;
    assert.is(enc.permissions, '0600');
    assert.ok(enc.content.includes('secretbox:') && enc.content.includes(ex.bundle.secrets.encryptionKey));
    const audit = fileAt(parsed, FILES.auditPolicy)!.content;
    assert.match(audit, /- level: Metadata\n  resources:\n  - group: ""\n    resources:\n    - secrets/);
    assert.ok(audit.indexOf('secrets') < audit.indexOf('level: Request'), 'secrets are matched before any Request-level rule');
    const local = `https://127.0.0.1:${ex.cluster.kubernetes.apiserverPort}`;
    assert.ok(fileAt(parsed, FILES.controllerManagerKubeconfig)!.content.includes(`server: ${local}`), seed.host);
    assert.ok(fileAt(parsed, FILES.schedulerKubeconfig)!.content.includes(`server: ${local}`), seed.host);
    assert.match(fileAt(parsed, FILES.schedulerConfig)!.content, /kind: KubeSchedulerConfiguration/);
    // Every certificate and key a unit names is delivered to the host.
    const delivered = new Set(parsed.files.map((f) => f.path));
    for (const unit of parsed.files.filter((f) => f.path.endsWith('.service'))) {
      for (const value of unitFlags(unit.content).flags.values()) {
        if (CATALOGUE.some((g) => g.path === value)) assert.ok(delivered.has(value), `${seed.host}: ${value} referenced but not delivered`);
      }
    }
  }
});

test('credentials land once: kubeconfigs name files the host holds, embed no certificate or key, and every credential file is named by something on the host', () => {
  for (const { seed, parsed } of hosts()) {
    const delivered = new Map(parsed.files.map((f) => [f.path, f.content]));
    const kubeconfigs = parsed.files.filter((f) => f.path.endsWith('.kubeconfig'));
    for (const kc of kubeconfigs) {
      assert.not.match(kc.content, /-data:/, `${seed.host} ${kc.path} embeds a credential`);
      const named = [...kc.content.matchAll(/^\s+(certificate-authority|client-certificate|client-key): (\S+)$/gm)];
      assert.ok(named.some((m) => m[1] === 'certificate-authority'), `${seed.host} ${kc.path}: certificate-authority`);
      for (const [, key, path] of named) assert.ok(delivered.has(path!), `${seed.host} ${kc.path}: ${key} ${path} is not on the host`);
    }
    // Nothing more: each certificate or key on the host is named by a unit, a kubeconfig, a config or a script there.
    // The one exception: etcd's health-check client pair, there for the operator's etcdctl on the member (as kubeadm ships it).
    const forTheOperator = new Set<string>([ON_HOST.etcdHealthcheckClient.cert.path, ON_HOST.etcdHealthcheckClient.key.path]);
    for (const [path] of delivered) {
      if (!path.startsWith(HOST_PKI.dir) || forTheOperator.has(path)) continue;
      const namedBy = parsed.files.filter((f) => f.path !== path && f.content.includes(path)).map((f) => f.path);
      assert.ok(namedBy.length > 0, `${seed.host}: ${path} is delivered but nothing on the host names it`);
    }
  }
});

test('nodes: containerd 2 config, KubeletConfiguration, bootstrap and kube-proxy kubeconfigs at the endpoint', () => {
  for (const { ex, seed, host, parsed } of hosts()) {
    if (!isNode(host)) continue;
    const endpoint = ex.cluster.kubernetes.endpoint.url;
    if (ex.cluster.loadBalancer) assert.ok(endpoint.startsWith(`https://${ex.cluster.loadBalancer.vip}:`));
    const containerd = fileAt(parsed, '/etc/containerd/config.toml')!.content;
    assert.match(containerd, /^version = 3$/m);
    assert.match(containerd, /SystemdCgroup = true/);
    assert.ok(containerd.includes(`sandbox = '${ex.cluster.images.pause}'`));
    const kubelet = fileAt(parsed, FILES.kubeletConfig)!.content;
    assert.match(kubelet, /anonymous:\n    enabled: false/);
    assert.match(kubelet, /mode: Webhook/);
    assert.match(kubelet, /rotateCertificates: true/);
    assert.ok(kubelet.includes(`- ${ex.cluster.kubernetes.clusterDNS}`));
    // its own serving certificate, for its node name and address, signed by the cluster CA
    assert.ok(kubelet.includes(`tlsCertFile: ${ON_HOST.kubeletServing.cert.path}\ntlsPrivateKeyFile: ${ON_HOST.kubeletServing.key.path}\n`), seed.host);
    const serving = new X509Certificate(fileAt(parsed, ON_HOST.kubeletServing.cert.path)!.content);
    assert.is(serving.subjectAltName, `DNS:${host.name}, IP Address:${host.address}`, seed.host);
    assert.ok(serving.verify(new X509Certificate(ex.bundle.ca.kubernetes.certPem).publicKey), `${seed.host}: signed by the cluster CA`);
    assert.is(fileAt(parsed, ON_HOST.kubeletServing.key.path)!.permissions, '0600');
    const bootstrap = fileAt(parsed, FILES.bootstrapKubeconfig)!;
    const token = ex.bundle.secrets.bootstrapToken;
    assert.ok(bootstrap.content.includes(`server: ${endpoint}`) && bootstrap.content.includes(`token: ${token.id}.${token.secret}`), seed.host);
    assert.ok(fileAt(parsed, FILES.kubeProxyKubeconfig)!.content.includes(`server: ${endpoint}`), seed.host);
    assert.match(fileAt(parsed, FILES.kubeProxyConfig)!.content, /kind: KubeProxyConfiguration/);
  }
});

test('load balancers: every apiserver upstream, unicast peers, priorities by host order, the VRRP password, a real health check', () => {
  for (const { ex, seed, host, parsed } of hosts()) {
    if (!hasRole(host, 'load-balancer')) continue;
    const lb = ex.cluster.loadBalancer!;
    const nginx = fileAt(parsed, FILES.nginxConf)!.content;
    for (const b of lb.backends) assert.ok(nginx.includes(`server ${b.address}:${b.port} `), `${seed.host}: upstream ${b.host}`);
    assert.match(nginx, /proxy_connect_timeout 2s;/);
    assert.match(nginx, /proxy_next_upstream on;/);
    const ka = fileAt(parsed, FILES.keepalivedConf)!;
    assert.is(ka.permissions, '0600');
    const me = lb.members.find((m) => m.host === host.name)!;
    assert.match(ka.content, new RegExp(`priority ${me.priority}\\n`));
    assert.ok(ka.content.includes(`auth_pass ${ex.bundle.secrets.vrrpPassword}`));
    assert.match(ka.content, /enable_script_security/);
    for (const peer of lb.members.filter((m) => m.host !== host.name)) assert.ok(ka.content.includes(`        ${peer.address}\n`), 'unicast peer');
    // nginx's death moves the VIP at once: nginx.service writes the file keepalived tracks
    assert.match(ka.content, new RegExp(`vrrp_track_file nginx_down \\{\\n\\s+file "${FILES.nginxDownFile}"\\n\\s+weight 0\\n`), 'nginx down: FAULT, the VIP given up at once');
    assert.match(ka.content, /track_file \{\n\s+nginx_down\n\s+\}/);
    assert.match(ka.content, /vrrp_script apiserver_proxy \{[^}]*interval 1\n[^}]*fall 3\n/);
    const dropIn = fileAt(parsed, FILES.nginxVrrpDropIn)!.content;
    assert.ok(dropIn.includes(`ExecStopPost=/bin/sh -c 'echo 1 > ${FILES.nginxDownFile}'`) && dropIn.includes(`ExecStartPost=/bin/sh -c 'echo 0 > ${FILES.nginxDownFile}'`), seed.host);
    const check = fileAt(parsed, FILES.keepalivedCheck)!;
    assert.match(check.content, /curl .*https:\/\/127\.0\.0\.1:\d+\/livez/);
    assert.not.match(check.content, /ps |pgrep|pidof/);
  }
  const priorities = examples[0]!.cluster.loadBalancer!.members.map((m) => m.priority);
  assert.ok(priorities[0]! > priorities[1]!, 'the first load balancer is preferred');
});

test('add-ons on every control plane: bootstrap token, CSR auto-approval, apiserver-to-kubelet RBAC, CoreDNS at clusterDNS, flannel on podCIDR, pinned images', () => {
  for (const { ex, seed, host, parsed } of hosts()) {
    const addons = parsed.files.filter((f) => f.path.startsWith(`${FILES.addonsDir}/`));
    if (!hasRole(host, 'control-plane')) { assert.is(addons.length, 0, seed.host); continue; }
    const all = addons.map((f) => f.content).join('\n---\n');
    const token = parsed.files.find((f) => f.path === FILES.bootstrapTokenSecret);
    assert.ok(token?.content.includes(`name: bootstrap-token-${ex.bundle.secrets.bootstrapToken.id}`), `${seed.host}: ${FILES.bootstrapTokenSecret}`);
    assert.is(token?.permissions, '0600');
    assert.ok(all.includes('system:certificates.k8s.io:certificatesigningrequests:nodeclient'));
    assert.ok(all.includes('system:certificates.k8s.io:certificatesigningrequests:selfnodeclient'));
    assert.ok(all.includes('nodes/proxy') && all.includes('name: kube-apiserver-kubelet-client'));
    assert.ok(all.includes(`clusterIP: ${ex.cluster.kubernetes.clusterDNS}`));
    assert.ok(all.includes(`"Network": "${ex.cluster.kubernetes.podCIDR}"`));
    for (const image of [ex.cluster.images.coredns, ex.cluster.images.cni.daemon, ex.cluster.images.cni.plugin]) {
      assert.ok(all.includes(`image: ${image}`), image);
      assert.not.match(image, /:latest$/);
    }
    for (const f of addons) {
      for (const doc of loadAll(f.content) as { apiVersion?: string; kind?: string; metadata?: { name?: string }; data?: Record<string, string> }[]) {
        assert.ok(doc.apiVersion && doc.kind && doc.metadata?.name, `${seed.host} ${f.path}: every object has apiVersion, kind and a name`);
        // flannel's cni-conf.json and net-conf.json must be JSON, or flanneld and the CNI plugin fail on every node.
        for (const [key, value] of Object.entries(doc.data ?? {})) if (key.endsWith('.json')) JSON.parse(value);
      }
    }
    const script = fileAt(parsed, SEED.bootstrapScript)!.content;
    assert.match(script, /get --raw=\/readyz/);
    assert.match(script, /apply --server-side/);
    // the role label kubeadm gives control planes (a kubelet may not set it itself)
    assert.ok(script.includes(`label node ${host.name} --overwrite node-role.kubernetes.io/control-plane=`), `${seed.host}: role label`);
    assert.ok(script.indexOf('begin label-control-plane') > script.indexOf('begin addons'), `${seed.host}: labelled after the add-ons (the nodeclient binding) are applied`);
  }
});

/** CoreDNS's Corefile as a control plane of `cluster` applies it. */
function corefile(cluster: ExampleSeeds['cluster']): string {
  const cp = cluster.hosts.find((h) => hasRole(h, 'control-plane'))!;
  const file = renderCloudConfig(cluster, cp, shapeOnlyBundle(cluster)).files.find((f) => f.path === `${FILES.addonsDir}/20-coredns.yaml`)!;
  const map = (loadAll(file.content) as { kind?: string; data?: Record<string, string> }[]).find((d) => d.kind === 'ConfigMap')!;
  return map.data!.Corefile!;
}

test('CoreDNS forwards to the nodes\' resolvers when they have some, and starts without any (air-gapped)', () => {
  const withResolvers = clusterFromText(insertAfter(4, '  nameservers: [192.168.1.53]'));
  assert.match(corefile(withResolvers), /forward \. \/etc\/resolv\.conf/);
  const airGapped = clusterFromText(BASE_SPEC);
  assert.ok(airGapped.hosts.every((h) => h.network.nameservers.length === 0));
  const text = corefile(airGapped);
  assert.not.match(text, /^\s*forward\b/m, 'coredns exits with "no nameservers found" when forward reads an empty resolv.conf');
  assert.match(text, /kubernetes cluster\.local in-addr\.arpa ip6\.arpa/);
});

test('every PEM and every file on a host ends its lines with LF, never CRLF (node-forge writes CRLF)', () => {
  for (const { seed, parsed } of hosts()) {
    for (const f of parsed.files) {
      assert.not.ok(f.content.includes('\r'), `${seed.host} ${f.path}: CR in the file`);
      for (const [, data] of f.content.matchAll(/-data: (\S+)/g)) {
        assert.not.ok(Buffer.from(data!, 'base64').toString().includes('\r'), `${seed.host} ${f.path}: CR in embedded data`);
      }
    }
  }
  for (const ex of examples) {
    const pems = [ex.bundle.ca.kubernetes, ex.bundle.ca.etcd, ex.bundle.ca.frontProxy, ...Object.values(ex.bundle.apiserver), ex.bundle.admin].flatMap((p) => [p.certPem, p.keyPem]);
    for (const pem of pems) assert.not.ok(pem.includes('\r'), ex.spec);
  }
});

test('Rocky/Alma load balancers: the keepalived check script gets its own SELinux type (keepalived_selinux(8)), nginx its port', () => {
  const ex = examples.find((e) => e.cluster.image.os === 'rocky-9')!;
  const lb = ex.cluster.hosts.find((h) => hasRole(h, 'load-balancer'))!;
  const step = renderCloudConfig(ex.cluster, lb, ex.bundle).steps.find((s) => s.name === 'start-load-balancer')!;
  // Run the step with the SELinux tools, nginx and systemctl as recorders: what would it do where SELinux enforces?
  const bin = mkdtempSync(join(tmpdir(), 'ha-k8s-seed-selinux-'));
  try {
    for (const tool of ['selinuxenabled', 'setsebool', 'semanage', 'restorecon', 'chcon', 'nginx', 'systemctl']) {
      writeFileSync(join(bin, tool), `#!/bin/sh\necho "${tool} $*" >> ${bin}/calls\n`, { mode: 0o755 });
    }
    const r = spawnSync('bash', ['-euo', 'pipefail', '-c', step.script], { env: { PATH: `${bin}:/usr/bin:/bin` }, encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    const calls = readFileSync(join(bin, 'calls'), 'utf8');
    assert.match(calls, new RegExp(`semanage fcontext -a -t keepalived_unconfined_script_exec_t ${FILES.keepalivedCheck.replace(/[.]/g, '\\.')}`));
    assert.match(calls, new RegExp(`restorecon -F ${FILES.keepalivedCheck.replace(/[.]/g, '\\.')}`));
    assert.match(calls, /semanage port -a -t http_port_t -p tcp \d+/);
    assert.ok(calls.indexOf('restorecon') < calls.indexOf('systemctl restart'), 'labelled before keepalived starts');
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});

test('Debian and Ubuntu load balancers carry no SELinux commands: the distribution is known when the seed is made', () => {
  let checked = 0;
  for (const ex of examples.filter((e) => OS_FAMILY[e.cluster.image.os] === 'debian' && e.cluster.loadBalancer)) {
    for (const lb of ex.cluster.hosts.filter((h) => hasRole(h, 'load-balancer'))) {
      const step = renderCloudConfig(ex.cluster, lb, ex.bundle).steps.find((s) => s.name === 'start-load-balancer')!;
      assert.not.match(step.script, /selinux|semanage|setsebool|chcon|restorecon/, `${ex.spec} ${lb.name}`);
      assert.match(step.script, /^nginx -t -q$/m, `${ex.spec} ${lb.name}`);
      checked++;
    }
  }
  assert.ok(checked > 0, 'some example has a Debian or Ubuntu load balancer');
});

test('every host of every example fits the 64 KiB guestinfo limit raw: no gzip+base64 twin needed', () => {
  for (const ex of examples) {
    for (const seed of ex.rendered.seeds) {
      assert.ok(Buffer.byteLength(seed.userData) <= USER_DATA_LIMIT, `${ex.spec} ${seed.host}: ${Buffer.byteLength(seed.userData)} bytes`);
      assert.is(seed.userDataGzipBase64, undefined, seed.host);
    }
  }
});

test('user-data over the 64 KiB guestinfo limit (an operator\'s large file) gets a gzip+base64 twin that decodes to the same bytes', () => {
  const ex = examples[0]!;
  const cluster = structuredClone(ex.cluster);
  const worker = cluster.hosts.find((h) => isNode(h) && !hasRole(h, 'control-plane'))!;
  const lines = Array.from({ length: 2000 }, (_, i) => `entry ${i} of the operator's own inventory file`);
  worker.files.push({ path: '/etc/inventory.txt', content: `${lines.join('\n')}\n`, owner: 'root:root', permissions: '0644' });
  const rendered = renderHosts(cluster, ex.bundle);
  const seed = rendered.seeds.find((s) => s.host === worker.name)!;
  assert.ok(Buffer.byteLength(seed.userData) > USER_DATA_LIMIT);
  assert.is(gunzipSync(Buffer.from(seed.userDataGzipBase64!, 'base64')).toString('utf8'), seed.userData);
  assert.ok(rendered.files.some((f) => f.path === `hosts/${seed.host}/user-data.gz.b64` && f.mode === 0o600));
  for (const other of rendered.seeds.filter((s) => s.host !== worker.name)) assert.is(other.userDataGzipBase64, undefined, other.host);
});

test('output per host: user-data and cidata.iso 0600, meta-data and network-config; admin.kubeconfig 0600 at the top', () => {
  for (const ex of examples) {
    const byPath = new Map(ex.rendered.files.map((f) => [f.path, f]));
    for (const h of ex.cluster.hosts) {
      assert.is(byPath.get(`hosts/${h.name}/user-data`)?.mode, 0o600);
      assert.is(byPath.get(`hosts/${h.name}/cidata.iso`)?.mode, 0o600);
      assert.ok(byPath.has(`hosts/${h.name}/meta-data`) && byPath.has(`hosts/${h.name}/network-config`));
    }
    const admin = byPath.get('admin.kubeconfig')!;
    assert.is(admin.mode, 0o600);
    assert.ok(String(admin.content).includes(`server: ${ex.cluster.kubernetes.endpoint.url}`));
  }
});

test('etcd.backup: on by default on every etcd member and on no other host; enabled: false leaves it out', () => {
  for (const { ex, host, parsed } of hosts()) {
    const backupFiles = parsed.files.filter((f) => /etcd-backup/.test(f.path)).map((f) => f.path).sort();
    const expected = hasRole(host, 'etcd') && ex.cluster.etcd.backup
      ? ['/etc/systemd/system/etcd-backup.service', '/etc/systemd/system/etcd-backup.timer', FILES.etcdBackupScript].sort() : [];
    assert.equal(backupFiles, expected, `${ex.spec} ${host.name}`);
  }
  const ex = examples.find((e) => e.spec === 'cluster.yaml')!;
  assert.equal(ex.cluster.etcd.backup, { schedule: '*-*-* 00/6:00:00', keep: 12, directory: '/var/backups/etcd' });
  const off = { ...ex.cluster, etcd: { ...ex.cluster.etcd, backup: undefined } };
  const member = off.hosts.find((h) => hasRole(h, 'etcd'))!;
  const rendered = renderCloudConfig(off, member, ex.bundle);
  assert.equal(rendered.files.filter((f) => /etcd-backup/.test(f.path)), []);
  assert.not.match(rendered.steps.map((s) => s.script).join('\n'), /etcd-backup/);
});

test.run();
