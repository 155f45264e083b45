/**
 * Structural validation with ajv against cluster.schema.json, the same schema
 * editors use for completion. ajv's errors are turned into located Problems in
 * the user's words.
 */
import type { ErrorObject } from 'ajv';
import { quote, type PathSegment, type Problem } from './problems.ts';
import validateSchema from './schema-validator.ts';
import type { SpecSource } from './source.ts';

/** Levenshtein distance, for "did you mean" on unknown keys and enum values. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      prev = current;
    }
  }
  return row[b.length]!;
}

export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = distance(word, c);
    if (d < bestDistance) { best = c; bestDistance = d; }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function pathOf(instancePath: string): PathSegment[] {
  if (!instancePath) return [];
  return instancePath.slice(1).split('/').map((raw) => {
    const s = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    return /^\d+$/.test(s) ? Number(s) : s;
  });
}

const FORMAT_NAMES: Record<string, string> = {
  ipv4: 'an IPv4 address such as 192.168.31.71',
  'ipv4-cidr': 'an IPv4 CIDR such as 10.244.0.0/16',
  hostname: 'a DNS name such as cluster.local',
  uri: 'a URL such as http://mirror.example:8080',
};

/** "a mapping", "an integer": the type names ajv gives, as a sentence says them. */
function typeName(type: string): string {
  if (type === 'object') return 'a mapping';
  if (type === 'array') return 'a list';
  return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}

/** A DNS label close to what the user wrote: lowercase, other characters as '-'. */
function asDnsLabel(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
}

/**
 * What to write instead of a value that does not match its pattern, by the
 * field it is in (the last key of its path, or the list it is an item of).
 */
function patternFix(path: PathSegment[], value: unknown): string | undefined {
  const key = [...path].reverse().find((s): s is string => typeof s === 'string');
  const text = typeof value === 'string' ? value : '';
  switch (key) {
    case 'name': {
      const label = asDnsLabel(text);
      return `use lowercase letters, digits and '-', starting and ending with a letter or digit (at most 63)${label ? `: did you mean "${label}"?` : ', e.g. k8s-node1'}`;
    }
    case 'macAddress':
      return 'write six two-digit hex numbers separated by colons, e.g. 52:54:00:12:34:56';
    case 'authorizedKeys':
      return 'paste one line of a public key file (~/.ssh/id_ed25519.pub): its type, the base64 key and an optional comment, e.g. ssh-ed25519 AAAAC3Nza... ops@example';
    case 'packages':
      return 'one package name per item, e.g. htop, with no spaces or installer options';
    case 'interface':
      return 'the NIC name inside the VM, up to 15 letters, digits, _ . : -, e.g. ens33 or enp1s0';
    case 'permissions':
      return 'a quoted octal mode, e.g. "0644" or "0600"';
    case 'owner':
      return 'user:group, e.g. root:root';
    case 'path':
      return 'an absolute path that does not end with /, e.g. /etc/motd';
    case 'version':
      return path[0] === 'kubernetes' ? 'write it with its leading v, e.g. v1.36.3' : 'write MAJOR.MINOR.PATCH, e.g. 3.6.14';
    default:
      return undefined;
  }
}

function describe(error: ErrorObject, source: SpecSource): Problem {
  const path = pathOf(error.instancePath);
  const description: string | undefined = error.parentSchema?.description;
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = (error.params as { additionalProperty: string }).additionalProperty;
      if (key === '<<') {
        return source.problem([...path, key], 'YAML merge keys (<<) are not supported in a spec',
          'write the keys out in this mapping; an anchor and alias (&name, *name) may stand for a whole value', 'key');
      }
      const allowed = Object.keys((error.parentSchema?.properties ?? {}) as object).filter((k) => k !== '$schema');
      const guess = closest(key, allowed);
      return source.problem([...path, key], `unknown key "${key}"`,
        guess ? `did you mean "${guess}"?` : `known keys here: ${allowed.join(', ')}`, 'key');
    }
    case 'required': {
      const key = (error.params as { missingProperty: string }).missingProperty;
      return source.problem(path, `missing required key "${key}"`);
    }
    case 'enum': {
      const allowed = (error.params as { allowedValues: unknown[] }).allowedValues.map(String);
      const guess = typeof error.data === 'string' ? closest(error.data, allowed) : undefined;
      return source.problem(path, `${quote(error.data)} is not one of: ${allowed.join(', ')}`,
        guess ? `did you mean "${guess}"?` : undefined);
    }
    case 'format': {
      const format = (error.params as { format: string }).format;
      let fix: string | undefined;
      const cidr = format === 'ipv4-cidr' && typeof error.data === 'string' ? /^(.*)\/(\d+)$/.exec(error.data) : null;
      if (cidr) fix = 'write the network address and a prefix length of 0-32, e.g. 10.96.0.0/12';
      return source.problem(path, `${quote(error.data)} is not ${FORMAT_NAMES[format] ?? `a valid ${format}`}`, fix);
    }
    case 'pattern':
      return source.problem(path, `${quote(error.data)} is not valid${description ? `: ${description}` : ''}`, patternFix(path, error.data));
    case 'type':
      return source.problem(path, `must be ${typeName((error.params as { type: string }).type)}, not ${quote(error.data)}`);
    case 'uniqueItems':
      return source.problem(path, `lists the same item twice: ${quote(error.data)}`);
    default:
      return source.problem(path, `${error.message ?? 'is not valid'}${description ? ` (${description})` : ''}`);
  }
}

/** Every structural problem of the spec, in file order. */
export function checkSchema(source: SpecSource): Problem[] {
  if (source.data === undefined || source.data === null) {
    return [source.problem([], 'the spec is empty', 'start from cluster.yaml in the repository root')];
  }
  if (validateSchema(source.data)) return [];
  const problems = (validateSchema.errors ?? [])
    // An enum or type failure deep in a branch also fails its parent's `$ref`; keep the precise one.
    .filter((e) => e.keyword !== 'if')
    .map((e) => describe(e, source));
  return dedupe(problems);
}

export function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems
    .filter((p) => {
      const key = `${p.path}\0${p.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort((a, b) => a.line - b.line || a.column - b.column);
}
