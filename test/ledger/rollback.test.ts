import { copyFileSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { chainHeadFromJson, verifyChainHead } from '../../src/ledger/chainHead.js';
import { MaasLedgerNode } from '../../src/ledger/embeddedLedger.js';
import { headFileOf, readHeadFile } from '../../src/ledger/headFile.js';
import { SqliteBlockStore } from '../../src/ledger/sqliteStore.js';
import { verifyChain } from '../../src/ledger/verifyChain.js';
import { ledgerFixture, T0 } from './helpers.js';
import { runLedgerCli } from './ledgerCli.js';

/**
 * Finding 8: a ledger file copied without its WAL lost 1,102 of 2,292 acknowledged
 * transactions, a torn WAL lost 543, deleting the last 5 blocks lost 5 blocks — and every
 * one of those files still verified. A chain that holds less than its signed head says was
 * acknowledged, or another block at the head's height, must now refuse to start and fail
 * `privagg ledger verify --head`.
 */
const NODE_KEY = Buffer.alloc(32, 5);

type Fixture = ReturnType<typeof ledgerFixture>;

function open(f: Fixture, file = f.file, extra: { adoptChainWithoutHead?: boolean } = {}) {
  return new MaasLedgerNode({
    file,
    config: f.config,
    ledgerKey: f.dep.registry.ledgerKey(),
    nodeKey: NODE_KEY,
    batchSize: 3,
    ...extra,
  });
}

/** `rounds` rounds of both IANs (5 partials and a restore each), from round `from`. */
function drive(node: MaasLedgerNode, f: Fixture, rounds: number, from = 0) {
  for (let rd = from; rd < from + rounds; rd++) {
    const now = T0 + rd * 1000;
    for (let v = 0; v < 2; v++) {
      for (const p of f.partials(v, rd, now)) expect(node.add(p, now).ok).toBe(true);
      expect(node.restore(v, rd, now).status).toBe('restored');
    }
  }
  node.commit();
}

const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e as { code?: string; message: string };
  }
  throw new Error('expected the ledger to refuse to open');
};

describe('rollback detection: signed heads', () => {
  it('each commit writes a signed head naming the tip; a clean restart opens and continues', async () => {
    const f = ledgerFixture();
    const node = open(f);
    drive(node, f, 4);
    const head = readHeadFile(headFileOf(f.file))!;
    expect(head).toMatchObject({ height: node.height, deployment: f.params.deployment });
    expect(head.headHash.equals(node.store.block(node.height - 1)!.hash)).toBe(true);
    expect(verifyChainHead(head, node.publicKey)).toBe(true);
    expect(node.head()).toEqual(head);
    const height = node.height;
    node.close();

    const again = open(f);
    expect(again.height).toBe(height);
    drive(again, f, 1, 4);
    expect(readHeadFile(headFileOf(f.file))!.height).toBe(again.height);
    again.close();
    expect((await runLedgerCli(['verify', f.file, '--head', headFileOf(f.file)])).code).toBe(0);
  });

  it('a file copied without its WAL: start refused, verify --head fails', async () => {
    const f = ledgerFixture();
    const node = open(f);
    drive(node, f, 6);
    // Copied while the ledger runs: the newest commits are only in the WAL, not copied.
    const copy = join(f.dir, 'copy.sqlite');
    copyFileSync(f.file, copy);
    copyFileSync(headFileOf(f.file), headFileOf(copy));
    const acknowledged = node.height;
    node.close();

    const e = refusal(() => open(f, copy));
    expect(e.code).toBe('ROLLBACK_DETECTED');
    expect(e.message).toMatch(new RegExp(`says ${acknowledged} were acknowledged`));
    const cli = await runLedgerCli(['verify', copy, '--head', headFileOf(copy)]);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/ROLLED BACK/);
  });

  it('a torn WAL: start refused, verify --head fails', async () => {
    const f = ledgerFixture();
    const node = open(f);
    drive(node, f, 6);
    const copy = join(f.dir, 'torn.sqlite');
    copyFileSync(f.file, copy);
    copyFileSync(`${f.file}-wal`, `${copy}-wal`);
    copyFileSync(headFileOf(f.file), headFileOf(copy));
    node.close();
    // Cut the WAL in the middle: SQLite keeps the frames before the tear and drops the rest.
    const wal = readFileSync(`${copy}-wal`);
    truncateSync(`${copy}-wal`, Math.floor(wal.length / 2));

    expect(refusal(() => open(f, copy)).code).toBe('ROLLBACK_DETECTED');
    const cli = await runLedgerCli(['verify', copy, '--head', headFileOf(copy)]);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/ROLLED BACK/);
  });

  it('the last 5 blocks deleted: the chain still verifies alone, but start is refused and verify --head fails', async () => {
    const f = ledgerFixture();
    const node = open(f);
    drive(node, f, 6);
    const height = node.height;
    node.close();
    const db = new Database(f.file);
    db.prepare('DELETE FROM blocks WHERE height >= ?').run(height - 5);
    db.prepare('DELETE FROM transactions WHERE height >= ?').run(height - 5);
    db.close();

    // What the review found: the shortened chain is a valid chain.
    const store = new SqliteBlockStore(f.file, { readonly: true });
    expect(verifyChain(store)).toMatchObject({ ok: true, blocks: height - 5 });
    store.close();
    const e = refusal(() => open(f));
    expect(e.code).toBe('ROLLBACK_DETECTED');
    expect(e.message).toMatch(/5 acknowledged block\(s\) are missing/);
    const cli = await runLedgerCli(['verify', f.file, '--head', headFileOf(f.file)]);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/ROLLED BACK — the chain holds \d+ block\(s\)/);
  });

  it('a forked chain (another block at the head height, same key) fails', async () => {
    const f = ledgerFixture();
    const a = open(f);
    drive(a, f, 3);
    a.close();
    const headA = readFileSync(headFileOf(f.file), 'utf8');
    // Another chain by the same node key, as long or longer: different rounds, other blocks.
    const other = join(f.dir, 'other.sqlite');
    const b = open(f, other);
    drive(b, f, 4, 10);
    b.close();
    writeFileSync(headFileOf(other), headA);

    const e = refusal(() => open(f, other));
    expect(e.code).toBe('ROLLBACK_DETECTED');
    expect(e.message).toMatch(/fork/);
    const cli = await runLedgerCli(['verify', other, '--head', headFileOf(other)]);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/FORKED — block \d+ hashes to/);
  });

  it('a head whose signature does not verify, or signed by another key, fails', async () => {
    const f = ledgerFixture();
    const node = open(f);
    drive(node, f, 2);
    node.close();
    const path = headFileOf(f.file);
    const json = JSON.parse(readFileSync(path, 'utf8'));
    // Claim a longer chain than there is, keeping the old signature.
    writeFileSync(path, JSON.stringify({ ...json, height: json.height + 100 }));
    expect(verifyChainHead(chainHeadFromJson(JSON.parse(readFileSync(path, 'utf8'))))).toBe(false);
    const forged = refusal(() => open(f));
    expect(forged).toMatchObject({ code: 'ROLLBACK_DETECTED' });
    expect(forged.message).toMatch(/signature/);
    const cli = await runLedgerCli(['verify', f.file, '--head', path]);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toMatch(/BAD HEAD/);
    // Given the wrong expected key, a genuine head is refused too.
    writeFileSync(path, JSON.stringify(json));
    const wrongKey = await runLedgerCli([
      'verify',
      f.file,
      '--head',
      path,
      '--public-key',
      '11'.repeat(32),
    ]);
    expect(wrongKey.code).toBe(1);
    expect((await runLedgerCli(['verify', f.file, '--head', path])).code).toBe(0);
  });

  it('a non-empty chain without its head file is refused unless adopted explicitly', () => {
    const f = ledgerFixture();
    const node = open(f);
    drive(node, f, 2);
    const height = node.height;
    node.close();
    rmSync(headFileOf(f.file));
    expect(refusal(() => open(f))).toMatchObject({ code: 'ROLLBACK_DETECTED' });
    const adopted = open(f, f.file, { adoptChainWithoutHead: true });
    expect(adopted.height).toBe(height);
    adopted.close();
    expect(readHeadFile(headFileOf(f.file))!.height).toBe(height);
    open(f).close();
  });
});
