#!/usr/bin/env bash
# sysprep.sh: the last step of the golden-image build. Leaves nothing that
# would make two VMs booted from the image look like the same machine, and
# nothing of the build: every VM then runs cloud-init afresh with its own
# user-data, gets its own machine-id and its own SSH host keys.
set -euo pipefail
me=sysprep
log() { printf '%s: %s\n' "$me" "$*" >&2; }
die() { printf '%s: error: %s\n' "$me" "$*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root"

# Package caches: apt's or dnf's.
if command -v apt-get >/dev/null 2>&1; then apt-get clean; fi
if command -v dnf >/dev/null 2>&1; then dnf clean all >/dev/null; fi
rm -rf /var/lib/apt/lists/* /var/cache/dnf/*

# One image serves every role: nginx and keepalived start only where the
# seed makes a host a load balancer (its bootstrap enables them).
if command -v systemctl >/dev/null 2>&1; then
  systemctl disable nginx.service keepalived.service >/dev/null 2>&1 || true
fi

# cloud-init runs again, from scratch, on the first boot of every VM.
if command -v cloud-init >/dev/null 2>&1; then
  cloud-init clean --logs --seed
else
  rm -rf /var/lib/cloud/* /var/log/cloud-init*.log
fi

# An empty machine-id (not a missing one) makes systemd generate a new one at
# boot and treat it as the first boot; dbus's copy follows it.
: >/etc/machine-id
chmod 0444 /etc/machine-id
if [ -e /var/lib/dbus/machine-id ] || [ -L /var/lib/dbus/machine-id ]; then
  rm -f /var/lib/dbus/machine-id
  ln -s /etc/machine-id /var/lib/dbus/machine-id
fi

# SSH host keys: each VM makes its own (cloud-init, or sshd-keygen on first start).
rm -f /etc/ssh/ssh_host_*

# Logs: kept as files (services expect them), emptied. journald writes to
# /run from here on (--relinquish-var), so nothing of the build's journal,
# whose folder is named after the build VM's machine-id, reaches the image.
if command -v journalctl >/dev/null 2>&1; then journalctl --relinquish-var >/dev/null 2>&1 || true; fi
rm -rf /var/log/journal/*
find /var/log -type f \( -name '*.gz' -o -name '*.[0-9]' -o -name '*.old' \) -delete
find /var/log -type f -exec truncate -s 0 {} +

# Build leftovers: temporary files (hidden ones too), the manifest, shell history.
find /tmp /var/tmp -mindepth 1 -delete
rm -f /root/.bash_history
log "done"
