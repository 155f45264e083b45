/**
 * Reading a spec file: its text, its parsed value, and where in the text each
 * field stands, so that every problem can name a line and column.
 */
import { readFile } from 'node:fs/promises';
import {
  parseEvents, constructFromEvents, getScalarValue, EVENT_ID, YAMLException,
  type Event, type ScalarEvent,
} from 'js-yaml';
import { SpecError, formatPath, quote, type PathSegment, type Problem } from './problems.ts';

/** Offsets of a field's key (absent for sequence items and the root) and of its value. */
interface FieldOffsets { key?: number; value: number }

export interface SpecSource {
  file: string;
  text: string;
  data: unknown;
  /** Where the field at `path` stands; falls back to its nearest located ancestor. */
  locate(path: readonly PathSegment[], at?: 'key' | 'value'): { line: number; column: number };
  problem(path: readonly PathSegment[], message: string, fix?: string, at?: 'key' | 'value'): Problem;
}

function pointer(path: readonly PathSegment[]): string {
  return path.map((s) => `/${s}`).join('');
}

/**
 * Walks the event stream once and records the offsets of every node by path.
 * Containers open with SEQUENCE/MAPPING and close with POP; a mapping's children
 * alternate key, value.
 */
function indexOffsets(text: string, events: Event[]): Map<string, FieldOffsets> {
  const offsets = new Map<string, FieldOffsets>();
  type Frame =
    | { kind: 'sequence'; path: PathSegment[]; next: number }
    | { kind: 'mapping'; path: PathSegment[]; pendingKey?: { name: string; offset: number } };
  const stack: Frame[] = [];

  const startOf = (e: Event): number => {
    if (e.type === EVENT_ID.SCALAR) return e.anchorStart >= 0 ? Math.min(e.anchorStart, e.valueStart) : e.valueStart;
    if (e.type === EVENT_ID.SEQUENCE || e.type === EVENT_ID.MAPPING) return e.start;
    if (e.type === EVENT_ID.ALIAS) return e.anchorStart - 1;
    return 0;
  };

  /** Records the node that begins with event `e`; returns its path, or undefined for a mapping key. */
  const place = (e: Event): PathSegment[] | undefined => {
    const parent = stack.at(-1);
    if (!parent) {
      offsets.set('', { value: startOf(e) });
      return [];
    }
    if (parent.kind === 'sequence') {
      const path = [...parent.path, parent.next++];
      offsets.set(pointer(path), { value: startOf(e) });
      return path;
    }
    if (!parent.pendingKey) {
      // A key. The constructor refuses collection keys, so a key names a field.
      const name = e.type === EVENT_ID.SCALAR ? getScalarValue(text, e as ScalarEvent) : '?';
      parent.pendingKey = { name, offset: startOf(e) };
      return undefined;
    }
    const path = [...parent.path, parent.pendingKey.name];
    offsets.set(pointer(path), { key: parent.pendingKey.offset, value: startOf(e) });
    parent.pendingKey = undefined;
    return path;
  };

  for (const e of events) {
    switch (e.type) {
      case EVENT_ID.DOCUMENT:
        break;
      case EVENT_ID.SCALAR:
      case EVENT_ID.ALIAS:
        place(e);
        break;
      case EVENT_ID.SEQUENCE:
      case EVENT_ID.MAPPING: {
        const path = place(e) ?? [];
        stack.push(e.type === EVENT_ID.SEQUENCE ? { kind: 'sequence', path, next: 0 } : { kind: 'mapping', path });
        break;
      }
      case EVENT_ID.POP:
        stack.pop();
        break;
    }
  }
  return offsets;
}

function startOfAlias(e: Event): number {
  return e.type === EVENT_ID.ALIAS ? Math.max(0, e.anchorStart - 1) : 0;
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) { line++; lineStart = i + 1; }
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * Bounds on what a spec may expand to. Aliases share their value, so a few
 * hundred bytes of nested aliases stand for billions of values (the "billion
 * laughs"): harmless until something walks them (the schema check, a message
 * quoting the value). A real spec uses a handful of aliases and, even with a
 * thousand hosts, well under a hundred thousand values.
 */
export const SPEC_LIMITS = { aliases: 1000, values: 200_000 } as const;

/** Number of values in `data` counting each alias's target again, or Infinity past `limit`. */
function expandedValues(data: unknown, limit: number): number {
  let count = 0;
  const stack: unknown[] = [data];
  while (stack.length > 0) {
    const v = stack.pop();
    if (++count > limit) return Infinity;
    if (v !== null && typeof v === 'object') for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push(child);
  }
  return count;
}

/** The key at `offset` of the text, as written (for "duplicated mapping key"). */
function keyAt(text: string, offset: number): string | undefined {
  const m = /^(?:"([^"\n]*)"|'([^'\n]*)'|([^\s:,{}[\]#"'][^:,{}[\]\n]*?))\s*:/.exec(text.slice(offset, offset + 200));
  return m ? (m[1] ?? m[2] ?? m[3]) : undefined;
}

/** Parses spec text; a syntax error becomes a located Problem. */
export function parseSpec(file: string, text: string): SpecSource {
  let events: Event[];
  let data: unknown;
  try {
    events = parseEvents(text, { filename: file });
    const documents = constructFromEvents(events, { source: text, filename: file, maxAliases: SPEC_LIMITS.aliases }) as unknown[];
    if (documents.length > 1) {
      throw new SpecError([{ path: '', file, line: 1, column: 1, message: `holds ${documents.length} YAML documents; a spec is one document` }]);
    }
    data = documents[0];
  } catch (err) {
    if (err instanceof YAMLException) {
      let reason = err.reason ?? err.message.split('\n')[0];
      let fix: string | undefined;
      const mark = err.mark;
      if (/duplicated mapping key/.test(reason) && mark) {
        const key = keyAt(text, mark.position);
        if (key !== undefined) reason = `the key ${quote(key)} is written twice in one mapping`;
        fix = 'keep one of them';
      } else if (/maxAliases/.test(reason)) {
        reason = `more than ${SPEC_LIMITS.aliases} aliases (*name)`;
        fix = 'write the values out, or use fewer aliases';
      }
      throw new SpecError([{
        path: '', file,
        line: mark ? mark.line + 1 : 1, column: mark ? mark.column + 1 : 1,
        message: `not valid YAML: ${reason}`, ...(fix ? { fix } : {}),
      }]);
    }
    throw err;
  }
  if (expandedValues(data, SPEC_LIMITS.values) === Infinity) {
    const alias = events.find((e) => e.type === EVENT_ID.ALIAS);
    throw new SpecError([{
      path: '', file, ...(alias ? lineColumn(text, startOfAlias(alias)) : { line: 1, column: 1 }),
      message: `expands through its aliases to more than ${SPEC_LIMITS.values} values; a cluster spec never needs that many`,
      fix: 'write the values out instead of nesting aliases',
    }]);
  }
  const offsets = indexOffsets(text, events);
  const locate: SpecSource['locate'] = (path, at = 'value') => {
    for (let n = path.length; n >= 0; n--) {
      const found = offsets.get(pointer(path.slice(0, n)));
      if (found) return lineColumn(text, at === 'key' && n === path.length ? found.key ?? found.value : found.value);
    }
    return { line: 1, column: 1 };
  };
  return {
    file, text, data, locate,
    problem: (path, message, fix, at) => ({
      path: formatPath(path),
      file, ...locate(path, at), message, ...(fix ? { fix } : {}),
    }),
  };
}

/** Reads and parses a spec file; an unreadable file is a Problem too. */
export async function readSpec(file: string): Promise<SpecSource> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file'
      : code === 'EACCES' ? 'permission denied'
      : code === 'EISDIR' ? 'is a directory, not a spec file'
      : (err as Error).message;
    throw new SpecError([{ path: '', file, line: 1, column: 1, message: `cannot read the spec: ${why}` }]);
  }
  return parseSpec(file, text);
}
