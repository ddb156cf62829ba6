import { randomBytes } from 'node:crypto';
import {
  linkSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, PrivaggError } from '../errors.js';

/**
 * An exclusive lock on a path (a state directory, a ledger file, a demo's output
 * directory) for the life of one holder: `<path>.lock` (or `<dir>/.privagg.lock`),
 * holding the owner's pid, start time, command and a random token. Two `privagg up` on
 * one deployment file both ran before this, and the second moved the first's live ledger
 * aside; now the second is refused with who holds the lock.
 *
 * Creation is atomic with its contents: the owner is written to a private temporary file
 * which is then hard-linked to the lock's name (link fails if the name exists), so no
 * reader ever sees a half-written lock. A lock whose owner is gone (a crash, SIGKILL; a
 * zombie) is stale and is taken over: it is first renamed to a name of our own, and only
 * removed if what was renamed is the stale lock we read — a live lock another process
 * created meanwhile is put back. The check is by pid on this host; a lock file on a shared
 * file system written by another host's process looks stale here (privagg keeps a
 * deployment's state on one host).
 */
export interface StateLock {
  readonly path: string;
  /** A stale lock (owner gone) was taken over: its owner's description. */
  readonly tookOverFrom: string | undefined;
  release(): void;
}

interface Owner {
  pid: number;
  startedAt: string;
  command: string;
  token: string;
}

/** An unreadable lock younger than this may be one being written by another tool: held. */
const UNREADABLE_GRACE_MS = 10_000;
const MAX_ATTEMPTS = 8;

export function acquireStateLock(
  lockPath: string,
  what: string,
  o: { pid?: number; command?: string; isAlive?: (pid: number) => boolean } = {},
): StateLock {
  const owner: Owner = {
    pid: o.pid ?? process.pid,
    startedAt: new Date().toISOString(),
    command: o.command ?? process.argv.slice(1).join(' '),
    token: randomBytes(16).toString('hex'),
  };
  const isAlive = o.isAlive ?? processExists;
  let tookOverFrom: string | undefined;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (createWith(lockPath, owner)) {
      let released = false;
      return {
        path: lockPath,
        tookOverFrom,
        release() {
          if (released) return;
          released = true;
          // Only our own lock (by token): never one another holder took over meanwhile.
          const now = readOwner(lockPath);
          if (typeof now === 'object' && now.token === owner.token)
            rmSync(lockPath, { force: true });
        },
      };
    }
    const held = readOwner(lockPath);
    if (held === 'missing') continue; // released between our try and our read
    if (held === 'unreadable') {
      if (ageMs(lockPath) < UNREADABLE_GRACE_MS) throw locked(lockPath, what, undefined);
    } else if (isAlive(held.pid)) {
      // Including this very process: one holder per path, even within a process.
      throw locked(lockPath, what, held);
    }
    const stale = held === 'unreadable' ? 'an unreadable lock' : describe(held);
    if (removeIfStill(lockPath, held)) tookOverFrom = stale;
  }
  throw locked(lockPath, what, undefined);
}

/**
 * Throws STATE_LOCKED if a live process holds the lock, without taking it: for a step that
 * must not touch what another process holds, where the lock itself belongs to a process
 * started later (`up` checks the ledger file its ledger child will lock).
 */
export function assertUnlocked(
  lockPath: string,
  what: string,
  isAlive: (pid: number) => boolean = processExists,
): void {
  const held = readOwner(lockPath);
  if (held === 'missing') return;
  if (held === 'unreadable') {
    if (ageMs(lockPath) < UNREADABLE_GRACE_MS) throw locked(lockPath, what, undefined);
    return;
  }
  if (isAlive(held.pid)) throw locked(lockPath, what, held);
}

/** The lock file a running deployment keeps in its state directory (`up`, `credentials issue`). */
export const STATE_LOCK_FILE = '.privagg.lock';

/** Holds a deployment's state directory (`<stateDir>/.privagg.lock`), creating it if new. */
export function acquireStateDirLock(stateDir: string): StateLock {
  mkdirSync(stateDir, { recursive: true });
  return acquireStateLock(join(stateDir, STATE_LOCK_FILE), `state directory ${stateDir}`);
}

/**
 * Holds a ledger file (`<file>.lock`); undefined for ':memory:', which holds no file
 * (and whose lock would land in the working directory).
 */
export function acquireLedgerFileLock(file: string): StateLock | undefined {
  return file === ':memory:' ? undefined : acquireStateLock(`${file}.lock`, `ledger file ${file}`);
}

/** STATE_LOCKED if a live process serves this ledger file; nothing for ':memory:'. */
export function assertLedgerFileFree(file: string): void {
  if (file !== ':memory:') assertUnlocked(`${file}.lock`, `ledger file ${file}`);
}

function locked(lockPath: string, what: string, held: Owner | undefined): PrivaggError {
  return new PrivaggError(
    ErrorCode.STATE_LOCKED,
    held
      ? `${what} is in use by privagg process ${held.pid} (started ${held.startedAt}: ${held.command}); stop it first, or give this run another directory (lock: ${lockPath})`
      : `${what} is locked by another process (lock: ${lockPath}); try again, or remove the lock if no privagg process uses it`,
    { lock: lockPath, ...(held ? { pid: held.pid } : {}) },
  );
}

function describe(o: Owner): string {
  return `process ${o.pid} (started ${o.startedAt})`;
}

/** Creates the lock with its contents in one step; false if the name exists. */
function createWith(lockPath: string, owner: Owner): boolean {
  const tmp = `${lockPath}.${owner.token}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(owner)}\n`, { mode: 0o600 });
  try {
    linkSync(tmp, lockPath);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Removes the lock if it is still the stale one we read: renamed aside first (atomic), then
 * compared; a different lock (someone took over before us) is linked back in place.
 */
function removeIfStill(lockPath: string, seen: Owner | 'unreadable'): boolean {
  const aside = `${lockPath}.${randomBytes(8).toString('hex')}.stale`;
  try {
    renameSync(lockPath, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  const moved = readOwner(aside);
  const same =
    seen === 'unreadable'
      ? moved === 'unreadable'
      : typeof moved === 'object' && moved.token === seen.token;
  if (!same) {
    try {
      linkSync(aside, lockPath); // a live lock: put it back
    } catch {
      // Another one was created meanwhile; the next attempt reads it.
    }
  }
  rmSync(aside, { force: true });
  return same;
}

function readOwner(path: string): Owner | 'missing' | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable';
  }
  try {
    const o = JSON.parse(text) as Partial<Owner>;
    return typeof o.pid === 'number' && Number.isInteger(o.pid) && o.pid > 0
      ? {
          pid: o.pid,
          startedAt: String(o.startedAt),
          command: String(o.command),
          token: String(o.token),
        }
      : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/**
 * Whether a process with this pid is running (signal 0 checks without sending anything).
 * A zombie — exited, not yet reaped by its parent, as a SIGKILLed ledger is for a moment
 * before `up` restarts it — answers signal 0 but holds nothing: on Linux its state in
 * /proc says so.
 */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) S …": the state follows the last ')' (comm may hold spaces and parens).
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}
