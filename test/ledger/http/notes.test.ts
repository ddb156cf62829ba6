import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../src/ledger/canonicalJson.js';
import {
  type EmbeddedLedger,
  openEmbeddedLedger,
  type RoundStatusRecord,
} from '../../../src/ledger/embeddedLedger.js';
import { ErrorResponse, NoteAccepted } from '../../../src/ledger/http/schemas.js';
import {
  type LedgerApiServer,
  NOTE_BODY_LIMIT,
  startLedgerApi,
} from '../../../src/ledger/http/server.js';
import { MAX_NOTE_BYTES, MAX_PENDING_NOTES } from '../../../src/ledger/operatorNotes.js';
import { SqliteBlockStore } from '../../../src/ledger/sqliteStore.js';
import { verifyChain } from '../../../src/ledger/verifyChain.js';
import {
  captureLogs,
  type LogLine,
  OEM_FULL,
  OEM_PARTIAL,
  openTestLedger,
  T0,
  testDeployment,
} from './fixtures.js';
import { httpsCall, type TestPki, testPki } from './tls.js';

/**
 * Issue 9: `privagg up` notes a restarted role process on the chain. POST /v1/notes is the
 * operator's alone; a note is bounded and printable, waits in the ledger, and goes on the
 * chain inside the next round status, once. A status without notes keeps its old bytes.
 */
describe('POST /v1/notes over the embedded ledger (HTTPS, client certificates)', () => {
  const dep = testDeployment();
  const name = dep.params.deployment;
  const dir = mkdtempSync(join(tmpdir(), 'privagg-notes-'));
  const file = join(dir, 'ledger.sqlite');
  const open = () =>
    openEmbeddedLedger({
      file,
      config: { params: dep.params, oems: [OEM_FULL, OEM_PARTIAL] },
      ledgerKey: dep.registry.ledgerKey(),
      nodeKey: Buffer.alloc(32, 7),
      clock: () => T0,
    });
  let pki: TestPki;
  let ledger: EmbeddedLedger;
  let server: LedgerApiServer;
  let lines: LogLine[];
  beforeAll(async () => {
    pki = testPki(name);
    ledger = open();
    const logs = captureLogs();
    lines = logs.lines;
    server = await startLedgerApi(ledger, { logger: logs.logger, tls: pki.ledgerTls });
  }, 30_000);
  afterAll(async () => {
    await server.close();
    await ledger.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const as = (cn: string, role: string) => pki.client(`${name}.${cn}`, role);
  const post = (client: ReturnType<typeof as>, body: string | Buffer, contentType?: string) =>
    httpsCall(`${server.url}/v1/notes`, {
      ca: pki.ca.certPem,
      client,
      body,
      contentType: contentType ?? 'application/json',
    });
  const note = (text: unknown) => JSON.stringify({ note: text });
  const notes = () => ledger.counters().notes!;
  const transactions = () => [...ledger.node.store.all()].flatMap((b) => b.transactions);
  const statusesOnChain = (): RoundStatusRecord[] =>
    transactions()
      .filter((t) => t.kind === 'round')
      .map((t) => JSON.parse(t.body.toString('utf8')) as RoundStatusRecord);

  it('only the operator may post a note: gateways, OEMs, auditors and devices get 403 ACCESS_DENIED', async () => {
    const before = notes();
    for (const [cn, role] of [
      ['gw-0-1', 'gateway'],
      ['oem-0', 'oem'],
      ['auditor', 'auditor'],
      ['devices-0', 'devices'],
    ] as const) {
      const logged = lines.length;
      const res = await post(as(cn, role), note(`${role} was here`));
      expect(res.status, role).toBe(403);
      expect(ErrorResponse.parse(res.json())).toMatchObject({ code: 'ACCESS_DENIED' });
      expect(lines.slice(logged)).toEqual([
        expect.objectContaining({ code: 'ACCESS_DENIED', route: '/v1/notes' }),
      ]);
    }
    expect(notes()).toEqual(before);
    const res = await post(as('operator', 'operator'), note('the operator was here'));
    expect(res.status).toBe(202);
    expect(NoteAccepted.parse(res.json())).toEqual({ ok: true, pending: 1 });
    expect(notes()).toMatchObject({ accepted: before.accepted + 1, pending: 1 });
  });

  it('refuses ill-typed, unprintable and oversized notes with a stable code, and queues nothing', async () => {
    const operator = as('operator', 'operator');
    const before = notes();
    const cases: [string, string | Buffer, number, string, string?][] = [
      ['a number', note(5), 400, 'MALFORMED_MESSAGE'],
      ['no note', JSON.stringify({}), 400, 'MALFORMED_MESSAGE'],
      ['an extra field', JSON.stringify({ note: 'x', at: 1 }), 400, 'MALFORMED_MESSAGE'],
      ['an array', JSON.stringify(['x']), 400, 'MALFORMED_MESSAGE'],
      ['blank', note('   '), 400, 'MALFORMED_MESSAGE'],
      ['an escape sequence', note('\u001b[2Jrestarted'), 400, 'MALFORMED_MESSAGE'],
      ['a newline', note('one\ntwo'), 400, 'MALFORMED_MESSAGE'],
      ['a bidi override', note('gw \u202e detrats'), 400, 'MALFORMED_MESSAGE'],
      ['a lone surrogate', '{"note":"half \\ud800 of it"}', 400, 'MALFORMED_MESSAGE'],
      ['a line separator', note('a\u2028b'), 400, 'MALFORMED_MESSAGE'],
      ['not JSON', '{"note":', 400, 'MALFORMED_MESSAGE'],
      ['one byte too many', note('x'.repeat(MAX_NOTE_BYTES + 1)), 413, 'OVERSIZED_MESSAGE'],
      ['171 euro signs', note('€'.repeat(171)), 413, 'OVERSIZED_MESSAGE'],
      ['over the body limit', note('x'.repeat(NOTE_BODY_LIMIT)), 413, 'OVERSIZED_MESSAGE'],
      [
        'raw bytes',
        Buffer.from('restarted'),
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        'application/octet-stream',
      ],
      ['text', 'restarted', 415, 'UNSUPPORTED_MEDIA_TYPE', 'text/plain'],
    ];
    for (const [what, body, status, code, type] of cases) {
      const res = await post(operator, body, type);
      expect(res.status, what).toBe(status);
      expect(ErrorResponse.parse(res.json()), what).toMatchObject({ code });
    }
    expect(notes()).toEqual(before);
  });

  it('takes a note of exactly the limit, even with every byte sent as a JSON escape', async () => {
    const operator = as('operator', 'operator');
    // 512 bytes as "\u0041" escapes: 3,072 bytes of body, within the route's limit.
    const escaped = `{"note":"${'\\u0041'.repeat(MAX_NOTE_BYTES)}"}`;
    expect(Buffer.byteLength(escaped)).toBeLessThanOrEqual(NOTE_BODY_LIMIT);
    expect((await post(operator, escaped)).status).toBe(202);
    // 170 three-byte characters: 510 bytes.
    expect((await post(operator, note('€'.repeat(170)))).status).toBe(202);
    // Printable beyond ASCII is fine (accents, CJK, emoji with a variation selector).
    expect((await post(operator, note('redémarré · 再起動 ✔️'))).status).toBe(202);
    expect(notes().pending).toBe(4);
  });

  it('the pending notes go on the chain inside the next round status, once; the chain verifies', async () => {
    const pending = notes().pending;
    const first: RoundStatusRecord = { ian: 0, round: 0, status: 'complete', reasons: [] };
    const second: RoundStatusRecord = { ian: 1, round: 0, status: 'degraded', reasons: ['x'] };
    ledger.node.recordRound(first, T0);
    ledger.node.recordRound(second, T0);
    await ledger.flush();
    const recorded = statusesOnChain();
    expect(recorded).toHaveLength(2);
    // The first status carries every note pending, in the order they came; the record the
    // driver holds (and announces) is the one on the chain.
    expect(recorded[0]!.notes).toHaveLength(pending);
    expect(recorded[0]!.notes![0]).toBe('the operator was here');
    expect(recorded[0]!.notes![1]).toBe('A'.repeat(MAX_NOTE_BYTES));
    expect(recorded[0]).toEqual(first);
    // The second has none: no `notes` field at all, the bytes a status always had.
    const tx = transactions().filter((t) => t.kind === 'round');
    expect(tx[1]!.body.toString('utf8')).toBe(
      canonicalJson({ ian: 1, round: 0, status: 'degraded', reasons: ['x'] }),
    );
    expect(recorded[1]).not.toHaveProperty('notes');
    expect(notes().pending).toBe(0);

    // A later note goes with the next status only.
    const res = await post(as('operator', 'operator'), note('process gateway-0-2 restarted'));
    expect(NoteAccepted.parse(res.json())).toEqual({ ok: true, pending: 1 });
    ledger.node.recordRound({ ian: 0, round: 1, status: 'complete', reasons: [] }, T0);
    ledger.node.recordRound({ ian: 1, round: 1, status: 'complete', reasons: [] }, T0);
    await ledger.flush();
    expect(statusesOnChain().map((s) => s.notes)).toEqual([
      recorded[0]!.notes,
      undefined,
      ['process gateway-0-2 restarted'],
      undefined,
    ]);

    // The whole chain verifies (GET /v1/verify's worker, and a store opened afresh).
    const report = await httpsCall(`${server.url}/v1/verify`, {
      ca: pki.ca.certPem,
      client: as('auditor', 'auditor'),
    });
    expect(report.status).toBe(200);
    expect(report.json()).toMatchObject({ ok: true });
    const store = new SqliteBlockStore(file);
    try {
      expect(verifyChain(store)).toMatchObject({ ok: true });
    } finally {
      store.close();
    }
  });

  it('keeps at most MAX_PENDING_NOTES, dropping the oldest, and counts both in /metrics', async () => {
    const before = notes();
    expect(before.pending).toBe(0);
    for (let i = 0; i < MAX_PENDING_NOTES + 3; i++) {
      const res = ledger.note!(`note ${i}`);
      expect(res.ok).toBe(true);
    }
    expect(notes()).toEqual({
      accepted: before.accepted + MAX_PENDING_NOTES + 3,
      dropped: before.dropped + 3,
      pending: MAX_PENDING_NOTES,
    });
    const record: RoundStatusRecord = { ian: 0, round: 2, status: 'complete', reasons: [] };
    ledger.node.recordRound(record, T0);
    await ledger.flush();
    expect(record.notes).toHaveLength(MAX_PENDING_NOTES);
    expect(record.notes![0]).toBe('note 3');
    const metrics = await httpsCall(`${server.url}/metrics`, {
      ca: pki.ca.certPem,
      client: as('operator', 'operator'),
    });
    expect(metrics.text).toContain(`privagg_ledger_notes_dropped_total ${before.dropped + 3}`);
    expect(metrics.text).toMatch(/privagg_http_rejected_total\{[^}]*route="\/v1\/notes"/);
  });

  it('the service refuses a bad note too (a caller that is not the HTTP API), counted by code', () => {
    const before = ledger.counters().rejected.MALFORMED_MESSAGE ?? 0;
    expect(ledger.note!('\u0007')).toMatchObject({ ok: false, code: 'MALFORMED_MESSAGE' });
    expect(ledger.note!('y'.repeat(MAX_NOTE_BYTES + 1))).toMatchObject({
      ok: false,
      code: 'OVERSIZED_MESSAGE',
    });
    expect(ledger.counters().rejected.MALFORMED_MESSAGE).toBe(before + 1);
    expect(notes().pending).toBe(0);
  });
});

describe('a ledger that records no round statuses', () => {
  it('answers POST /v1/notes with 404 NOT_FOUND', async () => {
    const dep = testDeployment();
    const pki = testPki(dep.params.deployment);
    // The embedded ledger without its (optional) note(): a LedgerService that keeps none.
    const { ledger, dispose } = openTestLedger(dep);
    const { note: _note, ...withoutNotes } = ledger;
    const server = await startLedgerApi(withoutNotes, {
      logger: false,
      tls: pki.ledgerTls,
    });
    try {
      const res = await httpsCall(`${server.url}/v1/notes`, {
        ca: pki.ca.certPem,
        client: pki.client(`${dep.params.deployment}.operator`, 'operator'),
        body: JSON.stringify({ note: 'hello' }),
        contentType: 'application/json',
      });
      expect(res.status).toBe(404);
      expect(res.json()).toMatchObject({ code: 'NOT_FOUND' });
      expect(ledger.counters().notes).toMatchObject({ accepted: 0, pending: 0 });
    } finally {
      await server.close();
      await dispose();
    }
  }, 30_000);
});
