/**
 * Key pairs from the platform's native crypto, for every algorithm the spec
 * can name. crypto.generateKeyPair runs on libuv's thread pool, so the keys of
 * a run are made in parallel on every core instead of one after the other in
 * JavaScript (node-forge's own generator is pure JS and takes seconds per RSA key).
 */
import { createPrivateKey, createPublicKey, generateKeyPair } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import { KEY_ALGORITHMS, type KeyAlgorithm } from '../model/types.ts';
import type { KeyFamily } from './x509.ts';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface KeyPairPem {
  /** kubeadm's encodings: PKCS#1 ("RSA PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY"). */
  privateKeyPem: string;
  /** SubjectPublicKeyInfo PEM ("PUBLIC KEY"). */
  publicKeyPem: string;
}

export function keyFamily(algorithm: KeyAlgorithm): KeyFamily {
  return algorithm.startsWith('rsa-') ? 'rsa' : 'ec';
}

export async function generateKey(algorithm: KeyAlgorithm): Promise<KeyPairPem> {
  const publicKeyEncoding = { type: 'spki', format: 'pem' } as const;
  const { privateKey, publicKey } = keyFamily(algorithm) === 'rsa'
    ? await generateKeyPairAsync('rsa', {
      modulusLength: Number(algorithm.slice('rsa-'.length)),
      publicExponent: 0x10001,
      publicKeyEncoding,
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    })
    : await generateKeyPairAsync('ec', {
      namedCurve: 'prime256v1',
      publicKeyEncoding,
      privateKeyEncoding: { type: 'sec1', format: 'pem' },
    });
  publicKeys.set(privateKey, publicKey);
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}

/**
 * The public half of every key this process made, by its private PEM:
 * deriving it again from the PEM (OpenSSL's decoders, then an export) costs
 * more than making an EC key, once per certificate issued.
 */
const publicKeys = new Map<string, string>();

/**
 * `count` keys, at most `parallelism` in flight at a time (one per core by
 * default). Node's thread pool has 4 threads unless UV_THREADPOOL_SIZE says
 * otherwise, which caps the parallelism on larger machines.
 */
export async function generateKeys(count: number, algorithm: KeyAlgorithm, parallelism = availableParallelism()): Promise<KeyPairPem[]> {
  const keys: KeyPairPem[] = new Array(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      keys[i] = await generateKey(algorithm);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallelism, count)) }, worker));
  return keys;
}

/** The public key of a private key, as SPKI PEM; throws when the PEM is not a private key. */
export function publicKeyOf(privateKeyPem: string): string {
  return publicKeys.get(privateKeyPem) ?? createPublicKey(createPrivateKey(privateKeyPem)).export({ type: 'spki', format: 'pem' }).toString();
}

/** Which of the spec's algorithms a private key is, or undefined for any other kind of key. Throws when the PEM is not a private key. */
export function keyAlgorithmOf(privateKeyPem: string): KeyAlgorithm | undefined {
  const key = createPrivateKey(privateKeyPem);
  const details = key.asymmetricKeyDetails;
  const name = key.asymmetricKeyType === 'rsa' ? `rsa-${details?.modulusLength}`
    : key.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1' ? 'ecdsa-p256' : undefined;
  return (KEY_ALGORITHMS as readonly string[]).includes(name ?? '') ? name as KeyAlgorithm : undefined;
}

/** A private key a run needs: `kept`, an existing key that still fits, or else a new one of `algorithm`. */
export interface KeyNeed {
  readonly algorithm: KeyAlgorithm;
  readonly kept?: string;
}

/** The private key PEM of a need given to provideKeys(). */
export type KeyOf = (need: KeyNeed) => string;

/**
 * The key of every need: kept ones as they are, the others made all at once,
 * one parallel batch per algorithm (in the order the needs first name them):
 * key generation is most of a new cluster's run time.
 */
export async function provideKeys(needs: readonly KeyNeed[], parallelism?: number): Promise<KeyOf> {
  const made = new Map<KeyNeed, string>();
  for (const algorithm of new Set(needs.map((n) => n.algorithm))) {
    const missing = needs.filter((n) => n.algorithm === algorithm && n.kept === undefined);
    const keys = await generateKeys(missing.length, algorithm, parallelism);
    missing.forEach((n, i) => made.set(n, keys[i]!.privateKeyPem));
  }
  return (need) => {
    const pem = need.kept ?? made.get(need);
    if (pem === undefined) throw new Error('provideKeys: a key was asked for that was not among the needs');
    return pem;
  };
}
