/**
 * The bare transport of `npm run bench:e2e`, as a child process (forked with IPC): the
 * same MQTT messages as a MaaS round — one per device per gateway, the same per-device
 * topics and sizes, QoS 1 through the same client (connectMqtt) — and no cryptography
 * above the transport.
 *
 *   role 'pub': one connection, like the device fleet (which multiplexes every device on
 *               one connection), as the fleet's identity; on {round} it publishes z·n·m
 *               messages in the fleet's order (device by device, one per gateway) on
 *               `topics.deviceReport`, and reports when every PUBACK is in.
 *   role 'sub': one connection per gateway of `only` (default: all z·m of the topology),
 *               each as that gateway's identity, subscribed to the gateway's report
 *               filter (`topics.gatewayReports`); reports each round once every message
 *               for them is in.
 *
 * With `credentialsDir` (mqtts://) each connection presents its identity's certificate
 * from the deployment's credential bundle, so the broker runs exactly the checks it runs
 * for the deployment: the TLS handshake with mutual authentication, the client id bound
 * to the certificate, and the ACL on every PUBLISH and SUBSCRIBE. Without it (mqtt://,
 * a plaintext broker) the same identities connect as client ids only.
 *
 * Times are Date.now() in the child (one machine, one clock); the parent takes
 * round time = max(last message received, last PUBACK) − first publish.
 */
import { join } from 'node:path';
import { connectMqtt, type MqttClientLink } from '../../src/net/mqttClient.js';
import { topics } from '../../src/net/topics.js';
import { loadBundle } from '../../src/node/credentials/bundle.js';
import { identityOf, type Role } from '../../src/node/credentials/identities.js';

export interface BareStart {
  cmd: 'start';
  role: 'pub' | 'sub';
  url: string;
  /**
   * The deployment whose identities and topics the messages use. The bare transport runs
   * before that deployment's processes start (never beside them), through its broker.
   */
  name: string;
  /**
   * The deployment's credentials directory (<stateDir>/credentials): connect over TLS
   * with the bundles' certificates. Absent: plaintext, client ids only.
   */
  credentialsDir?: string;
  ians: number;
  devicesPerIan: number;
  gateways: number;
  payloadBytes: number;
  /** sub: the (IAN, gateway) pairs this process stands for; default every one. */
  only?: Array<[ian: number, gateway: number]>;
}

export type BareToChild = BareStart | { cmd: 'round'; round: number } | { cmd: 'exit' };

export type BareFromChild =
  | { event: 'ready' }
  | { event: 'published'; round: number; t0: number; t1: number; failures: number }
  | { event: 'received'; round: number; t: number; messages: number; duplicates: number }
  | { event: 'error'; message: string };

const send = (m: BareFromChild) => process.send?.(m);

let links: MqttClientLink[] = [];
let onRound: (round: number) => void = () => undefined;

/** A connection as `identity`: with its certificate when the run is over TLS. */
function connectAs(o: BareStart, identity: string, role: Role): Promise<MqttClientLink> {
  const tls = o.credentialsDir
    ? loadBundle(join(o.credentialsDir, `${identity}.json`), role).tls
    : undefined;
  if (o.credentialsDir && !tls) throw new Error(`the bundle of ${identity} has no TLS credentials`);
  return connectMqtt(o.url, { clientId: identity, ...(tls ? { tls } : {}) });
}

async function start(o: BareStart): Promise<void> {
  const { ians, devicesPerIan: n, gateways: m } = o;
  if (o.role === 'pub') {
    // `privagg up` issues one fleet holding every device: fleet 0.
    const link = await connectAs(o, identityOf.devices(o.name, 0), 'devices');
    links = [link];
    // Built once, as the fleet caches its topics.
    const topicOf = Array.from({ length: ians }, (_, v) =>
      Array.from({ length: n }, (_, i) =>
        Array.from({ length: m }, (_, l) => topics.deviceReport(o.name, v, l + 1, i)),
      ),
    );
    onRound = (round) => {
      const t0 = Date.now();
      let failures = 0;
      const pending: Promise<void>[] = [];
      for (let v = 0; v < ians; v++) {
        for (let i = 0; i < n; i++) {
          for (let l = 0; l < m; l++) {
            // A fresh buffer per message, as a device's report is; the round and device
            // sit where a report's header has them.
            const bytes = Buffer.alloc(o.payloadBytes);
            bytes.writeUInt16BE(v, 6);
            bytes.writeUInt32BE(i, 8);
            bytes.writeUInt32BE(round, 12);
            pending.push(
              link.publish(topicOf[v]![i]![l]!, bytes).catch(() => {
                failures++;
              }),
            );
          }
        }
      }
      void Promise.all(pending).then(() =>
        send({ event: 'published', round, t0, t1: Date.now(), failures }),
      );
    };
  } else {
    // received[round] over all subscriptions; marks[device] = last round seen, per subscription.
    const pairs: Array<[number, number]> = o.only ?? [];
    if (!o.only) for (let v = 0; v < ians; v++) for (let l = 1; l <= m; l++) pairs.push([v, l]);
    const expected = pairs.length * n;
    const received = new Map<number, { count: number; duplicates: number }>();
    for (const [v, l] of pairs) {
      const link = await connectAs(o, identityOf.gateway(o.name, v, l), 'gateway');
      links.push(link);
      const marks = new Uint32Array(n).fill(0xffff_ffff);
      await link.subscribe(topics.gatewayReports(o.name, v, l), (_t, payload) => {
        const device = payload.readUInt32BE(8);
        const round = payload.readUInt32BE(12);
        const r = received.get(round) ?? { count: 0, duplicates: 0 };
        received.set(round, r);
        // QoS 1 is at least once: count each (subscription, device, round) once.
        if (marks[device] === round) {
          r.duplicates++;
          return;
        }
        marks[device] = round;
        if (++r.count === expected)
          send({
            event: 'received',
            round,
            t: Date.now(),
            messages: r.count,
            duplicates: r.duplicates,
          });
      });
    }
  }
  send({ event: 'ready' });
}

process.on('message', (msg: BareToChild) => {
  if (msg.cmd === 'start') {
    start(msg).catch((e: unknown) => {
      send({ event: 'error', message: e instanceof Error ? e.message : String(e) });
    });
  } else if (msg.cmd === 'round') {
    onRound(msg.round);
  } else {
    void Promise.all(links.map((l) => l.close())).finally(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
