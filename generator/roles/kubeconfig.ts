/**
 * Kubeconfigs, as templates/common/kubeconfig.hbs renders them: on a host they
 * name the CA, certificate and key files the host already holds, so every
 * credential lands once; the operator's admin.kubeconfig carries everything.
 */
import type { Cluster } from '../model/types.ts';
import { ON_HOST, type KeyPairFiles } from '../pki/on-host.ts';
import type { CertifiedKey, PkiBundle } from '../pki/types.ts';

export const KUBECONFIG_TEMPLATE = 'common/kubeconfig.hbs';

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

/** How a kubeconfig on a host authenticates: a bearer token, or a client certificate in files on the host. */
export type HostCredentialRef = { token: string } | KeyPairFiles;

const base64 = (text: string) => Buffer.from(text).toString('base64');

export function hostKubeconfig(cluster: Cluster, purpose: string, user: string, server: string, credential: HostCredentialRef): KubeconfigView {
  const withToken = 'token' in credential;
  return {
    purpose, cluster: cluster.name, server, user,
    caData: null, caFile: ON_HOST.kubernetesCa.cert.path,
    token: withToken ? credential.token : null,
    certData: null, keyData: null,
    certFile: withToken ? null : credential.cert.path,
    keyFile: withToken ? null : credential.key.path,
  };
}

/** A kubeconfig that carries everything inside: for the operator, away from any host. */
export function selfContainedKubeconfig(cluster: Cluster, bundle: PkiBundle, purpose: string, user: string, server: string, credential: CertifiedKey): KubeconfigView {
  return {
    purpose, cluster: cluster.name, server, user,
    caData: base64(bundle.ca.kubernetes.certPem), caFile: null,
    token: null,
    certData: base64(credential.certPem), keyData: base64(credential.keyPem),
    certFile: null, keyFile: null,
  };
}

/** The local apiserver, for the daemons that run beside it (and for applying add-ons). */
export function localApiserver(cluster: Cluster): string {
  return `https://127.0.0.1:${cluster.kubernetes.apiserverPort}`;
}
