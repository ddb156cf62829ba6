import { loadBundle } from '../../src/node/credentials/bundle.js';
import { identityOf } from '../../src/node/credentials/identities.js';
import { scrape } from '../../src/node/demo/metricsScrape.js';
import type { RunningDeployment } from '../../src/node/orchestrator.js';

/**
 * What the ledger says of its own memory (`GET /metrics`, the operator's client
 * certificate): the V8 heap in use and the entries of per-round state it retains. Beside
 * its RSS this tells a leak in the ledger's own structures (heap and retained entries
 * grow with RSS) from growth outside the JS heap (SQLite's page cache, allocator
 * fragmentation: RSS grows while the heap and the entries stay flat).
 */
export interface LedgerMemory {
  heapUsedMiB: number;
  /** The V8 heap committed (heapTotal): what the JS heap takes of the RSS. */
  heapTotalMiB: number;
  /** Physical memory per V8 heap space (old_space, new_space, code_space, …). */
  spacesMiB: Record<string, number>;
  /** Buffers and C++ objects bound to JS (process.memoryUsage().external). */
  externalMiB: number;
  /** Retained per-round entries, summed over structures (all but prunedBefore). */
  retainedEntries: number;
  retained: Record<string, number>;
}

export function ledgerMetricsReader(
  running: RunningDeployment,
  deployment: string,
): () => Promise<LedgerMemory | undefined> {
  const bundle = running.credentials.bundles.get(identityOf.operator(deployment));
  const tls = bundle ? loadBundle(bundle, 'operator').tls : undefined;
  return async () => {
    try {
      const samples = await scrape(running.ledgerUrl, tls);
      const retained: Record<string, number> = {};
      let heap = Number.NaN;
      let external = Number.NaN;
      let heapTotal = Number.NaN;
      const spaces: Record<string, number> = {};
      for (const s of samples) {
        if (s.name === 'nodejs_heap_used_bytes') heap = s.value / 2 ** 20;
        if (s.name === 'nodejs_external_memory_bytes') external = s.value / 2 ** 20;
        if (s.name === 'nodejs_heap_total_bytes') heapTotal = s.value / 2 ** 20;
        if (s.name === 'nodejs_heap_space_physical_bytes')
          spaces[s.labels.space ?? '?'] = s.value / 2 ** 20;
        if (s.name === 'privagg_ledger_retained_entries')
          retained[s.labels.structure ?? '?'] = s.value;
      }
      // `prunedBefore` is a round number (the retention window's start), not a count.
      const retainedEntries = Object.entries(retained)
        .filter(([structure]) => structure !== 'prunedBefore')
        .reduce((a, [, n]) => a + n, 0);
      return {
        heapUsedMiB: heap,
        heapTotalMiB: heapTotal,
        spacesMiB: spaces,
        externalMiB: external,
        retainedEntries,
        retained,
      };
    } catch {
      return undefined; // a busy or restarting ledger: this sample goes without
    }
  };
}
