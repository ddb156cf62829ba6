/**
 * Sleeps until a wall-clock time, and can be stopped: every sleeper then wakes at once with
 * `false`, so a role's loop ends without waiting out its round.
 */
export class WallTimer {
  private stopped = false;
  private readonly sleepers = new Set<{ timer: NodeJS.Timeout; wake: (ok: boolean) => void }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** True once `atMs` has come; false if the timer was stopped first. */
  until(atMs: number): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    const wait = atMs - this.now();
    if (wait <= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const sleeper = {
        timer: setTimeout(() => {
          this.sleepers.delete(sleeper);
          resolve(true);
        }, wait),
        wake: resolve,
      };
      this.sleepers.add(sleeper);
    });
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.sleepers) {
      clearTimeout(s.timer);
      s.wake(false);
    }
    this.sleepers.clear();
  }
}
