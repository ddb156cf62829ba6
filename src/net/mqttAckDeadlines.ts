/**
 * Acknowledgement deadlines for a link's publishes and subscribes. A publish resolves on
 * PUBACK (a subscribe on SUBACK); one made while the connection is down waits in
 * MQTT.js's outgoing store and is sent after the reconnect; one not acknowledged within
 * the timeout, or still pending when the link closes, rejects. A rejection means "not
 * known to be delivered", not "not delivered" (QoS 1 is at least once): receivers drop
 * duplicates by their replay caches.
 *
 * No timer per message (a fleet has tens of thousands in flight): entries share one
 * timeout, so insertion order is deadline order, and one timer armed for the oldest
 * entry's deadline sweeps the expired ones.
 */

interface Pending {
  reject(e: Error): void;
  what: string;
  /** Date.now() after which it times out. */
  deadline: number;
}

/** MQTT.js's completion callback for one publish or subscribe. */
export type AckCallback<T> = (err?: Error | null, result?: T) => void;

export class AckDeadlines {
  private readonly pending = new Set<Pending>();
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: string,
    private readonly timeoutMs: number,
    /** Named in a timeout's message: a timeout while disconnected means the broker is unreachable. */
    private readonly connected: () => boolean,
  ) {}

  /**
   * Runs `send`, resolving with what its callback reports, rejecting with its error, or
   * rejecting once the timeout passes or rejectAll is called, whichever comes first.
   */
  awaitAck<T>(what: string, send: (done: AckCallback<T>) => void): Promise<T | undefined> {
    return new Promise((resolve, reject) => {
      const entry: Pending = { reject, what, deadline: Date.now() + this.timeoutMs };
      this.pending.add(entry);
      this.sweepTimer ??= setTimeout(this.sweep, this.timeoutMs);
      send((err, result) => {
        if (!this.pending.delete(entry)) return; // timed out or closed already
        if (err) {
          reject(new Error(`MQTT ${what} on ${this.url} failed: ${err.message}`, { cause: err }));
        } else resolve(result);
      });
    });
  }

  /** Stops the timer and rejects everything still pending, each with `message` (the link is closing). */
  rejectAll(message: string): void {
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
    for (const p of [...this.pending]) {
      this.pending.delete(p);
      p.reject(new Error(message));
    }
  }

  private readonly sweep = (): void => {
    this.sweepTimer = undefined;
    const now = Date.now();
    for (const entry of this.pending) {
      if (entry.deadline > now) {
        this.sweepTimer = setTimeout(this.sweep, entry.deadline - now);
        return;
      }
      this.pending.delete(entry);
      entry.reject(
        new Error(
          `MQTT ${entry.what} on ${this.url}: no acknowledgement within ${this.timeoutMs} ms (${this.connected() ? 'connected' : 'broker unreachable'}); it may still be delivered later`,
        ),
      );
    }
  };
}
