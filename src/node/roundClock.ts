/**
 * Wall-clock rounds shared by every process of a deployment: round r spans
 * [epoch + r·duration, epoch + (r+1)·duration). Devices report at a round's start,
 * gateways close it at its end plus `closeGraceMs` (late reports in flight still
 * count), and the ledger restores it `restoreDelayMs` after its end. No coordinator
 * message is needed, so killing any one process never stalls the others' clocks.
 * The epoch itself comes from the ledger's signed epoch message (controlPlane.watchEpoch).
 */
export class RoundClock {
  constructor(
    readonly epochMs: number,
    readonly durationMs: number,
    readonly now: () => number = Date.now,
  ) {
    if (!(durationMs > 0) || !Number.isFinite(durationMs))
      throw new Error('round duration must be a positive number of ms');
    if (!Number.isFinite(epochMs)) throw new Error('the epoch must be a finite time in ms');
  }

  /** The round containing `t` (−1 before round 0). */
  roundAt(t: number = this.now()): number {
    return t < this.epochMs ? -1 : Math.floor((t - this.epochMs) / this.durationMs);
  }

  startOf(round: number): number {
    return this.epochMs + round * this.durationMs;
  }

  endOf(round: number): number {
    return this.startOf(round + 1);
  }

  /** Milliseconds until `t` (0 if past). */
  until(t: number): number {
    return Math.max(0, t - this.now());
  }
}

/** A timer that never keeps the process alive on its own, and a cancellable sleep. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    // The listener goes when the timer fires: a loop of sleeps on one signal must not pile them up.
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
