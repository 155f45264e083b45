/**
 * The IPv4 arithmetic the generator needs, on top of ip-address, so that the
 * rest of the code speaks in addresses and CIDRs rather than bit operations.
 */
import { Address4 } from 'ip-address';

export function isIPv4(text: string): boolean {
  return Address4.isValid(text) && !text.includes('/') && text.split('.').length === 4;
}

/** A CIDR in canonical form (network address, no host bits), or undefined if it is not one. */
export function parseCIDR(text: string): { network: string; prefixLength: number; hostBitsSet: boolean } | undefined {
  const match = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(text);
  if (!match || !isIPv4(match[1]!) || Number(match[2]) > 32) return undefined;
  const address = new Address4(text);
  const network = address.startAddress().correctForm();
  return { network, prefixLength: Number(match[2]), hostBitsSet: network !== match[1] };
}

/** The subnet an address sits in, as a CIDR: subnetOf('192.168.31.71', 24) = '192.168.31.0/24'. */
export function subnetOf(address: string, prefixLength: number): string {
  return `${new Address4(`${address}/${prefixLength}`).startAddress().correctForm()}/${prefixLength}`;
}

export function contains(cidr: string, address: string): boolean {
  return new Address4(address).isInSubnet(new Address4(cidr));
}

export function overlaps(a: string, b: string): boolean {
  const x = new Address4(a);
  const y = new Address4(b);
  return x.startAddress().isInSubnet(y) || y.startAddress().isInSubnet(x);
}

/** The n-th address of a CIDR, counting the network address as 0. */
export function nthAddress(cidr: string, n: number): string {
  const start = new Address4(cidr).startAddress().bigInt();
  return Address4.fromBigInt(start + BigInt(n)).correctForm();
}

/** Number of addresses in a CIDR. */
export function size(cidr: string): number {
  return 2 ** (32 - new Address4(cidr).subnetMask);
}

/** True for the network and broadcast addresses of a subnet shorter than /31. */
export function isNetworkOrBroadcast(address: string, prefixLength: number): boolean {
  if (prefixLength >= 31) return false;
  const subnet = new Address4(`${address}/${prefixLength}`);
  const a = subnet.correctForm();
  return a === subnet.startAddress().correctForm() || a === subnet.endAddress().correctForm();
}
