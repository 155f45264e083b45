/**
 * Structural validation with ajv against cluster.schema.json, the same schema
 * editors use for completion. ajv's errors are turned into located Problems in
 * the user's words.
 */
import type { ErrorObject } from 'ajv';
import type { PathSegment, Problem } from './problems.ts';
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

function show(value: unknown): string {
  return typeof value === 'string' ? `"${value}"` : JSON.stringify(value);
}

function describe(error: ErrorObject, source: SpecSource): Problem {
  const path = pathOf(error.instancePath);
  const description: string | undefined = error.parentSchema?.description;
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = (error.params as { additionalProperty: string }).additionalProperty;
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
      return source.problem(path, `${show(error.data)} is not one of: ${allowed.join(', ')}`,
        guess ? `did you mean "${guess}"?` : undefined);
    }
    case 'format': {
      const format = (error.params as { format: string }).format;
      let fix: string | undefined;
      const cidr = format === 'ipv4-cidr' && typeof error.data === 'string' ? /^(.*)\/(\d+)$/.exec(error.data) : null;
      if (cidr) fix = 'write the network address and a prefix length of 0-32, e.g. 10.96.0.0/12';
      return source.problem(path, `${show(error.data)} is not ${FORMAT_NAMES[format] ?? `a valid ${format}`}`, fix);
    }
    case 'pattern':
      return source.problem(path, `${show(error.data)} is not valid${description ? `: ${description}` : ''}`);
    case 'type':
      return source.problem(path, `must be ${(error.params as { type: string }).type === 'object' ? 'a mapping' : (error.params as { type: string }).type === 'array' ? 'a list' : `a ${(error.params as { type: string }).type}`}, not ${show(error.data)}`);
    case 'uniqueItems':
      return source.problem(path, `lists the same item twice: ${show(error.data)}`);
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
