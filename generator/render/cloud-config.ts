/**
 * A host's cloud-config: the role recipes that apply to it (generator/roles/)
 * combined in order (their kernel settings and bootstrap steps, then their
 * files rendered from templates/), the credentials its roles hold, then the
 * operator's own files.
 */
import { dump } from 'js-yaml';
import { gzipSync } from 'node:zlib';
import type { Cluster, Host } from '../model/types.ts';
import { credentialsFor } from '../pki/access.ts';
import { shapeOnlyBundle } from '../pki/shape.ts';
import type { PkiBundle } from '../pki/types.ts';
import { recipesFor } from '../roles/index.ts';
import type { HostAssembly, HostFile, RecipeInput, RoleRecipe } from '../roles/recipe.ts';
import { SEED } from '../roles/paths.ts';
import { CLOUD_INIT_DIR, renderTemplate } from './templates.ts';

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

/**
 * A write_files item indented by one space a level: its `-` stands alone on
 * a line and each line of its content is indented two spaces instead of four.
 * The files land byte for byte the same; a control plane's seed is about
 * 750 lines of file content, so this is 1.5 KB of its raw size.
 */
const WRITE_FILE_INDENT = 1;
/** runcmd's commands in flow style: `{ runcmd: [[...]] }` is flow from its second level. */
const RUNCMD_FLOW_LEVEL = 2;

/** seqNoIndent: list items at their key's column, two spaces less on every line of every file. */
function yaml(value: unknown, indent = 2, flowLevel = -1): string {
  return dump(value, { lineWidth: -1, noRefs: true, seqNoIndent: true, indent, flowLevel });
}

/**
 * The write_files item as user-data carries it, as YAML: cloud-init's
 * defaults left out; a file marked gz+b64 in whichever of the two forms is
 * the shorter text (a short file's gzip header outweighs what it saves).
 */
function carriedYaml(f: WriteFile): string {
  const { encoding, owner, permissions, ...rest } = f;
  const plain = {
    ...rest,
    ...(owner !== CLOUD_INIT_DEFAULTS.owner ? { owner } : {}),
    ...(permissions !== CLOUD_INIT_DEFAULTS.permissions ? { permissions } : {}),
  };
  const plainYaml = yaml([plain], WRITE_FILE_INDENT);
  if (encoding !== 'gz+b64') return plainYaml;
  const packedYaml = yaml([{ ...plain, encoding: 'gz+b64', content: gzipBase64(f.content) }], WRITE_FILE_INDENT);
  return Buffer.byteLength(packedYaml) < Buffer.byteLength(plainYaml) ? packedYaml : plainYaml;
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
    text = carriedYaml(f);
    // Bounded: per-host files are not worth keeping once the map is full.
    if (entryYaml.size < 1024) entryYaml.set(key, text);
  }
  return text;
}

export interface HostCloudConfig {
  /** The user-data text (#cloud-config). */
  userData: string;
  files: WriteFile[];
  /** The bootstrap steps, in the order the script runs them. */
  steps: HostAssembly['steps'];
}

/** A file the tool itself writes on a host, with what it belongs to (named in spec errors). */
export interface GeneratedFile extends WriteFile {
  /** `the load-balancer recipe (templates/load-balancer/nginx.conf.hbs)`, `the PKI (...)`. */
  source: string;
}

/** Every recipe's files for a host, each with what spec errors say it belongs to. */
function recipeFiles(recipes: readonly RoleRecipe[], input: RecipeInput): { file: HostFile; source: string }[] {
  return recipes.flatMap((recipe) => recipe.files(input).map((file) => ({ file, source: `${recipe.name} (templates/${file.template})` })));
}
const PKI_SOURCE = 'the PKI (README: "Who gets what")';

/**
 * What the recipes' kernel settings and bootstrap steps add up to on a host:
 * the common recipe's modules-load, sysctl and bootstrap files are made of it.
 */
function assemble(cluster: Cluster, host: Host, recipes: readonly RoleRecipe[]): HostAssembly {
  const modules = [...new Set(recipes.flatMap((r) => r.kernel?.modules ?? []))];
  const sysctls = Object.entries(Object.assign({}, ...recipes.map((r) => r.kernel?.sysctls ?? {})) as Record<string, string | number>)
    .map(([key, value]) => ({ key, value }));
  const steps = recipes.flatMap((r) => r.steps?.(cluster, host) ?? [])
    .map((s) => ({ name: s.name, script: renderTemplate(s.template, s.view, CLOUD_INIT_DIR).trimEnd() }));
  return { modules, sysctls, steps };
}

/** What the tool writes on a host for its roles, before the operator's own files. */
function toolFiles(cluster: Cluster, host: Host, bundle: PkiBundle): { files: GeneratedFile[]; steps: HostAssembly['steps'] } {
  const recipes = recipesFor(cluster, host);
  const assembly = assemble(cluster, host, recipes);
  const files: GeneratedFile[] = recipeFiles(recipes, { cluster, host, bundle, assembly }).map(({ file: f, source }) => ({
    path: f.path,
    content: renderTemplate(f.template, f.view),
    owner: 'root:root',
    permissions: f.permissions ?? '0644',
    ...(f.append ? { append: true } : {}),
    ...(f.encoding ? { encoding: f.encoding } : {}),
    source,
  }));
  for (const c of credentialsFor(cluster, host, bundle)) {
    files.push({ path: c.path, content: c.content, owner: c.owner, permissions: c.permissions, source: PKI_SOURCE });
  }
  return { files, steps: assembly.steps };
}

/**
 * The paths the tool writes on a host and what each belongs to, known from
 * the model alone (validation runs before any PKI exists): an operator's
 * file may not land on one of them.
 */
export function generatedPaths(cluster: Cluster, host: Host): { path: string; source: string }[] {
  // The recipes' paths, without rendering a file: validation needs where, not what.
  const bundle = shapeOnlyBundle(cluster);
  const assembly: HostAssembly = { modules: [], sysctls: [], steps: [] };
  return [
    ...recipeFiles(recipesFor(cluster, host), { cluster, host, bundle, assembly }).map(({ file, source }) => ({ path: file.path, source })),
    ...credentialsFor(cluster, host, bundle).map((c) => ({ path: c.path, source: PKI_SOURCE })),
  ];
}

export function renderCloudConfig(cluster: Cluster, host: Host, bundle: PkiBundle): HostCloudConfig {
  const { files: generated, steps } = toolFiles(cluster, host, bundle);
  const files: WriteFile[] = generated.map(({ source: _source, ...f }) => f);
  for (const f of host.files) {
    files.push({ path: f.path, content: f.content, owner: f.owner, permissions: f.permissions });
  }
  // Validation refuses an operator's file on a generated path (input/checks/files.ts); this is the last guard.
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
  // Argument lists (no shell), each on one line: `- [systemctl, daemon-reload]`.
  const runcmd = [
    ['systemctl', 'daemon-reload'],
    ['systemctl', 'enable', SEED.bootstrapUnit],
    ['systemctl', 'start', '--no-block', SEED.bootstrapUnit],
  ];
  // The YAML of { ...config, write_files, runcmd }, each part dumped on its own: write_files' items at their own indent, each entry's text reused across hosts.
  const body = `${yaml(config)}write_files:\n${files.map(writeFileYaml).join('')}${yaml({ runcmd }, 2, RUNCMD_FLOW_LEVEL)}`;
  const userData = renderTemplate('user-data.hbs', {
    host: host.name,
    roles: host.roles.join(', '),
    cluster: cluster.name,
    bootstrapUnit: SEED.bootstrapUnit,
    doneMarker: SEED.doneMarker,
    failedMarker: SEED.failedMarker,
    body: body.trimEnd(),
  }, CLOUD_INIT_DIR);
  return { userData, files, steps };
}
