/**
 * Checks run on every key and certificate a run reuses, whatever the key
 * algorithm (RSA or EC): the private key is internally consistent, it is the
 * key of its certificate and makes signatures that certificate verifies, and
 * a certificate verifies against its issuer (or itself, for a CA).
 *
 * Each returns what is wrong in words, or undefined when all is well.
 */
import { X509Certificate, createECDH, createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';

const big = (b64url: string): bigint => BigInt(`0x${Buffer.from(b64url, 'base64url').toString('hex') || '0'}`);

/** RSA: n = p*q and the private exponents agree with e (a flipped byte anywhere breaks one of these). */
function rsaProblem(jwk: Record<string, string>): string | undefined {
  const [n, e, d, p, q, dp, dq, qi] = (['n', 'e', 'd', 'p', 'q', 'dp', 'dq', 'qi'] as const).map((k) => (jwk[k] === undefined ? undefined : big(jwk[k]!)));
  if (!n || !e || !d) return 'RSA key check failed: parts of the key are missing';
  if (!p || !q) return undefined; // a key without CRT parts: the signature test below still runs
  if (p * q !== n) return 'RSA key check failed: p*q does not equal n';
  if ((e * d) % (p - 1n) !== 1n || (e * d) % (q - 1n) !== 1n) return 'RSA key check failed: d is not the inverse of e';
  if ((dp !== undefined && dp !== d % (p - 1n)) || (dq !== undefined && dq !== d % (q - 1n))) return 'RSA key check failed: dmp1/dmq1 do not match d';
  if (qi !== undefined && (qi * q) % p !== 1n) return 'RSA key check failed: iqmp is not the inverse of q';
  return undefined;
}

const EC_CURVES: Record<string, string> = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' };

/** EC: the public point stored with the key is the private scalar times the generator. */
function ecProblem(jwk: Record<string, string>): string | undefined {
  const curve = EC_CURVES[jwk.crv ?? ''];
  if (!curve || !jwk.d || !jwk.x || !jwk.y) return `EC key check failed: unsupported curve or missing parts (${jwk.crv})`;
  const ecdh = createECDH(curve);
  ecdh.setPrivateKey(Buffer.from(jwk.d, 'base64url'));
  const derived = ecdh.getPublicKey();
  const stored = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
  return derived.equals(stored) ? undefined : 'EC key check failed: the public point does not match the private key';
}

const KEY_NOT_OF_CERTIFICATE = 'is not the key of its certificate';

/** privateKeyProblem()'s words for a key beside `certFile`, naming the certificate when the key is simply not its key. */
export function keyProblemWords(problem: string, certFile: string): string {
  return problem === KEY_NOT_OF_CERTIFICATE ? `does not match ${certFile}` : problem;
}

function signatureProblem(privateKey: KeyObject, publicKey: KeyObject): string | undefined {
  const message = randomBytes(32);
  const digest = privateKey.asymmetricKeyType === 'ed25519' || privateKey.asymmetricKeyType === 'ed448' ? null : 'sha256';
  return verify(digest, message, publicKey, sign(digest, message, privateKey)) ? undefined : 'a signature made with this key does not verify';
}

/**
 * What is wrong with a private key, checked against the public key it must
 * belong to (a certificate's, or for sa.key its own).
 */
export function privateKeyProblem(keyPem: string, certPem?: string): string | undefined {
  let key: KeyObject;
  try { key = createPrivateKey(keyPem); } catch (err) { return `not a private key (${(err as Error).message})`; }
  const jwk = key.export({ format: 'jwk' }) as Record<string, string>;
  const inner = key.asymmetricKeyType === 'rsa' ? rsaProblem(jwk) : key.asymmetricKeyType === 'ec' ? ecProblem(jwk) : undefined;
  if (inner) return inner;
  let publicKey = createPublicKey(key);
  if (certPem !== undefined) {
    const cert = new X509Certificate(certPem);
    if (!cert.checkPrivateKey(key)) return KEY_NOT_OF_CERTIFICATE;
    publicKey = cert.publicKey;
  }
  return signatureProblem(key, publicKey);
}

/** What is wrong with a certificate's signature by `issuerPem` (itself, for a self-signed CA). */
export function signatureByProblem(certPem: string, issuerPem: string = certPem): string | undefined {
  const cert = new X509Certificate(certPem);
  const issuer = new X509Certificate(issuerPem);
  const self = issuerPem === certPem;
  if (!cert.checkIssued(issuer)) return self ? 'is not self-issued' : `was not issued by ${issuer.subject.replace(/\n/g, ',')}`;
  return cert.verify(issuer.publicKey) ? undefined : (self ? 'its self-signature does not verify (the certificate is damaged)' : 'its signature does not verify against its CA (the certificate is damaged or from another CA)');
}
