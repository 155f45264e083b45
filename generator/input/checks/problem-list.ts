/** What every check starts from: an empty list, and a way to add a problem located in the spec. */
import type { PathSegment, Problem } from '../problems.ts';
import type { SpecSource } from '../source.ts';

export function problemList(source: SpecSource): {
  problems: Problem[];
  report: (path: PathSegment[], message: string, fix?: string) => void;
} {
  const problems: Problem[] = [];
  return { problems, report: (path, message, fix) => { problems.push(source.problem(path, message, fix)); } };
}
