/**
 * Stock cloud image (image.binaries: download): the pinned, checksum-verified
 * artifacts this host's roles need are installed by the same script that
 * bakes the golden image (packer/), before any daemon starts.
 */
import { ROLES } from '../model/types.ts';
import { installScript } from '../install/script.ts';
import { SEED } from './paths.ts';
import type { RoleRecipe } from './recipe.ts';

export const download: RoleRecipe = {
  name: 'the download recipe',
  roles: ROLES,
  when: (cluster) => cluster.image.binaries === 'download',
  steps: () => [
    { name: 'install-binaries', template: 'download/install-binaries.sh.hbs', view: { installScript: SEED.installScript, installManifest: SEED.installManifest } },
  ],
  files: ({ cluster, host }) => {
    const { script, manifest } = installScript(cluster, host.roles);
    return [
      // 11 KB of static shell: compressed, it keeps a download-mode control plane under 64 KiB.
      { path: SEED.installScript, template: 'common/verbatim.hbs', view: { text: script }, permissions: '0755', encoding: 'gz+b64' },
      { path: SEED.installManifest, template: 'common/verbatim.hbs', view: { text: manifest } },
    ];
  },
};
