import type { Logger } from 'pino';
import { exportRawPublic } from '../crypto/rawKeys.js';
import { ErrorCode, PrivaggError } from '../errors.js';
import {
  type EmbeddedLedgerOptions,
  openEmbeddedLedger,
  type RoundStatusRecord,
} from '../ledger/embeddedLedger.js';
import { type LedgerApiOptions, startLedgerApi } from '../ledger/http/server.js';
import type { LedgerService } from '../ledger/service.js';
import type { MqttLink } from '../net/mqttLink.js';
import { topics } from '../net/topics.js';
import type { RestoreOutcome } from '../schemes/maas/ledgerContract.js';
import { boundedReasons, type ControlSigningKey } from '../wire/control.js';
import { signControl, watchEpoch } from './controlPlane.js';
import { RoundClock, sleep } from './roundClock.js';
import { acquireLedgerFileLock } from './stateLock.js';

/**
 * The ledger as a process: the embedded ledger (SQLite block store) behind the HTTP API,
 * plus the round driver. `restoreDelayMs` after each round ends (or earlier, as soon as
 * every gateway of an IAN has posted its partial for the round), it restores the IAN;
 * when the contract asks for a re-aggregation it publishes the request on MQTT, waits,
 * and restores again (at most MAX_ATTEMPTS times). Each IAN-round's status —
 * complete, degraded (with reasons) or failed (with the reason) — is recorded on the
 * ledger and published on the IAN's outcome topic.
 *
 * Control plane: the ledger is the only signer of control messages. Every reconcile
 * request and outcome it publishes is a signed binary message (src/wire/control.ts, key
 * `controlKey`), bound to the deployment, the run's epoch, the IAN, the round (and the
 * attempt). The epoch is the ledger's too: `startEpoch(epochMs)` (the operator's POST
 * /v1/epoch, or the `epochMs` option) publishes it signed and retained, and starts the
 * round driver on it.
 *
 * Restart: the file is replayed on open; the driver resumes from the round after the
 * newest one that has a recorded status, so a killed and restarted ledger neither loses
 * committed data nor restores a round twice. A restarted ledger takes its epoch from the
 * broker's retained epoch when it verifies under its own key — provided the file already
 * records rounds, or round 0 began less than two rounds ago: an older epoch in a fresh
 * file is a leftover of an earlier run, and the ledger waits for `startEpoch`.
 */
export interface LedgerServerOptions extends Omit<EmbeddedLedgerOptions, 'clock'> {
  link: MqttLink;
  /** The ledger's private Ed25519 key for control messages (its public half is in every bundle). */
  controlKey: ControlSigningKey;
  /** Round duration (ms): the epoch message carries it. */
  roundMs: number;
  /** Start round 0 at this time at once (as `startEpoch`); otherwise wait for `startEpoch`. */
  epochMs?: number;
  /** Options passed through to the HTTP API (TLS, roles, limits, …). */
  api?: Partial<LedgerApiOptions>;
  restoreDelayMs: number;
  /** Stop driving after this many rounds (0: until closed). */
  rounds: number;
  host?: string;
  port?: number;
  logger: Logger;
  /** Called with each IAN-round's status as soon as it is recorded. */
  onStatus?: (status: RoundStatusRecord) => void;
}

export interface LedgerServer {
  url: string;
  service: LedgerService;
  /**
   * Sets round 0's start: publishes the signed epoch, retained, then starts the round
   * driver. Idempotent for the epoch already set (it is announced again); another epoch is
   * refused (INVALID_ARGUMENT) — the round driver follows one epoch per run.
   */
  startEpoch(epochMs: number): Promise<void>;
  /** The round clock once the epoch is set. */
  roundClock(): RoundClock | undefined;
  /** Resolves when the last round (if `rounds` > 0) has a status. */
  finished: Promise<void>;
  statuses: RoundStatusRecord[];
  close(): Promise<void>;
}

/**
 * The ledger node behind its API, holding its file for the process's life: a second
 * ledger on the same file (two `privagg ledger serve`, or an `up` beside a live one) is
 * refused with STATE_LOCKED instead of writing a second chain into it.
 */
export async function startLedgerServer(o: LedgerServerOptions): Promise<LedgerServer> {
  const lock = acquireLedgerFileLock(o.file);
  if (!lock) return startLocked(o);
  if (lock.tookOverFrom)
    o.logger.warn({ lock: lock.path, owner: lock.tookOverFrom }, 'stale ledger lock taken over');
  try {
    const server = await startLocked(o);
    return {
      ...server,
      async close() {
        try {
          await server.close();
        } finally {
          lock.release();
        }
      },
    };
  } catch (e) {
    lock.release();
    throw e;
  }
}

async function startLocked(o: LedgerServerOptions): Promise<LedgerServer> {
  const ledger = openEmbeddedLedger({ ...o, clock: Date.now });
  const node = ledger.node;
  const params = o.config.params;
  const deployment = params.deployment;
  const abort = new AbortController();
  // Resume after the newest round with a recorded status (replayed from the file).
  let next = 0;
  for (const b of node.store.all())
    for (const t of b.transactions)
      if (t.kind === 'round') next = Math.max(next, (t.round ?? -1) + 1);

  // ── the epoch: set once, by startEpoch or (on restart) the retained signed epoch ──
  let clock: RoundClock | undefined;
  let clockSet!: (c: RoundClock) => void;
  const clockReady = new Promise<RoundClock>((resolve) => {
    clockSet = resolve;
  });
  const adopt = (c: RoundClock, how: string) => {
    if (clock) return;
    clock = c;
    clockSet(c);
    o.logger.info({ epochMs: c.epochMs, how }, 'round clock set');
  };
  /** Serialises startEpoch calls: each sees the outcome of the one before. */
  let epochQueue: Promise<void> = Promise.resolve();
  const startEpoch = (epochMs: number): Promise<void> => {
    const run = epochQueue.then(async () => {
      if (!Number.isSafeInteger(epochMs) || epochMs < 0)
        throw new PrivaggError(
          ErrorCode.INVALID_ARGUMENT,
          'epochMs must be a non-negative integer',
        );
      if (clock && clock.epochMs !== epochMs) {
        throw new PrivaggError(
          ErrorCode.INVALID_ARGUMENT,
          `round 0 already starts at ${clock.epochMs}; one epoch per run`,
          { epochMs: clock.epochMs },
        );
      }
      const bytes = signControl(
        'epoch',
        { deployment, epochMs, roundMs: o.roundMs, issuedAtMs: Date.now() },
        o.controlKey,
      );
      // Retained, so a process that starts (or restarts) later gets it at once.
      await o.link.publish(topics.epoch(deployment), bytes, { retain: true });
      adopt(new RoundClock(epochMs, o.roundMs), 'started');
    });
    epochQueue = run.catch(() => undefined);
    return run;
  };
  const ownPublicKey =
    'keyObject' in o.controlKey ? o.controlKey.publicKey : exportRawPublic(o.controlKey);
  void watchEpoch(o.link, {
    deployment,
    ledgerPublicKey: ownPublicKey,
    roundMs: o.roundMs,
    signal: abort.signal,
    onInvalid: (code, reason) =>
      o.logger.warn({ code, reason }, 'epoch message on the broker refused'),
  })
    .then((retained) => {
      const fresh = retained.roundAt(Date.now()) < 2;
      if (next > 0 || fresh) adopt(retained, 'the retained signed epoch');
      else if (!clock) {
        o.logger.warn(
          { epochMs: retained.epochMs },
          'retained epoch of an earlier run ignored (this ledger file records no round): waiting for startEpoch',
        );
      }
    })
    .catch(() => undefined);

  // The round driver waits on partials, not on a timer: every add wakes the waiters whose
  // condition now holds (the contract holds the partial as soon as addPartial is called).
  const waiters = new Set<() => void>();
  const partialAdded = () => {
    for (const w of [...waiters]) w();
  };
  const apiOptions: Parameters<typeof startLedgerApi>[1] = {
    host: o.host ?? '127.0.0.1',
    port: o.port ?? 0,
    logger: o.logger,
    ...o.api,
    // POST /v1/restore takes only rounds that have ended, by this ledger's clock.
    rounds: { current: () => (clock ? clock.roundAt(Date.now()) : -1) },
    // POST /v1/epoch (operator only).
    control: { startEpoch },
  };
  const api = await startLedgerApi(
    {
      ...ledger,
      addPartial(bytes) {
        const res = ledger.addPartial(bytes);
        partialAdded();
        return res;
      },
    },
    apiOptions,
  );
  const statuses: RoundStatusRecord[] = [];

  /** Resolves once `holds()` is true, at `deadline`, or on shutdown, whichever is first. */
  const until = (holds: () => boolean, deadline: number) =>
    new Promise<void>((resolve) => {
      if (holds() || abort.signal.aborted || Date.now() >= deadline) return resolve();
      const done = () => {
        waiters.delete(check);
        clearTimeout(timer);
        abort.signal.removeEventListener('abort', done);
        resolve();
      };
      const check = () => {
        if (holds()) done();
      };
      const timer = setTimeout(done, deadline - Date.now());
      waiters.add(check);
      abort.signal.addEventListener('abort', done, { once: true });
    });

  /** One IAN-round to its final outcome: wait for partials, restore, reconcile. */
  const driveIan = async (v: number, round: number, clock: RoundClock) => {
    // Restore as soon as every gateway of the IAN has posted its partial (gateways close a
    // round early once all devices reported), else `restoreDelayMs` after the round's
    // end — and give stragglers a little longer (up to three delays) while partials are
    // missing: a busy machine can post a partial after the first deadline.
    const lastCall = clock.endOf(round) + 3 * o.restoreDelayMs;
    await until(() => node.contract.partialsOf(v, round).length >= params.gateways, lastCall);
    // Shutting down: this round is not concluded (a restarted ledger resumes it).
    if (abort.signal.aborted) return undefined;
    // Recorded now, on disk with the IAN-round's status (one flush for both, below).
    let out: RestoreOutcome = node.restore(v, round, Date.now());
    let attempts = 0;
    const withheld = new Set<number>();
    while (out.status === 'reconcile' && attempts < 3 && !abort.signal.aborted) {
      attempts++;
      for (const d of out.withheld ?? []) withheld.add(d);
      // The restore that asks for a re-aggregation is on disk before the request goes out.
      await ledger.flush();
      try {
        const request = signControl(
          'reconcile',
          {
            deployment,
            epochMs: clock.epochMs,
            ian: v,
            round,
            attempt: out.attempt,
            rosterSize: params.devicesPerIan,
            gatewayCount: params.gateways,
            // The codec takes sets as sorted lists (bitmaps on the wire).
            contributors: [...out.contributors].sort((a, b) => a - b),
            gateways: [...out.gateways].sort((a, b) => a - b),
          },
          o.controlKey,
        );
        await o.link.publish(topics.reconcile(deployment, v), request);
      } catch (e) {
        o.logger.warn({ ian: v, round, err: String(e) }, 'reconciliation request not published');
      }
      await sleep(Math.max(200, o.restoreDelayMs), abort.signal);
      out = node.restore(v, round, Date.now());
    }
    return statusOf(
      out,
      v,
      round,
      params.gateways,
      params.devicesPerIan,
      params.modes.restore === 'paper',
      withheld.size,
    );
  };

  /**
   * Every IAN of a round, in parallel; statuses are recorded and announced in IAN order,
   * those ready together in one block (one fsync per round when every IAN is complete,
   * not two per IAN).
   */
  const driveRound = async (round: number, clock: RoundClock) => {
    const ready: (RoundStatusRecord | undefined)[] = new Array(params.ians).fill(undefined);
    const tasks = Array.from({ length: params.ians }, (_, v) =>
      driveIan(v, round, clock).then((record) => {
        ready[v] = record;
        return record;
      }),
    );
    for (let v = 0; v < params.ians; ) {
      await tasks[v];
      if (abort.signal.aborted) return;
      // Let IANs that finished in the same moment join this batch.
      await new Promise((r) => setImmediate(r));
      const batch: RoundStatusRecord[] = [];
      for (; v < params.ians && ready[v]; v++) batch.push(ready[v]!);
      if (batch.length === 0) return;
      const now = Date.now();
      for (const record of batch) node.recordRound(record, now);
      // On disk before it is announced: a crash right after cannot lose an announced status.
      await ledger.flush();
      for (const record of batch) {
        statuses.push(record);
        o.onStatus?.(record);
        o.logger.info(
          { ian: record.ian, round, status: record.status, reasons: record.reasons },
          'round outcome',
        );
        // Not awaited: a broker outage must not stall the round driver (QoS 1 retries it).
        void publishOutcome(record, clock).catch((e: unknown) =>
          o.logger.warn({ ian: record.ian, round, err: String(e) }, 'outcome not published'),
        );
      }
    }
  };

  /** An IAN-round's status, signed, on the IAN's outcome topic. */
  const publishOutcome = async (record: RoundStatusRecord, c: RoundClock) => {
    const bytes = signControl(
      'outcome',
      {
        deployment,
        epochMs: c.epochMs,
        ian: record.ian,
        round: record.round,
        status: record.status,
        reasons: record.status === 'complete' ? [] : boundedReasons(record.reasons),
      },
      o.controlKey,
    );
    await o.link.publish(topics.outcome(deployment, record.ian), bytes);
  };

  const aborted = new Promise<undefined>((resolve) =>
    abort.signal.addEventListener('abort', () => resolve(undefined), { once: true }),
  );
  const finished = (async () => {
    const c = await Promise.race([clockReady, aborted]);
    if (!c) return;
    for (let round = next; o.rounds === 0 || round < o.rounds; round++) {
      if (abort.signal.aborted) return;
      await driveRound(round, c);
    }
  })();
  if (o.epochMs !== undefined) {
    try {
      await startEpoch(o.epochMs);
    } catch (e) {
      abort.abort();
      await finished.catch(() => undefined);
      await api.close();
      await ledger.close();
      throw e;
    }
  }

  return {
    url: api.url,
    service: ledger,
    finished,
    statuses,
    startEpoch,
    roundClock: () => clock,
    async close() {
      abort.abort();
      await finished.catch(() => undefined);
      await api.close();
      await ledger.close();
    },
  };
}

/**
 * complete / degraded (reasons) / failed (reason), from a final restore outcome.
 * `paperRestore`: the paper's restore, which takes the first k partials and checks nothing.
 */
export function statusOf(
  out: RestoreOutcome,
  ian: number,
  round: number,
  gateways: number,
  devices: number,
  paperRestore = false,
  /** Devices the reconciliation left out to keep each gateway's sums from being differenced. */
  withheld = 0,
): RoundStatusRecord {
  if (out.status === 'failed') return { ian, round, status: 'failed', reasons: [out.reason] };
  if (out.status === 'reconcile') {
    return { ian, round, status: 'failed', reasons: ['contributor sets did not converge in time'] };
  }
  const reasons: string[] = [];
  const heard = out.gateways.length + out.liars.length + out.excluded.length;
  if (heard < gateways) reasons.push(`${gateways - heard} gateway(s) sent no partial`);
  if (out.liars.length) reasons.push(`gateway(s) ${out.liars.join(',')} lied and were corrected`);
  if (out.excluded.length) {
    reasons.push(
      paperRestore
        ? `gateway(s) ${out.excluded.join(',')} not used (the paper's restore takes the first k partials)`
        : `gateway(s) ${out.excluded.join(',')} left out (contributor set differs)`,
    );
  }
  if (out.contributors.length < devices)
    reasons.push(`${devices - out.contributors.length} device(s) missing`);
  if (withheld > 0) {
    reasons.push(
      `${withheld} of them left out of the re-sum to keep sums private (no two sums of a gateway differ by fewer devices than the minimum)`,
    );
  }
  if (!out.crossChecked) reasons.push('only k partials: not cross-checked');
  return { ian, round, status: reasons.length ? 'degraded' : 'complete', reasons };
}
