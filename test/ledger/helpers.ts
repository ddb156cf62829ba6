import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { ed25519PrivateKey, ed25519Sign } from '../../src/crypto/ed25519.js';
import { encodeTransaction, headerHash } from '../../src/ledger/blockCodec.js';
import { ChainCipher } from '../../src/ledger/chainCipher.js';
import { merkleRoot } from '../../src/ledger/merkle.js';
import type { LedgerTransaction } from '../../src/ledger/service.js';
import { seededRandom, systemRandom } from '../../src/math/random.js';
import { createMaasDeployment } from '../../src/schemes/maas/deployment.js';
import type { OemGrant } from '../../src/schemes/maas/keys.js';
import { defaultMaasParams } from '../../src/schemes/maas/params.js';
import { buildQuery, dimensionMask } from '../../src/schemes/maas/query.js';

export const T0 = Date.UTC(2026, 0, 1);
export const GRANT: OemGrant = {
  name: 'oem-1',
  dimensions: [0, 1],
  budget: { epsilon: 10, delta: 0 },
  epsilonPerDimension: [1, 1],
};

/** A small LDP-off deployment and a generator of real partials and queries for it. */
export function ledgerFixture(ians = 2, devices = 4) {
  const params = defaultMaasParams({
    deployment: 'ledger-test',
    ians,
    devicesPerIan: devices,
    dimensions: ['a', 'b'],
    maxReading: [9, 9],
    ldp: null,
  });
  const dep = createMaasDeployment(params, {
    oems: [GRANT],
    registeredAtMs: T0,
    masterSecret: Buffer.alloc(32, 7),
    rng: seededRandom('ledger'),
  });
  const reading = (v: number, i: number, rd: number) => [(v + i + rd) % 10, (2 * i + rd) % 10];
  /** The m partials of one IAN-round (all gateways, honest). */
  const partials = (v: number, rd: number, now: number): Buffer[] => {
    const gws = Array.from({ length: params.gateways }, (_, l) => dep.gateway(v, l + 1));
    for (const g of gws) g.beginRound(rd);
    for (let i = 0; i < devices; i++) {
      for (const m of dep.device(v, i).report(rd, reading(v, i, rd), now, systemRandom)) {
        gws[m.gateway - 1]!.ingest(m.bytes, now);
      }
    }
    return gws.map((g) => g.closeRound(now).partial);
  };
  const truth = (v: number, rd: number) =>
    [0, 1].map((j) =>
      Array.from({ length: devices }, (_, i) => reading(v, i, rd)[j]!).reduce((a, b) => a + b, 0),
    );
  const query = (number: number, endRound: number, at: number) =>
    buildQuery(params, dep.registry.oemKey(0), {
      number,
      startRound: 0,
      endRound,
      dimensionMask: dimensionMask([0, 1]),
      timestamp: at,
    });
  const dir = mkdtempSync(join(tmpdir(), 'privagg-ledger-'));
  return {
    params,
    dep,
    partials,
    truth,
    query,
    dir,
    file: join(dir, 'ledger.sqlite'),
    config: { params, oems: [GRANT] },
  };
}

/**
 * What an operator holding the node key can do to its own file: after editing rows, re-chain
 * every block from `fromHeight` on exactly as the node would have (Merkle roots, hashes,
 * signatures), so the file is internally consistent and correctly signed again.
 */
export function rechainFrom(db: Database.Database, nodeKey: Buffer, fromHeight: number): void {
  let previous =
    fromHeight === 0
      ? Buffer.alloc(32)
      : (
          db.prepare('SELECT hash FROM blocks WHERE height = ?').get(fromHeight - 1) as {
            hash: Buffer;
          }
        ).hash;
  const signer = ed25519PrivateKey(nodeKey);
  const heights = db
    .prepare('SELECT height, time FROM blocks WHERE height >= ? ORDER BY height')
    .all(fromHeight) as { height: number; time: number }[];
  for (const { height, time } of heights) {
    const txs = (
      db.prepare('SELECT * FROM transactions WHERE height = ? ORDER BY idx').all(height) as {
        kind: LedgerTransaction['kind'];
        time: number;
        body: Buffer;
        ian: number | null;
        round: number | null;
        gateway: number | null;
      }[]
    ).map((r) => ({
      kind: r.kind,
      time: r.time,
      body: r.body,
      ...(r.ian !== null ? { ian: r.ian } : {}),
      ...(r.round !== null ? { round: r.round } : {}),
      ...(r.gateway !== null ? { gateway: r.gateway } : {}),
    }));
    const root = merkleRoot(txs.map(encodeTransaction));
    const hash = headerHash({
      height,
      previousHash: previous,
      merkleRoot: root,
      time,
      count: txs.length,
    });
    db.prepare(
      'UPDATE blocks SET previous_hash = ?, merkle_root = ?, hash = ?, signature = ? WHERE height = ?',
    ).run(previous, root, hash, ed25519Sign(signer, hash), height);
    previous = hash;
  }
}

/**
 * What the ledger's operator (who holds the content key) can do to one stored
 * transaction: open it, edit the clear body, seal it again in its slot. Re-chain afterwards.
 */
export function editStoredBody(
  db: Database.Database,
  contentKey: Uint8Array,
  at: { height: number; idx: number },
  edit: (clear: Buffer) => Buffer,
): void {
  const r = db
    .prepare('SELECT * FROM transactions WHERE height = ? AND idx = ?')
    .get(at.height, at.idx) as {
    kind: LedgerTransaction['kind'];
    time: number;
    body: Buffer;
    ian: number | null;
    round: number | null;
    gateway: number | null;
  };
  const tx: LedgerTransaction = {
    kind: r.kind,
    time: r.time,
    body: r.body,
    ...(r.ian !== null ? { ian: r.ian } : {}),
    ...(r.round !== null ? { round: r.round } : {}),
    ...(r.gateway !== null ? { gateway: r.gateway } : {}),
  };
  const cipher = new ChainCipher(contentKey);
  const clear = cipher.open(tx);
  const sealed = cipher.seal({ ...clear, body: edit(Buffer.from(clear.body)) });
  db.prepare('UPDATE transactions SET body = ? WHERE height = ? AND idx = ?').run(
    sealed.body,
    at.height,
    at.idx,
  );
}
