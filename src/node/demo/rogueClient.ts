import type { RandomSource } from '../../math/random.js';
import type { MqttLink } from '../../net/mqttLink.js';
import { parseTopic, topics } from '../../net/topics.js';
import type { MaasDeployment } from '../../schemes/maas/deployment.js';
import { deviceAttackMessages, type InjectedReport } from '../../sim/maasAttacks.js';
import type { AttackKind } from '../../sim/maasFaults.js';
import type { RoundClock } from '../roundClock.js';

/**
 * The demo's rogue client: a connection to the deployment's broker that eavesdrops on
 * one gateway's report topic per IAN and, on the first genuine report of each round,
 * publishes the device-side attacks next to it — forged, tampered, replayed, stale,
 * malformed, unknown-sender and wrong-round copies, and an insider's forgery for the
 * next round (the same bytes the in-process runner injects, from `sim/maasAttacks.ts`). A broker without ACLs lets any
 * client do this, which is why every gateway check assumes it.
 */
export interface RogueClientOptions {
  link: MqttLink;
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
  private readonly seen = new Set<string>();
  private previousRound: Buffer | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly own = new Set<string>();

  constructor(private readonly o: RogueClientOptions) {}

  async start(): Promise<void> {
    const dep = this.o.deployment.params;
    for (let v = 0; v < dep.ians; v++) {
      const l = this.o.targetGateway(v);
      await this.o.link.subscribe(topics.gatewayReports(dep.deployment, v, l), (topic, payload) =>
        this.onReport(v, topic, payload),
      );
    }
  }

  /** Resolves once every injected message (scheduled ones too) has been acknowledged by the broker. */
  async drain(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private onReport(v: number, topic: string, payload: Buffer): void {
    // The header: round at bytes 12–15 (see src/wire/maas.ts). Anything shorter is
    // somebody else's noise (or this client's own malformed copy): ignored.
    if (payload.length < 24) return;
    // Its own injections come back on the topic it publishes to: not samples.
    if (this.own.delete(payload.toString('base64'))) return;
    const round = payload.readUInt32BE(12);
    const key = `${v}/${round}`;
    // Only the first report of (IAN, round) is a sample.
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const now = this.o.clock.now();
    const attack = (kinds: ReadonlySet<AttackKind>, rd: number) =>
      deviceAttackMessages(
        kinds,
        payload,
        this.o.insiderTarget(v),
        v === 0 ? this.previousRound : undefined,
        this.o.deployment,
        v,
        rd,
        now,
        this.o.rng,
      );
    const messages = attack(
      new Set([...this.o.attacks].filter((k) => k !== 'insider-forgery')),
      round,
    );
    if (v === 0) this.previousRound = Buffer.from(payload);
    this.inject(topic, messages);
    // The insider's forgery must reach the gateway before the genuine report it imitates.
    // It knows the round schedule, so it sends a forgery for the next round just before
    // that round starts: gateways hold next-round reports and take them first when it opens.
    if (this.o.attacks.has('insider-forgery') && round + 1 < this.o.rounds) {
      const clock = this.o.clock;
      const fire = new Promise<void>((resolve) => {
        setTimeout(
          () => {
            this.inject(topic, attack(new Set(['insider-forgery']), round + 1));
            resolve();
          },
          clock.until(clock.startOf(round + 1) - 3),
        );
      });
      this.inFlight.add(fire);
      void fire.finally(() => this.inFlight.delete(fire));
    }
  }

  private inject(topic: string, messages: readonly InjectedReport[]): void {
    const dep = this.o.deployment.params;
    for (const m of messages) {
      // Published on the topic of the device the message claims to be from (the gateway
      // refuses a topic/header mismatch as UNKNOWN_SENDER before any other check).
      const claimed = m.bytes.length >= 12 ? m.bytes.readUInt32BE(8) : dep.devicesPerIan;
      const parsed = parseTopic(topic);
      const target =
        parsed?.kind === 'report' && claimed < dep.devicesPerIan
          ? topics.deviceReport(dep.deployment, parsed.ian, parsed.gateway, claimed)
          : topic;
      this.injected[m.kind] = (this.injected[m.kind] ?? 0) + 1;
      if (m.bytes.length >= 24) this.own.add(m.bytes.toString('base64'));
      const p = this.o.link.publish(target, m.bytes).catch(() => {
        this.publishFailures++;
      });
      this.inFlight.add(p);
      void p.finally(() => this.inFlight.delete(p));
    }
  }
}
