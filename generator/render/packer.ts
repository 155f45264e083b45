/**
 * The golden image: Packer templates under packer/ in the cluster folder, with
 * the install script and manifest of every role (generator/install/).
 *
 * The .pkr.hcl files and the sysprep script are static (copied from the
 * project's packer/ folder); everything that depends on the cluster goes into
 * the generated <cluster>.auto.pkrvars.hcl and manifest.txt. Pure: reads only
 * the project's own packer/ files.
 */
import { readFileSync } from 'node:fs';
import type { Cluster } from '../model/types.ts';
import type { OutputFile } from '../output/tree.ts';
import { manifestText } from '../install/manifest.ts';
import { installPlan } from '../install/plan.ts';
import { installScriptText } from '../install/script.ts';
import { renderTemplate } from './templates.ts';
import { assetPath } from '../assets.ts';

const packerDir = `${assetPath('packer')}/`;

/** The variables file: the cluster's choices and the golden image's install plan (every role's). */
export function pkrvarsText(cluster: Cluster): string {
  const { name, kubernetes, image } = cluster;
  return renderTemplate('auto.pkrvars.hcl.hbs', {
    clusterName: name, kubernetesVersion: kubernetes.version, os: image.os, arch: image.arch, ...installPlan(cluster),
  }, packerDir);
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
