import type { RandomSource } from '../../math/random.js';
import { connectMqtt, type LinkLogger, type MqttClientLink } from '../../net/mqttClient.js';
import { type Address, addressKey, type Envelope } from '../../schemes/scheme.js';
import {
  type Delivery,
  deliverTo,
  type RoleSet,
  type Router,
  type RouterFaults,
} from '../../sim/router.js';
import {
  envelopeTopic,
  inboxFilter,
  parseEnvelopeTopic,
  type SeamIdentity,
  speaksFor,
} from './seamTopics.js';

/**
 * The seam's router over a real MQTT broker: each identity (the center, each aggregator,
 * each group's device fleet) has its own connection and client certificate, publishes
 * envelopes on `privagg/s1/<run>/<to>/<channel>/<from>` (QoS 1) and hears exactly its own
 * inboxes; the broker's policy (seamPolicy.ts) checks the sender level, so a receiver takes
 * `from` from the topic. A role's answer is published from the role's own connection.
 *
 * `settle()` resolves when every envelope published so far has been handled by its
 * addressee, counting the answers it caused: the driver waits for the event, not a delay.
 * The fault model (router.ts) is applied before publishing, as in memory.
 */
export interface MqttRouterOptions {
  run: string;
  url: string;
  ca: string;
  roles: RoleSet;
  identities: readonly SeamIdentity[];
  credentials: ReadonlyMap<string, { cert: string; key: string }>;
  rng: RandomSource;
  now: () => number;
  onDelivery?: (d: Delivery) => void;
  logger?: LinkLogger;
  /** Largest packet a link sends (the scheme's largest message plus the topic). */
  maxPacketBytes: number;
  /** settle() gives up after this long without progress (a message lost by the broker). Default 30 s. */
  stallMs?: number;
  /**
   * True (default): every addressee is in this router, and settle() waits until each envelope
   * is handled. False (a role process of a networked run, whose addressees are elsewhere):
   * an envelope is done once the broker has acknowledged it.
   */
  awaitDelivery?: boolean;
}

export class MqttRouter implements Router {
  faults: RouterFaults = {};
  readonly rejections: Record<string, number> = {};
  private readonly links = new Map<string, MqttClientLink>();
  private readonly hostOf: (a: Address) => SeamIdentity | undefined;
  private held: { from: Address; e: Envelope }[] = [];
  private inFlight = 0;
  private waiters: (() => void)[] = [];
  /** Publishes and deliveries since start (progress, for the stall check). */
  private progress = 0;

  /** Every addressee is in this router: an envelope is done when handled, not when acknowledged. */
  private readonly local: boolean;

  private constructor(private readonly o: MqttRouterOptions) {
    this.local = o.awaitDelivery ?? true;
    this.hostOf = (a) => o.identities.find((id) => speaksFor(id, a));
  }

  static async start(o: MqttRouterOptions): Promise<MqttRouter> {
    const r = new MqttRouter(o);
    try {
      for (const id of o.identities) {
        const cred = o.credentials.get(id.name);
        if (!cred) throw new Error(`no certificate for ${id.name}`);
        const link = await connectMqtt(o.url, {
          clientId: id.name,
          tls: { ca: o.ca, cert: cred.cert, key: cred.key },
          maxPacketBytes: o.maxPacketBytes,
          ...(o.logger ? { logger: o.logger } : {}),
        });
        r.links.set(id.name, link);
        for (const filter of r.inboxesOf(id))
          await link.subscribe(filter, (topic, payload) => r.onMessage(id, topic, payload));
      }
    } catch (e) {
      await r.close();
      throw e;
    }
    return r;
  }

  private inboxesOf(id: SeamIdentity): string[] {
    const { run, roles } = this.o;
    if (id.role === 'ledger') return [inboxFilter(run, { role: 'center', group: -1, index: 0 })];
    if (id.role === 'gateway')
      return [inboxFilter(run, { role: 'aggregator', group: id.group, index: id.index })];
    return [...roles.devices.values()]
      .filter((d) => d.address.group === id.group)
      .map((d) => inboxFilter(run, d.address));
  }

  async send(from: Address, envelopes: readonly Envelope[]): Promise<void> {
    const f = this.faults;
    if (f.down?.(from)) return;
    const host = this.hostOf(from);
    const link = host && this.links.get(host.name);
    if (!link) throw new Error(`no connection speaks for ${addressKey(from)}`);
    const out: { topic: string; bytes: Uint8Array }[] = [];
    for (const e of envelopes) {
      const bytes = f.tamper?.(from, e) ?? e.bytes;
      const record = (verdict: Delivery['verdict']) =>
        this.o.onDelivery?.({ from, envelope: e, bytes, verdict });
      if (f.drop?.(from, e)) record('dropped');
      else if (f.delay?.(from, e)) {
        this.held.push({ from, e });
        record('delayed');
      } else out.push({ topic: envelopeTopic(this.o.run, e.to, e.channel, from), bytes });
    }
    // Counted before the first await: a fast answer must not see the count reach zero early.
    this.inFlight += out.length;
    await Promise.all(
      out.map((m) =>
        link.publish(m.topic, m.bytes).then(
          () => {
            if (this.local) this.progress++;
            else this.finished();
          },
          () => {
            this.count('PUBLISH_FAILED');
            this.finished();
          },
        ),
      ),
    );
  }

  async release(): Promise<void> {
    const held = this.held;
    this.held = [];
    const faults = this.faults;
    // Held envelopes are not held again, dropped or changed twice.
    this.faults = { ...(faults.down ? { down: faults.down } : {}) };
    try {
      for (const { from, e } of held) await this.send(from, [e]);
    } finally {
      this.faults = faults;
    }
  }

  settle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    const stallMs = this.o.stallMs ?? 30_000;
    return new Promise<void>((resolve, reject) => {
      let seen = this.progress;
      const timer = setInterval(() => {
        if (this.progress !== seen) {
          seen = this.progress;
          return;
        }
        clearInterval(timer);
        this.waiters = this.waiters.filter((w) => w !== done);
        reject(new Error(`${this.inFlight} envelope(s) published but never delivered`));
      }, stallMs);
      const done = () => {
        clearInterval(timer);
        resolve();
      };
      this.waiters.push(done);
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.links.values()].map((l) => l.close()));
    this.links.clear();
  }

  private count(code: string): void {
    this.rejections[code] = (this.rejections[code] ?? 0) + 1;
  }

  private finished(): void {
    this.progress++;
    if (--this.inFlight > 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private onMessage(id: SeamIdentity, topic: string, payload: Buffer): void {
    try {
      const t = parseEnvelopeTopic(topic);
      // The broker delivers only this identity's inboxes; anything else is not ours to count.
      if (!t || t.run !== this.o.run || !speaksFor(id, t.to)) {
        this.count('MALFORMED_MESSAGE');
        return;
      }
      const envelope = { to: t.to, channel: t.channel, bytes: payload };
      const record = (verdict: Delivery['verdict']) =>
        this.o.onDelivery?.({ from: t.from, envelope, bytes: payload, verdict });
      if (this.faults.down?.(t.to)) {
        record('down');
        return;
      }
      const m = { from: t.from, channel: t.channel, bytes: payload };
      const answer = deliverTo(this.o.roles, t.to, m, this.o.now(), this.o.rng);
      if (!answer) {
        record('no such role');
        return;
      }
      record(answer.verdict);
      if (!answer.verdict.ok) this.count(answer.verdict.code);
      if (answer.out.length > 0)
        this.send(t.to, answer.out).catch(() => this.count('PUBLISH_FAILED'));
    } finally {
      if (this.local) this.finished();
    }
  }
}
