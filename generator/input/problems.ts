/**
 * A problem found in a spec, located in its file. Every check reports problems
 * instead of throwing, so that the user sees all of them in one run.
 */
export type PathSegment = string | number;

export interface Problem {
  /** Field path as the user reads it: hosts[3].address. Empty for the whole document. */
  path: string;
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  message: string;
  /** What to write instead, where the check knows. */
  fix?: string;
}

export function formatPath(path: readonly PathSegment[]): string {
  return path
    .map((seg, i) => (typeof seg === 'number' ? `[${seg}]` : i === 0 ? seg : `.${seg}`))
    .join('');
}

export function formatProblem(p: Problem): string {
  const where = `${p.file}:${p.line}:${p.column}`;
  const field = p.path ? `${p.path}: ` : '';
  return `${where}: ${field}${p.message}${p.fix ? `\n    fix: ${p.fix}` : ''}`;
}

/** Raised when a spec cannot be used; carries every problem found. */
export class SpecError extends Error {
  constructor(readonly problems: Problem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'SpecError';
  }
}

/** Longest piece of a user's value a message quotes: enough to recognise it, never a flood. */
export const QUOTE_LIMIT = 80;

/** JSON of `value`, but stops once `budget` characters are written. */
function boundedJson(value: unknown, budget: number): string {
  let out = '';
  const write = (text: string) => { out += text; return out.length < budget; };
  const walk = (v: unknown): boolean => {
    if (Array.isArray(v)) {
      if (!write('[')) return false;
      for (let i = 0; i < v.length; i++) if ((i > 0 && !write(',')) || !walk(v[i])) return false;
      return write(']');
    }
    if (v !== null && typeof v === 'object') {
      if (!write('{')) return false;
      let first = true;
      for (const [k, child] of Object.entries(v)) {
        if ((!first && !write(',')) || !write(`${JSON.stringify(k)}:`) || !walk(child)) return false;
        first = false;
      }
      return write('}');
    }
    return write(typeof v === 'string' && v.length > budget ? JSON.stringify(v.slice(0, budget)) : JSON.stringify(v) ?? String(v));
  };
  walk(value);
  return out;
}

/**
 * A user's value as a message shows it: strings in double quotes, anything
 * else as JSON, cut at QUOTE_LIMIT characters. A spec of a few bytes can
 * hold a huge value (YAML aliases, a long file content); no message prints
 * more of it than this.
 */
export function quote(value: unknown): string {
  const text = boundedJson(value, QUOTE_LIMIT + 1);
  if (text.length <= QUOTE_LIMIT) return text;
  const length = typeof value === 'string' ? ` (${value.length} characters)` : '';
  return `${text.slice(0, QUOTE_LIMIT)}…${length}`;
}
