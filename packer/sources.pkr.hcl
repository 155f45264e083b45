# One source per platform; all of them boot the distribution's stock cloud
# image and log in over SSH with the build account (see variables.pkr.hcl).

# KVM/libvirt: the cloud image itself is the disk (disk_image), and a NoCloud
# seed on a CD labelled "cidata" creates the build account, the way
# kubernetes-sigs/image-builder builds from cloud images. Needs xorriso,
# genisoimage or mkisofs on the build machine for the CD.
source "qemu" "kvm" {
  iso_url          = local.base_url
  iso_checksum     = local.base_checksum
  disk_image       = true
  use_backing_file = false
  disk_size        = var.disk_size
  format           = "qcow2"
  accelerator      = var.accelerator
  qemu_binary      = local.qemu_binary
  machine_type     = local.machine_type
  headless         = var.headless
  cpus             = var.cpus
  memory           = var.memory
  net_device       = "virtio-net"
  disk_interface   = "virtio"
  output_directory = "${var.output_directory}/${local.image_name}"
  vm_name          = "${local.image_name}.qcow2"
  cd_files         = ["${path.root}/cidata/meta-data", "${path.root}/cidata/user-data"]
  cd_label         = "cidata"
  ssh_username     = local.build_user
  ssh_password     = local.build_password
  ssh_timeout      = "30m"
  shutdown_command = local.shutdown_command
}

# Proxmox VE: clones a VM template made from the cloud image, whose cloud-init
# drive creates the build account (ciuser/cipassword), and turns the result
# into a new template.
source "proxmox-clone" "proxmox" {
  proxmox_url              = var.proxmox_url
  username                 = var.proxmox_username
  password                 = var.proxmox_password
  insecure_skip_tls_verify = var.proxmox_insecure_skip_tls_verify
  node                     = var.proxmox_node
  clone_vm                 = var.proxmox_template
  full_clone               = true
  vm_name                  = local.image_name
  template_name            = local.image_name
  template_description     = "ha-k8s-seed golden image: Kubernetes ${var.kubernetes_version} on ${var.os} (${var.arch})"
  cores                    = var.cpus
  memory                   = var.memory
  scsi_controller          = "virtio-scsi-pci"
  qemu_agent               = true
  cloud_init               = true
  cloud_init_storage_pool  = var.proxmox_storage_pool
  network_adapters {
    bridge = var.proxmox_bridge
    model  = "virtio"
  }
  ssh_username = local.build_user
  ssh_password = local.build_password
  ssh_timeout  = "30m"
}

# vSphere: clones a template made from the cloud image (OVA) and attaches the
# same cidata seed as a CD; the result is converted to a template.
source "vsphere-clone" "vsphere" {
  vcenter_server      = var.vsphere_server
  username            = var.vsphere_username
  password            = var.vsphere_password
  insecure_connection = var.vsphere_insecure_connection
  datacenter          = var.vsphere_datacenter
  cluster             = var.vsphere_cluster
  datastore           = var.vsphere_datastore
  folder              = var.vsphere_folder
  network             = var.vsphere_network
  template            = var.vsphere_template
  vm_name             = local.image_name
  CPUs                = var.cpus
  RAM                 = var.memory
  convert_to_template = true
  cd_files            = ["${path.root}/cidata/meta-data", "${path.root}/cidata/user-data"]
  cd_label            = "cidata"
  ssh_username        = local.build_user
  ssh_password        = local.build_password
  ssh_timeout         = "30m"
  shutdown_command    = local.shutdown_command
}
