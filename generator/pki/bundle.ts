/**
 * The run's PKI in its two forms: the bundle the renderers read, and the
 * files of the state folder the pipeline writes (README.md, every
 * certificate and key, the secrets).
 */
import { hostsWithRole, isNode, type Cluster } from '../model/types.ts';
import type { OutputFile } from '../output/tree.ts';
import { crt, key } from './existing.ts';
import type { LeafCertificates } from './leaves.ts';
import { CA_NAMES, CA_PROFILES, SECRET_FILES, SECRET_NAMES, SERVICE_ACCOUNT, type LeafProfile } from './profiles.ts';
import { renderPkiReadme } from './readme.ts';
import type { Roots } from './roots.ts';
import { secretFileContent, secretsBundle } from './secrets.ts';
import type { CertifiedKey, PkiBundle } from './types.ts';
import type { BootstrapToken } from './bootstrap-tokens.ts';

export function assembleBundle(cluster: Cluster, roots: Roots, leaves: LeafCertificates, bootstrapToken: BootstrapToken): PkiBundle {
  const get = (id: string) => leaves.get(id)!;
  const perMember = (kind: string) => Object.fromEntries(cluster.etcd.members.map((m) => [m.name, get(`${kind}/${m.name}`)]));
  const { cas } = roots;
  return {
    ca: { kubernetes: cas.kubernetes, etcd: cas.etcd, frontProxy: cas['front-proxy'] },
    etcd: { server: perMember('etcd-server'), peer: perMember('etcd-peer'), healthcheckClient: get('etcd-healthcheck-client') },
    apiserver: Object.fromEntries(hostsWithRole(cluster, 'control-plane').map((h) => [h.name, get(`apiserver/${h.name}`)])),
    apiserverKubeletClient: get('apiserver-kubelet-client'),
    apiserverEtcdClient: get('apiserver-etcd-client'),
    frontProxyClient: get('front-proxy-client'),
    controllerManager: get('controller-manager'),
    scheduler: get('scheduler'),
    admin: get('admin'),
    kubeProxy: get('kube-proxy'),
    kubeletServing: Object.fromEntries(cluster.hosts.filter(isNode).map((h) => [h.name, get(`kubelet-serving/${h.name}`)])),
    serviceAccount: roots.serviceAccount,
    secrets: secretsBundle(roots.secrets, bootstrapToken),
  };
}

/** Every file of the state folder, paths relative to it; 0o600 for keys and secrets. */
export function stateFiles(cluster: Cluster, roots: Roots, profiles: readonly LeafProfile[], leaves: LeafCertificates): OutputFile[] {
  const pairFiles = (file: string, pair: CertifiedKey): OutputFile[] => [
    { path: crt(file), content: pair.certPem, mode: 0o644 },
    { path: key(file), content: pair.keyPem, mode: 0o600 },
  ];
  return [
    { path: 'README.md', content: renderPkiReadme(cluster), mode: 0o644 },
    ...CA_NAMES.flatMap((n) => pairFiles(CA_PROFILES[n].file, roots.cas[n])),
    ...profiles.flatMap((l) => pairFiles(l.file, leaves.get(l.id)!)),
    { path: SERVICE_ACCOUNT.key, content: roots.serviceAccount.privateKeyPem, mode: 0o600 },
    { path: SERVICE_ACCOUNT.pub, content: roots.serviceAccount.publicKeyPem, mode: 0o644 },
    ...SECRET_NAMES.map((n) => ({ path: SECRET_FILES[n], content: secretFileContent(roots.secrets[n]), mode: 0o600 })),
  ];
}
