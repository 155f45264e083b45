/**
 * Where things live on a host. The golden image (packer/), the download-mode
 * install script and the systemd units all use these constants, so a binary
 * is installed exactly where its unit starts it.
 */
export const BIN = {
  kubeApiserver: '/usr/local/bin/kube-apiserver',
  kubeControllerManager: '/usr/local/bin/kube-controller-manager',
  kubeScheduler: '/usr/local/bin/kube-scheduler',
  kubelet: '/usr/local/bin/kubelet',
  kubeProxy: '/usr/local/bin/kube-proxy',
  kubectl: '/usr/local/bin/kubectl',
  etcd: '/usr/local/bin/etcd',
  etcdctl: '/usr/local/bin/etcdctl',
  etcdutl: '/usr/local/bin/etcdutl',
  /** containerd's release tarball unpacks bin/ under /usr/local. */
  containerd: '/usr/local/bin/containerd',
  containerdShim: '/usr/local/bin/containerd-shim-runc-v2',
  ctr: '/usr/local/bin/ctr',
  runc: '/usr/local/sbin/runc',
  crictl: '/usr/local/bin/crictl',
  cniDir: '/opt/cni/bin',
} as const;

export const CONFIG = {
  kubernetesDir: '/etc/kubernetes',
  etcdDataDir: '/var/lib/etcd',
  kubeletDir: '/var/lib/kubelet',
  containerdConfig: '/etc/containerd/config.toml',
  cniConfDir: '/etc/cni/net.d',
} as const;

/**
 * The fixed TCP ports the daemons listen on (the configurable ones are
 * kubernetes.apiserverPort and loadBalancer.port). Units, the etcd URLs and
 * the spec's port-clash check all read them here.
 */
export const PORTS = {
  ssh: 22,
  etcdClient: 2379,
  etcdPeer: 2380,
  etcdMetrics: 2381,
  kubeletHealthz: 10248,
  kubelet: 10250,
  kubeProxyMetrics: 10249,
  kubeProxyHealthz: 10256,
  controllerManager: 10257,
  scheduler: 10259,
} as const;
