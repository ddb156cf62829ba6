import { AEAD_OVERHEAD_BYTES } from '../../crypto/aead.js';
import { ErrorCode, PrivaggError } from '../../errors.js';
import { ElementLimbDecoder } from '../../wire/fieldElements.js';
import type { GatewayKey } from './keys.js';
import { type MaasParams, shareBytes } from './params.js';
import { proofPayloadBytes, reportValidityFor } from './reportValidity.js';
import type { ValidityScheme } from './validity/shares.js';

/**
 * What the gateway's parts read and never change: its key, the deployment, and what
 * follows from them once (element size, the limb decoder, input validity, payload sizes).
 */
export interface GatewayContext {
  readonly key: GatewayKey;
  readonly params: MaasParams;
  /** Bytes per field element of a share (`shareBytes(params)`). */
  readonly elementBytes: number;
  readonly decoder: ElementLimbDecoder;
  /** Payload length implied by (width, sealed); throws on a width the deployment does not use. */
  readonly expectedPayload: (width: number, sealed: boolean, proven: boolean) => number;
  /** Input validity (docs/VALIDITY.md), or null when the deployment runs without it. */
  readonly validity: ValidityScheme | null;
}

export function gatewayContext(key: GatewayKey, params: MaasParams): GatewayContext {
  const elementBytes = shareBytes(params);
  const decoder = new ElementLimbDecoder(elementBytes, params.field.p);
  const expectedWidth = params.modes.layout === 'vector' ? params.dimensions.length : 1;
  const validity = reportValidityFor(params);
  const provenBytes = validity ? proofPayloadBytes(validity) : 0;
  const expectedPayload = (width: number, sealed: boolean, proven: boolean): number => {
    if (width !== expectedWidth) {
      throw new PrivaggError(
        ErrorCode.MALFORMED_MESSAGE,
        `carries ${width} shares, expected ${expectedWidth}`,
      );
    }
    if (proven !== (validity !== null)) {
      // A report without its proof where proofs are required is refused outright: a
      // keyed device must not be able to opt out of the range check.
      throw new PrivaggError(
        validity ? ErrorCode.INVALID_PROOF : ErrorCode.MALFORMED_MESSAGE,
        validity
          ? 'report carries no validity proof'
          : 'proof-carrying report in a deployment without input validity',
      );
    }
    return (proven ? provenBytes : width * elementBytes) + (sealed ? AEAD_OVERHEAD_BYTES : 0);
  };
  return { key, params, elementBytes, decoder, expectedPayload, validity };
}
