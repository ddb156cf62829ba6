import type { LedgerBlock, LedgerTransaction } from '../service.js';

/** JSON views of ledger objects: hashes and signatures as lowercase hex, bodies as base64. */
export interface TransactionView {
  kind: LedgerTransaction['kind'];
  time: number;
  body: string;
  ian?: number;
  round?: number;
  gateway?: number;
}

export interface BlockView {
  height: number;
  previousHash: string;
  merkleRoot: string;
  time: number;
  hash: string;
  signature: string;
  transactions: TransactionView[];
}

export function transactionView(tx: LedgerTransaction): TransactionView {
  const view: TransactionView = {
    kind: tx.kind,
    time: tx.time,
    body: Buffer.from(tx.body).toString('base64'),
  };
  if (tx.ian !== undefined) view.ian = tx.ian;
  if (tx.round !== undefined) view.round = tx.round;
  if (tx.gateway !== undefined) view.gateway = tx.gateway;
  return view;
}

export function blockView(block: LedgerBlock): BlockView {
  return {
    height: block.height,
    previousHash: hex(block.previousHash),
    merkleRoot: hex(block.merkleRoot),
    time: block.time,
    hash: hex(block.hash),
    signature: hex(block.signature),
    transactions: block.transactions.map(transactionView),
  };
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
