import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MaasLedgerNode } from '../../src/ledger/embeddedLedger.js';
import { headFileOf } from '../../src/ledger/headFile.js';
import { ledgerFixture, T0 } from '../ledger/helpers.js';

const run = promisify(execFile);
const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

/** The demo's ledger file, checked the way a user would: `privagg ledger verify`. */
describe('privagg ledger verify (child process)', () => {
  it('the demo writes a ledger that verifies; an edited row makes verify exit 1 naming the block', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'privagg-cli-ledger-'));
    const file = join(dir, 'demo.sqlite');
    const { stdout } = await run(process.execPath, [
      ...CLI,
      'demo',
      '--json',
      // Every role in the demo's process (quicker to start; the same ledger and sockets).
      '--one-process',
      '--rounds',
      '4',
      '--devices',
      '10',
      '--ledger',
      file,
      '--out',
      dir,
    ]);
    const summary = JSON.parse(stdout);
    // Over the networked runtime the ledger groups transactions into blocks as they come.
    expect(summary.ledger).toMatchObject({ file, verified: true });
    expect(summary.ledger.blocks).toBeGreaterThan(2);
    expect(summary.outputs.ledger).toBe(file);

    const ok = await run(process.execPath, [...CLI, 'ledger', 'verify', file]);
    expect(ok.stdout).toContain(`OK — ${summary.ledger.blocks} blocks`);

    // `ledger show` reads each block's transactions: partials sealed without the auditor's
    // bundle, their header and contributor set with it; queries decoded.
    const auditor = readdirSync(join(dir, 'privagg-demo.state', 'credentials')).find((f) =>
      f.endsWith('.auditor.json'),
    )!;
    const bundle = join(dir, 'privagg-demo.state', 'credentials', auditor);
    // Partials come first, the OEM's queries last.
    const n = summary.ledger.blocks;
    const heights = [1, n - 3, n - 2, n - 1].map(String);
    const shown = [];
    for (const h of heights)
      shown.push(
        await run(process.execPath, [
          ...CLI,
          'ledger',
          'show',
          file,
          '--height',
          h,
          '--bundle',
          bundle,
        ]),
      );
    const all = shown.map((r) => r.stdout).join('\n');
    expect(all).toMatch(
      /partial .* attempt 0, \d+ of 10 devices, 5 sum shares, verifier shares, sent /,
    );
    // Queries name their OEM as the deployment registered it.
    expect(all).toMatch(/query .* oem-1: number = \d, rounds 0\.\.3/);
    const sealed = await run(process.execPath, [...CLI, 'ledger', 'show', file, '--height', '1']);
    expect(sealed.stdout).toMatch(/partial .* sealed \(\d+ bytes\)/);

    const db = new Database(file);
    db.prepare(
      'UPDATE transactions SET body = zeroblob(length(body)) WHERE height = 2 AND idx = 0',
    ).run();
    db.close();
    await expect(run(process.execPath, [...CLI, 'ledger', 'verify', file])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/TAMPERED — block 2: Merkle root/),
    });
    // A wrong expected key is refused even on an untouched prefix.
    await expect(
      run(process.execPath, [...CLI, 'ledger', 'verify', file, '--public-key', '11'.repeat(32)]),
    ).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/block 0: Ed25519 signature/),
    });
  }, 120_000);
});

describe('privagg ledger verify --head (child process)', () => {
  it('exit 0 on the chain its head names; exit 1 once the last 5 blocks are gone', async () => {
    const f = ledgerFixture();
    const node = new MaasLedgerNode({
      file: f.file,
      config: f.config,
      ledgerKey: f.dep.registry.ledgerKey(),
      batchSize: 3,
    });
    for (let rd = 0; rd < 4; rd++) {
      const now = T0 + rd * 1000;
      for (let v = 0; v < 2; v++) {
        for (const p of f.partials(v, rd, now)) node.add(p, now);
        node.restore(v, rd, now);
      }
    }
    node.close();
    const head = headFileOf(f.file);
    const ok = await run(process.execPath, [...CLI, 'ledger', 'verify', f.file, '--head', head]);
    expect(ok.stdout).toMatch(/head .*: held/);
    const db = new Database(f.file);
    db.prepare('DELETE FROM transactions WHERE height >= ?').run(node.height - 5);
    db.prepare('DELETE FROM blocks WHERE height >= ?').run(node.height - 5);
    db.close();
    await expect(
      run(process.execPath, [...CLI, 'ledger', 'verify', f.file, '--head', head]),
    ).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/ROLLED BACK/) });
  }, 60_000);

  it('a file that is not a ledger: one line naming it, exit 2, no stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'privagg-cli-ledger-'));
    const file = join(dir, 'notes.sqlite');
    writeFileSync(file, 'not a database at all');
    for (const command of ['verify', 'show']) {
      const e = await run(process.execPath, [...CLI, 'ledger', command, file]).catch(
        (x: { code: number; stderr: string }) => x,
      );
      expect(e).toMatchObject({ code: 2 });
      expect((e as { stderr: string }).stderr.trim()).toBe(
        `privagg: MALFORMED_DATA: ${file} is not a privagg ledger file (SQLite: file is not a database)`,
      );
    }
    // An empty file and another SQLite database open as empty chains: not "OK — 0 blocks".
    const empty = join(dir, 'empty.sqlite');
    writeFileSync(empty, '');
    const other = join(dir, 'other.sqlite');
    const db = new Database(other);
    db.exec('CREATE TABLE t (x)');
    db.close();
    for (const f of [empty, other]) {
      const e = await run(process.execPath, [...CLI, 'ledger', 'verify', f]).catch(
        (x: { code: number; stderr: string }) => x,
      );
      expect(e).toMatchObject({ code: 2 });
      expect((e as { stderr: string }).stderr).toContain(
        `privagg: MALFORMED_DATA: ${f} holds no privagg ledger (no blocks, no deployment)`,
      );
    }
  });
});
