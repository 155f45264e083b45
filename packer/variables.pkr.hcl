# Inputs of the golden-image build. The cluster's own values (versions,
# artifact URLs and checksums, images) come from the generated
# <cluster>.auto.pkrvars.hcl beside this file; the platform's (where to build)
# are given on the command line or in a *.pkrvars.hcl of your own.

# ---- From the cluster spec (generated) -------------------------------------

variable "cluster_name" {
  type        = string
  description = "Name of the cluster the image is built for."
}

variable "kubernetes_version" {
  type        = string
  description = "Pinned Kubernetes release, with its leading v."
}

variable "os" {
  type        = string
  description = "Base distribution: ubuntu-24.04, debian-12, rocky-9 or alma-9."
}

variable "arch" {
  type        = string
  description = "amd64 or arm64."
}

variable "artifacts" {
  type = list(object({
    name      = string
    version   = string
    format    = string
    algorithm = string
    checksum  = string
    url       = string
  }))
  description = "Release artifacts, each pinned by its sha256 or sha512."
}

variable "images" {
  type = list(object({
    ref         = string
    archive_url = string
  }))
  description = "Container images pre-pulled into containerd's k8s.io namespace; archive_url (mirror only) is an image archive to import instead of pulling."
}

variable "packages" {
  type        = list(string)
  description = "Distribution packages, by role: nginx, nginx-stream, keepalived, iptables, conntrack."
}

# ---- Base image (qemu) --------------------------------------------------------

variable "base_image_url" {
  type        = string
  default     = ""
  description = "Cloud image to start from; empty: the distribution's current one for os and arch (see local.bases)."
}

variable "base_image_checksum" {
  type        = string
  default     = ""
  description = "Its checksum, as Packer takes it (sha256:..., file:URL); empty: the distribution's checksum file."
}

# ---- The build account --------------------------------------------------------
# build.sh sets both for each build: a fresh SSH key pair, its public half in a
# cidata seed written from cidata/user-data. The account has no password.

variable "build_seed_dir" {
  type        = string
  description = "qemu, vSphere: folder with the build's NoCloud seed (meta-data, user-data); build.sh makes it."
}

variable "build_ssh_private_key_file" {
  type        = string
  description = "Private key Packer logs in to the build account with; build.sh makes one per build."
}

variable "ssh_timeout" {
  type        = string
  default     = "20m"
  description = "How long to wait for the build VM's SSH (first boot of the cloud image, cloud-init creating the account)."
}

# ---- Build machine ------------------------------------------------------------

variable "cpus" {
  type    = number
  default = 2
}

variable "memory" {
  type    = number
  default = 2048
}

variable "disk_size" {
  type    = string
  default = "20G"
}

variable "output_directory" {
  type        = string
  default     = "images"
  description = "qemu: the finished qcow2 goes to <output_directory>/<image name>-<UTC build time>/, a new folder for every build."
}

variable "accelerator" {
  type        = string
  default     = "kvm"
  description = "qemu: kvm, or tcg where /dev/kvm is missing (slow)."
}

variable "machine_type" {
  type        = string
  default     = ""
  description = "qemu: machine type; empty: pc on amd64 (its CD is on IDE; q35 puts it on AHCI, which cloud kernels built without CONFIG_SATA_AHCI never see), virt on arm64."
}

variable "qemu_net_options" {
  type        = string
  default     = ""
  description = "qemu: options appended to the user-mode network, whose SSH forward is bound to 127.0.0.1; e.g. \",restrict=on,guestfwd=tcp:10.0.2.100:80-cmd:socat - TCP:127.0.0.1:8080\" for a build that reaches only a mirror on the build machine."
}

variable "qemu_extra_args" {
  type        = list(list(string))
  default     = []
  description = "qemu: more command-line arguments, one list per option, e.g. [[\"-cpu\", \"max\"]] with tcg, or -bios/-drive for arm64's UEFI firmware."
}

variable "headless" {
  type    = bool
  default = true
}

# ---- Proxmox (proxmox-clone) ------------------------------------------------

variable "proxmox_url" {
  type    = string
  default = "https://proxmox.example:8006/api2/json"
}

variable "proxmox_username" {
  type    = string
  default = "packer@pve"
}

variable "proxmox_password" {
  type      = string
  default   = ""
  sensitive = true
}

variable "proxmox_node" {
  type    = string
  default = "pve"
}

variable "proxmox_template" {
  type        = string
  default     = "cloud-base"
  description = "Name of the VM template made from the distribution's cloud image (README: Golden images, Proxmox)."
}

variable "proxmox_bridge" {
  type    = string
  default = "vmbr0"
}

variable "proxmox_ssh_username" {
  type        = string
  default     = "packer"
  description = "The build account of the Proxmox template's cloud-init settings (qm set --ciuser); deleted from the image at the end of the build."
}

variable "proxmox_ssh_private_key_file" {
  type        = string
  default     = ""
  description = "Private key of the public one in the template's cloud-init settings (qm set --sshkeys). Packer 1.6's proxmox-clone cannot attach a seed of its own, so this key is the template's, not one per build."
}

variable "proxmox_insecure_skip_tls_verify" {
  type    = bool
  default = false
}

# ---- vSphere (vsphere-clone) ------------------------------------------------

variable "vsphere_server" {
  type    = string
  default = "vcenter.example"
}

variable "vsphere_username" {
  type    = string
  default = "packer@vsphere.local"
}

variable "vsphere_password" {
  type      = string
  default   = ""
  sensitive = true
}

variable "vsphere_insecure_connection" {
  type    = bool
  default = false
}

variable "vsphere_datacenter" {
  type    = string
  default = "dc1"
}

variable "vsphere_cluster" {
  type    = string
  default = "cluster1"
}

variable "vsphere_datastore" {
  type    = string
  default = "datastore1"
}

variable "vsphere_folder" {
  type    = string
  default = "templates"
}

variable "vsphere_network" {
  type    = string
  default = "VM Network"
}

variable "vsphere_template" {
  type        = string
  default     = "cloud-base"
  description = "VM template made from the distribution's cloud image (OVA), with its CD-ROM drive."
}

locals {
  image_name = "ha-k8s-seed-${var.cluster_name}-${var.kubernetes_version}-${var.os}-${var.arch}"

  # Every build writes a folder of its own, so an existing one never stops
  # `packer validate` or a rebuild, and an earlier image is never overwritten.
  build_time = formatdate("YYYYMMDD'T'hhmmssZ", timestamp())

  # Packer logs in with this account, created by the cidata seed (qemu,
  # vSphere; the name is the seed's) or the template's cloud-init settings
  # (Proxmox). It exists only while the image is built: the last step deletes it.
  build_user = "packer"

  # The distributions' own cloud images, verified against their published checksum files.
  bases = {
    "ubuntu-24.04-amd64" = {
      url      = "https://cloud-images.ubuntu.com/releases/24.04/release/ubuntu-24.04-server-cloudimg-amd64.img"
      checksum = "file:https://cloud-images.ubuntu.com/releases/24.04/release/SHA256SUMS"
    }
    "ubuntu-24.04-arm64" = {
      url      = "https://cloud-images.ubuntu.com/releases/24.04/release/ubuntu-24.04-server-cloudimg-arm64.img"
      checksum = "file:https://cloud-images.ubuntu.com/releases/24.04/release/SHA256SUMS"
    }
    "debian-12-amd64" = {
      url      = "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2"
      checksum = "file:https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS"
    }
    "debian-12-arm64" = {
      url      = "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-arm64.qcow2"
      checksum = "file:https://cloud.debian.org/images/cloud/bookworm/latest/SHA512SUMS"
    }
    "rocky-9-amd64" = {
      url      = "https://dl.rockylinux.org/pub/rocky/9/images/x86_64/Rocky-9-GenericCloud-Base.latest.x86_64.qcow2"
      checksum = "file:https://dl.rockylinux.org/pub/rocky/9/images/x86_64/CHECKSUM"
    }
    "rocky-9-arm64" = {
      url      = "https://dl.rockylinux.org/pub/rocky/9/images/aarch64/Rocky-9-GenericCloud-Base.latest.aarch64.qcow2"
      checksum = "file:https://dl.rockylinux.org/pub/rocky/9/images/aarch64/CHECKSUM"
    }
    "alma-9-amd64" = {
      url      = "https://repo.almalinux.org/almalinux/9/cloud/x86_64/images/AlmaLinux-9-GenericCloud-latest.x86_64.qcow2"
      checksum = "file:https://repo.almalinux.org/almalinux/9/cloud/x86_64/images/CHECKSUM"
    }
    "alma-9-arm64" = {
      url      = "https://repo.almalinux.org/almalinux/9/cloud/aarch64/images/AlmaLinux-9-GenericCloud-latest.aarch64.qcow2"
      checksum = "file:https://repo.almalinux.org/almalinux/9/cloud/aarch64/images/CHECKSUM"
    }
  }
  base          = local.bases["${var.os}-${var.arch}"]
  base_url      = var.base_image_url != "" ? var.base_image_url : local.base.url
  base_checksum = var.base_image_checksum != "" ? var.base_image_checksum : local.base.checksum

  qemu_binary  = var.arch == "arm64" ? "qemu-system-aarch64" : "qemu-system-x86_64"
  machine_type = var.machine_type != "" ? var.machine_type : (var.arch == "arm64" ? "virt" : "pc")

  # Packer's default user-mode network forwards the build VM's SSH on every
  # interface of the build machine; this one only on loopback.
  qemu_netdev = "user,id=user.0,hostfwd=tcp:127.0.0.1:{{ .SSHHostPort }}-:22${var.qemu_net_options}"

  # The install script's input, one record a line (same format as the
  # generated manifest.txt, which the download mode uses).
  manifest = join("\n", concat(
    [for a in var.artifacts : "artifact ${a.name} ${a.version} ${a.format} ${a.algorithm} ${a.checksum} ${a.url}"],
    [for i in var.images : "image ${i.ref} ${i.archive_url == "" ? "-" : i.archive_url}"],
    [for p in var.packages : "package ${p}"]
  ))
  manifest_path = "/tmp/ha-k8s-seed-manifest"

  # Runs as root once provisioning is over: the build account goes, then the machine stops.
  shutdown_command = "sudo sh -c 'userdel --force --remove ${local.build_user}; rm -f /etc/sudoers.d/90-cloud-init-users; shutdown -P now'"
}
