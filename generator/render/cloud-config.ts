/**
 * A host's cloud-config: common.yaml and its roles' documents (cloud-init/)
 * rendered with the host's view, merged, their files rendered from
 * templates/, then the credentials and the operator's own files added.
 */
import { dump, load } from 'js-yaml';
import { gzipSync } from 'node:zlib';
import { hasRole, type Cluster, type Host } from '../model/types.ts';
import { credentialsFor } from '../pki/access.ts';
import { shapeOnlyBundle } from '../pki/shape.ts';
import type { PkiBundle } from '../pki/types.ts';
import { SEED } from './host-paths.ts';
import { hostView, type HostView } from './host-view.ts';
import { renderTemplate } from './templates.ts';
import { assetPath } from '../assets.ts';

const ROLE_DOCUMENTS = `${assetPath('cloud-init')}/`;

interface DocumentFile {
  path: string;
  template: string;
  view?: string;
  permissions?: string;
  append?: boolean;
  /** A large static file: sent gzipped and base64-encoded when that is smaller (cloud-init decodes it). */
  encoding?: 'gz+b64';
}
interface Step { name: string; run: string }
interface RoleDocument {
  files?: DocumentFile[];
  kernel?: { modules?: string[]; sysctls?: Record<string, string | number> };
  steps?: Step[];
}

/** One write_files entry: `content` is what lands on the host, before any encoding. */
export interface WriteFile {
  path: string;
  content: string;
  owner: string;
  permissions: string;
  append?: boolean;
  /** How user-data carries it: gzip then base64 (cloud-init's `encoding: gz+b64`); plain text when absent. */
  encoding?: 'gz+b64';
}

/**
 * gzip level 9: these files are small, so the best ratio costs microseconds.
 * Node's gzip header carries no time stamp or name: same text, same bytes.
 */
function gzipBase64(text: string): string {
  return gzipSync(text, { level: 9 }).toString('base64');
}

/** cloud-init's own defaults for write_files (cc_write_files): not repeated on every entry. */
const CLOUD_INIT_DEFAULTS = { owner: 'root:root', permissions: '0644' } as const;

/** The write_files entry as user-data carries it: cloud-init's defaults left out, the encoded form only where it is the smaller. */
function carried(f: WriteFile): Record<string, unknown> {
  const { encoding, owner, permissions, ...rest } = f;
  const plain = {
    ...rest,
    ...(owner !== CLOUD_INIT_DEFAULTS.owner ? { owner } : {}),
    ...(permissions !== CLOUD_INIT_DEFAULTS.permissions ? { permissions } : {}),
  };
  if (encoding !== 'gz+b64') return plain;
  const packed = gzipBase64(f.content);
  // A block scalar costs its indentation on every line; the base64 is one line.
  const plainCost = Buffer.byteLength(f.content) + 6 * f.content.split('\n').length;
  return packed.length < plainCost ? { ...plain, encoding: 'gz+b64', content: packed } : plain;
}

/** The documents a host's cloud-config is made of, in order (cloud-init/README.md). */
export function roleDocuments(cluster: Cluster, host: Host): string[] {
  const docs = ['common.yaml'];
  if (cluster.image.binaries === 'download') docs.push('download.yaml');
  if (hasRole(host, 'etcd')) docs.push('etcd.yaml');
  if (hasRole(host, 'control-plane')) docs.push('control-plane.yaml');
  if (hasRole(host, 'control-plane') || hasRole(host, 'worker')) docs.push('node.yaml');
  if (hasRole(host, 'load-balancer')) docs.push('load-balancer.yaml');
  if (hasRole(host, 'control-plane')) docs.push('addons.yaml');
  return docs;
}

function lookup(view: object, dotted: string): object {
  let value: unknown = view;
  for (const key of dotted.split('.')) value = (value as Record<string, unknown> | undefined)?.[key];
  if (typeof value !== 'object' || value === null) throw new Error(`view has no part ${dotted}`);
  return value;
}

/** seqNoIndent: list items at their key's column, two spaces less on every line of every file. */
function yaml(value: unknown): string {
  return dump(value, { lineWidth: -1, noRefs: true, seqNoIndent: true });
}

/**
 * One write_files item as YAML, remembered by what it says: most files of a
 * worker (the CA, kube-proxy's credentials, containerd's config...) are the
 * same on every worker, and dumping long text is most of a seed's cost.
 */
const entryYaml = new Map<string, string>();

function writeFileYaml(f: WriteFile): string {
  const key = JSON.stringify(f);
  let text = entryYaml.get(key);
  if (text === undefined) {
    text = yaml([carried(f)]);
    // Bounded: per-host files are not worth keeping once the map is full.
    if (entryYaml.size < 1024) entryYaml.set(key, text);
  }
  return text;
}

/**
 * Parsed role documents by their rendered text. A role's document reads only
 * what hosts of that role share (paths, templates, steps), so a thousand
 * workers render one text and it is parsed once. The parsed documents are only
 * read, never changed.
 */
const parsedDocuments = new Map<string, RoleDocument>();

function parseRoleDocument(name: string, text: string, host: Host): RoleDocument {
  let doc = parsedDocuments.get(text);
  if (doc) return doc;
  try {
    doc = (load(text) ?? {}) as RoleDocument;
  } catch (error) {
    throw new Error(`cloud-init/${name} for ${host.name}: ${(error as Error).message}`);
  }
  // Bounded: a text specific to each host (a control plane's) would otherwise grow it without end.
  if (parsedDocuments.size < 256) parsedDocuments.set(text, doc);
  return doc;
}

export interface HostCloudConfig {
  /** The user-data text (#cloud-config). */
  userData: string;
  files: WriteFile[];
  steps: Step[];
}

/** A file the tool itself writes on a host, with what it belongs to (named in spec errors). */
export interface GeneratedFile extends WriteFile {
  /** `cloud-init/load-balancer.yaml (templates/lb/nginx.conf.hbs)`, `the PKI (apiserver cert)`. */
  source: string;
}

interface ToolOutput { view: HostView; files: GeneratedFile[]; steps: Step[] }

/** What the tool writes on a host for its roles, before the operator's own files. */
function toolFiles(cluster: Cluster, host: Host, bundle: PkiBundle): ToolOutput {
  const view: HostView = hostView(cluster, host, bundle);
  const names = roleDocuments(cluster, host);
  const docs = names.map((name) => parseRoleDocument(name, renderTemplate(name, view, ROLE_DOCUMENTS), host));

  const modules = [...new Set(docs.flatMap((d) => d.kernel?.modules ?? []))];
  const sysctls = Object.entries(Object.assign({}, ...docs.map((d) => d.kernel?.sysctls ?? {})) as Record<string, string | number>)
    .map(([key, value]) => ({ key, value }));
  const steps = docs.flatMap((d) => d.steps ?? []).map((s) => ({ name: s.name, run: s.run.trimEnd() }));
  const fullView = {
    ...view,
    modules,
    sysctls,
    steps: steps.map((s) => ({ name: s.name, script: s.run })),
    scriptPath: SEED.bootstrapScript,
    stateDir: SEED.stateDir,
    doneMarker: SEED.doneMarker,
    failedMarker: SEED.failedMarker,
  };

  const files: GeneratedFile[] = docs.flatMap((d, i) => (d.files ?? []).map((f) => ({
    path: f.path,
    content: renderTemplate(f.template, f.view ? lookup(fullView, f.view) : fullView),
    owner: 'root:root',
    permissions: f.permissions ?? '0644',
    ...(f.append ? { append: true } : {}),
    ...(f.encoding ? { encoding: f.encoding } : {}),
    source: `cloud-init/${names[i]} (templates/${f.template})`,
  })));
  for (const c of credentialsFor(cluster, host, bundle)) {
    files.push({ path: c.path, content: c.content, owner: c.owner, permissions: c.permissions, source: 'the PKI (README: "Who gets what")' });
  }
  return { view, files, steps };
}

/**
 * The paths the tool writes on a host and what each belongs to, known from
 * the model alone (validation runs before any PKI exists): an operator's
 * file may not land on one of them.
 */
export function generatedPaths(cluster: Cluster, host: Host): { path: string; source: string }[] {
  return toolFiles(cluster, host, shapeOnlyBundle(cluster)).files.map(({ path, source }) => ({ path, source }));
}

export function renderCloudConfig(cluster: Cluster, host: Host, bundle: PkiBundle): HostCloudConfig {
  const { view, files: generated, steps } = toolFiles(cluster, host, bundle);
  const files: WriteFile[] = generated.map(({ source: _source, ...f }) => f);
  for (const f of host.files) {
    files.push({ path: f.path, content: f.content, owner: f.owner, permissions: f.permissions });
  }
  // Validation refuses an operator's file on a generated path (input/checks.ts); this is the last guard.
  const seen = new Set<string>();
  for (const f of files) {
    if (seen.has(f.path)) throw new Error(`${host.name}: two files at ${f.path}`);
    seen.add(f.path);
  }

  const config = {
    hostname: host.name,
    manage_etc_hosts: false,
    ssh_pwauth: false,
    disable_root: true,
    ssh_authorized_keys: cluster.ssh.authorizedKeys,
    // Built into glibc on every supported distribution: nothing to generate, nothing to fail.
    locale: 'C.UTF-8',
    ntp: { enabled: true, ...(cluster.ntp.servers.length ? { servers: cluster.ntp.servers } : {}) },
    ...(host.packages.length ? { packages: host.packages } : {}),
  };
  // In a chroot (tests) systemctl ignores start requests; on a VM this starts the bootstrap.
  const runcmd = [
    ['systemctl', 'daemon-reload'],
    ['systemctl', 'enable', SEED.bootstrapUnit],
    ['systemctl', 'start', '--no-block', SEED.bootstrapUnit],
  ];
  // The same YAML as one dump of { ...config, write_files, runcmd }, with each entry's text reused across hosts.
  const body = `${yaml(config)}write_files:\n${files.map(writeFileYaml).join('')}${yaml({ runcmd })}`;
  const userData = renderTemplate('cloud-init/user-data.hbs', {
    host: host.name,
    roles: view.roles,
    cluster: cluster.name,
    bootstrapUnit: SEED.bootstrapUnit,
    doneMarker: SEED.doneMarker,
    failedMarker: SEED.failedMarker,
    body: body.trimEnd(),
  });
  return { userData, files, steps };
}
