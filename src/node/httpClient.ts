import type { ErrorCode } from '../errors.js';

/**
 * Posting to the ledger's HTTP API with retries: a ledger that is down or restarting
 * must not lose a gateway's partial, so a failed connection is retried with exponential
 * backoff (capped) until `deadlineMs`. A 4xx answer is final (the ledger refused the
 * message with a stable code) and is returned, not retried.
 */
export type PostOutcome =
  | { ok: true; status: number; body: unknown }
  | { ok: false; status: number; code: ErrorCode | string; message: string }
  | { ok: false; status: 0; code: 'LEDGER_UNREACHABLE'; message: string };

export async function postBinary(
  url: string,
  body: Uint8Array,
  opts: {
    deadlineMs: number;
    now?: () => number;
    firstDelayMs?: number;
    maxDelayMs?: number;
    signal?: AbortSignal;
  },
): Promise<PostOutcome> {
  const now = opts.now ?? Date.now;
  let delay = opts.firstDelayMs ?? 50;
  const maxDelay = opts.maxDelayMs ?? 1000;
  let lastError = '';
  for (;;) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body,
        signal: AbortSignal.timeout(Math.max(100, Math.min(5000, opts.deadlineMs - now()))),
      });
      const text = await res.text();
      let json: unknown = text;
      try {
        json = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      if (res.ok) return { ok: true, status: res.status, body: json };
      const j = json as { code?: string; message?: string };
      if (res.status >= 400 && res.status < 500) {
        return {
          ok: false,
          status: res.status,
          code: j.code ?? `HTTP_${res.status}`,
          message: j.message ?? text,
        };
      }
      lastError = `HTTP ${res.status}: ${j.message ?? text}`;
    } catch (e) {
      lastError = e instanceof Error ? e.message : String(e);
    }
    if (opts.signal?.aborted || now() + delay > opts.deadlineMs) {
      return { ok: false, status: 0, code: 'LEDGER_UNREACHABLE', message: lastError };
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(maxDelay, delay * 2);
  }
}

export async function postJson(
  url: string,
  body: unknown,
  timeoutMs = 5000,
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}
