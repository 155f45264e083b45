/**
 * What the throwaway root for "apply user-data with real cloud-init" holds:
 * cloud-init itself, and the packages a golden image carries so cloud-init
 * needs no network (the time-sync client, nginx, keepalived, ssh; locales,
 * which cloud images carry and cloud-init's locale module needs).
 * python3-cffi-backend is named because debootstrap does not resolve the
 * virtual package python3-cryptography needs.
 */
export const CLOUD_INIT_ROOT_PACKAGES = [
  'cloud-init', 'python3-cffi-backend', 'locales', 'chrony', 'openssh-server', 'sudo', 'systemd', 'kmod', 'iproute2', 'curl', 'ca-certificates',
  'nginx', 'libnginx-mod-stream', 'keepalived', 'conntrack', 'socat', 'ethtool', 'ebtables', 'iptables',
];
