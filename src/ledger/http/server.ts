import type { TLSSocket } from 'node:tls';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { type Logger, pino } from 'pino';
import { ErrorCode, PrivaggError } from '../../errors.js';
import { maxPartialBytesOf } from '../../schemes/maas/partialCodec.js';
import { queryBytesOf } from '../admission.js';
import type { LedgerService } from '../service.js';
import { bodyLimitFor, NO_BODY_LIMIT } from './bodyLimits.js';
import {
  installAccessCheck,
  installContentTypes,
  installErrorHandlers,
  installResponseLog,
} from './hooks.js';
import { HttpMetrics } from './metrics.js';
import { buildOpenApiDocument } from './openapi.js';
import { registerOperatorRoutes } from './operatorRoutes.js';
import { registerReadRoutes } from './readRoutes.js';
import { refuserFor, UNMATCHED } from './refusal.js';
import { registerSubmissionRoutes } from './submissionRoutes.js';

export { bodyLimitFor, NOTE_BODY_LIMIT } from './bodyLimits.js';

/**
 * The ledger's HTTP API (fastify): a thin shell over a LedgerService. It authenticates the
 * caller, bounds and validates (zod) the request, hands bytes to the service, and turns
 * its answers into statuses with the one table of errors.ts. Routes are listed in
 * openapi.ts (GET /openapi.json).
 *
 * This file builds the server and wires its parts: hooks.ts (content types, error
 * handlers, access check, response log), refusal.ts (the one place a refusal is logged,
 * counted and sent), bodyLimits.ts, requestParsing.ts, and the routes by group —
 * submissionRoutes.ts, operatorRoutes.ts, readRoutes.ts.
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
  const refuse = refuserFor(metrics);
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

  installContentTypes(app);
  installErrorHandlers(app, refuse);
  installResponseLog(app, metrics);
  if (opts.tls) installAccessCheck(app, refuse, deployment);

  registerSubmissionRoutes(app, {
    service,
    refuse,
    partialLimit,
    queryLimit,
    rounds: opts.rounds,
  });
  registerOperatorRoutes(app, { service, refuse, rounds: opts.rounds, control: opts.control });
  registerReadRoutes(app, { service, metrics, openapi });

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
