import { describe, expect, it } from 'vitest';
import { MaasLedgerNode } from '../../src/ledger/embeddedLedger.js';
import { seededRandom, systemRandom } from '../../src/math/random.js';
import { ledgerFixture, T0 } from './helpers.js';

/**
 * An IAN-round the round driver gave up on (a re-aggregation whose partials never came)
 * is failed for good once its `failed` status is recorded: a query over its round is
 * answered with that IAN missing, live and after a restart (replay), instead of refused
 * as "not final" until retention prunes the round (what the demo met on a busy machine:
 * every trend query refused with WRONG_ROUND).
 */
const NODE_KEY = Buffer.alloc(32, 9);

describe('a round status of failed concludes its IAN-round', () => {
  it('a pending re-aggregation blocks queries; the recorded failure unblocks them, also after replay', () => {
    const f = ledgerFixture(2, 4);
    const open = () =>
      new MaasLedgerNode({
        file: f.file,
        config: f.config,
        ledgerKey: f.dep.registry.ledgerKey(),
        nodeKey: NODE_KEY,
        batchSize: 1,
      });
    const node = open();
    const now = T0 + 1_000;
    for (const p of f.partials(0, 0, now)) expect(node.add(p, now).ok).toBe(true);
    // IAN 1: gateway 5 missed device 3's report, so the contributor sets differ.
    const m = f.params.gateways;
    const gws = Array.from({ length: m }, (_, l) => f.dep.gateway(1, l + 1));
    for (const g of gws) g.beginRound(0);
    for (let i = 0; i < 4; i++)
      for (const msg of f.dep.device(1, i).report(0, [1, 2], now, systemRandom))
        if (!(i === 3 && msg.gateway === m)) gws[msg.gateway - 1]!.ingest(msg.bytes, now);
    for (const g of gws) expect(node.add(g.closeRound(now).partial, now).ok).toBe(true);
    expect(node.restore(0, 0, now).status).toBe('restored');
    expect(node.restore(1, 0, now).status).toBe('reconcile');

    const ask = (n: MaasLedgerNode, at: number) =>
      n.query(f.query(2, 0, at), at, seededRandom('q'));
    const pending = ask(node, now + 1);
    expect(pending).toMatchObject({ ok: false, code: 'WRONG_ROUND' });

    node.recordRound({ ian: 0, round: 0, status: 'complete', reasons: [] }, now + 2);
    node.recordRound(
      {
        ian: 1,
        round: 0,
        status: 'failed',
        reasons: ['contributor sets did not converge in time'],
      },
      now + 2,
    );
    const answered = ask(node, now + 3);
    expect(answered.ok).toBe(true);
    if (!answered.ok) return;
    const point = answered.answer.dimensions[0]!.series[0]!;
    expect(point.missingIans).toEqual([1]);
    node.close();

    // Replayed from the file: the same conclusion, the same answer to a new query message.
    const again = open();
    const replayed = ask(again, now + 4);
    expect(replayed.ok).toBe(true);
    if (replayed.ok) expect(replayed.answer.dimensions[0]!.series[0]!.missingIans).toEqual([1]);
    again.close();
  });
});
