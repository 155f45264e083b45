/**
 * Certificates: issuing them, and reading back what an existing one says
 * (subject, SANs, usages, issuer, key) so that a later run can tell whether it
 * still is the certificate the model asks for.
 *
 * One code path for every key algorithm: @peculiar/asn1-x509 builds and
 * parses the DER structures (node-forge cannot read or build a certificate
 * with an ECDSA key), and Node's crypto signs the to-be-signed bytes natively,
 * whatever the CA's key is.
 */
import { X509Certificate, createHash, createPrivateKey, createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier, AttributeTypeAndValue, AttributeValue, AuthorityKeyIdentifier, BasicConstraints, Certificate,
  ExtendedKeyUsage, Extension, Extensions, GeneralName, KeyIdentifier, KeyUsage, KeyUsageFlags, Name,
  RelativeDistinguishedName, SubjectAlternativeName, SubjectKeyIdentifier, SubjectPublicKeyInfo, TBSCertificate, Validity,
  Version, id_ce_authorityKeyIdentifier, id_ce_basicConstraints, id_ce_extKeyUsage, id_ce_keyUsage,
  id_ce_subjectAltName, id_ce_subjectKeyIdentifier, id_kp_clientAuth, id_kp_codeSigning, id_kp_emailProtection,
  id_kp_serverAuth, id_kp_timeStamping,
} from '@peculiar/asn1-x509';
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
function serialNumber(): ArrayBuffer {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return toArrayBuffer(bytes);
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

const OID = {
  cn: '2.5.4.3',
  o: '2.5.4.10',
  sha256WithRSA: '1.2.840.113549.1.1.11',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  ecdsaWithSHA384: '1.2.840.10045.4.3.3',
} as const;

/** Organizations first, then the common name, one attribute per RDN (what kubeadm and openssl write). */
function subjectName(shape: Pick<CertShape, 'cn' | 'o'>): Name {
  const rdn = (type: string, value: string) =>
    new RelativeDistinguishedName([new AttributeTypeAndValue({ type, value: new AttributeValue({ utf8String: value }) })]);
  return new Name([...shape.o.map((o) => rdn(OID.o, o)), rdn(OID.cn, shape.cn)]);
}

/** How a key of this kind signs, and how the certificate names that signature. */
function signatureScheme(key: KeyObject): { digest: string; algorithm: AlgorithmIdentifier } {
  if (key.asymmetricKeyType === 'rsa') {
    // RFC 4055: sha256WithRSAEncryption carries an explicit NULL.
    return { digest: 'sha256', algorithm: new AlgorithmIdentifier({ algorithm: OID.sha256WithRSA, parameters: null }) };
  }
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    // RFC 5758: the ECDSA signature algorithms have no parameters at all.
    if (curve === 'prime256v1') return { digest: 'sha256', algorithm: new AlgorithmIdentifier({ algorithm: OID.ecdsaWithSHA256 }) };
    if (curve === 'secp384r1') return { digest: 'sha384', algorithm: new AlgorithmIdentifier({ algorithm: OID.ecdsaWithSHA384 }) };
  }
  throw new Error(`cannot sign with a ${key.asymmetricKeyType} key${key.asymmetricKeyDetails?.namedCurve ? ` on ${key.asymmetricKeyDetails.namedCurve}` : ''}: use an RSA or ECDSA P-256 key`);
}

/** RFC 5280 4.2.1.2, method 1: SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(spki: SubjectPublicKeyInfo): ArrayBuffer {
  return toArrayBuffer(createHash('sha1').update(new Uint8Array(spki.subjectPublicKey)).digest());
}

function extension(extnID: string, value: unknown, critical = false): Extension {
  return new Extension({ extnID, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
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

/** A CA signs many certificates in one run (a kubelet's per node): its key and certificate are parsed once. */
const signingKeys = new Map<string, KeyObject>();
const issuerCerts = new Map<string, Certificate>();
function remembered<T>(cache: Map<string, T>, pem: string, make: () => T): T {
  let value = cache.get(pem);
  if (value === undefined) {
    if (cache.size >= 16) cache.clear();
    cache.set(pem, value = make());
  }
  return value;
}

export function issueCertificate(req: IssueRequest): string {
  const spki = AsnConvert.parse(createPublicKey(req.publicKeyPem).export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo);
  const signingKeyPem = req.issuer ? req.issuer.keyPem : req.selfKeyPem!;
  const signingKey = remembered(signingKeys, signingKeyPem, () => createPrivateKey(signingKeyPem));
  const scheme = signatureScheme(signingKey);
  const shape = req.shape;
  const subject = subjectName(shape);

  const notBefore = new Date(Math.floor((req.now.getTime() - BACKDATE_MS) / 1000) * 1000);
  let notAfter = new Date(notBefore.getTime() + BACKDATE_MS + req.validityDays * DAY_MS);
  let issuer = subject;
  let authorityKeyId: ArrayBuffer | undefined;
  if (req.issuer) {
    const caPem = req.issuer.certPem;
    const ca = remembered(issuerCerts, caPem, () => parseCertificate(caPem));
    // The issuer's subject exactly as the CA encodes it: chain building compares the bytes.
    issuer = ca.tbsCertificate.subject;
    // A certificate never outlives its CA.
    const caEnd = ca.tbsCertificate.validity.notAfter.getTime();
    if (notAfter > caEnd) notAfter = caEnd;
    const caKeyId = findExtension(ca, id_ce_subjectKeyIdentifier);
    authorityKeyId = caKeyId
      ? AsnConvert.parse(caKeyId.extnValue, SubjectKeyIdentifier).buffer
      : keyIdentifier(ca.tbsCertificate.subjectPublicKeyInfo);
  }

  const extensions = [
    extension(id_ce_basicConstraints, new BasicConstraints({ cA: shape.ca }), true),
    extension(id_ce_keyUsage, new KeyUsage(shape.keyUsage.reduce((flags, u) => flags | KEY_USAGE_FLAGS[u]!, 0)), true),
  ];
  if (shape.extKeyUsage.length > 0) {
    extensions.push(extension(id_ce_extKeyUsage, new ExtendedKeyUsage(shape.extKeyUsage.map((u) => EXT_KEY_USAGE_OIDS[u]!))));
  }
  if (shape.dns.length + shape.ips.length > 0) {
    extensions.push(extension(id_ce_subjectAltName, new SubjectAlternativeName([
      ...shape.dns.map((dNSName) => new GeneralName({ dNSName })),
      ...shape.ips.map((iPAddress) => new GeneralName({ iPAddress })),
    ])));
  }
  extensions.push(extension(id_ce_subjectKeyIdentifier, new SubjectKeyIdentifier(keyIdentifier(spki))));
  if (authorityKeyId) {
    extensions.push(extension(id_ce_authorityKeyIdentifier, new AuthorityKeyIdentifier({ keyIdentifier: new KeyIdentifier(authorityKeyId) })));
  }

  const tbsCertificate = new TBSCertificate({
    version: Version.v3,
    serialNumber: serialNumber(),
    signature: scheme.algorithm,
    issuer,
    validity: new Validity({ notBefore, notAfter }),
    subject,
    subjectPublicKeyInfo: spki,
    extensions: new Extensions(extensions),
  });
  const tbs = AsnConvert.serialize(tbsCertificate);
  const signature = sign(scheme.digest, new Uint8Array(tbs), signingKey);
  const der = AsnConvert.serialize(new Certificate({ tbsCertificate, signatureAlgorithm: scheme.algorithm, signatureValue: toArrayBuffer(signature) }));
  const base64 = Buffer.from(der).toString('base64').replace(/.{1,64}/g, '$&\n');
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

/** Days from `now` to a certificate's end, with fractions; 0 or less once it has ended. */
export function daysLeft(certPem: string, now: Date): number {
  return (notAfter(certPem).getTime() - now.getTime()) / DAY_MS;
}
