/**
 * The worker thread of `verifyInWorker` (verifyOffThread.ts): opens the ledger file
 * read-only, verifies the whole chain and posts the report. It shares nothing with the
 * ledger's thread but the file on disk, which SQLite's WAL lets it read while the ledger
 * keeps appending (it sees the chain as of its first read).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteBlockStore } from './sqliteStore.js';
import { type SenderKeys, verifyChain } from './verifyChain.js';

const { file, publicKey, contentKey, senders } = workerData as {
  file: string;
  publicKey: Uint8Array;
  contentKey: Uint8Array;
  senders?: SenderKeys;
};
const store = new SqliteBlockStore(file, { readonly: true });
try {
  parentPort!.postMessage(
    verifyChain(store, {
      publicKey: Buffer.from(publicKey),
      contentKey,
      ...(senders ? { senders } : {}),
    }),
  );
} finally {
  store.close();
}
