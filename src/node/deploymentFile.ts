import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ErrorCode, isPrivaggError, PrivaggError } from '../errors.js';
import type { OemGrant } from '../schemes/maas/keys.js';
import { DEFAULT_MODES, type MaasModes } from '../schemes/maas/params.js';
import { ensurePartialsFit } from '../schemes/maas/partialCodec.js';
import { AI4I_FAILURE_TYPES } from '../sim/ai4i.js';
import { crossCheck } from './deploymentCrossCheck.js';
import { fail, parseText, toIssues } from './deploymentIssues.js';
import { DeploymentFile, type FileContent } from './deploymentSchema.js';
import type { DeploymentSpec } from './deploymentSpec.js';
import { dimensionNames, toMaasParams } from './deploymentWorkload.js';

export { formatPath } from './deploymentIssues.js';
export {
  AI4I_ROWS,
  ai4iRowsPerReading,
  dimensionCount,
  dimensionNamesOf,
  populationOfSpec,
  SYNTHETIC_MAX_READING,
  SYNTHETIC_MAX_VALUES,
  SYNTHETIC_OPEN_ENDED_ROUNDS,
  toMaasParams,
  workloadFor,
  workloadRounds,
} from './deploymentWorkload.js';

/**
 * The deployment file (YAML or JSON) → a validated `DeploymentSpec`.
 *
 * The file mirrors DeploymentSpec key for key; everything but `name` has a default (see
 * examples/deployment.yaml). Unknown keys are errors, so a typo is never silently ignored.
 * Every problem found is reported at once, one line each, naming the file and the field:
 *
 *   deployment.yaml: scheme.threshold: must be ≤ scheme.gateways (5), got 7
 *
 * Shorthands the file accepts beyond DeploymentSpec: `ldp: off` (or null/false),
 * `modes: default | paper | { …overrides of DEFAULT_MODES }`, `broker: <url>`, OEM
 * `dimensions` by name or index, and a single number for `epsilonPerDimension`.
 *
 * One extension of DeploymentSpec: `scheme.dimensions` (w), which the file may set for the
 * synthetic workload (default 5; AI4I always has 5). The parsed spec always carries it.
 *
 * Paths: stateDir and scheme.data resolve against the file's directory, ledger.file
 * against stateDir (':memory:' is kept), so the spec holds absolute paths and can be
 * handed to another process as JSON (parsing it again gives the same spec).
 */

/** A parsed spec as this module produces it: DeploymentSpec plus the dimension count. */
export type ParsedDeploymentSpec = DeploymentSpec & {
  scheme: DeploymentSpec['scheme'] & { dimensions: number };
};
// ─── Parsing ───────────────────────────────────────────────────────────────────────────

/** Reads and validates a deployment file; relative paths resolve against its directory. */
export function loadDeploymentFile(path: string): ParsedDeploymentSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new PrivaggError(
      ErrorCode.DATA_UNAVAILABLE,
      `cannot read deployment file ${path}: ${reason}`,
      { file: path },
    );
  }
  return parseDeployment(text, path, dirname(resolve(path)));
}

/**
 * Parses deployment text. `source` names the file in messages and picks the format by
 * extension (.json → JSON, .yaml/.yml → YAML, else by content); `baseDir` anchors
 * relative paths.
 */
export function parseDeployment(
  text: string,
  source: string,
  baseDir: string,
): ParsedDeploymentSpec {
  const raw = parseText(text, source);
  const res = DeploymentFile.safeParse(raw, { reportInput: true });
  if (!res.success) fail(source, res.error.issues.flatMap(toIssues));
  const file = res.data;
  const issues = crossCheck(file);
  if (issues.length > 0) fail(source, issues);
  const spec = toSpec(file, baseDir);
  // Safety net: whatever validateMaasParams still refuses is reported against the file,
  // and so is a partial that could never be delivered (ensurePartialsFit says why).
  try {
    ensurePartialsFit(toMaasParams(spec));
  } catch (e) {
    if (!isPrivaggError(e)) throw e;
    fail(source, [{ path: ['scheme'], message: e.message.replace(/^[A-Z_]+: /, '') }]);
  }
  return spec;
}

// ─── File → DeploymentSpec ─────────────────────────────────────────────────────────────

function toSpec(f: FileContent, baseDir: string): ParsedDeploymentSpec {
  const s = f.scheme;
  const w = s.workload === 'ai4i' ? AI4I_FAILURE_TYPES.length : (s.dimensions ?? 5);
  const names = dimensionNames(s.workload, w);
  const stateDir = resolve(baseDir, f.stateDir);
  const modes: MaasModes = { ...DEFAULT_MODES, ...definedOnly(s.modes) };
  const ldp = s.ldp === null ? null : { ...s.ldp };
  const oems: OemGrant[] = (f.oems ?? [{ name: 'oem-1', epsilonPerDimension: 2 }]).map((o) => {
    const eps = o.epsilonPerDimension;
    const epsilonPerDimension = Array.isArray(eps) ? [...eps] : names.map(() => eps);
    return {
      name: o.name,
      dimensions: o.dimensions
        ? o.dimensions.map((d) => (typeof d === 'number' ? d : names.indexOf(d)))
        : names.map((_, j) => j),
      budget: o.budget
        ? { epsilon: o.budget.epsilon, delta: o.budget.delta }
        : { epsilon: 4 * epsilonPerDimension.reduce((a, b) => a + b, 0), delta: 0 },
      epsilonPerDimension,
    };
  });
  return {
    name: f.name,
    stateDir,
    scheme: {
      id: s.id,
      ...(s.params !== undefined ? { params: s.params } : {}),
      ians: s.ians,
      devicesPerIan: s.devicesPerIan,
      gateways: s.gateways,
      threshold: s.threshold ?? Math.floor(s.gateways / 2) + 1,
      ...(s.maxLyingGateways !== undefined ? { maxLyingGateways: s.maxLyingGateways } : {}),
      workload: s.workload,
      ...(s.data !== undefined ? { data: resolve(baseDir, s.data) } : {}),
      dimensions: w,
      ldp,
      ...(s.inputValidity !== undefined ? { inputValidity: s.inputValidity } : {}),
      modes,
    },
    rounds: {
      count: f.rounds.count,
      durationMs: f.rounds.durationMs,
      ...(f.rounds.epochMs !== undefined ? { epochMs: f.rounds.epochMs } : {}),
      restoreDelayMs: f.rounds.restoreDelayMs,
      freshnessWindowMs: f.rounds.freshnessWindowMs ?? Math.max(30_000, 2 * f.rounds.durationMs),
    },
    broker: { url: f.broker.url },
    ledger: {
      ...f.ledger,
      file:
        f.ledger.file === ':memory:' || isAbsolute(f.ledger.file)
          ? f.ledger.file
          : resolve(stateDir, f.ledger.file),
    },
    gatewayHealthBasePort: f.gatewayHealthBasePort,
    gatewayProcesses: f.gatewayProcesses,
    oems,
    security: { insecure: f.security.insecure },
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
