/**
 * Certificates: issuing them, and reading back what an existing one says
 * (subject, SANs, usages, issuer, key) so that a later run can tell whether it
 * still is the certificate the model asks for.
 *
 * One code path for every key algorithm: a certificate is written as DER
 * directly (der.ts: issuing is the PKI's hot path, one kubelet certificate
 * per node) and signed by Node's crypto natively, whatever the CA's key is;
 * @peculiar/asn1-x509 parses existing certificates (node-forge cannot read
 * or build a certificate with an ECDSA key).
 */
import { X509Certificate, createHash, createPrivateKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  BasicConstraints, Certificate, ExtendedKeyUsage, Extension, KeyUsage, KeyUsageFlags, SubjectAlternativeName,
  SubjectKeyIdentifier, id_ce_authorityKeyIdentifier, id_ce_basicConstraints, id_ce_extKeyUsage, id_ce_keyUsage,
  id_ce_subjectAltName, id_ce_subjectKeyIdentifier, id_kp_clientAuth, id_kp_codeSigning, id_kp_emailProtection,
  id_kp_serverAuth, id_kp_timeStamping,
} from '@peculiar/asn1-x509';
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

const KEY_USAGE_FLAGS: Record<string, number> = {
  digitalSignature: KeyUsageFlags.digitalSignature,
  nonRepudiation: KeyUsageFlags.nonRepudiation,
  keyEncipherment: KeyUsageFlags.keyEncipherment,
  dataEncipherment: KeyUsageFlags.dataEncipherment,
  keyAgreement: KeyUsageFlags.keyAgreement,
  keyCertSign: KeyUsageFlags.keyCertSign,
  cRLSign: KeyUsageFlags.cRLSign,
  encipherOnly: KeyUsageFlags.encipherOnly,
  decipherOnly: KeyUsageFlags.decipherOnly,
};
const EXT_KEY_USAGE_OIDS: Record<string, string> = {
  serverAuth: id_kp_serverAuth,
  clientAuth: id_kp_clientAuth,
  codeSigning: id_kp_codeSigning,
  emailProtection: id_kp_emailProtection,
  timeStamping: id_kp_timeStamping,
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

function parseCertificate(certPem: string): Certificate {
  return AsnConvert.parse(new X509Certificate(certPem).raw, Certificate);
}

function findExtension(cert: Certificate, oid: string): Extension | undefined {
  return cert.tbsCertificate.extensions?.find((e) => e.extnID === oid);
}

/** What a certificate signed by a CA takes from it: its subject's exact bytes, its end, its key identifier. */
interface IssuerFacts { subject: Buffer; notAfter: number; keyId: Buffer }

function issuerFacts(caPem: string): IssuerFacts {
  const ca = parseCertificate(caPem);
  const caKeyId = findExtension(ca, id_ce_subjectKeyIdentifier);
  return {
    // The issuer's subject exactly as the CA encodes it: chain building compares the bytes.
    subject: Buffer.from(AsnConvert.serialize(ca.tbsCertificate.subject)),
    notAfter: ca.tbsCertificate.validity.notAfter.getTime().getTime(),
    keyId: caKeyId
      ? Buffer.from(AsnConvert.parse(caKeyId.extnValue, SubjectKeyIdentifier).buffer)
      : keyIdentifier(new Uint8Array(ca.tbsCertificate.subjectPublicKeyInfo.subjectPublicKey)),
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
    extension(id_ce_basicConstraints, der.sequence(...(shape.ca ? [der.boolean(true)] : [])), true),
    extension(id_ce_keyUsage, der.namedBits(keyUsage), true),
  ];
  if (shape.extKeyUsage.length > 0) {
    extensions.push(extension(id_ce_extKeyUsage, der.sequence(...shape.extKeyUsage.map((u) => der.objectIdentifier(EXT_KEY_USAGE_OIDS[u]!)))));
  }
  if (shape.dns.length + shape.ips.length > 0) {
    // GeneralName: dNSName [2] IA5String, iPAddress [7] OCTET STRING, both IMPLICIT.
    extensions.push(extension(id_ce_subjectAltName, der.sequence(
      ...shape.dns.map((name) => der.implicit(2, Buffer.from(name, 'latin1'))),
      ...shape.ips.map((ip) => der.implicit(7, ipv4Octets(ip))),
    )));
  }
  extensions.push(extension(id_ce_subjectKeyIdentifier, der.octetString(keyIdentifier(subjectPublicKey))));
  if (authorityKeyId) {
    // AuthorityKeyIdentifier: keyIdentifier [0] IMPLICIT OCTET STRING.
    extensions.push(extension(id_ce_authorityKeyIdentifier, der.sequence(der.implicit(0, authorityKeyId))));
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
  const attributes = (oid: string) => cert.tbsCertificate.subject
    .flatMap((rdn) => [...rdn])
    .filter((a) => a.type === oid)
    .map((a) => a.value.toString());
  const read = <T>(oid: string, type: new () => T): T | undefined => {
    const e = findExtension(cert, oid);
    return e ? AsnConvert.parse(e.extnValue, type) : undefined;
  };
  const usage = read(id_ce_keyUsage, KeyUsage)?.toNumber() ?? 0;
  const extUsage = new Set<string>(read(id_ce_extKeyUsage, ExtendedKeyUsage) ?? []);
  const alt = read(id_ce_subjectAltName, SubjectAlternativeName) ?? [];
  return {
    cn: attributes(OID.cn)[0] ?? '',
    o: attributes(OID.o),
    ca: read(id_ce_basicConstraints, BasicConstraints)?.cA === true,
    keyUsage: Object.keys(KEY_USAGE_FLAGS).filter((n) => usage & KEY_USAGE_FLAGS[n]!).sort(),
    extKeyUsage: Object.keys(EXT_KEY_USAGE_OIDS).filter((n) => extUsage.has(EXT_KEY_USAGE_OIDS[n]!)).sort(),
    dns: alt.flatMap((a) => (a.dNSName !== undefined ? [a.dNSName] : [])).sort(),
    ips: alt.flatMap((a) => (a.iPAddress !== undefined ? [a.iPAddress] : [])).sort(),
  };
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
