/**
 * Certificates: issuing them, and reading back what an existing one says
 * (subject, SANs, usages, issuer, key) so that a later run can tell whether it
 * still is the certificate the model asks for.
 *
 * One code path for every key algorithm: a certificate is written and read
 * as DER directly (der.ts: a kubelet certificate per node is issued, and
 * read back on every later run, so building ASN.1 objects for each costs
 * seconds in a large cluster), and Node's crypto signs the to-be-signed bytes
 * natively and checks what it reads is a certificate, whatever the key.
 */
import { X509Certificate, createHash, createPrivateKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import * as der from './der.ts';
import type { LeafProfile } from './profiles.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Certificates are valid from a little before they are made: clocks of fresh VMs drift. */
const BACKDATE_MS = 60 * 60 * 1000;

/** What a certificate must say, in a form two certificates can be compared by. */
export interface CertShape {
  cn: string;
  o: string[];
  ca: boolean;
  keyUsage: string[];
  extKeyUsage: string[];
  dns: string[];
  ips: string[];
}

/** The kind of key a certificate certifies: its key usages depend on it. */
export type KeyFamily = 'rsa' | 'ec';

/**
 * keyEncipherment is for RSA key transport only; RFC 5480 does not allow it
 * with an EC key (OpenSSL and Go ignore it there, strict verifiers refuse it).
 */
function keyUsage(family: KeyFamily, ...usages: string[]): string[] {
  return family === 'rsa' ? [...usages, 'keyEncipherment'] : usages;
}

export function caShape(cn: string, family: KeyFamily): CertShape {
  return { cn, o: [], ca: true, keyUsage: keyUsage(family, 'digitalSignature', 'keyCertSign'), extKeyUsage: [], dns: [], ips: [] };
}

export function leafShape(p: LeafProfile, family: KeyFamily): CertShape {
  const extKeyUsage = [...(p.server ? ['serverAuth'] : []), ...(p.client ? ['clientAuth'] : [])];
  return { cn: p.cn, o: p.o, ca: false, keyUsage: keyUsage(family, 'digitalSignature'), extKeyUsage, dns: p.dns, ips: p.ips };
}

/** A positive 128-bit serial number (RFC 5280 allows 20 octets; the high bit stays clear). */
function serialNumber(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes;
}

const OID = {
  cn: '2.5.4.3',
  o: '2.5.4.10',
  sha256WithRSA: '1.2.840.113549.1.1.11',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  ecdsaWithSHA384: '1.2.840.10045.4.3.3',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
} as const;

/** Organizations first, then the common name, one attribute per RDN (what kubeadm and openssl write). */
function subjectName(shape: Pick<CertShape, 'cn' | 'o'>): Buffer {
  const rdn = (type: string, value: string) => der.set(der.sequence(der.objectIdentifier(type), der.utf8String(value)));
  return der.sequence(...shape.o.map((o) => rdn(OID.o, o)), rdn(OID.cn, shape.cn));
}

/** How a key of this kind signs, and how the certificate names that signature (its AlgorithmIdentifier). */
function signatureScheme(key: KeyObject): { digest: string; algorithm: Buffer } {
  if (key.asymmetricKeyType === 'rsa') {
    // RFC 4055: sha256WithRSAEncryption carries an explicit NULL.
    return { digest: 'sha256', algorithm: der.sequence(der.objectIdentifier(OID.sha256WithRSA), der.NULL) };
  }
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    // RFC 5758: the ECDSA signature algorithms have no parameters at all.
    if (curve === 'prime256v1') return { digest: 'sha256', algorithm: der.sequence(der.objectIdentifier(OID.ecdsaWithSHA256)) };
    if (curve === 'secp384r1') return { digest: 'sha384', algorithm: der.sequence(der.objectIdentifier(OID.ecdsaWithSHA384)) };
  }
  throw new Error(`cannot sign with a ${key.asymmetricKeyType} key${key.asymmetricKeyDetails?.namedCurve ? ` on ${key.asymmetricKeyDetails.namedCurve}` : ''}: use an RSA or ECDSA P-256 key`);
}

/** RFC 5280 4.2.1.2, method 1: SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(subjectPublicKey: Uint8Array): Buffer {
  return createHash('sha1').update(subjectPublicKey).digest();
}

/** The DER of a "PUBLIC KEY" PEM (SubjectPublicKeyInfo), and its subjectPublicKey bits (the BIT STRING's, past its unused-bits octet). */
function subjectPublicKeyInfo(publicKeyPem: string): { spki: Buffer; subjectPublicKey: Buffer } {
  const match = /-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----/.exec(publicKeyPem);
  if (!match) throw new Error('not a PUBLIC KEY PEM (SubjectPublicKeyInfo)');
  const spki = Buffer.from(match[1]!, 'base64');
  const [algorithm, bits] = der.childrenOf(spki, der.locate(spki));
  if (algorithm?.tag !== 0x30 || bits?.tag !== 0x03) throw new Error('not a SubjectPublicKeyInfo');
  return { spki, subjectPublicKey: spki.subarray(bits.start + 1, bits.end) };
}

function extension(extnID: string, value: Buffer, critical = false): Buffer {
  // DER leaves out a BOOLEAN at its DEFAULT FALSE.
  return der.sequence(der.objectIdentifier(extnID), ...(critical ? [der.boolean(true)] : []), der.octetString(value));
}

/** RFC 5280 4.2.1.3: KeyUsage's named bits, as flags (bit n is 1 << n). */
const KEY_USAGE_FLAGS: Record<string, number> = {
  digitalSignature: 1 << 0,
  nonRepudiation: 1 << 1,
  keyEncipherment: 1 << 2,
  dataEncipherment: 1 << 3,
  keyAgreement: 1 << 4,
  keyCertSign: 1 << 5,
  cRLSign: 1 << 6,
  encipherOnly: 1 << 7,
  decipherOnly: 1 << 8,
};
/** RFC 5280 4.2.1.12: id-kp-*. */
const EXT_KEY_USAGE_OIDS: Record<string, string> = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  codeSigning: '1.3.6.1.5.5.7.3.3',
  emailProtection: '1.3.6.1.5.5.7.3.4',
  timeStamping: '1.3.6.1.5.5.7.3.8',
};

/** An IPv4 address as the four octets of a SAN's iPAddress (the model is IPv4 only). */
function ipv4Octets(ip: string): Buffer {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`not an IPv4 address: ${ip}`);
  return Buffer.from(parts);
}

export interface IssueRequest {
  shape: CertShape;
  publicKeyPem: string;
  validityDays: number;
  now: Date;
  /** Absent for a self-signed CA. */
  issuer?: { certPem: string; keyPem: string };
  /** Self-signed: the CA's own private key. */
  selfKeyPem?: string;
}

/** The parts of a certificate this module reads, located in its DER. */
interface ParsedCertificate {
  der: Buffer;
  subject: der.Located;
  subjectPublicKey: Buffer;
  /** extnValue's contents, by extension OID. */
  extensions: Map<string, Buffer>;
}

/** Throws on a PEM that is not a certificate (Node's X509Certificate reads it first). */
function parseCertificate(certPem: string): ParsedCertificate {
  const raw = new X509Certificate(certPem).raw;
  const [tbs] = der.childrenOf(raw, der.locate(raw));
  const fields = der.childrenOf(raw, tbs!);
  // version [0] is optional; then serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo.
  const [, , , , subject, spki, ...optional] = fields[0]!.tag === 0xa0 ? fields.slice(1) : fields;
  const [, bits] = der.childrenOf(raw, spki!);
  const extensions = new Map<string, Buffer>();
  const list = optional.find((f) => f.tag === 0xa3);
  if (list) {
    for (const e of der.childrenOf(raw, der.childrenOf(raw, list)[0]!)) {
      const parts = der.childrenOf(raw, e);
      extensions.set(der.dottedOid(der.contentsOf(raw, parts[0]!)), der.contentsOf(raw, parts.at(-1)!));
    }
  }
  return { der: raw, subject: subject!, subjectPublicKey: raw.subarray(bits!.start + 1, bits!.end), extensions };
}

/** The elements inside one extension's value (a SEQUENCE), with the bytes they sit in. */
function extensionItems(cert: ParsedCertificate, oid: string): { bytes: Buffer; items: der.Located[] } | undefined {
  const bytes = cert.extensions.get(oid);
  return bytes ? { bytes, items: der.childrenOf(bytes, der.locate(bytes)) } : undefined;
}

/** What a certificate signed by a CA takes from it: its subject's exact bytes, its end, its key identifier. */
interface IssuerFacts { subject: Buffer; notAfter: number; keyId: Buffer }

function issuerFacts(caPem: string): IssuerFacts {
  const ca = parseCertificate(caPem);
  const keyId = ca.extensions.get(OID.subjectKeyIdentifier);
  return {
    // The issuer's subject exactly as the CA encodes it: chain building compares the bytes.
    subject: Buffer.from(der.bytesOf(ca.der, ca.subject)),
    notAfter: notAfter(caPem).getTime(),
    keyId: keyId ? Buffer.from(der.contentsOf(keyId, der.locate(keyId))) : keyIdentifier(ca.subjectPublicKey),
  };
}

/** A CA signs many certificates in one run (a kubelet's per node): its key and certificate are parsed once. */
const signingKeys = new Map<string, KeyObject>();
const issuers = new Map<string, IssuerFacts>();
function remembered<T>(cache: Map<string, T>, pem: string, make: () => T): T {
  let value = cache.get(pem);
  if (value === undefined) {
    if (cache.size >= 16) cache.clear();
    cache.set(pem, value = make());
  }
  return value;
}

export function issueCertificate(req: IssueRequest): string {
  const { spki, subjectPublicKey } = subjectPublicKeyInfo(req.publicKeyPem);
  const signingKeyPem = req.issuer ? req.issuer.keyPem : req.selfKeyPem!;
  const signingKey = remembered(signingKeys, signingKeyPem, () => createPrivateKey(signingKeyPem));
  const scheme = signatureScheme(signingKey);
  const shape = req.shape;
  const subject = subjectName(shape);

  const notBefore = new Date(Math.floor((req.now.getTime() - BACKDATE_MS) / 1000) * 1000);
  let notAfter = new Date(notBefore.getTime() + BACKDATE_MS + req.validityDays * DAY_MS);
  let issuer = subject;
  let authorityKeyId: Buffer | undefined;
  if (req.issuer) {
    const ca = remembered(issuers, req.issuer.certPem, () => issuerFacts(req.issuer!.certPem));
    issuer = ca.subject;
    // A certificate never outlives its CA.
    if (notAfter.getTime() > ca.notAfter) notAfter = new Date(ca.notAfter);
    authorityKeyId = ca.keyId;
  }

  const keyUsage = shape.keyUsage.reduce((flags, u) => flags | KEY_USAGE_FLAGS[u]!, 0);
  const extensions = [
    extension(OID.basicConstraints, der.sequence(...(shape.ca ? [der.boolean(true)] : [])), true),
    extension(OID.keyUsage, der.namedBits(keyUsage), true),
  ];
  if (shape.extKeyUsage.length > 0) {
    extensions.push(extension(OID.extKeyUsage, der.sequence(...shape.extKeyUsage.map((u) => der.objectIdentifier(EXT_KEY_USAGE_OIDS[u]!)))));
  }
  if (shape.dns.length + shape.ips.length > 0) {
    // GeneralName: dNSName [2] IA5String, iPAddress [7] OCTET STRING, both IMPLICIT.
    extensions.push(extension(OID.subjectAltName, der.sequence(
      ...shape.dns.map((name) => der.implicit(2, Buffer.from(name, 'latin1'))),
      ...shape.ips.map((ip) => der.implicit(7, ipv4Octets(ip))),
    )));
  }
  extensions.push(extension(OID.subjectKeyIdentifier, der.octetString(keyIdentifier(subjectPublicKey))));
  if (authorityKeyId) {
    // AuthorityKeyIdentifier: keyIdentifier [0] IMPLICIT OCTET STRING.
    extensions.push(extension(OID.authorityKeyIdentifier, der.sequence(der.implicit(0, authorityKeyId))));
  }

  const tbs = der.sequence(
    der.explicit(0, der.smallInteger(2)), // v3
    der.unsignedInteger(serialNumber()),
    scheme.algorithm,
    issuer,
    der.sequence(der.time(notBefore), der.time(notAfter)),
    subject,
    spki,
    der.explicit(3, der.sequence(...extensions)),
  );
  const signature = sign(scheme.digest, tbs, signingKey);
  const certificate = der.sequence(tbs, scheme.algorithm, der.bitString(signature));
  const base64 = certificate.toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${base64}-----END CERTIFICATE-----\n`;
}

/** What an existing certificate says, in the terms of CertShape. Throws on a PEM that is not a certificate. */
export function readShape(certPem: string): CertShape {
  const cert = parseCertificate(certPem);
  const raw = cert.der;
  const attributes = (oid: string) => der.childrenOf(raw, cert.subject)
    .flatMap((rdn) => der.childrenOf(raw, rdn))
    .map((atv) => der.childrenOf(raw, atv))
    .filter(([type]) => der.dottedOid(der.contentsOf(raw, type!)) === oid)
    .map(([, value]) => der.directoryString(raw, value!));
  const keyUsage = cert.extensions.get(OID.keyUsage);
  const usage = keyUsage ? der.readNamedBits(der.contentsOf(keyUsage, der.locate(keyUsage))) : 0;
  const ext = extensionItems(cert, OID.extKeyUsage);
  const extUsage = new Set(ext?.items.map((o) => der.dottedOid(der.contentsOf(ext.bytes, o))) ?? []);
  const basic = extensionItems(cert, OID.basicConstraints);
  const cA = basic?.items[0]?.tag === 0x01 && basic.bytes[basic.items[0].start] !== 0;
  // GeneralName: dNSName [2] and iPAddress [7]; other kinds of name are not the PKI's.
  const alt = extensionItems(cert, OID.subjectAltName);
  const names = (tag: number) => alt?.items.filter((n) => n.tag === tag).map((n) => der.contentsOf(alt.bytes, n)) ?? [];
  return {
    cn: attributes(OID.cn)[0] ?? '',
    o: attributes(OID.o),
    ca: cA,
    keyUsage: Object.keys(KEY_USAGE_FLAGS).filter((n) => usage & KEY_USAGE_FLAGS[n]!).sort(),
    extKeyUsage: Object.keys(EXT_KEY_USAGE_OIDS).filter((n) => extUsage.has(EXT_KEY_USAGE_OIDS[n]!)).sort(),
    dns: names(0x82).map((n) => Buffer.from(n).toString('latin1')).sort(),
    ips: names(0x87).map(ipText).sort(),
  };
}

/** A SAN's iPAddress octets as text: dotted IPv4, or IPv6 in groups with the longest run of zero groups as `::`. */
function ipText(octets: Uint8Array): string {
  if (octets.length === 4) return Array.from(octets).join('.');
  const groups = Array.from({ length: octets.length / 2 }, (_, i) => ((octets[2 * i]! << 8) | octets[2 * i + 1]!).toString(16));
  let best = { at: -1, length: 1 };
  for (let i = 0; i < groups.length; i++) {
    let j = i;
    while (groups[j] === '0') j++;
    if (j - i > best.length) best = { at: i, length: j - i };
  }
  if (best.at < 0) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.length).join(':')}`;
}

/** How `have` differs from `want`, in words; empty when they agree. */
export function shapeDifferences(want: CertShape, have: CertShape): string[] {
  const out: string[] = [];
  const list = (a: readonly string[]) => a.join(',');
  if (want.cn !== have.cn || list(want.o) !== list(have.o)) {
    out.push(`subject ${describeSubject(have)} -> ${describeSubject(want)}`);
  }
  const sans = (s: CertShape) => [...s.dns.map((d) => `DNS:${d}`), ...s.ips.map((i) => `IP:${i}`)];
  const before = new Set(sans(have));
  const after = new Set(sans(want));
  const added = [...after].filter((s) => !before.has(s));
  const removed = [...before].filter((s) => !after.has(s));
  if (added.length + removed.length > 0) {
    out.push(`SANs ${[...added.map((s) => `+${s}`), ...removed.map((s) => `-${s}`)].join(' ')}`);
  }
  if (want.ca !== have.ca || list([...want.keyUsage].sort()) !== list(have.keyUsage) || list([...want.extKeyUsage].sort()) !== list(have.extKeyUsage)) {
    out.push('key usages');
  }
  return out;
}

function describeSubject(s: CertShape): string {
  return [...s.o.map((o) => `O=${o}`), `CN=${s.cn}`].join(',');
}

export function notAfter(certPem: string): Date {
  return new Date(new X509Certificate(certPem).validTo);
}

/** Days from `now` to a certificate's end, with fractions; 0 or less once it has ended. */
export function daysLeft(certPem: string, now: Date): number {
  return (notAfter(certPem).getTime() - now.getTime()) / DAY_MS;
}
