import { createServer, type Server, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { type EmbeddedBroker, startEmbeddedBroker } from '../../../src/net/embeddedBroker.js';
import { freePort } from '../../../src/net/freePort.js';
import {
  cleanUp,
  everyone,
  expectConsistent,
  expectExact,
  fixture,
  key,
  metrics,
  readLedger,
  sleep,
  start,
  waitFor,
} from './helpers.js';

/**
 * The broker restarted mid-run, across real processes: the deployment talks to an embedded
 * broker this test runs on a fixed port. 300 ms into round K the broker is closed (every
 * connection dropped); for DOWN_MS a stand-in listens on the port that reads each
 * client's CONNECT — who tried to reconnect, and when — and hangs up without a CONNACK;
 * then a new broker starts on the same port.
 *  - Every client reconnects, with growing delays between attempts (the jittered
 *    exponential backoff: each gap at least the previous one, less scheduling noise).
 *  - Round K, whose reports were in before the broker went, completes. Rounds during the
 *    outage are each recorded — restored with exact totals, or failed with the reason —
 *    and every round that starts once all clients are back is complete.
 */
const DOWN_MS = 2000;

/** A TCP listener that records each MQTT CONNECT's client id and closes the connection. */
async function refusingListener(port: number) {
  const attempts: { clientId: string; at: number }[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const clientId = connectClientId(buf);
      if (clientId !== undefined) {
        attempts.push({ clientId, at: Date.now() });
        socket.destroy();
      }
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    attempts,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

/** The client id of an MQTT 3.1.1 CONNECT packet, once enough of it has arrived. */
function connectClientId(b: Buffer): string | undefined {
  if (b.length < 2 || b[0] !== 0x10) return undefined;
  let at = 1;
  while (at < b.length && b[at]! & 0x80) at++; // remaining length (varint)
  at++;
  const nameLength = b.length >= at + 2 ? b.readUInt16BE(at) : undefined;
  if (nameLength === undefined) return undefined;
  at += 2 + nameLength + 1 + 1 + 2; // protocol name, level, flags, keepalive
  if (b.length < at + 2) return undefined;
  const idLength = b.readUInt16BE(at);
  if (b.length < at + 2 + idLength) return undefined;
  return b.subarray(at + 2, at + 2 + idLength).toString('utf8');
}

describe('faults: broker restarted mid-run', () => {
  it('clients reconnect with backoff; rounds complete or are marked; later rounds complete', async () => {
    const port = await freePort();
    let broker: EmbeddedBroker = await startEmbeddedBroker({ insecure: true, port });
    const fx = fixture('brokerkill', { rounds: 16, broker: `mqtt://127.0.0.1:${port}` });
    const { spec } = fx;
    const h = await start(fx);
    const { clock } = h;
    const name = spec.name;
    let K = 0;
    let backRound = 0;
    let attempts: { clientId: string; at: number }[] = [];
    const reconnects = new Map<string, number>();
    try {
      K = Math.max(2, clock.roundAt() + 2);
      await h.at(K, 300);
      expect(clock.roundAt(), 'the test process fell behind the round clock').toBe(K);
      await broker.close();
      const stand = await refusingListener(port);
      await sleep(DOWN_MS);
      await stand.close();
      attempts = stand.attempts;
      broker = await startEmbeddedBroker({ insecure: true, port });
      // Ledger, 5 gateways, devices (`up` has no MQTT connection: the ledger publishes the epoch).
      await waitFor(() => broker.stats().clients >= 7, 'every client to reconnect', 20_000);
      backRound = clock.roundAt() + 1;
      expect(backRound + 1, 'the reconnects took too long').toBeLessThan(spec.rounds.count);
      await h.untilRound(backRound + 1);
      for (let l = 1; l <= 5; l++) {
        const m = await metrics(String(h.ready.get(`gateway-0-${l}`)!.health));
        reconnects.set(`gateway-0-${l}`, m.get('privagg_gateway_mqtt_reconnects_total') ?? -1);
      }
    } finally {
      await h.d.stop();
      await broker.close();
    }

    // Every client came knocking while the broker was down, with growing gaps.
    // Client ids are the identities of the processes' certificates and bundles.
    const fleetId = new RegExp(`^${name.replace(/\./g, '\\.')}\\.devices-0$`);
    const ids = [`${name}.ledger`, 'fleet', ...[1, 2, 3, 4, 5].map((l) => `${name}.gw-0-${l}`)];
    for (const id of ids) {
      const times = attempts
        .filter((a) => (id === 'fleet' ? fleetId.test(a.clientId) : a.clientId === id))
        .map((a) => a.at);
      expect(times.length, `${id} reconnect attempts while down`).toBeGreaterThanOrEqual(2);
      const gaps = times.slice(1).map((t, i) => t - times[i]!);
      // Nominal delays 250, 500, 1000 … ms, each drawn from [nominal/2, nominal]: never a
      // hammering loop, and each gap at least the previous one (less scheduling noise).
      expect(gaps[0], `${id} gaps ${gaps}`).toBeGreaterThanOrEqual(100);
      for (let i = 1; i < gaps.length; i++)
        expect(gaps[i]!, `${id} gaps ${gaps}`).toBeGreaterThanOrEqual(gaps[i - 1]! - 30);
    }
    // Each gateway reconnected exactly once (the stand-in never accepted a session).
    for (const [role, n] of reconnects) expect(n, role).toBe(1);

    const ledger = readLedger(spec);
    // One status per round; restored rounds exact over their contributors, failed ones with a reason.
    const records = expectConsistent(spec, ledger, backRound + 2);
    // Before the outage, and round K (its reports were in before the broker went): complete.
    for (let round = 0; round <= K; round++)
      expect(records.get(key(0, round)), `round ${round}`).toMatchObject({ status: 'complete' });
    // Every round that started once every client was back: complete, exact over every device.
    for (const round of [backRound, backRound + 1]) {
      expect(records.get(key(0, round))).toEqual({
        ian: 0,
        round,
        status: 'complete',
        reasons: [],
      });
      expect(expectExact(spec, ledger.restores.get(key(0, round))).contributors).toEqual(
        everyone(spec),
      );
    }
    cleanUp(fx);
  }, 90_000);
});
