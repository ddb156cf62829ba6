import { type AeadKey, aeadKey, aeadOpen, aeadSeal } from '../../crypto/aead.js';
import { lengthPrefixed, utf8 } from '../../crypto/bytes.js';
import { ErrorCode, isPrivaggError, PrivaggError } from '../../errors.js';
import { encodeTransaction } from '../blockCodec.js';
import type { LedgerTransaction } from '../service.js';

/**
 * Every body of the scheme ledger is sealed with AES-256-GCM under the chain's content key:
 * nonce ‖ ciphertext ‖ tag, with the transaction's other fields (kind, time, group, round)
 * as associated data, so a body cannot be moved to another slot. Nothing a center received
 * or recovered is readable on the chain without the key; the blocks commit to the sealed
 * bytes, so anyone checks structure and signatures without it.
 */
const AAD_LABEL = utf8('privagg/ledger/scheme/v1/sealed-body');

export class BodySealer {
  private readonly key: AeadKey;

  constructor(contentKey: Uint8Array) {
    this.key = aeadKey(contentKey);
  }

  seal(tx: LedgerTransaction): LedgerTransaction {
    return { ...tx, body: aeadSeal(this.key, tx.body, { aad: slotOf(tx) }) };
  }

  /** The clear body; DECRYPT_FAILED for one not sealed for this slot under this key. */
  open(tx: LedgerTransaction): Buffer {
    try {
      return aeadOpen(this.key, tx.body, slotOf(tx));
    } catch (e) {
      throw new PrivaggError(
        ErrorCode.DECRYPT_FAILED,
        `a sealed ${tx.kind} body does not open under the chain's content key${isPrivaggError(e) ? '' : ` (${String(e)})`}`,
      );
    }
  }
}

function slotOf(tx: LedgerTransaction): Buffer {
  return lengthPrefixed(AAD_LABEL, encodeTransaction({ ...tx, body: Buffer.alloc(0) }));
}
