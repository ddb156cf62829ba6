import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { FORMAT_VERSION, SqliteBlockStore } from '../../src/ledger/sqliteStore.js';

/**
 * A ledger file of an earlier format is refused, not replayed: format 1 chains recorded
 * restores and answers under rules (decoding radius, query noise) that no longer hold, and
 * replaying them would produce other values than the ones they acknowledged.
 */
describe('ledger file format', () => {
  it(`opens format ${FORMAT_VERSION} and refuses formats 1 and 2 with UNSUPPORTED_VERSION`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'privagg-format-'));
    const file = join(dir, 'ledger.sqlite');
    new SqliteBlockStore(file).close();
    expect(new SqliteBlockStore(file).getMeta('format')?.toString()).toBe(FORMAT_VERSION);
    for (const old of ['1', '2']) {
      const db = new Database(file);
      db.prepare("UPDATE meta SET value = ? WHERE key = 'format'").run(Buffer.from(old));
      db.close();
      expect(() => new SqliteBlockStore(file)).toThrowError(
        expect.objectContaining({ code: 'UNSUPPORTED_VERSION' }),
      );
    }
  });
});
