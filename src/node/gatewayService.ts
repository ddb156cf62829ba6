import type { Logger } from 'pino';
import { ErrorCode, isPrivaggError } from '../errors.js';
import { httpPostBinary, type TlsClientCredentials } from '../net/httpPost.js';
import type { MqttLink } from '../net/mqttLink.js';
import { parseTopic, topics } from '../net/topics.js';
import { MaasGateway } from '../schemes/maas/gateway.js';
import type { GatewayKey } from '../schemes/maas/keys.js';
import { MAX_ATTEMPTS } from '../schemes/maas/ledgerContract.js';
import type { MaasParams } from '../schemes/maas/params.js';
import type { ControlContext } from '../wire/control.js';
import { MAX_MESSAGE_BYTES } from '../wire/maas.js';
import { verifyControl } from './controlPlane.js';
import type { RoundClock } from './roundClock.js';

/**
 * GW_l as a process: the sans-I/O `MaasGateway` bound to MQTT (device reports in,
 * reconciliation requests in), HTTP (partials out to the ledger) and the round clock.
 *
 * Round r is open from its start until its end plus `closeGraceMs`; reports for the
 * next round that arrive during the grace are held (bounded; where tags are verified on
 * ingest, authenticated before they are held — see `hold`) and delivered when it opens.
 * At close the partial is posted to the ledger, retried with backoff while the ledger is
 * unreachable (it may be restarting) until the round's restore deadline. A
 * reconciliation request naming this gateway is answered with a re-aggregated partial.
 *
 * Early close: when tags are verified on ingest (modes.batch 'each', the default), an
 * accepted ingest is an authentic, non-replayed message, so once every device of the
 * roster has all of its messages accepted the round cannot gain anything by waiting:
 * it is closed at once and the partial posted. The timer close stays as the fallback
 * (a silent device, the paper's batch mode). Reports for the next round that arrive
 * before it opens are held as during the grace.
 *
 * Untrusted input never ends the process: every MQTT handler validates before it acts,
 * returns nothing, and catches its own errors; every piece of async work has a `.catch`
 * that counts (`handlerErrors`) and logs. Reports arrive on per-device topics
 * (`…/gw/<l>/reports/<i>`); one whose header names another device than its topic is
 * UNKNOWN_SENDER. A reconcile request is acted on only if it is a signed control message
 * of this deployment's ledger (src/wire/control.ts) for this IAN and epoch, naming this
 * gateway, for a round it closed and still holds, with an attempt in 1..MAX_ATTEMPTS
 * above any it answered for that round — and then only as the no-differencing rule allows
 * (MaasGateway.resum).
 */
export interface GatewayServiceOptions {
  key: GatewayKey;
  params: MaasParams;
  link: MqttLink;
  ledgerUrl: string;
  /** The ledger's Ed25519 public key (from the bundle): reconcile requests must verify under it. */
  ledgerPublicKey: ControlContext['ledgerPublicKey'];
  /** Client certificate for an https:// ledger URL. */
  tls?: TlsClientCredentials;
  clock: RoundClock;
  logger: Logger;
  closeGraceMs?: number;
  /** How long after a round's end a partial is still worth posting. */
  postDeadlineMs?: number;
  /**
   * Fault injection (the demo's compromised gateway): builds the partial actually sent in
   * place of the honest one — at close (`honest` given) and on re-aggregation (`honest` null).
   */
  compromised?: CompromisedGateway;
}

export type CompromisedGateway = (at: {
  core: MaasGateway;
  round: number;
  contributors: readonly number[];
  /** The honest partial at close; null on re-aggregation (re-sum through the core). */
  honest: Buffer | null;
  attempt: number;
  nowMs: number;
}) => Buffer | null;

export class GatewayService {
  readonly core: MaasGateway;
  private openRound = -1;
  private early: Buffer[] = [];
  private readonly maxEarly: number;
  private stopped = false;
  /** Held next-round messages per claimed device, and the most one device may hold. */
  private readonly earlyPerDevice = new Map<number, number>();
  private readonly perDeviceEarly: number;
  private everOpened = false;
  private timer: NodeJS.Timeout | undefined;
  /** Accepted (tag-verified) messages of the open round; see `ingest`. */
  private acceptedInRound = 0;
  /** Messages a round holds when every device reports completely; 0: no early close. */
  private readonly completeRound: number;
  readonly counters = {
    reportsReceived: 0,
    reportsAccepted: 0,
    earlyHeld: 0,
    earlyDropped: 0,
    partialsPosted: 0,
    partialsRefused: 0,
    postFailures: 0,
    reaggregations: 0,
    /** Reconcile requests refused (also counted by code in `rejected`). */
    reconcileRefused: 0,
    /** Errors caught in a handler or its async work (a bug, never a crash). */
    handlerErrors: 0,
    roundsClosed: 0,
    rejected: {} as Partial<Record<ErrorCode | string, number>>,
  };
  lastRoundClosed = -1;
  /** Highest reconcile attempt answered, per round still held. */
  private readonly answered = new Map<number, number>();

  constructor(private readonly o: GatewayServiceOptions) {
    this.core = new MaasGateway(o.key, o.params);
    this.maxEarly = 4 * o.params.devicesPerIan * o.params.dimensions.length;
    // A device sends one message per gateway (w in the per-dimension layout); allow a resend.
    this.perDeviceEarly =
      (o.params.modes.layout === 'per-dimension' ? o.params.dimensions.length : 1) + 1;
    const { modes, devicesPerIan, dimensions } = o.params;
    // Only where ingest verifies tags (and rejects replays) does "accepted" mean authentic.
    this.completeRound =
      modes.batch === 'each'
        ? devicesPerIan * (modes.layout === 'per-dimension' ? dimensions.length : 1)
        : 0;
  }

  async start(): Promise<void> {
    const { params, key, link } = this.o;
    await link.subscribe(
      topics.gatewayReports(params.deployment, key.ian, key.gateway),
      this.guard('report', (topic, payload) => this.onReport(topic, payload)),
    );
    await link.subscribe(
      topics.reconcile(params.deployment, key.ian),
      this.guard('reconcile', (_t, payload) => this.onReconcile(payload)),
    );
    this.schedule();
  }

  /**
   * An MQTT handler that cannot throw: whatever `handle` throws, synchronously or from the
   * work it starts, is counted and logged here, never left to end the process.
   */
  private guard(
    what: string,
    handle: (topic: string, payload: Buffer) => void,
  ): (topic: string, payload: Buffer) => void {
    return (topic, payload) => {
      try {
        handle(topic, payload);
      } catch (e) {
        this.fault(what, e);
      }
    };
  }

  /** A caught error: counted and logged (with its code, when it is a PrivaggError). */
  private fault(what: string, e: unknown): void {
    this.counters.handlerErrors++;
    if (isPrivaggError(e)) this.count(e.code);
    this.o.logger.error({ err: String(e), where: what }, 'handler error caught');
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private get grace(): number {
    return this.o.closeGraceMs ?? Math.min(500, this.o.clock.durationMs / 4);
  }

  /**
   * Closes the open round at its end + grace, opens the current one, and re-arms itself.
   * A timer callback: an error in it is caught (and the timer re-armed), never thrown.
   */
  private schedule(): void {
    if (this.stopped) return;
    try {
      this.tick();
    } catch (e) {
      this.fault('round timer', e);
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => this.schedule(), Math.max(1, this.o.clock.durationMs / 4));
    }
  }

  private tick(): void {
    const clock = this.o.clock;
    const now = clock.now();
    if (this.openRound >= 0 && now >= clock.endOf(this.openRound) + this.grace)
      this.close(this.openRound);
    const current = clock.roundAt(now);
    // A gateway (re)started in the middle of a round skips it: it missed that round's
    // reports, and an empty partial from it would out-vote the gateways that have them.
    const joinedLate =
      this.lastRoundClosed < 0 &&
      !this.everOpened &&
      now > clock.startOf(current) + clock.durationMs / 4;
    if (this.openRound < 0 && current >= 0 && current > this.lastRoundClosed && !joinedLate)
      this.open(current);
    if (joinedLate && current >= 0) this.lastRoundClosed = current;
    const next =
      this.openRound >= 0
        ? clock.endOf(this.openRound) + this.grace
        : current < 0
          ? clock.startOf(0)
          : clock.startOf(current + 1);
    // One pending wake-up at a time (an early close re-arms it from within ingest).
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.schedule(), Math.max(1, clock.until(next)));
  }

  private open(round: number): void {
    this.everOpened = true;
    this.core.beginRound(round);
    this.openRound = round;
    this.acceptedInRound = 0;
    const held = this.early;
    this.early = [];
    this.earlyPerDevice.clear();
    for (const bytes of held) this.ingest(bytes);
  }

  private close(round: number): void {
    const res = this.core.closeRound(this.o.clock.now());
    this.openRound = -1;
    this.counters.roundsClosed++;
    this.lastRoundClosed = round;
    for (const r of res.rejected) this.count(r.code);
    this.o.logger.info(
      { round, contributors: res.contributors.length, rejected: res.rejected.length },
      'round closed',
    );
    const partial = this.o.compromised
      ? this.o.compromised({
          core: this.core,
          round,
          contributors: res.contributors,
          honest: res.partial,
          attempt: 0,
          nowMs: this.o.clock.now(),
        })
      : res.partial;
    if (partial) this.postInBackground(partial, round, 'partial');
    for (const r of this.answered.keys()) if (!this.core.holdsRound(r)) this.answered.delete(r);
  }

  private onReport(topic: string, payload: Buffer): void {
    this.counters.reportsReceived++;
    // The topic names the device (the broker lets a fleet publish only as its own devices):
    // a report whose header claims another device is refused before anything else.
    const { params, key } = this.o;
    const t = parseTopic(topic);
    if (
      t?.kind !== 'report' ||
      t.deployment !== params.deployment ||
      t.ian !== key.ian ||
      t.gateway !== key.gateway
    ) {
      this.count(ErrorCode.WRONG_RECIPIENT);
      return;
    }
    // Too large to be any report: refused as such before its header is believed.
    if (payload.length > MAX_MESSAGE_BYTES) {
      this.count(ErrorCode.OVERSIZED_MESSAGE);
      return;
    }
    if (payload.length >= 12 && payload.readUInt32BE(8) !== t.device) {
      this.count(ErrorCode.UNKNOWN_SENDER);
      return;
    }
    // A report for the next round during the grace period — or, while no round is open
    // (after an early close, or before round 0), for the round to open next: hold it until
    // that round opens (the gateway's timer may fire a little after the devices' clocks).
    if (payload.length >= 16) {
      const round = payload.readUInt32BE(12);
      const next = (this.openRound >= 0 ? this.openRound : this.lastRoundClosed) + 1;
      if (round === next) {
        this.hold(payload);
        return;
      }
    }
    this.ingest(payload);
  }

  /**
   * Holds a report for the round that opens next. Where tags are verified on ingest
   * (modes.batch 'each'), it is authenticated first (MaasGateway.precheck: decoding,
   * addressee, freshness, tag — nothing that needs the round open), so a forgery is
   * rejected at once with its own code and never takes a place in the buffer; what is
   * held is genuine, and the per-device cap bounds replays of genuine messages. In the
   * paper's batch mode tags are checked at close, so held messages are unauthenticated
   * and the per-device cap is what keeps a flood forged in one device's name from
   * pushing out the others' reports (the device index is bytes 8–11 of the header).
   */
  private hold(payload: Buffer): void {
    if (this.o.params.modes.batch === 'each') {
      const v = this.core.precheck(payload, this.o.clock.now());
      if (!v.ok) {
        this.count(v.code);
        return;
      }
    }
    const device = payload.readUInt32BE(8);
    const held = this.earlyPerDevice.get(device) ?? 0;
    if (this.early.length < this.maxEarly && held < this.perDeviceEarly) {
      this.early.push(payload);
      this.earlyPerDevice.set(device, held + 1);
      this.counters.earlyHeld++;
    } else {
      // More copies for one (device, next round) than a device sends: refused like any
      // excess copy (REPLAY), and counted apart so an operator sees the flood.
      this.counters.earlyDropped++;
      this.count('REPLAY');
    }
  }

  private ingest(bytes: Buffer): void {
    const v = this.core.ingest(bytes, this.o.clock.now());
    if (v.ok) {
      this.counters.reportsAccepted++;
      // Early close: every device's report is in and verified (see the class comment).
      if (++this.acceptedInRound === this.completeRound && this.openRound >= 0) {
        this.close(this.openRound);
        // Re-arm: the next wake-up is the next round's start, not this round's end + grace.
        this.schedule();
      }
    } else this.count(v.code);
  }

  /**
   * A reconcile request: verified (signature, deployment, roster), then checked against
   * this gateway's state (IAN, epoch, addressee, round held, attempt), then re-summed as
   * the no-differencing rule allows. Every refusal is counted by code; none posts anything.
   */
  private onReconcile(payload: Buffer): void {
    const r = this.answerReconcile(payload);
    if (r === 'answered' || r === 'not addressed') return;
    this.counters.reconcileRefused++;
    this.count(r.code);
    this.o.logger.warn({ code: r.code, reason: r.reason }, 'reconcile request refused');
  }

  private answerReconcile(
    payload: Buffer,
  ): 'answered' | 'not addressed' | { code: ErrorCode; reason: string } {
    const { params, key, clock } = this.o;
    const v = verifyControl(payload, {
      deployment: params.deployment,
      ledgerPublicKey: this.o.ledgerPublicKey,
      rosterSize: params.devicesPerIan,
      gatewayCount: params.gateways,
    });
    if (!v.ok) return v;
    const req = v.message;
    if (req.kind !== 'reconcile') {
      return {
        code: ErrorCode.MALFORMED_MESSAGE,
        reason: `a ${req.kind} message on the reconcile topic`,
      };
    }
    if (req.ian !== key.ian)
      return { code: ErrorCode.WRONG_RECIPIENT, reason: `for IAN ${req.ian}` };
    // Signed by this ledger key, but for another run's rounds: stale.
    if (req.epochMs !== clock.epochMs)
      return { code: ErrorCode.WRONG_ROUND, reason: `for the epoch ${req.epochMs}` };
    // Valid, and for other gateways of this IAN: not ours to answer.
    if (!req.gateways.includes(key.gateway)) return 'not addressed';
    if (req.attempt > MAX_ATTEMPTS)
      return { code: ErrorCode.WRONG_ROUND, reason: `attempt ${req.attempt}` };
    if (!this.core.holdsRound(req.round) || req.round > this.lastRoundClosed)
      return { code: ErrorCode.WRONG_ROUND, reason: `round ${req.round} is not held` };
    const answered = this.answered.get(req.round) ?? 0;
    if (req.attempt <= answered) {
      return {
        code: ErrorCode.REPLAY,
        reason: `attempt ${req.attempt} of round ${req.round}; ${answered} already answered`,
      };
    }
    const nowMs = clock.now();
    let bytes: Buffer | null;
    if (this.o.compromised) {
      // The demo's lying gateway: its hook re-sums through the core, under the same rule.
      bytes = this.o.compromised({
        core: this.core,
        round: req.round,
        contributors: req.contributors,
        honest: null,
        attempt: req.attempt,
        nowMs,
      });
      if (!bytes) return { code: ErrorCode.ACCESS_DENIED, reason: 'refused by the core' };
    } else {
      const res = this.core.resum(req.round, req.contributors, req.attempt, nowMs);
      if (!res.ok) return res;
      bytes = res.partial;
    }
    this.answered.set(req.round, req.attempt);
    this.counters.reaggregations++;
    this.postInBackground(bytes, req.round, 're-aggregated partial');
    return 'answered';
  }

  /** Posts without blocking the caller; whatever goes wrong is caught, counted and logged. */
  private postInBackground(bytes: Buffer, round: number, what: string): void {
    this.post(bytes, round, what).catch((e: unknown) => this.fault(`post ${what}`, e));
  }

  private async post(bytes: Buffer, round: number, what: string): Promise<void> {
    const deadline =
      this.o.clock.endOf(round) + (this.o.postDeadlineMs ?? 10 * this.o.clock.durationMs);
    const res = await httpPostBinary(`${this.o.ledgerUrl}/v1/partials`, bytes, {
      deadlineMs: deadline,
      ...(this.o.tls ? { tls: this.o.tls } : {}),
    });
    if (res.ok) {
      this.counters.partialsPosted++;
    } else if (res.status === 0) {
      this.counters.postFailures++;
      this.o.logger.warn(
        { round, reason: res.message },
        `${what} not delivered: ledger unreachable`,
      );
    } else {
      this.counters.partialsRefused++;
      this.o.logger.warn({ round, code: res.code }, `${what} refused by the ledger`);
    }
  }

  private count(code: string): void {
    this.counters.rejected[code] = (this.counters.rejected[code] ?? 0) + 1;
  }

  metrics(): Record<string, number> {
    const c = this.counters;
    const out: Record<string, number> = {
      reports_received_total: c.reportsReceived,
      reports_accepted_total: c.reportsAccepted,
      partials_posted_total: c.partialsPosted,
      partials_refused_total: c.partialsRefused,
      post_failures_total: c.postFailures,
      reaggregations_total: c.reaggregations,
      reconcile_refused_total: c.reconcileRefused,
      handler_errors_total: c.handlerErrors,
      rounds_closed_total: c.roundsClosed,
      early_held_total: c.earlyHeld,
      early_dropped_total: c.earlyDropped,
      mqtt_reconnects_total: this.o.link.reconnects,
    };
    for (const [code, n] of Object.entries(c.rejected))
      out[`reports_rejected_total|code="${code}"`] = n ?? 0;
    return out;
  }
}
