import { createServer, type Server } from 'node:http';

/**
 * A role process's own endpoints: `GET /health` (JSON) and `GET /metrics` (Prometheus
 * text). Plain node:http — a gateway or device fleet has nothing else to serve.
 */
export interface HealthServer {
  url: string;
  close(): Promise<void>;
}

export async function startHealthServer(opts: {
  host?: string;
  port?: number;
  health: () => Record<string, unknown> & { ok: boolean };
  metrics: () => Record<string, number>;
  /** Prefix of every metric name, e.g. privagg_gateway. */
  prefix: string;
}): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/health') {
      const h = opts.health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify(h));
      return;
    }
    if (req.method === 'GET' && req.url === '/metrics') {
      const lines: string[] = [];
      for (const [k, v] of Object.entries(opts.metrics())) {
        const [name, label] = k.split('|');
        lines.push(`${opts.prefix}_${name}${label ? `{${label}}` : ''} ${v}`);
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(`${lines.join('\n')}\n`);
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: false, code: 'NOT_FOUND' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
