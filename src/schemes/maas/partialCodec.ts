import { type DecodedGatewayPartial, decodeGatewayPartial } from '../../wire/maas.js';
import { type MaasParams, shareBytes } from './params.js';
import { reportValidityFor, verifierEntryBytes } from './reportValidity.js';
import { evidenceTagBytes } from './tags.js';

/**
 * A gateway partial decoded with the sizes the deployment fixes: element width, the tag
 * of its evidence mode, and the verifier section where input validity is on. Every
 * reader of partials (ledger, gateway, chain audits, Fabric) goes through this, so a
 * deployment setting is never forgotten in one of them.
 */
export function decodePartialOf(params: MaasParams, bytes: Uint8Array): DecodedGatewayPartial {
  const validity = reportValidityFor(params);
  return decodeGatewayPartial(
    bytes,
    shareBytes(params),
    evidenceTagBytes(params.modes.mac),
    validity ? verifierEntryBytes(validity) : 0,
  );
}
