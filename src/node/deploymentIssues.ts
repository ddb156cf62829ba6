import { extname } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ErrorCode, PrivaggError } from '../errors.js';
import { KNOWN_KEYS } from './deploymentSchema.js';

/**
 * Reading a deployment file's text (JSON or YAML, by extension or content) and naming its
 * problems: every issue one line, the file and the field first, in words a user reads
 * ("must be ≤ 5, got 7", "unknown key (did you mean …?)").
 */
export interface Issue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

export function parseText(text: string, source: string): unknown {
  const ext = extname(source).toLowerCase();
  const json = ext === '.json' || (ext !== '.yaml' && ext !== '.yml' && /^\s*[{[]/.test(text));
  if (json) {
    try {
      return JSON.parse(text);
    } catch (e) {
      const msg = (e as Error).message;
      const pos = /at position (\d+)/.exec(msg);
      const where = pos ? `:${lineCol(text, Number(pos[1]))}` : '';
      throw new PrivaggError(ErrorCode.MALFORMED_DATA, `${source}${where}: invalid JSON: ${msg}`, {
        file: source,
      });
    }
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const errors = [...doc.errors, ...doc.warnings];
  if (errors.length > 0) {
    const lines = errors.map((err) => {
      const at = err.linePos?.[0];
      const where = at ? `:${at.line}:${at.col}` : '';
      const first = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      return `${source}${where}: invalid YAML: ${first}`;
    });
    throw new PrivaggError(ErrorCode.MALFORMED_DATA, lines.join('\n'), {
      file: source,
      line: errors[0]?.linePos?.[0]?.line,
    });
  }
  return doc.toJS({ maxAliasCount: 100 });
}

function lineCol(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${(before.at(-1)?.length ?? 0) + 1}`;
}

export function fail(source: string, issues: readonly Issue[]): never {
  const lines = issues.map((i) => `${source}: ${formatPath(i.path)}: ${i.message}`);
  throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, lines.join('\n'), {
    file: source,
    issues: issues.map((i) => ({ path: formatPath(i.path), message: i.message })),
  });
}

export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

// ─── Zod issues → messages ─────────────────────────────────────────────────────────────

export function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}…` : v);
  return String(v);
}

const TYPE_NAMES: Record<string, string> = {
  int: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'a mapping',
  array: 'a list',
  null: 'null',
};

export function toIssues(issue: z.core.$ZodIssue): Issue[] {
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'invalid_type':
      if (!issue.message.startsWith('Invalid input')) {
        // A message of our own (mappingError): what the shorthand or mapping may be.
        return [{ path: issue.path, message: `${issue.message}, got ${show(input)}` }];
      }
      return [
        {
          path: issue.path,
          message:
            input === undefined
              ? 'required'
              : `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}, got ${show(input)}`,
        },
      ];
    case 'too_big': {
      const max = Number(issue.maximum);
      const what =
        issue.origin === 'array' ? 'entries' : issue.origin === 'string' ? 'characters' : '';
      const message =
        what !== ''
          ? `must have at most ${max} ${what}`
          : `must be ${issue.inclusive ? '≤' : '<'} ${max}, got ${show(input)}`;
      return [{ path: issue.path, message }];
    }
    case 'too_small': {
      const min = Number(issue.minimum);
      if (issue.origin === 'string' && min === 1)
        return [{ path: issue.path, message: 'must not be empty' }];
      const what =
        issue.origin === 'array' ? 'entries' : issue.origin === 'string' ? 'characters' : '';
      const message =
        what !== ''
          ? `must have at least ${min} ${what}`
          : `must be ${issue.inclusive ? '≥' : '>'} ${min}, got ${show(input)}`;
      return [{ path: issue.path, message }];
    }
    case 'invalid_value':
      return [
        {
          path: issue.path,
          message: `must be one of ${issue.values.map((v) => show(v)).join(', ')}, got ${show(input)}`,
        },
      ];
    case 'unrecognized_keys': {
      const known = KNOWN_KEYS.get(schemaKey(issue.path)) ?? [];
      return issue.keys.map((key) => {
        const hint = suggest(key, known);
        const list = hint === '' && known.length > 0 ? ` (known: ${known.join(', ')})` : '';
        return { path: [...issue.path, key], message: `unknown key${hint}${list}` };
      });
    }
    case 'invalid_union':
      return [{ path: issue.path, message: `${issue.message}, got ${show(input)}` }];
    default:
      return [{ path: issue.path, message: issue.message }];
  }
}

/** ['oems', 2, 'budget'] → 'oems[].budget', the key under which `strict` recorded the shape. */
function schemaKey(path: readonly PropertyKey[]): string {
  return formatPath(path)
    .replace(/\[\d+\]/g, '[]')
    .replace(/^\(top level\)$/, '');
}

function suggest(key: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const k of known) {
    const d = k.toLowerCase() === key.toLowerCase() ? 0 : editDistance(k, key);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(
        prev[j]! + 1,
        cur[j - 1]! + 1,
        prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return prev[b.length]!;
}
