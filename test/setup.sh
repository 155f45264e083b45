#!/usr/bin/env bash
# The Debian tools the tests run for real (npm test runs this first, as
# `pretest`). Installs what is missing when run as root on Debian/Ubuntu;
# otherwise says what to install. Fast when everything is there.
set -euo pipefail

packages=(
  openssl             # openssl verify / x509 / genrsa
  cloud-init          # cloud-init schema, and cloud-init applied in a throwaway root
  python3-yaml        # PyYAML: tests read user-data exactly as cloud-init does
  netplan.io          # netplan generate on network-config
  nginx libnginx-mod-stream  # nginx -t on the load balancers' config
  keepalived          # keepalived -t
  systemd             # systemd-analyze verify
  packer              # packer validate / fmt
  genisoimage         # isoinfo
  xorriso python3-pycdlib  # second and third readers of the cidata ISO
  util-linux          # blkid, unshare
  etcd-server etcd-client  # a real etcd: the certificates, the generated units, backups and restores
  iproute2            # network namespaces
  debootstrap systemd-container  # throwaway Debian roots and the boot lab
  golang-cfssl        # npm run bench's baseline: cfssl gencert | cfssljson, as the tutorials make certificates
  qemu-system-x86 e2fsprogs      # the boot lab's smoke boot under qemu (npm run test:e2e -- --qemu)
  qemu-utils socat openssh-client  # qemu-img; the image build (npm run test:image): the guest's one forward to the mirror, ssh-keygen for build.sh
  libvirt-daemon-system libvirt-clients  # libvirtd, virsh, virt-xml-validate: the libvirt outputs and boot
  virtinst libxml2-utils         # virt-install/virt-xml for operators; xmllint, which virt-xml-validate runs
  shellcheck                     # the generated platform scripts
  iputils-ping                   # the libvirt boot pings its host on the isolated network
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# kubectl: the machine may carry a newer one; Debian's own is kubernetes-client.
command -v kubectl >/dev/null || missing+=(kubernetes-client)

[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "the tests need these Debian packages: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "test setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# The tests start the daemons they need themselves: keep the installs from starting services.
[ -e /usr/sbin/policy-rc.d ] || { printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; }
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
