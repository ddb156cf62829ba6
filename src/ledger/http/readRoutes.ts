import type { FastifyInstance } from 'fastify';
import { chainHeadToJson } from '../chainHead.js';
import type { LedgerBlock, LedgerService } from '../service.js';
import { ApiError, HttpErrorCode } from './errors.js';
import { type HttpMetrics, METRICS_CONTENT_TYPE } from './metrics.js';
import { routeOf } from './refusal.js';
import { parseParams, printable } from './requestParsing.js';
import { BlockHeightParams, BlocksPageQuery, MAX_TRANSACTIONS_PER_PAGE } from './schemas.js';
import { blockView } from './views.js';

/**
 * The routes that read and change nothing: the chain (GET /v1/head, /v1/blocks,
 * /v1/blocks/:height, /v1/verify) and the ledger's state (GET /v1/health, /metrics,
 * /openapi.json). Reads are paged and cheap: /v1/blocks serves at most MAX_BLOCKS_PER_PAGE
 * blocks and about MAX_TRANSACTIONS_PER_PAGE transactions; /v1/verify runs off the event
 * loop (the service's worker); /v1/health says only ok, height and pending.
 */
export interface ReadRoutes {
  service: LedgerService;
  metrics: HttpMetrics;
  /** What GET /openapi.json serves. */
  openapi: Record<string, unknown>;
}

export function registerReadRoutes(app: FastifyInstance, routes: ReadRoutes): void {
  const { service, metrics, openapi } = routes;

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
}
