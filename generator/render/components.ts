/**
 * Decisions about the daemons: which flags each one gets for the target
 * release, and the views of their config files. Text lives in templates/;
 * every flag is checked by renderFlags() against the release's flag list.
 */
import { BIN, CONFIG, PORTS } from '../model/paths.ts';
import { hasRole, hostsWithRole, type Cluster, type Host } from '../model/types.ts';
import { leafProfiles } from '../pki/profiles.ts';
import { atLeast, renderFlags, type Flag, type FlagComponent } from './flags.ts';
import { FILES, PKI } from './host-paths.ts';

export interface UnitView {
  host: string;
  description: string;
  documentation: string;
  type: 'simple' | 'notify';
  after: string[];
  wants: string[];
  exec: string;
  args: string[];
  serviceExtra: string[];
}

const CONTAINERD_SOCKET = 'unix:///run/containerd/containerd.sock';

function unit(
  host: Host, component: FlagComponent, version: string, exec: string, flags: readonly Flag[],
  more: Partial<Pick<UnitView, 'type' | 'after' | 'wants' | 'serviceExtra' | 'description' | 'documentation'>> = {},
): UnitView {
  return {
    host: host.name,
    description: more.description ?? `${component} ${version}`,
    documentation: more.documentation ?? 'https://kubernetes.io/docs/reference/command-line-tools-reference/',
    type: more.type ?? 'simple',
    after: more.after ?? ['network-online.target'],
    wants: more.wants ?? ['network-online.target'],
    exec,
    args: renderFlags(component, version, flags),
    serviceExtra: more.serviceExtra ?? [],
  };
}

/**
 * etcd: TLS and certificate auth for clients and peers, the static initial
 * cluster. 3.6 turned the corruption check and watch-progress notifications
 * from experimental flags into a feature gate and a plain flag; 3.5 (and 3.4)
 * only know the experimental ones.
 */
export function etcdUnit(cluster: Cluster, host: Host): UnitView {
  const member = cluster.etcd.members.find((m) => m.name === host.name)!;
  const version = cluster.etcd.version;
  const versioned: Flag[] = atLeast(version, '3.6')
    ? [['feature-gates', 'InitialCorruptCheck=true'], ['watch-progress-notify-interval', '5s']]
    : [['experimental-initial-corrupt-check', true], ['experimental-watch-progress-notify-interval', '5s']];
  return unit(host, 'etcd', version, BIN.etcd, [
    ['name', member.name],
    ['data-dir', CONFIG.etcdDataDir],
    ['listen-client-urls', `${member.clientUrl},https://127.0.0.1:${PORTS.etcdClient}`],
    ['advertise-client-urls', member.clientUrl],
    ['listen-peer-urls', member.peerUrl],
    ['initial-advertise-peer-urls', member.peerUrl],
    ['initial-cluster', cluster.etcd.initialCluster],
    ['initial-cluster-state', 'new'],
    ['initial-cluster-token', cluster.etcd.initialClusterToken],
    ['listen-metrics-urls', `http://127.0.0.1:${PORTS.etcdMetrics}`],
    ['cert-file', PKI.etcdServerCert],
    ['key-file', PKI.etcdServerKey],
    ['trusted-ca-file', PKI.etcdCa],
    ['client-cert-auth', true],
    ['peer-cert-file', PKI.etcdPeerCert],
    ['peer-key-file', PKI.etcdPeerKey],
    ['peer-trusted-ca-file', PKI.etcdCa],
    ['peer-client-cert-auth', true],
    ['snapshot-count', 10000],
    ...versioned,
  ], {
    type: 'notify',
    description: `etcd ${version} member ${member.name}`,
    documentation: 'https://etcd.io/docs/',
    serviceExtra: ['LimitNOFILE=65536'],
  });
}

export function kubeApiserverUnit(cluster: Cluster, host: Host): UnitView {
  const k = cluster.kubernetes;
  return unit(host, 'kube-apiserver', k.version, BIN.kubeApiserver, [
    ['advertise-address', host.address],
    ['secure-port', k.apiserverPort],
    ['allow-privileged', true],
    ['authorization-mode', 'Node,RBAC'],
    ['enable-admission-plugins', 'NodeRestriction'],
    ['enable-bootstrap-token-auth', true],
    ['client-ca-file', PKI.ca],
    ['tls-cert-file', PKI.apiserverCert],
    ['tls-private-key-file', PKI.apiserverKey],
    ['kubelet-client-certificate', PKI.apiserverKubeletClientCert],
    ['kubelet-client-key', PKI.apiserverKubeletClientKey],
    // Kubelets serve with certificates of the cluster CA for their name and address (pki/profiles.ts).
    ['kubelet-certificate-authority', PKI.ca],
    ['kubelet-preferred-address-types', 'InternalIP,ExternalIP,Hostname'],
    ['etcd-servers', cluster.etcd.members.map((m) => m.clientUrl).join(',')],
    ['etcd-cafile', PKI.etcdCa],
    ['etcd-certfile', PKI.apiserverEtcdClientCert],
    ['etcd-keyfile', PKI.apiserverEtcdClientKey],
    ['service-cluster-ip-range', k.serviceCIDR],
    ['service-account-issuer', `https://kubernetes.default.svc.${k.clusterDomain}`],
    ['service-account-key-file', PKI.serviceAccountPub],
    ['service-account-signing-key-file', PKI.serviceAccountKey],
    ['encryption-provider-config', FILES.encryptionConfig],
    ['audit-policy-file', FILES.auditPolicy],
    ['audit-log-path', FILES.auditLog],
    ['audit-log-maxage', 30],
    ['audit-log-maxbackup', 10],
    ['audit-log-maxsize', 100],
    ['requestheader-client-ca-file', PKI.frontProxyCa],
    ['requestheader-allowed-names', leafProfiles(cluster).find((p) => p.id === 'front-proxy-client')!.cn],
    ['requestheader-extra-headers-prefix', 'X-Remote-Extra-'],
    ['requestheader-group-headers', 'X-Remote-Group'],
    ['requestheader-username-headers', 'X-Remote-User'],
    ['proxy-client-cert-file', PKI.frontProxyClientCert],
    ['proxy-client-key-file', PKI.frontProxyClientKey],
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
    ['cluster-signing-cert-file', PKI.ca],
    ['cluster-signing-key-file', PKI.caKey],
    ['cluster-signing-duration', `${cluster.pki.certValidityDays * 24}h`],
    ['client-ca-file', PKI.ca],
    ['requestheader-client-ca-file', PKI.frontProxyCa],
    ['root-ca-file', PKI.ca],
    ['service-account-private-key-file', PKI.serviceAccountKey],
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

export function kubeletUnit(cluster: Cluster, host: Host): UnitView {
  return unit(host, 'kubelet', cluster.kubernetes.version, BIN.kubelet, [
    ['config', FILES.kubeletConfig],
    ['bootstrap-kubeconfig', FILES.bootstrapKubeconfig],
    ['kubeconfig', FILES.kubeletKubeconfig],
    ['node-ip', host.address],
  ], { after: ['containerd.service'], wants: ['containerd.service'] });
}

export function kubeProxyUnit(cluster: Cluster, host: Host): UnitView {
  return unit(host, 'kube-proxy', cluster.kubernetes.version, BIN.kubeProxy, [
    ['config', FILES.kubeProxyConfig],
  ]);
}

/** The unit views a host gets, keyed as the role documents name them. */
export function unitViews(cluster: Cluster, host: Host): Record<string, UnitView> {
  const units: Record<string, UnitView> = {};
  if (hasRole(host, 'etcd')) units.etcd = etcdUnit(cluster, host);
  if (hasRole(host, 'control-plane')) {
    units.kubeApiserver = kubeApiserverUnit(cluster, host);
    units.kubeControllerManager = kubeControllerManagerUnit(cluster, host);
    units.kubeScheduler = kubeSchedulerUnit(cluster, host);
  }
  if (hasRole(host, 'control-plane') || hasRole(host, 'worker')) {
    units.kubelet = kubeletUnit(cluster, host);
    units.kubeProxy = kubeProxyUnit(cluster, host);
  }
  return units;
}

/** Ubuntu's systemd-resolved stub (127.0.0.53) would loop CoreDNS back to itself: kubelet reads the real list. */
export function resolvConf(cluster: Cluster): string {
  return cluster.image.os.startsWith('ubuntu') ? '/run/systemd/resolve/resolv.conf' : '/etc/resolv.conf';
}

/** The role label (and taint key) of a control plane, as kubeadm sets them. */
export const CONTROL_PLANE_LABEL = 'node-role.kubernetes.io/control-plane';

/**
 * Control planes keep ordinary pods off them when there are workers to run
 * them; a cluster of control planes only has nowhere else to put CoreDNS.
 */
export function kubeletTaints(cluster: Cluster, host: Host): { key: string; effect: string }[] {
  // Asked only of control planes: a worker's seed costs the same however many hosts there are.
  return hasRole(host, 'control-plane') && !hasRole(host, 'worker') && cluster.hosts.some((h) => hasRole(h, 'worker'))
    ? [{ key: CONTROL_PLANE_LABEL, effect: 'NoSchedule' }]
    : [];
}

export const CONTAINER_RUNTIME_ENDPOINT = CONTAINERD_SOCKET;
