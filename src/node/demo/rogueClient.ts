import type { RandomSource } from '../../math/random.js';
import type { MqttLink } from '../../net/mqttLink.js';
import { parseTopic, topics } from '../../net/topics.js';
import type { MaasDeployment } from '../../schemes/maas/deployment.js';
import { deviceAttackMessages, type InjectedReport } from '../../sim/maasAttacks.js';
import type { AttackKind } from '../../sim/maasFaults.js';
import type { RoundClock } from '../roundClock.js';

/**
 * The demo's attacker on the broker: an insider who has taken over one device of each IAN
 * (the last) and so holds that device fleet's credential bundle — its certificate, its
 * MQTT identity and its link keys — and nothing else. It rides on the compromised
 * devices' own connection (the broker binds a client id to one certificate, so it has no
 * other) and, next to each round's genuine report of its device to one gateway, publishes
 * the device-side attacks: forged, tampered, replayed, stale, malformed, unknown-sender and
 * wrong-round copies, and an insider's forgery of another device's report for the next
 * round (the same bytes the in-process runner injects, from `sim/maasAttacks.ts`).
 *
 * Each message goes out on the topic of the device it claims to come from. In a secure
 * deployment the broker's ACL drops whatever claims another device (counted as refused
 * publishes) and refuses its eavesdropping subscriptions; what claims its own device
 * reaches the gateway, which refuses it with a code. In an insecure deployment (no ACLs)
 * everything reaches the gateways, whose checks are then the only defence.
 */
export interface RogueClientOptions {
  /** The compromised devices' connection (their identity and certificate). */
  link: MqttLink;
  /**
   * Keys the attacks are built with. Only the insider forgery needs more than the
   * compromised device's own: a gateway's link keys with another device, which a gateway
   * colluding with the rogue would hand over (the demo takes them from the TA's view).
   */
  deployment: MaasDeployment;
  attacks: ReadonlySet<AttackKind>;
  /** The gateway each IAN's attacks aim at (a live one, or nobody would see them). */
  targetGateway: (ian: number) => number;
  /** The device the insider impersonates in IAN v. */
  insiderTarget: (ian: number) => number;
  /** Rounds the deployment runs (the insider forges for the next round, if there is one). */
  rounds: number;
  rng: RandomSource;
  clock: RoundClock;
}

export class RogueClient {
  /** Messages published, by attack kind. */
  readonly injected: Partial<Record<AttackKind, number>> = {};
  publishFailures = 0;
  /**
   * Subscriptions it tried on other roles' topics, how many the broker refused, and the
   * reports of other devices that reached it anyway (a broker may grant a subscription and
   * filter what it delivers, as Mosquitto does: what counts is what arrives).
   */
  readonly eavesdropping = { tried: 0, refused: 0, reportsReceived: 0 };
  private readonly seen = new Set<string>();
  private previousRound: Buffer | undefined;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly o: RogueClientOptions) {}

  /**
   * Tries to read what is not its own: a gateway's report topic (every device's shares
   * for that gateway) and the whole tree. Messages that arrive are dropped unread, but
   * other devices' reports among them are counted.
   */
  async tryEavesdropping(): Promise<void> {
    const dep = this.o.deployment.params;
    const filters = [
      topics.gatewayReports(dep.deployment, 0, this.o.targetGateway(0)),
      `${topics.epoch(dep.deployment).replace(/\/epoch$/, '')}/#`,
    ];
    const onMessage = (topic: string) => {
      if (parseTopic(topic)?.kind === 'report') this.eavesdropping.reportsReceived++;
    };
    for (const filter of filters) {
      this.eavesdropping.tried++;
      try {
        await this.o.link.subscribe(filter, onMessage);
      } catch {
        this.eavesdropping.refused++;
      }
    }
  }

  /** Resolves once every injected message (scheduled ones too) has been acknowledged by the broker. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  /**
   * The compromised device of IAN v is about to send `sent` to the target gateway in
   * `round`: the attacks go out right after it (same connection, so the broker sees them
   * in this order), once per IAN-round.
   */
  observe(v: number, device: number, round: number, sent: Buffer): void {
    const key = `${v}/${round}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const sample = Buffer.from(sent);
    const dep = this.o.deployment.params;
    const ownTopic = topics.deviceReport(dep.deployment, v, this.o.targetGateway(v), device);
    const previous = v === 0 ? this.previousRound : undefined;
    if (v === 0) this.previousRound = sample;
    const attack = (kinds: ReadonlySet<AttackKind>, rd: number) =>
      deviceAttackMessages(
        kinds,
        sample,
        this.o.insiderTarget(v),
        previous,
        this.o.deployment,
        v,
        rd,
        this.o.clock.now(),
        this.o.rng,
      );
    const kinds = new Set([...this.o.attacks].filter((k) => k !== 'insider-forgery'));
    // After the device's own publish calls (they follow this hook synchronously).
    setImmediate(() => this.inject(v, ownTopic, attack(kinds, round)));
    // The insider's forgery must reach the gateway before the genuine report it imitates.
    // It knows the round schedule, so it sends a forgery for the next round just before
    // that round starts: gateways hold next-round reports and take them first when it opens.
    if (this.o.attacks.has('insider-forgery') && round + 1 < this.o.rounds) {
      const clock = this.o.clock;
      const fire = new Promise<void>((resolve) => {
        setTimeout(
          () => {
            this.inject(v, ownTopic, attack(new Set(['insider-forgery']), round + 1));
            resolve();
          },
          clock.until(clock.startOf(round + 1) - 3),
        );
      });
      this.inFlight.add(fire);
      void fire.finally(() => this.inFlight.delete(fire));
    }
  }

  private inject(v: number, ownTopic: string, messages: readonly InjectedReport[]): void {
    const dep = this.o.deployment.params;
    for (const m of messages) {
      // On the topic of the device the message claims to be from: the broker's ACL is the
      // first check it meets. A claim of no device at all goes on its own topic (the
      // gateway refuses the topic/header mismatch as UNKNOWN_SENDER).
      const claimed = m.bytes.length >= 12 ? m.bytes.readUInt32BE(8) : dep.devicesPerIan;
      const gateway = m.bytes.length >= 6 ? m.bytes.readUInt8(5) : 0;
      const target =
        claimed < dep.devicesPerIan && gateway >= 1 && gateway <= dep.gateways
          ? topics.deviceReport(dep.deployment, v, gateway, claimed)
          : ownTopic;
      this.injected[m.kind] = (this.injected[m.kind] ?? 0) + 1;
      const p = this.o.link.publish(target, m.bytes).catch(() => {
        this.publishFailures++;
      });
      this.inFlight.add(p);
      void p.finally(() => this.inFlight.delete(p));
    }
  }
}
