import type { FastifyInstance } from 'fastify';
import { ErrorCode, isPrivaggError } from '../../errors.js';
import { noteProblem } from '../operatorNotes.js';
import type { LedgerService } from '../service.js';
import { NOTE_BODY_LIMIT, SMALL_BODY_LIMIT } from './bodyLimits.js';
import { ApiError, HttpErrorCode } from './errors.js';
import type { Refuse } from './refusal.js';
import { parseBody } from './requestParsing.js';
import { EpochRequest, NoteRequest, RestoreRequest } from './schemas.js';

/**
 * The operator's routes, JSON bodies only: POST /v1/restore (a round that has ended),
 * POST /v1/epoch (the ledger process publishes the signed epoch) and POST /v1/notes (a
 * note that goes on the chain with the next round status).
 */
export interface OperatorRoutes {
  service: LedgerService;
  refuse: Refuse;
  /** The round in progress (LedgerApiOptions.rounds); without it, every restore is refused. */
  rounds?: { current(): number } | undefined;
  /** What POST /v1/epoch calls (LedgerApiOptions.control); without it, 404. */
  control?: { startEpoch(epochMs: number): Promise<void> } | undefined;
}

export function registerOperatorRoutes(app: FastifyInstance, routes: OperatorRoutes): void {
  const { service, refuse, rounds, control } = routes;

  app.post('/v1/restore', { bodyLimit: SMALL_BODY_LIMIT }, async (request, reply) => {
    if (Buffer.isBuffer(request.body)) {
      throw new ApiError(HttpErrorCode.UNSUPPORTED_MEDIA_TYPE, 'send application/json');
    }
    const { ian, round } = parseBody(request.body, RestoreRequest);
    // Only rounds that have ended: restoring an open round would fail it for good (its
    // partials are still on their way) and raise the newest final round, which bounds the
    // rounds a query may span.
    const current = rounds?.current();
    if (current === undefined) {
      throw new ApiError(
        ErrorCode.WRONG_ROUND,
        'this ledger has no round clock: it cannot tell which rounds have ended',
      );
    }
    if (round >= current) {
      throw new ApiError(
        ErrorCode.WRONG_ROUND,
        current < 0
          ? 'no round has ended yet'
          : `round ${round} has not ended (round ${current} is in progress)`,
      );
    }
    const res = await service.restore(ian, round);
    if (!res.ok) return refuse(request, reply, res.code, res.reason);
    // The operator starts restores; it does not hold the chain's content key, so it gets the
    // outcome without the noise-free estimates (sealed on the chain, chainCipher.ts).
    const { outcome } = res;
    return reply
      .code(200)
      .send(outcome.status === 'restored' ? { ...outcome, estimates: [] } : outcome);
  });

  app.post('/v1/epoch', { bodyLimit: SMALL_BODY_LIMIT }, async (request, reply) => {
    if (!control) {
      throw new ApiError(HttpErrorCode.NOT_FOUND, 'this ledger does not start epochs');
    }
    if (Buffer.isBuffer(request.body)) {
      throw new ApiError(HttpErrorCode.UNSUPPORTED_MEDIA_TYPE, 'send application/json');
    }
    const { epochMs } = parseBody(request.body, EpochRequest);
    try {
      await control.startEpoch(epochMs);
    } catch (e) {
      if (isPrivaggError(e)) return refuse(request, reply, e.code, e.message);
      throw e;
    }
    return reply.code(200).send({ ok: true, epochMs });
  });

  app.post('/v1/notes', { bodyLimit: NOTE_BODY_LIMIT }, async (request, reply) => {
    if (!service.note) {
      throw new ApiError(HttpErrorCode.NOT_FOUND, 'this ledger records no operator notes');
    }
    if (Buffer.isBuffer(request.body)) {
      throw new ApiError(HttpErrorCode.UNSUPPORTED_MEDIA_TYPE, 'send application/json');
    }
    const { note } = parseBody(request.body, NoteRequest);
    // Size and characters before the service sees it (it checks again, and counts).
    const problem = noteProblem(note);
    if (problem) throw new ApiError(problem.code, problem.reason);
    const res = service.note(note);
    if (!res.ok) return refuse(request, reply, res.code, res.reason);
    // Accepted, not yet recorded: it goes on the chain with the next round status.
    return reply.code(202).send({ ok: true, pending: res.pending });
  });
}
