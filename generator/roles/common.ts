/**
 * Every host: its own name in /etc/hosts, the kernel settings its roles need,
 * swap off, and the one-shot bootstrap that runs the steps of all its roles.
 * (Hostname, SSH keys, time sync and addressing are cloud-config keys and
 * network-config, set by render/cloud-config.ts and render/hosts.ts.)
 */
import { ROLES } from '../model/types.ts';
import { SEED, UNIT_DIR } from './paths.ts';
import type { RoleRecipe } from './recipe.ts';

export const common: RoleRecipe = {
  name: 'the common recipe',
  roles: ROLES,
  steps: () => [
    { name: 'kernel', template: 'common/kernel.sh.hbs', view: { sysctlFile: SEED.sysctl } },
    { name: 'swap-off', template: 'common/swap-off.sh.hbs', view: {} },
  ],
  files: ({ host, assembly }) => {
    const roles = host.roles.join(', ');
    const bootstrap = {
      host: host.name,
      roles,
      steps: assembly.steps,
      scriptPath: SEED.bootstrapScript,
      stateDir: SEED.stateDir,
      doneMarker: SEED.doneMarker,
      failedMarker: SEED.failedMarker,
    };
    return [
      // The host's own name only. Peers, backends, etcd and the endpoint are all reached by
      // address, so no host needs another's name, and a seed stays the same size however
      // many hosts the cluster has.
      { path: SEED.hosts, template: 'common/hosts.hbs', view: { name: host.name, address: host.address }, append: true },
      { path: SEED.modulesLoad, template: 'common/modules-load.conf.hbs', view: { roles, modules: assembly.modules } },
      { path: SEED.sysctl, template: 'common/sysctl.conf.hbs', view: { roles, sysctls: assembly.sysctls } },
      { path: SEED.bootstrapScript, template: 'common/bootstrap.sh.hbs', view: bootstrap, permissions: '0755' },
      { path: `${UNIT_DIR}/${SEED.bootstrapUnit}`, template: 'common/ha-k8s-seed-bootstrap.service.hbs', view: bootstrap },
    ];
  },
};
