import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { connectMqtt } from '../../../src/net/mqttClient.js';
import { topics } from '../../../src/net/topics.js';
import { MAX_MESSAGE_BYTES } from '../../../src/wire/maas.js';
import { checkMosquitto } from '../mosquittoCheck.js';
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
} from './helpers.js';

/**
 * A rogue client on the broker (Mosquitto) publishing to the 5 gateways' report topics at
 * 200 messages/s for four rounds (≈ 560 messages), while the honest fleet reports as usual. It
 * first listens on the report topics to capture genuine reports, then sends, in the
 * middle of each round (so no message straddles a round boundary):
 *   malformed    a genuine report cut short                        → MALFORMED_MESSAGE
 *   oversized    1 MiB + 1 byte (every 41st message)              → OVERSIZED_MESSAGE
 *   forged       a genuine report moved to the next round with a fresh
 *                timestamp and a random tag (authenticated before it could be held
 *                for that round: refused at once)                    → BAD_MAC
 *   stale        the same, timestamped 10 minutes ago              → STALE_TIMESTAMP
 *   misaddressed a genuine report for another gateway              → WRONG_RECIPIENT
 *   unknown      a genuine report claiming device 1000             → UNKNOWN_SENDER
 *   replayed-old a genuine report of two rounds ago, verbatim       → WRONG_ROUND
 *   replayed     a genuine report of this round, verbatim          → REPLAY while the
 *                round is open, WRONG_ROUND once the gateway has closed it (it closes as
 *                soon as every device reported), so these two codes are checked together.
 * Every message is rejected with its code and counted: each gateway's GET /metrics shows
 * exactly the rogue's messages under those codes, and nothing else rejected. The honest
 * rounds are unaffected: complete, exact totals.
 */
const CLASSES = [
  'malformed',
  'forged',
  'stale',
  'misaddressed',
  'unknown',
  'replayed-old',
  'replayed',
] as const;
type Kind = (typeof CLASSES)[number] | 'oversized';

const CODE: Record<Exclude<Kind, 'replayed'>, string> = {
  malformed: 'MALFORMED_MESSAGE',
  oversized: 'OVERSIZED_MESSAGE',
  forged: 'BAD_MAC',
  stale: 'STALE_TIMESTAMP',
  misaddressed: 'WRONG_RECIPIENT',
  unknown: 'UNKNOWN_SENDER',
  'replayed-old': 'WRONG_ROUND',
};

const RATE_INTERVAL_MS = 5; // 200 messages/s
const ROGUE_ROUNDS = 4;
const WINDOW = [400, 1100] as const; // ms into each round when the rogue sends

describe('faults: rogue client on the broker', () => {
  it('malformed, forged, replayed, stale and oversized messages are rejected with their codes and counted; honest rounds unaffected', async () => {
    await checkMosquitto();
    const fx = fixture('rogue', { rounds: 14 });
    const { spec } = fx;
    const name = spec.name;
    const h = await start(fx);
    const { clock } = h;
    const rogue = await connectMqtt(h.d.brokerUrl, {
      clientId: `${name}-rogue`,
      maxPacketBytes: 2 * MAX_MESSAGE_BYTES,
    });
    // gateway → round → a genuine report captured on its topic
    const genuine = new Map<number, Map<number, Buffer>>();
    const sent = new Set<string>();
    const sentTo = new Map<number, Map<Kind, number>>();
    const pending: Promise<void>[] = [];
    let K = 0;
    const gauges = new Map<number, Map<string, number>>();
    try {
      await rogue.subscribe(`privagg/v1/${name}/ian/0/gw/+/reports/+`, (topic, payload) => {
        const l = Number(/\/gw\/(\d+)\/reports\/\d+$/.exec(topic)?.[1]);
        if (sent.has(payload.toString('hex')) || payload.length < 24) return;
        if (payload[0] !== 1 || payload[1] !== 1) return;
        const round = payload.readUInt32BE(12);
        const byRound = genuine.get(l) ?? new Map<number, Buffer>();
        genuine.set(l, byRound);
        if (!byRound.has(round)) byRound.set(round, Buffer.from(payload));
      });
      K = Math.max(2, clock.roundAt() + 3);
      const send = async (l: number, kind: Kind, bytes: Buffer) => {
        sent.add(bytes.toString('hex'));
        // On the topic of the device the bytes claim (device 0's when they claim none we know).
        const claimed = bytes.length >= 12 ? bytes.readUInt32BE(8) : 0;
        const device = claimed < spec.scheme.devicesPerIan ? claimed : 0;
        await rogue.publish(topics.deviceReport(name, 0, l, device), bytes);
        const m = sentTo.get(l) ?? new Map<Kind, number>();
        sentTo.set(l, m);
        m.set(kind, (m.get(kind) ?? 0) + 1);
      };
      let tick = 0;
      for (let r = K; r < K + ROGUE_ROUNDS; r++) {
        await h.at(r, WINDOW[0]);
        const from = clock.startOf(r) + WINDOW[0];
        for (let n = 0; clock.now() < clock.startOf(r) + WINDOW[1]; n++) {
          const l = (tick % 5) + 1;
          const now = Date.now();
          const mine = genuine.get(l)?.get(r);
          const old = genuine.get(l)?.get(r - 2);
          const other = genuine.get((l % 5) + 1)?.get(r);
          expect(
            mine && old && other,
            `genuine reports of rounds ${r - 2}, ${r} captured`,
          ).toBeTruthy();
          const kind: Kind = tick % 41 === 40 ? 'oversized' : CLASSES[tick % CLASSES.length]!;
          let bytes: Buffer;
          switch (kind) {
            case 'oversized':
              bytes = Buffer.alloc(MAX_MESSAGE_BYTES + 1, 0xff);
              break;
            case 'malformed':
              bytes = Buffer.from(mine!.subarray(0, mine!.length - 7));
              break;
            case 'forged':
            case 'stale':
              bytes = Buffer.from(mine!);
              bytes.writeUInt32BE(r + 1, 12);
              bytes.writeUIntBE(kind === 'stale' ? now - 600_000 : now, 18, 6);
              randomBytes(32).copy(bytes, bytes.length - 32);
              break;
            case 'misaddressed':
              bytes = Buffer.from(other!);
              break;
            case 'unknown':
              bytes = Buffer.from(mine!);
              bytes.writeUInt32BE(1000, 8);
              break;
            case 'replayed-old':
              bytes = Buffer.from(old!);
              break;
            case 'replayed':
              bytes = Buffer.from(mine!);
              break;
          }
          pending.push(send(l, kind, bytes));
          tick++;
          await sleep(from + (n + 1) * RATE_INTERVAL_MS - Date.now());
        }
      }
      await Promise.all(pending);
      // The held 'forged' and 'stale' messages are judged when the next round opens.
      await h.untilRound(K + ROGUE_ROUNDS);
      for (let l = 1; l <= 5; l++)
        gauges.set(l, await metrics(String(h.ready.get(`gateway-0-${l}`)!.health)));
    } finally {
      await rogue.close();
      await h.d.stop();
    }

    let total = 0;
    for (let l = 1; l <= 5; l++) {
      const m = gauges.get(l)!;
      const s = sentTo.get(l)!;
      const rejected = (code: string) =>
        m.get(`privagg_gateway_reports_rejected_total{code="${code}"}`) ?? 0;
      const expected = new Map<string, number>();
      for (const [kind, n] of s) {
        total += n;
        if (kind !== 'replayed') {
          const code = CODE[kind];
          expected.set(code, (expected.get(code) ?? 0) + n);
        }
      }
      // Each deterministic class under its own code: forged and stale reports for the next
      // round are checked (freshness, tag) before they could be held, so none takes a place
      // in the buffer and none is refused as an excess copy. The same-round replays land
      // under REPLAY or WRONG_ROUND.
      const dropped = m.get('privagg_gateway_early_dropped_total') ?? 0;
      expect(dropped, `gateway ${l} next-round copies dropped`).toBe(0);
      for (const [code, n] of expected) {
        if (code === 'WRONG_ROUND') continue;
        expect(rejected(code), `gateway ${l} ${code}`).toBe(n);
      }
      expect(rejected('REPLAY') + rejected('WRONG_ROUND'), `gateway ${l} replays`).toBe(
        (s.get('replayed') ?? 0) + (s.get('replayed-old') ?? 0),
      );
      expect(rejected('WRONG_ROUND')).toBeGreaterThanOrEqual(s.get('replayed-old') ?? 0);
      // Nothing else rejected: no honest report was refused.
      const all = [...m].filter(([k]) => k.startsWith('privagg_gateway_reports_rejected_total'));
      expect(
        all.reduce((a, [, n]) => a + n, 0),
        `gateway ${l} rejected in all`,
      ).toBe([...s.values()].reduce((a, n) => a + n, 0));
    }
    // A few seconds at 200 messages/s, every class present.
    expect(total).toBeGreaterThan(
      0.9 * ROGUE_ROUNDS * ((WINDOW[1] - WINDOW[0]) / RATE_INTERVAL_MS),
    );
    for (const kind of [...CLASSES, 'oversized'] as const)
      expect(
        [...sentTo.values()].some((s) => (s.get(kind) ?? 0) > 0),
        kind,
      ).toBe(true);

    // The honest rounds: complete, every gateway, every device, exact totals.
    const ledger = readLedger(spec);
    const records = expectConsistent(spec, ledger, K + ROGUE_ROUNDS + 1);
    for (let round = 0; round < K + ROGUE_ROUNDS + 1; round++) {
      expect(records.get(key(0, round))).toEqual({
        ian: 0,
        round,
        status: 'complete',
        reasons: [],
      });
      const r = expectExact(spec, ledger.restores.get(key(0, round)));
      expect(r.contributors).toEqual(everyone(spec));
      expect(r.gateways).toEqual([1, 2, 3, 4, 5]);
    }
    cleanUp(fx);
  }, 90_000);
});
