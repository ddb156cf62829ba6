import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../src/errors.js';
import { HttpErrorCode, STATUS_OF_CODE, statusOf } from '../../../src/ledger/http/errors.js';
import { buildOpenApiDocument } from '../../../src/ledger/http/openapi.js';
import { harness } from './fixtures.js';

const DOC = 'docs/openapi.json';

describe('OpenAPI document', () => {
  it('GET /openapi.json serves exactly the checked-in docs/openapi.json', async () => {
    const generated = buildOpenApiDocument();
    if (process.env.PRIVAGG_WRITE_OPENAPI === '1') {
      writeFileSync(DOC, `${JSON.stringify(generated, null, 2)}\n`);
    }
    const h = await harness();
    const res = await h.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const served = res.json();
    const checkedIn = JSON.parse(readFileSync(DOC, 'utf8'));
    expect(served, `${DOC} is stale: regenerate it (see src/ledger/http/openapi.ts)`).toEqual(
      checkedIn,
    );
    await h.app.close();
  });

  it('is OpenAPI 3.1 with every route the server has, and every $ref resolves', async () => {
    const doc = JSON.parse(readFileSync(DOC, 'utf8'));
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    const operations = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    expect(operations).toEqual(
      [
        'POST /v1/partials',
        'POST /v1/queries',
        'POST /v1/restore',
        'POST /v1/epoch',
        'POST /v1/notes',
        'GET /v1/head',
        'GET /v1/blocks',
        'GET /v1/blocks/{height}',
        'GET /v1/verify',
        'GET /v1/health',
        'GET /metrics',
        'GET /openapi.json',
      ].sort(),
    );
    // The server's own routes (fastify adds HEAD to every GET): the same set.
    const h = await harness();
    for (const op of operations) {
      const [method, path] = op.split(' ') as [string, string];
      const url = path.replace(/\{(\w+)\}/g, ':$1');
      expect(h.app.hasRoute({ method: method as 'GET' | 'POST', url }), op).toBe(true);
    }
    const served = h.app
      .printRoutes({ commonPrefix: false })
      .match(/\(([A-Z, ]+)\)/g)!
      .flatMap((m) => m.slice(1, -1).split(', '))
      .filter((m) => m !== 'HEAD');
    expect(served).toHaveLength(operations.length);
    await h.app.close();

    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(10);
    for (const r of refs) {
      const id = r.match(/#\/components\/schemas\/(\w+)/)?.[1];
      expect(id, r).toBeDefined();
      expect(doc.components.schemas[id!], r).toBeDefined();
    }
    // Every operation documents its success and error responses with a JSON or text body.
    type Operation = { responses: Record<string, { description?: string }> };
    for (const ops of Object.values(doc.paths as Record<string, Record<string, Operation>>)) {
      for (const op of Object.values(ops)) {
        expect(Object.keys(op.responses).length).toBeGreaterThan(0);
        for (const r of Object.values(op.responses)) {
          expect(r.description).toEqual(expect.any(String));
        }
      }
    }
  });

  it('documents the status of every error code, and every ErrorCode a request can cause is a 4xx', () => {
    const doc = buildOpenApiDocument() as { 'x-error-status': Record<string, number> };
    // A role's own connection to its broker: never the answer to a request.
    const notFromRequests = new Set<string>([
      ErrorCode.BROKER_UNREACHABLE,
      ErrorCode.BROKER_REFUSED,
    ]);
    for (const code of Object.values(ErrorCode)) {
      if (notFromRequests.has(code)) expect(STATUS_OF_CODE[code]).toBe(503);
      else {
        expect(STATUS_OF_CODE[code]).toBeGreaterThanOrEqual(400);
        expect(STATUS_OF_CODE[code]).toBeLessThan(500);
      }
      expect(doc['x-error-status'][code]).toBe(STATUS_OF_CODE[code]);
    }
    for (const code of Object.values(HttpErrorCode))
      expect(doc['x-error-status'][code]).toBe(statusOf(code));
    expect(statusOf('BAD_MAC')).toBe(401);
    expect(statusOf('BUDGET_EXCEEDED')).toBe(403);
    expect(statusOf('STALE_TIMESTAMP')).toBe(422);
    expect(statusOf('REPLAY')).toBe(409);
    expect(statusOf('INTERNAL')).toBe(500);
  });
});
