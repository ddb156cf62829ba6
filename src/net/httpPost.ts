import { Agent, request } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/**
 * A binary POST over node:http with a keep-alive agent: what a gateway needs to hand its
 * partial to the ledger, without the cost of `fetch` (undici runs a few milliseconds of
 * JavaScript per request — web streams, abort signals, header objects — which a process
 * that posts once a round never warms up). A ledger that is down or restarting must not
 * lose a partial: a failed connection, a timeout or a 5xx is retried with exponential
 * backoff (capped) until `deadlineMs`; a 4xx is final and returned with its
 * stable code; the answer is parsed as JSON when it is JSON.
 */
export type HttpPostOutcome =
  | { ok: true; status: number; body: unknown }
  | { ok: false; status: number; code: string; message: string }
  | { ok: false; status: 0; code: 'LEDGER_UNREACHABLE'; message: string };

export interface HttpPostOptions {
  deadlineMs: number;
  now?: () => number;
  firstDelayMs?: number;
  maxDelayMs?: number;
  signal?: AbortSignal;
  /**
   * For https:// URLs: the deployment's CA (the server must present a certificate it
   * signed, for the URL's host) and this role's client certificate and key (PEM).
   */
  tls?: TlsClientCredentials;
}

export interface TlsClientCredentials {
  ca: string;
  cert: string;
  key: string;
}

/** One keep-alive pool per process: a gateway process posts to one ledger. */
const agent = new Agent({ keepAlive: true, maxSockets: 16 });
/** One keep-alive TLS pool per client certificate (a process may host several gateways). */
const tlsAgents = new Map<string, HttpsAgent>();

function tlsAgent(tls: TlsClientCredentials): HttpsAgent {
  let a = tlsAgents.get(tls.cert);
  if (!a) {
    a = new HttpsAgent({
      keepAlive: true,
      maxSockets: 16,
      ca: tls.ca,
      cert: tls.cert,
      key: tls.key,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    });
    tlsAgents.set(tls.cert, a);
  }
  return a;
}

export function httpPostBinary(
  url: string,
  body: Uint8Array,
  opts: HttpPostOptions,
): Promise<HttpPostOutcome> {
  return postWithBackoff(url, body, 'application/octet-stream', opts);
}

/** The same, with a JSON body (the operator's requests: start the rounds, a note). */
export function httpPostJson(
  url: string,
  value: unknown,
  opts: HttpPostOptions,
): Promise<HttpPostOutcome> {
  return postWithBackoff(url, Buffer.from(JSON.stringify(value)), 'application/json', opts);
}

/** One GET (no retry), parsed as JSON when it is JSON; over TLS with `tls`. */
export async function httpGet(
  url: string,
  opts: { tls?: TlsClientCredentials; timeoutMs?: number } = {},
): Promise<{ status: number; body: unknown; text: string }> {
  const res = await send('GET', url, undefined, undefined, opts.timeoutMs ?? 10_000, opts.tls);
  let body: unknown = res.text;
  try {
    body = JSON.parse(res.text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body, text: res.text };
}

async function postWithBackoff(
  url: string,
  body: Uint8Array,
  contentType: string,
  opts: HttpPostOptions,
): Promise<HttpPostOutcome> {
  const now = opts.now ?? Date.now;
  let delay = opts.firstDelayMs ?? 50;
  const maxDelay = opts.maxDelayMs ?? 1000;
  let lastError = '';
  for (let attempt = 0; ; attempt++) {
    try {
      const timeoutMs = Math.max(100, Math.min(5000, opts.deadlineMs - now()));
      const res = await send('POST', url, body, contentType, timeoutMs, opts.tls);
      let json: unknown = res.text;
      try {
        json = JSON.parse(res.text);
      } catch {
        // not JSON: keep the text
      }
      if (res.status >= 200 && res.status < 300)
        return { ok: true, status: res.status, body: json };
      const j = (json ?? {}) as { code?: string; message?: string };
      if (res.status >= 400 && res.status < 500) {
        return {
          ok: false,
          status: res.status,
          code: j.code ?? `HTTP_${res.status}`,
          message: j.message ?? res.text,
        };
      }
      lastError = `HTTP ${res.status}: ${j.message ?? res.text}`;
    } catch (e) {
      lastError = e instanceof Error ? e.message : String(e);
      // A kept-alive socket the server closed while idle: try a fresh one at once.
      if (attempt === 0 && (e as { code?: string }).code === 'ECONNRESET') continue;
    }
    if (opts.signal?.aborted || now() + delay > opts.deadlineMs) {
      return { ok: false, status: 0, code: 'LEDGER_UNREACHABLE', message: lastError };
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(maxDelay, delay * 2);
  }
}

function send(
  method: 'GET' | 'POST',
  url: string,
  body: Uint8Array | undefined,
  contentType: string | undefined,
  timeoutMs: number,
  tls: TlsClientCredentials | undefined,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const secure = url.startsWith('https:');
    if (secure && !tls) throw new Error(`${url} needs TLS client credentials`);
    const req = (secure ? httpsRequest : request)(
      url,
      {
        method,
        agent: secure ? tlsAgent(tls!) : agent,
        headers: body ? { 'content-type': contentType!, 'content-length': body.byteLength } : {},
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    if (body) req.end(body);
    else req.end();
  });
}
