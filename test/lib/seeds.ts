/**
 * The seeds of every example spec (cluster.yaml and examples/*.yaml), made
 * once per test process: a real PKI from ensurePki in a temporary folder,
 * then renderHosts. Helpers read a host's write_files the way cloud-init
 * does, with Python's YAML (PyYAML, cloud-init's own parser).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cluster } from '../../generator/model/types.ts';
import { ensurePki, type PkiBundle } from '../../generator/pki/index.ts';
import { renderHosts, type RenderedHosts } from '../../generator/render/hosts.ts';
import { loadCluster } from '../../generator/input/validate.ts';

/** The variants in examples/ (not their subfolders), by name. */
export const EXAMPLES = readdirSync('examples').filter((f) => f.endsWith('.yaml')).sort().map((f) => `examples/${f}`);
/** The reference spec and every variant. */
export const EXAMPLE_SPECS = ['cluster.yaml', ...EXAMPLES];

export interface ExampleSeeds { spec: string; cluster: Cluster; bundle: PkiBundle; rendered: RenderedHosts }

/** Each spec's model, a new PKI for it (ensurePki, in a temporary folder removed after) and its rendered hosts. */
export async function renderSeeds(specs: readonly string[]): Promise<ExampleSeeds[]> {
  const work = mkdtempSync(join(tmpdir(), 'ha-k8s-seed-seeds-'));
  try {
    const out: ExampleSeeds[] = [];
    for (const spec of specs) {
      const cluster = await loadCluster(spec);
      const { bundle } = await ensurePki(cluster, join(work, cluster.name, 'pki'));
      out.push({ spec, cluster, bundle, rendered: renderHosts(cluster, bundle) });
    }
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

let cache: Promise<ExampleSeeds[]> | undefined;

export function exampleSeeds(): Promise<ExampleSeeds[]> {
  cache ??= renderSeeds(EXAMPLE_SPECS);
  return cache;
}

export interface LandedFile { path: string; content: string; owner: string; permissions: unknown; append?: boolean; encoding?: string }
export interface ParsedUserData {
  header: string;
  config: Record<string, unknown>;
  /** write_files as cloud-init writes them: its defaults filled in (owner root:root, permissions 0644), gz+b64 decoded. */
  files: LandedFile[];
  /** write_files exactly as user-data spells them. */
  carried: Partial<LandedFile>[];
}

/** cloud-init's cc_write_files: DEFAULT_OWNER, DEFAULT_PERMS, and the spellings of gzip+base64 it decodes. */
const CLOUD_INIT_READ = `
import sys, json, yaml, base64, gzip, copy
config = yaml.safe_load(sys.stdin.read())
carried = copy.deepcopy(config.get('write_files') or [])
for f in config.get('write_files') or []:
    f.setdefault('owner', 'root:root')
    f.setdefault('permissions', '0644')
    if f.get('encoding') in ('gz+b64', 'gzip+base64', 'gz+base64', 'gzip+b64'):
        f['content'] = gzip.decompress(base64.b64decode(f['content'])).decode('utf-8')
print(json.dumps({'config': config, 'carried': carried}))
`;

/** user-data as cloud-init reads it: PyYAML safe_load, returned as JSON. */
export function parseWithPyYaml(text: string): ParsedUserData {
  const json = execFileSync('python3', ['-c', CLOUD_INIT_READ], { input: text, encoding: 'utf8' });
  const { config, carried } = JSON.parse(json) as { config: Record<string, unknown>; carried: Partial<LandedFile>[] };
  return { header: text.split('\n')[0]!, config, files: (config.write_files ?? []) as LandedFile[], carried };
}

export function fileAt(parsed: ParsedUserData, path: string): LandedFile | undefined {
  return parsed.files.find((f) => f.path === path);
}
