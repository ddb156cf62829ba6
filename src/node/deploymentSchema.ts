import { z } from 'zod';
import { PAPER_MODES } from '../schemes/maas/params.js';
import { MODE_FIELDS } from '../schemes/maas/schemeParams.js';

/**
 * The deployment file's schema (zod): every key, its type, default and shorthand. Unknown
 * keys are errors; each strict object records its keys so an unknown one can be answered
 * with a suggestion (deploymentIssues.ts).
 */
const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.int().min(min).max(max);
const positive = z.number().positive().max(Number.MAX_VALUE);

/** z.strictObject whose shape is recorded, so an unknown key can be answered with a suggestion. */
export const KNOWN_KEYS = new Map<string, readonly string[]>();
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
  MODE_FIELDS,
  mappingError('must be "default", "paper" or a mapping overriding some of the default modes'),
);
/** `modes: default | paper`, or a mapping of overrides of DEFAULT_MODES. */
const Modes = z.preprocess(
  (v) => (v === 'default' ? {} : v === 'paper' ? { ...PAPER_MODES } : v),
  ModesShape,
);

const Scheme = strict('scheme', {
  /**
   * The aggregation scheme (privagg schemes lists them). 'maas' takes its parameters as the
   * fields below and runs on its own runtime; every other scheme takes them in `params`,
   * validated by the scheme's own schema (crossCheck), and runs on the seam's runtime.
   */
  id: z.string().min(1).default('maas'),
  params: z
    .record(z.string(), z.unknown(), { error: 'must be a mapping of the scheme’s parameters' })
    .optional(),
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

export const DeploymentFile = strict('', {
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

export type FileContent = z.output<typeof DeploymentFile>;
