/**
 * A host's cloud-config: common.yaml and its roles' documents (cloud-init/)
 * rendered with the host's view, merged, their files rendered from
 * templates/, then the credentials and the operator's own files added.
 */
import { dump, load } from 'js-yaml';
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
}
interface Step { name: string; run: string }
interface RoleDocument {
  files?: DocumentFile[];
  kernel?: { modules?: string[]; sysctls?: Record<string, string | number> };
  steps?: Step[];
}

/** One write_files entry, as cloud-init reads it. */
export interface WriteFile {
  path: string;
  content: string;
  owner: string;
  permissions: string;
  append?: boolean;
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
  const docs = names.map((name) => {
    const text = renderTemplate(name, view, ROLE_DOCUMENTS);
    try {
      return (load(text) ?? {}) as RoleDocument;
    } catch (error) {
      throw new Error(`cloud-init/${name} for ${host.name}: ${(error as Error).message}`);
    }
  });

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
  // Validation refuses an operator's file on a generated path (spec/checks.ts); this is the last guard.
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
    write_files: files,
    // In a chroot (tests) systemctl ignores start requests; on a VM this starts the bootstrap.
    runcmd: [
      ['systemctl', 'daemon-reload'],
      ['systemctl', 'enable', SEED.bootstrapUnit],
      ['systemctl', 'start', '--no-block', SEED.bootstrapUnit],
    ],
  };
  const body = dump(config, { lineWidth: -1, noRefs: true });
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
