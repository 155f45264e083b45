/**
 * Least privilege: which host gets which credential, decided by its roles
 * alone: each role recipe (generator/roles/) lists what it holds, each
 * credential carries its path (pki/on-host.ts). README.md ("PKI and secrets")
 * shows the result and test/pki-access.test.ts holds the code to it.
 */
import type { Cluster, Host } from '../model/types.ts';
import { forRolesOf, RECIPES } from '../roles/index.ts';
import { CATALOGUE, PER_HOST_ITEMS, type CredentialFile, type Grant } from './on-host.ts';
import { seedKeyPem } from './host-key.ts';
import type { CertifiedKey, HostCredential, PkiBundle } from './types.ts';

export type { Grant, GrantPart } from './on-host.ts';

/** A grant's place in the catalogue: a host's credential files are listed in catalogue order. */
const CATALOGUE_INDEX = new Map<Grant, number>(CATALOGUE.map((g, i) => [g, i]));

const grantsOfRoles = new Map<string, Grant[]>();

/**
 * The grants a host receives: those of every role recipe for its roles
 * (generator/roles/), once each, in catalogue order, with per-host items
 * resolved to the host's own (`etcd-server/<host>`).
 */
export function grantsFor(host: Pick<Host, 'name' | 'roles'>): Grant[] {
  const key = host.roles.join(',');
  let grants = grantsOfRoles.get(key);
  if (!grants) {
    const held = new Set(RECIPES.filter((r) => forRolesOf(r, host)).flatMap((r) => r.credentials ?? []));
    grants = [...held].sort((a, b) => CATALOGUE_INDEX.get(a)! - CATALOGUE_INDEX.get(b)!);
    grantsOfRoles.set(key, grants);
  }
  return grants.map((g) => (PER_HOST_ITEMS.has(g.item) ? { ...g, item: `${g.item}/${host.name}` } : g));
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

/** The bytes of one granted credential file: a private key in the compact form a seed carries (pki/host-key.ts). */
function grantContent(bundle: PkiBundle, grant: Grant): string {
  const pem = certifiedKey(bundle, grant.item);
  return grant.part === 'key' ? seedKeyPem(pem.keyPem) : pem.certPem;
}

/**
 * The certificate, key and public-key files a host gets for its roles, at
 * their on-host paths. The secrets that live inside configs (see grantsFor(),
 * `embeddedIn`) are not among them: their renderer places them.
 */
export function credentialsFor(cluster: Cluster, host: Host, bundle: PkiBundle): HostCredential[] {
  void cluster; // the roles decide; the cluster is part of the contract for future rules
  return grantsFor(host)
    .filter((g): g is CredentialFile => g.path !== undefined)
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
