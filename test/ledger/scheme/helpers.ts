import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ed25519PrivateKey } from '../../../src/crypto/ed25519.js';
import { canonicalJson } from '../../../src/ledger/canonicalJson.js';
import { BodySealer, openSchemeLedger, signedBlock } from '../../../src/ledger/scheme/index.js';
import type { LedgerTransaction } from '../../../src/ledger/service.js';
import { SqliteBlockStore } from '../../../src/ledger/sqliteStore.js';
import { seededRandom } from '../../../src/math/random.js';
import { configureScheme } from '../../../src/schemes/registry.js';
import {
  CENTER,
  type CenterRole,
  type Recovery,
  type SchemeConfig,
} from '../../../src/schemes/scheme.js';
import { populationOf, type RunFaults, runScheme } from '../../../src/sim/schemeRunner.js';
import { SyntheticWorkload } from '../../../src/sim/syntheticWorkload.js';

export const SIGNING_KEY = Buffer.alloc(32, 1);
export const CONTENT_KEY = Buffer.alloc(32, 2);
export const GROUPS = 2;
export const ROUNDS = 2;
export const START_MS = 1_700_000_000_000;
export const ROUND_MS = 1000;

export function tempLedgerFile(name = 'scheme-ledger.sqlite'): string {
  return join(mkdtempSync(join(tmpdir(), 'privagg-scheme-ledger-')), name);
}

export function workload(seed: string) {
  return new SyntheticWorkload({
    ians: GROUPS,
    devicesPerIan: 4,
    rounds: ROUNDS,
    dimensions: 2,
    maxReading: 9,
    startRate: 0.3,
    rng: seededRandom(seed),
  });
}

export interface LedgerRun {
  file: string;
  config: SchemeConfig;
  centerKeys: Uint8Array;
  run: Awaited<ReturnType<typeof runScheme>>;
}

/**
 * `runScheme` with the scheme ledger wrapped around the center, on `file`; the ledger is
 * closed when the run ends. `firstRound` numbers the rounds after an earlier run's (the
 * roles see rounds firstRound, firstRound + 1, …; the driver its own 0, 1, …).
 */
export async function runWithLedger(
  schemeId: string,
  params: unknown,
  file: string,
  o: { seed?: string; faults?: RunFaults; firstRound?: number; signingKey?: Uint8Array } = {},
): Promise<LedgerRun> {
  const w = workload(`scheme-ledger/${schemeId}`);
  const base = configureScheme(schemeId, params, populationOf(w));
  const offset = o.firstRound ?? 0;
  const config = offset === 0 ? base : shifted(base, offset);
  let centerKeys: Uint8Array | undefined;
  let ledger: ReturnType<typeof openSchemeLedger> | undefined;
  try {
    const run = await runScheme({
      config,
      workload: w,
      seed: o.seed ?? 'ledger-seed',
      ...(o.faults ? { faults: o.faults } : {}),
      startMs: START_MS + offset * ROUND_MS,
      roundMs: ROUND_MS,
      center: (center, setup) => {
        centerKeys = setup.keysOf(CENTER);
        ledger = openSchemeLedger({
          file,
          schemeId,
          params,
          config: base,
          publicSetup: setup.publicSetup,
          centerKeys,
          signingKey: o.signingKey ?? SIGNING_KEY,
          contentKey: CONTENT_KEY,
          center,
        });
        return offset === 0 ? ledger : shiftCenter(ledger, offset);
      },
    });
    return { file, config: base, centerKeys: centerKeys!, run };
  } finally {
    ledger?.close();
  }
}

/** Devices and aggregators see round r + offset; the center is shifted by the caller. */
function shifted(config: SchemeConfig, offset: number): SchemeConfig {
  return {
    ...config,
    setup: (rng) => config.setup(rng),
    roles: (publicSetup) => {
      const roles = config.roles(publicSetup);
      return {
        device: (g, i, keys) => {
          const d = roles.device(g, i, keys);
          return {
            address: d.address,
            report: (round, reading, nowMs, rng) => d.report(round + offset, reading, nowMs, rng),
            ...(d.receive ? { receive: d.receive.bind(d) } : {}),
          };
        },
        aggregator: (at, keys) => {
          const a = roles.aggregator(at, keys);
          return {
            address: a.address,
            open: (round, nowMs) => a.open(round + offset, nowMs),
            receive: (m, nowMs, rng) => a.receive(m, nowMs, rng),
            close: (round, nowMs, rng) => a.close(round + offset, nowMs, rng),
            counters: () => a.counters(),
          };
        },
        center: (keys) => roles.center(keys),
      };
    },
  };
}

function shiftCenter(center: CenterRole, offset: number): CenterRole {
  return {
    receive: (m, nowMs) => center.receive(m, nowMs),
    recover: (g, round, nowMs): Recovery => ({
      ...center.recover(g, round + offset, nowMs),
      round,
    }),
    counters: () => center.counters(),
  };
}

/** Flips one byte of a stored transaction's body, in place. */
export function flipBodyByte(file: string, height: number, idx: number): void {
  const db = new Database(file);
  try {
    const row = db
      .prepare('SELECT body FROM transactions WHERE height = ? AND idx = ?')
      .get(height, idx) as { body: Buffer };
    const body = Buffer.from(row.body);
    body[body.length >> 1]! ^= 0x01;
    db.prepare('UPDATE transactions SET body = ? WHERE height = ? AND idx = ?').run(
      body,
      height,
      idx,
    );
  } finally {
    db.close();
  }
}

export function deleteBlock(file: string, height: number): void {
  const db = new Database(file);
  try {
    db.prepare('DELETE FROM transactions WHERE height = ?').run(height);
    db.prepare('DELETE FROM blocks WHERE height = ?').run(height);
  } finally {
    db.close();
  }
}

/** Heights of blocks holding a recovered recovery, in order. */
export function recoveredHeights(file: string): number[] {
  const store = new SqliteBlockStore(file, { readonly: true });
  const sealer = new BodySealer(CONTENT_KEY);
  try {
    const out: number[] = [];
    for (const b of store.all()) {
      const recovered = b.transactions.some(
        (t) => t.kind === 'recovery' && sealer.open(t).toString('utf8').includes('"recovered"'),
      );
      if (recovered) out.push(b.height);
    }
    return out;
  } finally {
    store.close();
  }
}

/**
 * An attacker with the content key: the first recovery at `height` is edited (by default
 * its first estimate changed) and sealed again; that block and every later one are
 * re-hashed, re-linked and re-signed with `signingKey`, and written back over the stored rows.
 */
export function forgeRecovery(
  file: string,
  height: number,
  signingKey: Uint8Array,
  edit: (record: { values: { estimate: number }[] }) => void = (r) => {
    r.values[0]!.estimate += 1;
  },
): void {
  const store = new SqliteBlockStore(file, { readonly: true });
  const blocks = [...store.all()];
  store.close();
  const sealer = new BodySealer(CONTENT_KEY);
  const signer = ed25519PrivateKey(signingKey);
  const db = new Database(file);
  try {
    const putBlock = db.prepare(
      'UPDATE blocks SET previous_hash = ?, merkle_root = ?, hash = ?, signature = ? WHERE height = ?',
    );
    const putBody = db.prepare('UPDATE transactions SET body = ? WHERE height = ? AND idx = ?');
    let previousHash = blocks[height]!.previousHash;
    db.transaction(() => {
      for (const b of blocks.slice(height)) {
        let txs: LedgerTransaction[] = b.transactions;
        if (b.height === height) {
          const at = txs.findIndex((t) => t.kind === 'recovery');
          const record = JSON.parse(sealer.open(txs[at]!).toString('utf8'));
          edit(record);
          const forged = sealer.seal({ ...txs[at]!, body: Buffer.from(canonicalJson(record)) });
          txs = txs.map((t, i) => (i === at ? forged : t));
          putBody.run(forged.body, b.height, at);
        }
        const again = signedBlock(b.height, previousHash, txs, signer);
        putBlock.run(again.previousHash, again.merkleRoot, again.hash, again.signature, b.height);
        previousHash = again.hash;
      }
    })();
  } finally {
    db.close();
  }
}
