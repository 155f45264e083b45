/**
 * Preloaded into `generate` processes by the kill tests: RSA keys come from a
 * pool of real keys made once by the test (HA_K8S_SEED_KEY_POOL, a JSON list
 * of PKCS#8 PEMs), handed out in turn, instead of being generated. Key
 * generation is most of a first run's time and not what those tests are
 * about; they run the CLI hundreds of times. Other key types are generated.
 */
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { promisify } from 'node:util';

const pool = JSON.parse(readFileSync(process.env.HA_K8S_SEED_KEY_POOL, 'utf8'));
const original = crypto.generateKeyPair;
let next = 0;

function fromPool(type, options) {
  const key = crypto.createPrivateKey(pool[next++ % pool.length]);
  const encode = (k, encoding) => (encoding ? k.export(encoding) : k);
  return { privateKey: encode(key, options.privateKeyEncoding), publicKey: encode(crypto.createPublicKey(key), options.publicKeyEncoding) };
}

function generateKeyPair(type, options, callback) {
  if (type !== 'rsa') return original(type, options, callback);
  const { privateKey, publicKey } = fromPool(type, options);
  setImmediate(() => callback(null, publicKey, privateKey));
}
generateKeyPair[promisify.custom] = (type, options) => (type === 'rsa'
  ? Promise.resolve(fromPool(type, options))
  : promisify(original)(type, options));
crypto.generateKeyPair = generateKeyPair;
syncBuiltinESMExports();
