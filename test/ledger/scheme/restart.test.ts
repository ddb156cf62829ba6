import { describe, expect, it } from 'vitest';
import {
  openSchemeLedger,
  readSchemeRecord,
  verifySchemeChain,
} from '../../../src/ledger/scheme/index.js';
import { SqliteBlockStore } from '../../../src/ledger/sqliteStore.js';
import { seededRandom } from '../../../src/math/random.js';
import { configureScheme } from '../../../src/schemes/registry.js';
import { CENTER } from '../../../src/schemes/scheme.js';
import { populationOf } from '../../../src/sim/schemeRunner.js';
import {
  CONTENT_KEY,
  GROUPS,
  ROUNDS,
  runWithLedger,
  SIGNING_KEY,
  tempLedgerFile,
  workload,
} from './helpers.js';

describe('the scheme ledger: restart and the file record', () => {
  it('reopened, it resumes the chain: later rounds append, and the whole chain replays', async () => {
    const file = tempLedgerFile();
    const first = await runWithLedger('plain-sum', {}, file);
    const before = verifySchemeChain(file, {
      centerKeys: first.centerKeys,
      contentKey: CONTENT_KEY,
    });
    expect(before).toMatchObject({ ok: true, blocks: GROUPS * ROUNDS });

    const second = await runWithLedger('plain-sum', {}, file, { firstRound: ROUNDS });
    expect(second.run.statusCounts).toMatchObject({ complete: GROUPS * ROUNDS, failed: 0 });
    const after = verifySchemeChain(file, {
      centerKeys: first.centerKeys,
      contentKey: CONTENT_KEY,
    });
    expect(after.firstBad).toBeUndefined();
    expect(after).toMatchObject({ ok: true, replayed: true, recoveries: 2 * GROUPS * ROUNDS });

    // The rounds of the second run are numbered after the first's.
    const store = new SqliteBlockStore(file, { readonly: true });
    const rounds = [...store.all()].flatMap((b) =>
      b.transactions.filter((t) => t.kind === 'recovery').map((t) => t.round),
    );
    store.close();
    expect(rounds).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
  });

  it('the same rounds run again after a restart are refused on the chain (the center resumed)', async () => {
    const file = tempLedgerFile();
    await runWithLedger('plain-sum', {}, file);
    // Round 0 again: the reopened center holds round 0's partials, so the new ones are
    // REPLAY, and nothing of them is recorded.
    const again = await runWithLedger('plain-sum', {}, file);
    expect(again.run.rejections.REPLAY).toBeGreaterThan(0);
    const report = verifySchemeChain(file, {
      centerKeys: again.centerKeys,
      contentKey: CONTENT_KEY,
    });
    expect(report).toMatchObject({ ok: true, replayed: true });
  });

  it('records the scheme; a file of another scheme, configuration or key is refused', async () => {
    const file = tempLedgerFile();
    const { config, centerKeys } = await runWithLedger('plain-sum', {}, file);
    const store = new SqliteBlockStore(file, { readonly: true });
    const record = readSchemeRecord(store)!;
    store.close();
    expect(record.schemeId).toBe('plain-sum');
    expect(record.params).toEqual({});
    expect(record.population).toEqual(config.population);

    const base = {
      file,
      schemeId: 'plain-sum',
      params: {},
      config,
      publicSetup: record.publicSetup,
      centerKeys,
      signingKey: SIGNING_KEY,
      contentKey: CONTENT_KEY,
    };
    // The same record reopens (and replays).
    openSchemeLedger(base).close();

    const pop = populationOf(workload('other'));
    const tree = configureScheme('tree-test', {}, pop);
    const treeSetup = tree.setup(seededRandom('tree'));
    expect(() =>
      openSchemeLedger({
        ...base,
        schemeId: 'tree-test',
        config: tree,
        publicSetup: treeSetup.publicSetup,
        centerKeys: treeSetup.keysOf(CENTER),
      }),
    ).toThrow(/recorded for scheme 'plain-sum', not 'tree-test'/);

    const scaled = configureScheme('plain-sum', { scale: 10 }, pop);
    expect(() => openSchemeLedger({ ...base, params: { scale: 10 }, config: scaled })).toThrow(
      /another configuration of 'plain-sum' \(scheme.params differ\)/,
    );
    expect(() => openSchemeLedger({ ...base, signingKey: Buffer.alloc(32, 4) })).toThrow(
      expect.objectContaining({ code: 'BAD_KEY' }),
    );
    // Parameters that do not give the configuration handed over.
    expect(() => openSchemeLedger({ ...base, params: { scale: 10 } })).toThrow(
      /not the one its recorded parameters give/,
    );
  });

  it(':memory: works, and the center is built from its keys when none is handed over', () => {
    const config = configureScheme('plain-sum', {}, populationOf(workload('memory')));
    const setup = config.setup(seededRandom('memory'));
    const ledger = openSchemeLedger({
      file: ':memory:',
      schemeId: 'plain-sum',
      params: {},
      config,
      publicSetup: setup.publicSetup,
      centerKeys: setup.keysOf(CENTER),
      signingKey: SIGNING_KEY,
      contentKey: CONTENT_KEY,
    });
    const bad = { from: CENTER, channel: 'partial', bytes: new Uint8Array(3) };
    expect(ledger.receive(bad, 1).verdict.ok).toBe(false);
    expect(ledger.recover(0, 0, 2).status).toBe('failed');
    expect(ledger.ledgerCounters()).toMatchObject({
      accepted: 0,
      rejected: { MALFORMED_MESSAGE: 1 },
      blocks: 1,
      transactions: 1,
      recoveries: 1,
    });
    expect(ledger.counters()).toMatchObject({
      'ledger.blocks': 1,
      'ledger.rejected.MALFORMED_MESSAGE': 1,
    });
    ledger.close();
    expect(ledger.receive(bad, 3).verdict).toMatchObject({ ok: false, code: 'DATA_UNAVAILABLE' });
  });
});
