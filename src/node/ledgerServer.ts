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
 * plus the round driver. `restoreDelayMs` after each round ends (or earlier, once every
 * gateway of every IAN has posted its partial for the round), it restores every IAN;
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
  const api = await startLedgerApi(ledger, {
    host: o.host ?? '127.0.0.1',
    port: o.port ?? 0,
    logger: o.logger,
  });
  const params = o.config.params;
  const abort = new AbortController();
  const statuses: RoundStatusRecord[] = [];
  // Resume after the newest round with a recorded status (replayed from the file).
  let next = 0;
  for (const b of node.store.all())
    for (const t of b.transactions)
      if (t.kind === 'round') next = Math.max(next, (t.round ?? -1) + 1);

  const driveRound = async (round: number, clock: RoundClock) => {
    for (let v = 0; v < params.ians; v++) {
      // Give stragglers a little longer (up to three delays) while partials are missing:
      // a busy machine can post a partial after the first deadline.
      const lastCall = clock.endOf(round) + 3 * o.restoreDelayMs;
      while (
        node.contract.partialsOf(v, round).length < params.gateways &&
        Date.now() < lastCall &&
        !abort.signal.aborted
      ) {
        await sleep(25, abort.signal);
      }
      let out: RestoreOutcome = await ledger.restore(v, round);
      let attempts = 0;
      while (out.status === 'reconcile' && attempts < 3 && !abort.signal.aborted) {
        attempts++;
        const req: ReconcileRequest = {
          round,
          attempt: out.attempt,
          contributors: [...out.contributors],
          gateways: [...out.gateways],
        };
        await o.link
          .publish(topics.reconcile(params.deployment, v), Buffer.from(JSON.stringify(req)))
          .catch((e: unknown) => {
            o.logger.warn(
              { ian: v, round, err: String(e) },
              'reconciliation request not published',
            );
          });
        await sleep(Math.max(200, o.restoreDelayMs), abort.signal);
        out = await ledger.restore(v, round);
      }
      const record = statusOf(out, v, round, params.gateways, params.devicesPerIan);
      node.recordRound(record, Date.now());
      // On disk before it is announced: a crash right after cannot lose an announced status.
      await ledger.flush();
      statuses.push(record);
      o.onStatus?.(record);
      o.logger.info(
        { ian: v, round, status: record.status, reasons: record.reasons },
        'round outcome',
      );
      // Not awaited: a broker outage must not stall the round driver (QoS 1 retries it).
      void o.link
        .publish(topics.outcome(params.deployment, v), Buffer.from(JSON.stringify(record)))
        .catch((e: unknown) =>
          o.logger.warn({ ian: v, round, err: String(e) }, 'outcome not published'),
        );
    }
  };

  const aborted = new Promise<undefined>((resolve) =>
    abort.signal.addEventListener('abort', () => resolve(undefined), { once: true }),
  );
  const finished = (async () => {
    const clock = await Promise.race([o.clock, aborted]);
    if (!clock) return;
    for (let round = next; o.rounds === 0 || round < o.rounds; round++) {
      // Restore `restoreDelayMs` after the round's end, or as soon as every gateway of every
      // IAN has posted its partial (gateways close a round early once all devices reported).
      const due = clock.endOf(round) + o.restoreDelayMs;
      const allIn = () => {
        for (let v = 0; v < params.ians; v++)
          if (node.contract.partialsOf(v, round).length < params.gateways) return false;
        return true;
      };
      // (A plain timer: sleep() with the signal would add an abort listener per poll.)
      while (Date.now() < due && !allIn() && !abort.signal.aborted)
        await new Promise((r) => setTimeout(r, Math.min(25, clock.until(due))));
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

/** complete / degraded (reasons) / failed (reason), from a final restore outcome. */
export function statusOf(
  out: RestoreOutcome,
  ian: number,
  round: number,
  gateways: number,
  devices: number,
): RoundStatusRecord {
  if (out.status === 'failed') return { ian, round, status: 'failed', reasons: [out.reason] };
  if (out.status === 'reconcile') {
    return { ian, round, status: 'failed', reasons: ['contributor sets did not converge in time'] };
  }
  const reasons: string[] = [];
  const heard = out.gateways.length + out.liars.length + out.excluded.length;
  if (heard < gateways) reasons.push(`${gateways - heard} gateway(s) sent no partial`);
  if (out.liars.length) reasons.push(`gateway(s) ${out.liars.join(',')} lied and were corrected`);
  if (out.excluded.length)
    reasons.push(`gateway(s) ${out.excluded.join(',')} left out (contributor set differs)`);
  if (out.contributors.length < devices)
    reasons.push(`${devices - out.contributors.length} device(s) missing`);
  if (!out.crossChecked) reasons.push('only k partials: not cross-checked');
  return { ian, round, status: reasons.length ? 'degraded' : 'complete', reasons };
}
