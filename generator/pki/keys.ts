/**
 * RSA key pairs from the platform's native crypto. crypto.generateKeyPair runs
 * on libuv's thread pool, so the keys of a run are made in parallel on every
 * core instead of one after the other in JavaScript (node-forge's own
 * generator is pure JS and takes seconds per key).
 */
import { createPrivateKey, createPublicKey, generateKeyPair } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface KeyPairPem {
  /** PKCS#1 PEM ("RSA PRIVATE KEY"), as kubeadm writes it. */
  privateKeyPem: string;
  /** SubjectPublicKeyInfo PEM ("PUBLIC KEY"). */
  publicKeyPem: string;
}

export async function generateRsaKey(bits: number): Promise<KeyPairPem> {
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', {
    modulusLength: bits,
    publicExponent: 0x10001,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

/**
 * `count` keys, at most `parallelism` in flight at a time (one per core by
 * default). Node's thread pool has 4 threads unless UV_THREADPOOL_SIZE says
 * otherwise, which caps the parallelism on larger machines.
 */
export async function generateRsaKeys(count: number, bits: number, parallelism = availableParallelism()): Promise<KeyPairPem[]> {
  const keys: KeyPairPem[] = new Array(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      keys[i] = await generateRsaKey(bits);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallelism, count)) }, worker));
  return keys;
}

/** The public key of a private key, as SPKI PEM; throws when the PEM is not a private key. */
export function publicKeyOf(privateKeyPem: string): string {
  return createPublicKey(createPrivateKey(privateKeyPem)).export({ type: 'spki', format: 'pem' }).toString();
}

/** Modulus length of an RSA private key, or undefined for another kind of key. */
export function rsaKeyBits(privateKeyPem: string): number | undefined {
  const key = createPrivateKey(privateKeyPem);
  return key.asymmetricKeyType === 'rsa' ? key.asymmetricKeyDetails?.modulusLength : undefined;
}
