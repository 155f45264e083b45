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
