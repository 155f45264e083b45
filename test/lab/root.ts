/**
 * The boot lab's Debian 12 root: what a golden image of this project carries
 * (systemd, cloud-init, etcd, nginx with its stream module, keepalived, the
 * time-sync client, ssh) plus Node for the Kubernetes STAND-INS, which
 * test/standins/install.ts adds to each lab copy. Built once with debootstrap
 * and cached (test/lib/debian-root.ts); each host boots an overlay of it.
 */
import { debianRoot } from '../lib/debian-root.ts';

export const LAB_PACKAGES = [
  // boot and init
  'systemd', 'systemd-sysv', 'dbus', 'udev', 'kmod', 'procps', 'iproute2', 'iputils-ping',
  // cloud-init and what renders its network-config (python3-cffi-backend: see cloud-init-root-packages.ts)
  'cloud-init', 'python3-cffi-backend', 'netplan.io',
  // roles: etcd (Debian's 3.4), the load-balancer pair
  'etcd-server', 'etcd-client', 'nginx', 'libnginx-mod-stream', 'keepalived',
  // what a golden image carries for the bootstrap
  'chrony', 'openssh-server', 'sudo', 'curl', 'ca-certificates', 'conntrack', 'socat', 'ethtool', 'ebtables', 'iptables',
  // runs the Kubernetes stand-ins (Debian 12: Node 18)
  'nodejs',
] as const;

export const labRoot = () => debianRoot('lab', LAB_PACKAGES);

/**
 * The same root plus a kernel and its initramfs, for the smoke boot under
 * qemu-system-x86_64 (run.ts --qemu): the VM boots that kernel directly.
 */
export const labVmRoot = () => debianRoot('lab-vm', [...LAB_PACKAGES, 'linux-image-amd64', 'e2fsprogs']);
