/**
 * Everything a host's files are rendered from, decided once per host: the
 * view the role documents (cloud-init/) and the templates (templates/) read.
 * Only the parts of the host's roles are present, so a template that reads a
 * part its host lacks fails (strict Handlebars) instead of rendering blanks.
 */
import { BIN, CONFIG } from '../model/paths.ts';
import { hasRole, isNode, OS_FAMILY, type Cluster, type Host } from '../model/types.ts';
import { leafProfiles } from '../pki/profiles.ts';
import type { CertifiedKey, PkiBundle } from '../pki/types.ts';
import {
  CONTAINER_RUNTIME_ENDPOINT, CONTROL_PLANE_LABEL, kubeletTaints, resolvConf, unitViews,
} from './components.ts';
import { FILES, PKI, SEED, UNIT_DIR } from './host-paths.ts';
import { installScript } from './packer.ts';

const base64 = (text: string) => Buffer.from(text).toString('base64');

export interface KubeconfigView {
  purpose: string;
  cluster: string;
  caData: string;
  server: string;
  user: string;
  token: string | null;
  certData: string | null;
  keyData: string | null;
}

/** A kubeconfig with a client certificate, or with a bearer token. */
export function kubeconfigView(
  cluster: Cluster, bundle: PkiBundle, purpose: string, user: string, server: string,
  credential: CertifiedKey | { token: string },
): KubeconfigView {
  const withToken = 'token' in credential;
  return {
    purpose,
    cluster: cluster.name,
    caData: base64(bundle.ca.kubernetes.certPem),
    server,
    user,
    token: withToken ? credential.token : null,
    certData: withToken ? null : base64(credential.certPem),
    keyData: withToken ? null : base64(credential.keyPem),
  };
}

/** The local apiserver, for the daemons that run beside it (and for applying add-ons). */
function localApiserver(cluster: Cluster): string {
  return `https://127.0.0.1:${cluster.kubernetes.apiserverPort}`;
}

/** How each distribution loads nginx's stream module (a separate package on both). */
function nginxStreamModule(cluster: Cluster): string {
  return OS_FAMILY[cluster.image.os] === 'redhat'
    // nginx-mod-stream drops this snippet; Red Hat's nginx.conf includes the whole folder.
    ? 'include /usr/share/nginx/modules/mod-stream.conf;'
    // libnginx-mod-stream, the way /usr/share/nginx/modules-available/mod-stream.conf loads it (prefix /usr/share/nginx).
    : 'load_module modules/ngx_stream_module.so;';
}

function controlPlaneParts(cluster: Cluster, host: Host, bundle: PkiBundle) {
  const local = localApiserver(cluster);
  const cn = (id: string) => leafProfiles(cluster).find((p) => p.id === id)!.cn;
  const token = bundle.secrets.bootstrapToken;
  return {
    encryption: { keyName: 'key1', key: bundle.secrets.encryptionKey },
    scheduler: { host: host.name, kubeconfig: FILES.schedulerKubeconfig },
    addons: {
      tokenId: token.id,
      tokenSecret: token.secret,
      apiserverKubeletUser: cn('apiserver-kubelet-client'),
      kubectl: `${BIN.kubectl} --kubeconfig=${FILES.adminKubeconfig} --server=${local}`,
      node: { name: host.name, roleLabel: CONTROL_PLANE_LABEL },
      coredns: {
        image: cluster.images.coredns,
        clusterDNS: cluster.kubernetes.clusterDNS,
        clusterDomain: cluster.kubernetes.clusterDomain,
        // Validation lets every node have resolvers, or none (spec/checks.ts, checkResolvers).
        forward: cluster.hosts.some((h) => isNode(h) && h.network.nameservers.length > 0),
      },
      cni: {
        name: cluster.cni.plugin,
        image: cluster.images.cni.daemon,
        cniPluginImage: cluster.images.cni.plugin,
        podCIDR: cluster.kubernetes.podCIDR,
      },
    },
    kubeconfigs: {
      controllerManager: kubeconfigView(cluster, bundle, 'kube-controller-manager -> local kube-apiserver',
        cn('controller-manager'), local, bundle.controllerManager),
      scheduler: kubeconfigView(cluster, bundle, 'kube-scheduler -> local kube-apiserver',
        cn('scheduler'), local, bundle.scheduler),
      admin: adminKubeconfig(cluster, bundle),
    },
  };
}

/** The cluster administrator's kubeconfig, at the endpoint (the VIP). */
export function adminKubeconfig(cluster: Cluster, bundle: PkiBundle): KubeconfigView {
  const cn = leafProfiles(cluster).find((p) => p.id === 'admin')!.cn;
  return kubeconfigView(cluster, bundle, 'Cluster administrator (system:masters); keep it secret',
    cn, cluster.kubernetes.endpoint.url, bundle.admin);
}

function nodeParts(cluster: Cluster, host: Host, bundle: PkiBundle) {
  const endpoint = cluster.kubernetes.endpoint.url;
  const token = bundle.secrets.bootstrapToken;
  const kubeProxyCn = leafProfiles(cluster).find((p) => p.id === 'kube-proxy')!.cn;
  return {
    containerd: {
      host: host.name,
      version: cluster.containerd.version,
      exec: BIN.containerd,
      config: CONFIG.containerdConfig,
      pauseImage: cluster.images.pause,
      runc: BIN.runc,
      cniBinDir: BIN.cniDir,
      cniConfDir: CONFIG.cniConfDir,
    },
    kubelet: {
      host: host.name,
      clientCAFile: PKI.ca,
      tlsCertFile: PKI.kubeletServingCert,
      tlsPrivateKeyFile: PKI.kubeletServingKey,
      containerRuntimeEndpoint: CONTAINER_RUNTIME_ENDPOINT,
      clusterDomain: cluster.kubernetes.clusterDomain,
      clusterDNS: cluster.kubernetes.clusterDNS,
      resolvConf: resolvConf(cluster),
      taints: kubeletTaints(cluster, host),
    },
    kubeProxy: {
      host: host.name,
      kubeconfig: FILES.kubeProxyKubeconfig,
      podCIDR: cluster.kubernetes.podCIDR,
    },
    nodeKubeconfigs: {
      bootstrap: kubeconfigView(cluster, bundle, `kubelet TLS bootstrap of ${host.name} through ${endpoint}`,
        `kubelet-bootstrap`, endpoint, { token: `${token.id}.${token.secret}` }),
      kubeProxy: kubeconfigView(cluster, bundle, `kube-proxy of ${host.name} -> ${endpoint}`,
        kubeProxyCn, endpoint, bundle.kubeProxy),
    },
  };
}

function loadBalancerParts(cluster: Cluster, host: Host, bundle: PkiBundle) {
  const lb = cluster.loadBalancer!;
  const me = lb.members.find((m) => m.host === host.name)!;
  return {
    nginx: {
      host: host.name,
      port: lb.port,
      backends: lb.backends,
      streamModule: nginxStreamModule(cluster),
      maxFails: 2,
      failTimeout: '10s',
      connectTimeout: '2s',
      downFile: FILES.nginxDownFile,
    },
    keepalived: {
      host: host.name,
      // Needs no privilege: curl to 127.0.0.1.
      scriptUser: 'nobody',
      checkScript: FILES.keepalivedCheck,
      nginxDownFile: FILES.nginxDownFile,
      // Enough to drop a failing holder below every healthy peer (priorities are 10 apart).
      checkWeight: 10 * lb.members.length,
      state: me.initialState,
      interface: me.interface,
      virtualRouterId: lb.virtualRouterId,
      priority: me.priority,
      address: me.address,
      peers: lb.members.filter((m) => m.host !== host.name).map((m) => m.address),
      password: bundle.secrets.vrrpPassword,
      vip: lb.vip,
      vipPrefixLength: lb.vipPrefixLength,
    },
  };
}

/** Download mode: the install script and the manifest of this host's roles (packer.ts decides both). */
function downloadParts(cluster: Cluster, host: Host) {
  const { script, manifest } = installScript(cluster, host.roles);
  return { script: { text: script }, manifest: { text: manifest } };
}

export function hostView(cluster: Cluster, host: Host, bundle: PkiBundle) {
  const cp = hasRole(host, 'control-plane') ? controlPlaneParts(cluster, host, bundle) : undefined;
  const node = isNode(host) ? nodeParts(cluster, host, bundle) : undefined;
  return {
    host: host.name,
    roles: host.roles.join(', '),
    cluster: cluster.name,
    entries: cluster.hosts.map((h) => ({ name: h.name, address: h.address })),
    paths: {
      seed: SEED,
      unitDir: UNIT_DIR,
      files: FILES,
      pki: PKI,
      bin: BIN,
      config: CONFIG,
      auditLogDir: FILES.auditLog.slice(0, FILES.auditLog.lastIndexOf('/')),
    },
    units: unitViews(cluster, host),
    ...(cp ? { encryption: cp.encryption, scheduler: cp.scheduler, addons: cp.addons } : {}),
    ...(node ? { containerd: node.containerd, kubelet: node.kubelet, kubeProxy: node.kubeProxy } : {}),
    kubeconfigs: { ...cp?.kubeconfigs, ...node?.nodeKubeconfigs },
    ...(hasRole(host, 'load-balancer') ? { lb: loadBalancerParts(cluster, host, bundle) } : {}),
    ...(cluster.image.binaries === 'download' ? { download: downloadParts(cluster, host) } : {}),
  };
}

export type HostView = ReturnType<typeof hostView>;
