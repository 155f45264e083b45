/**
 * A PkiBundle with every item the cluster's model asks for and no key
 * material: what lets the renderer say which files land where on a host
 * before any PKI exists (`validate` makes no keys). Never written anywhere.
 */
import { hostsWithRole, isNode, type Cluster } from '../model/types.ts';
import type { CertifiedKey, PkiBundle } from './types.ts';

const NONE: CertifiedKey = { certPem: '(no certificate: validation only)\n', keyPem: '(no key: validation only)\n' };

const shapes = new WeakMap<Cluster, PkiBundle>();

/** Made once per model: every host's check asks for it, and it lists every node. */
export function shapeOnlyBundle(cluster: Cluster): PkiBundle {
  let bundle = shapes.get(cluster);
  if (!bundle) shapes.set(cluster, bundle = makeShapeOnlyBundle(cluster));
  return bundle;
}

function makeShapeOnlyBundle(cluster: Cluster): PkiBundle {
  const perMember = Object.fromEntries(cluster.etcd.members.map((m) => [m.name, NONE]));
  return {
    ca: { kubernetes: NONE, etcd: NONE, frontProxy: NONE },
    etcd: { server: perMember, peer: perMember, healthcheckClient: NONE },
    apiserver: Object.fromEntries(hostsWithRole(cluster, 'control-plane').map((h) => [h.name, NONE])),
    apiserverKubeletClient: NONE,
    apiserverEtcdClient: NONE,
    frontProxyClient: NONE,
    controllerManager: NONE,
    scheduler: NONE,
    admin: NONE,
    kubeProxy: NONE,
    kubeletServing: Object.fromEntries(cluster.hosts.filter(isNode).map((h) => [h.name, NONE])),
    serviceAccount: { publicKeyPem: NONE.certPem, privateKeyPem: NONE.keyPem },
    secrets: { bootstrapToken: { id: 'abcdef', secret: '0123456789abcdef', made: null }, encryptionKey: 'AAAA', vrrpPassword: 'none' },
  };
}
