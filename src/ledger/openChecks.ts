import { ErrorCode, PrivaggError } from '../errors.js';
import {
  type DeploymentConfig,
  decodeDeploymentConfig,
  encodeDeploymentConfig,
} from './deploymentConfig.js';
import { checkChainAgainstHead, readHeadFile } from './headFile.js';
import type { SqliteBlockStore } from './sqliteStore.js';

/** What the embedded ledger node opens its file as. */
export interface LedgerFileClaim {
  file: string;
  headFile: string;
  /** The node's Ed25519 public key: the one that signs this file's blocks and heads. */
  publicKey: Buffer;
  config: DeploymentConfig;
  /** See EmbeddedLedgerOptions.adoptChainWithoutHead. */
  adoptChainWithoutHead?: boolean;
}

/**
 * The checks before anything is written to or replayed from a ledger file: it was signed
 * by this node's key, it belongs to this deployment configuration, and it still holds
 * everything its head file says was acknowledged. Then a new file is stamped with the key
 * and the configuration, so no other node or deployment appends to it later.
 */
export function claimLedgerFile(store: SqliteBlockStore, claim: LedgerFileClaim): void {
  const storedKey = store.getMeta('node_public_key');
  if (storedKey && !storedKey.equals(claim.publicKey)) {
    throw new PrivaggError(
      ErrorCode.BAD_KEY,
      'this node key is not the one that signed the ledger file',
    );
  }
  const configBytes = encodeDeploymentConfig(claim.config);
  const storedConfig = store.getMeta('deployment');
  if (storedConfig && !storedConfig.equals(configBytes)) {
    // Reading it back validates it; a different deployment must not append to this chain.
    decodeDeploymentConfig(storedConfig);
    throw new PrivaggError(
      ErrorCode.INVALID_ARGUMENT,
      'the ledger file belongs to another deployment configuration',
    );
  }
  // Before anything is written or replayed: does the file still hold everything it
  // acknowledged? (A file copied without its WAL may not even hold its tables yet.)
  checkHead(store, claim);
  if (!storedKey) store.setMeta('node_public_key', claim.publicKey);
  if (!storedConfig) store.setMeta('deployment', configBytes);
}

/** Refuses to run on a file that lost or rewrote what its head file says was acknowledged. */
function checkHead(store: SqliteBlockStore, claim: LedgerFileClaim): void {
  const head = readHeadFile(claim.headFile);
  const file = claim.file;
  if (!head) {
    if (store.count() > 0 && !claim.adoptChainWithoutHead) {
      throw new PrivaggError(
        ErrorCode.ROLLBACK_DETECTED,
        `ledger file ${file} holds ${store.count()} block(s) but its signed head ${claim.headFile} is missing: ` +
          'without it a rollback cannot be ruled out. Put the head file back, or check the chain against a head ' +
          'a gateway, OEM or auditor kept (privagg ledger verify --head) and adopt it explicitly.',
      );
    }
    return;
  }
  const check = checkChainAgainstHead(store, head, {
    publicKey: claim.publicKey,
    deployment: claim.config.params.deployment,
  });
  if (!check.ok) {
    throw new PrivaggError(
      ErrorCode.ROLLBACK_DETECTED,
      `ledger file ${file} does not hold what it acknowledged (${check.problem}): ${check.message}. Refusing to run.`,
    );
  }
}
