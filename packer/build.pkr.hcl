# One golden image for every role: the pinned binaries, verified, the
# distribution's nginx/keepalived and the pre-pulled images, then sysprep.
build {
  sources = ["source.qemu.kvm", "source.proxmox-clone.proxmox", "source.vsphere-clone.vsphere"]

  # SSH answers before cloud-init has finished: wait for it rather than race
  # it. An error (1) stops the build with cloud-init's report; warnings only
  # (2, "degraded" in cloud-init 23.4 and newer) are printed.
  provisioner "shell" {
    inline = [
      "rc=0; sudo cloud-init status --wait >/dev/null || rc=$?",
      "[ $rc -eq 0 ] || sudo cloud-init status --long",
      "if [ $rc -eq 2 ]; then echo 'cloud-init finished with warnings (above)' >&2; elif [ $rc -ne 0 ]; then echo 'cloud-init did not finish cleanly' >&2; exit 1; fi",
    ]
  }

  # The install script's input, made from the variables.
  provisioner "shell" {
    inline = ["umask 077", "cat > ${local.manifest_path} <<'MANIFEST'\n${local.manifest}\nMANIFEST"]
  }

  # Downloads, verifies (before anything is unpacked) and installs every
  # artifact, installs the packages, pre-pulls the images. Stops at the first error.
  provisioner "shell" {
    script          = "${path.root}/scripts/install-artifacts.sh"
    execute_command = "chmod +x {{ .Path }}; sudo {{ .Vars }} bash {{ .Path }} ${local.manifest_path}"
  }

  # cloud-init clean, empty machine-id, no SSH host keys, truncated logs.
  provisioner "shell" {
    script          = "${path.root}/scripts/sysprep.sh"
    execute_command = "chmod +x {{ .Path }}; sudo {{ .Vars }} bash {{ .Path }}"
  }

  # Proxmox stops the VM through its API, without a shutdown command: the
  # build account is removed here instead.
  provisioner "shell" {
    only              = ["proxmox-clone.proxmox"]
    inline            = ["sudo sh -c 'userdel --force --remove ${var.proxmox_ssh_username}; rm -f /etc/sudoers.d/90-cloud-init-users'"]
    skip_clean        = true
    expect_disconnect = true
  }
}
