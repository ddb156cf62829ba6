import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MaasLedgerNode } from '../../src/ledger/embeddedLedger.js';
import { headFileOf, readHeadFile } from '../../src/ledger/headFile.js';
import { SqliteBlockStore } from '../../src/ledger/sqliteStore.js';
import { verifyChain } from '../../src/ledger/verifyChain.js';
import { ledgerFixture } from './helpers.js';

/**
 * Crash safety, for real: a child process appends blocks to a ledger file and is killed
 * with SIGKILL at a random moment, many times over. After every kill the file must open,
 * verify end to end, and hold at least every block the child reported as committed —
 * never a partial block. Reopening also replays the chain into a fresh contract, after
 * checking the chain against the signed head the child kept beside the file: the head
 * names at least every block the child reported, and the chain holds it (no rollback).
 */
const KILLS = 12;

function runUntilKilled(file: string, afterMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join('test', 'ledger', 'fixtures', 'ledgerWriter.ts'), file],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let reported = 0;
    let buffered = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const l of lines) reported = Math.max(reported, Number(l));
      // Start the kill clock once the child is writing.
      timer ??= setTimeout(() => child.kill('SIGKILL'), afterMs);
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('exit', (_code, signal) => {
      if (timer) clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`writer exited on its own: ${stderr}`));
      else resolve(reported);
    });
  });
}

describe('crash safety of the embedded ledger', () => {
  it(`survives ${KILLS} SIGKILLs mid-write with every committed block intact`, async () => {
    const f = ledgerFixture(2, 3);
    const file = f.file;
    let previousHeight = 0;
    for (let k = 0; k < KILLS; k++) {
      // Kill times spread over 20–220 ms of writing (deterministic spread, not a secret).
      const reported = await runUntilKilled(file, 20 + ((k * 37) % 200));
      const store = new SqliteBlockStore(file);
      const report = verifyChain(store);
      const height = store.count();
      store.close();
      expect(report.ok, report.firstBad?.reason).toBe(true);
      expect(height).toBeGreaterThanOrEqual(reported);
      expect(height).toBeGreaterThanOrEqual(previousHeight);
      previousHeight = height;
      const head = readHeadFile(headFileOf(file))!;
      expect(head.height).toBeGreaterThanOrEqual(reported);
      expect(head.height).toBeLessThanOrEqual(height);
      // A node reopens it (replaying every transaction) and can append again.
      const node = new MaasLedgerNode({
        file,
        config: f.config,
        ledgerKey: f.dep.registry.ledgerKey(),
      });
      expect(node.height).toBe(height);
      node.close();
    }
    expect(previousHeight).toBeGreaterThan(KILLS);
  }, 120_000);
});
