import { ErrorCode, PrivaggError } from '../errors.js';
import { joyeLibertScheme } from './joyeLibert/index.js';
import { maasScheme } from './maas/scheme.js';
import type { Population, Scheme, SchemeConfig } from './scheme.js';
import { plainSumScheme } from './testing/plainSum.js';
import { twoPhaseTreeScheme } from './testing/twoPhaseTree.js';

/**
 * Every scheme privagg can run, by id. This file is the only importer of scheme folders
 * (test/architecture.test.ts holds it to that): the runtime, ledger, simulator and CLI
 * find a scheme here and see it only through `Scheme` and `SchemeConfig`.
 */
// biome-ignore lint/suspicious/noExplicitAny: each scheme validates its own parameter type
type AnyScheme = Scheme<any>;

const SCHEMES: readonly AnyScheme[] = [
  maasScheme,
  joyeLibertScheme,
  plainSumScheme,
  twoPhaseTreeScheme,
];

export function registeredSchemes(): readonly AnyScheme[] {
  return SCHEMES;
}

export function findScheme(id: string): AnyScheme {
  const s = SCHEMES.find((x) => x.id === id);
  if (!s) {
    throw new PrivaggError(
      ErrorCode.INVALID_ARGUMENT,
      `unknown scheme '${id}'; registered: ${SCHEMES.map((x) => x.id).join(', ')}`,
      { scheme: id },
    );
  }
  return s;
}

/**
 * The scheme `id` configured from raw parameters (a deployment file's `scheme.params`, a
 * CLI's flags): validated by the scheme's own schema, each problem named by its field.
 */
export function configureScheme(id: string, raw: unknown, population: Population): SchemeConfig {
  const scheme = findScheme(id);
  const parsed = scheme.params.safeParse(raw ?? {});
  if (!parsed.success) {
    const problems = paramIssues(parsed.error).map(
      (i) => `${['params', ...i.path.map(String)].join('.')}: ${i.message}`,
    );
    throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, `scheme '${id}': ${problems.join('; ')}`, {
      scheme: id,
      problems,
    });
  }
  return scheme.configure(parsed.data, population);
}

export interface ParamIssue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/** What the scheme's own schema says of raw parameters, each problem with its path ([] when fine). */
export function schemeParamIssues(id: string, raw: unknown): ParamIssue[] {
  const parsed = findScheme(id).params.safeParse(raw ?? {});
  return parsed.success ? [] : paramIssues(parsed.error);
}

function paramIssues(error: {
  issues: readonly { path: readonly PropertyKey[]; message: string }[];
}): ParamIssue[] {
  return error.issues.map((i) => ({ path: i.path, message: i.message }));
}
