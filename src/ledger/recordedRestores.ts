/**
 * The reconciliation requests recorded per IAN-round not yet final, so the ledger records
 * a restore outcome only when it says something new: a reconciliation request identical
 * to the last one recorded for its IAN-round is not recorded again, and a final outcome
 * (restored or failed) ends what is kept for its IAN-round. Rounds the retention window
 * has pruned are forgotten. Fed by live restores and by replay alike, so a reopened
 * ledger records exactly what it would have recorded had it kept running.
 */
export class RecordedRestores {
  /** The last reconcile outcome recorded (its canonical JSON) by `ian/round`. */
  private readonly lastReconcile = new Map<string, string>();

  /** Whether `body`, an outcome with `status`, repeats the reconciliation request last recorded. */
  repeats(ian: number, round: number, status: string, body: string): boolean {
    return status === 'reconcile' && this.lastReconcile.get(`${ian}/${round}`) === body;
  }

  /** Notes that an outcome (its canonical JSON `body`) with `status` was recorded. */
  recorded(ian: number | undefined, round: number | undefined, status: string, body: string) {
    const key = `${ian}/${round}`;
    if (status === 'reconcile') this.lastReconcile.set(key, body);
    else this.lastReconcile.delete(key);
  }

  /** Forgets the IAN-rounds before `horizon` (the retention window moved past them). */
  forgetBefore(horizon: number): void {
    for (const key of this.lastReconcile.keys()) {
      if (Number(key.slice(key.indexOf('/') + 1)) < horizon) this.lastReconcile.delete(key);
    }
  }

  /** IAN-rounds held. */
  get size(): number {
    return this.lastReconcile.size;
  }
}
