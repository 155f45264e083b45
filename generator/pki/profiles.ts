/**
 * What the cluster's PKI is made of, decided from the model alone: the three
 * CAs, every leaf certificate with its subject, SANs and usages (after
 * Kubernetes' "PKI certificates and requirements" page), the key pairs and
 * the secrets, each with its file in the cluster's state folder (state/state.ts).
 */
import type { Cluster, Host } from '../model/types.ts';
import { hostsWithRole, isNode } from '../model/types.ts';

export const CA_NAMES = ['kubernetes', 'etcd', 'front-proxy'] as const;
export type CaName = (typeof CA_NAMES)[number];

export interface CaProfile {
  id: `ca/${CaName}`;
  name: CaName;
  /** Under pki/, without extension: `<file>.crt` and `<file>.key`. */
  file: string;
  cn: string;
}

/** kubeadm's names, which operators and tools expect. */
export const CA_PROFILES: Record<CaName, CaProfile> = {
  kubernetes: { id: 'ca/kubernetes', name: 'kubernetes', file: 'ca', cn: 'kubernetes' },
  etcd: { id: 'ca/etcd', name: 'etcd', file: 'etcd/ca', cn: 'etcd-ca' },
  'front-proxy': { id: 'ca/front-proxy', name: 'front-proxy', file: 'front-proxy-ca', cn: 'front-proxy-ca' },
};

export interface LeafProfile {
  /** Stable identifier: `apiserver/<control plane>`, `etcd-server/<member>`. */
  id: string;
  /** Under pki/, without extension. */
  file: string;
  ca: CaName;
  cn: string;
  /** Subject organizations: Kubernetes reads them as groups. */
  o: string[];
  server: boolean;
  client: boolean;
  /** Sorted, without duplicates. */
  dns: string[];
  /** Sorted, without duplicates. */
  ips: string[];
}

function uniqueSorted(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}

function leaf(id: string, ca: CaName, cn: string, usage: { server?: boolean; client?: boolean; o?: string[]; dns?: string[]; ips?: string[]; file?: string }): LeafProfile {
  return {
    id,
    file: usage.file ?? id,
    ca,
    cn,
    o: usage.o ?? [],
    server: usage.server ?? false,
    client: usage.client ?? false,
    dns: uniqueSorted(usage.dns ?? []),
    ips: uniqueSorted(usage.ips ?? []),
  };
}

/**
 * The names one control plane's apiserver answers to: the cluster's endpoint
 * (the VIP), the in-cluster Service, loopback, and that host's own name and
 * address. Each control plane has its own certificate, so adding or removing
 * one changes no other control plane's seed (only the load balancers').
 */
export function apiserverSans(cluster: Cluster, host: Pick<Host, 'name' | 'address'>): { dns: string[]; ips: string[] } {
  const domain = cluster.kubernetes.clusterDomain;
  return {
    dns: uniqueSorted(['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', `kubernetes.default.svc.${domain}`, host.name]),
    ips: uniqueSorted([cluster.kubernetes.endpoint.host, cluster.kubernetes.kubernetesServiceIP, '127.0.0.1', host.address]),
  };
}

/**
 * The subject names (CN) of the cluster-wide client certificates: what RBAC,
 * the apiserver's flags and the kubeconfigs call each user.
 */
export const SUBJECTS = {
  etcdHealthcheckClient: 'kube-etcd-healthcheck-client',
  apiserver: 'kube-apiserver',
  apiserverKubeletClient: 'kube-apiserver-kubelet-client',
  apiserverEtcdClient: 'kube-apiserver-etcd-client',
  frontProxyClient: 'front-proxy-client',
  controllerManager: 'system:kube-controller-manager',
  scheduler: 'system:kube-scheduler',
  admin: 'kubernetes-admin',
  kubeProxy: 'system:kube-proxy',
} as const;

const profilesOf = new WeakMap<Cluster, LeafProfile[]>();

/**
 * Every leaf certificate the model asks for, in a stable order. Derived once
 * per model (the model is not changed after resolve): every host's renderer
 * asks for the names in it.
 */
export function leafProfiles(cluster: Cluster): LeafProfile[] {
  let profiles = profilesOf.get(cluster);
  if (!profiles) profilesOf.set(cluster, profiles = makeLeafProfiles(cluster));
  return profiles;
}

function makeLeafProfiles(cluster: Cluster): LeafProfile[] {
  const etcd = cluster.etcd.members.flatMap((m) => {
    const sans = { dns: [m.name, 'localhost'], ips: [m.address, '127.0.0.1'] };
    return [
      leaf(`etcd-server/${m.name}`, 'etcd', m.name, { server: true, client: true, file: `etcd/server-${m.name}`, ...sans }),
      leaf(`etcd-peer/${m.name}`, 'etcd', m.name, { server: true, client: true, file: `etcd/peer-${m.name}`, ...sans }),
    ];
  });
  return [
    ...etcd,
    leaf('etcd-healthcheck-client', 'etcd', SUBJECTS.etcdHealthcheckClient, { client: true, file: 'etcd/healthcheck-client' }),
    ...hostsWithRole(cluster, 'control-plane').map((h) =>
      leaf(`apiserver/${h.name}`, 'kubernetes', SUBJECTS.apiserver, { server: true, file: `apiserver-${h.name}`, ...apiserverSans(cluster, h) })),
    leaf('apiserver-kubelet-client', 'kubernetes', SUBJECTS.apiserverKubeletClient, { client: true, o: ['system:masters'] }),
    leaf('apiserver-etcd-client', 'etcd', SUBJECTS.apiserverEtcdClient, { client: true }),
    leaf('front-proxy-client', 'front-proxy', SUBJECTS.frontProxyClient, { client: true }),
    leaf('controller-manager', 'kubernetes', SUBJECTS.controllerManager, { client: true }),
    leaf('scheduler', 'kubernetes', SUBJECTS.scheduler, { client: true }),
    // A binary cluster has no kubeadm to bind kubeadm:cluster-admins: system:masters is what works from the first boot.
    leaf('admin', 'kubernetes', SUBJECTS.admin, { client: true, o: ['system:masters'] }),
    leaf('kube-proxy', 'kubernetes', SUBJECTS.kubeProxy, { client: true, o: ['system:node-proxier'] }),
    // Each kubelet's serving certificate, for exactly its node name and address: the
    // apiserver verifies kubelets (--kubelet-certificate-authority) with no CSR to approve.
    ...cluster.hosts.filter(isNode).map((h) => leaf(`kubelet-serving/${h.name}`, 'kubernetes', `system:node:${h.name}`,
      { server: true, o: ['system:nodes'], file: `kubelet/${h.name}`, dns: [h.name], ips: [h.address] })),
  ];
}

/** The key pair that signs service-account tokens: no certificate. */
export const SERVICE_ACCOUNT = { id: 'service-account', key: 'sa.key', pub: 'sa.pub' } as const;

/** The bootstrap tokens are not among them: they come and go (bootstrap-tokens.ts). */
export const SECRET_NAMES = ['encryption-key', 'vrrp-password'] as const;
export type SecretName = (typeof SECRET_NAMES)[number];
export const SECRET_FILES: Record<SecretName, string> = {
  'encryption-key': 'secrets/encryption-key',
  'vrrp-password': 'secrets/vrrp-password',
};

/** What `--rotate` accepts. The encryption key is not among them: replacing it would make the Secrets in etcd unreadable. */
export const ROTATE_TARGETS = ['kubernetes-ca', 'etcd-ca', 'front-proxy-ca', 'service-account', 'bootstrap-token', 'vrrp-password'] as const;
export type RotateTarget = (typeof ROTATE_TARGETS)[number];
/** Shorthand accepted on the command line for the three CAs. */
export const ROTATE_ALL_CAS = 'cas';

export function isRotateTarget(value: string): value is RotateTarget {
  return (ROTATE_TARGETS as readonly string[]).includes(value);
}
