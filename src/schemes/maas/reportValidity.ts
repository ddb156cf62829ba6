import { ShamirParams } from '../../crypto/shamir.js';
import { ErrorCode, PrivaggError } from '../../errors.js';
import { decodeElements, writeElements } from '../../wire/fieldElements.js';
import type { MaasParams } from './params.js';
import { ReadingCodec } from './readingCodec.js';
import { RangeCircuit } from './validity/circuit.js';
import { BLIND_BYTES, PART_BYTES, SEED_BYTES, validityContext } from './validity/randomness.js';
import type {
  GatewayValidityShare,
  ValidityParts,
  ValidityScheme,
  VerifierShare,
} from './validity/shares.js';
import { ValidityScheme as Scheme } from './validity/shares.js';

/**
 * Input validity as a MaaS deployment uses it (docs/VALIDITY.md, "Integration"): the
 * proof system of ./validity/ over the ranges of the deployment's ReadingCodec, and the
 * byte layouts it adds to two messages.
 *
 * DS → GW l payload (inside the AEAD box, replacing the w plain shares):
 *   x_l (N elements) ‖ π_l (P elements) ‖ blind_l (32) ‖ joint parts 1..m (32 each) ‖
 *   proof parts 1..m (32 each)
 * GW l → ledger, after the sums of an attempt-0 partial, per contributor in order:
 *   verifier share (V elements) ‖ query seed (32)
 *
 * The scheme precomputes Lagrange tables, so one is built per parameter object and shared.
 */
const schemes = new WeakMap<MaasParams, ValidityScheme>();

/** The deployment's validity scheme, or null when `params.validity` is off. */
export function reportValidityFor(params: MaasParams): ValidityScheme | null {
  // The paper's layout and restore run without (validateMaasParams says the same).
  if (
    params.validity === null ||
    params.modes.layout !== 'vector' ||
    params.modes.restore !== 'reconcile'
  )
    return null;
  let scheme = schemes.get(params);
  if (!scheme) {
    const codec = new ReadingCodec(params);
    const circuit = new RangeCircuit(params.field, codec.validityRanges());
    scheme = new Scheme(
      circuit,
      new ShamirParams(params.threshold, params.gateways, params.field),
      { proofs: params.validity.proofs },
    );
    schemes.set(params, scheme);
  }
  return scheme;
}

/** The context every proof of one report is bound to: deployment, IAN, device, round. */
export function reportValidityContext(
  params: MaasParams,
  ian: number,
  device: number,
  round: number,
): Buffer {
  return validityContext({ deployment: params.deployment, ian, device, round });
}

/** Bytes of the DS → GW payload before sealing. */
export function proofPayloadBytes(scheme: ValidityScheme): number {
  const m = scheme.shamir.shareCount;
  return (
    (scheme.circuit.inputLength + scheme.flp.proofLength) * scheme.elementBytes +
    BLIND_BYTES +
    2 * m * PART_BYTES
  );
}

export function encodeProofPayload(
  scheme: ValidityScheme,
  share: GatewayValidityShare,
  parts: ValidityParts,
): Buffer {
  const E = scheme.elementBytes;
  const out = Buffer.allocUnsafe(proofPayloadBytes(scheme));
  let at = 0;
  writeElements(share.measurement, 0, share.measurement.length, E, out, at);
  at += share.measurement.length * E;
  writeElements(share.proof, 0, share.proof.length, E, out, at);
  at += share.proof.length * E;
  out.set(share.blind, at);
  at += BLIND_BYTES;
  for (const part of [...parts.jointParts, ...parts.proofParts]) {
    out.set(part, at);
    at += PART_BYTES;
  }
  return out;
}

/** Reads gateway l's payload; a non-element is SHARE_OUT_OF_RANGE, a wrong length MALFORMED. */
export function decodeProofPayload(
  scheme: ValidityScheme,
  gateway: number,
  bytes: Uint8Array,
): { share: GatewayValidityShare; parts: ValidityParts } {
  if (bytes.length !== proofPayloadBytes(scheme)) {
    throw new PrivaggError(
      ErrorCode.MALFORMED_MESSAGE,
      `proof payload of ${bytes.length} bytes, expected ${proofPayloadBytes(scheme)}`,
    );
  }
  const E = scheme.elementBytes;
  const p = scheme.circuit.field.p;
  const N = scheme.circuit.inputLength;
  const P = scheme.flp.proofLength;
  const m = scheme.shamir.shareCount;
  let at = 0;
  const take = (n: number) => {
    const slice = bytes.subarray(at, at + n);
    at += n;
    return slice;
  };
  const measurement = decodeElements(take(N * E), N, E, p);
  const proof = decodeElements(take(P * E), P, E, p);
  const blind = Uint8Array.from(take(BLIND_BYTES));
  const jointParts = Array.from({ length: m }, () => Uint8Array.from(take(PART_BYTES)));
  const proofParts = Array.from({ length: m }, () => Uint8Array.from(take(PART_BYTES)));
  return { share: { gateway, measurement, proof, blind }, parts: { jointParts, proofParts } };
}

/** Bytes per contributor of a partial's verifier section. */
export function verifierEntryBytes(scheme: ValidityScheme): number {
  return scheme.flp.verifierLength * scheme.elementBytes + SEED_BYTES;
}

export function encodeVerifierSection(
  scheme: ValidityScheme,
  shares: readonly VerifierShare[],
): Buffer {
  const E = scheme.elementBytes;
  const V = scheme.flp.verifierLength;
  const entry = verifierEntryBytes(scheme);
  const out = Buffer.allocUnsafe(shares.length * entry);
  shares.forEach((s, i) => {
    writeElements(s.verifier, 0, V, E, out, i * entry);
    out.set(s.querySeed, i * entry + V * E);
  });
  return out;
}

/** One verifier share per contributor, for gateway `gateway`; throws on a bad length or element. */
export function decodeVerifierSection(
  scheme: ValidityScheme,
  gateway: number,
  contributors: number,
  bytes: Uint8Array,
): VerifierShare[] {
  const E = scheme.elementBytes;
  const V = scheme.flp.verifierLength;
  const entry = verifierEntryBytes(scheme);
  if (bytes.length !== contributors * entry) {
    throw new PrivaggError(
      ErrorCode.MALFORMED_MESSAGE,
      `verifier section of ${bytes.length} bytes, expected ${contributors} × ${entry}`,
    );
  }
  const p = scheme.circuit.field.p;
  return Array.from({ length: contributors }, (_, i) => ({
    gateway,
    verifier: decodeElements(bytes.subarray(i * entry, i * entry + V * E), V, E, p),
    querySeed: Uint8Array.from(bytes.subarray(i * entry + V * E, (i + 1) * entry)),
  }));
}
