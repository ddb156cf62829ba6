import { readFileSync } from 'node:fs';
import { ChainCipher } from '../src/ledger/chainCipher.js';
import type { SqliteBlockStore } from '../src/ledger/sqliteStore.js';
import { loadBundle } from '../src/node/credentials/bundle.js';
import { identityOf } from '../src/node/credentials/identities.js';
import { bundlePath } from '../src/node/credentials/issue.js';
import type { ParsedDeploymentSpec } from '../src/node/deploymentFile.js';

/**
 * What the end-to-end and soak benchmarks both read after or during a run: an IAN-round as
 * the ledger file records it, and a process's CPU time from Linux's /proc.
 */

/** A restore transaction's body, as far as the benchmarks need it. */
export interface RestoredBody {
  status: string;
  contributors?: number[];
  estimates?: { estimate: number }[];
}

/** IAN v's round r on the chain: its restore outcome and its round status (undefined: none). */
export function ianRoundOnChain(
  store: SqliteBlockStore,
  cipher: ChainCipher,
  v: number,
  r: number,
): { restored: RestoredBody | undefined; status: string | undefined } {
  let restored: RestoredBody | undefined;
  let status: string | undefined;
  for (const sealed of store.transactionsOf(v, r)) {
    const tx = cipher.open(sealed);
    if (tx.kind === 'restore') restored = JSON.parse(tx.body.toString('utf8')) as RestoredBody;
    if (tx.kind === 'round')
      status = (JSON.parse(tx.body.toString('utf8')) as { status: string }).status;
  }
  return { restored, status };
}

/** The chain's sealed values open under the auditor's content key (its bundle in the run's state). */
export function auditorCipher(spec: ParsedDeploymentSpec): ChainCipher {
  const auditor = loadBundle(bundlePath(spec, identityOf.auditor(spec.name)), 'auditor');
  return new ChainCipher(Buffer.from(auditor.keys.contentKey, 'hex'));
}

/** utime + stime of a live process, seconds; 0 if it cannot be read. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses): utime is
    // field 14, stime 15, i.e. 11 and 12 after the state field.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // In clock ticks: USER_HZ, 100 on every Linux this runs on (getconf CLK_TCK).
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}
