import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode, isPrivaggError } from '../../src/errors.js';
import { acquireStateLock, assertUnlocked } from '../../src/node/stateLock.js';

const lockIn = () => join(mkdtempSync(join(tmpdir(), 'privagg-lock-')), '.privagg.lock');
const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('not refused');
};

describe('state locks', () => {
  it('a second holder is refused with STATE_LOCKED naming the first; after release it may take it', () => {
    const path = lockIn();
    const first = acquireStateLock(path, 'state directory /x', { pid: 1111, command: 'up a' });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ pid: 1111, command: 'up a' });
    const e = refusal(() =>
      acquireStateLock(path, 'state directory /x', { pid: 2222, isAlive: () => true }),
    );
    expect(isPrivaggError(e, ErrorCode.STATE_LOCKED)).toBe(true);
    expect(String(e)).toContain('state directory /x is in use by privagg process 1111');
    expect(String(e)).toContain('up a');
    first.release();
    expect(existsSync(path)).toBe(false);
    const second = acquireStateLock(path, 'state directory /x', { pid: 2222 });
    expect(second.tookOverFrom).toBeUndefined();
    second.release();
  });

  it('a lock whose owner is gone (or junk) is stale: taken over, and said so', () => {
    const path = lockIn();
    acquireStateLock(path, 'd', { pid: 1111 });
    const next = acquireStateLock(path, 'd', { pid: 2222, isAlive: () => false });
    expect(next.tookOverFrom).toMatch(/^process 1111 \(started /);
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(2222);
    next.release();
    // Junk: held while young (another tool may be writing it), stale once old.
    writeFileSync(path, 'half-writ');
    expect(
      isPrivaggError(
        refusal(() => acquireStateLock(path, 'd', { pid: 3333 })),
        ErrorCode.STATE_LOCKED,
      ),
    ).toBe(true);
    utimesSync(path, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    const after = acquireStateLock(path, 'd', { pid: 3333 });
    expect(after.tookOverFrom).toBe('an unreadable lock');
    after.release();
  });

  it('release removes only its own lock, and the real pid check sees this process alive', () => {
    const path = lockIn();
    const mine = acquireStateLock(path, 'd', { pid: 1111 });
    // Another process took the lock over meanwhile (ours looked stale to it).
    writeFileSync(path, JSON.stringify({ pid: 4444, startedAt: 'x', command: 'y' }));
    mine.release();
    expect(existsSync(path)).toBe(true);
    // Without isAlive: this test process holds it, and it is alive.
    writeFileSync(path, JSON.stringify({ pid: process.pid, startedAt: 'x', command: 'y' }));
    expect(
      isPrivaggError(
        refusal(() => acquireStateLock(path, 'd', { pid: process.pid + 1 })),
        ErrorCode.STATE_LOCKED,
      ),
    ).toBe(true);
  });

  it('one holder per path even within a process; nothing left beside the lock', () => {
    const path = lockIn();
    const first = acquireStateLock(path, 'd');
    expect(
      isPrivaggError(
        refusal(() => acquireStateLock(path, 'd')),
        ErrorCode.STATE_LOCKED,
      ),
    ).toBe(true);
    first.release();
    // Temporary and stale files are cleaned up: only the directory's own files remain.
    expect(readdirSync(join(path, '..'))).toEqual([]);
  });

  assertUnlockedChecks();
});

function assertUnlockedChecks() {
  it('assertUnlocked: refuses a live holder, passes a free or stale lock, takes nothing', () => {
    const path = lockIn();
    expect(() => assertUnlocked(path, 'ledger file f')).not.toThrow();
    const held = acquireStateLock(path, 'ledger file f', { pid: 5555 });
    expect(String(refusal(() => assertUnlocked(path, 'ledger file f', () => true)))).toContain(
      'ledger file f is in use by privagg process 5555',
    );
    expect(() => assertUnlocked(path, 'ledger file f', () => false)).not.toThrow();
    expect(existsSync(path)).toBe(true);
    held.release();
  });
}
