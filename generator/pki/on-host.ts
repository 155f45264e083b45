/**
 * Every credential a host can hold, each carrying its own place on the host
 * (kubeadm's layout under HOST_PKI), as cluster-api's Certificate carries its
 * CertFile and KeyFile. The role recipes (generator/roles/) say which of them
 * each role gets; the units and kubeconfigs name these paths; nothing else
 * spells a certificate's path.
 *
 * Never on any host: the etcd CA key and the front-proxy CA key. They stay in
 * the cluster's state folder, where only this generator uses them.
 */
import { HOST_PKI } from './types.ts';

export type GrantPart = 'cert' | 'key' | 'secret';

/**
 * One credential granted to a host: a file of its own at `path`, or a secret
 * embedded in a config the renderer makes (`embeddedIn`).
 */
export interface Grant {
  /**
   * The bundle item: `ca/kubernetes`, `service-account`, `bootstrap-token`...
   * `apiserver`, `etcd-server`, `etcd-peer` and `kubelet-serving` mean the
   * host's own certificate (grantsFor() resolves them to `etcd-server/<host>`).
   */
  item: string;
  part: GrantPart;
  /** A file of its own, at this path on the host... */
  path?: string;
  /** ...or embedded in a file the renderer makes from the bundle (a config holding a secret). */
  embeddedIn?: string;
}

/** A credential that is a file on the host. */
export type CredentialFile = Grant & { path: string };

/** A certificate and its key, in two files side by side. */
export interface KeyPairFiles { cert: CredentialFile; key: CredentialFile }

function pair(item: string, name: string, dir: string = HOST_PKI.dir): KeyPairFiles {
  return {
    cert: { item, part: 'cert', path: `${dir}/${name}.crt` },
    key: { item, part: 'key', path: `${dir}/${name}.key` },
  };
}

const embedded = (item: string, embeddedIn: string): Grant => ({ item, part: 'secret', embeddedIn });

/**
 * The catalogue, in the order a host's files list them. The items that are
 * per host (`apiserver`, `etcd-server`, `etcd-peer`, `kubelet-serving`) land
 * at the same path on every host that holds its own.
 */
export const ON_HOST = {
  kubernetesCa: pair('ca/kubernetes', 'ca'),
  /** The host's own apiserver's serving certificate: its name and address, the VIP, the Service. */
  apiserver: pair('apiserver', 'apiserver'),
  apiserverKubeletClient: pair('apiserver-kubelet-client', 'apiserver-kubelet-client'),
  apiserverEtcdClient: pair('apiserver-etcd-client', 'apiserver-etcd-client'),
  frontProxyCa: { cert: pair('ca/front-proxy', 'front-proxy-ca').cert },
  frontProxyClient: pair('front-proxy-client', 'front-proxy-client'),
  // The key alone: kube-apiserver verifies tokens with its public half (--service-account-key-file
  // takes a private key as well as a public one), so sa.pub stays in the state folder.
  serviceAccount: {
    key: { item: 'service-account', part: 'key', path: `${HOST_PKI.dir}/sa.key` } as CredentialFile,
  },
  etcdCa: { cert: pair('ca/etcd', 'ca', HOST_PKI.etcdDir).cert },
  etcdServer: pair('etcd-server', 'server', HOST_PKI.etcdDir),
  etcdPeer: pair('etcd-peer', 'peer', HOST_PKI.etcdDir),
  etcdHealthcheckClient: pair('etcd-healthcheck-client', 'healthcheck-client', HOST_PKI.etcdDir),
  /** The host's own kubelet's serving certificate (KubeletConfiguration tlsCertFile). */
  kubeletServing: pair('kubelet-serving', 'kubelet'),
  // Client certificates of the kubeconfigs on the host: each kubeconfig names its files
  // (client-certificate, client-key, certificate-authority) instead of a second copy inside.
  controllerManager: pair('controller-manager', 'controller-manager'),
  scheduler: pair('scheduler', 'scheduler'),
  admin: pair('admin', 'admin'),
  kubeProxy: pair('kube-proxy', 'kube-proxy'),
  bootstrapToken: { secret: embedded('bootstrap-token', 'bootstrap-kubelet.kubeconfig') },
  encryptionKey: { secret: embedded('encryption-key', 'encryption-config.yaml') },
  vrrpPassword: { secret: embedded('vrrp-password', 'keepalived.conf') },
} as const;

/** The files of a credential, in catalogue order (a pair: certificate, then key). */
export function asGrants<T extends Record<keyof T, Grant>>(credential: T): Grant[] {
  return Object.values(credential) as Grant[];
}

/** Every grant, in catalogue order: a host's credential files are listed in this order. */
export const CATALOGUE: readonly Grant[] = Object.values(ON_HOST).flatMap(asGrants);

/** The items each host holds its own of. */
export const PER_HOST_ITEMS: ReadonlySet<string> = new Set(['apiserver', 'etcd-server', 'etcd-peer', 'kubelet-serving']);
