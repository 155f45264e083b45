/**
 * A role recipe: everything one role contributes to a host, stated in one
 * typed module (generator/roles/<role>.ts). The renderer (render/cloud-config.ts)
 * only combines the recipes that apply to a host; it decides nothing of its own.
 *
 * Text stays in templates: a file's content is `templates/<template>`, a
 * bootstrap step's shell is `cloud-init/<template>`, each rendered with the
 * view the recipe computed. Install needs (binaries, packages, images) are
 * data: generator/versions/artifacts.yaml names the roles each artifact serves.
 */
import type { Cluster, Host, Role } from '../model/types.ts';
import type { Grant } from '../pki/on-host.ts';
import type { PkiBundle } from '../pki/types.ts';

/** A file on the host: `templates/<template>` rendered with `view`. */
export interface HostFile {
  path: string;
  template: string;
  view: object;
  /** Octal string as cloud-init takes it; '0644' when absent. Owner is always root:root. */
  permissions?: string;
  /** Added to the file the image already has (/etc/hosts). */
  append?: boolean;
  /** A large static file: sent gzipped and base64-encoded when that is smaller (cloud-init decodes it). */
  encoding?: 'gz+b64';
}

/** One step of the host's bootstrap script: `cloud-init/<template>` rendered with `view`; `name` is what bootstrap.failed holds when it fails. */
export interface BootstrapStep {
  name: string;
  template: string;
  view: object;
}

export interface KernelSettings {
  modules?: readonly string[];
  sysctls?: Readonly<Record<string, string | number>>;
}

/** What every recipe of a host adds up to before any file is rendered: the common recipe's files are made of it. */
export interface HostAssembly {
  /** Kernel modules, without duplicates, in recipe order. */
  modules: string[];
  /** Settings in recipe order; a later recipe's value for a key wins. */
  sysctls: { key: string; value: string | number }[];
  /** Every step's shell, rendered, in recipe order. */
  steps: { name: string; script: string }[];
}

/** What a recipe's files are made from. */
export interface RecipeInput {
  cluster: Cluster;
  host: Host;
  /** The cluster's PKI and secrets (or, while validating a spec, a bundle of the right shape). */
  bundle: PkiBundle;
  assembly: HostAssembly;
}

export interface RoleRecipe {
  /** What messages call it: `the etcd recipe`. */
  name: string;
  /** The hosts with any of these roles get the recipe... */
  roles: readonly Role[];
  /** ...when the cluster asks for it (download mode); always when absent. A recipe with credentials has no condition. */
  when?: (cluster: Cluster) => boolean;
  /** The PKI items and secrets the role holds, at the paths they carry (pki/on-host.ts). */
  credentials?: readonly Grant[];
  kernel?: KernelSettings;
  steps?: (cluster: Cluster, host: Host) => BootstrapStep[];
  files: (input: RecipeInput) => HostFile[];
}
