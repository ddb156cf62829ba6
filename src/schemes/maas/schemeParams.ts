import { z } from 'zod';
import { ensure } from '../../errors.js';
import { RECONCILE_FIXED_BYTES } from '../../wire/control.js';
import { deviceReportSizeFor } from '../../wire/maas.js';
import type { MessageSizes, Population, SchemeProperties } from '../scheme.js';
import {
  DEFAULT_MODES,
  decodingRadius,
  defaultMaasParams,
  type MaasModes,
  type MaasParams,
  PAPER_MODES,
  shareBytes,
} from './params.js';
import { ensurePartialsFit, maxPartialBytesOf } from './partialCodec.js';
import { ReadingCodec } from './readingCodec.js';
import { proofPayloadBytes, reportValidityFor } from './reportValidity.js';

/**
 * The MaaS parameters behind the scheme seam. The field names and shorthands are the
 * deployment file's `scheme` section (src/node/deploymentFile.ts), minus what the seam's
 * `Population` carries (IANs = groups, devicesPerIan, dimensions with names and bounds),
 * plus what the file keeps elsewhere (the deployment name, freshness window) or not at
 * all (fixed-point scale, re-aggregation bounds, registration time), so a later step can
 * move the file's `scheme.params` onto this schema as it is. `parse({})` gives today's
 * defaults (`defaultMaasParams`: m = 5, k = 3, f = min(k − 1, m − k), LDP ε = 1 δ = 10⁻³,
 * three range proofs, privagg's sound modes).
 */
const positive = z.number().positive().max(Number.MAX_VALUE);
/** `off`, `false` and `null` switch a feature off, as in the deployment file. */
const off = (v: unknown) => (v === 'off' || v === false ? null : v);

const Ldp = z.preprocess(
  off,
  z
    .strictObject({
      epsilon: positive.default(1),
      delta: z.number().min(0).lt(1).default(0.001),
    })
    .nullable(),
);

const InputValidity = z.preprocess(
  off,
  z.strictObject({ proofs: z.int().min(1).max(8).default(3) }).nullable(),
);

/** Each mode a deployment may override, and its choices (the deployment file's schema uses these too). */
export const MODE_FIELDS = {
  mac: z.enum(['hmac', 'paper-hash']).optional(),
  batch: z.enum(['each', 'paper-sum']).optional(),
  aead: z.boolean().optional(),
  layout: z.enum(['vector', 'per-dimension']).optional(),
  restore: z.enum(['reconcile', 'paper']).optional(),
  queryNoise: z.enum(['derived', 'paper-fresh']).optional(),
};

/** `modes: default | paper`, or a mapping of overrides of DEFAULT_MODES (the file's shorthand). */
const Modes = z
  .preprocess(
    (v) => (v === 'default' ? {} : v === 'paper' ? { ...PAPER_MODES } : v),
    z.strictObject(MODE_FIELDS),
  )
  .transform((m): MaasModes => {
    const out: MaasModes = { ...DEFAULT_MODES };
    for (const [k, v] of Object.entries(m)) if (v !== undefined) Object.assign(out, { [k]: v });
    return out;
  });

export const maasSchemeParams = z.strictObject({
  /** The deployment name: bound into identities, keys, MACs and control messages. */
  deployment: z.string().min(1).max(200).default('privagg-demo'),
  /** m: gateways per IAN. */
  gateways: z.int().min(1).max(255).default(5),
  /** k: partials needed to restore. Default: a majority of the gateways, ⌊m/2⌋ + 1 (as the file). */
  threshold: z.int().min(1).max(255).optional(),
  /** f: lying gateways tolerated per IAN. Default min(k − 1, m − k) (params.ts). */
  maxLyingGateways: z.int().min(0).max(255).optional(),
  /** The devices' (ε, δ)-LDP, or off (exact sums). */
  ldp: Ldp.prefault({}),
  /** Range proofs per report; absent: 3 under privagg's modes, none under the paper's. */
  inputValidity: InputValidity.optional(),
  modes: Modes.prefault('default'),
  /** Fixed-point scale of perturbed readings (LDP on). */
  scale: z
    .number()
    .min(1)
    .max(2 ** 52)
    .default(2 ** 20),
  /** A message further than this from the receiver's clock is stale. */
  freshnessWindowMs: z.int().min(1).max(Number.MAX_SAFE_INTEGER).default(30_000),
  /** The no-differencing bounds of re-aggregation (resumRule.ts). */
  reconcile: z
    .strictObject({
      maxReaggregations: z.int().min(0).max(255).default(3),
      minDifference: z.int().min(2).max(1_000_000).default(2),
    })
    .prefault({}),
  /**
   * The TA's registration time t of the identities ID = H1(role ‖ id ‖ service ‖ t): the
   * seam's setup has no clock, so it is a parameter (a deployment puts the time its TA
   * registered, src/node/masterSecret.ts; default 0). It is public (identities are
   * labels, not secrets) and doubles as the `epochMs` of the center's signed reconcile
   * requests (wire/control.ts).
   */
  registeredAtMs: z.int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
});

export type MaasSchemeParams = z.output<typeof maasSchemeParams>;

/** The population's shape as MaaS limits it; the rest is validateMaasParams'. */
function checkPopulation(pop: Population): void {
  ensure(
    Number.isInteger(pop.groups) && Number.isInteger(pop.devicesPerGroup),
    'groups and devicesPerGroup must be integers',
    { groups: pop.groups, devicesPerGroup: pop.devicesPerGroup },
  );
  const names = new Set(pop.dimensions.map((d) => d.name));
  ensure(names.size === pop.dimensions.length, 'dimension names must be distinct');
}

/**
 * `MaasParams` from the seam's parameters and population: IANs = groups, devices per IAN,
 * dimension names and bounds from the population; the rest from `p`. Runs today's
 * validation (defaultMaasParams → validateMaasParams, ensurePartialsFit, the reading
 * codec's no-wrap check), so the same errors come out as from createMaasDeployment.
 */
export function maasParamsOf(p: MaasSchemeParams, pop: Population): MaasParams {
  checkPopulation(pop);
  const params = defaultMaasParams({
    deployment: p.deployment,
    ians: pop.groups,
    devicesPerIan: pop.devicesPerGroup,
    gateways: p.gateways,
    threshold: p.threshold ?? Math.floor(p.gateways / 2) + 1,
    ...(p.maxLyingGateways !== undefined ? { maxLyingGateways: p.maxLyingGateways } : {}),
    dimensions: pop.dimensions.map((d) => d.name),
    maxReading: pop.dimensions.map((d) => d.max),
    ldp: p.ldp ? { ...p.ldp } : null,
    ...(p.inputValidity !== undefined
      ? { validity: p.inputValidity ? { ...p.inputValidity } : null }
      : {}),
    scale: p.scale,
    freshnessWindowMs: p.freshnessWindowMs,
    modes: { ...p.modes },
    reconcile: { ...p.reconcile },
  });
  ensurePartialsFit(params);
  // Throws when a full IAN could wrap the field (as createMaasDeployment's codec does).
  new ReadingCodec(params);
  return params;
}

/**
 * The parameters as the configuration publishes them: every default resolved (k, f, input
 * validity), so parsing this again gives the same MaasParams.
 */
export function resolvedParams(p: MaasSchemeParams, params: MaasParams): MaasSchemeParams {
  return {
    deployment: params.deployment,
    gateways: params.gateways,
    threshold: params.threshold,
    maxLyingGateways: params.maxLyingGateways,
    ldp: params.ldp ? { ...params.ldp } : null,
    inputValidity: params.validity ? { ...params.validity } : null,
    modes: { ...params.modes },
    scale: params.scale,
    freshnessWindowMs: params.freshnessWindowMs,
    reconcile: { ...params.reconcile },
    registeredAtMs: p.registeredAtMs,
  };
}

/**
 * Exact bytes per channel: 'report' one device → gateway message (in the paper's
 * per-dimension layout a device sends w of them per gateway, each this size), 'partial'
 * the largest partial (a first one over the whole roster, verifier section included),
 * 'reconcile' the center's signed request (wire/control.ts).
 */
export function maasSizes(params: MaasParams): MessageSizes {
  const validity = reportValidityFor(params);
  const width = params.modes.layout === 'vector' ? params.dimensions.length : 1;
  const payload = validity ? proofPayloadBytes(validity) : width * shareBytes(params);
  return {
    report: deviceReportSizeFor(payload, params.modes.aead),
    partial: maxPartialBytesOf(params),
    reconcile:
      RECONCILE_FIXED_BYTES + Math.ceil(params.gateways / 8) + Math.ceil(params.devicesPerIan / 8),
  };
}

/** What `privagg schemes` compares, in terms of the configured k, m and f. */
export function maasProperties(params: MaasParams): SchemeProperties {
  const { threshold: k, gateways: m, maxLyingGateways: f, modes, ldp, validity } = params;
  const paperRestore = modes.restore === 'paper';
  const tau = decodingRadius(m, k, f) ?? 0;
  const link = modes.aead
    ? 'sealed with AES-256-GCM per device–gateway link'
    : 'sent in clear on each device–gateway link (the paper modes)';
  const privacy =
    `Shamir ${k}-of-${m} sharing per IAN: any ${k - 1} gateway(s) together learn nothing of a ` +
    `reading; shares ${link}; the center recovers only IAN sums` +
    (ldp ? `, of readings already perturbed by the devices' LDP` : ' (exact: LDP is off)') +
    `; re-sums only over nested sets at least ${params.reconcile.minDifference} devices apart`;
  const tags =
    modes.mac === 'hmac'
      ? 'HMAC-SHA256 per device–gateway link, Ed25519-signed partials'
      : "the paper's hash tags (any gateway can forge a device's, the center a partial)";
  const integrity =
    `${tags}; center-signed reconcile requests; freshness window ${params.freshnessWindowMs} ms ` +
    `and replay caches; ` +
    (validity
      ? `input validity: ${validity.proofs} range proof(s) per report, decided before any sum including the device is interpolated`
      : 'no input validity: a keyed device can move its IAN total by up to its whole range') +
    (paperRestore ? '' : '; restored sums decoded strictly');
  const deviceFaults = paperRestore
    ? "any silent device; one that reaches only some gateways corrupts the total unnoticed (the paper's restore interpolates whatever k partials summed)"
    : `any: the sum is over the devices every used gateway received; differing contributor sets are reconciled by at most ${params.reconcile.maxReaggregations} re-aggregation(s), devices withheld so no two sums of a gateway differ by fewer than ${params.reconcile.minDifference}`;
  const aggregatorFaults = paperRestore
    ? `up to m − k = ${m - k} gateway(s) down; a lying gateway is neither detected nor corrected (the paper's restore)`
    : `up to m − k − f = ${m - k - f} gateway(s) down (k + f = ${k + f} partials over one set needed); ` +
      `f = ${f} lying gateway(s) always detected, up to τ = min(⌊(r − k)/2⌋, r − k − f) corrected ` +
      `and named (τ = ${tau} with all ${m} partials); a detected lie beyond τ fails the round` +
      (f === 0 ? '; with exactly k partials nothing is cross-checked' : '');
  return {
    privacy,
    integrity,
    deviceFaults,
    aggregatorFaults,
    dp: ldp
      ? `(ε = ${ldp.epsilon}, δ = ${ldp.delta})-LDP per reading and dimension (square wave, docs/SCHEMES.md §11); query noise is outside the seam`
      : 'none',
    exact: ldp === null,
    // Berlekamp–Welch over all m partials corrects up to τ liars; with f ≥ 1 a lie beyond τ
    // is still seen (the round fails); the paper's restore interpolates whatever it gets.
    lyingAggregator: paperRestore
      ? 'undetected'
      : tau >= 1
        ? 'corrected'
        : f >= 1
          ? 'detected'
          : 'undetected',
  };
}
