import { readFileSync } from 'node:fs';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ErrorCode, isPrivaggError, PrivaggError } from '../errors.js';
import { seededRandom } from '../math/random.js';
import { checkDeploymentName } from '../net/topics.js';
import type { OemGrant } from '../schemes/maas/keys.js';
import {
  DEFAULT_MODES,
  defaultMaasParams,
  type MaasModes,
  type MaasParams,
  PAPER_MODES,
} from '../schemes/maas/params.js';
import { ensurePartialsFit } from '../schemes/maas/partialCodec.js';
import { AI4I_FAILURE_TYPES } from '../sim/ai4i.js';
import { loadAi4iWorkload } from '../sim/ai4iWorkload.js';
import { SyntheticWorkload } from '../sim/syntheticWorkload.js';
import type { Workload } from '../sim/workload.js';
import type { DeploymentSpec } from './deploymentSpec.js';

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

/** Rows in the AI4I 2020 data set (data/README.md); the row check does not load the CSV. */
export const AI4I_ROWS = 10_000;
/** Upper bound of every synthetic reading (SyntheticWorkload's default). */
export const SYNTHETIC_MAX_READING = 5;
/** Rounds the workload covers when rounds.count is 0 (run until SIGINT), synthetic only. */
export const SYNTHETIC_OPEN_ENDED_ROUNDS = 100;
/** Synthetic workloads are precomputed: at most this many values (z·n·rounds·w) in memory. */
export const SYNTHETIC_MAX_VALUES = 50_000_000;

/** A parsed spec as this module produces it: DeploymentSpec plus the dimension count. */
export type ParsedDeploymentSpec = DeploymentSpec & {
  scheme: DeploymentSpec['scheme'] & { dimensions: number };
};

// ─── Schema ────────────────────────────────────────────────────────────────────────────

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.int().min(min).max(max);
const positive = z.number().positive().max(Number.MAX_VALUE);

/** z.strictObject whose shape is recorded, so an unknown key can be answered with a suggestion. */
const KNOWN_KEYS = new Map<string, readonly string[]>();
function strict<T extends z.core.$ZodLooseShape>(
  where: string,
  shape: T,
  error?: (iss: { code: string }) => string | undefined,
) {
  KNOWN_KEYS.set(where, Object.keys(shape));
  return z.strictObject(shape, error ? { error } : undefined);
}

/**
 * Unions of a shorthand and a mapping are written as "rewrite the shorthand, then parse the
 * mapping", not z.union: a union hides the mapping's own errors (scheme.modes.mac: …)
 * behind "invalid input" as soon as one of them is an enum or type error.
 */
function mappingError(message: string) {
  return (iss: { code: string }) => (iss.code === 'invalid_type' ? message : undefined);
}

/** Parses with `a` when `test(input)`, else with `b`, keeping the chosen schema's own issues. */
function byInput<A extends z.ZodType, B extends z.ZodType>(
  test: (v: unknown) => boolean,
  a: A,
  b: B,
) {
  return z.unknown().transform((v, ctx): z.output<A> | z.output<B> => {
    const r = (test(v) ? a : b).safeParse(v, { reportInput: true });
    if (r.success) return r.data;
    for (const issue of r.error.issues) ctx.issues.push({ ...issue, input: issue.input } as never);
    return z.NEVER;
  });
}

const LdpShape = strict(
  'scheme.ldp',
  {
    epsilon: positive.default(1),
    delta: z.number().min(0).lt(1).default(0.001),
  },
  mappingError('must be "off", null or { epsilon, delta }'),
);
/** `ldp: off`, `ldp: false` and `ldp: null` switch LDP off. */
const Ldp = z.preprocess((v) => (v === 'off' || v === false ? null : v), LdpShape.nullable());

const InputValidityShape = strict(
  'scheme.inputValidity',
  { proofs: int(1, 8).default(3) },
  mappingError('must be "off", null or { proofs }'),
);
/**
 * `inputValidity: { proofs }` sets the number of range proofs per report; absent, the
 * default (3) runs under privagg's modes, none under the paper's; `off` (or false, null)
 * switches them off (a device with valid keys can then move its IAN's total at will).
 */
const InputValidity = z.preprocess(
  (v) => (v === 'off' || v === false ? null : v),
  InputValidityShape.nullable(),
);

const ModesShape = strict(
  'scheme.modes',
  {
    mac: z.enum(['hmac', 'paper-hash']).optional(),
    batch: z.enum(['each', 'paper-sum']).optional(),
    aead: z.boolean().optional(),
    layout: z.enum(['vector', 'per-dimension']).optional(),
    restore: z.enum(['reconcile', 'paper']).optional(),
    queryNoise: z.enum(['derived', 'paper-fresh']).optional(),
  },
  mappingError('must be "default", "paper" or a mapping overriding some of the default modes'),
);
/** `modes: default | paper`, or a mapping of overrides of DEFAULT_MODES. */
const Modes = z.preprocess(
  (v) => (v === 'default' ? {} : v === 'paper' ? { ...PAPER_MODES } : v),
  ModesShape,
);

const Scheme = strict('scheme', {
  ians: int(1, 65_535).default(4),
  devicesPerIan: int(1, 1_000_000).default(25),
  gateways: int(1, 255).default(5),
  /** Default: a majority of the gateways, ⌊m/2⌋ + 1. */
  threshold: int(1, 255).optional(),
  /** f, lying gateways tolerated per IAN; default min(k − 1, m − k) (maas/params.ts). */
  maxLyingGateways: int(0, 255).optional(),
  workload: z.enum(['ai4i', 'synthetic']).default('ai4i'),
  data: z.string().min(1).optional(),
  /** w; only the synthetic workload may choose it (AI4I has 5). */
  dimensions: int(1, 8).optional(),
  ldp: Ldp.prefault({}),
  inputValidity: InputValidity.optional(),
  modes: Modes.prefault('default'),
});

const Rounds = strict('rounds', {
  count: int(0).default(10),
  durationMs: int(1).default(2000),
  epochMs: int(0).optional(),
  restoreDelayMs: int(0).default(500),
  /** Default max(30 000, 2·durationMs). */
  freshnessWindowMs: int(1).optional(),
});

const BrokerShape = strict(
  'broker',
  { url: z.string().min(1).default('embedded') },
  mappingError('must be "embedded", an MQTT URL or { url }'),
);
/** `broker: <url>` is short for `broker: { url: <url> }`. */
const Broker = z.preprocess((v) => (typeof v === 'string' ? { url: v } : v), BrokerShape);

const Ledger = strict('ledger', {
  file: z.string().min(1).default('ledger.sqlite'),
  host: z.string().min(1).default('127.0.0.1'),
  port: int(0, 65_535).default(0),
  batchSize: int(1).default(256),
  batchDelayMs: int(0).default(2),
});

const Budget = strict('oems[].budget', {
  epsilon: z.number().min(0).max(Number.MAX_VALUE),
  delta: z.number().min(0).lt(1).default(0),
});

const Oem = strict('oems[]', {
  name: z.string().min(1).max(200),
  /** Indices or names of the dimensions it may query; default all. */
  dimensions: z
    .array(z.union([int(0), z.string().min(1)], { error: 'must be a dimension name or index' }))
    .optional(),
  /** Default { epsilon: 4·Σ ε_j (four queries of every dimension), delta: 0 }. */
  budget: Budget.optional(),
  /** ε_j > 0, one per dimension, or one number for all. Default 2. */
  epsilonPerDimension: byInput(
    (v) => typeof v === 'number',
    positive,
    z
      .array(positive, {
        error: mappingError('must be ε_j > 0, or a list of one ε_j per dimension'),
      })
      .min(1),
  ).default(2),
});

const Security = strict('security', {
  insecure: z.boolean().default(false),
});

const DeploymentFile = strict('', {
  name: z.string(),
  stateDir: z.string().min(1).default('./state'),
  scheme: Scheme.prefault({}),
  rounds: Rounds.prefault({}),
  broker: Broker.prefault({}),
  ledger: Ledger.prefault({}),
  gatewayHealthBasePort: int(0, 65_535).default(0),
  gatewayProcesses: z.enum(['per-gateway', 'per-index']).default('per-gateway'),
  oems: z.array(Oem).optional(),
  security: Security.prefault({}),
});

type FileContent = z.output<typeof DeploymentFile>;

// ─── Parsing ───────────────────────────────────────────────────────────────────────────

interface Issue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

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

function parseText(text: string, source: string): unknown {
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

function fail(source: string, issues: readonly Issue[]): never {
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

function show(v: unknown): string {
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

function toIssues(issue: z.core.$ZodIssue): Issue[] {
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

// ─── Cross-field checks ────────────────────────────────────────────────────────────────

const BROKER_SCHEMES = ['mqtt:', 'mqtts:', 'tcp:'];

function crossCheck(f: FileContent): Issue[] {
  const issues: Issue[] = [];
  const add = (path: PropertyKey[], message: string) => issues.push({ path, message });
  const s = f.scheme;

  try {
    checkDeploymentName(f.name);
  } catch {
    add(
      ['name'],
      `must be 1–64 of A–Z a–z 0–9 . _ - (it is an MQTT topic level), got ${show(f.name)}`,
    );
  }

  if (s.threshold !== undefined && s.threshold > s.gateways) {
    add(['scheme', 'threshold'], `must be ≤ scheme.gateways (${s.gateways}), got ${s.threshold}`);
  }
  const k = s.threshold ?? Math.floor(s.gateways / 2) + 1;
  if (s.maxLyingGateways !== undefined && s.maxLyingGateways > s.gateways - k) {
    add(
      ['scheme', 'maxLyingGateways'],
      `must be ≤ scheme.gateways − scheme.threshold (${s.gateways} − ${k} = ${s.gateways - k}): more liars could not even be detected, got ${s.maxLyingGateways}`,
    );
  }
  if (s.workload === 'ai4i') {
    if (s.dimensions !== undefined && s.dimensions !== AI4I_FAILURE_TYPES.length) {
      add(
        ['scheme', 'dimensions'],
        `must be ${AI4I_FAILURE_TYPES.length} for workload ai4i, got ${s.dimensions}`,
      );
    }
    const perRound = s.ians * s.devicesPerIan;
    const rounds = Math.max(f.rounds.count, 1);
    if (perRound * rounds > AI4I_ROWS) {
      const counted = f.rounds.count > 0 ? ` × ${f.rounds.count} rounds` : '';
      add(
        f.rounds.count > 0 ? ['rounds', 'count'] : ['scheme', 'devicesPerIan'],
        `${s.ians} IANs × ${s.devicesPerIan} devices${counted} = ${perRound * rounds} readings, ` +
          `but AI4I has ${AI4I_ROWS} rows (one row per reading at least)`,
      );
    }
  } else {
    if (s.data !== undefined) add(['scheme', 'data'], 'only the ai4i workload reads a data file');
    const w = s.dimensions ?? 5;
    const values = s.ians * s.devicesPerIan * syntheticRounds(f.rounds.count) * w;
    if (values > SYNTHETIC_MAX_VALUES) {
      add(
        ['rounds', 'count'],
        `the synthetic workload would hold ${values} values (IANs × devices × rounds × dimensions), ` +
          `more than ${SYNTHETIC_MAX_VALUES}`,
      );
    }
  }

  const r = f.rounds;
  if (r.freshnessWindowMs !== undefined && r.freshnessWindowMs < r.durationMs) {
    add(
      ['rounds', 'freshnessWindowMs'],
      `must be ≥ rounds.durationMs (${r.durationMs}), got ${r.freshnessWindowMs}`,
    );
  }

  // The range proofs ride on the vector layout and are decided by the reconcile restore;
  // asked for with the paper's layout or restore they would silently not run.
  const layout = s.modes.layout ?? DEFAULT_MODES.layout;
  const restore = s.modes.restore ?? DEFAULT_MODES.restore;
  if (s.inputValidity && (layout !== 'vector' || restore !== 'reconcile')) {
    add(
      ['scheme', 'inputValidity'],
      `needs scheme.modes.layout: vector and scheme.modes.restore: reconcile (got ${layout}, ${restore}): the paper's layout and restore cannot carry the proofs; set inputValidity: off to run without`,
    );
  }

  // Shares in clear on the wire are a choice to make explicitly, not a default to fall into.
  const aead = s.modes.aead ?? DEFAULT_MODES.aead;
  if (!aead && !f.security.insecure) {
    add(
      ['scheme', 'modes', 'aead'],
      'false sends every share unencrypted (the paper modes do); set security.insecure: true to allow it',
    );
  }

  const url = f.broker.url;
  if (url !== 'embedded' && url !== 'mosquitto') {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !BROKER_SCHEMES.includes(parsed.protocol) || parsed.hostname === '') {
      add(
        ['broker', 'url'],
        `must be "embedded", "mosquitto" or an mqtt://, mqtts:// or tcp:// URL with a host, got ${show(url)}`,
      );
    } else if (parsed.username !== '' || parsed.password !== '') {
      // A URL reaches logs, child command lines and process listings.
      add(
        ['broker', 'url'],
        'must not carry a user name or password: credentials come from the credential bundles',
      );
    } else if (parsed.protocol !== 'mqtts:' && !f.security.insecure) {
      add(
        ['broker', 'url'],
        `${show(url)} is plaintext: a secure deployment needs mqtts:// to a broker configured with the deployment's CA (privagg credentials issue writes its Mosquitto files), "embedded" or "mosquitto" — or security.insecure: true`,
      );
    }
  }

  const base = f.gatewayHealthBasePort;
  if (base > 0) {
    const last = base + s.ians * s.gateways - 1;
    if (last > 65_535) {
      add(
        ['gatewayHealthBasePort'],
        `${base} + ${s.ians} IANs × ${s.gateways} gateways − 1 = ${last} exceeds port 65535`,
      );
    } else if (f.ledger.port >= base && f.ledger.port <= last) {
      add(
        ['ledger', 'port'],
        `${f.ledger.port} collides with the gateway health ports ${base}–${last}`,
      );
    }
  }

  const names = dimensionNames(s.workload, s.dimensions ?? 5);
  const seen = new Set<string>();
  (f.oems ?? []).forEach((oem, o) => {
    if (seen.has(oem.name)) add(['oems', o, 'name'], `duplicate OEM name ${show(oem.name)}`);
    seen.add(oem.name);
    const dims = new Set<number>();
    (oem.dimensions ?? []).forEach((d, k) => {
      const j = typeof d === 'number' ? d : names.indexOf(d);
      if (j < 0 || j >= names.length) {
        add(
          ['oems', o, 'dimensions', k],
          `unknown dimension ${show(d)} (known: ${names.join(', ')} or 0–${names.length - 1})`,
        );
      } else if (dims.has(j)) {
        add(['oems', o, 'dimensions', k], `dimension ${names[j]} listed twice`);
      }
      dims.add(j);
    });
    const eps = oem.epsilonPerDimension;
    if (Array.isArray(eps) && eps.length !== names.length) {
      add(
        ['oems', o, 'epsilonPerDimension'],
        `needs one ε_j > 0 per dimension (${names.length}: ${names.join(', ')}), got ${eps.length}`,
      );
    }
  });
  return issues;
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

// ─── Spec → parameters and workload ────────────────────────────────────────────────────

function dimensionNames(workload: DeploymentSpec['scheme']['workload'], w: number): string[] {
  return workload === 'ai4i'
    ? [...AI4I_FAILURE_TYPES]
    : Array.from({ length: w }, (_, j) => `d${j + 1}`);
}

function syntheticRounds(count: number): number {
  return count > 0 ? count : SYNTHETIC_OPEN_ENDED_ROUNDS;
}

/** w: 5 for AI4I; for synthetic the file's `scheme.dimensions` (default 5). */
export function dimensionCount(spec: DeploymentSpec): number {
  if (spec.scheme.workload === 'ai4i') return AI4I_FAILURE_TYPES.length;
  return (spec.scheme as { dimensions?: number }).dimensions ?? 5;
}

/** The names of the spec's dimensions: TWF…RNF for AI4I, d1…dw for synthetic. */
export function dimensionNamesOf(spec: DeploymentSpec): string[] {
  return dimensionNames(spec.scheme.workload, dimensionCount(spec));
}

/**
 * Rounds the workload covers: rounds.count, or when it is 0 (run until SIGINT) as many as
 * AI4I holds at one row per reading, or SYNTHETIC_OPEN_ENDED_ROUNDS. A runtime that runs
 * past them must wrap (round mod workloadRounds).
 */
export function workloadRounds(spec: DeploymentSpec): number {
  const { count } = spec.rounds;
  if (spec.scheme.workload === 'synthetic') return syntheticRounds(count);
  return count > 0 ? count : Math.floor(AI4I_ROWS / (spec.scheme.ians * spec.scheme.devicesPerIan));
}

/** AI4I rows per reading, R = ⌊rows / (z·n·rounds)⌋, as Ai4iWorkload's default computes it. */
export function ai4iRowsPerReading(spec: DeploymentSpec): number {
  return Math.floor(
    AI4I_ROWS / (spec.scheme.ians * spec.scheme.devicesPerIan * workloadRounds(spec)),
  );
}

/** The MaaS parameters every process of the deployment derives from the spec. */
export function toMaasParams(spec: DeploymentSpec): MaasParams {
  const names = dimensionNamesOf(spec);
  const max = spec.scheme.workload === 'ai4i' ? ai4iRowsPerReading(spec) : SYNTHETIC_MAX_READING;
  return defaultMaasParams({
    deployment: spec.name,
    ians: spec.scheme.ians,
    devicesPerIan: spec.scheme.devicesPerIan,
    gateways: spec.scheme.gateways,
    threshold: spec.scheme.threshold,
    ...(spec.scheme.maxLyingGateways !== undefined
      ? { maxLyingGateways: spec.scheme.maxLyingGateways }
      : {}),
    dimensions: names,
    maxReading: names.map(() => max),
    ldp: spec.scheme.ldp ? { ...spec.scheme.ldp } : null,
    ...(spec.scheme.inputValidity !== undefined
      ? { validity: spec.scheme.inputValidity ? { ...spec.scheme.inputValidity } : null }
      : {}),
    freshnessWindowMs: spec.rounds.freshnessWindowMs,
    modes: { ...spec.scheme.modes },
  });
}

/**
 * The workload the devices read: AI4I (rows per reading fixed to toMaasParams' maxReading,
 * so the two always agree) or synthetic, seeded from the deployment name so every process
 * builds the same readings.
 */
export function workloadFor(spec: DeploymentSpec): Workload {
  const shape = {
    ians: spec.scheme.ians,
    devicesPerIan: spec.scheme.devicesPerIan,
    rounds: workloadRounds(spec),
  };
  if (spec.scheme.workload === 'ai4i') {
    return loadAi4iWorkload(
      { ...shape, rowsPerReading: ai4iRowsPerReading(spec) },
      spec.scheme.data !== undefined ? { path: spec.scheme.data } : {},
    );
  }
  return new SyntheticWorkload({
    ...shape,
    dimensions: dimensionCount(spec),
    dimensionNames: dimensionNamesOf(spec),
    maxReading: SYNTHETIC_MAX_READING,
    rng: seededRandom(`privagg/deployment/v1/${spec.name}/synthetic`),
  });
}
