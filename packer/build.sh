#!/usr/bin/env bash
# build.sh: `packer build` of this folder with a secret of this build's own
# for the build account. Packer logs in to the build VM as "packer" over SSH
# with an ed25519 key made here, whose public half reaches the VM in a cidata
# seed written from cidata/user-data (qemu, vSphere); the account has no
# password, is deleted at the end of the build, and the key is removed from
# this machine when the build ends, however it ends.
#
# Usage: build.sh [PACKER-BUILD-OPTIONS...]      e.g. build.sh -only=qemu.kvm
# Runs in the current folder (relative paths, output_directory); with Packer
# 1.6, which does not know required_plugins, it builds this folder without
# plugins.pkr.hcl.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
me=build.sh
die() { printf '%s: error: %s\n' "$me" "$*" >&2; exit 1; }
for tool in packer ssh-keygen; do command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed"; done

secret=$(mktemp -d "${TMPDIR:-/tmp}/ha-k8s-seed-build.XXXXXX")
trap 'rm -rf "$secret"' EXIT
ssh-keygen -q -t ed25519 -N '' -C "ha-k8s-seed image build $(date -u +%Y%m%dT%H%M%SZ)" -f "$secret/build_key"
seed=$secret/cidata
mkdir "$seed"
cp "$here/cidata/meta-data" "$seed/meta-data"
public_key=$(cat "$secret/build_key.pub")
grep -q BUILD_SSH_PUBLIC_KEY "$here/cidata/user-data" || die "$here/cidata/user-data has no BUILD_SSH_PUBLIC_KEY to replace"
sed "s|BUILD_SSH_PUBLIC_KEY|$public_key|" "$here/cidata/user-data" >"$seed/user-data"

folder=$here
if packer version | grep -q '^Packer v1\.[0-6]\.'; then
  folder=$secret/packer
  mkdir "$folder"
  for f in "$here"/*; do
    case "${f##*/}" in plugins.pkr.hcl | build.sh) ;; *) ln -s "$f" "$folder/" ;; esac
  done
fi
packer build -var "build_seed_dir=$seed" -var "build_ssh_private_key_file=$secret/build_key" "$@" "$folder"
