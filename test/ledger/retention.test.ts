import { describe, expect, it } from 'vitest';
import { MaasLedgerNode } from '../../src/ledger/embeddedLedger.js';
import { PRUNE_STEP, RETAIN_ROUNDS } from '../../src/ledger/retention.js';
import { SqliteBlockStore } from '../../src/ledger/sqliteStore.js';
import { verifyChain } from '../../src/ledger/verifyChain.js';
import { systemRandom } from '../../src/math/random.js';
import { ledgerFixture, T0 } from './helpers.js';

/**
 * Finding 9: the ledger grew ~12 MiB a minute in a 12-minute run (stored partials, replay
 * keys, restore outcomes and noise cells of every round ever). 600 rounds driven through
 * the embedded ledger in this process must leave every per-round structure bounded by the
 * retention window — counted in entries, not measured as RSS — while queries over the
 * oldest rounds still answer exactly (from the block store) and a restart rebuilds the same.
 * 600 rounds are 25 retention windows (RETAIN_ROUNDS + PRUNE_STEP = 24): enough to see the
 * state stay flat, and a third of the time of the 2,000 this test first ran.
 */
const ROUNDS = 600;
const IANS = 2;
const DEVICES = 2;

describe('memory that does not grow per round', () => {
  it(`${ROUNDS} rounds: per-round state stays within the retention window; old rounds still answer exactly`, () => {
    const f = ledgerFixture(IANS, DEVICES);
    const open = () =>
      new MaasLedgerNode({
        file: f.file,
        config: f.config,
        ledgerKey: f.dep.registry.ledgerKey(),
        batchSize: 64,
      });
    const node = open();
    const held = RETAIN_ROUNDS + PRUNE_STEP;
    const gateways = f.params.gateways;
    const bound = {
      ianRounds: held * IANS,
      partials: held * IANS * gateways,
      requested: held * IANS,
      restored: held * IANS,
      failed: held * IANS,
      replayKeys: held * IANS * gateways,
      recordedReconciles: 0,
    };
    /** Noise cells the query engine's DpUtils holds (one per IAN-round, shared by the OEMs). */
    const cells = () => node.queries.dp.cellCount;
    const samples: Record<string, number>[] = [];
    const answers: { endRound: number; totals: number[] }[] = [];
    const truth = (endRound: number) =>
      [0, 1].map((j) => {
        let t = 0;
        for (let rd = 0; rd <= endRound; rd++)
          for (let v = 0; v < IANS; v++) t += f.truth(v, rd)[j]!;
        return t;
      });
    for (let rd = 0; rd < ROUNDS; rd++) {
      const now = T0 + rd * 1000;
      for (let v = 0; v < IANS; v++) {
        for (const p of f.partials(v, rd, now)) expect(node.add(p, now).ok).toBe(true);
        expect(node.restore(v, rd, now).status).toBe('restored');
      }
      if (rd % 100 === 99) {
        const r = node.retained();
        samples.push(r);
        for (const [k, max] of Object.entries(bound))
          expect(r[k], `${k} at round ${rd}`).toBeLessThanOrEqual(max);
        // One cell per IAN-round whatever the OEM (issue 10, finding 4: cells are shared).
        expect(cells()).toBeLessThanOrEqual(held * IANS);
      }
      // A few queries over everything so far (both IANs: the zero-sum noise cancels, so the
      // totals are exact), most of whose rounds were pruned long ago.
      if (rd === 199 || rd === 399 || rd === ROUNDS - 1) {
        const res = node.query(f.query(IANS, rd - 1, now), now, systemRandom);
        expect(res.ok, JSON.stringify(res)).toBe(true);
        if (res.ok) {
          const totals = res.answer.dimensions.map((d) => d.total);
          expect(totals).toEqual(truth(rd - 1));
          expect(res.answer.dimensions[0]!.series.every((p) => p.missingIans.length === 0)).toBe(
            true,
          );
          answers.push({ endRound: rd - 1, totals });
        }
      }
    }
    expect(node.retained().prunedBefore).toBeGreaterThan(ROUNDS - held - 1);
    // Flat, not merely bounded: the last sample holds no more than the first.
    const first = samples[0]!;
    const last = samples.at(-1)!;
    for (const k of Object.keys(bound))
      expect(last[k]).toBeLessThanOrEqual(first[k]! + IANS * PRUNE_STEP * gateways);
    expect(node.retained().answers).toBe(answers.length);

    // A late partial for a concluded round is refused before it is stored.
    const now = T0 + ROUNDS * 1000;
    const late = f.partials(0, 5, now)[0]!;
    expect(node.add(late, now)).toMatchObject({ ok: false, code: 'WRONG_ROUND' });
    expect(node.restorable(0, 5)).toMatchObject({ ok: false, code: 'WRONG_ROUND' });
    const prunedBefore = node.retained().prunedBefore;
    node.close();
    const height = node.height;

    // The file verifies with the same window (a verifier's memory is bounded the same way).
    const store = new SqliteBlockStore(f.file, { readonly: true });
    expect(verifyChain(store)).toMatchObject({ ok: true, blocks: height });
    store.close();

    // A restart replays into the same bounded state, and old answers come back cached.
    const again = open();
    const r = again.retained();
    for (const [k, max] of Object.entries(bound)) expect(r[k], k).toBeLessThanOrEqual(max);
    expect(r.prunedBefore).toBe(prunedBefore);
    const { endRound, totals } = answers[0]!;
    const cached = again.query(f.query(IANS, endRound, now + 1), now + 1, systemRandom);
    expect(cached).toMatchObject({ ok: true, answer: { cached: true } });
    if (cached.ok) expect(cached.answer.dimensions.map((d) => d.total)).toEqual(totals);
    again.close();
  }, 120_000);
});
