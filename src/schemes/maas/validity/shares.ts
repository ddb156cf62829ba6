import { decodeShareVectors } from '../../../crypto/berlekampWelch.js';
import { sha256 } from '../../../crypto/bytes.js';
import {
  assertShareIndex,
  assertShareIndices,
  type ShamirParams,
  ShamirReconstructor,
  type ShareVector,
  splitVector,
} from '../../../crypto/shamir.js';
import { ErrorCode, ensure, isPrivaggError, PrivaggError } from '../../../errors.js';
import type { RandomSource } from '../../../math/random.js';
import { encodeElements } from '../../../wire/fieldElements.js';
import type { RangeCircuit } from './circuit.js';
import { Flp, type ProofFailure } from './flp.js';
import {
  BLIND_BYTES,
  expandFieldElements,
  jointRandPart,
  jointRandSeed,
  PART_BYTES,
  partMatches,
  proofPart,
  queryRandSeed,
  SEED_BYTES,
} from './randomness.js';

/**
 * The FLP on Shamir shares (docs/VALIDITY.md): the device shares (x ‖ π) with threshold k
 * over m gateways, each gateway applies the FLP's linear queries to its share and gets a
 * share of the verifier message, and the ledger interpolates the verifier from the same
 * gateways whose partials it restores and decides. Sans-I/O: arrays and bytes in,
 * arrays, bytes and verdicts out.
 */

export interface ValidityOptions {
  /** Independent proofs (soundness error to the power `proofs`). Default 3 (docs/VALIDITY.md). */
  readonly proofs?: number;
}

/** What gateway l receives from the device, besides the public parts. */
export interface GatewayValidityShare {
  readonly gateway: number;
  /** Gateway l's share of the encoded measurement x (the bits). */
  readonly measurement: readonly bigint[];
  /** Gateway l's share of the proof π. */
  readonly proof: readonly bigint[];
  /** BLIND_BYTES secret bytes for gateway l only. */
  readonly blind: Uint8Array;
}

/** The parts of every gateway, in gateway order 1..m; the same bytes go to every gateway. */
export interface ValidityParts {
  readonly jointParts: readonly Uint8Array[];
  readonly proofParts: readonly Uint8Array[];
}

export interface DeviceValidityReport {
  /** One per gateway, index l − 1. */
  readonly shares: readonly GatewayValidityShare[];
  readonly parts: ValidityParts;
}

/** Gateway l's share of the verifier message, sent to the ledger. */
export interface VerifierShare {
  readonly gateway: number;
  readonly verifier: readonly bigint[];
  /** The query seed gateway l derived: every gateway the ledger uses must agree on it. */
  readonly querySeed: Uint8Array;
}

export type GatewayCheck =
  | { readonly ok: true; readonly share: VerifierShare }
  | {
      readonly ok: false;
      /** The device's part for this gateway does not match the share it sent: refuse it. */
      readonly reason: 'joint-part-mismatch' | 'proof-part-mismatch';
    };

export type ValidityDecision =
  | { readonly valid: true; readonly gateways: readonly number[] }
  | {
      readonly valid: false;
      /** Gateways derived different query seeds: the device sent them different parts (or one lies). */
      readonly reason: 'randomness-mismatch';
      readonly groups: readonly (readonly number[])[];
    }
  | {
      readonly valid: false;
      /**
       * More than k verifier shares that do not lie on one polynomial of degree < k: the
       * device's sharing is inconsistent, or a gateway lies. `suspects` (when asked for
       * with maxErrors > 0 and decodable) are the gateways off the decoded polynomial —
       * evidence only: a device can make an honest gateway look like a liar.
       */
      readonly reason: 'inconsistent-verifier';
      readonly gateways: readonly number[];
      readonly suspects?: readonly number[];
    }
  | {
      readonly valid: false;
      /** The verifier refuses: the input is not in range (or the proof is not for it). */
      readonly reason: 'proof-refused';
      readonly failures: readonly ProofFailure[];
    };

/** The prover step, injectable so tests can play a cheating device. */
export type ProveFunction = (
  x: readonly bigint[],
  proveRand: readonly bigint[],
  jointRand: readonly bigint[],
) => readonly bigint[];

export interface ValidityWireSizes {
  /** Encoded measurement length (bits) and proof length, in field elements. */
  readonly measurementElements: number;
  readonly proofElements: number;
  readonly verifierElements: number;
  /** Bytes of one element on the wire. */
  readonly elementBytes: number;
  /** Device → gateway l: x_l ‖ π_l ‖ blind_l ‖ 2m parts (replaces the w plain shares). */
  readonly deviceToGatewayBytes: number;
  /** Gateway l → ledger, per device: verifier share ‖ query seed. */
  readonly gatewayToLedgerBytes: number;
}

const MAX_CACHED_RECONSTRUCTORS = 64;

export class ValidityScheme {
  readonly flp: Flp;
  readonly elementBytes: number;
  /** SHA-256 of every public parameter: bound into both seeds, so a mismatch refuses. */
  readonly config: Buffer;
  private readonly reconstructors = new Map<string, ShamirReconstructor>();

  constructor(
    readonly circuit: RangeCircuit,
    readonly shamir: ShamirParams,
    options: ValidityOptions = {},
  ) {
    ensure(circuit.field.p === shamir.field.p, 'circuit and sharing must use one field');
    this.flp = new Flp(circuit, options.proofs ?? 3);
    this.elementBytes = Math.ceil(circuit.field.bits / 8);
    const ranges = circuit.dimensions.map((d) => `${d.min}:${d.max}`).join(',');
    this.config = sha256(
      Buffer.from(
        `privagg/maas-validity/v1/config|p=${circuit.field.p}|k=${shamir.threshold}` +
          `|m=${shamir.shareCount}|ranges=${ranges}|chunk=${circuit.chunk}|proofs=${this.flp.proofs}`,
      ),
    );
  }

  sizes(): ValidityWireSizes {
    const E = this.elementBytes;
    const m = this.shamir.shareCount;
    const N = this.circuit.inputLength;
    return {
      measurementElements: N,
      proofElements: this.flp.proofLength,
      verifierElements: this.flp.verifierLength,
      elementBytes: E,
      deviceToGatewayBytes: (N + this.flp.proofLength) * E + BLIND_BYTES + 2 * m * PART_BYTES,
      gatewayToLedgerBytes: this.flp.verifierLength * E + SEED_BYTES,
    };
  }

  // ── Device ──

  /** Encodes the reading (field elements, in range), proves and shares it. */
  shareReport(
    values: readonly bigint[],
    context: Uint8Array,
    rng: RandomSource,
  ): DeviceValidityReport {
    return this.shareEncoded(this.circuit.encode(values), context, rng);
  }

  /**
   * Shares an already encoded x, then `proveAndCommit`. x is not checked: a cheating
   * device is this with a bad x (or a bad `prove`).
   */
  shareEncoded(
    x: readonly bigint[],
    context: Uint8Array,
    rng: RandomSource,
    prove?: ProveFunction,
  ): DeviceValidityReport {
    ensure(x.length === this.circuit.inputLength, 'encoded input has the wrong length', {
      given: x.length,
      expected: this.circuit.inputLength,
    });
    const xShares = splitVector(this.shamir, x, rng).map((v) => v.ys);
    return this.proveAndCommit(x, xShares, context, rng, prove);
  }

  /**
   * The device's steps after sharing x: commit to the measurement shares (blinded joint
   * parts), derive the joint randomness, prove x, share π, commit to π's shares (proof
   * parts). `measurementShares[l − 1]` is what gateway l receives; an honest device passes
   * a sharing of x. `prove` defaults to the honest FLP prover.
   */
  proveAndCommit(
    x: readonly bigint[],
    measurementShares: readonly (readonly bigint[])[],
    context: Uint8Array,
    rng: RandomSource,
    prove?: ProveFunction,
  ): DeviceValidityReport {
    const { shamir, flp } = this;
    const field = shamir.field;
    const m = shamir.shareCount;
    const E = this.elementBytes;
    ensure(measurementShares.length === m, 'one measurement share per gateway', {
      given: measurementShares.length,
      m,
    });
    const blinds = new Array<Uint8Array>(m);
    const jointParts = new Array<Buffer>(m);
    for (let l = 0; l < m; l++) {
      const blind = new Uint8Array(BLIND_BYTES);
      rng.fill(blind);
      blinds[l] = blind;
      jointParts[l] = jointRandPart(
        context,
        l + 1,
        blind,
        encodeElements(measurementShares[l]!, E),
      );
    }
    const jointSeed = jointRandSeed(this.config, context, jointParts);
    const jointRand = expandFieldElements(field, jointSeed, 'joint', flp.jointRandLength);
    const proveRand = new Array<bigint>(flp.proveRandLength);
    for (let i = 0; i < proveRand.length; i++) proveRand[i] = field.random(rng);
    const proof = prove ? prove(x, proveRand, jointRand) : flp.prove(x, proveRand, jointRand);
    ensure(proof.length === flp.proofLength, 'proof has the wrong length');
    const proofShares = splitVector(shamir, proof, rng);
    const proofParts = new Array<Buffer>(m);
    const shares = new Array<GatewayValidityShare>(m);
    for (let l = 0; l < m; l++) {
      const ys = proofShares[l]!.ys;
      proofParts[l] = proofPart(context, l + 1, blinds[l]!, encodeElements(ys, E));
      shares[l] = {
        gateway: l + 1,
        measurement: measurementShares[l]!,
        proof: ys,
        blind: blinds[l]!,
      };
    }
    return { shares, parts: { jointParts, proofParts } };
  }

  // ── Gateway ──

  /**
   * Gateway l: checks its own parts against the shares it holds, derives the joint and
   * query randomness from the public parts (and the round's beacon, if the deployment
   * uses one) and applies the FLP's linear queries to its share. Malformed input throws
   * (SHARE_INDEX_OUT_OF_RANGE, SHARE_MISMATCH, SHARE_OUT_OF_RANGE, INVALID_ARGUMENT);
   * a device whose parts do not match is a verdict, not an exception.
   */
  query(
    share: GatewayValidityShare,
    parts: ValidityParts,
    context: Uint8Array,
    beacon?: Uint8Array,
  ): GatewayCheck {
    const { flp, shamir } = this;
    const field = shamir.field;
    const l = share.gateway;
    assertShareIndex(shamir, l);
    this.assertElements(share.measurement, this.circuit.inputLength, l, 'measurement share');
    this.assertElements(share.proof, flp.proofLength, l, 'proof share');
    const m = shamir.shareCount;
    if (parts.jointParts.length !== m || parts.proofParts.length !== m) {
      throw new PrivaggError(ErrorCode.SHARE_MISMATCH, 'expected one part per gateway', {
        m,
        jointParts: parts.jointParts.length,
        proofParts: parts.proofParts.length,
      });
    }
    const E = this.elementBytes;
    const ownJoint = jointRandPart(context, l, share.blind, encodeElements(share.measurement, E));
    if (!partMatches(parts.jointParts[l - 1]!, ownJoint)) {
      return { ok: false, reason: 'joint-part-mismatch' };
    }
    const ownProof = proofPart(context, l, share.blind, encodeElements(share.proof, E));
    if (!partMatches(parts.proofParts[l - 1]!, ownProof)) {
      return { ok: false, reason: 'proof-part-mismatch' };
    }
    const jointSeed = jointRandSeed(this.config, context, parts.jointParts);
    const querySeed = queryRandSeed(this.config, context, jointSeed, parts.proofParts, beacon);
    const jointRand = expandFieldElements(field, jointSeed, 'joint', flp.jointRandLength);
    const queryRand = expandFieldElements(
      field,
      querySeed,
      'query',
      flp.queryRandLength,
      flp.queryRandMin,
    );
    const verifier = flp.query(share.measurement, share.proof, queryRand, jointRand, 1n);
    return { ok: true, share: { gateway: l, verifier, querySeed } };
  }

  /**
   * Gateway l's share of each dimension's value (Prio3's truncate), from its share of
   * the bits: linear, so summing it over accepted devices gives l's share of the sum.
   */
  truncate(measurementShare: readonly bigint[]): bigint[] {
    return this.circuit.truncate(measurementShare, 1n);
  }

  // ── Ledger (decider) ──

  /**
   * The verifier message from r ≥ k gateways' shares. With r > k every extra share is
   * checked (INCONSISTENT_SHARES otherwise); fewer than k, a repeated or unknown index,
   * or a ragged vector throw.
   */
  interpolateVerifier(shares: readonly VerifierShare[]): bigint[] {
    const reconstructor = this.reconstructorFor(shares);
    return reconstructor.reconstructVector(this.asVectors(shares));
  }

  /**
   * Valid or refused, with the reason. Use the verifier shares of exactly the gateways
   * whose partials restore the aggregate: then the value that was proven is the value
   * that is summed (docs/VALIDITY.md, "Which gateways"). `maxErrors` > 0 asks
   * Berlekamp–Welch to name the gateways off the polynomial when shares are inconsistent
   * (evidence only; the device is refused either way).
   */
  decide(shares: readonly VerifierShare[], options: { maxErrors?: number } = {}): ValidityDecision {
    const reconstructor = this.reconstructorFor(shares);
    const gateways = shares.map((s) => s.gateway);
    const groups = new Map<string, number[]>();
    for (const s of shares) {
      ensure(
        s.querySeed instanceof Uint8Array && s.querySeed.length === SEED_BYTES,
        'query seed must be 32 bytes',
        { gateway: s.gateway },
      );
      const key = Buffer.from(s.querySeed).toString('hex');
      const group = groups.get(key);
      if (group) group.push(s.gateway);
      else groups.set(key, [s.gateway]);
    }
    if (groups.size > 1) {
      return { valid: false, reason: 'randomness-mismatch', groups: [...groups.values()] };
    }
    const vectors = this.asVectors(shares);
    let verifier: bigint[];
    try {
      verifier = reconstructor.reconstructVector(vectors);
    } catch (e) {
      if (!isPrivaggError(e, ErrorCode.INCONSISTENT_SHARES)) throw e;
      const maxErrors = options.maxErrors ?? 0;
      if (maxErrors > 0) {
        try {
          const { wrongIndices } = decodeShareVectors(this.shamir, vectors, { maxErrors });
          return {
            valid: false,
            reason: 'inconsistent-verifier',
            gateways,
            suspects: wrongIndices,
          };
        } catch (e2) {
          if (!isPrivaggError(e2, ErrorCode.TOO_MANY_ERRORS)) throw e2;
        }
      }
      return { valid: false, reason: 'inconsistent-verifier', gateways };
    }
    const failures = this.flp.check(verifier);
    if (failures.length > 0) return { valid: false, reason: 'proof-refused', failures };
    return { valid: true, gateways };
  }

  private asVectors(shares: readonly VerifierShare[]): ShareVector[] {
    const V = this.flp.verifierLength;
    return shares.map((s) => {
      if (s.verifier.length !== V) {
        throw new PrivaggError(ErrorCode.SHARE_MISMATCH, 'verifier share has the wrong length', {
          gateway: s.gateway,
          given: s.verifier.length,
          expected: V,
        });
      }
      return { x: s.gateway, ys: s.verifier };
    });
  }

  private reconstructorFor(shares: readonly VerifierShare[]): ShamirReconstructor {
    const xs = shares.map((s) => s.gateway);
    assertShareIndices(this.shamir, xs);
    const key = xs.join(',');
    let r = this.reconstructors.get(key);
    if (!r) {
      r = new ShamirReconstructor(this.shamir, xs);
      if (this.reconstructors.size >= MAX_CACHED_RECONSTRUCTORS) this.reconstructors.clear();
      this.reconstructors.set(key, r);
    }
    return r;
  }

  private assertElements(
    ys: readonly bigint[],
    length: number,
    gateway: number,
    what: string,
  ): void {
    if (ys.length !== length) {
      throw new PrivaggError(ErrorCode.SHARE_MISMATCH, `${what} has the wrong length`, {
        gateway,
        given: ys.length,
        expected: length,
      });
    }
    const p = this.shamir.field.p;
    for (let i = 0; i < ys.length; i++) {
      const y = ys[i]!;
      if (typeof y !== 'bigint' || y < 0n || y >= p) {
        throw new PrivaggError(ErrorCode.SHARE_OUT_OF_RANGE, `${what} value is not in [0, p)`, {
          gateway,
          index: i,
        });
      }
    }
  }
}
