import { utf8 } from '../../crypto/bytes.js';
import { ErrorCode, PrivaggError } from '../../errors.js';
import type { Population } from '../../schemes/scheme.js';
import { canonicalJson } from '../canonicalJson.js';
import type { SqliteBlockStore } from '../sqliteStore.js';

/**
 * What a scheme ledger file records about itself, in the block store's meta table (next
 * to the store's own `format`): enough for an auditor to rebuild the center from the
 * registry and replay the chain, and for a ledger to refuse a file of another scheme.
 *
 *   scheme.format       SCHEME_LEDGER_FORMAT (written last: a file without it holds no record)
 *   scheme.id           the scheme's registry id (UTF-8)
 *   scheme.params       the raw parameters, canonical JSON
 *   scheme.population   groups, devices per group, dimensions, canonical JSON
 *   scheme.public_setup the TA's public setup, as issued
 *   node_public_key     the ledger's Ed25519 public key (the key the embedded ledger uses too)
 */
/**
 * 2: a pending recovery records its envelopes' addressees, channels and SHA-256s (`sent`,
 * bodies.ts) besides their count, so a format-1 chain with a pending phase would not
 * replay to what it recorded: it is refused with UNSUPPORTED_VERSION instead.
 */
export const SCHEME_LEDGER_FORMAT = '2';

export interface SchemeRecord {
  readonly schemeId: string;
  readonly params: unknown;
  readonly population: Population;
  readonly publicSetup: Uint8Array;
  readonly publicKey: Uint8Array;
}

const FIELDS = {
  'scheme.id': (r: SchemeRecord) => utf8(r.schemeId),
  'scheme.params': (r: SchemeRecord) => utf8(canonicalJson(r.params ?? {})),
  'scheme.population': (r: SchemeRecord) => utf8(canonicalJson(r.population)),
  'scheme.public_setup': (r: SchemeRecord) => Buffer.from(r.publicSetup),
  node_public_key: (r: SchemeRecord) => Buffer.from(r.publicKey),
} as const;

/** The record a file holds; undefined when it holds none (a new file, or not a scheme ledger). */
export function readSchemeRecord(store: SqliteBlockStore): SchemeRecord | undefined {
  const format = store.getMeta('scheme.format')?.toString('utf8');
  if (format === undefined) return undefined;
  if (format !== SCHEME_LEDGER_FORMAT)
    throw new PrivaggError(
      ErrorCode.UNSUPPORTED_VERSION,
      `scheme ledger format ${format}, expected ${SCHEME_LEDGER_FORMAT}`,
    );
  const get = (key: keyof typeof FIELDS) => {
    const v = store.getMeta(key);
    if (!v) throw new PrivaggError(ErrorCode.MALFORMED_DATA, `the scheme ledger has no ${key}`);
    return v;
  };
  return {
    schemeId: get('scheme.id').toString('utf8'),
    params: JSON.parse(get('scheme.params').toString('utf8')) as unknown,
    population: JSON.parse(get('scheme.population').toString('utf8')) as Population,
    publicSetup: get('scheme.public_setup'),
    publicKey: get('node_public_key'),
  };
}

/**
 * Records `want` in a file that holds no record and no blocks; in a file that holds one,
 * checks it is `want`, naming what differs. A file with blocks but no scheme record (the
 * MaaS embedded ledger's, say) is refused.
 */
export function recordOrCheck(store: SqliteBlockStore, want: SchemeRecord): void {
  const fields = Object.entries(FIELDS) as [keyof typeof FIELDS, (r: SchemeRecord) => Buffer][];
  if (store.getMeta('scheme.format') === undefined) {
    if (store.count() > 0 || store.getMeta('deployment'))
      throw new PrivaggError(
        ErrorCode.INVALID_ARGUMENT,
        `ledger file ${store.file} is not a scheme ledger (it holds blocks but no scheme record)`,
      );
    for (const [key, encode] of fields) store.setMeta(key, encode(want));
    store.setMeta('scheme.format', utf8(SCHEME_LEDGER_FORMAT));
    return;
  }
  const have = readSchemeRecord(store)!;
  const differ = fields.filter(([, encode]) => !encode(have).equals(encode(want))).map(([k]) => k);
  if (differ.length > 0) {
    const what =
      have.schemeId === want.schemeId
        ? `another configuration of '${want.schemeId}' (${differ.join(', ')} differ)`
        : `scheme '${have.schemeId}', not '${want.schemeId}'`;
    throw new PrivaggError(
      differ.includes('node_public_key') && differ.length === 1
        ? ErrorCode.BAD_KEY
        : ErrorCode.INVALID_ARGUMENT,
      `ledger file ${store.file} was recorded for ${what}`,
      { file: store.file, differ },
    );
  }
}
