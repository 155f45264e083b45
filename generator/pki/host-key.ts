/**
 * A private key as a host's seed carries it. An EC key in SEC 1 ("EC PRIVATE
 * KEY", RFC 5915) may carry its public point in the optional `[1] publicKey`
 * field; Node writes it, but it is the private scalar times the curve's
 * generator, so every reader derives it again: Go's crypto/x509
 * (ParseECPrivateKey, used by etcd, kube-apiserver and every other
 * Kubernetes binary) ignores the field and computes the point, and OpenSSL
 * computes it when the field is absent. Left out, a P-256 key is 51 bytes of
 * DER instead of 121: about 100 bytes of user-data less per key, and the
 * reference control plane holds fourteen.
 *
 * The state folder keeps Node's encoding (what `openssl` or an operator's own
 * tools read there is unchanged); only the copy in the seed is compact.
 * RSA keys (PKCS#1) pass through: every field of theirs is needed.
 */
import { childrenOf, locate, sequence } from './der.ts';

const EC_HEADER = '-----BEGIN EC PRIVATE KEY-----\n';
const EC_FOOTER = '-----END EC PRIVATE KEY-----\n';
/** `[1] publicKey`, the optional last field of ECPrivateKey. */
const PUBLIC_KEY_TAG = 0xa1;

function pem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g)!;
  return `${EC_HEADER}${lines.join('\n')}\n${EC_FOOTER}`;
}

const seedForms = new Map<string, string>();

/** `keyPem` without its derivable public point when it is a SEC 1 EC key; any other key unchanged. */
export function seedKeyPem(keyPem: string): string {
  if (!keyPem.startsWith(EC_HEADER)) return keyPem;
  let compact = seedForms.get(keyPem);
  if (compact === undefined) {
    const der = Buffer.from(keyPem.slice(EC_HEADER.length, keyPem.indexOf('-----END')), 'base64');
    const fields = childrenOf(der, locate(der));
    const kept = fields.filter((f) => f.tag !== PUBLIC_KEY_TAG);
    compact = kept.length === fields.length ? keyPem : pem(sequence(...kept.map((f) => der.subarray(f.offset, f.end))));
    // Per-host keys (a kubelet's, an etcd member's) are not worth keeping once the map is full.
    if (seedForms.size < 1024) seedForms.set(keyPem, compact);
  }
  return compact;
}
