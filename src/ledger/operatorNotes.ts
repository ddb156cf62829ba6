import { ErrorCode } from '../errors.js';

/**
 * Operator notes: short lines of text an operator (POST /v1/notes) asks the ledger to put
 * on the chain — `privagg up` says so when it restarted a role process. A note is not a
 * transaction of its own: it waits here and goes on the chain inside the next round status
 * the ledger records (RoundStatusRecord.notes), once. So a round's status says what
 * happened to the deployment since the previous one, and a chain without notes is
 * byte-for-byte what it was before notes existed.
 *
 * Bounded: a note is at most MAX_NOTE_BYTES of UTF-8 with printable characters only (it is
 * printed by the CLI and logged: no control, format or separator characters, so no escape
 * sequence and no forged line); at most MAX_PENDING_NOTES wait, the oldest dropped (and
 * counted) past that. Pending notes live in memory: a ledger that stops before its next
 * round status loses them (the answer to the POST says they are pending, not recorded).
 */
export const MAX_NOTE_BYTES = 512;
export const MAX_PENDING_NOTES = 32;

/**
 * Control (Cc: C0, DEL, C1), format (Cf: bidi overrides, zero-width), surrogate (Cs: a lone
 * half left by JSON's \uD800), private-use (Co), line and paragraph separators.
 */
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Zl}\p{Zp}]/u;

export type NoteProblem = { code: ErrorCode; reason: string };

/** Why `note` may not be taken (a stable code and a reason that never quotes it), if so. */
export function noteProblem(note: unknown): NoteProblem | undefined {
  if (typeof note !== 'string') {
    return { code: ErrorCode.MALFORMED_MESSAGE, reason: 'a note is a string' };
  }
  const bytes = Buffer.byteLength(note, 'utf8');
  if (bytes > MAX_NOTE_BYTES) {
    return {
      code: ErrorCode.OVERSIZED_MESSAGE,
      reason: `a note is at most ${MAX_NOTE_BYTES} bytes of UTF-8 (this one: ${bytes})`,
    };
  }
  if (note.trim().length === 0) {
    return { code: ErrorCode.MALFORMED_MESSAGE, reason: 'a note has some visible text' };
  }
  if (UNPRINTABLE.test(note)) {
    return {
      code: ErrorCode.MALFORMED_MESSAGE,
      reason: 'a note holds printable characters only (no control, format or separator ones)',
    };
  }
  return undefined;
}

/** Notes waiting for the next round status, oldest first. */
export class PendingNotes {
  private notes: string[] = [];
  /** Notes taken (recorded or still pending) and notes dropped unrecorded, since start. */
  accepted = 0;
  dropped = 0;

  /** Queues a note that passed `noteProblem`; the oldest is dropped when full. */
  add(note: string): void {
    this.notes.push(note);
    this.accepted++;
    if (this.notes.length > MAX_PENDING_NOTES) {
      this.notes.shift();
      this.dropped++;
    }
  }

  /** The pending notes, handed over once (the queue is empty after). */
  take(): string[] {
    const out = this.notes;
    this.notes = [];
    return out;
  }

  get size(): number {
    return this.notes.length;
  }
}
