/**
 * The cluster's add-ons, applied from every control plane once the local
 * apiserver answers, with server-side apply, so running them again (or from
 * the other control planes) changes nothing: the bootstrap token (the one
 * this control plane's seed carries), the kubelets' RBAC, CoreDNS and the CNI.
 */
import { BIN } from '../model/paths.ts';
import { isNode, type Cluster } from '../model/types.ts';
import { SUBJECTS } from '../pki/profiles.ts';
import { expiresAfter, type BootstrapToken } from '../pki/bootstrap-tokens.ts';
import { FILES } from './paths.ts';
import { localApiserver } from './kubeconfig.ts';
import { CONTROL_PLANE_LABEL } from './node.ts';
import type { RoleRecipe } from './recipe.ts';

/** kubectl as the control plane runs it: admin, against the local apiserver. */
function kubectl(cluster: Cluster): string {
  return `${BIN.kubectl} --kubeconfig=${FILES.adminKubeconfig} --server=${localApiserver(cluster)}`;
}

/** How every apply of this tool's objects is made: server-side, as one field manager, so applying again changes nothing. */
export const SERVER_SIDE_APPLY = 'apply --server-side --force-conflicts --field-manager=ha-k8s-seed';

/**
 * The one command that applies a bootstrap-token Secret file (`apply`: a
 * kubectl that applies as SERVER_SIDE_APPLY does): its
 * `expiration` becomes `hours` from the moment it runs (GNU date), so a token
 * lives that long from when the cluster gets it, not from when its seed was
 * made. A control plane's first boot runs it, and so does the operator
 * (plan's steps) before new nodes boot.
 */
export function applyBootstrapToken(apply: string, file: string, hours: number): string {
  return `sed "s/^  expiration: .*/  expiration: \\"$(date -u -d '+${hours} hours' +%FT%TZ)\\"/" ${file} | ${apply} -f -`;
}

export const BOOTSTRAP_TOKEN_TEMPLATE = 'addons/bootstrap-token.yaml.hbs';

/** The bootstrap-token Secret's view; out/<cluster>/bootstrap-token.yaml is the same file for the operator. */
export function bootstrapTokenView(token: BootstrapToken, hours: number) {
  return { tokenId: token.id, tokenSecret: token.secret, expires: expiresAfter(token, hours) };
}

export const addons: RoleRecipe = {
  name: 'the add-ons recipe',
  roles: ['control-plane'],
  steps: (cluster, host) => [
    { name: 'addons', template: 'addons/apply-addons.sh.hbs', view: {
      kubectl: kubectl(cluster), apply: SERVER_SIDE_APPLY, addonsDir: FILES.addonsDir,
      // local_apply: the script's own name for kubectl(cluster) ${SERVER_SIDE_APPLY}, defined by the template.
      applyToken: applyBootstrapToken('local_apply', FILES.bootstrapTokenSecret, cluster.pki.bootstrapTokenHours),
    } },
    { name: 'label-control-plane', template: 'addons/label-control-plane.sh.hbs', view: { node: host.name, roleLabel: CONTROL_PLANE_LABEL } },
  ],
  files: ({ cluster, bundle }) => {
    const token = bundle.secrets.bootstrapToken;
    const cni = cluster.cni.plugin;
    return [
      { path: FILES.bootstrapTokenSecret, template: BOOTSTRAP_TOKEN_TEMPLATE, view: bootstrapTokenView(token, cluster.pki.bootstrapTokenHours), permissions: '0600' },
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
