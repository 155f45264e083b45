/**
 * The cluster's PKI and secrets, as the renderers see them.
 *
 * Made once and kept in the cluster's state folder, `<cluster>.pki/` beside
 * the spec (see its README.md); later runs verify and reuse them. Renderers never read pki/ themselves: they get
 * a PkiBundle, and each host gets only the files credentialsFor() chooses for
 * its roles.
 */

import type { BootstrapToken } from './bootstrap-tokens.ts';

/** A PEM certificate and the PEM private key that matches it. */
export interface CertifiedKey {
  certPem: string;
  keyPem: string;
}

export interface PkiBundle {
  ca: {
    /** Signs apiserver, component and kubelet certificates; kube-controller-manager signs kubelet CSRs with it. */
    kubernetes: CertifiedKey;
    etcd: CertifiedKey;
    frontProxy: CertifiedKey;
  };
  etcd: {
    /** By etcd member host name. */
    server: Record<string, CertifiedKey>;
    peer: Record<string, CertifiedKey>;
    healthcheckClient: CertifiedKey;
  };
  /** Per control plane, by host name. */
  apiserver: Record<string, CertifiedKey>;
  apiserverKubeletClient: CertifiedKey;
  apiserverEtcdClient: CertifiedKey;
  frontProxyClient: CertifiedKey;
  controllerManager: CertifiedKey;
  scheduler: CertifiedKey;
  admin: CertifiedKey;
  kubeProxy: CertifiedKey;
  /** Each kubelet's serving certificate, by node name (control planes and workers). */
  kubeletServing: Record<string, CertifiedKey>;
  serviceAccount: { publicKeyPem: string; privateKeyPem: string };
  secrets: {
    /**
     * The join token kubelets present to the apiserver to request their
     * certificates: the newest one. Each node's seed is rendered with the
     * token it carries (render/hosts.ts), which may be an earlier one.
     */
    bootstrapToken: BootstrapToken;
    /** base64 of 32 random bytes: the secretbox key for encryption at rest. */
    encryptionKey: string;
    /** keepalived's VRRP auth_pass (8 characters: VRRP PASS auth uses at most 8). */
    vrrpPassword: string;
  };
}

/** Where the PKI lands on a host: kubeadm's layout, which operators know. */
export const HOST_PKI = {
  dir: '/etc/kubernetes/pki',
  etcdDir: '/etc/kubernetes/pki/etcd',
} as const;

/** A credential file for one host, at its path on the host. */
export interface HostCredential {
  path: string;
  content: string;
  /** '0600' for private keys and anything secret, '0644' for certificates. */
  permissions: '0600' | '0644';
  owner: string;
}
