import { type AeadKey, aeadKey, aeadOpen, aeadSeal } from '../crypto/aead.js';
import { lengthPrefixed, utf8 } from '../crypto/bytes.js';
import { ErrorCode, isPrivaggError, PrivaggError } from '../errors.js';
import { encodeTransaction } from './blockCodec.js';
import type { LedgerTransaction } from './service.js';

/**
 * The confidential chain: the transactions that carry noise-free values — a gateway's
 * partial (its share sums: k of them interpolate an IAN's exact total) and a restore
 * outcome (each IAN's estimate) — are stored sealed with AES-256-GCM under the chain's
 * content key, which only the ledger and the auditor hold (the TA derives it; keys.ts).
 * Queries (what an OEM asked), answers (noisy by construction) and round statuses (counts
 * and reasons) stay readable.
 *
 * A sealed body is nonce ‖ ciphertext ‖ tag, with the transaction's other fields (kind,
 * time, IAN, round, gateway) as associated data, so a sealed body cannot be moved to
 * another slot. Blocks commit to the sealed bytes: anyone checks the chain's structure and
 * signatures without the key (`privagg ledger verify`), and the holder of the key also
 * opens and replays the contents (`--bundle <auditor bundle>`).
 */
export const SEALED_KINDS: ReadonlySet<LedgerTransaction['kind']> = new Set(['partial', 'restore']);

const AAD_LABEL = utf8('privagg/ledger/v1/sealed-body');

export class ChainCipher {
  private readonly key: AeadKey;

  constructor(contentKey: Uint8Array) {
    this.key = aeadKey(contentKey);
  }

  seal(tx: LedgerTransaction): LedgerTransaction {
    if (!SEALED_KINDS.has(tx.kind)) return tx;
    return { ...tx, body: aeadSeal(this.key, tx.body, { aad: aadOf(tx) }) };
  }

  /** The clear transaction; DECRYPT_FAILED for a body that was not sealed for this slot. */
  open(tx: LedgerTransaction): LedgerTransaction {
    if (!SEALED_KINDS.has(tx.kind)) return tx;
    try {
      return { ...tx, body: aeadOpen(this.key, tx.body, aadOf(tx)) };
    } catch (e) {
      throw new PrivaggError(
        ErrorCode.DECRYPT_FAILED,
        `a sealed ${tx.kind} does not open under the chain's content key${isPrivaggError(e) ? '' : ` (${String(e)})`}`,
      );
    }
  }
}

function aadOf(tx: LedgerTransaction): Buffer {
  return lengthPrefixed(AAD_LABEL, encodeTransaction({ ...tx, body: Buffer.alloc(0) }));
}
