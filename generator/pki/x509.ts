/**
 * Certificates: issuing them with node-forge, and reading back what an
 * existing one says (subject, SANs, usages, issuer, key) so that a later run
 * can tell whether it still is the certificate the model asks for.
 */
import { X509Certificate, createPrivateKey, randomBytes } from 'node:crypto';
import forge from 'node-forge';
import type { LeafProfile } from './profiles.ts';

const { pki } = forge;
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

const CA_KEY_USAGE = ['digitalSignature', 'keyCertSign', 'keyEncipherment'];
const LEAF_KEY_USAGE = ['digitalSignature', 'keyEncipherment'];

export function caShape(cn: string): CertShape {
  return { cn, o: [], ca: true, keyUsage: CA_KEY_USAGE, extKeyUsage: [], dns: [], ips: [] };
}

export function leafShape(p: LeafProfile): CertShape {
  const extKeyUsage = [...(p.server ? ['serverAuth'] : []), ...(p.client ? ['clientAuth'] : [])];
  return { cn: p.cn, o: p.o, ca: false, keyUsage: LEAF_KEY_USAGE, extKeyUsage, dns: p.dns, ips: p.ips };
}

/** A positive 128-bit serial number (RFC 5280 allows 20 octets; the high bit stays clear). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

function subjectAttrs(shape: CertShape): forge.pki.CertificateField[] {
  return [...shape.o.map((value) => ({ shortName: 'O', value })), { shortName: 'CN', value: shape.cn }];
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

export function issueCertificate(req: IssueRequest): string {
  const cert = pki.createCertificate();
  cert.publicKey = pki.publicKeyFromPem(req.publicKeyPem);
  cert.serialNumber = serialNumber();
  const notBefore = new Date(Math.floor((req.now.getTime() - BACKDATE_MS) / 1000) * 1000);
  let notAfter = new Date(notBefore.getTime() + BACKDATE_MS + req.validityDays * DAY_MS);
  cert.setSubject(subjectAttrs(req.shape));

  let signingKeyPem: string;
  let authorityKeyId: string;
  if (req.issuer) {
    const caCert = pki.certificateFromPem(req.issuer.certPem);
    cert.setIssuer(caCert.subject.attributes);
    // A certificate never outlives its CA.
    if (notAfter > caCert.validity.notAfter) notAfter = caCert.validity.notAfter;
    authorityKeyId = caCert.generateSubjectKeyIdentifier().getBytes();
    signingKeyPem = req.issuer.keyPem;
  } else {
    cert.setIssuer(subjectAttrs(req.shape));
    authorityKeyId = cert.generateSubjectKeyIdentifier().getBytes();
    signingKeyPem = req.selfKeyPem!;
  }
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;

  const shape = req.shape;
  const extensions: object[] = [
    { name: 'basicConstraints', cA: shape.ca, critical: true },
    { name: 'keyUsage', critical: true, ...Object.fromEntries(shape.keyUsage.map((u) => [u, true])) },
  ];
  if (shape.extKeyUsage.length > 0) {
    extensions.push({ name: 'extKeyUsage', ...Object.fromEntries(shape.extKeyUsage.map((u) => [u, true])) });
  }
  if (shape.dns.length + shape.ips.length > 0) {
    extensions.push({
      name: 'subjectAltName',
      altNames: [...shape.dns.map((value) => ({ type: 2, value })), ...shape.ips.map((ip) => ({ type: 7, ip }))],
    });
  }
  extensions.push({ name: 'subjectKeyIdentifier' });
  // forge's `keyIdentifier: true` would take the subject's own key: give the issuer's explicitly.
  if (req.issuer) extensions.push({ name: 'authorityKeyIdentifier', keyIdentifier: authorityKeyId });
  cert.setExtensions(extensions);
  cert.sign(pki.privateKeyFromPem(signingKeyPem), forge.md.sha256.create());
  // node-forge ends PEM lines with CRLF; every tool on the hosts (and every other PEM here) uses LF.
  return pki.certificateToPem(cert).replace(/\r\n/g, '\n');
}

const KEY_USAGE_NAMES = ['digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyAgreement', 'keyCertSign', 'cRLSign', 'encipherOnly', 'decipherOnly'];
const EXT_KEY_USAGE_NAMES = ['serverAuth', 'clientAuth', 'codeSigning', 'emailProtection', 'timeStamping'];

interface ForgeExtension { [key: string]: unknown; altNames?: { type: number; value?: string; ip?: string }[] }

/** What an existing certificate says, in the terms of CertShape. Throws on a PEM that is not a certificate. */
export function readShape(certPem: string): CertShape {
  const cert = pki.certificateFromPem(certPem);
  const attr = (name: string) => cert.subject.attributes.filter((a) => a.shortName === name).map((a) => String(a.value));
  const ext = (name: string) => cert.getExtension(name) as ForgeExtension | undefined;
  const flags = (e: ForgeExtension | undefined, names: string[]) => names.filter((n) => e?.[n] === true).sort();
  const alt = ext('subjectAltName')?.altNames ?? [];
  return {
    cn: attr('CN')[0] ?? '',
    o: attr('O'),
    ca: ext('basicConstraints')?.cA === true,
    keyUsage: flags(ext('keyUsage'), KEY_USAGE_NAMES),
    extKeyUsage: flags(ext('extKeyUsage'), EXT_KEY_USAGE_NAMES),
    dns: alt.filter((a) => a.type === 2).map((a) => a.value!).sort(),
    ips: alt.filter((a) => a.type === 7).map((a) => a.ip!).sort(),
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

/** Whether `certPem` is signed by `caPem` (issuer name and signature). */
export function issuedBy(certPem: string, caPem: string): boolean {
  const cert = new X509Certificate(certPem);
  const ca = new X509Certificate(caPem);
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

/** Whether the private key belongs to the certificate. */
export function keyMatches(certPem: string, keyPem: string): boolean {
  return new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem));
}

export function notAfter(certPem: string): Date {
  return new Date(new X509Certificate(certPem).validTo);
}
