# Plugins for Packer 1.7 and newer: `packer init .` installs them.
#
# This block is alone in its own file on purpose: Packer 1.6 (Debian 12's
# `packer` package) has the qemu, proxmox-clone and vsphere-clone builders
# built in but does not know `required_plugins`, so with Packer 1.6 build and
# validate the other files without this one (see README.md, "Golden images").
packer {
  required_version = ">= 1.7.0"
  required_plugins {
    qemu = {
      version = ">= 1.1.0"
      source  = "github.com/hashicorp/qemu"
    }
    proxmox = {
      version = ">= 1.1.8"
      source  = "github.com/hashicorp/proxmox"
    }
    vsphere = {
      version = ">= 1.2.0"
      source  = "github.com/hashicorp/vsphere"
    }
  }
}
