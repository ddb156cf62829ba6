import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { macKey } from '../../../src/crypto/mac.js';
import { ErrorCode } from '../../../src/errors.js';
import { connectMqtt, type MqttClientLink } from '../../../src/net/mqttClient.js';
import { loadSeamBundle, type SeamRoleBundle } from '../../../src/node/seam/roleBundle.js';
import { seamPacketLimit } from '../../../src/node/seam/seamPki.js';
import { envelopeTopic, inboxFilter } from '../../../src/node/seam/seamTopics.js';
import { type RunningSeamDeployment, runNameOf } from '../../../src/node/seam/seamUp.js';
import { configureScheme } from '../../../src/schemes/registry.js';
import { type Address, aggregatorAt, CENTER, deviceAt } from '../../../src/schemes/scheme.js';
import { encodeFrame } from '../../../src/schemes/testing/frame.js';
import { seamDeployment, startSeam } from './seamFixture.js';

/**
 * An insider with the device fleet's stolen bundle (its certificate, its devices' keys)
 * attacks a running `privagg up` of tree-test on the seam, every role its own process, on
 * the run's TLS broker. It can only connect as the fleet (the broker binds the client id to
 * the certificate), so each of its connections takes the fleet's session over: the genuine
 * fleet is dropped and reconnects. What it tries, in rounds 1 and 2:
 *   (a) as device 0, to leaf 1 (which takes device 0's reports): random bytes, an empty
 *       payload, a truncated report frame, and a whole frame under a key it made up;
 *   (b) a packet over the run's packet limit (to leaf 2, as device 1): the broker drops the
 *       connection, the packet reaches nobody; the attacker reconnects;
 *   (c) sending as the center, as a leaf, as the root, retained; subscribing to a leaf's
 *       inbox or the whole run — all refused by the broker (its own devices' inbox is fine).
 * Round 1's attack lands before the round's genuine reports, round 2's after them.
 * Every wait is for an event (a role's event line, the attacker's connection lost), never
 * a fixed delay.
 */

/** A connection as the fleet; `lost` resolves the first time the broker drops it. */
async function connectAs(
  b: SeamRoleBundle,
  url: string,
  maxPacketBytes: number,
): Promise<{ link: MqttClientLink; lost: Promise<void> }> {
  let onLost: () => void = () => undefined;
  const lost = new Promise<void>((r) => {
    onLost = r;
  });
  const link = await connectMqtt(url, {
    clientId: b.identity.name,
    tls: b.tls,
    maxPacketBytes,
    // The attacker does not fight the genuine fleet for the session: once dropped it stays
    // off (the session helper closes it and, if its work was cut short, connects again).
    reconnectPeriodMs: 60_000,
    maxReconnectPeriodMs: 60_000,
    logger: {
      info() {},
      warn(_o, msg) {
        if (msg?.startsWith('MQTT connection lost')) onLost();
      },
      error() {},
    },
  });
  return { link, lost };
}

const garbage = () => randomBytes(13); // no frame of this scheme is 13 bytes long

describe('privagg up on the seam under attack by an insider with the fleet’s bundle', () => {
  it('tree-test: garbage, oversized packets and forged senders are refused or rejected and counted; every process stays up and every round is exact with every genuine report', async () => {
    const fx = seamDeployment('seam-attack', { id: 'tree-test', params: { leaves: 2 } }, 4, 2000);
    const run = runNameOf(fx.spec.name);
    const leaf1 = `${run}.agg.0.1`; // takes devices 0 and 2
    const leaf2 = `${run}.agg.0.2`; // takes devices 1 and 3
    const root = `${run}.agg.0.0`;
    const center = `${run}.center`;
    const fleet = `${run}.dev.0`;

    let deployed: (d: RunningSeamDeployment) => void = () => undefined;
    const running = new Promise<RunningSeamDeployment>((r) => {
      deployed = r;
    });
    /** What the insider stole: the fleet's bundle, as `up` issued it (0600). */
    const steal = async () => ({
      url: (await running).brokerUrl,
      b: loadSeamBundle(join(fx.dir, 'seam', `${fleet}.json`)),
    });
    /** Sessions the genuine fleet cut short (by taking its session back) and that ran again. */
    let cutShort = 0;
    const sent = { malformed: 0, badMac: 0 };
    const oversizedAcked: boolean[] = [];
    const attacks: Promise<void>[] = [];

    /**
     * Runs `work` on a connection of its own, again on a new one if the fleet took its
     * session back before `work` was done. Once `work` is done every publish in it was
     * acknowledged on one connection, so it reached the broker exactly once.
     */
    const session = async (work: (link: MqttClientLink) => Promise<void>) => {
      const { b, url } = await steal();
      for (let attempt = 1; ; attempt++) {
        const s = await connectAs(b, url, 4096);
        let lost = false;
        void s.lost.then(() => {
          lost = true;
          // Pending publishes reject at once rather than wait for a reconnect.
          void s.link.close();
        });
        try {
          return await work(s.link);
        } catch (e) {
          if ((!lost && s.link.connected) || attempt >= 4) throw e;
          cutShort++;
        } finally {
          await s.link.close();
        }
      }
    };

    const attack = async (round: number) => {
      const { b, url } = await steal();
      expect(b.identity).toEqual({ role: 'devices', name: fleet, group: 0 });
      const config = configureScheme(b.scheme.id, b.scheme.params, b.population);
      const w = b.population.dimensions.length;
      // (a) As device 0, to its leaf: nothing the leaf can parse, then a well-formed report
      // for this round under a key the attacker made up.
      const asDevice0 = envelopeTopic(run, aggregatorAt(0, 1), 'report', deviceAt(0, 0));
      const frame = encodeFrame(
        {
          kind: 1, // a report
          group: 0,
          sender: 0,
          round,
          timestampMs: Date.now(),
          words: new Array<bigint>(w).fill(123n),
        },
        macKey(randomBytes(32)),
      );
      await session(async (link) => {
        await Promise.all([
          link.publish(asDevice0, garbage()),
          link.publish(asDevice0, new Uint8Array(0)),
          link.publish(asDevice0, frame.subarray(0, frame.length - 7)),
          link.publish(asDevice0, frame),
        ]);
      });
      sent.malformed += 3;
      sent.badMac += 1;

      // (b) A packet over the run's limit, as device 1 to its leaf: the broker drops the
      // connection on its header; the publish is never acknowledged.
      const limit = seamPacketLimit(run, config);
      const big = await connectAs(b, url, 4 * limit);
      const acked = big.link
        .publish(
          envelopeTopic(run, aggregatorAt(0, 2), 'report', deviceAt(0, 1)),
          new Uint8Array(limit + 1),
        )
        .then(
          () => true,
          () => false,
        );
      await big.lost;
      await big.link.close();
      oversizedAcked.push(await acked);

      // (c) Reconnected: senders it does not speak for, a retained message, and inboxes it
      // may not hear. The broker acknowledges a refused publish and drops it: that none
      // arrived shows in the root's and the center's counts (neither hears from the
      // attacker otherwise). Its own devices' inbox it may hear.
      await session(async (link) => {
        await link.subscribe(inboxFilter(run, deviceAt(0, 0)), () => undefined);
        await expect(
          link.subscribe(inboxFilter(run, aggregatorAt(0, 1)), () => undefined),
        ).rejects.toThrow(/refused by broker/);
        await expect(link.subscribe(`privagg/s1/${run}/#`, () => undefined)).rejects.toThrow(
          /refused by broker/,
        );
        const toRoot = (channel: string, from: Address) =>
          envelopeTopic(run, aggregatorAt(0, 0), channel, from);
        await Promise.all([
          link.publish(toRoot('partial', CENTER), garbage()), // as the center
          link.publish(toRoot('partial', aggregatorAt(0, 2)), garbage()), // as a leaf
          link.publish(envelopeTopic(run, CENTER, 'partial', aggregatorAt(0, 0)), garbage()), // as the root
          link.publish(envelopeTopic(run, CENTER, 'aux', deviceAt(0, 0)), garbage(), {
            retain: true, // as its own device, but retained
          }),
        ]);
      });
    };

    const launch = (round: number) => {
      const a = attack(round);
      a.catch(() => undefined);
      attacks.push(a);
    };
    const { d, events } = await startSeam(fx, {
      onEvent: ({ role, ev }) => {
        // Round 1: as soon as leaf 1 has closed round 0, so it lands before round 1's reports.
        if (role === leaf1 && ev.event === 'closed' && ev.round === 0) launch(1);
        // Round 2: once the fleet has sent round 2's reports, while the round is still open.
        if (role === fleet && ev.event === 'reported' && ev.round === 2) launch(2);
      },
    });
    deployed(d);
    try {
      await d.finished;
      await Promise.all(attacks);
    } finally {
      await d.stop();
    }
    expect(attacks.length).toBe(2);

    // Every process stayed up: no restarts, no exit until the run was over, and every exit
    // (on its own at the end, or on `stop`'s SIGTERM) clean.
    const up = events.filter((e) => e.role === 'up').map((e) => e.ev.event);
    expect(up.filter((e) => e !== 'previous-ledger')).toEqual([]);
    const exits = events.filter((e) => e.ev.event === 'exit');
    for (const e of exits) expect(e.ev).toMatchObject({ event: 'exit', code: 0 });
    const done = events.findIndex((e) => e.role === center && e.ev.event === 'done');
    expect(done).toBeGreaterThan(0);
    expect(exits.filter((e) => events.indexOf(e) < done)).toEqual([]);
    // Each of the attacker's connections took the fleet's session over (the broker binds
    // the client id to the certificate, not to a process): the fleet was dropped and came
    // back on its own, without missing a report.
    const fleetLog = readFileSync(join(fx.dir, 'logs', `${fleet}.log`), 'utf8');
    expect(fleetLog).toContain('MQTT connection lost');

    // Every round recovered, exact over its contributors; the attacked rounds count every
    // genuine report, device 0's included (a rejected forgery takes no one's place).
    const result = d.result();
    expect(result.rounds.map((r) => r.round)).toEqual([0, 1, 2, 3]);
    for (const r of result.rounds) {
      expect(r.groups.length).toBe(1);
      const g = r.groups[0]!;
      expect(g.values, `round ${r.round}: ${g.status}`).not.toBeNull();
      expect(g.values!.map((v) => v.estimate)).toEqual(g.truth);
      if (r.round === 1 || r.round === 2) {
        const reported = events.find(
          (e) => e.role === fleet && e.ev.event === 'reported' && e.ev.round === r.round,
        );
        expect(reported?.ev.devices).toBe(4);
        expect([...g.contributors].sort()).toEqual([0, 1, 2, 3]);
        expect(g.status).toBe('complete');
      }
    }

    // Leaf 1 counted what reached it: the unparsable ones and the forgeries, each once
    // (more only if the fleet took a session back mid-way and the attacker sent again).
    const lastClosed = (who: string) =>
      events.filter((e) => e.role === who && e.ev.event === 'closed').at(-1)?.ev.rejections as
        | Record<string, number>
        | undefined;
    const atLeaf1 = lastClosed(leaf1) ?? {};
    if (cutShort === 0) {
      expect(atLeaf1[ErrorCode.MALFORMED_MESSAGE]).toBe(sent.malformed);
      expect(atLeaf1[ErrorCode.BAD_MAC]).toBe(sent.badMac);
    } else {
      expect(atLeaf1[ErrorCode.MALFORMED_MESSAGE]).toBeGreaterThanOrEqual(sent.malformed);
      expect(atLeaf1[ErrorCode.BAD_MAC]).toBeGreaterThanOrEqual(sent.badMac);
    }
    expect(sent).toEqual({ malformed: 6, badMac: 2 });
    // The oversized packets were never acknowledged, and never reached leaf 2 (which hears
    // nothing else from the attacker): a packet over the limit is not delivered.
    expect(oversizedAcked).toEqual([false, false]);
    const attackCodes = [ErrorCode.MALFORMED_MESSAGE, ErrorCode.UNKNOWN_SENDER, ErrorCode.BAD_MAC];
    const atLeaf2 = lastClosed(leaf2);
    expect(atLeaf2).toBeDefined();
    for (const code of attackCodes)
      expect(
        atLeaf2![code],
        `leaf 2 rejected ${atLeaf2![code]} × ${code}: the broker delivered a packet over the run's limit`,
      ).toBeUndefined();
    // The refused senders (as the center and as a leaf to the root, as the root to the
    // center, retained to the center) reached no one either.
    const atCenter = events.filter((e) => e.role === center && e.ev.event === 'round-done').at(-1)
      ?.ev.rejections as Record<string, number> | undefined;
    const atRoot = lastClosed(root);
    for (const [who, counts] of [
      ['root', atRoot],
      ['center', atCenter],
    ] as const) {
      expect(counts, who).toBeDefined();
      for (const code of attackCodes)
        expect(
          counts![code],
          `${who} rejected ${counts![code]} × ${code}: the broker let a forbidden sender through`,
        ).toBeUndefined();
    }
    // `up`'s summary adds up every process's counts.
    const total: Record<string, number> = {};
    for (const counts of [atLeaf1, atLeaf2, atRoot, atCenter])
      for (const [k, v] of Object.entries(counts ?? {})) total[k] = (total[k] ?? 0) + v;
    expect(result.rejections).toEqual(total);
    rmSync(fx.dir, { recursive: true, force: true });
  }, 40_000);
});
