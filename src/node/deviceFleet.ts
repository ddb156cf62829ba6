import type { Logger } from 'pino';
import { type RandomSource, systemRandom } from '../math/random.js';
import type { MqttLink } from '../net/mqttLink.js';
import { topics } from '../net/topics.js';
import type { MaasDeployment, MaasDevice } from '../schemes/maas/deployment.js';
import type { Workload } from '../sim/workload.js';
import { type RoundClock, sleep } from './roundClock.js';

/**
 * A simulated fleet of device sensors in one process. Each device has its own identity
 * and keys (its `MaasDevice` holds only its own link keys); they share one MQTT
 * connection — the documented multiplexing — because ten thousand sockets from one
 * process would measure the OS, not the protocol. At each round's start every live
 * device reads its workload reading and publishes one report per gateway (QoS 1).
 */
export interface DeviceFleetOptions {
  deployment: MaasDeployment;
  workload: Workload;
  /** Which devices this process simulates. */
  devices: readonly { ian: number; device: number }[];
  link: MqttLink;
  clock: RoundClock;
  /** Rounds to report (0: until stopped). */
  rounds: number;
  logger: Logger;
  rng?: RandomSource;
  /** A device that is silent in a round (killed or silenced devices). */
  silent?: (ian: number, device: number, round: number) => boolean;
  /**
   * Devices report spread evenly over the first `spreadMs` of a round, in roster order
   * (real sensors do not all fire in the same millisecond). Default 0: all at once.
   */
  spreadMs?: number;
  /** Fault injection (a compromised device): rewrites a device's messages before they go out. */
  compromised?: (
    device: { ian: number; device: number },
    round: number,
    messages: { gateway: number; bytes: Buffer }[],
    nowMs: number,
  ) => { gateway: number; bytes: Buffer }[];
}

/** Devices reported between two turns of the event loop (when reports are not spread). */
const YIELD_EVERY = 50;

export class DeviceFleet {
  private readonly abort = new AbortController();
  private readonly devices: MaasDevice[];
  readonly counters = {
    reportsSent: 0,
    messagesPublished: 0,
    publishFailures: 0,
    silent: 0,
    roundsDone: 0,
    /** Rounds not reported because the fleet was past their first quarter (see run()). */
    roundsSkipped: 0,
  };
  readonly finished: Promise<void>;
  /**
   * The first round this fleet reports, fixed when it starts: the current round if its first
   * quarter has not passed, else the next. A process that starts devices says so (the
   * `reporting` event), so whoever waits for them knows from which round they count.
   */
  readonly firstRound: number;

  constructor(private readonly o: DeviceFleetOptions) {
    this.devices = o.devices.map((d) => o.deployment.device(d.ian, d.device));
    this.firstRound = this.nextOnTime(Math.max(0, o.clock.roundAt()));
    this.finished = this.run();
  }

  stop(): void {
    this.abort.abort();
  }

  private async run(): Promise<void> {
    const { clock } = this.o;
    let round = this.firstRound;
    for (; this.o.rounds === 0 || round < this.o.rounds; ) {
      await sleep(clock.until(clock.startOf(round) + 5), this.abort.signal);
      if (this.abort.signal.aborted) return;
      const began = clock.now();
      await this.report(round);
      this.counters.roundsDone++;
      const tookMs = clock.now() - began;
      if (tookMs > clock.durationMs)
        this.o.logger.warn({ round, tookMs, devices: this.devices.length }, 'round reported late');
      const next = this.nextOnTime(round + 1);
      if (next > round + 1) {
        this.counters.roundsSkipped += next - round - 1;
        this.o.logger.warn({ from: round + 1, to: next - 1 }, 'rounds skipped: too late to report');
      }
      round = next;
    }
  }

  /**
   * The first round from `round` on that the fleet can still report on time. A real sensor
   * reports the round it is in: a fleet that fell behind (a slow start, a stalled process)
   * skips the rounds whose first quarter has passed rather than report every one of them
   * late, which the gateways would refuse and which would keep it late for many rounds.
   */
  private nextOnTime(round: number): number {
    const { clock } = this.o;
    const current = clock.roundAt();
    let r = Math.max(round, current);
    if (r === current && clock.now() > clock.startOf(r) + clock.durationMs / 4) r++;
    return r;
  }

  private async report(round: number): Promise<void> {
    const { deployment, workload, link, clock } = this.o;
    const rng = this.o.rng ?? systemRandom;
    const dep = deployment.params.deployment;
    const spread = this.o.spreadMs ?? 0;
    const start = clock.now();
    // Completion by count, not by an array of promises: two shared callbacks per round
    // instead of two closures and a promise per message (50,000 of them at 10,000 devices).
    let outstanding = 0;
    let allSent = false;
    let finish: () => void = () => undefined;
    const published = new Promise<void>((r) => {
      finish = r;
    });
    const onPublished = () => {
      this.counters.messagesPublished++;
      if (--outstanding === 0 && allSent) finish();
    };
    const onFailed = (e: unknown) => {
      this.counters.publishFailures++;
      if (this.counters.publishFailures <= 3)
        this.o.logger.warn({ err: String(e), round }, 'publish failed');
      if (--outstanding === 0 && allSent) finish();
    };
    for (const [index, d] of this.devices.entries()) {
      if (spread > 0) {
        const at = start + Math.floor((index * spread) / this.devices.length);
        if (clock.now() < at) await sleep(at - clock.now(), this.abort.signal);
        if (this.abort.signal.aborted) break;
      } else if (index > 0 && index % YIELD_EVERY === 0) {
        // Let the event loop run between slices of devices: MQTT.js corks the socket until
        // the next tick, so without this no report of the round would leave the process
        // before every device's cryptography is done, and the gateways would wait for it.
        await new Promise<void>((r) => setImmediate(r));
        if (this.abort.signal.aborted) break;
      }
      if (this.o.silent?.(d.ian, d.device, round)) {
        this.counters.silent++;
        continue;
      }
      const reading = workload.reading(d.ian, d.device, round % workload.rounds);
      let messages = d.report(round, reading, clock.now(), rng);
      if (this.o.compromised) messages = this.o.compromised(d, round, messages, clock.now());
      for (const m of messages) {
        outstanding++;
        link.publish(this.topic(dep, d, m.gateway), m.bytes).then(onPublished, onFailed);
      }
      this.counters.reportsSent++;
    }
    allSent = true;
    if (outstanding === 0) finish();
    await published;
  }

  /**
   * Report topics, one per (device, gateway), built once: a device publishes only on its
   * own topics (the broker's ACL allows nothing else), and the gateway checks that the
   * topic names the device the report claims to come from.
   */
  private readonly topicCache = new Map<string, string>();
  private topic(dep: string, d: { ian: number; device: number }, gateway: number): string {
    const k = `${d.ian}/${d.device}/${gateway}`;
    let t = this.topicCache.get(k);
    if (t === undefined) {
      t = topics.deviceReport(dep, d.ian, gateway, d.device);
      this.topicCache.set(k, t);
    }
    return t;
  }
}

/**
 * Runs the devices' report path (encode, perturb, split, seal, tag) on every device for
 * `passes` passes or until `budgetMs` is spent, and throws the reports away. A fleet
 * process simulates many devices on one core, and its first round, run by cold code,
 * took 1.2 s for 1,000 devices (rounds of 500 ms): done before the process says it is
 * ready, this happens before the epoch is fixed, and round 0 is reported on time. Nothing
 * is published; the reports are computed with fresh randomness like any other.
 */
export function warmUpReports(
  deployment: MaasDeployment,
  workload: Workload,
  devices: readonly { ian: number; device: number }[],
  opts: { passes?: number; budgetMs?: number; rng?: RandomSource } = {},
): { reports: number; ms: number } {
  const passes = opts.passes ?? 2;
  const budgetMs = opts.budgetMs ?? 3000;
  const rng = opts.rng ?? systemRandom;
  const start = performance.now();
  const cores = devices.map((d) => deployment.device(d.ian, d.device));
  let reports = 0;
  for (let pass = 0; pass < passes; pass++) {
    for (const d of cores) {
      d.report(0, workload.reading(d.ian, d.device, 0), Date.now(), rng);
      reports++;
      if (reports % YIELD_EVERY === 0 && performance.now() - start > budgetMs)
        return { reports, ms: performance.now() - start };
    }
  }
  return { reports, ms: performance.now() - start };
}
