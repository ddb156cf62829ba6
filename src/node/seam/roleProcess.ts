import { ErrorCode, PrivaggError } from '../../errors.js';
import { openSchemeLedger, type SchemeLedger } from '../../ledger/scheme/index.js';
import { systemRandom } from '../../math/random.js';
import type { LinkLogger } from '../../net/mqttClient.js';
import { configureScheme } from '../../schemes/registry.js';
import {
  type Address,
  type AggregatorRole,
  addressKey,
  CENTER,
  type DeviceRole,
  type Lie,
  type Recovery,
  sameAddress,
} from '../../schemes/scheme.js';
import type { RoleSet } from '../../sim/router.js';
import type { Workload } from '../../sim/workload.js';
import { MqttRouter } from './mqttRouter.js';
import type { SeamRoleBundle } from './roleBundle.js';
import { seamPacketLimit } from './seamPki.js';
import {
  closeAt,
  firstRoundAt,
  isPastEnd,
  recoverAt,
  reportAt,
  roundStart,
  runEndsAt,
  SEAM_MAX_PHASES,
  type SeamSchedule,
} from './seamSchedule.js';
import { WallTimer } from './wallTimer.js';

/**
 * One process of a networked scheme run: the center (in its scheme ledger), one aggregator,
 * or one group's device fleet, built from its own bundle, connected to the broker with its
 * own certificate, acting on the wall clock (seamSchedule.ts). What it does comes back as
 * events (`privagg seam-role` prints them as JSON lines for `privagg up`):
 *   ready · reported {round, devices} · closed {round, rejections} ·
 *   recovery {group, round, phases, recovery} · done (the center, after the last round)
 */
export interface SeamRoleOptions {
  readonly bundle: SeamRoleBundle;
  readonly brokerUrl: string;
  readonly roundMs: number;
  /** Rounds to run; 0: until stopped. */
  readonly rounds: number;
  /**
   * Start of round 0: known, or still to come (`privagg up` hands it over once every process
   * is connected). The role connects and says `ready` first, then waits for it.
   */
  readonly epochMs: number | Promise<number>;
  /** The device fleet's readings (required for a fleet). */
  readonly workload?: Workload;
  /** The center's scheme ledger file (required for the center). */
  readonly ledgerFile?: string;
  /** A device that sends nothing this round (fault injection: a device that died). */
  readonly silent?: (group: number, index: number, round: number) => boolean;
  /** An aggregator compromised for the run: it lies about its sums (fault injection). */
  readonly lie?: Lie;
  readonly onEvent: (event: Record<string, unknown>) => void;
  readonly logger?: LinkLogger;
  readonly now?: () => number;
}

export interface RunningSeamRole {
  /** Resolves when the role has done its last round (or was stopped). */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

export async function startSeamRole(o: SeamRoleOptions): Promise<RunningSeamRole> {
  const b = o.bundle;
  const config = configureScheme(b.scheme.id, b.scheme.params, b.population);
  const roles = config.roles(b.publicSetup);
  const keysOf = (a: Address): Uint8Array => {
    const k = b.keys.find((x) => sameAddress(x.address, a));
    if (!k)
      throw new PrivaggError(ErrorCode.BAD_KEY, `the bundle holds no key for ${addressKey(a)}`);
    return k.blob;
  };
  const now = o.now ?? Date.now;
  const id = b.identity;
  let ledger: SchemeLedger | undefined;
  let roleSet: RoleSet;
  let devices: DeviceRole[] = [];
  let aggregator: AggregatorRole | undefined;
  if (id.role === 'ledger') {
    if (!o.ledgerFile || !b.ledger)
      throw new PrivaggError(ErrorCode.BAD_KEY, 'the center needs its ledger file and ledger keys');
    ledger = openSchemeLedger({
      file: o.ledgerFile,
      schemeId: b.scheme.id,
      params: b.scheme.params,
      config,
      publicSetup: b.publicSetup,
      centerKeys: keysOf(CENTER),
      signingKey: b.ledger.signingKey,
      contentKey: b.ledger.contentKey,
    });
    roleSet = { devices: new Map(), aggregators: new Map(), center: ledger };
  } else if (id.role === 'gateway') {
    const at: Address = { role: 'aggregator', group: id.group, index: id.index };
    aggregator = roles.aggregator(at, keysOf(at));
    roleSet = { devices: new Map(), aggregators: new Map([[addressKey(at), aggregator]]) };
  } else {
    if (!o.workload)
      throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, 'a device fleet needs its readings');
    devices = b.keys.map((k) => roles.device(k.address.group, k.address.index, k.blob));
    roleSet = {
      devices: new Map(devices.map((d) => [addressKey(d.address), d])),
      aggregators: new Map(),
    };
  }
  let router: MqttRouter;
  try {
    router = await MqttRouter.start({
      run: b.run,
      url: o.brokerUrl,
      ca: b.tls.ca,
      roles: roleSet,
      identities: [id],
      credentials: new Map([[id.name, { cert: b.tls.cert, key: b.tls.key }]]),
      rng: systemRandom,
      now,
      maxPacketBytes: seamPacketLimit(b.run, config),
      awaitDelivery: false,
      ...(o.logger ? { logger: o.logger } : {}),
    });
  } catch (e) {
    ledger?.close();
    throw e;
  }
  const timer = new WallTimer(now);
  const emit = o.onEvent;
  let s: SeamSchedule = { epochMs: 0, roundMs: o.roundMs, rounds: o.rounds };
  let first = 0;
  let stopped = false;
  let onStop: () => void = () => undefined;
  const stopSignal = new Promise<undefined>((r) => {
    onStop = () => r(undefined);
  });

  async function fleet(): Promise<void> {
    const w = o.workload!;
    // The first close of the fleet's group: reports after it are refused as late.
    const closers = config.topology.aggregators(devices[0]?.address.group ?? 0).length;
    for (let r = first; !isPastEnd(s, r); r++) {
      if (!(await timer.until(reportAt(s, r)))) return;
      let sent = 0;
      for (const d of devices) {
        const { group, index } = d.address;
        if (o.silent?.(group, index, r)) continue;
        const out = d.report(r, w.reading(group, index, r % w.rounds), now(), systemRandom);
        await router.send(d.address, out);
        sent++;
      }
      // Reports still going out after the first aggregator closed are refused as late: the
      // operator is told, with what a round of reports takes here, not left to guess.
      const tookMs = now() - reportAt(s, r);
      const late = now() > closeAt(s, r, 0, closers);
      emit({ event: 'reported', round: r, devices: sent, tookMs, late });
    }
  }

  async function aggregate(a: AggregatorRole): Promise<void> {
    const order = config.topology.aggregators(a.address.group);
    const position = order.findIndex((x) => sameAddress(x, a.address));
    for (let r = first; !isPastEnd(s, r); r++) {
      if (!(await timer.until(roundStart(s, r)))) return;
      a.open(r, now());
      if (!(await timer.until(closeAt(s, r, position, order.length)))) return;
      await router.send(a.address, a.close(r, now(), systemRandom, o.lie));
      emit({ event: 'closed', round: r, rejections: { ...router.rejections } });
    }
  }

  async function recoverRounds(center: SchemeLedger): Promise<void> {
    for (let r = first; !isPastEnd(s, r); r++) {
      let open = Array.from({ length: config.topology.groups }, (_, g) => g);
      for (let phase = 0; open.length > 0; phase++) {
        if (!(await timer.until(recoverAt(s, r, phase)))) return;
        const still: number[] = [];
        for (const g of open) {
          const rec = center.recover(g, r, now());
          if (rec.status === 'pending' && phase < SEAM_MAX_PHASES) {
            await router.send(CENTER, rec.next);
            still.push(g);
          } else
            emit({
              event: 'recovery',
              group: g,
              round: r,
              phases: phase,
              recovery: recoveryRecord(rec),
            });
        }
        open = still;
      }
      emit({
        event: 'round-done',
        round: r,
        counters: center.counters(),
        rejections: { ...router.rejections },
      });
    }
    emit({ event: 'done' });
  }

  const run = async () => {
    const epochMs = await Promise.race([o.epochMs, stopSignal]);
    if (stopped || epochMs === undefined) return;
    s = { ...s, epochMs };
    first = firstRoundAt(s, now());
    emit({ event: 'epoch', epochMs, firstRound: first });
    if (ledger) await recoverRounds(ledger);
    else {
      if (aggregator) await aggregate(aggregator);
      else await fleet();
      // The last round's later phases may still need this role (a failure announcement to
      // the devices, a reconcile request to the aggregators).
      if (s.rounds > 0) await timer.until(runEndsAt(s));
    }
  };
  const loop = run();
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    onStop();
    timer.stop();
    await loop.catch(() => undefined);
    await router.close();
    ledger?.close();
  };
  const done = loop.then(
    () => undefined,
    async (e: unknown) => {
      await stop();
      throw e;
    },
  );
  emit({ event: 'ready', identity: id.name });
  return { done, stop };
}

/** A recovery as an event carries it: everything but the next phase's bytes and the scheme's detail. */
export function recoveryRecord(r: Recovery): Record<string, unknown> {
  const base = {
    status: r.status,
    group: r.group,
    round: r.round,
    flagged: r.flagged,
    notes: r.notes,
  };
  if (r.status === 'recovered') return { ...base, values: r.values, contributors: r.contributors };
  if (r.status === 'failed') return { ...base, reason: r.reason };
  return base;
}
