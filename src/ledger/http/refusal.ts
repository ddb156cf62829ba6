import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from './access.js';
import { type ApiErrorCode, statusOf } from './errors.js';
import type { HttpMetrics } from './metrics.js';
import { printable } from './requestParsing.js';

/**
 * The single place a refusal is logged, counted and sent: one structured line (code,
 * status, route, method, caller, a short reason — never the body, a key or a tag), one
 * count in the metrics, and a `{ ok: false, code, message }` body with the status of
 * errors.ts. A 5xx is logged with its error but answers only "internal error".
 */

/** Length of a reason in logs and responses. */
const MAX_REASON = 200;

/** The route of a request that matched none (metrics, logs). */
export const UNMATCHED = '(unmatched)';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set once the refusal of this request was logged and counted. */
    privaggRefused?: boolean;
    /** The authenticated caller (HTTPS); undefined in insecure mode. */
    privaggCaller?: Caller;
  }
}

/** Logs, counts and sends one refusal; `err` only for a 5xx (logged, never sent). */
export type Refuse = (
  request: FastifyRequest,
  reply: FastifyReply,
  code: ApiErrorCode,
  reason: string,
  err?: unknown,
) => FastifyReply;

/** The route template a request matched, or UNMATCHED. */
export function routeOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? UNMATCHED;
}

/** The API's refusal, counting into `metrics`. */
export function refuserFor(metrics: HttpMetrics): Refuse {
  return function refuse(request, reply, code, reason, err) {
    const status = statusOf(code);
    const route = routeOf(request);
    // PrivaggError messages start with their code; the code is a field of its own here.
    if (reason.startsWith(`${code}: `)) reason = reason.slice(code.length + 2);
    const line = {
      code,
      status,
      method: request.method,
      route,
      ...(route === UNMATCHED ? { path: printable(request.url.split('?')[0] ?? '', 100) } : {}),
      ...(request.privaggCaller ? { caller: request.privaggCaller.name } : {}),
      reason: printable(reason, MAX_REASON),
    };
    if (status >= 500) request.log.error({ ...line, err }, 'request failed');
    else if (request.method === 'POST') request.log.warn(line, 'request refused');
    else request.log.info(line, 'request refused');
    request.privaggRefused = true;
    metrics.reject(route, code);
    return reply
      .code(status)
      .type('application/json; charset=utf-8')
      .send({
        ok: false,
        code,
        message: status >= 500 ? 'internal error' : printable(reason, MAX_REASON),
      });
  };
}
