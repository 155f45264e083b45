/**
 * The golden image: Packer templates under packer/ in the cluster folder, and
 * the install script + manifest that both the image build and the `download`
 * binaries mode run.
 *
 * The .pkr.hcl files and the sysprep script are static (copied from the
 * project's packer/ folder); everything that depends on the cluster goes into
 * the generated <cluster>.auto.pkrvars.hcl, the install script's file table
 * and manifest.txt. Pure: reads only the project's own packer/ files.
 */
import { readFileSync } from 'node:fs';
import { BIN } from '../model/paths.ts';
import { ROLES, type Artifact, type ArtifactName, type Cluster, type Role } from '../model/types.ts';
import type { OutputFile } from '../output/tree.ts';
import { renderTemplate } from './templates.ts';
import { assetPath } from '../assets.ts';

const packerDir = `${assetPath('packer')}/`;

/**
 * Where each artifact's files go. `member` is a shell glob inside the
 * unpacked tarball (or the downloaded file, for a plain binary); a `path`
 * ending in "/" is a folder that receives every executable file the glob
 * matches, otherwise the glob must match exactly one file.
 */
export interface InstalledFile { artifact: ArtifactName; member: string; path: string; mode: number }

const file = (artifact: ArtifactName, member: string, path: string): InstalledFile => ({ artifact, member, path, mode: 0o755 });

export const INSTALLED_FILES: readonly InstalledFile[] = [
  file('kubernetes-server', 'kubernetes/server/bin/kube-apiserver', BIN.kubeApiserver),
  file('kubernetes-server', 'kubernetes/server/bin/kube-controller-manager', BIN.kubeControllerManager),
  file('kubernetes-server', 'kubernetes/server/bin/kube-scheduler', BIN.kubeScheduler),
  file('kubernetes-server', 'kubernetes/server/bin/kubectl', BIN.kubectl),
  file('kubernetes-node', 'kubernetes/node/bin/kubelet', BIN.kubelet),
  file('kubernetes-node', 'kubernetes/node/bin/kube-proxy', BIN.kubeProxy),
  file('kubernetes-node', 'kubernetes/node/bin/kubectl', BIN.kubectl),
  file('etcd', 'etcd-v*-linux-*/etcd', BIN.etcd),
  file('etcd', 'etcd-v*-linux-*/etcdctl', BIN.etcdctl),
  file('etcd', 'etcd-v*-linux-*/etcdutl', BIN.etcdutl),
  file('containerd', 'bin/containerd', BIN.containerd),
  file('containerd', 'bin/containerd-shim-runc-v2', BIN.containerdShim),
  file('containerd', 'bin/ctr', BIN.ctr),
  file('runc', 'runc.*', BIN.runc),
  file('cni-plugins', '*', `${BIN.cniDir}/`),
  file('crictl', 'crictl', BIN.crictl),
];

/** Distribution packages by their logical names; the install script maps them per distribution. */
const DISTRIBUTION_PACKAGES = ['nginx', 'nginx-stream', 'keepalived', 'iptables', 'conntrack'] as const;

/** What each role needs on its machine; the golden image carries the union of all roles. */
const ROLE_NEEDS: Record<Role, { artifacts: readonly ArtifactName[]; packages: readonly string[]; images: boolean }> = {
  etcd: { artifacts: ['etcd'], packages: [], images: false },
  // kube-proxy (iptables mode) needs iptables and conntrack on every node.
  'control-plane': {
    artifacts: ['kubernetes-server', 'kubernetes-node', 'containerd', 'runc', 'cni-plugins', 'crictl'],
    packages: ['iptables', 'conntrack'], images: true,
  },
  worker: { artifacts: ['kubernetes-node', 'containerd', 'runc', 'cni-plugins', 'crictl'], packages: ['iptables', 'conntrack'], images: true },
  'load-balancer': { artifacts: [], packages: ['nginx', 'nginx-stream', 'keepalived'], images: false },
};

/**
 * Every container image the model lists (pause, CoreDNS, and whatever the CNI
 * adds to cluster.images), in the model's order, each once.
 */
export function containerImages(cluster: Pick<Cluster, 'images'>): string[] {
  const refs = (value: unknown): string[] => {
    if (typeof value === 'string') return value === '' ? [] : [value];
    if (Array.isArray(value)) return value.flatMap(refs);
    if (value && typeof value === 'object') return Object.values(value).flatMap(refs);
    return [];
  };
  return [...new Set(refs(cluster.images))];
}

/**
 * With an air-gapped mirror, images come as archives (`ctr images export`
 * output) at <mirror>/images/<registry>/<repository>/<tag>.tar.
 */
export function imageArchiveUrl(ref: string, mirror: string): string {
  const path = ref.replace('@', '/').replace(/:([^:/]+)$/, '/$1');
  return `${mirror.replace(/\/+$/, '')}/images/${path}.tar`;
}

export interface InstallPlan {
  artifacts: Artifact[];
  images: { ref: string; archiveUrl: string }[];
  packages: string[];
}

/** What a machine with these roles installs (every role: the golden image). */
export function installPlan(cluster: Cluster, roles: readonly Role[] = ROLES): InstallPlan {
  const needs = roles.map((r) => ROLE_NEEDS[r]);
  const names = new Set(needs.flatMap((n) => n.artifacts));
  const packages = new Set(needs.flatMap((n) => n.packages));
  const { mirror } = cluster.image;
  return {
    artifacts: cluster.artifacts.filter((a) => names.has(a.name)),
    images: needs.some((n) => n.images)
      ? containerImages(cluster).map((ref) => ({ ref, archiveUrl: mirror ? imageArchiveUrl(ref, mirror) : '' }))
      : [],
    packages: DISTRIBUTION_PACKAGES.filter((p) => packages.has(p)),
  };
}

/** The install script's input, one record a line (the format is described at the top of the script). */
export function manifestText(plan: InstallPlan): string {
  const lines = [
    ...plan.artifacts.map((a) =>
      `artifact ${a.name} ${a.version} ${a.format} ${a.checksum.algorithm} ${a.checksum.value} ${a.url}`),
    ...plan.images.map((i) => `image ${i.ref} ${i.archiveUrl || '-'}`),
    ...plan.packages.map((p) => `package ${p}`),
  ];
  for (const line of lines) {
    if (/[\s#'"\\]/.test(line.split(' ').join(''))) throw new Error(`install manifest: unsafe characters in "${line}"`);
  }
  return `${lines.join('\n')}\n`;
}

/** The install script, with the file table of INSTALLED_FILES built in. Same for every cluster. */
export function installScriptText(): string {
  const installTable = INSTALLED_FILES.map((f) => `${f.artifact} ${f.member} ${f.path} 0${f.mode.toString(8)}`);
  return renderTemplate('scripts/install-artifacts.sh.hbs', {
    installTable, containerd: BIN.containerd, ctr: BIN.ctr, namespace: 'k8s.io',
  }, packerDir);
}

/**
 * For the `download` binaries mode: the script and the manifest a machine
 * with these roles runs on first boot as `install-artifacts.sh MANIFEST`.
 */
export function installScript(cluster: Cluster, roles?: readonly Role[]): { script: string; manifest: string } {
  return { script: installScriptText(), manifest: manifestText(installPlan(cluster, roles)) };
}

// ---- HCL for the generated variables file --------------------------------------

/** An HCL string literal: JSON's escapes, plus HCL's own for template sequences. */
function hclString(value: string): string {
  return JSON.stringify(value).replace(/\$\{/g, '$${').replace(/%\{/g, '%%{');
}

/** Attributes one a line with their "=" aligned, as `packer fmt` writes them. */
function hclAttributes(entries: [string, string][], indent: string): string {
  const width = Math.max(...entries.map(([k]) => k.length));
  return entries.map(([k, v]) => `${indent}${k.padEnd(width)} = ${v}\n`).join('');
}

function hclObjectList(items: Record<string, string>[]): string {
  if (items.length === 0) return '[]';
  const body = items.map((item) =>
    `  {\n${hclAttributes(Object.entries(item).map(([k, v]) => [k, hclString(v)]), '    ')}  },\n`).join('');
  return `[\n${body}]`;
}

export function pkrvarsText(cluster: Cluster): string {
  const plan = installPlan(cluster);
  return [
    `# Generated by ha-k8s-seed for cluster ${cluster.name}: what the golden image is\n`,
    '# built from, taken from the cluster spec and the pinned versions table.\n',
    '# Regenerate rather than edit; give platform settings with -var or a\n',
    '# *.pkrvars.hcl of your own (see variables.pkr.hcl).\n',
    hclAttributes([
      ['cluster_name', hclString(cluster.name)],
      ['kubernetes_version', hclString(cluster.kubernetes.version)],
      ['os', hclString(cluster.image.os)],
      ['arch', hclString(cluster.image.arch)],
    ], ''),
    '\n',
    `artifacts = ${hclObjectList(plan.artifacts.map((a) => ({
      name: a.name, version: a.version, format: a.format, algorithm: a.checksum.algorithm, checksum: a.checksum.value, url: a.url,
    })))}\n`,
    '\n',
    `images = ${hclObjectList(plan.images.map((i) => ({ ref: i.ref, archive_url: i.archiveUrl })))}\n`,
    '\n',
    `packages = [${plan.packages.map(hclString).join(', ')}]\n`,
  ].join('');
}

// ---- The packer/ folder of the cluster ----------------------------------------------

/** Copied as they are; the order is the order of the output. */
const STATIC_FILES: readonly { path: string; mode: number }[] = [
  { path: 'plugins.pkr.hcl', mode: 0o644 },
  { path: 'variables.pkr.hcl', mode: 0o644 },
  { path: 'sources.pkr.hcl', mode: 0o644 },
  { path: 'build.pkr.hcl', mode: 0o644 },
  { path: 'build.sh', mode: 0o755 },
  { path: 'cidata/meta-data', mode: 0o644 },
  { path: 'cidata/user-data', mode: 0o644 },
  { path: 'scripts/sysprep.sh', mode: 0o755 },
];

/** Every file of out/<cluster>/packer/. */
export function renderPacker(cluster: Cluster): OutputFile[] {
  return [
    ...STATIC_FILES.map((f) => ({ path: `packer/${f.path}`, content: readFileSync(`${packerDir}${f.path}`, 'utf8'), mode: f.mode })),
    { path: `packer/${cluster.name}.auto.pkrvars.hcl`, content: pkrvarsText(cluster), mode: 0o644 },
    { path: 'packer/scripts/install-artifacts.sh', content: installScriptText(), mode: 0o755 },
    { path: 'packer/manifest.txt', content: manifestText(installPlan(cluster)), mode: 0o644 },
  ];
}
