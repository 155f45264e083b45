/**
 * A node: containerd, kubelet (client certificate through TLS bootstrap at
 * the VIP, serving certificate from the PKI) and kube-proxy. Control planes
 * are nodes too.
 */
import { BIN, CONFIG } from '../model/paths.ts';
import { hasRole, NODE_ROLES, type Cluster, type Host } from '../model/types.ts';
import { ON_HOST, asGrants } from '../pki/on-host.ts';
import { SUBJECTS } from '../pki/profiles.ts';
import { FILES, UNIT_DIR } from './paths.ts';
import { hostKubeconfig, KUBECONFIG_TEMPLATE } from './kubeconfig.ts';
import type { RoleRecipe } from './recipe.ts';
import { unit, UNIT_TEMPLATE, type UnitView } from './unit.ts';

/** The role label (and taint key) of a control plane, as kubeadm sets them. */
export const CONTROL_PLANE_LABEL = 'node-role.kubernetes.io/control-plane';

export const CONTAINER_RUNTIME_ENDPOINT = 'unix:///run/containerd/containerd.sock';

/** Ubuntu's systemd-resolved stub (127.0.0.53) would loop CoreDNS back to itself: kubelet reads the real list. */
export function resolvConf(cluster: Cluster): string {
  return cluster.image.os.startsWith('ubuntu') ? '/run/systemd/resolve/resolv.conf' : '/etc/resolv.conf';
}

/**
 * Control planes keep ordinary pods off them when there are workers to run
 * them; a cluster of control planes only has nowhere else to put CoreDNS.
 */
export function kubeletTaints(cluster: Cluster, host: Host): { key: string; effect: string }[] {
  // Asked only of control planes: a worker's seed costs the same however many hosts there are.
  return hasRole(host, 'control-plane') && !hasRole(host, 'worker') && cluster.hosts.some((h) => hasRole(h, 'worker'))
    ? [{ key: CONTROL_PLANE_LABEL, effect: 'NoSchedule' }]
    : [];
}

export function kubeletUnit(cluster: Cluster, host: Host): UnitView {
  return unit(host, 'kubelet', cluster.kubernetes.version, BIN.kubelet, [
    ['config', FILES.kubeletConfig],
    ['bootstrap-kubeconfig', FILES.bootstrapKubeconfig],
    ['kubeconfig', FILES.kubeletKubeconfig],
    ['node-ip', host.address],
  ], { after: ['containerd.service'], wants: ['containerd.service'] });
}

export function kubeProxyUnit(cluster: Cluster, host: Host): UnitView {
  return unit(host, 'kube-proxy', cluster.kubernetes.version, BIN.kubeProxy, [
    ['config', FILES.kubeProxyConfig],
  ]);
}

export const node: RoleRecipe = {
  name: 'the node recipe',
  roles: NODE_ROLES,
  credentials: [
    ON_HOST.kubernetesCa.cert,
    ...asGrants(ON_HOST.kubeletServing),
    ...asGrants(ON_HOST.kubeProxy),
    ...asGrants(ON_HOST.bootstrapToken),
  ],
  kernel: {
    modules: ['overlay', 'br_netfilter'],
    sysctls: {
      'net.ipv4.ip_forward': 1,
      'net.bridge.bridge-nf-call-iptables': 1,
      'net.bridge.bridge-nf-call-ip6tables': 1,
    },
  },
  steps: () => [
    { name: 'start-node', template: 'node/start-node.sh.hbs', view: { cniBinDir: BIN.cniDir, cniConfDir: CONFIG.cniConfDir } },
  ],
  files: ({ cluster, host, bundle }) => {
    const endpoint = cluster.kubernetes.endpoint.url;
    const token = bundle.secrets.bootstrapToken;
    const containerd = {
      host: host.name,
      version: cluster.containerd.version,
      exec: BIN.containerd,
      config: CONFIG.containerdConfig,
      pauseImage: cluster.images.pause,
      runc: BIN.runc,
      cniBinDir: BIN.cniDir,
      cniConfDir: CONFIG.cniConfDir,
    };
    const kubelet = {
      host: host.name,
      clientCAFile: ON_HOST.kubernetesCa.cert.path,
      tlsCertFile: ON_HOST.kubeletServing.cert.path,
      tlsPrivateKeyFile: ON_HOST.kubeletServing.key.path,
      containerRuntimeEndpoint: CONTAINER_RUNTIME_ENDPOINT,
      clusterDomain: cluster.kubernetes.clusterDomain,
      clusterDNS: cluster.kubernetes.clusterDNS,
      resolvConf: resolvConf(cluster),
      taints: kubeletTaints(cluster, host),
    };
    return [
      // Static (the same on every node of a containerd version): compressed, like the add-on manifests.
      { path: CONFIG.containerdConfig, template: 'node/containerd-config.toml.hbs', view: containerd, encoding: 'gz+b64' },
      { path: `${UNIT_DIR}/containerd.service`, template: 'node/containerd.service.hbs', view: containerd },
      { path: FILES.kubeletConfig, template: 'node/kubelet-config.yaml.hbs', view: kubelet },
      { path: FILES.bootstrapKubeconfig, template: KUBECONFIG_TEMPLATE, permissions: '0600',
        view: hostKubeconfig(cluster, `kubelet TLS bootstrap through ${endpoint}`, 'kubelet-bootstrap', endpoint, { token: `${token.id}.${token.secret}` }) },
      { path: `${UNIT_DIR}/kubelet.service`, template: UNIT_TEMPLATE, view: kubeletUnit(cluster, host) },
      { path: FILES.kubeProxyConfig, template: 'node/kube-proxy-config.yaml.hbs', view: { host: host.name, kubeconfig: FILES.kubeProxyKubeconfig, podCIDR: cluster.kubernetes.podCIDR } },
      { path: FILES.kubeProxyKubeconfig, template: KUBECONFIG_TEMPLATE, permissions: '0600',
        view: hostKubeconfig(cluster, `kube-proxy -> ${endpoint}`, SUBJECTS.kubeProxy, endpoint, ON_HOST.kubeProxy) },
      { path: `${UNIT_DIR}/kube-proxy.service`, template: UNIT_TEMPLATE, view: kubeProxyUnit(cluster, host) },
    ];
  },
};
