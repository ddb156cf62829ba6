import { z } from 'zod';
import { type ApiErrorCode, STATUS_OF_CODE, STATUS_OF_HTTP_CODE, statusOf } from './errors.js';
import { apiSchemas, DEFAULT_BLOCKS_PER_PAGE, MAX_BLOCKS_PER_PAGE } from './schemas.js';

/**
 * The OpenAPI 3.1 document of the ledger API, generated from the zod schemas the server
 * validates with (schemas.ts) and the status table it answers with (errors.ts). It is
 * served at GET /openapi.json and checked in as docs/openapi.json; a test keeps the two
 * equal (regenerate with `PRIVAGG_WRITE_OPENAPI=1 npx vitest run test/ledger/http/openapi.test.ts`).
 */
export const API_VERSION = '1.0.0';

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });
const json = (schema: unknown) => ({ 'application/json': { schema } });

/** Error responses of a route, grouped by the status each code maps to. */
function errorResponses(codes: readonly ApiErrorCode[]): Record<string, unknown> {
  const byStatus = new Map<number, ApiErrorCode[]>();
  for (const code of codes) {
    const s = statusOf(code);
    byStatus.set(s, [...(byStatus.get(s) ?? []), code]);
  }
  const out: Record<string, unknown> = {};
  for (const [status, list] of [...byStatus].sort((a, b) => a[0] - b[0])) {
    out[String(status)] = {
      description: `code: ${list.join(', ')}`,
      content: json(ref('ErrorResponse')),
    };
  }
  return out;
}

const binaryOrJson = (jsonSchemaId: string, what: string) => ({
  required: true,
  description: `The ${what} bytes, raw (application/octet-stream) or base64 in JSON.`,
  content: {
    'application/octet-stream': {
      schema: { type: 'string', contentMediaType: 'application/octet-stream' },
    },
    'application/json': { schema: ref(jsonSchemaId) },
  },
});

const SUBMISSION_CODES = [
  'MALFORMED_MESSAGE',
  'UNSUPPORTED_VERSION',
  'BAD_MAC',
  'UNKNOWN_SENDER',
  'REPLAY',
  'OVERSIZED_MESSAGE',
  'UNSUPPORTED_MEDIA_TYPE',
  'STALE_TIMESTAMP',
  'WRONG_ROUND',
  'INTERNAL',
] as const satisfies readonly ApiErrorCode[];

const integerParam = (
  name: string,
  where: 'query' | 'path',
  description: string,
  schema: Record<string, unknown>,
) => ({
  name,
  in: where,
  required: where === 'path',
  description,
  schema: { type: 'integer', minimum: 0, ...schema },
});

const STATUS_TABLE_TEXT = [
  'Every refusal is `{ ok: false, code, message }` with a stable `code`; the status follows',
  'from the code alone (`x-error-status` lists the whole table):',
  '',
  '- 400 the bytes or JSON do not decode, or a parameter is out of range',
  '- 401 a MAC/signature does not verify (BAD_MAC), or an operator route lacks its token',
  '- 403 not allowed: UNKNOWN_SENDER, ACCESS_DENIED, BUDGET_EXCEEDED (403, not 429: a spent',
  '  privacy budget never comes back, so there is nothing to retry)',
  '- 404 unknown route (NOT_FOUND) or block (BLOCK_NOT_FOUND)',
  '- 409 conflicts with what the ledger holds: REPLAY, CONTRIBUTOR_MISMATCH; GET /v1/verify',
  '  answers 409 CHAIN_INVALID when the chain does not verify (the API works; the data is bad)',
  '- 413 OVERSIZED_MESSAGE (over the body limit or the wire format maximum)',
  '- 415 UNSUPPORTED_MEDIA_TYPE',
  '- 422 authentic but not acceptable now: STALE_TIMESTAMP, WRONG_ROUND',
  '- 500 INTERNAL: a bug or a store failure, never bad input; no details are returned',
  '',
  'A refused request changes nothing in the ledger and is logged exactly once.',
].join('\n');

export function buildOpenApiDocument(): Record<string, unknown> {
  const generated = z.toJSONSchema(apiSchemas, {
    uri: (id) => `#/components/schemas/${id}`,
    metadata: apiSchemas,
  }) as { schemas: Record<string, Record<string, unknown>> };
  const schemas: Record<string, unknown> = {};
  for (const id of Object.keys(generated.schemas).sort()) {
    const { $schema: _s, $id: _i, ...schema } = generated.schemas[id]!;
    schemas[id] = schema;
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'privagg ledger API',
      version: API_VERSION,
      description: `The MaaS ledger node over HTTP: gateways submit partials, OEMs submit queries, operators restore rounds and read the chain.\n\n${STATUS_TABLE_TEXT}`,
    },
    'x-error-status': { ...STATUS_OF_CODE, ...STATUS_OF_HTTP_CODE },
    paths: {
      '/v1/partials': {
        post: {
          operationId: 'submitPartial',
          summary: 'Add (+Verify) a gateway partial',
          requestBody: binaryOrJson('PartialSubmission', 'gateway partial'),
          responses: {
            '202': {
              description: 'Accepted; committed in the next block.',
              content: json(ref('PartialAccepted')),
            },
            ...errorResponses([...SUBMISSION_CODES, 'SHARE_OUT_OF_RANGE', 'CONTRIBUTOR_MISMATCH']),
          },
        },
      },
      '/v1/queries': {
        post: {
          operationId: 'submitQuery',
          summary: 'An OEM trend query (MAC-authenticated, access-checked, budgeted)',
          requestBody: binaryOrJson('QuerySubmission', 'query'),
          responses: {
            '200': { description: 'The answer.', content: json(ref('QueryAccepted')) },
            ...errorResponses([...SUBMISSION_CODES, 'ACCESS_DENIED', 'BUDGET_EXCEEDED']),
          },
        },
      },
      '/v1/restore': {
        post: {
          operationId: 'restoreRound',
          summary: 'Restore an IAN-round from the partials stored so far',
          description:
            'An operator action: restoring a round early makes it final. When the server is started with an operator token, the request must carry it as a bearer token.',
          security: [{}, { operatorToken: [] }],
          requestBody: { required: true, content: json(ref('RestoreRequest')) },
          responses: {
            '200': {
              description: 'The outcome (restored, reconcile or failed).',
              content: json(ref('RestoreOutcome')),
            },
            ...errorResponses([
              'MALFORMED_MESSAGE',
              'UNAUTHORIZED',
              'OVERSIZED_MESSAGE',
              'UNSUPPORTED_MEDIA_TYPE',
              'INTERNAL',
            ]),
          },
        },
      },
      '/v1/blocks': {
        get: {
          operationId: 'listBlocks',
          summary: 'Committed blocks [from, from + limit)',
          parameters: [
            integerParam('from', 'query', 'First height (default 0).', { default: 0 }),
            integerParam('limit', 'query', `At most ${MAX_BLOCKS_PER_PAGE} blocks.`, {
              minimum: 1,
              maximum: MAX_BLOCKS_PER_PAGE,
              default: DEFAULT_BLOCKS_PER_PAGE,
            }),
          ],
          responses: {
            '200': { description: 'A page of blocks.', content: json(ref('BlockPage')) },
            ...errorResponses(['INVALID_ARGUMENT', 'INTERNAL']),
          },
        },
      },
      '/v1/blocks/{height}': {
        get: {
          operationId: 'getBlock',
          summary: 'One block by height',
          parameters: [integerParam('height', 'path', 'Block height (0 is the first block).', {})],
          responses: {
            '200': { description: 'The block.', content: json(ref('Block')) },
            ...errorResponses(['INVALID_ARGUMENT', 'BLOCK_NOT_FOUND', 'INTERNAL']),
          },
        },
      },
      '/v1/verify': {
        get: {
          operationId: 'verifyChain',
          summary: 'Re-verify the whole chain',
          responses: {
            '200': { description: 'The chain verifies.', content: json(ref('VerifyReport')) },
            '409': {
              description: 'code: CHAIN_INVALID — `firstBad` names the first bad block.',
              content: json(ref('VerifyReport')),
            },
            ...errorResponses(['INTERNAL']),
          },
        },
      },
      '/v1/health': {
        get: {
          operationId: 'health',
          summary: 'Ledger liveness',
          responses: {
            '200': { description: 'Healthy.', content: json(ref('LedgerHealth')) },
            '503': { description: 'Unhealthy.', content: json(ref('LedgerHealth')) },
          },
        },
      },
      '/metrics': {
        get: {
          operationId: 'metrics',
          summary: 'Prometheus text exposition (format 0.0.4)',
          responses: {
            '200': {
              description:
                'privagg_ledger_* (accepted, answered, rejected by code, blocks, transactions, pending), privagg_http_* (requests, refusals, durations) and process metrics.',
              content: { 'text/plain; version=0.0.4': { schema: { type: 'string' } } },
            },
          },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'openapi',
          summary: 'This document',
          responses: {
            '200': {
              description: 'The OpenAPI 3.1 document (equal to docs/openapi.json).',
              content: json({ type: 'object' }),
            },
          },
        },
      },
    },
    components: {
      schemas,
      securitySchemes: {
        operatorToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'The operator token given to startLedgerApi/buildLedgerApi, if any.',
        },
      },
    },
  };
}
