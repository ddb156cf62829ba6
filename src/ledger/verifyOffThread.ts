import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { VerifyReport } from './service.js';
import type { SenderKeys } from './verifyChain.js';

/**
 * Verifies a ledger file in a worker thread, so the ledger's event loop keeps answering
 * (verifying replays every transaction of the chain: seconds for a long one, during which
 * an on-loop verification left health checks and submissions waiting).
 *
 * Why a worker and not an incremental verification: an incremental one re-checks only the
 * blocks this very process appended since the last call, trusting the prefix it verified
 * before; an auditor asks whether the file on disk, from block 0, is a valid chain. The
 * worker opens the file read-only and checks exactly that, with its own SQLite connection,
 * and only reads (the contract state it rebuilds is bounded by the retention window).
 *
 * Running from TypeScript sources (tsx, vitest), the worker first registers tsx's loader;
 * from the compiled package it runs the compiled worker directly.
 */
export function verifyInWorker(
  file: string,
  publicKey: Uint8Array,
  contentKey: Uint8Array,
  senders?: SenderKeys,
): Promise<VerifyReport> {
  const fromSource = import.meta.url.endsWith('.ts');
  // Posted to a thread of this process (structured clone in memory), never to disk or argv.
  const data = {
    file,
    publicKey: Uint8Array.from(publicKey),
    contentKey: Uint8Array.from(contentKey),
    senders,
  };
  const worker = fromSource
    ? new Worker(TSX_BOOT, {
        eval: true,
        workerData: {
          ...data,
          tsx: tsxEsmApi(),
          entry: new URL('./verifyWorker.ts', import.meta.url).href,
        },
      })
    : new Worker(new URL('./verifyWorker.js', import.meta.url), { workerData: data });
  return new Promise<VerifyReport>((resolve, reject) => {
    let report: VerifyReport | undefined;
    worker.once('message', (m: VerifyReport) => {
      report = m;
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (report) resolve(report);
      else reject(new Error(`the verify worker exited (${code}) without a report`));
    });
  });
}

/** CommonJS evaluated in the worker: tsx's ESM loader, then the TypeScript entry. */
const TSX_BOOT = `
const { workerData } = require('node:worker_threads');
import(workerData.tsx).then(({ register }) => { register(); return import(workerData.entry); });
`;

/** The URL of tsx's ESM API (its package maps `tsx/esm/api` to index.cjs for require, index.mjs for import). */
function tsxEsmApi(): string {
  const cjs = createRequire(import.meta.url).resolve('tsx/esm/api');
  return pathToFileURL(cjs.replace(/\.cjs$/, '.mjs')).href;
}
