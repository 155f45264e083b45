/**
 * install-artifacts.sh, the one script that installs a plan: Packer runs it to
 * bake the golden image, and in the `download` binaries mode every host runs
 * it on first boot, each with its roles' manifest. The script is the same for
 * every cluster: the install table and the packages' distribution names from
 * the versions table are built in; the cluster's choices are in the manifest.
 */
import { assetPath } from '../assets.ts';
import { BIN } from '../model/paths.ts';
import type { Cluster, Role } from '../model/types.ts';
import { renderTemplate } from '../render/templates.ts';
import { TABLE } from '../versions/table.ts';
import { manifestText } from './manifest.ts';
import { INSTALLED_FILES, installPlan } from './plan.ts';

const packerDir = `${assetPath('packer')}/`;

export function installScriptText(): string {
  return renderTemplate('scripts/install-artifacts.sh.hbs', {
    installTable: INSTALLED_FILES.map((f) => ({ ...f, mode: f.mode.toString(8).padStart(4, '0') })),
    packages: TABLE.packages,
    containerd: BIN.containerd, ctr: BIN.ctr, namespace: 'k8s.io',
  }, packerDir);
}

/**
 * For the `download` binaries mode: the script and the manifest a machine
 * with these roles runs on first boot as `install-artifacts.sh MANIFEST`.
 */
export function installScript(cluster: Cluster, roles?: readonly Role[]): { script: string; manifest: string } {
  return { script: installScriptText(), manifest: manifestText(installPlan(cluster, roles)) };
}
