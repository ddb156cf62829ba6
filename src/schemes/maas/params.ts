import { ensure } from '../../errors.js';
import { bitLength, defaultField, type PrimeField } from '../../math/field.js';

/**
 * Parameters of one MaaS deployment (docs/SCHEMES.md §1), fixed by the TA at setup.
 *
 * `modes` selects between the paper's constructions and privagg's sound defaults;
 * every paper mode is kept so a test can show what goes wrong with it.
 */
export interface MaasModes {
  /**
   * 'hmac' (default): HMAC-SHA256 under a key only the device and that gateway hold.
   * 'paper-hash': the paper's mac = H2(i‖j‖l‖rd‖t‖ID_DS‖share), which any party that
   * knows ID_DS (every gateway does) can compute, so a gateway can forge device messages.
   */
  mac: 'hmac' | 'paper-hash';
  /**
   * 'each' (default): every tag is checked on its own; bad messages are named.
   * 'paper-sum': the paper's batch check Σ mac = Σ H(…) (eq. 7), which passes when two
   * messages' tags are swapped; when it fails, bisection names the failing messages.
   */
  batch: 'each' | 'paper-sum';
  /** AES-256-GCM of the shares on each DS→GW link (default on; the paper sends shares in clear). */
  aead: boolean;
  /** 'vector' (default): one message per gateway with all w shares; 'per-dimension': the paper's w messages. */
  layout: 'vector' | 'per-dimension';
  /**
   * 'reconcile' (default): partials carry contributor sets; the ledger only interpolates
   * partials over the same set and asks gateways to re-aggregate over the intersection.
   * 'paper': interpolate whatever k partials arrived (a gateway that missed a device
   * silently corrupts the total).
   */
  restore: 'reconcile' | 'paper';
  /**
   * 'derived' (default): query noise is derived from a ledger secret and the query window,
   * so a repeated query returns the same noise, and each distinct query spends the OEM's budget.
   * 'paper-fresh': fresh noise per query and no budget (averaging removes the noise).
   */
  queryNoise: 'derived' | 'paper-fresh';
}

export const DEFAULT_MODES: MaasModes = {
  mac: 'hmac',
  batch: 'each',
  aead: true,
  layout: 'vector',
  restore: 'reconcile',
  queryNoise: 'derived',
};

export const PAPER_MODES: MaasModes = {
  mac: 'paper-hash',
  batch: 'paper-sum',
  aead: false,
  layout: 'per-dimension',
  restore: 'paper',
  queryNoise: 'paper-fresh',
};

/**
 * How far a gateway re-sums on the ledger's request (see resumRule.ts). Re-sums over
 * nested device sets whose differences hold at least `minDifference` devices reveal only
 * sums over blocks of that many devices; without the rule, partials over S and S∖{i}
 * give device i's exact share to whoever sees both. The paper has no re-aggregation, so
 * the same limits hold in every mode.
 */
export interface ReconcileParams {
  /** Re-sums one gateway answers per round, resends included (0..255). Default 3. */
  maxReaggregations: number;
  /** Fewest devices by which a new target may differ from the last set summed (≥ 2). Default 2. */
  minDifference: number;
}

export const DEFAULT_RECONCILE: ReconcileParams = Object.freeze({
  maxReaggregations: 3,
  minDifference: 2,
});

export interface MaasParams {
  /** Deployment name; bound into identities, keys and MACs. */
  deployment: string;
  /** z: industrial area networks. */
  ians: number;
  /** n: device sensors per IAN (roster size; devices are indexed 0..n−1). */
  devicesPerIan: number;
  /** m: gateways per IAN. */
  gateways: number;
  /** k: partials needed to restore. */
  threshold: number;
  /** w: dimensions of a reading, and their names. */
  dimensions: readonly string[];
  /** Upper bound of each dimension's raw reading; readings are normalised to [0,1] by it. */
  maxReading: readonly number[];
  /** (ε, δ) of the device's LDP mechanism (docs/SCHEMES.md §11), or null to switch LDP off. */
  ldp: { epsilon: number; delta: number } | null;
  /** Fixed-point scale for perturbed readings (LDP on). With LDP off, raw integer counts are shared. */
  scale: number;
  field: PrimeField;
  /** A message whose timestamp is further than this from the receiver's clock is stale. */
  freshnessWindowMs: number;
  modes: MaasModes;
  /** Bounds on re-aggregation (the no-differencing rule); the same in DEFAULT and PAPER modes. */
  reconcile: ReconcileParams;
  /**
   * f: lying gateways tolerated per IAN (0 ≤ f ≤ m − k). A restore uses r partials over
   * one contributor set: a Reed–Solomon codeword of distance r − k + 1, which corrects τ
   * lies and detects f at once iff τ + f ≤ r − k (see `decodingRadius`). So a restore
   * needs r ≥ k + f partials (fewer fail the IAN-round: f liars could agree on a wrong
   * total), corrects and names up to τ = min(⌊(r − k)/2⌋, r − k − f) liars, and fails the
   * IAN-round when it detects more. With at most f liars a restored total is exact and
   * no honest gateway is named. f = 0 is the maximum radius: the most correction, no
   * detection promise (two colluders at m = 5, k = 3 steer the total and name an honest
   * gateway). Default: `defaultMaxLyingGateways`. The paper's restore ('paper') checks
   * nothing and ignores f.
   */
  maxLyingGateways: number;
  /**
   * Input validity (docs/VALIDITY.md): each report carries a fully linear proof that every
   * dimension lies in its range (the LDP output's fixed-point range, or [0, maxReading]
   * with LDP off), checked on the shares by the gateways and decided by the ledger before
   * any sum including the device is interpolated. `proofs` independent proofs (3: about
   * 2^-114 of a grinding attacker's success over 2^61 − 1). `defaultMaasParams` gives
   * DEFAULT_VALIDITY. null switches it off: a device with valid keys can then move its
   * IAN's total by up to the whole IAN's range (the paper has no such check). Needs the
   * 'vector' layout and the 'reconcile' restore; the paper's modes run without it.
   */
  validity: { proofs: number } | null;
}

/** The default input validity: three proofs (docs/VALIDITY.md, Soundness). */
export const DEFAULT_VALIDITY: { proofs: number } = Object.freeze({ proofs: 3 });

/**
 * The default f = min(k − 1, m − k). Shamir's threshold already assumes that up to k − 1
 * gateways may collude (they learn nothing); the same coalition must not be able to
 * steer a total either, so it is the number of liars tolerated, as far as the m − k
 * redundant partials allow. At m = 5, k = 3 that is f = 2: τ = 0 with all five partials,
 * so any lie is detected and none corrected (two colluders can no longer out-vote one
 * honest gateway), and every one of the five gateways must answer. A deployment that
 * prefers to ride out a crashed gateway lowers f (f = 1 needs k + 1 = 4), or adds gateways.
 */
export function defaultMaxLyingGateways(gateways: number, threshold: number): number {
  return Math.max(0, Math.min(threshold - 1, gateways - threshold));
}

/**
 * The correction radius τ for r partials of a k-threshold sharing when f liars must always
 * be detected: τ = min(⌊(r − k)/2⌋, r − k − f). Null when r − k < f: then f liars can
 * make r partials agree on a wrong polynomial, and no radius is safe.
 */
export function decodingRadius(
  received: number,
  threshold: number,
  maxLyingGateways: number,
): number | null {
  const redundancy = received - threshold;
  if (redundancy < maxLyingGateways || redundancy < 0) return null;
  return Math.min(Math.floor(redundancy / 2), redundancy - maxLyingGateways);
}

export function defaultMaasParams(overrides: Partial<MaasParams> = {}): MaasParams {
  // Proofs asked for by name with the paper's layout or restore would silently not run
  // (validateMaasParams drops them for parameters spread from elsewhere): refuse instead.
  const modes = overrides.modes ?? DEFAULT_MODES;
  ensure(
    !overrides.validity || (modes.layout === 'vector' && modes.restore === 'reconcile'),
    "input validity needs the 'vector' layout and the 'reconcile' restore (the paper's cannot carry the proofs): pass validity: null with them",
    { layout: modes.layout, restore: modes.restore },
  );
  return withDefaults(overrides);
}

function withDefaults(overrides: Partial<MaasParams>): MaasParams {
  const dimensions = overrides.dimensions ?? ['TWF', 'HDF', 'PWF', 'OSF', 'RNF'];
  return validateMaasParams({
    deployment: 'privagg-demo',
    ians: 4,
    devicesPerIan: 25,
    gateways: 5,
    threshold: 3,
    dimensions,
    maxReading: dimensions.map(() => 5),
    ldp: { epsilon: 1, delta: 1e-3 },
    scale: 2 ** 20,
    field: defaultField,
    freshnessWindowMs: 30_000,
    modes: DEFAULT_MODES,
    reconcile: DEFAULT_RECONCILE,
    ...overrides,
    // On by default, off under the paper's layout or restore (they cannot carry it).
    validity: overrides.validity !== undefined ? overrides.validity : DEFAULT_VALIDITY,
  });
}

/** MaasParams as stored before `reconcile`, `maxLyingGateways` and `validity` existed may lack them. */
export type StoredMaasParams = Omit<MaasParams, 'reconcile' | 'maxLyingGateways' | 'validity'> & {
  reconcile?: ReconcileParams | undefined;
  maxLyingGateways?: number | undefined;
  validity?: { proofs: number } | null | undefined;
};

/**
 * Checks every parameter; the limits come from the wire format (u8 gateway index, u16 IAN, …).
 * Parameters stored before `reconcile` or `maxLyingGateways` existed (a ledger file's
 * configuration) get DEFAULT_RECONCILE and `defaultMaxLyingGateways(m, k)`; use the
 * returned object.
 */
export function validateMaasParams(given: StoredMaasParams): MaasParams {
  // Complete parameters are returned as given (callers may keep their own reference).
  // The paper's layout and restore cannot carry the proofs: parameters spread from the
  // defaults into them run without (the paper's modes announce themselves as insecure).
  const validityFits = given.modes.layout === 'vector' && given.modes.restore === 'reconcile';
  const p: MaasParams =
    given.reconcile !== undefined &&
    given.maxLyingGateways !== undefined &&
    given.validity !== undefined &&
    (validityFits || given.validity === null)
      ? (given as MaasParams)
      : {
          ...given,
          reconcile: given.reconcile ?? DEFAULT_RECONCILE,
          maxLyingGateways:
            given.maxLyingGateways ?? defaultMaxLyingGateways(given.gateways, given.threshold),
          // A configuration stored before validity existed ran without it.
          validity: validityFits ? (given.validity ?? null) : null,
        };
  const int = (x: number, lo: number, hi: number, name: string) =>
    ensure(
      Number.isInteger(x) && x >= lo && x <= hi,
      `${name} must be an integer in [${lo}, ${hi}]`,
      { [name]: x },
    );
  int(p.ians, 1, 65_535, 'ians');
  int(p.devicesPerIan, 1, 1_000_000, 'devicesPerIan');
  int(p.gateways, 1, 255, 'gateways');
  int(p.threshold, 1, p.gateways, 'threshold');
  // More than m − k could not even be detected with every partial in hand.
  ensure(
    Number.isInteger(p.maxLyingGateways) &&
      p.maxLyingGateways >= 0 &&
      p.maxLyingGateways <= p.gateways - p.threshold,
    `maxLyingGateways (f) must be an integer in [0, m − k] = [0, ${p.gateways - p.threshold}]: ` +
      'detecting f lying gateways takes k + f partials',
    { maxLyingGateways: p.maxLyingGateways, gateways: p.gateways, threshold: p.threshold },
  );
  ensure(p.dimensions.length >= 1 && p.dimensions.length <= 8, 'between 1 and 8 dimensions', {
    w: p.dimensions.length,
  });
  ensure(p.maxReading.length === p.dimensions.length, 'one maxReading per dimension');
  for (const m of p.maxReading)
    ensure(Number.isFinite(m) && m > 0, 'maxReading must be positive', { m });
  ensure(Number.isFinite(p.scale) && p.scale >= 1, 'scale must be ≥ 1', { scale: p.scale });
  ensure(p.freshnessWindowMs > 0, 'freshnessWindowMs must be positive');
  ensure(
    p.deployment.length > 0 && p.deployment.length <= 200,
    'deployment name must be 1..200 characters',
  );
  ensure(
    typeof p.reconcile === 'object' && p.reconcile !== null,
    'reconcile must be { maxReaggregations, minDifference }',
  );
  int(p.reconcile.maxReaggregations, 0, 255, 'reconcile.maxReaggregations');
  // 1 would let nested sets differ by one device: exactly the differencing attack.
  int(p.reconcile.minDifference, 2, 1_000_000, 'reconcile.minDifference');
  if (p.ldp) {
    ensure(p.ldp.epsilon > 0 && Number.isFinite(p.ldp.epsilon), 'ε must be positive', {
      epsilon: p.ldp.epsilon,
    });
    ensure(p.ldp.delta >= 0 && p.ldp.delta < 1, 'δ must be in [0, 1)', { delta: p.ldp.delta });
  }
  if (p.validity !== null) {
    ensure(
      typeof p.validity === 'object' &&
        Number.isInteger(p.validity.proofs) &&
        p.validity.proofs >= 1 &&
        p.validity.proofs <= 8,
      'validity must be null or { proofs: 1..8 }',
      { validity: p.validity },
    );
    ensure(
      p.modes.layout === 'vector' && p.modes.restore === 'reconcile',
      "input validity needs the 'vector' layout and the 'reconcile' restore",
      { layout: p.modes.layout, restore: p.modes.restore },
    );
  }
  return p;
}

/** Bytes of one field element on the wire: ⌈log2 p / 8⌉ (8 for 2^61 − 1). */
export function shareBytes(p: MaasParams): number {
  return Math.ceil(bitLength(p.field.p) / 8);
}
