import { z } from 'zod';
import { MAX_PENDING_NOTES } from '../operatorNotes.js';
import { ROUTE_ROLES } from './access.js';
import { type ApiErrorCode, STATUS_OF_CODE, STATUS_OF_HTTP_CODE, statusOf } from './errors.js';
import {
  apiSchemas,
  DEFAULT_BLOCKS_PER_PAGE,
  MAX_BLOCKS_PER_PAGE,
  MAX_TRANSACTIONS_PER_PAGE,
} from './schemas.js';

/**
 * The OpenAPI 3.1 document of the ledger API, generated from the zod schemas the server
 * validates with (schemas.ts) and the status table it answers with (errors.ts). It is
 * served at GET /openapi.json and checked in as docs/openapi.json; a test keeps the two
 * equal (regenerate with `PRIVAGG_WRITE_OPENAPI=1 npx vitest run test/ledger/http/openapi.test.ts`).
 */
export const API_VERSION = '2.1.0';

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

/** Every route: the TLS client certificate is missing, names no identity, or has another role. */
const ACCESS_CODES = ['UNAUTHORIZED', 'ACCESS_DENIED'] as const satisfies readonly ApiErrorCode[];

/** Who may call a route, for its description (access.ts is the table the server uses). */
function rolesOf(method: string, path: string): string {
  const allowed = ROUTE_ROLES[`${method} ${path.replace(/\{(\w+)\}/g, ':$1')}`];
  return allowed === 'any' || allowed === undefined
    ? 'Any authenticated role.'
    : `Roles: ${allowed.join(', ')} (client certificate OU).`;
}

const SUBMISSION_CODES = [
  ...ACCESS_CODES,
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
  '- 401 a MAC/signature does not verify (BAD_MAC), or no verified client certificate (UNAUTHORIZED)',
  '- 403 not allowed: ACCESS_DENIED (the certificate names no identity of the deployment, its',
  "  role may not call the route, or a gateway posts another gateway's partial, an OEM",
  "  another OEM's query), UNKNOWN_SENDER, BUDGET_EXCEEDED (403, not 429: a spent",
  '  privacy budget never comes back, so there is nothing to retry)',
  '- 404 unknown route (NOT_FOUND) or block (BLOCK_NOT_FOUND)',
  '- 409 conflicts with what the ledger holds: REPLAY, CONTRIBUTOR_MISMATCH; GET /v1/verify',
  '  answers 409 CHAIN_INVALID when the chain does not verify (the API works; the data is bad)',
  '- 413 OVERSIZED_MESSAGE (over the body limit: the exact size of the message the deployment allows)',
  '- 415 UNSUPPORTED_MEDIA_TYPE',
  '- 422 authentic but not acceptable now: STALE_TIMESTAMP, WRONG_ROUND (a round not ended, already',
  '  final, or no longer held)',
  '- 500 INTERNAL: a bug or a store failure, never bad input; no details are returned',
  '',
  'A refused request changes nothing in the ledger and is logged exactly once.',
  '',
  "Transport: HTTPS with client certificates issued by the deployment's CA; the certificate's",
  "OU is the caller's role and its CN the identity (`<dep>.gw-<v>-<l>`, `<dep>.oem-<o>`,",
  '`<dep>.operator`, `<dep>.auditor`, …). Each route names the roles it takes. A ledger started',
  'with `insecure: true` serves plain HTTP with every route open, and says so in its log.',
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
      description: `The MaaS ledger node over HTTPS: gateways submit partials, OEMs submit queries, operators restore rounds, start epochs and note events on the chain, auditors read and verify the chain.\n\n${STATUS_TABLE_TEXT}`,
    },
    security: [{ clientCertificate: [] }],
    'x-error-status': { ...STATUS_OF_CODE, ...STATUS_OF_HTTP_CODE },
    paths: {
      '/v1/partials': {
        post: {
          operationId: 'submitPartial',
          summary: 'Add (+Verify) a gateway partial',
          description: `${rolesOf('POST', '/v1/partials')} A gateway may post only partials whose header names its own IAN and gateway index. The body limit is the exact size of this deployment's partials (in base64 JSON); a partial of another length is refused before any cryptography.`,
          requestBody: binaryOrJson('PartialSubmission', 'gateway partial'),
          responses: {
            '202': {
              description: 'Accepted: in a committed block, whose signed head the answer carries.',
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
          description: `${rolesOf('POST', '/v1/queries')} An OEM may query only under its own OEM index.`,
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
          description: `${rolesOf('POST', '/v1/restore')} Restoring makes a round final, so only a round that has ended, is still held (the ledger keeps the newest rounds' state) and has no final outcome yet is taken; repeating a request records nothing new.`,
          requestBody: { required: true, content: json(ref('RestoreRequest')) },
          responses: {
            '200': {
              description: 'The outcome (restored, reconcile or failed).',
              content: json(ref('RestoreOutcome')),
            },
            ...errorResponses([
              ...ACCESS_CODES,
              'MALFORMED_MESSAGE',
              'INVALID_ARGUMENT',
              'WRONG_ROUND',
              'OVERSIZED_MESSAGE',
              'UNSUPPORTED_MEDIA_TYPE',
              'INTERNAL',
            ]),
          },
        },
      },
      '/v1/epoch': {
        post: {
          operationId: 'startEpoch',
          summary: 'Start the rounds: the ledger signs and publishes the epoch',
          description: `${rolesOf('POST', '/v1/epoch')} 404 NOT_FOUND when this ledger process does not publish epochs.`,
          requestBody: { required: true, content: json(ref('EpochRequest')) },
          responses: {
            '200': { description: 'Published.', content: json(ref('EpochAccepted')) },
            ...errorResponses([
              ...ACCESS_CODES,
              'NOT_FOUND',
              'MALFORMED_MESSAGE',
              'INVALID_ARGUMENT',
              'OVERSIZED_MESSAGE',
              'UNSUPPORTED_MEDIA_TYPE',
              'INTERNAL',
            ]),
          },
        },
      },
      '/v1/notes': {
        post: {
          operationId: 'addNote',
          summary: "An operator's note, recorded with the next round status",
          description: `${rolesOf('POST', '/v1/notes')} The note is not a transaction of its own: it waits (in memory, at most ${MAX_PENDING_NOTES}, the oldest dropped past that) and goes on the chain in the \`notes\` of the next round status the ledger records. \`privagg up\` notes each role process it restarts. 404 NOT_FOUND when this ledger records no round statuses.`,
          requestBody: { required: true, content: json(ref('NoteRequest')) },
          responses: {
            '202': { description: 'Pending.', content: json(ref('NoteAccepted')) },
            ...errorResponses([
              ...ACCESS_CODES,
              'NOT_FOUND',
              'MALFORMED_MESSAGE',
              'OVERSIZED_MESSAGE',
              'UNSUPPORTED_MEDIA_TYPE',
              'INTERNAL',
            ]),
          },
        },
      },
      '/v1/head': {
        get: {
          operationId: 'chainHead',
          summary: 'The signed head of the committed chain',
          description: rolesOf('GET', '/v1/head'),
          responses: {
            '200': { description: 'The newest signed head.', content: json(ref('ChainHead')) },
            ...errorResponses([...ACCESS_CODES, 'INTERNAL']),
          },
        },
      },
      '/v1/blocks': {
        get: {
          operationId: 'listBlocks',
          summary: 'A page of committed blocks from `from` on',
          description: `${rolesOf('GET', '/v1/blocks')} At most ${MAX_BLOCKS_PER_PAGE} blocks and, past the first, ${MAX_TRANSACTIONS_PER_PAGE} transactions a page.`,
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
            ...errorResponses([...ACCESS_CODES, 'INVALID_ARGUMENT', 'INTERNAL']),
          },
        },
      },
      '/v1/blocks/{height}': {
        get: {
          operationId: 'getBlock',
          summary: 'One block by height',
          description: rolesOf('GET', '/v1/blocks/{height}'),
          parameters: [integerParam('height', 'path', 'Block height (0 is the first block).', {})],
          responses: {
            '200': { description: 'The block.', content: json(ref('Block')) },
            ...errorResponses([...ACCESS_CODES, 'INVALID_ARGUMENT', 'BLOCK_NOT_FOUND', 'INTERNAL']),
          },
        },
      },
      '/v1/verify': {
        get: {
          operationId: 'verifyChain',
          summary: 'Re-verify the whole chain',
          description: `${rolesOf('GET', '/v1/verify')} Runs in a worker thread over the file on disk, from block 0; requests made while one runs share its report.`,
          responses: {
            '200': { description: 'The chain verifies.', content: json(ref('VerifyReport')) },
            '409': {
              description: 'code: CHAIN_INVALID — `firstBad` names the first bad block.',
              content: json(ref('VerifyReport')),
            },
            ...errorResponses([...ACCESS_CODES, 'INTERNAL']),
          },
        },
      },
      '/v1/health': {
        get: {
          operationId: 'health',
          summary: 'Ledger liveness',
          description: rolesOf('GET', '/v1/health'),
          responses: {
            '200': { description: 'Healthy.', content: json(ref('LedgerHealth')) },
            '503': { description: 'Unhealthy.', content: json(ref('LedgerHealth')) },
            ...errorResponses([...ACCESS_CODES]),
          },
        },
      },
      '/metrics': {
        get: {
          operationId: 'metrics',
          summary: 'Prometheus text exposition (format 0.0.4)',
          description: rolesOf('GET', '/metrics'),
          responses: {
            '200': {
              description:
                'privagg_ledger_* (accepted, answered, rejected by code, blocks, transactions, pending, retained per-round entries), privagg_http_* (requests, refusals, durations) and process metrics (resident memory).',
              content: { 'text/plain; version=0.0.4': { schema: { type: 'string' } } },
            },
            ...errorResponses([...ACCESS_CODES]),
          },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'openapi',
          summary: 'This document',
          description: rolesOf('GET', '/openapi.json'),
          responses: {
            '200': {
              description: 'The OpenAPI 3.1 document (equal to docs/openapi.json).',
              content: json({ type: 'object' }),
            },
            ...errorResponses([...ACCESS_CODES]),
          },
        },
      },
    },
    components: {
      schemas,
      securitySchemes: {
        clientCertificate: {
          type: 'mutualTLS',
          description:
            "A client certificate issued by the deployment's CA: OU = role, CN = identity (none in an insecure deployment).",
        },
      },
    },
  };
}
