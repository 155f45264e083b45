# One source per platform; all of them boot the distribution's stock cloud
# image and log in over SSH with the build account (see variables.pkr.hcl).

# KVM/libvirt: the cloud image itself is the disk (disk_image), and a NoCloud
# seed on a CD labelled "cidata" creates the build account, the way
# kubernetes-sigs/image-builder builds from cloud images. Needs xorriso,
# genisoimage or mkisofs on the build machine for the CD. SSH and VNC listen
# on 127.0.0.1 only.
source "qemu" "kvm" {
  iso_url              = local.base_url
  iso_checksum         = local.base_checksum
  disk_image           = true
  use_backing_file     = false
  disk_size            = var.disk_size
  format               = "qcow2"
  accelerator          = var.accelerator
  qemu_binary          = local.qemu_binary
  machine_type         = local.machine_type
  qemuargs             = concat([["-netdev", local.qemu_netdev]], var.qemu_extra_args)
  vnc_bind_address     = "127.0.0.1"
  headless             = var.headless
  cpus                 = var.cpus
  memory               = var.memory
  net_device           = "virtio-net"
  disk_interface       = "virtio"
  output_directory     = "${var.output_directory}/${local.image_name}-${local.build_time}"
  vm_name              = "${local.image_name}.qcow2"
  cd_files             = ["${var.build_seed_dir}/meta-data", "${var.build_seed_dir}/user-data"]
  cd_label             = "cidata"
  ssh_host             = "127.0.0.1"
  ssh_username         = local.build_user
  ssh_private_key_file = var.build_ssh_private_key_file
  ssh_timeout          = var.ssh_timeout
  shutdown_command     = local.shutdown_command
}

# Proxmox VE: clones a VM template made from the cloud image, whose cloud-init
# drive creates the build account (qm set --ciuser/--sshkeys: a key, no
# password), and turns the result into a new template. The template gets no
# cloud-init drive of Packer's: each VM gets its own seed (its cidata ISO).
source "proxmox-clone" "proxmox" {
  proxmox_url              = var.proxmox_url
  username                 = var.proxmox_username
  password                 = var.proxmox_password
  insecure_skip_tls_verify = var.proxmox_insecure_skip_tls_verify
  node                     = var.proxmox_node
  clone_vm                 = var.proxmox_template
  full_clone               = true
  vm_name                  = "${local.image_name}-${local.build_time}"
  template_name            = "${local.image_name}-${local.build_time}"
  template_description     = "ha-k8s-seed golden image: Kubernetes ${var.kubernetes_version} on ${var.os} (${var.arch})"
  cores                    = var.cpus
  memory                   = var.memory
  scsi_controller          = "virtio-scsi-pci"
  qemu_agent               = true
  cloud_init               = false
  network_adapters {
    bridge = var.proxmox_bridge
    model  = "virtio"
  }
  ssh_username         = var.proxmox_ssh_username
  ssh_private_key_file = var.proxmox_ssh_private_key_file
  ssh_timeout          = var.ssh_timeout
}

# vSphere: clones a template made from the cloud image (OVA) and attaches the
# same per-build cidata seed as a CD, removed before the result is converted
# to a template (a VM cloned from it must see only its own seed).
source "vsphere-clone" "vsphere" {
  vcenter_server       = var.vsphere_server
  username             = var.vsphere_username
  password             = var.vsphere_password
  insecure_connection  = var.vsphere_insecure_connection
  datacenter           = var.vsphere_datacenter
  cluster              = var.vsphere_cluster
  datastore            = var.vsphere_datastore
  folder               = var.vsphere_folder
  network              = var.vsphere_network
  template             = var.vsphere_template
  vm_name              = "${local.image_name}-${local.build_time}"
  CPUs                 = var.cpus
  RAM                  = var.memory
  convert_to_template  = true
  cd_files             = ["${var.build_seed_dir}/meta-data", "${var.build_seed_dir}/user-data"]
  cd_label             = "cidata"
  remove_cdrom         = true
  ssh_username         = local.build_user
  ssh_private_key_file = var.build_ssh_private_key_file
  ssh_timeout          = var.ssh_timeout
  shutdown_command     = local.shutdown_command
}
