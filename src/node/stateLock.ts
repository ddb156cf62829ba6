import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { ErrorCode, PrivaggError } from '../errors.js';

/**
 * An exclusive lock on a path (a state directory, a ledger file, a demo's output
 * directory) for the life of one process: `<path>.lock` (or `<dir>/.privagg.lock`),
 * created with O_EXCL and holding the owner's pid, start time and command. Two
 * `privagg up` on one deployment file both ran before this, and the second moved the
 * first's live ledger aside; now the second is refused with who holds the lock.
 *
 * A lock whose owner is gone (a crash, SIGKILL) is stale: the pid no longer exists, so
 * the next run takes it over and says so. The check is by pid on this host; a lock file
 * on a shared file system written by another host's process looks stale here (privagg
 * runs a deployment's state on one host).
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
}

export function acquireStateLock(
  lockPath: string,
  what: string,
  o: { pid?: number; command?: string; isAlive?: (pid: number) => boolean } = {},
): StateLock {
  const pid = o.pid ?? process.pid;
  const owner: Owner = {
    pid,
    startedAt: new Date().toISOString(),
    command: o.command ?? process.argv.slice(1).join(' '),
  };
  const isAlive = o.isAlive ?? processExists;
  let tookOverFrom: string | undefined;
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx', 0o600);
      try {
        writeSync(fd, `${JSON.stringify(owner)}\n`);
      } finally {
        closeSync(fd);
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
      const held = readOwner(lockPath);
      if (held && held.pid !== pid && isAlive(held.pid)) {
        throw new PrivaggError(
          ErrorCode.STATE_LOCKED,
          `${what} is in use by privagg process ${held.pid} (started ${held.startedAt}: ${held.command}); stop it first, or give this run another directory (lock: ${lockPath})`,
          { lock: lockPath, pid: held.pid },
        );
      }
      // Its owner is gone (or the file is unreadable half-written junk): stale.
      tookOverFrom = held
        ? `process ${held.pid} (started ${held.startedAt})`
        : 'an unreadable lock';
      rmSync(lockPath, { force: true });
    }
  }
  let released = false;
  return {
    path: lockPath,
    tookOverFrom,
    release() {
      if (released) return;
      released = true;
      // Only our own lock: never remove one another process took over meanwhile.
      if (readOwner(lockPath)?.pid === pid) rmSync(lockPath, { force: true });
    },
  };
}

function readOwner(lockPath: string): Owner | undefined {
  try {
    const o = JSON.parse(readFileSync(lockPath, 'utf8')) as Partial<Owner>;
    return typeof o.pid === 'number' && Number.isInteger(o.pid) && o.pid > 0
      ? { pid: o.pid, startedAt: String(o.startedAt), command: String(o.command) }
      : undefined;
  } catch {
    return undefined;
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
