/**
 * The cluster's add-ons, applied from every control plane once the local
 * apiserver answers, with server-side apply, so running them again (or from
 * the other control planes) changes nothing: the bootstrap token, the
 * kubelets' RBAC, CoreDNS and the CNI.
 */
import { BIN } from '../model/paths.ts';
import { isNode, type Cluster } from '../model/types.ts';
import { SUBJECTS } from '../pki/profiles.ts';
import { FILES } from './paths.ts';
import { localApiserver } from './kubeconfig.ts';
import { CONTROL_PLANE_LABEL } from './node.ts';
import type { RoleRecipe } from './recipe.ts';

/** kubectl as the control plane runs it: admin, against the local apiserver. */
function kubectl(cluster: Cluster): string {
  return `${BIN.kubectl} --kubeconfig=${FILES.adminKubeconfig} --server=${localApiserver(cluster)}`;
}

export const addons: RoleRecipe = {
  name: 'the add-ons recipe',
  roles: ['control-plane'],
  steps: (cluster, host) => [
    { name: 'addons', template: 'addons/apply-addons.sh.hbs', view: { kubectl: kubectl(cluster), addonsDir: FILES.addonsDir } },
    { name: 'label-control-plane', template: 'addons/label-control-plane.sh.hbs', view: { node: host.name, roleLabel: CONTROL_PLANE_LABEL } },
  ],
  files: ({ cluster, bundle }) => {
    const token = bundle.secrets.bootstrapToken;
    const cni = cluster.cni.plugin;
    return [
      { path: `${FILES.addonsDir}/00-bootstrap-token.yaml`, template: 'addons/bootstrap-token.yaml.hbs', view: { tokenId: token.id, tokenSecret: token.secret }, permissions: '0600' },
      { path: `${FILES.addonsDir}/10-kubelet-rbac.yaml`, template: 'addons/kubelet-rbac.yaml.hbs', view: { apiserverKubeletUser: SUBJECTS.apiserverKubeletClient }, encoding: 'gz+b64' },
      { path: `${FILES.addonsDir}/20-coredns.yaml`, template: 'addons/coredns.yaml.hbs', encoding: 'gz+b64', view: {
        image: cluster.images.coredns,
        clusterDNS: cluster.kubernetes.clusterDNS,
        clusterDomain: cluster.kubernetes.clusterDomain,
        // Validation lets every node have resolvers, or none (input/checks/hosts.ts, checkResolvers).
        forward: cluster.hosts.some((h) => isNode(h) && h.network.nameservers.length > 0),
      } },
      { path: `${FILES.addonsDir}/30-${cni}.yaml`, template: `addons/${cni}.yaml.hbs`, encoding: 'gz+b64', view: {
        name: cni,
        image: cluster.images.cni.daemon,
        cniPluginImage: cluster.images.cni.plugin,
        podCIDR: cluster.kubernetes.podCIDR,
      } },
    ];
  },
};
