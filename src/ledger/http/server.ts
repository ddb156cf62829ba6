import { timingSafeEqual } from 'node:crypto';
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
import { ErrorCode } from '../../errors.js';
import { MAX_MESSAGE_BYTES } from '../../wire/maas.js';
import type { LedgerService } from '../service.js';
import { ApiError, type ApiErrorCode, HttpErrorCode, statusOf } from './errors.js';
import { HttpMetrics, METRICS_CONTENT_TYPE } from './metrics.js';
import { buildOpenApiDocument } from './openapi.js';
import {
  BlockHeightParams,
  BlocksPageQuery,
  PartialSubmission,
  QuerySubmission,
  RestoreRequest,
} from './schemas.js';
import { blockView } from './views.js';

/**
 * The ledger's HTTP API (fastify): a thin shell over a LedgerService. It parses and
 * validates (zod), hands bytes to the service, and turns its answers into statuses with
 * the one table of errors.ts. Routes are listed in openapi.ts (GET /openapi.json).
 *
 * Guarantees:
 *  - Bad input never yields a 500: parser errors, schema failures and every
 *    { ok: false, code } of the service become a 4xx `{ ok: false, code, message }`.
 *    Thrown exceptions become 500 INTERNAL with a fixed message (no stack, no details).
 *  - A refusal is logged exactly once, as one structured line (code, status, route,
 *    method, a short reason) — never the body, a key or a tag. Fastify's own
 *    per-request lines are off; accepted requests log one line at debug level.
 *  - A refusal decided here never reaches the service, and the service leaves its state
 *    unchanged for those it refuses (LedgerService's contract), so no refused request
 *    changes the ledger.
 */
export interface LedgerApiOptions {
  /** A pino logger; false for none. Default: pino at level info on stdout. */
  logger?: Logger | false;
  /**
   * Largest request body of POST /v1/partials and /v1/queries in bytes (default: room for
   * the wire format's largest message in base64 JSON). Larger bodies get 413
   * OVERSIZED_MESSAGE before they are read.
   */
  bodyLimit?: number;
  /** When set, POST /v1/restore needs `Authorization: Bearer <operatorToken>`. */
  operatorToken?: string;
}

/** Base64 of the largest wire message, plus room for the JSON around it. */
export const DEFAULT_BODY_LIMIT = Math.ceil(MAX_MESSAGE_BYTES / 3) * 4 + 1024;
/** POST /v1/restore takes two integers. */
const RESTORE_BODY_LIMIT = 1024;
/** Length of a reason in logs and responses. */
const MAX_REASON = 200;

const UNMATCHED = '(unmatched)';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set once the refusal of this request was logged and counted. */
    privaggRefused?: boolean;
  }
}

export function buildLedgerApi(
  service: LedgerService,
  opts: LedgerApiOptions = {},
): FastifyInstance {
  const logger = opts.logger === undefined ? pino({ level: 'info' }) : opts.logger;
  const metrics = new HttpMetrics();
  const openapi = buildOpenApiDocument();
  const operatorToken =
    opts.operatorToken !== undefined ? Buffer.from(opts.operatorToken, 'utf8') : undefined;
  const app: FastifyInstance = Fastify({
    ...(logger ? { loggerInstance: logger as FastifyBaseLogger } : { logger: false }),
    // Fastify's two lines per request are off: refusals log their own single line.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT,
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

  app.post('/v1/partials', async (request, reply) => {
    const bytes = submittedBytes(request.body, PartialSubmission, 'partial');
    const res = await service.addPartial(bytes);
    if (!res.ok) return refuse(request, reply, res.code, res.reason);
    return reply.code(202).send({
      ok: true,
      ian: res.ian,
      round: res.round,
      gateway: res.gateway,
      attempt: res.attempt,
    });
  });

  app.post('/v1/queries', async (request, reply) => {
    const bytes = submittedBytes(request.body, QuerySubmission, 'query');
    const res = await service.query(bytes);
    if (!res.ok) return refuse(request, reply, res.code, res.reason);
    return reply.code(200).send({ ok: true, answer: res.answer });
  });

  app.post('/v1/restore', { bodyLimit: RESTORE_BODY_LIMIT }, async (request, reply) => {
    if (operatorToken && !bearerMatches(request.headers.authorization, operatorToken)) {
      throw new ApiError(HttpErrorCode.UNAUTHORIZED, 'operator token missing or wrong');
    }
    if (Buffer.isBuffer(request.body)) {
      throw new ApiError(HttpErrorCode.UNSUPPORTED_MEDIA_TYPE, 'send application/json');
    }
    const { ian, round } = parseBody(request.body, RestoreRequest);
    return reply.code(200).send(await service.restore(ian, round));
  });

  app.get('/v1/blocks', async (request) => {
    const { from, limit } = parseParams(request.query, BlocksPageQuery);
    return {
      height: service.height(),
      from,
      blocks: service.blocks(from, limit).map(blockView),
    };
  });

  app.get('/v1/blocks/:height', async (request) => {
    const { height } = parseParams(request.params, BlockHeightParams);
    const block = service.block(height);
    if (!block) throw new ApiError(HttpErrorCode.BLOCK_NOT_FOUND, `no block at height ${height}`);
    return blockView(block);
  });

  app.get('/v1/verify', async (request, reply) => {
    const report = service.verify();
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
    const health = service.health();
    return reply.code(health.ok ? 200 : 503).send(health);
  });

  app.get('/metrics', async (_request, reply) =>
    reply.type(METRICS_CONTENT_TYPE).send(metrics.render(service.counters(), service.health())),
  );

  app.get('/openapi.json', async () => openapi);

  return app;
}

export interface LedgerApiServer {
  /** e.g. http://127.0.0.1:43117 */
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
    url: `http://${shownHost}:${address.port}`,
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

function bearerMatches(header: string | undefined, token: Buffer): boolean {
  const m = header?.match(/^Bearer (.+)$/);
  if (!m) return false;
  const given = Buffer.from(m[1]!, 'utf8');
  return given.length === token.length && timingSafeEqual(given, token);
}

/** At most `max` characters, control characters replaced: safe for one log line. */
function printable(s: string, max: number): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: replacing them is the point
  const clean = s.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}
