/**
 * One write per batch of incoming packets, not one per acknowledgement. MQTT.js handles
 * each incoming packet on its own tick and corks the socket only until the next tick, so
 * a subscriber receiving a burst of QoS 1 messages sends each PUBACK in its own write
 * system call (a fifth of a busy subscriber's CPU). Corking the socket when a chunk
 * arrives and uncorking it once the chunk's packets are handled (setImmediate runs after
 * every tick they queue) sends the same PUBACKs, in the same order, in one write.
 */

/** Streams already set up: one 'data' listener per stream, however often it is passed in. */
const coalesced = new WeakSet<object>();

/** Installs the cork/uncork on a connection's stream (once per stream; anything not a stream is left alone). */
export function coalesceAcks(stream: unknown): void {
  const s = stream as {
    on?: (event: 'data', listener: () => void) => void;
    cork?: () => void;
    uncork?: () => void;
    writableLength?: number;
  } | null;
  if (!s?.on || !s.cork || !s.uncork || coalesced.has(s)) return;
  coalesced.add(s);
  const cork = s.cork.bind(s);
  const uncork = s.uncork.bind(s);
  let corked = false;
  const release = () => {
    corked = false;
    uncork();
  };
  s.on('data', () => {
    // A socket with writes still queued (a publisher mid-burst) batches them already; a
    // cork would only hold them back until the next turn of the loop.
    if (corked || (s.writableLength ?? 0) > 0) return;
    corked = true;
    cork();
    setImmediate(release);
  });
}
