/**
 * The MAC every host's NIC gets when the spec gives none: derived from the
 * cluster and host names, so it is the same on every run and differs between
 * clusters that reuse host names.
 *
 * libvirt and Proxmox take any unicast MAC: a locally administered one (first
 * octet 0x02: bit 1 set, bit 0 clear) cannot collide with a vendor's. vCenter
 * accepts a manually set MAC only in VMware's own 00:50:56:00:00:00 to
 * 00:50:56:3f:ff:ff range, so on vsphere the hash fills that range instead.
 */
import { createHash } from 'node:crypto';
import type { PlatformType } from './types.ts';

const hex = (bytes: Iterable<number>) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');

export function derivedMac(cluster: string, host: string, platform: PlatformType): string {
  const h = createHash('sha256').update(`ha-k8s-seed\0${cluster}\0${host}`).digest();
  if (platform === 'vsphere') return hex([0x00, 0x50, 0x56, h[0]! & 0x3f, h[1]!, h[2]!]);
  return hex([0x02, h[0]!, h[1]!, h[2]!, h[3]!, h[4]!]);
}
