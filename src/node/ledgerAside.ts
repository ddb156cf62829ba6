import { existsSync, renameSync } from 'node:fs';

/**
 * A new run starts a new chain: the previous run's ledger file and its companions (WAL,
 * head, keys, the auditor's file) are renamed beside it with the time, never overwritten.
 * Returns the new name, or undefined when there was no ledger.
 */
export function moveLedgerAside(file: string, nowMs = Date.now()): string | undefined {
  if (!existsSync(file)) return undefined;
  const aside = `${file}.${new Date(nowMs).toISOString().replace(/[:.]/g, '-')}`;
  for (const suffix of ['', '-wal', '-shm', '.head', '.key', '.auditor.json']) {
    if (existsSync(`${file}${suffix}`)) renameSync(`${file}${suffix}`, `${aside}${suffix}`);
  }
  return aside;
}
