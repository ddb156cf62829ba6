import { httpGet, type TlsClientCredentials } from '../../net/httpPost.js';

/**
 * Reading a role process's Prometheus text (`GET /metrics`), for the demo's tables when
 * the roles run as processes: one sample per line, `name{label="v",…} value`.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** `tls`: the operator's client certificate, for the ledger's HTTPS API. */
export async function scrape(url: string, tls?: TlsClientCredentials): Promise<Sample[]> {
  const res = await httpGet(`${url}/metrics`, tls ? { tls } : {});
  if (res.status !== 200) throw new Error(`GET ${url}/metrics: HTTP ${res.status}`);
  return parseMetrics(res.text);
}
