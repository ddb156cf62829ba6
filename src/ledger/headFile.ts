import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { ErrorCode, PrivaggError } from '../errors.js';
import {
  chainHeadFromJson,
  chainHeadToJson,
  type SignedChainHead,
  verifyChainHead,
} from './chainHead.js';

/**
 * The ledger's own copy of its newest signed head, `<file>.head` beside the SQLite file,
 * and the comparison of a chain with a head (used at start-up and by
 * `privagg ledger verify --head`).
 *
 * The file is replaced atomically: the new head is written to a temporary file in the
 * same directory, fsynced, renamed over the old one, and the directory is fsynced, so
 * after a crash the file holds either the old head or the new one, never a torn mix.
 */
export const headFileOf = (ledgerFile: string): string => `${ledgerFile}.head`;

/** Every file that belongs to a ledger: remove them all to start a new chain at `file`. */
export const ledgerFiles = (file: string): string[] => [
  file,
  `${file}-wal`,
  `${file}-shm`,
  `${file}.key`,
  headFileOf(file),
];

export function removeLedgerFiles(file: string): void {
  for (const f of ledgerFiles(file)) rmSync(f, { force: true });
}

export function writeHeadFile(path: string, head: SignedChainHead): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    writeSync(fd, `${JSON.stringify(chainHeadToJson(head), null, 2)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  // The rename is durable only once the directory entry is.
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** The head in `path`; undefined when there is no such file; MALFORMED_DATA when it is not a head. */
export function readHeadFile(path: string): SignedChainHead | undefined {
  if (!existsSync(path)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new PrivaggError(ErrorCode.MALFORMED_DATA, `${path} is not JSON: ${String(e)}`);
  }
  try {
    return chainHeadFromJson(json);
  } catch (e) {
    throw new PrivaggError(
      ErrorCode.MALFORMED_DATA,
      `${path}: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

export type HeadCheck =
  | { ok: true }
  | {
      ok: false;
      /**
       * signature: not signed by the expected key (or forged); deployment: another
       * deployment's head; behind: the chain is shorter than the head; fork: the chain
       * holds another block at the head's height.
       */
      problem: 'signature' | 'deployment' | 'behind' | 'fork';
      message: string;
    };

/** The part of a block store a head check reads. */
export interface HeadCheckedChain {
  count(): number;
  blockHash(height: number): Buffer | undefined;
}

/**
 * Does `chain` hold what `head` says was acknowledged? It must be signed by `publicKey`,
 * name `deployment`, and the chain must have at least `head.height` blocks, the one at
 * `head.height − 1` hashing to `head.headHash`. A longer chain is fine (blocks committed
 * after the head was written).
 */
export function checkChainAgainstHead(
  chain: HeadCheckedChain,
  head: SignedChainHead,
  expected: { publicKey: Uint8Array; deployment: string },
): HeadCheck {
  if (!verifyChainHead(head, expected.publicKey)) {
    return {
      ok: false,
      problem: 'signature',
      message: `the head is not signed by the ledger key ${Buffer.from(expected.publicKey).toString('hex')}`,
    };
  }
  if (head.deployment !== expected.deployment) {
    return {
      ok: false,
      problem: 'deployment',
      message: `the head is for deployment ${JSON.stringify(head.deployment)}, the chain for ${JSON.stringify(expected.deployment)}`,
    };
  }
  const blocks = chain.count();
  if (blocks < head.height) {
    return {
      ok: false,
      problem: 'behind',
      message: `the chain holds ${blocks} block(s) but the signed head says ${head.height} were acknowledged: ${head.height - blocks} acknowledged block(s) are missing (a file copied without its WAL, a torn WAL, or a truncated chain)`,
    };
  }
  if (head.height > 0) {
    const hash = chain.blockHash(head.height - 1);
    if (!hash?.equals(head.headHash)) {
      return {
        ok: false,
        problem: 'fork',
        message: `block ${head.height - 1} hashes to ${hash?.toString('hex') ?? '(none)'} but the signed head says ${head.headHash.toString('hex')}: the chain was rewritten (a fork)`,
      };
    }
  }
  return { ok: true };
}
