import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ErrorCode, PrivaggError } from '../errors.js';

/**
 * One role process started by `privagg up` (the MaaS runtime and the seam runtime alike):
 * spawned with its stderr appended to its log file, its stdout read as JSON event lines,
 * `ready` resolved by its first `{"event":"ready"}` line, or rejected with why it exited
 * before: its own one-line refusal (`privagg: CODE: …`) keeps its code.
 */
export interface RoleChild {
  readonly child: ChildProcess;
  readonly ready: Promise<Record<string, unknown>>;
}

export function spawnRoleChild(o: {
  role: string;
  command: string;
  args: readonly string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  /** Piped stdin (the seam runtime hands the epoch over it); default ignored. */
  stdin?: boolean;
  onEvent: (event: Record<string, unknown>) => void;
  onExit: (code: number | null, signal: NodeJS.Signals | null, wasReady: boolean) => void;
}): RoleChild {
  const child = spawn(o.command, [...o.args], {
    stdio: [o.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    env: o.env ?? process.env,
  });
  child.stderr!.pipe(createWriteStream(o.logFile, { flags: 'a' }));
  // The end of its stderr, to say why a role that never got ready exited.
  let errTail = '';
  child.stderr!.on('data', (d: Buffer) => {
    errTail = (errTail + d.toString('utf8')).slice(-4096);
  });
  // A child that dies with its stdin open must not take this process down with EPIPE.
  child.stdin?.on('error', () => undefined);
  let wasReady = false;
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let ev: Record<string, unknown>;
      try {
        ev = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (ev.event === 'ready' && !wasReady) {
        wasReady = true;
        resolve(ev);
      }
      o.onEvent(ev);
    });
    child.once('exit', (code, signal) => {
      if (!wasReady) reject(notReady(o.role, code, signal, errTail, o.logFile));
      o.onExit(code, signal, wasReady);
    });
  });
  return { child, ready };
}

/**
 * Why a role exited before it was ready: its own one-line refusal (`privagg: CODE: …`,
 * e.g. STATE_LOCKED) keeps its code; anything else is the exit and its last line.
 */
function notReady(
  role: string,
  code: number | null,
  signal: NodeJS.Signals | null,
  stderrTail: string,
  logFile: string,
): Error {
  const lines = stderrTail.trim().split('\n');
  const own = [...lines]
    .reverse()
    .map((l) => /^privagg: ([A-Z_]+): (.*)$/.exec(l))
    .find(Boolean);
  if (own && (Object.values(ErrorCode) as string[]).includes(own[1]!))
    return new PrivaggError(own[1] as ErrorCode, `${role} did not start: ${own[2]}`, { role });
  const last = lines.at(-1)?.slice(0, 300);
  return new Error(
    `${role} exited before it was ready (code ${code}, signal ${signal})${last ? `: ${last}` : ''}; see ${logFile}`,
  );
}

/** SIGTERM to every child still running, SIGKILL after 5 s; resolves when all have exited. */
export async function stopChildren(children: Iterable<ChildProcess>): Promise<void> {
  const exits = [...children]
    .filter((c) => c.exitCode === null && c.signalCode === null)
    .map(
      (c) =>
        new Promise<void>((r) => {
          c.once('exit', () => r());
          c.kill('SIGTERM');
          setTimeout(() => c.kill('SIGKILL'), 5000).unref();
        }),
    );
  await Promise.all(exits);
}

/** Backoff of supervised restarts: 250 ms doubling to 10 s; a process that ran 30 s resets it. */
export const RESTART_BACKOFF = {
  firstMs: 250,
  maxMs: 10_000,
  healthyAfterMs: 30_000,
  maxInARow: 8,
};

/**
 * Consecutive quick restarts per role: the next attempt's number and delay, or undefined
 * once a role has exited quickly too many times in a row (then it is left down).
 */
export class RestartBackoff {
  private readonly inARow = new Map<string, number>();

  next(
    role: string,
    startedAt: number,
    nowMs = Date.now(),
  ): { attempt: number; delayMs: number; gaveUp: boolean } {
    const ranMs = nowMs - startedAt;
    const attempt = ranMs >= RESTART_BACKOFF.healthyAfterMs ? 1 : (this.inARow.get(role) ?? 0) + 1;
    this.inARow.set(role, attempt);
    const delayMs = Math.min(RESTART_BACKOFF.maxMs, RESTART_BACKOFF.firstMs * 2 ** (attempt - 1));
    return { attempt, delayMs, gaveUp: attempt > RESTART_BACKOFF.maxInARow };
  }
}
