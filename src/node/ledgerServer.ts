import type { Logger } from 'pino';
import {
  type EmbeddedLedgerOptions,
  openEmbeddedLedger,
  type RoundStatusRecord,
} from '../ledger/embeddedLedger.js';
import { startLedgerApi } from '../ledger/http/server.js';
import type { LedgerService } from '../ledger/service.js';
import type { MqttLink } from '../net/mqttLink.js';
import { topics } from '../net/topics.js';
import type { RestoreOutcome } from '../schemes/maas/ledgerContract.js';
import type { ReconcileRequest } from './gatewayService.js';
import { type RoundClock, sleep } from './roundClock.js';

/**
 * The ledger as a process: the embedded ledger (SQLite block store) behind the HTTP API,
 * plus the round driver. `restoreDelayMs` after each round ends (or earlier, as soon as
 * every gateway of an IAN has posted its partial for the round), it restores the IAN;
 * when the contract asks for a re-aggregation it publishes the request on MQTT, waits,
 * and restores again (at most MAX_ATTEMPTS times). Each IAN-round's status —
 * complete, degraded (with reasons) or failed (with the reason) — is recorded on the
 * ledger and published on the IAN's outcome topic.
 *
 * Restart: the file is replayed on open; the driver resumes from the round after the
 * newest one that has a recorded status, so a killed and restarted ledger neither loses
 * committed data nor restores a round twice.
 */
export interface LedgerServerOptions extends Omit<EmbeddedLedgerOptions, 'clock'> {
  link: MqttLink;
  /** The round clock, or its promise (the epoch may come later, from `privagg up`). */
  clock: RoundClock | Promise<RoundClock>;
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
  /** Resolves when the last round (if `rounds` > 0) has a status. */
  finished: Promise<void>;
  statuses: RoundStatusRecord[];
  close(): Promise<void>;
}

export async function startLedgerServer(o: LedgerServerOptions): Promise<LedgerServer> {
  const ledger = openEmbeddedLedger({ ...o, clock: Date.now });
  const node = ledger.node;
  // The round driver waits on partials, not on a timer: every add wakes the waiters whose
  // condition now holds (the contract holds the partial as soon as addPartial is called).
  const waiters = new Set<() => void>();
  const partialAdded = () => {
    for (const w of [...waiters]) w();
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
    {
      host: o.host ?? '127.0.0.1',
      port: o.port ?? 0,
      logger: o.logger,
    },
  );
  const params = o.config.params;
  const abort = new AbortController();
  const statuses: RoundStatusRecord[] = [];
  // Resume after the newest round with a recorded status (replayed from the file).
  let next = 0;
  for (const b of node.store.all())
    for (const t of b.transactions)
      if (t.kind === 'round') next = Math.max(next, (t.round ?? -1) + 1);

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
    while (out.status === 'reconcile' && attempts < 3 && !abort.signal.aborted) {
      attempts++;
      // The restore that asks for a re-aggregation is on disk before the request goes out.
      await ledger.flush();
      const req: ReconcileRequest = {
        round,
        attempt: out.attempt,
        contributors: [...out.contributors],
        gateways: [...out.gateways],
      };
      await o.link
        .publish(topics.reconcile(params.deployment, v), Buffer.from(JSON.stringify(req)))
        .catch((e: unknown) => {
          o.logger.warn({ ian: v, round, err: String(e) }, 'reconciliation request not published');
        });
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
        void o.link
          .publish(
            topics.outcome(params.deployment, record.ian),
            Buffer.from(JSON.stringify(record)),
          )
          .catch((e: unknown) =>
            o.logger.warn({ ian: record.ian, round, err: String(e) }, 'outcome not published'),
          );
      }
    }
  };

  const aborted = new Promise<undefined>((resolve) =>
    abort.signal.addEventListener('abort', () => resolve(undefined), { once: true }),
  );
  const finished = (async () => {
    const clock = await Promise.race([o.clock, aborted]);
    if (!clock) return;
    for (let round = next; o.rounds === 0 || round < o.rounds; round++) {
      if (abort.signal.aborted) return;
      await driveRound(round, clock);
    }
  })();

  return {
    url: api.url,
    service: ledger,
    finished,
    statuses,
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
  if (!out.crossChecked) reasons.push('only k partials: not cross-checked');
  return { ian, round, status: reasons.length ? 'degraded' : 'complete', reasons };
}
