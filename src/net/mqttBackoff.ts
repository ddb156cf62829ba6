import { randomInt } from 'node:crypto';

/**
 * Reconnection delays: exponential backoff with "equal jitter".
 *
 * MQTT.js retries on a fixed `reconnectPeriod`; its timer is armed from
 * `options.reconnectPeriod` each time a connection closes. So the link rewrites the
 * period on each 'reconnect' event (an attempt is starting; if it fails, the close
 * re-arms the timer with the new value) and resets it on 'connect': the nominal delay
 * doubles per failed attempt from `reconnectPeriodMs` up to `maxReconnectPeriodMs`, and
 * the actual delay is drawn uniformly from [nominal/2, nominal], so a fleet of devices
 * does not hammer a restarted broker in lockstep.
 */

/**
 * Delay before reconnect attempt `attempt` (0 = the first after a drop): nominal
 * min(max, base·2^attempt), jittered uniformly in [nominal/2, nominal].
 */
export function backoffDelayMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  draw: (below: number) => number = randomInt,
): number {
  const nominal = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  const half = Math.floor(nominal / 2);
  return Math.max(1, nominal - draw(half + 1));
}
