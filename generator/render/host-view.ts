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
import { etcdBackupView } from './etcd-backup.ts';
import { FILES, PKI, SEED, UNIT_DIR } from './host-paths.ts';
import { installScript } from '../install/script.ts';

const base64 = (text: string) => Buffer.from(text).toString('base64');

/** Each value is either inline (`*Data`, base64) or a file path; the other is null. */
export interface KubeconfigView {
  purpose: string;
  cluster: string;
  caData: string | null;
  caFile: string | null;
  server: string;
  user: string;
  token: string | null;
  certData: string | null;
  keyData: string | null;
  certFile: string | null;
  keyFile: string | null;
}

/** How a kubeconfig authenticates: a bearer token, or a client certificate in files on the host. */
type HostCredentialRef = { token: string } | { certFile: string; keyFile: string };

/**
 * A kubeconfig on a host: it names the CA, certificate and key files the host
 * already holds (credentialsFor()), so every credential lands once.
 */
function hostKubeconfig(cluster: Cluster, purpose: string, user: string, server: string, credential: HostCredentialRef): KubeconfigView {
  const withToken = 'token' in credential;
  return {
    purpose, cluster: cluster.name, server, user,
    caData: null, caFile: PKI.ca,
    token: withToken ? credential.token : null,
    certData: null, keyData: null,
    certFile: withToken ? null : credential.certFile,
    keyFile: withToken ? null : credential.keyFile,
  };
}

/** A kubeconfig that carries everything inside: for the operator, away from any host. */
function selfContainedKubeconfig(cluster: Cluster, bundle: PkiBundle, purpose: string, user: string, server: string, credential: CertifiedKey): KubeconfigView {
  return {
    purpose, cluster: cluster.name, server, user,
    caData: base64(bundle.ca.kubernetes.certPem), caFile: null,
    token: null,
    certData: base64(credential.certPem), keyData: base64(credential.keyPem),
    certFile: null, keyFile: null,
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
        // Validation lets every node have resolvers, or none (input/checks.ts, checkResolvers).
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
      controllerManager: hostKubeconfig(cluster, 'kube-controller-manager -> local kube-apiserver',
        cn('controller-manager'), local, { certFile: PKI.controllerManagerCert, keyFile: PKI.controllerManagerKey }),
      scheduler: hostKubeconfig(cluster, 'kube-scheduler -> local kube-apiserver',
        cn('scheduler'), local, { certFile: PKI.schedulerCert, keyFile: PKI.schedulerKey }),
      admin: hostKubeconfig(cluster, ADMIN_PURPOSE, cn('admin'), cluster.kubernetes.endpoint.url,
        { certFile: PKI.adminCert, keyFile: PKI.adminKey }),
    },
  };
}

const ADMIN_PURPOSE = 'Cluster administrator (system:masters); keep it secret';

/** The cluster administrator's kubeconfig for the operator (out/<cluster>/admin.kubeconfig), at the endpoint (the VIP). */
export function adminKubeconfig(cluster: Cluster, bundle: PkiBundle): KubeconfigView {
  const cn = leafProfiles(cluster).find((p) => p.id === 'admin')!.cn;
  return selfContainedKubeconfig(cluster, bundle, ADMIN_PURPOSE, cn, cluster.kubernetes.endpoint.url, bundle.admin);
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
      bootstrap: hostKubeconfig(cluster, `kubelet TLS bootstrap through ${endpoint}`,
        `kubelet-bootstrap`, endpoint, { token: `${token.id}.${token.secret}` }),
      kubeProxy: hostKubeconfig(cluster, `kube-proxy -> ${endpoint}`,
        kubeProxyCn, endpoint, { certFile: PKI.kubeProxyCert, keyFile: PKI.kubeProxyKey }),
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
    // /etc/hosts: the host's own name only. Peers, backends, etcd and the endpoint are all
    // reached by address, so no host needs another's name, and a seed stays the same size
    // however many hosts the cluster has.
    etcHosts: { name: host.name, address: host.address },
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
    ...(hasRole(host, 'etcd') ? { etcdBackup: etcdBackupView(cluster, host) } : {}),
    ...(cp ? { encryption: cp.encryption, scheduler: cp.scheduler, addons: cp.addons } : {}),
    ...(node ? { containerd: node.containerd, kubelet: node.kubelet, kubeProxy: node.kubeProxy } : {}),
    kubeconfigs: { ...cp?.kubeconfigs, ...node?.nodeKubeconfigs },
    ...(hasRole(host, 'load-balancer') ? { lb: loadBalancerParts(cluster, host, bundle) } : {}),
    ...(cluster.image.binaries === 'download' ? { download: downloadParts(cluster, host) } : {}),
  };
}

export type HostView = ReturnType<typeof hostView>;
