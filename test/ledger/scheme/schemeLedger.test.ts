import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { verifySchemeChain } from '../../../src/ledger/scheme/index.js';
import { GROUPS, ROUNDS, runWithLedger, tempLedgerFile } from './helpers.js';

/**
 * One ledger for every scheme: each run records what the center accepted and recovered on
 * a sealed, signed chain, and the chain replays through a fresh center built from what the
 * file records. 2 groups × 4 devices × 2 dimensions, 2 rounds.
 */
const CASES: { id: string; params: unknown; silent?: boolean; pending: number }[] = [
  { id: 'plain-sum', params: {}, pending: 0 },
  // A silent device makes the tree ask for a second phase: one pending recovery recorded.
  { id: 'tree-test', params: {}, silent: true, pending: 1 },
  { id: 'joye-libert', params: { modulusBits: 512 }, pending: 0 },
  { id: 'maas', params: { ldp: 'off' }, pending: 0 },
];

describe('the scheme ledger records any scheme and verifies by replay', () => {
  for (const c of CASES) {
    it(`${c.id}: the chain verifies and replays through a fresh center`, async () => {
      const file = tempLedgerFile();
      const { run, centerKeys } = await runWithLedger(c.id, c.params, file, {
        ...(c.silent
          ? { faults: { deviceSilent: (g, i, r) => g === 0 && i === 3 && r === 1 } }
          : {}),
      });
      expect(run.statusCounts.failed).toBe(0);
      if (c.silent) {
        expect(run.rounds[1]!.groups[0]!.phases).toBe(1);
        expect(run.rounds[1]!.groups[0]!.contributors).toEqual([0, 1, 2]);
      }

      const full = verifySchemeChain(file, { centerKeys, contentKey: Buffer.alloc(32, 2) });
      expect(full.firstBad).toBeUndefined();
      expect(full).toMatchObject({ ok: true, replayed: true });
      expect(full.recoveries).toBe(GROUPS * ROUNDS + c.pending);
      // One block per recovery (its inbounds, then it).
      expect(full.blocks).toBe(full.recoveries);

      const bare = verifySchemeChain(file);
      expect(bare).toMatchObject({ ok: true, replayed: false, blocks: full.blocks });

      // Nothing recovered is readable without the content key.
      const raw = Buffer.concat(
        [file, `${file}-wal`].filter(existsSync).map((f) => readFileSync(f)),
      );
      expect(raw.includes('"estimate"')).toBe(false);
      expect(raw.includes('"contributors"')).toBe(false);
    });
  }
});
