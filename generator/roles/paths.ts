/**
 * Where the files the role recipes write land on a host. Binaries come from
 * model/paths.ts (the image installs them there); each certificate and key
 * carries its own path (pki/on-host.ts).
 */

const K = '/etc/kubernetes';

export const SEED = {
  stateDir: '/var/lib/ha-k8s-seed',
  doneMarker: '/var/lib/ha-k8s-seed/bootstrap.done',
  failedMarker: '/var/lib/ha-k8s-seed/bootstrap.failed',
  bootstrapScript: '/usr/local/lib/ha-k8s-seed/bootstrap.sh',
  bootstrapUnit: 'ha-k8s-seed-bootstrap.service',
  /** Download mode: packer/'s install script and this host's manifest. */
  installScript: '/usr/local/lib/ha-k8s-seed/install-artifacts.sh',
  installManifest: '/usr/local/lib/ha-k8s-seed/install-manifest',
  modulesLoad: '/etc/modules-load.d/ha-k8s-seed.conf',
  sysctl: '/etc/sysctl.d/90-ha-k8s-seed.conf',
  hosts: '/etc/hosts',
} as const;

export const UNIT_DIR = '/etc/systemd/system';

/** Configs and kubeconfigs this renderer makes (the configs holding a secret named as in the PKI's grants, `embeddedIn`). */
export const FILES = {
  adminKubeconfig: `${K}/admin.kubeconfig`,
  controllerManagerKubeconfig: `${K}/controller-manager.kubeconfig`,
  schedulerKubeconfig: `${K}/scheduler.kubeconfig`,
  schedulerConfig: `${K}/kube-scheduler.yaml`,
  kubeProxyKubeconfig: `${K}/kube-proxy.kubeconfig`,
  kubeProxyConfig: `${K}/kube-proxy.yaml`,
  bootstrapKubeconfig: `${K}/bootstrap-kubelet.kubeconfig`,
  /** Written by kubelet itself once its bootstrap CSR is approved. */
  kubeletKubeconfig: `${K}/kubelet.kubeconfig`,
  kubeletConfig: '/var/lib/kubelet/config.yaml',
  encryptionConfig: `${K}/encryption-config.yaml`,
  auditPolicy: `${K}/audit-policy.yaml`,
  auditLog: '/var/log/kubernetes/audit/audit.log',
  addonsDir: `${K}/addons`,
  /** The bootstrap-token Secret a control plane applies: apart from the add-ons, since its expiration is set as it is applied. */
  bootstrapTokenSecret: `${K}/bootstrap-token.yaml`,
  nginxConf: '/etc/nginx/nginx.conf',
  keepalivedConf: '/etc/keepalived/keepalived.conf',
  keepalivedCheck: '/etc/keepalived/check-apiserver-proxy.sh',
  /** Run by etcd-backup.service on the schedule of etcd-backup.timer (etcd.backup). */
  etcdBackupScript: '/usr/local/lib/ha-k8s-seed/etcd-backup.sh',
  /** nginx.service drop-in that tells keepalived at once when nginx starts and stops. */
  nginxVrrpDropIn: '/etc/systemd/system/nginx.service.d/ha-k8s-seed-vrrp.conf',
  /** "0" while nginx runs, "1" once it stopped or died: keepalived's vrrp_track_file. */
  nginxDownFile: '/run/ha-k8s-seed-nginx-down',
} as const;
