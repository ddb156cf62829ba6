import { describe, expect, it } from 'vitest';
import { ed25519PublicFromPrivate } from '../../../src/crypto/ed25519.js';
import { verifySchemeChain } from '../../../src/ledger/scheme/index.js';
import {
  CONTENT_KEY,
  deleteBlock,
  flipBodyByte,
  forgeRecovery,
  recoveredHeights,
  runWithLedger,
  SIGNING_KEY,
  tempLedgerFile,
} from './helpers.js';

/** Edits to a recorded plain-sum chain (4 blocks: one per group-round), each caught. */
async function recordedChain() {
  const file = tempLedgerFile();
  const { centerKeys } = await runWithLedger('plain-sum', {}, file);
  const keys = { centerKeys, contentKey: CONTENT_KEY };
  expect(verifySchemeChain(file, keys)).toMatchObject({ ok: true, blocks: 4, replayed: true });
  return { file, keys };
}

describe('the scheme ledger: attacks on the stored chain', () => {
  it('a flipped byte in a stored body: the Merkle root of that block fails', async () => {
    const { file, keys } = await recordedChain();
    flipBodyByte(file, 2, 0);
    for (const report of [verifySchemeChain(file), verifySchemeChain(file, keys)]) {
      expect(report.ok).toBe(false);
      expect(report.firstBad?.height).toBe(2);
      expect(report.firstBad?.reason).toMatch(/Merkle root/);
      expect(report.blocks).toBe(2);
    }
  });

  it('a block removed in the middle is missing', async () => {
    const { file } = await recordedChain();
    deleteBlock(file, 1);
    const report = verifySchemeChain(file);
    expect(report).toMatchObject({ ok: false, firstBad: { height: 1 } });
    expect(report.firstBad?.reason).toMatch(/missing/);
  });

  it('the last block removed is NOT detectable by the chain alone', async () => {
    // A chain cut after block h is a valid chain of h + 1 blocks: only a head kept
    // elsewhere (a signed head, an auditor's earlier count) shows the cut.
    const { file, keys } = await recordedChain();
    deleteBlock(file, 3);
    expect(verifySchemeChain(file, keys)).toMatchObject({ ok: true, blocks: 3, replayed: true });
  });

  it('a recovery re-sealed with another estimate, re-signed with another key: signature fails', async () => {
    const { file, keys } = await recordedChain();
    const at = recoveredHeights(file)[1]!;
    forgeRecovery(file, at, Buffer.alloc(32, 9));
    for (const report of [verifySchemeChain(file), verifySchemeChain(file, keys)]) {
      expect(report).toMatchObject({ ok: false, firstBad: { height: at }, replayed: false });
      expect(report.firstBad?.reason).toMatch(/signature/);
    }
    // The forger's key given as the ledger's: the file records another one.
    const withForgersKey = verifySchemeChain(file, {
      ledgerPublicKey: ed25519PublicFromPrivate(Buffer.alloc(32, 9)),
    });
    expect(withForgersKey).toMatchObject({ ok: false, firstBad: { height: 0 } });
    expect(withForgersKey.firstBad?.reason).toMatch(/another ledger key/);
  });

  it('the same forged by the ledger itself (its own key): only the replay catches it', async () => {
    const { file, keys } = await recordedChain();
    const at = recoveredHeights(file)[1]!;
    forgeRecovery(file, at, SIGNING_KEY);
    // Structure and signatures hold: an insider's chain is internally consistent.
    expect(verifySchemeChain(file)).toMatchObject({ ok: true, replayed: false });
    const report = verifySchemeChain(file, keys);
    expect(report).toMatchObject({ ok: false, firstBad: { height: at }, replayed: false });
    expect(report.firstBad?.reason).toMatch(/differs from the one the center recomputes/);
  });

  it('a wrong content key: the first body does not open', async () => {
    const { file, keys } = await recordedChain();
    const report = verifySchemeChain(file, { ...keys, contentKey: Buffer.alloc(32, 3) });
    expect(report).toMatchObject({ ok: false, firstBad: { height: 0 } });
    expect(report.firstBad?.reason).toMatch(/does not open/);
  });
});
