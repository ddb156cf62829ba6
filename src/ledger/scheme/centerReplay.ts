import type { CenterRole } from '../../schemes/scheme.js';
import type { LedgerTransaction } from '../service.js';
import { decodeInbound, encodeRecovery } from './bodies.js';
import type { BodySealer } from './sealing.js';

/**
 * Replays recorded transactions through a center (a fresh one, or the one a reopened
 * ledger wraps): every recorded inbound must be accepted again, at its recorded time, and
 * every recorded recovery must be what the center recovers at its recorded time, byte for
 * byte in canonical JSON. The center is deterministic (scheme.ts), so an honest chain
 * replays exactly; a chain whose recoveries were edited (even re-signed by the ledger's
 * own key) does not.
 */
export class CenterReplay {
  constructor(
    private readonly center: CenterRole,
    private readonly sealer: BodySealer,
  ) {}

  /** Why the transaction does not replay, if it does not. */
  apply(tx: LedgerTransaction): string | undefined {
    let body: Buffer;
    try {
      body = this.sealer.open(tx);
    } catch (e) {
      return (e as Error).message;
    }
    if (tx.kind === 'inbound') {
      let m: ReturnType<typeof decodeInbound>;
      try {
        m = decodeInbound(body);
      } catch (e) {
        return (e as Error).message;
      }
      if (m.from.group !== tx.ian)
        return `recorded under group ${tx.ian}, but sent by group ${m.from.group}`;
      const { verdict } = this.center.receive(m, tx.time);
      return verdict.ok
        ? undefined
        : `recorded inbound on '${m.channel}' refused on replay (${verdict.code}: ${verdict.reason})`;
    }
    if (tx.kind === 'recovery') {
      if (tx.ian === undefined || tx.round === undefined)
        return 'a recovery without its group-round';
      const again = encodeRecovery(this.center.recover(tx.ian, tx.round, tx.time));
      return again.equals(body)
        ? undefined
        : `recorded recovery of group ${tx.ian}, round ${tx.round} differs from the one the center recomputes`;
    }
    return `a ${tx.kind} transaction on a scheme ledger`;
  }
}
