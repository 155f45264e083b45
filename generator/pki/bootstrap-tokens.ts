/**
 * Kubelet bootstrap tokens that expire. A token is what a node's seed carries
 * to join: its kubelet presents it to the apiserver to request its client
 * certificate, once. So a token needs to live only while nodes that carry it
 * are joining, and the cluster should not keep accepting it after that.
 *
 * - A token lives `pki.bootstrapTokenHours` in the cluster from when it is
 *   applied: the Secret's `expiration` is set at apply time (by the control
 *   plane's first boot, or by the command `plan` prints before new nodes
 *   boot), not when the seed was made, so seeds made days before their VMs
 *   boot still join. The controller-manager's tokencleaner deletes it after.
 * - A token serves new seeds for the same number of hours after it is made;
 *   a run that renders a changed node seed after that makes the next one.
 * - A node's seed keeps the token it carries as long as nothing else in it
 *   changes, so a new token changes no running host's seed; a new or changed
 *   seed carries the current token.
 * - Every token made is recorded in the state folder (bootstrap-tokens.json,
 *   0600), so an unchanged seed renders byte for byte; `--rotate
 *   bootstrap-token` makes a new one at once and names the earlier ones to
 *   delete from the cluster.
 *
 * A state made before tokens expired holds one token in secrets/bootstrap-token
 * that the control planes applied without an expiration; it is read as a
 * legacy token (never current again) and the run says how to delete it.
 */
import { randomString } from './secrets.ts';

export interface BootstrapToken {
  /** [a-z0-9]{6}: public, names the Secret bootstrap-token-<id>. */
  id: string;
  /** [a-z0-9]{16}. */
  secret: string;
  /** When it was made (ISO 8601); null for a legacy token, applied without an expiration. */
  made: string | null;
}

export const TOKEN_RECORD = 'bootstrap-tokens.json';
/** Where states made before tokens expired keep their one token. */
export const LEGACY_TOKEN_FILE = 'secrets/bootstrap-token';

/** kubeadm's token alphabet. */
const LOWER_ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const TOKEN_PATTERN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;

export function newBootstrapToken(now: Date): BootstrapToken {
  return { id: randomString(LOWER_ALNUM, 6), secret: randomString(LOWER_ALNUM, 16), made: now.toISOString() };
}

export function tokenString(token: BootstrapToken): string {
  return `${token.id}.${token.secret}`;
}

/** The record's tokens, oldest first, or what is wrong with the text. */
export function parseTokenRecord(text: string): BootstrapToken[] | string {
  let doc: unknown;
  try { doc = JSON.parse(text); } catch { return 'is not JSON'; }
  const record = doc as { version?: unknown; tokens?: unknown };
  if (record?.version !== 1 || !Array.isArray(record.tokens)) return 'is not a version 1 token record ({"version": 1, "tokens": [...]})';
  const tokens: BootstrapToken[] = [];
  for (const [i, t] of (record.tokens as Partial<BootstrapToken>[]).entries()) {
    const made = t?.made === null || (typeof t?.made === 'string' && !Number.isNaN(Date.parse(t.made)));
    if (!TOKEN_PATTERN.test(`${t?.id}.${t?.secret}`) || !made) return `tokens[${i}] is not {"id": [a-z0-9]{6}, "secret": [a-z0-9]{16}, "made": a date or null}`;
    tokens.push({ id: t.id!, secret: t.secret!, made: t.made ?? null });
  }
  if (new Set(tokens.map((t) => t.id)).size !== tokens.length) return 'names one token id twice';
  return tokens;
}

/** The legacy secrets/bootstrap-token file's token, or what is wrong with it. */
export function parseLegacyToken(text: string): BootstrapToken | string {
  const m = text.trim().match(TOKEN_PATTERN);
  return m ? { id: m[1]!, secret: m[2]!, made: null } : 'does not hold a bootstrap token: [a-z0-9]{6}.[a-z0-9]{16}';
}

/** When a token applied now would expire: the `expiration` its Secret file carries until the apply sets its own. */
export function expiresAfter(token: BootstrapToken, hours: number): string | undefined {
  return token.made === null ? undefined : new Date(Date.parse(token.made) + hours * 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A kubeconfig's `token: <id>.<secret>` line, as a node's seed writes it. */
const CARRIED = /\btoken: ([a-z0-9]{6})\.([a-z0-9]{16})\b/;

export interface TokenOptions {
  now: Date;
  hours: number;
  /** --rotate bootstrap-token: a new token now, whatever the record holds. */
  rotate: boolean;
}

/** The run's tokens: what the state recorded, and the one this run makes when a changed seed needs it. */
export class BootstrapTokens {
  private fresh: BootstrapToken | undefined;

  /**
   * `recorded`: oldest first; `migrated`: read from the legacy file, so the
   * record is written for the first time.
   */
  constructor(private readonly recorded: readonly BootstrapToken[], private readonly options: TokenOptions, readonly migrated = false) {
    // A rotation is made at once: it is the point of the run, even when no seed changes.
    if (options.rotate) void this.current;
  }

  /** The recorded token a seed's text carries (the one its node may keep), if any. */
  carriedBy(userData: string): BootstrapToken | undefined {
    const m = userData.match(CARRIED);
    return m ? this.recorded.find((t) => t.id === m[1] && t.secret === m[2]) : undefined;
  }

  /** What a new or changed seed carries: the newest token while it is younger than its lifetime, else one made now. */
  get current(): BootstrapToken {
    if (this.fresh) return this.fresh;
    const newest = this.recorded.at(-1);
    const young = newest?.made != null && this.options.now.getTime() - Date.parse(newest.made) < this.options.hours * 3_600_000;
    if (newest && young && !this.options.rotate) return newest;
    this.fresh = newBootstrapToken(this.options.now);
    return this.fresh;
  }

  /** The token made this run, if a changed seed asked for one. */
  get made(): BootstrapToken | undefined {
    return this.fresh;
  }

  /** The newest token after this run: what out/<cluster>/bootstrap-token.yaml holds. */
  get newest(): BootstrapToken {
    return this.fresh ?? this.recorded.at(-1) ?? this.current;
  }

  /** Tokens the cluster should stop accepting now: on rotation every earlier one; a legacy one (it never expires) when first read. */
  get superseded(): BootstrapToken[] {
    if (this.options.rotate && this.fresh) return [...this.recorded];
    return this.migrated ? this.recorded.filter((t) => t.made === null) : [];
  }

  get hours(): number {
    return this.options.hours;
  }

  /** The record to keep in the state folder: every token a seed may still carry, so those seeds render byte for byte. */
  recordText(): string {
    const tokens = this.fresh ? [...this.recorded, this.fresh] : this.recorded;
    return `${JSON.stringify({ version: 1, tokens }, null, 2)}\n`;
  }
}
