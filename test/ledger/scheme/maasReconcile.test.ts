import { describe, expect, it } from 'vitest';
import { BodySealer, verifySchemeChain } from '../../../src/ledger/scheme/index.js';
import type { LedgerTransaction } from '../../../src/ledger/service.js';
import { SqliteBlockStore } from '../../../src/ledger/sqliteStore.js';
import type { Address } from '../../../src/schemes/scheme.js';
import type { RunFaults } from '../../../src/sim/schemeRunner.js';
import {
  CONTENT_KEY,
  forgeRecovery,
  GROUPS,
  ROUNDS,
  runWithLedger,
  SIGNING_KEY,
  tempLedgerFile,
} from './helpers.js';

/**
 * MaaS on the scheme ledger with its reconcile phases: device 3 reaches only some gateways
 * in round 1 (its report to gateway 1 is lost), so the center's first recovery of that
 * group-round is pending (signed reconcile requests to the gateways), the gateways'
 * re-sums come back as inbounds, and the next recovery is over the agreed set. The chain
 * records every phase, and a fresh center replays them all.
 */
const LATE = 3;

/** Device LATE of the given groups loses its report to gateway 1 (aggregator 0) in round 1. */
function lateIn(groups: readonly number[]): RunFaults {
  const drop = (from: Address, e: { to: Address }) =>
    from.role === 'device' &&
    groups.includes(from.group) &&
    from.index === LATE &&
    e.to.index === 0;
  return { router: (round) => (round === 1 ? { drop } : {}) };
}

interface RecoveryRecord {
  status: string;
  next?: number;
  sent?: { to: string; channel: string; sha256: string }[];
}

/** Every transaction of group `g`, bodies opened, in chain order. */
function opened(
  file: string,
  g: number,
): { tx: LedgerTransaction; height: number; body: Buffer }[] {
  const store = new SqliteBlockStore(file, { readonly: true });
  const sealer = new BodySealer(CONTENT_KEY);
  try {
    return [...store.all()].flatMap((b) =>
      b.transactions
        .filter((tx) => tx.ian === g)
        .map((tx) => ({ tx, height: b.height, body: sealer.open(tx) })),
    );
  } finally {
    store.close();
  }
}

const recordOf = (body: Buffer) => JSON.parse(body.toString('utf8')) as RecoveryRecord;

describe('the scheme ledger: MaaS with reconcile phases', () => {
  it('records each pending phase (its requests hashed) and the re-sums; a fresh center replays them', async () => {
    const file = tempLedgerFile();
    const { run, centerKeys } = await runWithLedger('maas', { ldp: 'off' }, file, {
      faults: lateIn([0]),
    });
    const g0 = run.rounds[1]!.groups[0]!;
    expect(g0.phases).toBeGreaterThan(0);
    expect(g0.status).toBe('degraded');
    expect(g0.reasons.join(' ')).toMatch(`device ${LATE} dropped`);
    const phases = run.rounds.flatMap((r) => r.groups).reduce((n, g) => n + g.phases, 0);

    const report = verifySchemeChain(file, { centerKeys, contentKey: CONTENT_KEY });
    expect(report.firstBad).toBeUndefined();
    expect(report).toMatchObject({ ok: true, replayed: true });
    expect(report.recoveries).toBe(GROUPS * ROUNDS + phases);

    // Round 1 of group 0 on the chain: pending (with its signed requests hashed), the
    // gateways' re-sums as inbounds, then the recovery over the agreed set.
    const round1 = opened(file, 0).filter(({ tx }) => tx.kind === 'recovery' && tx.round === 1);
    const statuses = round1.map(({ body }) => recordOf(body).status);
    expect(statuses).toEqual([...Array(phases).fill('pending'), 'recovered']);
    const pending = recordOf(round1[0]!.body);
    expect(pending.next).toBeGreaterThan(0);
    expect(pending.sent).toHaveLength(pending.next!);
    for (const s of pending.sent!) {
      expect(s.to).toMatch(/^aggregator\/0\/\d$/);
      expect(s.channel).toBe('reconcile');
      expect(s.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    const afterPending = opened(file, 0).filter(({ height }) => height > round1[0]!.height);
    expect(afterPending[0]!.tx.kind).toBe('inbound');
  });

  it('an insider ledger re-signing a forged pending phase or the recovery after it: the replay catches both', async () => {
    const file = tempLedgerFile();
    const { run, centerKeys } = await runWithLedger('maas', { ldp: 'off' }, file, {
      faults: lateIn([0, 1]),
    });
    expect(run.rounds[1]!.groups.map((g) => g.status)).toEqual(['degraded', 'degraded']);
    const keys = { centerKeys, contentKey: CONTENT_KEY };
    expect(verifySchemeChain(file, keys)).toMatchObject({ ok: true, replayed: true });

    // Group 1's pending phase, its requests claimed to be other bytes.
    const pendingAt = opened(file, 1).find(
      ({ tx, body }) => tx.kind === 'recovery' && recordOf(body).status === 'pending',
    )!.height;
    forgeRecovery(file, pendingAt, SIGNING_KEY, (r) => {
      const sent = (r as unknown as RecoveryRecord).sent!;
      sent[0]!.sha256 = '00'.repeat(32);
    });
    expect(verifySchemeChain(file)).toMatchObject({ ok: true, replayed: false });
    const report = verifySchemeChain(file, keys);
    expect(report).toMatchObject({ ok: false, firstBad: { height: pendingAt } });
    expect(report.firstBad?.reason).toMatch(/differs from the one the center recomputes/);
  });

  it('the recovery after a reconcile, forged by the ledger with its own key: the replay catches it', async () => {
    const file = tempLedgerFile();
    const { centerKeys } = await runWithLedger('maas', { ldp: 'off' }, file, {
      faults: lateIn([0]),
    });
    const last = opened(file, 0)
      .filter(({ tx }) => tx.kind === 'recovery' && tx.round === 1)
      .at(-1)!;
    expect(recordOf(last.body).status).toBe('recovered');
    forgeRecovery(file, last.height, SIGNING_KEY);
    expect(verifySchemeChain(file)).toMatchObject({ ok: true, replayed: false });
    const report = verifySchemeChain(file, { centerKeys, contentKey: CONTENT_KEY });
    expect(report).toMatchObject({ ok: false, firstBad: { height: last.height } });
    expect(report.firstBad?.reason).toMatch(/differs from the one the center recomputes/);
  });
});
