import { z } from 'zod';
import { ErrorCode } from '../../errors.js';
import { ChainHeadJson } from '../chainHead.js';
import { MAX_NOTE_BYTES, MAX_PENDING_NOTES } from '../operatorNotes.js';
import { HttpErrorCode } from './errors.js';

/**
 * The API's bodies as zod schemas: requests are validated with them, the OpenAPI document
 * (openapi.ts) is generated from them, and the tests parse every response with them, so
 * the document, the validation and the answers cannot drift apart. Each schema registered
 * in `apiSchemas` becomes components.schemas.<id>.
 */
export const apiSchemas = z.registry<{ id: string; description?: string }>();

function named<T extends z.ZodType>(id: string, description: string, schema: T): T {
  apiSchemas.add(schema, { id, description });
  return schema;
}

/** Blocks one GET /v1/blocks page may hold. */
export const MAX_BLOCKS_PER_PAGE = 64;
export const DEFAULT_BLOCKS_PER_PAGE = 16;
/**
 * A page stops before the block that would take it past this many transactions (it always
 * holds at least one block), so a page of full blocks stays a few megabytes at most.
 */
export const MAX_TRANSACTIONS_PER_PAGE = 4096;

const u8 = z.int().min(0).max(255);
const u16 = z.int().min(0).max(65_535);
const u32 = z.int().min(0).max(4_294_967_295);
const count = z.int().min(0);
const hex32 = z.string().regex(/^[0-9a-f]{64}$/);
const hex64 = z.string().regex(/^[0-9a-f]{128}$/);

// ─── Requests ──────────────────────────────────────────────────────────────────────────

export const PartialSubmission = named(
  'PartialSubmission',
  'A gateway partial (the binary message of docs/WIRE.md) as standard base64. The same bytes may be sent raw as application/octet-stream.',
  z.strictObject({ partial: z.base64() }),
);

export const QuerySubmission = named(
  'QuerySubmission',
  'An OEM query (the 56-byte MAC-tagged message) as standard base64. The same bytes may be sent raw as application/octet-stream.',
  z.strictObject({ query: z.base64() }),
);

export const RestoreRequest = named(
  'RestoreRequest',
  'The IAN and round to restore from the partials stored so far (a round that has ended and has no final outcome yet).',
  z.strictObject({ ian: u16, round: u32 }),
);

export const EpochRequest = named(
  'EpochRequest',
  'The start of round 0, in ms since the Unix epoch: the ledger signs and publishes it.',
  z.strictObject({ epochMs: z.int().min(0).max(Number.MAX_SAFE_INTEGER) }),
);

export const NoteRequest = named(
  'NoteRequest',
  `An operator's note for the chain (e.g. "process gateway-0-2 exited (SIGKILL) and was restarted by privagg up"): at most ${MAX_NOTE_BYTES} bytes of UTF-8, printable characters only (no control, format or separator characters), some of them visible. Longer: 413 OVERSIZED_MESSAGE; otherwise unfit: 400 MALFORMED_MESSAGE.`,
  z.strictObject({ note: z.string() }),
);

/** A non-negative decimal integer in a query string or path (no sign, no exponent, no blanks). */
const decimal = z
  .string()
  .regex(/^[0-9]{1,15}$/, 'a non-negative decimal integer')
  .transform(Number);

export const BlocksPageQuery = z.strictObject({
  from: decimal.pipe(count).default(0),
  limit: decimal.pipe(z.int().min(1).max(MAX_BLOCKS_PER_PAGE)).default(DEFAULT_BLOCKS_PER_PAGE),
});

export const BlockHeightParams = z.strictObject({ height: decimal.pipe(count) });

// ─── Responses ─────────────────────────────────────────────────────────────────────────

export const API_ERROR_CODES = [
  ...Object.values(ErrorCode),
  ...Object.values(HttpErrorCode),
] as const;

export const ErrorResponse = named(
  'ErrorResponse',
  'A refusal: `code` is stable (switch on it), `message` is for people and may change.',
  z.strictObject({
    ok: z.literal(false),
    code: z.enum(API_ERROR_CODES),
    message: z.string(),
  }),
);

export const ChainHead = named(
  'ChainHead',
  'A signed chain head: the chain of `deployment` holds `height` blocks and block height − 1 hashes to `headHash` (32 zero bytes for the empty chain); `atMs` is that block\'s time. `signature` is the ledger key\'s Ed25519 signature of "privagg/v1/chain-head" ‖ lengthPrefixed(deployment, u64 height, headHash, u64 atMs, publicKey). Keep the newest one you are given; `privagg ledger verify <file> --head <file>` checks a chain against it.',
  ChainHeadJson,
);

export const PartialAccepted = named(
  'PartialAccepted',
  'The partial passed Add/Verify and is in a committed block; `head` is the signed head as of that block.',
  z.strictObject({
    ok: z.literal(true),
    ian: u16,
    round: u32,
    gateway: u8,
    attempt: u8,
    head: ChainHead,
  }),
);

export const EpochAccepted = named(
  'EpochAccepted',
  'The epoch was signed and published.',
  z.strictObject({ ok: z.literal(true), epochMs: z.int().min(0) }),
);

export const NoteAccepted = named(
  'NoteAccepted',
  `The note is pending: it goes on the chain with the next round status the ledger records (its \`notes\`), once. \`pending\` counts the notes waiting now; past ${MAX_PENDING_NOTES} the oldest is dropped unrecorded.`,
  z.strictObject({ ok: z.literal(true), pending: z.int().min(1).max(MAX_PENDING_NOTES) }),
);

const DimensionEstimate = named(
  'DimensionEstimate',
  'One dimension of a restored aggregate.',
  z.strictObject({
    estimate: z.number(),
    standardError: z.number(),
    rawSum: z.number(),
  }),
);

export const RestoreOutcome = named(
  'RestoreOutcome',
  'restored: the aggregate (and which gateways were used, corrected or left out); reconcile: the listed gateways must re-aggregate over `contributors` with `attempt`; failed: final for this IAN-round.',
  z.discriminatedUnion('status', [
    z.strictObject({
      status: z.literal('restored'),
      ian: u16,
      round: u32,
      attempt: u8,
      contributors: z.array(count),
      gateways: z.array(u8),
      liars: z.array(u8),
      excluded: z.array(u8),
      crossChecked: z.boolean(),
      estimates: z.array(DimensionEstimate),
    }),
    z.strictObject({
      status: z.literal('reconcile'),
      ian: u16,
      round: u32,
      attempt: u8,
      contributors: z.array(count),
      gateways: z.array(u8),
      dropped: z.array(z.strictObject({ device: count, missingAt: z.array(u8) })),
    }),
    z.strictObject({
      status: z.literal('failed'),
      ian: u16,
      round: u32,
      reason: z.string(),
    }),
  ]),
);

const Budget = z.strictObject({
  epsilon: z.string(),
  delta: z.string(),
});

export const QueryAnswer = named(
  'QueryAnswer',
  'A trend over [startRound, endRound] for `number` IANs, with the weighted query noise added. Budgets (`spent`, `remaining`) are exact rationals as text, e.g. "3/10".',
  z.strictObject({
    oem: z.string(),
    number: u16,
    startRound: u32,
    endRound: u32,
    ians: z.array(u16),
    dimensions: z.array(
      z.strictObject({
        index: z.int().min(0).max(7),
        name: z.string(),
        series: z.array(
          z.strictObject({
            round: u32,
            value: z.number(),
            standardError: z.number(),
            noiseStandardError: z.number(),
            coveredIans: z.array(u16),
            missingIans: z.array(u16),
          }),
        ),
        total: z.number(),
        totalStandardError: z.number(),
      }),
    ),
    spent: Budget.nullable(),
    remaining: Budget.nullable(),
    cached: z.boolean(),
  }),
);

export const QueryAccepted = named(
  'QueryAccepted',
  'The answer; the query and the answer are in a committed block, whose signed head is `head`.',
  z.strictObject({ ok: z.literal(true), answer: QueryAnswer, head: ChainHead }),
);

export const Transaction = named(
  'Transaction',
  'One ledger transaction; `time` is ms since the epoch (ledger clock); `body` is base64 of the raw message (partial, query) or of canonical JSON (answer, restore).',
  z.strictObject({
    kind: z.enum(['partial', 'query', 'answer', 'restore', 'round']),
    time: count,
    body: z.base64(),
    ian: u16.optional(),
    round: u32.optional(),
    gateway: u8.optional(),
  }),
);

export const Block = named(
  'Block',
  'A committed block. Hashes are SHA-256 (hex); `signature` is the node’s Ed25519 signature of `hash` (hex).',
  z.strictObject({
    height: count,
    previousHash: hex32,
    merkleRoot: hex32,
    time: count,
    hash: hex32,
    signature: hex64,
    transactions: z.array(Transaction),
  }),
);

export const BlockPage = named(
  'BlockPage',
  `Blocks from \`from\` on, at most \`limit\` of them and, past the first, no more than ${MAX_TRANSACTIONS_PER_PAGE} transactions in all: continue from \`from\` + the number of blocks returned. \`height\` is the number of committed blocks.`,
  z.strictObject({ height: count, from: count, blocks: z.array(Block) }),
);

export const VerifyReport = named(
  'VerifyReport',
  'The whole chain re-checked from block 0 (hashes, links, Merkle roots, signatures, replay), in a worker thread; requests made while one runs share its report. With ok = false the status is 409 and `code` is CHAIN_INVALID.',
  z.strictObject({
    ok: z.boolean(),
    code: z.literal(HttpErrorCode.CHAIN_INVALID).optional(),
    blocks: count,
    transactions: count,
    firstBad: z.strictObject({ height: count, reason: z.string() }).optional(),
    contentsChecked: z
      .boolean()
      .optional()
      .describe('True when the sealed partials and restores were opened and replayed.'),
    signaturesChecked: z
      .boolean()
      .optional()
      .describe("True when every partial's and query's signature was checked."),
    liars: z
      .array(
        z.strictObject({
          ian: count,
          round: count,
          gateway: count,
          attempt: count,
          partialHeight: count,
          namedAt: count,
          signature: z.string(),
        }),
      )
      .optional()
      .describe(
        'Each gateway a restore named as a liar, with the block holding its signed partial.',
      ),
    elapsedMs: z.number().min(0),
  }),
);

export const LedgerHealth = named(
  'LedgerHealth',
  'Liveness of the ledger node (no paths or configuration); the status is 503 when ok is false.',
  z.strictObject({
    ok: z.boolean(),
    height: count,
    pendingTransactions: count,
  }),
);
