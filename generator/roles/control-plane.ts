/**
 * A control plane: kube-apiserver, kube-controller-manager and
 * kube-scheduler, their configs and kubeconfigs; the latter two talk to the
 * local apiserver. Control planes are nodes too (node.ts) and apply the
 * cluster's add-ons (addons.ts).
 */
import { BIN } from '../model/paths.ts';
import type { Cluster, Host } from '../model/types.ts';
import { ON_HOST, asGrants } from '../pki/on-host.ts';
import { SUBJECTS } from '../pki/profiles.ts';
import type { PkiBundle } from '../pki/types.ts';
import { FILES, UNIT_DIR } from './paths.ts';
import { hostKubeconfig, KUBECONFIG_TEMPLATE, localApiserver, selfContainedKubeconfig, type KubeconfigView } from './kubeconfig.ts';
import type { RoleRecipe } from './recipe.ts';
import { unit, UNIT_TEMPLATE, type UnitView } from './unit.ts';


export function kubeApiserverUnit(cluster: Cluster, host: Host): UnitView {
  const k = cluster.kubernetes;
  return unit(host, 'kube-apiserver', k.version, BIN.kubeApiserver, [
    ['advertise-address', host.address],
    ['secure-port', k.apiserverPort],
    ['allow-privileged', true],
    ['authorization-mode', 'Node,RBAC'],
    ['enable-admission-plugins', 'NodeRestriction'],
    ['enable-bootstrap-token-auth', true],
    ['client-ca-file', ON_HOST.kubernetesCa.cert.path],
    ['tls-cert-file', ON_HOST.apiserver.cert.path],
    ['tls-private-key-file', ON_HOST.apiserver.key.path],
    ['kubelet-client-certificate', ON_HOST.apiserverKubeletClient.cert.path],
    ['kubelet-client-key', ON_HOST.apiserverKubeletClient.key.path],
    // Kubelets serve with certificates of the cluster CA for their name and address (pki/profiles.ts).
    ['kubelet-certificate-authority', ON_HOST.kubernetesCa.cert.path],
    ['kubelet-preferred-address-types', 'InternalIP,ExternalIP,Hostname'],
    ['etcd-servers', cluster.etcd.members.map((m) => m.clientUrl).join(',')],
    ['etcd-cafile', ON_HOST.etcdCa.cert.path],
    ['etcd-certfile', ON_HOST.apiserverEtcdClient.cert.path],
    ['etcd-keyfile', ON_HOST.apiserverEtcdClient.key.path],
    ['service-cluster-ip-range', k.serviceCIDR],
    ['service-account-issuer', `https://kubernetes.default.svc.${k.clusterDomain}`],
    // The signing key's own public half verifies the tokens: no second file for it on the host.
    ['service-account-key-file', ON_HOST.serviceAccount.key.path],
    ['service-account-signing-key-file', ON_HOST.serviceAccount.key.path],
    ['encryption-provider-config', FILES.encryptionConfig],
    ['audit-policy-file', FILES.auditPolicy],
    ['audit-log-path', FILES.auditLog],
    ['audit-log-maxage', 30],
    ['audit-log-maxbackup', 10],
    ['audit-log-maxsize', 100],
    ['requestheader-client-ca-file', ON_HOST.frontProxyCa.cert.path],
    ['requestheader-allowed-names', SUBJECTS.frontProxyClient],
    ['requestheader-extra-headers-prefix', 'X-Remote-Extra-'],
    ['requestheader-group-headers', 'X-Remote-Group'],
    ['requestheader-username-headers', 'X-Remote-User'],
    ['proxy-client-cert-file', ON_HOST.frontProxyClient.cert.path],
    ['proxy-client-key-file', ON_HOST.frontProxyClient.key.path],
  ], {
    description: `kube-apiserver ${k.version}`,
    serviceExtra: ['LimitNOFILE=65536'],
  });
}

export function kubeControllerManagerUnit(cluster: Cluster, host: Host): UnitView {
  const k = cluster.kubernetes;
  const kubeconfig = FILES.controllerManagerKubeconfig;
  return unit(host, 'kube-controller-manager', k.version, BIN.kubeControllerManager, [
    ['kubeconfig', kubeconfig],
    ['authentication-kubeconfig', kubeconfig],
    ['authorization-kubeconfig', kubeconfig],
    ['bind-address', '127.0.0.1'],
    ['leader-elect', true],
    ['cluster-name', cluster.name],
    ['allocate-node-cidrs', true],
    ['cluster-cidr', k.podCIDR],
    ['node-cidr-mask-size', 24],
    ['service-cluster-ip-range', k.serviceCIDR],
    ['cluster-signing-cert-file', ON_HOST.kubernetesCa.cert.path],
    ['cluster-signing-key-file', ON_HOST.kubernetesCa.key.path],
    ['cluster-signing-duration', `${cluster.pki.certValidityDays * 24}h`],
    ['client-ca-file', ON_HOST.kubernetesCa.cert.path],
    ['requestheader-client-ca-file', ON_HOST.frontProxyCa.cert.path],
    ['root-ca-file', ON_HOST.kubernetesCa.cert.path],
    ['service-account-private-key-file', ON_HOST.serviceAccount.key.path],
    ['use-service-account-credentials', true],
    ['controllers', '*,bootstrapsigner,tokencleaner'],
  ], { after: ['kube-apiserver.service'], wants: [] });
}

export function kubeSchedulerUnit(cluster: Cluster, host: Host): UnitView {
  const kubeconfig = FILES.schedulerKubeconfig;
  return unit(host, 'kube-scheduler', cluster.kubernetes.version, BIN.kubeScheduler, [
    ['config', FILES.schedulerConfig],
    ['authentication-kubeconfig', kubeconfig],
    ['authorization-kubeconfig', kubeconfig],
    ['bind-address', '127.0.0.1'],
  ], { after: ['kube-apiserver.service'], wants: [] });
}

const ADMIN_PURPOSE = 'Cluster administrator (system:masters); keep it secret';

/** The cluster administrator's kubeconfig for the operator (out/<cluster>/admin.kubeconfig), at the endpoint (the VIP). */
export function adminKubeconfig(cluster: Cluster, bundle: PkiBundle): KubeconfigView {
  return selfContainedKubeconfig(cluster, bundle, ADMIN_PURPOSE, SUBJECTS.admin, cluster.kubernetes.endpoint.url, bundle.admin);
}

export const controlPlane: RoleRecipe = {
  name: 'the control-plane recipe',
  roles: ['control-plane'],
  credentials: [
    ...asGrants(ON_HOST.kubernetesCa), // the key too: kube-controller-manager signs the kubelets' CSRs with it
    ...asGrants(ON_HOST.apiserver),
    ...asGrants(ON_HOST.apiserverKubeletClient),
    ...asGrants(ON_HOST.apiserverEtcdClient),
    ...asGrants(ON_HOST.frontProxyCa),
    ...asGrants(ON_HOST.frontProxyClient),
    ...asGrants(ON_HOST.serviceAccount),
    ...asGrants(ON_HOST.etcdCa),
    ...asGrants(ON_HOST.controllerManager),
    ...asGrants(ON_HOST.scheduler),
    // The control planes apply the cluster's RBAC bindings (CSR auto-approval...) on first boot.
    ...asGrants(ON_HOST.admin),
    ...asGrants(ON_HOST.encryptionKey),
  ],
  steps: () => [
    { name: 'start-control-plane', template: 'control-plane/start-control-plane.sh.hbs', view: { auditLogDir: FILES.auditLog.slice(0, FILES.auditLog.lastIndexOf('/')) } },
  ],
  files: ({ cluster, host, bundle }) => {
    const local = localApiserver(cluster);
    const kubeconfig = (path: string, view: KubeconfigView) => ({ path, template: KUBECONFIG_TEMPLATE, view, permissions: '0600' });
    return [
      { path: `${UNIT_DIR}/kube-apiserver.service`, template: UNIT_TEMPLATE, view: kubeApiserverUnit(cluster, host) },
      { path: `${UNIT_DIR}/kube-controller-manager.service`, template: UNIT_TEMPLATE, view: kubeControllerManagerUnit(cluster, host) },
      { path: `${UNIT_DIR}/kube-scheduler.service`, template: UNIT_TEMPLATE, view: kubeSchedulerUnit(cluster, host) },
      { path: FILES.encryptionConfig, template: 'control-plane/encryption-config.yaml.hbs', view: { keyName: 'key1', key: bundle.secrets.encryptionKey }, permissions: '0600' },
      { path: FILES.auditPolicy, template: 'control-plane/audit-policy.yaml.hbs', view: {}, encoding: 'gz+b64' },
      { path: FILES.schedulerConfig, template: 'control-plane/kube-scheduler.yaml.hbs', view: { host: host.name, kubeconfig: FILES.schedulerKubeconfig } },
      kubeconfig(FILES.controllerManagerKubeconfig, hostKubeconfig(cluster, 'kube-controller-manager -> local kube-apiserver',
        SUBJECTS.controllerManager, local, ON_HOST.controllerManager)),
      kubeconfig(FILES.schedulerKubeconfig, hostKubeconfig(cluster, 'kube-scheduler -> local kube-apiserver',
        SUBJECTS.scheduler, local, ON_HOST.scheduler)),
      kubeconfig(FILES.adminKubeconfig, hostKubeconfig(cluster, ADMIN_PURPOSE, SUBJECTS.admin, cluster.kubernetes.endpoint.url, ON_HOST.admin)),
    ];
  },
};
