/**
 * The cluster's shared secrets: the key for encryption at rest and
 * keepalived's VRRP password. Each is one line in its own file under secrets/
 * in the state folder, 0600. (The kubelet bootstrap tokens expire and are
 * kept apart: bootstrap-tokens.ts.)
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { PkiBundle } from './types.ts';
import type { SecretName } from './profiles.ts';
import type { BootstrapToken } from './bootstrap-tokens.ts';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Uniformly random characters (randomInt is unbiased). */
export function randomString(alphabet: string, length: number): string {
  return Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('');
}

type Secrets = PkiBundle['secrets'];

export function generateSecret(name: SecretName): string {
  switch (name) {
    case 'encryption-key': return randomBytes(32).toString('base64');
    case 'vrrp-password': return randomString(ALNUM, 8);
  }
}

const FORMATS: Record<SecretName, { pattern: RegExp; says: string }> = {
  'encryption-key': { pattern: /^[A-Za-z0-9+/]{43}=$/, says: 'the base64 of 32 bytes' },
  'vrrp-password': { pattern: /^[!-~]{1,8}$/, says: '1 to 8 printable characters' },
};

/** The secret in a file's text, or a description of what the file should hold. */
export function parseSecret(name: SecretName, text: string): { value: string } | { error: string } {
  const value = text.trim();
  const format = FORMATS[name];
  return format.pattern.test(value) ? { value } : { error: `does not hold ${format.says}` };
}

export function secretFileContent(value: string): string {
  return `${value}\n`;
}

export function secretsBundle(values: Record<SecretName, string>, bootstrapToken: BootstrapToken): Secrets {
  return {
    bootstrapToken,
    encryptionKey: values['encryption-key'],
    vrrpPassword: values['vrrp-password'],
  };
}
