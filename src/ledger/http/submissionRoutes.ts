import type { FastifyInstance } from 'fastify';
import { ErrorCode } from '../../errors.js';
import { peekPartialHeader } from '../admission.js';
import { chainHeadToJson } from '../chainHead.js';
import type { LedgerService } from '../service.js';
import { ApiError } from './errors.js';
import type { Refuse } from './refusal.js';
import { parseBody } from './requestParsing.js';
import { PartialSubmission, QuerySubmission } from './schemas.js';

/**
 * POST /v1/partials (gateways) and POST /v1/queries (OEMs): a message's bytes, raw or
 * base64 in JSON, handed to the service. Before any cryptography, a gateway may only post
 * partials naming its own (IAN, gateway), a partial may not be for a round past the one
 * in progress + 1, and an OEM may only query under its own index (read from the fixed
 * header).
 */
export interface SubmissionRoutes {
  service: LedgerService;
  refuse: Refuse;
  /** Body limits of the two routes (bodyLimitFor of the parameters' message sizes). */
  partialLimit: number;
  queryLimit: number;
  /** The round in progress (LedgerApiOptions.rounds); without it, no round check. */
  rounds?: { current(): number } | undefined;
}

export function registerSubmissionRoutes(app: FastifyInstance, routes: SubmissionRoutes): void {
  const { service, refuse, partialLimit, queryLimit, rounds } = routes;

  app.post('/v1/partials', { bodyLimit: partialLimit }, async (request, reply) => {
    const bytes = submittedBytes(request.body, PartialSubmission, 'partial');
    // The fixed header only: whose partial, for which round. Shorter bytes go on to the
    // service, which refuses them as malformed before anything else.
    const header = peekPartialHeader(bytes);
    const caller = request.privaggCaller;
    if (header && caller) {
      if (
        caller.role !== 'gateway' ||
        caller.ian !== header.ian ||
        caller.gateway !== header.gateway
      ) {
        throw new ApiError(
          ErrorCode.ACCESS_DENIED,
          `${caller.name} may not post a partial of gateway ${header.gateway} in IAN ${header.ian}`,
        );
      }
    }
    const current = rounds?.current();
    if (header && current !== undefined && header.round > current + 1) {
      throw new ApiError(
        ErrorCode.WRONG_ROUND,
        `a partial for round ${header.round} while round ${current} is in progress`,
      );
    }
    const res = await service.addPartial(bytes);
    if (!res.ok) return refuse(request, reply, res.code, res.reason);
    return reply.code(202).send({
      ok: true,
      ian: res.ian,
      round: res.round,
      gateway: res.gateway,
      attempt: res.attempt,
      head: chainHeadToJson(res.head),
    });
  });

  app.post('/v1/queries', { bodyLimit: queryLimit }, async (request, reply) => {
    const bytes = submittedBytes(request.body, QuerySubmission, 'query');
    const caller = request.privaggCaller;
    if (caller && bytes.length >= 4) {
      const oem = bytes.readUInt16BE(2);
      if (caller.role !== 'oem' || caller.oem !== oem) {
        throw new ApiError(ErrorCode.ACCESS_DENIED, `${caller.name} may not query as OEM ${oem}`);
      }
    }
    const res = await service.query(bytes);
    if (!res.ok) return refuse(request, reply, res.code, res.reason);
    return reply.code(200).send({ ok: true, answer: res.answer, head: chainHeadToJson(res.head) });
  });
}

/** A submission's message bytes: the raw body, or the base64 field of the JSON body. */
function submittedBytes(
  body: unknown,
  schema: typeof PartialSubmission | typeof QuerySubmission,
  field: 'partial' | 'query',
): Buffer {
  if (Buffer.isBuffer(body)) return body;
  const parsed = parseBody(body, schema) as Record<string, string>;
  return Buffer.from(parsed[field]!, 'base64');
}
