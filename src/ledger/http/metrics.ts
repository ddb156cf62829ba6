import { getHeapSpaceStatistics } from 'node:v8';
import { ErrorCode } from '../../errors.js';
import type { LedgerCounters, LedgerHealth } from '../service.js';

/**
 * Prometheus text exposition (format 0.0.4) of the ledger's counters and the API's own
 * request counters, without a client library: a handful of counters, gauges and one
 * histogram. Label values are bounded: routes are route templates (never raw URLs), codes
 * come from the stable code list, statuses from HTTP.
 *
 * privagg_ledger_rejected_total counts what the ledger service refused (by its code);
 * privagg_http_rejected_total counts every refusal the API sent, including those decided
 * before the service was reached (415, invalid JSON, body too large, unknown route).
 */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Upper bounds (seconds) of the request-duration histogram. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

interface Histogram {
  counts: number[];
  sum: number;
  count: number;
}

export class HttpMetrics {
  private readonly requests = new Map<string, number>();
  private readonly rejected = new Map<string, number>();
  private readonly durations = new Map<string, Histogram>();

  /** One finished request; `route` is the route template or '(unmatched)'. */
  observe(method: string, route: string, status: number, seconds: number): void {
    const key = labels({ method, route, status: String(status) });
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    let h = this.durations.get(route);
    if (!h) {
      h = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.durations.set(route, h);
    }
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) h.counts[i]!++;
    h.sum += seconds;
    h.count++;
  }

  reject(route: string, code: string): void {
    const key = labels({ route, code });
    this.rejected.set(key, (this.rejected.get(key) ?? 0) + 1);
  }

  render(ledger: LedgerCounters, health: LedgerHealth): string {
    const out: string[] = [];
    const family = (name: string, type: string, help: string) =>
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

    family(
      'privagg_ledger_partials_accepted_total',
      'counter',
      'Gateway partials the ledger accepted (Add/Verify passed).',
    );
    out.push(`privagg_ledger_partials_accepted_total ${ledger.partialsAccepted}`);
    family('privagg_ledger_queries_answered_total', 'counter', 'OEM queries the ledger answered.');
    out.push(`privagg_ledger_queries_answered_total ${ledger.queriesAnswered}`);
    family(
      'privagg_ledger_rejected_total',
      'counter',
      'Submissions the ledger service refused, by stable error code.',
    );
    // Every known code is exported (0 until it happens) so rate() works from the first one.
    const codes = new Set<string>([...Object.values(ErrorCode), ...Object.keys(ledger.rejected)]);
    for (const code of [...codes].sort()) {
      const n = (ledger.rejected as Record<string, number | undefined>)[code] ?? 0;
      out.push(`privagg_ledger_rejected_total${labels({ code })} ${n}`);
    }
    if (ledger.notes) {
      family(
        'privagg_ledger_notes_accepted_total',
        'counter',
        'Operator notes taken for the next round status.',
      );
      out.push(`privagg_ledger_notes_accepted_total ${ledger.notes.accepted}`);
      family(
        'privagg_ledger_notes_dropped_total',
        'counter',
        'Operator notes dropped unrecorded: too many were pending before a round status.',
      );
      out.push(`privagg_ledger_notes_dropped_total ${ledger.notes.dropped}`);
    }
    family('privagg_ledger_blocks', 'gauge', 'Blocks committed to the chain.');
    out.push(`privagg_ledger_blocks ${ledger.blocks}`);
    family('privagg_ledger_transactions', 'gauge', 'Transactions in committed blocks.');
    out.push(`privagg_ledger_transactions ${ledger.transactions}`);
    family(
      'privagg_ledger_pending_transactions',
      'gauge',
      'Transactions accepted but not yet in a block.',
    );
    out.push(`privagg_ledger_pending_transactions ${health.pendingTransactions}`);
    family('privagg_ledger_up', 'gauge', '1 when the ledger reports itself healthy.');
    out.push(`privagg_ledger_up ${health.ok ? 1 : 0}`);
    if (ledger.retained) {
      family(
        'privagg_ledger_retained_entries',
        'gauge',
        'Entries of per-round state the ledger holds in memory, by structure (flat over time).',
      );
      for (const [structure, n] of Object.entries(ledger.retained).sort(byKey))
        out.push(`privagg_ledger_retained_entries${labels({ structure })} ${n}`);
    }

    family(
      'privagg_http_requests_total',
      'counter',
      'HTTP requests answered, by method, route template and status.',
    );
    for (const [key, n] of [...this.requests].sort(byKey))
      out.push(`privagg_http_requests_total${key} ${n}`);
    family(
      'privagg_http_rejected_total',
      'counter',
      'Refusals the API sent (4xx/5xx with a code), by route template and code.',
    );
    for (const [key, n] of [...this.rejected].sort(byKey))
      out.push(`privagg_http_rejected_total${key} ${n}`);
    family(
      'privagg_http_request_duration_seconds',
      'histogram',
      'Time from request to response, by route template.',
    );
    for (const [route, h] of [...this.durations].sort(byKey)) {
      for (let i = 0; i < BUCKETS.length; i++) {
        const le = String(BUCKETS[i]);
        out.push(
          `privagg_http_request_duration_seconds_bucket${labels({ route, le })} ${h.counts[i]}`,
        );
      }
      out.push(
        `privagg_http_request_duration_seconds_bucket${labels({ route, le: '+Inf' })} ${h.count}`,
        `privagg_http_request_duration_seconds_sum${labels({ route })} ${h.sum}`,
        `privagg_http_request_duration_seconds_count${labels({ route })} ${h.count}`,
      );
    }

    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    family('process_cpu_user_seconds_total', 'counter', 'User CPU time spent, in seconds.');
    out.push(`process_cpu_user_seconds_total ${cpu.user / 1e6}`);
    family('process_cpu_system_seconds_total', 'counter', 'System CPU time spent, in seconds.');
    out.push(`process_cpu_system_seconds_total ${cpu.system / 1e6}`);
    family('process_resident_memory_bytes', 'gauge', 'Resident memory size, in bytes.');
    out.push(`process_resident_memory_bytes ${mem.rss}`);
    family('nodejs_heap_used_bytes', 'gauge', 'V8 heap in use, in bytes.');
    out.push(`nodejs_heap_used_bytes ${mem.heapUsed}`);
    family('nodejs_heap_total_bytes', 'gauge', 'V8 heap committed, in bytes.');
    out.push(`nodejs_heap_total_bytes ${mem.heapTotal}`);
    // Per space, what the heap holds in physical memory: which generation a growth is in.
    family(
      'nodejs_heap_space_physical_bytes',
      'gauge',
      'Physical memory of each V8 heap space, in bytes.',
    );
    for (const sp of getHeapSpaceStatistics())
      out.push(
        `nodejs_heap_space_physical_bytes${labels({ space: sp.space_name })} ${sp.physical_space_size}`,
      );
    // Outside the V8 heap: buffers and typed arrays (external includes arrayBuffers). With
    // RSS beside them a growth is placed in the JS heap, in buffers, or in native code.
    family('nodejs_external_memory_bytes', 'gauge', 'Memory of C++ objects bound to JS, in bytes.');
    out.push(`nodejs_external_memory_bytes ${mem.external}`);
    family('nodejs_array_buffers_bytes', 'gauge', 'ArrayBuffers and Buffers, in bytes.');
    out.push(`nodejs_array_buffers_bytes ${mem.arrayBuffers}`);
    family('process_start_time_seconds', 'gauge', 'Process start time, seconds since the epoch.');
    out.push(`process_start_time_seconds ${START_SECONDS}`);
    return `${out.join('\n')}\n`;
  }
}

const START_SECONDS = Math.round((Date.now() - process.uptime() * 1000) / 1000);

function byKey<T>(a: [string, T], b: [string, T]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** `{a="x",b="y"}` with the exposition format's escaping of \, " and newlines. */
function labels(values: Record<string, string>): string {
  const parts = Object.entries(values).map(
    ([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
  );
  return `{${parts.join(',')}}`;
}
