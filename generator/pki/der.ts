/**
 * DER (X.690) for the few ASN.1 types a certificate is made of, written and
 * read directly as bytes. Issuing is the PKI's hot path (a kubelet
 * certificate per node, thousands in a large cluster, each read back on
 * every later run), and building the same structures as ASN.1 library
 * objects costs about a millisecond a certificate.
 */

/** One element: tag, definite length, contents. */
export function element(tag: number, ...contents: Uint8Array[]): Buffer {
  const length = contents.reduce((n, c) => n + c.length, 0);
  let header: number[];
  if (length < 0x80) header = [tag, length];
  else {
    const bytes: number[] = [];
    for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
    header = [tag, 0x80 | bytes.length, ...bytes];
  }
  return Buffer.concat([Buffer.from(header), ...contents], header.length + length);
}

export const sequence = (...contents: Uint8Array[]) => element(0x30, ...contents);
export const set = (...contents: Uint8Array[]) => element(0x31, ...contents);
export const octetString = (bytes: Uint8Array) => element(0x04, bytes);
export const utf8String = (text: string) => element(0x0c, Buffer.from(text, 'utf8'));
export const boolean = (value: boolean) => element(0x01, Buffer.from([value ? 0xff : 0x00]));
export const NULL = element(0x05);
/** [n] EXPLICIT: the element wrapped in a constructed context tag. */
export const explicit = (n: number, inner: Uint8Array) => element(0xa0 | n, inner);
/** [n] IMPLICIT of a primitive type: its contents under a context tag. */
export const implicit = (n: number, contents: Uint8Array) => element(0x80 | n, contents);

/** A non-negative INTEGER from its big-endian bytes: no leading zero octets but one that keeps it positive. */
export function unsignedInteger(bytes: Uint8Array): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0 && bytes[start + 1]! < 0x80) start++;
  const body = bytes.subarray(start);
  return element(0x02, ...(body[0]! >= 0x80 ? [Buffer.from([0]), body] : [body]));
}

export const smallInteger = (n: number) => unsignedInteger(Buffer.from([n]));

const oids = new Map<string, Buffer>();
/** An OBJECT IDENTIFIER from its dotted form (remembered: a run uses a few dozen). */
export function objectIdentifier(dotted: string): Buffer {
  let encoded = oids.get(dotted);
  if (!encoded) {
    const arcs = dotted.split('.').map(Number);
    const bytes: number[] = [];
    for (const arc of [arcs[0]! * 40 + arcs[1]!, ...arcs.slice(2)]) {
      const base128 = [arc & 0x7f];
      for (let n = Math.floor(arc / 128); n > 0; n = Math.floor(n / 128)) base128.unshift(0x80 | (n & 0x7f));
      bytes.push(...base128);
    }
    oids.set(dotted, encoded = element(0x06, Buffer.from(bytes)));
  }
  return encoded;
}

/** A BIT STRING of whole octets. */
export const bitString = (bytes: Uint8Array) => element(0x03, Buffer.from([0]), bytes);

/**
 * A named-bit BIT STRING (KeyUsage): bit 0 is the first octet's top bit, and
 * DER drops trailing zero bits, saying in the first octet how many of the
 * last octet's bits are unused.
 */
export function namedBits(flags: number): Buffer {
  if (flags === 0) return element(0x03, Buffer.from([0]));
  let highest = 0;
  for (let bit = 0; 1 << bit <= flags; bit++) if (flags & (1 << bit)) highest = bit;
  const octets = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (let bit = 0; bit <= highest; bit++) if (flags & (1 << bit)) octets[bit >> 3]! |= 0x80 >> (bit & 7);
  return element(0x03, Buffer.from([7 - (highest & 7)]), octets);
}

/** RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds, always Z. */
export function time(date: Date): Buffer {
  const iso = new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString(); // 2026-01-02T03:04:05.000Z
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return date.getUTCFullYear() <= 2049 ? element(0x17, Buffer.from(digits.slice(2), 'latin1')) : element(0x18, Buffer.from(digits, 'latin1'));
}

/** Where one element of `der` sits: its tag, where it begins (its tag's octet), and the start and end of its contents. */
export interface Located { tag: number; offset: number; start: number; end: number }

export function locate(der: Uint8Array, offset = 0): Located {
  const tag = der[offset]!;
  let length = der[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[start + i]!;
    start += count;
  }
  if (offset + 2 > der.length || start + length > der.length) throw new Error('DER element runs past its end');
  return { tag, offset, start, end: start + length };
}

/** An element's bytes, header included. */
export const bytesOf = (der: Buffer, at: Located) => der.subarray(at.offset, at.end);
/** An element's contents. */
export const contentsOf = (der: Buffer, at: Located) => der.subarray(at.start, at.end);

/** The dotted form of an OBJECT IDENTIFIER's contents. */
export function dottedOid(contents: Uint8Array): string {
  const arcs: number[] = [];
  let arc = 0;
  for (const byte of contents) {
    arc = arc * 128 + (byte & 0x7f);
    if (byte & 0x80) continue;
    if (arcs.length === 0) arcs.push(arc < 80 ? Math.floor(arc / 40) : 2, arc < 80 ? arc % 40 : arc - 80);
    else arcs.push(arc);
    arc = 0;
  }
  return arcs.join('.');
}

/** The text of a directory string (UTF8String, PrintableString, IA5String, TeletexString, BMPString, UniversalString). */
export function directoryString(der: Buffer, at: Located): string {
  const contents = Buffer.from(contentsOf(der, at));
  switch (at.tag) {
    case 0x1e: return contents.swap16().toString('utf16le');
    case 0x1c: return String.fromCodePoint(...Array.from({ length: contents.length / 4 }, (_, i) => contents.readUInt32BE(i * 4)));
    case 0x14: return contents.toString('latin1');
    default: return contents.toString('utf8');
  }
}

/** Named bits of a BIT STRING's contents (first octet: the unused bits) as flags, bit 0 the first bit. */
export function readNamedBits(contents: Uint8Array): number {
  let flags = 0;
  const bits = (contents.length - 1) * 8 - (contents[0] ?? 0);
  for (let bit = 0; bit < bits && bit < 31; bit++) if (contents[1 + (bit >> 3)]! & (0x80 >> (bit & 7))) flags |= 1 << bit;
  return flags;
}

/** The elements inside a constructed one. */
export function childrenOf(der: Uint8Array, parent: Located): Located[] {
  const out: Located[] = [];
  for (let offset = parent.start; offset < parent.end; offset = out.at(-1)!.end) out.push(locate(der, offset));
  return out;
}
