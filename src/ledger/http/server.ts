import type { TLSSocket } from 'node:tls';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import { type Logger, pino } from 'pino';
import type { z } from 'zod';
import { ErrorCode, isPrivaggError, PrivaggError } from '../../errors.js';
import { maxPartialBytesOf } from '../../schemes/maas/partialCodec.js';
import { peekPartialHeader, queryBytesOf } from '../admission.js';
import { chainHeadToJson } from '../chainHead.js';
import { MAX_NOTE_BYTES, noteProblem } from '../operatorNotes.js';
import type { LedgerBlock, LedgerService } from '../service.js';
import { type Caller, callerOf, mayCall } from './access.js';
import { ApiError, type ApiErrorCode, HttpErrorCode, statusOf } from './errors.js';
import { HttpMetrics, METRICS_CONTENT_TYPE } from './metrics.js';
import { buildOpenApiDocument } from './openapi.js';
import {
  BlockHeightParams,
  BlocksPageQuery,
  EpochRequest,
  MAX_TRANSACTIONS_PER_PAGE,
  NoteRequest,
  PartialSubmission,
  QuerySubmission,
  RestoreRequest,
} from './schemas.js';
import { blockView } from './views.js';

/**
 * The ledger's HTTP API (fastify): a thin shell over a LedgerService. It authenticates the
 * caller, bounds and validates (zod) the request, hands bytes to the service, and turns
 * its answers into statuses with the one table of errors.ts. Routes are listed in
 * openapi.ts (GET /openapi.json).
 *
 * Guarantees:
 *  - Secure by default: HTTPS with client certificates from the deployment's CA; the
 *    caller's role (certificate OU) and identity (CN) decide what it may call (access.ts),
 *    checked in onRequest, before the body is read. Without `tls` the API refuses to be
 *    built unless `insecure: true` says so (plaintext, every route open, one warning).
 *  - Work before authentication is bounded: every route's body limit is the exact size of
 *    its message as the deployment's parameters fix it (base64 JSON included), so a larger
 *    body is 413 before it is read; a gateway may only post partials naming its own (IAN,
 *    gateway) and an OEM only queries under its own index (read from the fixed header,
 *    before any cryptography).
 *  - Reads are paged and cheap: GET /v1/blocks serves at most MAX_BLOCKS_PER_PAGE blocks
 *    and about MAX_TRANSACTIONS_PER_PAGE transactions; GET /v1/verify runs off the event
 *    loop (the service's worker); GET /v1/health says only ok, height and pending.
 *  - Bad input never yields a 500: parser errors, schema failures and every
 *    { ok: false, code } of the service become a 4xx `{ ok: false, code, message }`.
 *    Thrown exceptions become 500 INTERNAL with a fixed message (no stack, no details).
 *  - A refusal is logged exactly once, as one structured line (code, status, route,
 *    method, caller, a short reason) — never the body, a key or a tag. Fastify's own
 *    per-request lines are off; accepted requests log one line at debug level.
 *  - A refusal decided here never reaches the service, and the service leaves its state
 *    unchanged for those it refuses (LedgerService's contract), so no refused request
 *    changes the ledger.
 */
export interface LedgerApiOptions {
  /** A pino logger; false for none. Default: pino at level info on stdout. */
  logger?: Logger | false;
  /**
   * HTTPS with mutual authentication (PEM strings): the deployment's CA, which every
   * client certificate must chain to, and the ledger's own certificate (CN <dep>.ledger,
   * SAN 127.0.0.1/localhost) and key.
   */
  tls?: { ca: string; cert: string; key: string };
  /**
   * Plaintext HTTP without client authentication: every route open to whoever reaches
   * the port. Only with an explicit `insecure` deployment; a warning is logged at start.
   */
  insecure?: boolean;
  /**
   * The deployment's round clock as the ledger sees it: `current()` is the round in
   * progress now (−1 before round 0 or while the epoch is unknown). POST /v1/restore takes
   * only rounds that have ended (< current), and a partial for a round past current + 1 is
   * refused before any cryptography. Without it, every restore request is refused.
   */
  rounds?: { current(): number };
  /**
   * What POST /v1/epoch calls (operator only): the ledger process publishes the signed
   * epoch. Without it the route answers 404 NOT_FOUND.
   */
  control?: { startEpoch(epochMs: number): Promise<void> };
  /**
   * The deployment's name, if the caller wants it checked: the API reads identities
   * against the service's own parameters, and refuses to start if this one differs.
   */
  deployment?: string;
}

/** Room for `{"partial":"…"}` around a base64 message. */
const JSON_ENVELOPE_BYTES = 64;
/** The largest body a message of `bytes` can arrive in: raw, or base64 in its JSON envelope. */
export const bodyLimitFor = (bytes: number): number =>
  Math.ceil(bytes / 3) * 4 + JSON_ENVELOPE_BYTES;
/** POST /v1/restore and /v1/epoch take one or two integers. */
const SMALL_BODY_LIMIT = 256;
/**
 * POST /v1/notes: `{"note":"…"}` around a note of MAX_NOTE_BYTES, every byte of it as a
 * JSON escape at worst (\u0041: 6 bytes for 1); a larger body is 413 before it is read.
 */
export const NOTE_BODY_LIMIT = 6 * MAX_NOTE_BYTES + JSON_ENVELOPE_BYTES;
/** Every other route takes no body. */
const NO_BODY_LIMIT = 1024;
/** Length of a reason in logs and responses. */
const MAX_REASON = 200;

const UNMATCHED = '(unmatched)';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set once the refusal of this request was logged and counted. */
    privaggRefused?: boolean;
    /** The authenticated caller (HTTPS); undefined in insecure mode. */
    privaggCaller?: Caller;
  }
}

export function buildLedgerApi(
  service: LedgerService,
  opts: LedgerApiOptions = {},
): FastifyInstance {
  const logger = opts.logger === undefined ? pino({ level: 'info' }) : opts.logger;
  if (opts.tls && opts.insecure) {
    throw new PrivaggError(
      ErrorCode.INVALID_ARGUMENT,
      'the ledger API was given TLS credentials and insecure: true; choose one',
    );
  }
  if (!opts.tls && !opts.insecure) {
    throw new PrivaggError(
      ErrorCode.INVALID_ARGUMENT,
      'the ledger API needs TLS (tls: { ca, cert, key }) or an explicit insecure: true',
    );
  }
  const params = service.params;
  const deployment = params.deployment;
  if (opts.deployment !== undefined && opts.deployment !== deployment) {
    throw new PrivaggError(
      ErrorCode.INVALID_ARGUMENT,
      `the ledger API was given deployment ${JSON.stringify(opts.deployment)} for a ledger of ${JSON.stringify(deployment)}`,
    );
  }
  const partialLimit = bodyLimitFor(maxPartialBytesOf(params));
  const queryLimit = bodyLimitFor(queryBytesOf(params));
  const metrics = new HttpMetrics();
  const openapi = buildOpenApiDocument();
  const app: FastifyInstance = Fastify({
    ...(logger ? { loggerInstance: logger as FastifyBaseLogger } : { logger: false }),
    ...(opts.tls
      ? {
          https: {
            ca: opts.tls.ca,
            cert: opts.tls.cert,
            key: opts.tls.key,
            requestCert: true,
            rejectUnauthorized: true,
            minVersion: 'TLSv1.2' as const,
          },
        }
      : {}),
    // Fastify's two lines per request are off: refusals log their own single line.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: NO_BODY_LIMIT,
    // Slow or stalled clients cannot hold a connection forever.
    requestTimeout: 30_000,
    return503OnClosing: true,
    // Errors before routing (undecodable URL, over-long path parameter) bypass the error
    // handler and the hooks; they are refusals like any other, and counted like any other.
    frameworkErrors: (_err, request, reply) => {
      reply.raw.once('finish', () =>
        metrics.observe(request.method, UNMATCHED, reply.statusCode, reply.elapsedTime / 1000),
      );
      return refuse(
        request,
        reply,
        ErrorCode.INVALID_ARGUMENT,
        'the URL cannot be decoded or is too long',
      );
    },
  }) as unknown as FastifyInstance;
  if (opts.tls) {
    // No TLS 1.2 renegotiation: a client cannot swap its certificate on a connection whose
    // caller was already identified (access.ts caches the caller per socket), nor make the
    // server redo handshakes on one connection.
    app.server.on('secureConnection', (socket: TLSSocket) => socket.disableRenegotiation());
  }
  if (opts.insecure) {
    const warning =
      'INSECURE: the ledger API serves plain HTTP without client authentication; anyone who reaches its port may submit, restore and read the whole chain';
    if (logger) logger.warn({ insecure: true }, warning);
    else process.stderr.write(`${warning}\n`);
  }

  // Only JSON (fastify's parser, safe against __proto__ poisoning) and raw bytes; any other
  // media type is 415 before the handler runs.
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, jsonParser);
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) =>
    done(null, body),
  );

  /** The single place a refusal is logged, counted and sent. */
  function refuse(
    request: FastifyRequest,
    reply: FastifyReply,
    code: ApiErrorCode,
    reason: string,
    err?: unknown,
  ): FastifyReply {
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
  }

  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof ApiError) return refuse(request, reply, err.code, err.reason);
    switch (err.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return refuse(request, reply, ErrorCode.OVERSIZED_MESSAGE, 'request body is too large');
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return refuse(
          request,
          reply,
          HttpErrorCode.UNSUPPORTED_MEDIA_TYPE,
          'send application/octet-stream or application/json',
        );
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return refuse(request, reply, ErrorCode.MALFORMED_MESSAGE, 'body is not valid JSON');
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return refuse(
          request,
          reply,
          ErrorCode.MALFORMED_MESSAGE,
          'body size does not match Content-Length',
        );
    }
    const status = typeof err.statusCode === 'number' ? err.statusCode : 500;
    if (status >= 400 && status < 500) {
      // Any other client error fastify detects (bad URL encoding, …): still a 4xx with a code.
      return refuse(request, reply, ErrorCode.INVALID_ARGUMENT, 'the request cannot be parsed');
    }
    return refuse(request, reply, HttpErrorCode.INTERNAL, 'unexpected error', err);
  });

  app.setNotFoundHandler((request, reply) =>
    refuse(request, reply, HttpErrorCode.NOT_FOUND, `no route ${request.method} for this path`),
  );

  app.addHook('onResponse', (request, reply, done) => {
    metrics.observe(request.method, routeOf(request), reply.statusCode, reply.elapsedTime / 1000);
    if (!request.privaggRefused) {
      request.log.debug(
        { status: reply.statusCode, method: request.method, route: routeOf(request) },
        'request served',
      );
    }
    done();
  });

  // Who is calling, and may it call this route: before the body is read or parsed.
  if (opts.tls) {
    app.addHook('onRequest', async (request, reply) => {
      const caller = callerOf(request.raw.socket as TLSSocket, deployment);
      if (caller === 'anonymous') {
        return refuse(request, reply, HttpErrorCode.UNAUTHORIZED, 'no verified client certificate');
      }
      if (caller === 'unknown') {
        return refuse(
          request,
          reply,
          ErrorCode.ACCESS_DENIED,
          'the client certificate names no identity of this deployment',
        );
      }
      request.privaggCaller = caller;
      const template = request.routeOptions.url;
      // No route: the not-found handler answers 404 to any authenticated caller.
      if (template !== undefined && !mayCall(caller, request.method, template)) {
        return refuse(
          request,
          reply,
          ErrorCode.ACCESS_DENIED,
          `role ${caller.role} may not call ${request.method} ${template}`,
        );
      }
    });
  }

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
    const current = opts.rounds?.current();
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

  app.post('/v1/restore', { bodyLimit: SMALL_BODY_LIMIT }, async (request, reply) => {
    if (Buffer.isBuffer(request.body)) {
      throw new ApiError(HttpErrorCode.UNSUPPORTED_MEDIA_TYPE, 'send application/json');
    }
    const { ian, round } = parseBody(request.body, RestoreRequest);
    // Only rounds that have ended: restoring an open round would fail it for good (its
    // partials are still on their way) and raise the newest final round, which bounds the
    // rounds a query may span.
    const current = opts.rounds?.current();
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
    if (!opts.control) {
      throw new ApiError(HttpErrorCode.NOT_FOUND, 'this ledger does not start epochs');
    }
    if (Buffer.isBuffer(request.body)) {
      throw new ApiError(HttpErrorCode.UNSUPPORTED_MEDIA_TYPE, 'send application/json');
    }
    const { epochMs } = parseBody(request.body, EpochRequest);
    try {
      await opts.control.startEpoch(epochMs);
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

  app.get('/v1/head', async () => chainHeadToJson(service.head()));

  app.get('/v1/blocks', async (request) => {
    const { from, limit } = parseParams(request.query, BlocksPageQuery);
    // Block by block, stopping at the page's transaction budget (always at least one block).
    const blocks: LedgerBlock[] = [];
    let transactions = 0;
    for (let h = from; blocks.length < limit; h++) {
      const block = service.block(h);
      if (!block) break;
      if (blocks.length > 0 && transactions + block.transactions.length > MAX_TRANSACTIONS_PER_PAGE)
        break;
      blocks.push(block);
      transactions += block.transactions.length;
    }
    return { height: service.height(), from, blocks: blocks.map(blockView) };
  });

  app.get('/v1/blocks/:height', async (request) => {
    const { height } = parseParams(request.params, BlockHeightParams);
    const block = service.block(height);
    if (!block) throw new ApiError(HttpErrorCode.BLOCK_NOT_FOUND, `no block at height ${height}`);
    return blockView(block);
  });

  app.get('/v1/verify', async (request, reply) => {
    const report = await service.verify();
    if (report.ok) return report;
    const bad = report.firstBad;
    request.log.error(
      {
        code: HttpErrorCode.CHAIN_INVALID,
        status: 409,
        method: request.method,
        route: routeOf(request),
        reason: printable(bad ? `block ${bad.height}: ${bad.reason}` : 'chain invalid', 200),
      },
      'chain does not verify',
    );
    request.privaggRefused = true;
    metrics.reject(routeOf(request), HttpErrorCode.CHAIN_INVALID);
    return reply.code(409).send({ ...report, code: HttpErrorCode.CHAIN_INVALID });
  });

  app.get('/v1/health', async (_request, reply) => {
    const { ok, height, pendingTransactions } = service.health();
    // Field by field: nothing else a service might add (a path, a key) reaches any caller.
    return reply.code(ok ? 200 : 503).send({ ok, height, pendingTransactions });
  });

  app.get('/metrics', async (_request, reply) =>
    reply.type(METRICS_CONTENT_TYPE).send(metrics.render(service.counters(), service.health())),
  );

  app.get('/openapi.json', async () => openapi);

  return app;
}

export interface LedgerApiServer {
  /** e.g. https://127.0.0.1:43117 (http:// in insecure mode) */
  url: string;
  app: FastifyInstance;
  /** Stops listening and closes idle keep-alive connections; the service stays open. */
  close(): Promise<void>;
}

/** Builds the API and listens (port 0 picks a free port). */
export async function startLedgerApi(
  service: LedgerService,
  opts: LedgerApiOptions & { host?: string; port?: number } = {},
): Promise<LedgerApiServer> {
  const { host = '127.0.0.1', port = 0, ...apiOpts } = opts;
  const app = buildLedgerApi(service, apiOpts);
  await app.listen({ host, port });
  const address = app.server.address();
  if (!address || typeof address === 'string') {
    await app.close();
    throw new Error('the ledger API is not listening on a TCP port');
  }
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `${apiOpts.tls ? 'https' : 'http'}://${shownHost}:${address.port}`,
    app,
    close: () => app.close(),
  };
}

// ─── helpers ───────────────────────────────────────────────────────────────────────────

function routeOf(request: FastifyRequest): string {
  return request.routeOptions.url ?? UNMATCHED;
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

function parseBody<T extends z.ZodType>(body: unknown, schema: T): z.output<T> {
  if (body === undefined || body === null) {
    throw new ApiError(ErrorCode.MALFORMED_MESSAGE, 'the request has no body');
  }
  const res = schema.safeParse(body);
  if (!res.success) throw new ApiError(ErrorCode.MALFORMED_MESSAGE, describeIssues(res.error));
  return res.data;
}

function parseParams<T extends z.ZodType>(input: unknown, schema: T): z.output<T> {
  const res = schema.safeParse(input ?? {});
  if (!res.success) throw new ApiError(ErrorCode.INVALID_ARGUMENT, describeIssues(res.error));
  return res.data;
}

/** "ian: Too big…; round: Invalid input…" — paths and zod's messages, never the values. */
function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : 'body'}: ${i.message}`)
    .join('; ');
}

/** At most `max` characters, control characters replaced: safe for one log line. */
function printable(s: string, max: number): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: replacing them is the point
  const clean = s.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}
