import { existsSync, writeFileSync } from 'node:fs';
import { ed25519KeyPair } from '../crypto/ed25519.js';
import { readPrivateFile } from '../crypto/privateFile.js';
import { ErrorCode, PrivaggError } from '../errors.js';

/** Where the embedded ledger node's signing key may come from (EmbeddedLedgerOptions). */
export interface NodeKeySource {
  file: string;
  signingKey?: Uint8Array;
  nodeKey?: Uint8Array;
}

/**
 * The 32-byte Ed25519 seed the node signs blocks and chain heads with: `signingKey`, or
 * `nodeKey` (its older name; both given must agree), else `<file>.key`, created on first
 * open (tests and stand-alone files).
 */
export function nodeSigningSeed(source: NodeKeySource): Uint8Array {
  if (
    source.signingKey &&
    source.nodeKey &&
    !Buffer.from(source.signingKey).equals(Buffer.from(source.nodeKey))
  ) {
    throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, 'signingKey and nodeKey differ');
  }
  return source.signingKey ?? source.nodeKey ?? loadOrCreateNodeKey(`${source.file}.key`);
}

function loadOrCreateNodeKey(path: string): Buffer {
  if (existsSync(path)) {
    // With the check master.key gets: a node key others may read signs blocks for them.
    const hex = readPrivateFile(path, {
      what: 'ledger node key',
      howToGet: 'the ledger creates it on first open',
      exposure: 'may read it and sign blocks as this ledger',
      ifLeaked: 'start a new chain with a new key',
    }).trim();
    if (!/^[0-9a-f]{64}$/.test(hex))
      throw new PrivaggError(ErrorCode.BAD_KEY, `${path} is not a 32-byte hex key`);
    return Buffer.from(hex, 'hex');
  }
  const seed = ed25519KeyPair().privateKey;
  writeFileSync(path, `${seed.toString('hex')}\n`, { mode: 0o600 });
  return seed;
}
