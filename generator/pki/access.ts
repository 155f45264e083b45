/**
 * Least privilege: which host gets which credential, decided by its roles
 * alone. GRANTS is the one table; README.md ("PKI and secrets") shows it and
 * test/pki-access.test.ts holds the code to it.
 *
 * Never granted to any host: the etcd CA key and the front-proxy CA key. They
 * stay in the cluster's state folder, where only this generator uses them.
 */
import type { Cluster, Host, Role } from '../model/types.ts';
import { hasRole } from '../model/types.ts';
import { HOST_PKI, type CertifiedKey, type HostCredential, type PkiBundle } from './types.ts';

export type GrantPart = 'cert' | 'key' | 'public' | 'secret';

export interface Grant {
  /**
   * The bundle item: `ca/kubernetes`, `service-account`, `bootstrap-token`...
   * `apiserver`, `etcd-server`, `etcd-peer` and `kubelet-serving` mean the
   * host's own certificate (grantsFor() resolves them to `etcd-server/<host>`).
   */
  item: string;
  part: GrantPart;
  roles: readonly Role[];
  /** A file of its own, at this path on the host... */
  path?: string;
  /** ...or embedded in a file the cloud-init renderer makes from the bundle (a config holding a secret). */
  embeddedIn?: string;
}

const NODES: readonly Role[] = ['control-plane', 'worker'];
const CP: readonly Role[] = ['control-plane'];
const ETCD: readonly Role[] = ['etcd'];

function pair(item: string, name: string, roles: readonly Role[], dir: string = HOST_PKI.dir): Grant[] {
  return [
    { item, part: 'cert', roles, path: `${dir}/${name}.crt` },
    { item, part: 'key', roles, path: `${dir}/${name}.key` },
  ];
}

function embedded(item: string, parts: GrantPart[], roles: readonly Role[], embeddedIn: string): Grant[] {
  return parts.map((part) => ({ item, part, roles, embeddedIn }));
}

export const GRANTS: readonly Grant[] = [
  { item: 'ca/kubernetes', part: 'cert', roles: NODES, path: `${HOST_PKI.dir}/ca.crt` },
  // kube-controller-manager signs the kubelets' CSRs with it.
  { item: 'ca/kubernetes', part: 'key', roles: CP, path: `${HOST_PKI.dir}/ca.key` },
  // The host's own apiserver's serving certificate: its name and address, the VIP, the Service.
  ...pair('apiserver', 'apiserver', CP),
  ...pair('apiserver-kubelet-client', 'apiserver-kubelet-client', CP),
  ...pair('apiserver-etcd-client', 'apiserver-etcd-client', CP),
  { item: 'ca/front-proxy', part: 'cert', roles: CP, path: `${HOST_PKI.dir}/front-proxy-ca.crt` },
  ...pair('front-proxy-client', 'front-proxy-client', CP),
  { item: 'service-account', part: 'public', roles: CP, path: `${HOST_PKI.dir}/sa.pub` },
  { item: 'service-account', part: 'key', roles: CP, path: `${HOST_PKI.dir}/sa.key` },
  { item: 'ca/etcd', part: 'cert', roles: [...ETCD, ...CP], path: `${HOST_PKI.etcdDir}/ca.crt` },
  ...pair('etcd-server', 'server', ETCD, HOST_PKI.etcdDir),
  ...pair('etcd-peer', 'peer', ETCD, HOST_PKI.etcdDir),
  ...pair('etcd-healthcheck-client', 'healthcheck-client', ETCD, HOST_PKI.etcdDir),
  // The host's own kubelet's serving certificate (KubeletConfiguration tlsCertFile).
  ...pair('kubelet-serving', 'kubelet', NODES),
  // Client certificates of the kubeconfigs on the host: each kubeconfig names its files
  // (client-certificate, client-key, certificate-authority) instead of a second copy inside.
  ...pair('controller-manager', 'controller-manager', CP),
  ...pair('scheduler', 'scheduler', CP),
  // The control planes apply the cluster's RBAC bindings (CSR auto-approval...) on first boot.
  ...pair('admin', 'admin', CP),
  ...pair('kube-proxy', 'kube-proxy', NODES),
  ...embedded('bootstrap-token', ['secret'], NODES, 'bootstrap-kubelet.kubeconfig'),
  ...embedded('encryption-key', ['secret'], CP, 'encryption-config.yaml'),
  ...embedded('vrrp-password', ['secret'], ['load-balancer'], 'keepalived.conf'),
];

const PER_HOST = new Set(['apiserver', 'etcd-server', 'etcd-peer', 'kubelet-serving']);

/** The grants a host receives, with per-host items resolved to the host's own (`etcd-server/<host>`). */
export function grantsFor(host: Pick<Host, 'name' | 'roles'>): Grant[] {
  return GRANTS
    .filter((g) => g.roles.some((r) => hasRole(host, r)))
    .map((g) => (PER_HOST.has(g.item) ? { ...g, item: `${g.item}/${host.name}` } : g));
}

export function certifiedKey(bundle: PkiBundle, item: string): CertifiedKey {
  const [kind, member] = item.split('/') as [string, string | undefined];
  switch (kind) {
    case 'ca': return bundle.ca[member === 'front-proxy' ? 'frontProxy' : (member as 'kubernetes' | 'etcd')];
    case 'etcd-server': return bundle.etcd.server[member!]!;
    case 'etcd-peer': return bundle.etcd.peer[member!]!;
    case 'etcd-healthcheck-client': return bundle.etcd.healthcheckClient;
    case 'apiserver': return bundle.apiserver[member!]!;
    case 'apiserver-kubelet-client': return bundle.apiserverKubeletClient;
    case 'apiserver-etcd-client': return bundle.apiserverEtcdClient;
    case 'front-proxy-client': return bundle.frontProxyClient;
    case 'controller-manager': return bundle.controllerManager;
    case 'scheduler': return bundle.scheduler;
    case 'admin': return bundle.admin;
    case 'kube-proxy': return bundle.kubeProxy;
    case 'kubelet-serving': return bundle.kubeletServing[member!]!;
    case 'service-account': return { certPem: bundle.serviceAccount.publicKeyPem, keyPem: bundle.serviceAccount.privateKeyPem };
    default: throw new Error(`no certificate or key named ${item} in the PKI bundle`);
  }
}

/** The bytes of one granted credential file. */
function grantContent(bundle: PkiBundle, grant: Grant): string {
  const pem = certifiedKey(bundle, grant.item);
  return grant.part === 'key' ? pem.keyPem : pem.certPem;
}

/**
 * The certificate, key and public-key files a host gets for its roles, at
 * their on-host paths. The secrets that live inside configs (see grantsFor(),
 * `embeddedIn`) are not among them: their renderer places them.
 */
export function credentialsFor(cluster: Cluster, host: Host, bundle: PkiBundle): HostCredential[] {
  void cluster; // the roles decide; the cluster is part of the contract for future rules
  return grantsFor(host)
    .filter((g): g is Grant & { path: string } => g.path !== undefined)
    .map((g) => ({
      path: g.path,
      content: grantContent(bundle, g),
      permissions: g.part === 'key' ? '0600' : '0644',
      owner: 'root:root',
    }));
}

/** Hosts that hold at least one of the changed items: they must be re-provisioned. */
export function hostsHolding(cluster: Cluster, items: ReadonlySet<string>): string[] {
  return cluster.hosts.filter((h) => grantsFor(h).some((g) => items.has(g.item))).map((h) => h.name);
}
