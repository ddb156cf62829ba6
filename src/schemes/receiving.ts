import { ErrorCode, isPrivaggError } from '../errors.js';
import type { Answer, Envelope, Verdict } from './scheme.js';

/**
 * How every receiver of the seam turns a throwing check into a verdict: a PrivaggError's
 * code is the rejection, anything else is a bug reported as MALFORMED_MESSAGE rather than a
 * crashed process; each rejection is counted under its code.
 */
export class Receiving {
  private readonly counts: Record<string, number> = {};

  count(name: string, by = 1): void {
    this.counts[name] = (this.counts[name] ?? 0) + by;
  }

  counters(): Readonly<Record<string, number>> {
    return { ...this.counts };
  }

  /** Runs `accept`; its envelopes go out on success, a rejection is counted on failure. */
  answer(accept: () => readonly Envelope[] | undefined): Answer {
    try {
      const out = accept() ?? [];
      this.count('accepted');
      return { verdict: { ok: true }, out };
    } catch (e) {
      const verdict = verdictOf(e);
      if (!verdict.ok) this.count(verdict.code);
      return { verdict, out: [] };
    }
  }
}

export function verdictOf(e: unknown): Verdict {
  if (isPrivaggError(e)) return { ok: false, code: e.code, reason: e.message };
  return { ok: false, code: ErrorCode.MALFORMED_MESSAGE, reason: `unexpected: ${String(e)}` };
}
