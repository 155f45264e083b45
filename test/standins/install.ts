/**
 * Installs the Kubernetes STAND-INS (kube-standin.mjs) into a root file system
 * at the paths the real binaries have (generator/model/paths.ts BIN), for the
 * boot lab and the stand-ins' own tests. They are not Kubernetes: see
 * kube-standin.mjs for what they check and serve.
 *
 * Layout under rootDir:
 *   usr/local/lib/kube-standin/kube-standin.mjs   the program
 *   usr/local/lib/kube-standin/version            target release, e.g. v1.36.3
 *   usr/local/lib/kube-standin/flags/<c>.txt      flags that release knows
 *   usr/local/bin/kube-apiserver, ...             small launchers, each headed STAND-IN
 *   usr/local/bin/containerd                      containerd-standin.py, when asked for
 */
import { readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BIN } from '../../generator/model/paths.ts';
import { flagListName } from '../../generator/versions/versions.ts';

const here = dirname(fileURLToPath(import.meta.url));
const FLAGS_DIR = join(here, '../../generator/versions/flags');
export const STANDIN_LIB = '/usr/local/lib/kube-standin';

export const STANDIN_COMPONENTS = {
  'kube-apiserver': BIN.kubeApiserver,
  'kube-controller-manager': BIN.kubeControllerManager,
  'kube-scheduler': BIN.kubeScheduler,
  kubelet: BIN.kubelet,
  'kube-proxy': BIN.kubeProxy,
} as const;
export type StandinComponent = keyof typeof STANDIN_COMPONENTS;

/**
 * The flags `component` knows at `version`: the very list the generator
 * renders against for that minor (generator/versions/flags/, flagListName),
 * so the stand-ins refuse exactly what the target release would.
 */
export function knownFlags(component: StandinComponent, version: string): string[] {
  return readFileSync(join(FLAGS_DIR, `${flagListName(component, version)}.txt`), 'utf8')
    .split('\n').filter((l) => l.startsWith('--')).sort();
}

/**
 * Places the stand-ins for Kubernetes `version` (e.g. "v1.36.3") under rootDir
 * ("/" for this machine), and, when `containerd` names a release (e.g. "2.3.4"),
 * the containerd stand-in at BIN.containerd.
 */
export async function installStandins(rootDir: string, { version, containerd }: { version: string; containerd?: string }): Promise<Record<StandinComponent, string>> {
  if (!/^v\d+\.\d+\.\d+/.test(version)) throw new Error(`installStandins: version ${version}: want vMAJOR.MINOR.PATCH`);
  const lib = join(rootDir, STANDIN_LIB);
  await mkdir(join(lib, 'flags'), { recursive: true });
  await copyFile(join(here, 'kube-standin.mjs'), join(lib, 'kube-standin.mjs'));
  await writeFile(join(lib, 'version'), `${version}\n`);
  await writeFile(join(lib, 'README'), 'STAND-INS for the Kubernetes binaries, installed by ha-k8s-seed test/standins/install.ts for tests and the boot lab. Not Kubernetes.\n');
  const installed = {} as Record<StandinComponent, string>;
  for (const [component, path] of Object.entries(STANDIN_COMPONENTS) as [StandinComponent, string][]) {
    await writeFile(join(lib, 'flags', `${component}.txt`), `# ${component} ${version}: flags the stand-in accepts\n${knownFlags(component, version).join('\n')}\n`);
    const target = join(rootDir, path);
    await mkdir(dirname(target), { recursive: true });
    const program = relative(dirname(path), join(STANDIN_LIB, 'kube-standin.mjs'));
    await writeFile(target, [
      '#!/usr/bin/env node',
      `// STAND-IN for ${component} ${version}: NOT Kubernetes. A test double from ha-k8s-seed`,
      '// (test/standins/kube-standin.mjs) that validates flags, files and certificates and',
      `// speaks TLS like ${component}; it is installed only into test roots by test/standins/install.ts.`,
      `import(require('node:url').pathToFileURL(require('node:path').join(__dirname, ${JSON.stringify(program)})).href);`,
      '',
    ].join('\n'));
    await chmod(target, 0o755);
    installed[component] = target;
  }
  if (containerd) {
    await writeFile(join(lib, 'containerd-version'), `v${containerd.replace(/^v/, '')}\n`);
    const target = join(rootDir, BIN.containerd);
    await mkdir(dirname(target), { recursive: true });
    await copyFile(join(here, 'containerd-standin.py'), target);
    await chmod(target, 0o755);
  }
  return installed;
}
