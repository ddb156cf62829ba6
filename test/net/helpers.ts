import type { LinkLogger } from '../../src/net/mqttClient.js';

/** Polls `check` until it returns true; fails with `what` after `timeoutMs`. */
export async function waitFor(
  check: () => boolean,
  what: string,
  timeoutMs = 5_000,
  everyMs = 10,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A logger that keeps what it is given, for assertions. */
export function memoryLogger() {
  const lines: { level: string; msg: string | undefined; obj: object }[] = [];
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, msg, obj });
    };
  const logger: LinkLogger = { info: at('info'), warn: at('warn'), error: at('error') };
  return { logger, lines };
}

/** A 4-byte big-endian sequence number followed by the publisher's id byte. */
export function sequenced(publisher: number, seq: number): Buffer {
  const b = Buffer.alloc(5);
  b.writeUInt32BE(seq, 0);
  b[4] = publisher;
  return b;
}

/** Messages grouped by publisher id byte, checking each publisher's sequence is 0, 1, 2, … */
export function inOrderPerPublisher(payloads: readonly Buffer[]): Map<number, number> {
  const next = new Map<number, number>();
  for (const p of payloads) {
    const publisher = p[4]!;
    const seq = p.readUInt32BE(0);
    const expected = next.get(publisher) ?? 0;
    if (seq !== expected) {
      throw new Error(`publisher ${publisher}: got message ${seq}, expected ${expected}`);
    }
    next.set(publisher, expected + 1);
  }
  return next;
}

export const uniqueSuffix = () => `${process.pid}-${Date.now().toString(36)}`;
