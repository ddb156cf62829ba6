import { ErrorCode, PrivaggError } from '../errors.js';
import { type Address, addressKey } from './scheme.js';

/**
 * A role's key blob as the TA issues it: canonical JSON naming the scheme and the address
 * it was issued to, with the secrets in hex. A role built from a blob checks both, so a
 * blob handed to the wrong role (or the wrong scheme) is refused with BAD_KEY instead of
 * producing messages nobody can verify.
 */
export interface KeyBlob {
  readonly scheme: string;
  readonly holder: string;
  readonly keys: Readonly<Record<string, string>>;
}

export function encodeKeyBlob(
  scheme: string,
  holder: Address,
  keys: Readonly<Record<string, Uint8Array>>,
): Uint8Array {
  const hex: Record<string, string> = {};
  for (const name of Object.keys(keys).sort()) hex[name] = Buffer.from(keys[name]!).toString('hex');
  return Buffer.from(JSON.stringify({ scheme, holder: addressKey(holder), keys: hex }), 'utf8');
}

/** The secrets of a blob issued for `holder` under `scheme`; BAD_KEY otherwise. */
export function decodeKeyBlob(
  scheme: string,
  holder: Address,
  blob: Uint8Array,
): Readonly<Record<string, Buffer>> {
  let parsed: KeyBlob;
  try {
    parsed = JSON.parse(Buffer.from(blob).toString('utf8')) as KeyBlob;
  } catch {
    throw new PrivaggError(ErrorCode.BAD_KEY, 'a key blob must be JSON');
  }
  if (parsed?.scheme !== scheme || parsed.holder !== addressKey(holder)) {
    throw new PrivaggError(
      ErrorCode.BAD_KEY,
      `this key blob was issued for ${String(parsed?.holder)} of scheme ${String(parsed?.scheme)}, not ${addressKey(holder)} of ${scheme}`,
    );
  }
  const out: Record<string, Buffer> = {};
  for (const [name, hex] of Object.entries(parsed.keys ?? {})) {
    if (typeof hex !== 'string' || !/^([0-9a-f]{2})*$/.test(hex))
      throw new PrivaggError(ErrorCode.BAD_KEY, `key ${name} is not hex`);
    out[name] = Buffer.from(hex, 'hex');
  }
  return out;
}

/** One named key of a decoded blob; BAD_KEY if the TA did not put it there. */
export function keyOf(keys: Readonly<Record<string, Buffer>>, name: string): Buffer {
  const k = keys[name];
  if (!k) throw new PrivaggError(ErrorCode.BAD_KEY, `the key blob holds no ${name}`);
  return k;
}
