import { writeFileSync } from 'node:fs';
import { readPrivateFile } from '../../crypto/privateFile.js';
import { ErrorCode, PrivaggError } from '../../errors.js';

/**
 * What an auditor needs to replay a scheme ledger (verifySchemeChain): the chain's content
 * key, the center's key blob and the ledger's public key. A secret file (0600, read back
 * only if it still is): whoever holds it can read every recovered value on the chain.
 */
export interface SchemeAuditorKeys {
  contentKey: Uint8Array;
  centerKeys: Uint8Array;
  ledgerPublicKey: Uint8Array;
}

const FORMAT = 'privagg/scheme-auditor/1';

export function writeSchemeAuditorKeys(path: string, k: SchemeAuditorKeys): void {
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  const body = {
    format: FORMAT,
    contentKey: hex(k.contentKey),
    centerKeys: hex(k.centerKeys),
    ledgerPublicKey: hex(k.ledgerPublicKey),
  };
  writeFileSync(path, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
}

export function readSchemeAuditorKeys(path: string): SchemeAuditorKeys {
  const text = readPrivateFile(path, {
    what: "scheme auditor's keys",
    howToGet: '`privagg demo --scheme <id>` writes them beside the ledger',
    exposure: 'may read every recovered value on the chain',
    ifLeaked: 'treat the chain contents as public',
  });
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new PrivaggError(ErrorCode.MALFORMED_DATA, `${path} is not JSON`);
  }
  const field = (k: string) => {
    const v = parsed[k];
    if (typeof v !== 'string' || !/^([0-9a-f]{2})+$/.test(v))
      throw new PrivaggError(ErrorCode.BAD_KEY, `${path}: ${k} is missing or not hex`);
    return Buffer.from(v, 'hex');
  };
  if (parsed.format !== FORMAT)
    throw new PrivaggError(
      ErrorCode.UNSUPPORTED_VERSION,
      `${path}: format ${String(parsed.format)}`,
    );
  return {
    contentKey: field('contentKey'),
    centerKeys: field('centerKeys'),
    ledgerPublicKey: field('ledgerPublicKey'),
  };
}
