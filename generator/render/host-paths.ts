/**
 * Where the files this renderer writes land on a host. Binaries come from
 * model/paths.ts (the image installs them there); certificates and keys from
 * the PKI's grants (pki/access.ts), in kubeadm's layout under HOST_PKI.
 */
import { HOST_PKI } from '../pki/types.ts';

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

/** Certificates and keys, at the paths credentialsFor() writes them. */
export const PKI = {
  ca: `${HOST_PKI.dir}/ca.crt`,
  caKey: `${HOST_PKI.dir}/ca.key`,
  apiserverCert: `${HOST_PKI.dir}/apiserver.crt`,
  apiserverKey: `${HOST_PKI.dir}/apiserver.key`,
  apiserverKubeletClientCert: `${HOST_PKI.dir}/apiserver-kubelet-client.crt`,
  apiserverKubeletClientKey: `${HOST_PKI.dir}/apiserver-kubelet-client.key`,
  apiserverEtcdClientCert: `${HOST_PKI.dir}/apiserver-etcd-client.crt`,
  apiserverEtcdClientKey: `${HOST_PKI.dir}/apiserver-etcd-client.key`,
  frontProxyCa: `${HOST_PKI.dir}/front-proxy-ca.crt`,
  frontProxyClientCert: `${HOST_PKI.dir}/front-proxy-client.crt`,
  frontProxyClientKey: `${HOST_PKI.dir}/front-proxy-client.key`,
  serviceAccountPub: `${HOST_PKI.dir}/sa.pub`,
  serviceAccountKey: `${HOST_PKI.dir}/sa.key`,
  kubeletServingCert: `${HOST_PKI.dir}/kubelet.crt`,
  kubeletServingKey: `${HOST_PKI.dir}/kubelet.key`,
  etcdCa: `${HOST_PKI.etcdDir}/ca.crt`,
  etcdServerCert: `${HOST_PKI.etcdDir}/server.crt`,
  etcdServerKey: `${HOST_PKI.etcdDir}/server.key`,
  etcdPeerCert: `${HOST_PKI.etcdDir}/peer.crt`,
  etcdPeerKey: `${HOST_PKI.etcdDir}/peer.key`,
  etcdHealthcheckCert: `${HOST_PKI.etcdDir}/healthcheck-client.crt`,
  etcdHealthcheckKey: `${HOST_PKI.etcdDir}/healthcheck-client.key`,
  controllerManagerCert: `${HOST_PKI.dir}/controller-manager.crt`,
  controllerManagerKey: `${HOST_PKI.dir}/controller-manager.key`,
  schedulerCert: `${HOST_PKI.dir}/scheduler.crt`,
  schedulerKey: `${HOST_PKI.dir}/scheduler.key`,
  adminCert: `${HOST_PKI.dir}/admin.crt`,
  adminKey: `${HOST_PKI.dir}/admin.key`,
  kubeProxyCert: `${HOST_PKI.dir}/kube-proxy.crt`,
  kubeProxyKey: `${HOST_PKI.dir}/kube-proxy.key`,
} as const;

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
