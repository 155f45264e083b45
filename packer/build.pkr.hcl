# One golden image for every role: the pinned binaries, verified, the
# distribution's nginx/keepalived and the pre-pulled images, then sysprep.
build {
  sources = ["source.qemu.kvm", "source.proxmox-clone.proxmox", "source.vsphere-clone.vsphere"]

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
    inline            = ["sudo sh -c 'userdel --force --remove ${local.build_user}; rm -f /etc/sudoers.d/90-cloud-init-users'"]
    skip_clean        = true
    expect_disconnect = true
  }
}
