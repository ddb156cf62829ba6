import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ed25519PrivateKey, ed25519Sign } from '../../src/crypto/ed25519.js';
import { exportRawPrivate, exportRawPublic } from '../../src/crypto/rawKeys.js';
import {
  boundedReasons,
  CONTROL_DOMAIN,
  CONTROL_MAX_BYTES,
  type ControlBodies,
  type ControlKind,
  controlSigningInput,
  decodeControl,
  deploymentId,
  EPOCH_BYTES,
  encodeControlBody,
  encodeSignedControl,
  MAX_REASON_BYTES,
  MAX_REASONS,
  MAX_ROSTER,
  openControl,
} from '../../src/wire/control.js';

/**
 * The control plane's codec: exact sizes, round trips, and every malformed, foreign or
 * forged variant refused with its stable code. A variant that changes the body is signed
 * again with the ledger key (`resign`), so the structural check — not the signature — is
 * what refuses it.
 */
const ledger = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
const PUB = exportRawPublic(ledger.publicKey);
const DEP = 'ctl-test';
const ctx = { deployment: DEP, ledgerPublicKey: PUB };

const EPOCH: ControlBodies['epoch'] = {
  deployment: DEP,
  epochMs: 1_767_225_600_000,
  roundMs: 1000,
  issuedAtMs: 1_767_225_599_000,
};
const RECONCILE: ControlBodies['reconcile'] = {
  deployment: DEP,
  epochMs: 1_767_225_600_000,
  ian: 3,
  round: 17,
  attempt: 1,
  rosterSize: 10,
  gatewayCount: 5,
  contributors: [0, 2, 3, 9],
  gateways: [1, 2, 5],
};
const OUTCOME: ControlBodies['outcome'] = {
  deployment: DEP,
  epochMs: 1_767_225_600_000,
  ian: 3,
  round: 17,
  status: 'degraded',
  reasons: ['1 device(s) missing', 'gateway(s) 4 left out — ü ✓'],
};

/** Replaces the signature with the ledger's signature over the (modified) body. */
function resign(bytes: Uint8Array): Buffer {
  const body = bytes.subarray(0, bytes.length - 64);
  const sig = ed25519Sign(
    ed25519PrivateKey(exportRawPrivate(ledger.privateKey)),
    controlSigningInput(body),
  );
  return Buffer.concat([body, sig]);
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    return (e as { code?: string }).code;
  }
}

const open = (b: Uint8Array, c: Parameters<typeof openControl>[1] = ctx) =>
  codeOf(() => openControl(b, c));

describe('control codec: layout and round trips', () => {
  it('epoch: 118 bytes at the documented offsets (a known answer)', () => {
    const b = encodeSignedControl('epoch', EPOCH, ledger.privateKey);
    expect(b.length).toBe(EPOCH_BYTES);
    expect(b[0]).toBe(1);
    expect(b[1]).toBe(1);
    expect(b.subarray(2, 34).equals(deploymentId(DEP))).toBe(true);
    expect(b.readBigUInt64BE(34)).toBe(BigInt(EPOCH.epochMs));
    expect(b.readUInt32BE(42)).toBe(1000);
    expect(b.readBigUInt64BE(46)).toBe(BigInt(EPOCH.issuedAtMs));
    // The signature covers the domain ‖ bytes [0, 54), nothing else.
    expect(CONTROL_DOMAIN.toString()).toBe('privagg/v1/control');
    expect(openControl(b, ctx)).toEqual({ kind: 'epoch', ...EPOCH });
  });

  it('reconcile: 118 + ⌈m/8⌉ + ⌈n/8⌉ bytes, bitmaps LSB first', () => {
    const b = encodeSignedControl('reconcile', RECONCILE, ledger.privateKey);
    expect(b.length).toBe(118 + 1 + 2);
    expect(b[1]).toBe(2);
    expect(b.readUInt16BE(42)).toBe(3);
    expect(b.readUInt32BE(44)).toBe(17);
    expect(b[48]).toBe(1);
    expect(b[49]).toBe(5);
    expect(b.readUInt32BE(50)).toBe(10);
    expect(b[54]).toBe(0b1_0011); // gateways 1, 2, 5
    expect([b[55], b[56]]).toEqual([0b1101, 0b10]); // devices 0, 2, 3 | 9
    expect(openControl(b, ctx)).toEqual({ kind: 'reconcile', ...RECONCILE });
  });

  it('outcome: 116 + Σ(2 + |reason|) bytes', () => {
    const b = encodeSignedControl('outcome', OUTCOME, ledger.privateKey);
    const R = OUTCOME.reasons.reduce((a, r) => a + 2 + Buffer.byteLength(r), 0);
    expect(b.length).toBe(116 + R);
    expect([b[48], b[49], b.readUInt16BE(50)]).toEqual([1, 2, R]);
    expect(openControl(b, ctx)).toEqual({ kind: 'outcome', ...OUTCOME });
  });

  it('every message round-trips (fast-check)', () => {
    const epoch = fc.record({
      deployment: fc.string({ minLength: 1, maxLength: 40 }),
      epochMs: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      roundMs: fc.integer({ min: 1, max: 0xffff_ffff }),
      issuedAtMs: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    });
    const reconcile = fc
      .record({ n: fc.integer({ min: 1, max: 300 }), m: fc.integer({ min: 1, max: 255 }) })
      .chain(({ n, m }) =>
        fc.record({
          deployment: fc.string({ minLength: 1, maxLength: 40 }),
          epochMs: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
          ian: fc.integer({ min: 0, max: 0xffff }),
          round: fc.integer({ min: 0, max: 0xffff_ffff }),
          attempt: fc.integer({ min: 1, max: 255 }),
          rosterSize: fc.constant(n),
          gatewayCount: fc.constant(m),
          contributors: fc
            .uniqueArray(fc.integer({ min: 0, max: n - 1 }))
            .map((a) => a.sort((x, y) => x - y)),
          gateways: fc
            .uniqueArray(fc.integer({ min: 1, max: m }), { minLength: 1 })
            .map((a) => a.sort((x, y) => x - y)),
        }),
      );
    const reason = fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 60 })
      .filter((s) => [...s].every((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f));
    const outcome = fc.oneof(
      fc.record({
        status: fc.constant('complete' as const),
        reasons: fc.constant([] as string[]),
      }),
      fc.record({
        status: fc.constantFrom('degraded' as const, 'failed' as const),
        reasons: fc.array(reason, { minLength: 1, maxLength: MAX_REASONS }),
      }),
    );
    const outcomeBody = fc
      .record({
        deployment: fc.string({ minLength: 1, maxLength: 40 }),
        epochMs: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        ian: fc.integer({ min: 0, max: 0xffff }),
        round: fc.integer({ min: 0, max: 0xffff_ffff }),
      })
      .chain((head) => outcome.map((o) => ({ ...head, ...o })));
    const message = fc.oneof(
      epoch.map((b) => ['epoch', b] as const),
      reconcile.map((b) => ['reconcile', b] as const),
      outcomeBody.map((b) => ['outcome', b] as const),
    );
    fc.assert(
      fc.property(message, ([kind, body]) => {
        const bytes = encodeSignedControl(kind as ControlKind, body as never, ledger.privateKey);
        expect(bytes.length).toBeLessThanOrEqual(CONTROL_MAX_BYTES);
        const back = openControl(bytes, { deployment: body.deployment, ledgerPublicKey: PUB });
        expect(back).toEqual({ kind, ...body });
      }),
      { numRuns: 300 },
    );
  });

  it('the largest reconcile (n = MAX_ROSTER, m = 255) fits CONTROL_MAX_BYTES exactly', () => {
    const b = encodeSignedControl(
      'reconcile',
      {
        ...RECONCILE,
        rosterSize: MAX_ROSTER,
        gatewayCount: 255,
        contributors: [MAX_ROSTER - 1],
        gateways: [255],
      },
      ledger.privateKey,
    );
    expect(b.length).toBe(CONTROL_MAX_BYTES);
    expect(openControl(b, ctx)).toMatchObject({ contributors: [MAX_ROSTER - 1], gateways: [255] });
  });

  it('signs with an Ed25519PrivateKey wrapper as with a KeyObject (same deterministic bytes)', () => {
    const wrapped = ed25519PrivateKey(exportRawPrivate(ledger.privateKey));
    expect(encodeSignedControl('epoch', EPOCH, wrapped)).toEqual(
      encodeSignedControl('epoch', EPOCH, ledger.privateKey),
    );
    expect(codeOf(() => encodeSignedControl('epoch', EPOCH, ledger.publicKey))).toBe('BAD_KEY');
  });
});

describe('control codec: refusals, each with its code', () => {
  const epoch = encodeSignedControl('epoch', EPOCH, ledger.privateKey);
  const reconcile = encodeSignedControl('reconcile', RECONCILE, ledger.privateKey);
  const outcome = encodeSignedControl('outcome', OUTCOME, ledger.privateKey);

  it('signed by another key, or not signed at all: BAD_SIGNATURE', () => {
    for (const good of [epoch, reconcile, outcome]) {
      const kind = (['epoch', 'reconcile', 'outcome'] as const)[good[1]! - 1]!;
      const body = { epoch: EPOCH, reconcile: RECONCILE, outcome: OUTCOME }[kind];
      expect(open(encodeSignedControl(kind, body as never, other.privateKey))).toBe(
        'BAD_SIGNATURE',
      );
      const unsigned = Buffer.from(good);
      unsigned.fill(0, unsigned.length - 64);
      expect(open(unsigned)).toBe('BAD_SIGNATURE');
      // The body's signature without the domain prefix does not verify either.
      const noDomain = Buffer.concat([
        good.subarray(0, good.length - 64),
        ed25519Sign(
          ed25519PrivateKey(exportRawPrivate(ledger.privateKey)),
          good.subarray(0, good.length - 64),
        ),
      ]);
      expect(open(noDomain)).toBe('BAD_SIGNATURE');
    }
  });

  it('any single flipped bit is refused (never accepted as another message)', () => {
    for (const good of [epoch, reconcile, outcome]) {
      for (let bit = 0; bit < good.length * 8; bit++) {
        const bad = Buffer.from(good);
        bad[bit >> 3]! ^= 1 << (bit & 7);
        expect(open(bad), `bit ${bit}`).toBeDefined();
      }
    }
  });

  it('a message for another deployment: WRONG_RECIPIENT, even signed by the right key', () => {
    const foreign = encodeSignedControl(
      'epoch',
      { ...EPOCH, deployment: 'elsewhere' },
      ledger.privateKey,
    );
    expect(open(foreign)).toBe('WRONG_RECIPIENT');
    expect(open(epoch, { ...ctx, deployment: 'elsewhere' })).toBe('WRONG_RECIPIENT');
  });

  it('size, version, kind, truncation and trailing bytes', () => {
    expect(open(Buffer.alloc(CONTROL_MAX_BYTES + 1, 1))).toBe('OVERSIZED_MESSAGE');
    expect(open(Buffer.alloc(0))).toBe('MALFORMED_MESSAGE');
    for (const v of [0, 2, 0x7b]) {
      const b = Buffer.from(epoch);
      b[0] = v;
      expect(open(b)).toBe('UNSUPPORTED_VERSION');
    }
    // JSON, as the old unsigned control messages were: '{' is no version this build speaks.
    expect(open(Buffer.from('{"round":0,"attempt":256,"contributors":[],"gateways":[1]}'))).toBe(
      'UNSUPPORTED_VERSION',
    );
    for (const k of [0, 4, 255]) {
      const b = Buffer.from(epoch);
      b[1] = k;
      expect(open(resign(b))).toBe('MALFORMED_MESSAGE');
    }
    for (const good of [epoch, reconcile, outcome]) {
      for (let n = 0; n < good.length; n++) expect(open(good.subarray(0, n)), `${n}`).toBeDefined();
      expect(
        open(
          resign(
            Buffer.concat([
              good.subarray(0, good.length - 64),
              Buffer.from([0]),
              good.subarray(-64),
            ]),
          ),
        ),
      ).toBe('MALFORMED_MESSAGE');
    }
  });

  it('epoch fields out of range', () => {
    const zeroRound = Buffer.from(epoch);
    zeroRound.writeUInt32BE(0, 42);
    expect(open(resign(zeroRound))).toBe('MALFORMED_MESSAGE');
    const hugeEpoch = Buffer.from(epoch);
    hugeEpoch.writeBigUInt64BE(2n ** 53n, 34);
    expect(open(resign(hugeEpoch))).toBe('MALFORMED_MESSAGE');
  });

  it('reconcile fields out of range, bitmap padding, roster of another deployment', () => {
    const at = (offset: number, v: number, width: 1 | 4 = 1) => {
      const b = Buffer.from(reconcile);
      if (width === 1) b[offset] = v;
      else b.writeUInt32BE(v, offset);
      return resign(b);
    };
    expect(open(at(48, 0))).toBe('MALFORMED_MESSAGE'); // attempt 0
    expect(open(at(49, 0))).toBe('MALFORMED_MESSAGE'); // m = 0
    expect(open(at(50, 0, 4))).toBe('MALFORMED_MESSAGE'); // n = 0
    expect(open(at(50, MAX_ROSTER + 1, 4))).toBe('MALFORMED_MESSAGE');
    expect(open(at(54, 0))).toBe('MALFORMED_MESSAGE'); // asks no gateway
    expect(open(at(54, 0b10_0000))).toBe('MALFORMED_MESSAGE'); // gateway 6 of m = 5
    expect(open(at(56, 0b110))).toBe('MALFORMED_MESSAGE'); // device 10 of n = 10
    // Claims a larger roster than the bytes hold: truncated.
    expect(open(at(50, 200, 4))).toBe('MALFORMED_MESSAGE');
    const limits = { ...ctx, rosterSize: 10, gatewayCount: 5 };
    expect(open(reconcile, limits)).toBeUndefined();
    expect(open(reconcile, { ...limits, rosterSize: 11 })).toBe('WRONG_RECIPIENT');
    expect(open(reconcile, { ...limits, gatewayCount: 7 })).toBe('WRONG_RECIPIENT');
  });

  it('outcome fields out of range, reasons not bounded UTF-8', () => {
    const with48 = (status: number, count?: number) => {
      const b = Buffer.from(outcome);
      b[48] = status;
      if (count !== undefined) b[49] = count;
      return resign(b);
    };
    expect(open(with48(3))).toBe('MALFORMED_MESSAGE'); // no status 3
    expect(open(with48(0))).toBe('MALFORMED_MESSAGE'); // complete with reasons
    expect(open(with48(1, MAX_REASONS + 1))).toBe('MALFORMED_MESSAGE');
    expect(open(with48(1, 1))).toBe('MALFORMED_MESSAGE'); // R has bytes past the one reason
    const complete = encodeSignedControl(
      'outcome',
      { ...OUTCOME, status: 'complete', reasons: [] },
      ledger.privateKey,
    );
    const failedNone = Buffer.from(complete);
    failedNone[48] = 2;
    expect(open(resign(failedNone))).toBe('MALFORMED_MESSAGE'); // failed without a reason
    const one = (reason: Buffer) => {
      const head = Buffer.from(complete.subarray(0, 52));
      head[48] = 1;
      head[49] = 1;
      head.writeUInt16BE(2 + reason.length, 50);
      const len = Buffer.alloc(2);
      len.writeUInt16BE(reason.length);
      return resign(Buffer.concat([head, len, reason, Buffer.alloc(64)]));
    };
    expect(open(one(Buffer.from('fine')))).toBeUndefined();
    expect(open(one(Buffer.alloc(0)))).toBe('MALFORMED_MESSAGE');
    expect(open(one(Buffer.alloc(MAX_REASON_BYTES + 1, 0x61)))).toBe('MALFORMED_MESSAGE');
    expect(open(one(Buffer.from([0xc3, 0x28])))).toBe('MALFORMED_MESSAGE'); // not UTF-8
    expect(open(one(Buffer.from([0xed, 0xa0, 0x80])))).toBe('MALFORMED_MESSAGE'); // a surrogate
    expect(open(one(Buffer.from('line\nbreak')))).toBe('MALFORMED_MESSAGE');
    expect(open(one(Buffer.from('\u001b[31mred')))).toBe('MALFORMED_MESSAGE');
  });

  it('random bytes never decode into an accepted message (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 400 }),
        fc.integer({ min: 1, max: 3 }),
        (raw, kind) => {
          const b = Buffer.from(raw);
          if (b.length > 1) {
            b[0] = 1;
            b[1] = kind;
          }
          expect(open(b)).toBeDefined();
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('control codec: the sender refuses what it cannot encode', () => {
  it('bodies out of range are INVALID_ARGUMENT, never a silently wrapped field', () => {
    const bad: [ControlKind, unknown][] = [
      ['epoch', { ...EPOCH, roundMs: 0 }],
      ['epoch', { ...EPOCH, epochMs: -1 }],
      ['epoch', { ...EPOCH, deployment: '' }],
      ['reconcile', { ...RECONCILE, attempt: 0 }],
      ['reconcile', { ...RECONCILE, attempt: 256 }],
      ['reconcile', { ...RECONCILE, attempt: -1 }],
      ['reconcile', { ...RECONCILE, contributors: [3, 2] }],
      ['reconcile', { ...RECONCILE, contributors: [2, 2] }],
      ['reconcile', { ...RECONCILE, contributors: [10] }],
      ['reconcile', { ...RECONCILE, gateways: [] }],
      ['reconcile', { ...RECONCILE, gateways: [0] }],
      ['reconcile', { ...RECONCILE, gateways: [6] }],
      ['reconcile', { ...RECONCILE, rosterSize: MAX_ROSTER + 1 }],
      ['outcome', { ...OUTCOME, status: 'complete' }],
      ['outcome', { ...OUTCOME, reasons: [] }],
      ['outcome', { ...OUTCOME, reasons: ['a\nb'] }],
      ['outcome', { ...OUTCOME, reasons: ['x'.repeat(MAX_REASON_BYTES + 1)] }],
      ['outcome', { ...OUTCOME, status: 'maybe' }],
    ];
    for (const [kind, body] of bad)
      expect(
        codeOf(() => encodeControlBody(kind, body as never)),
        JSON.stringify(body),
      ).toBe('INVALID_ARGUMENT');
  });

  it('boundedReasons makes any reasons encodable', () => {
    const reasons = boundedReasons([
      ...Array.from({ length: 40 }, (_, i) => `r${i}`),
      '',
      'é'.repeat(1000),
      'a\nb\u0000c',
    ]);
    expect(reasons).toHaveLength(MAX_REASONS);
    const long = boundedReasons(['é'.repeat(1000), 'a\nb'])!;
    expect(Buffer.byteLength(long[0]!)).toBe(MAX_REASON_BYTES);
    expect(long[1]).toBe('a b');
    expect(() =>
      encodeControlBody('outcome', { ...OUTCOME, reasons: boundedReasons(['', 'é'.repeat(999)]) }),
    ).not.toThrow();
  });

  it('decodeControl alone checks structure, not the signature', () => {
    const b = encodeSignedControl('epoch', EPOCH, other.privateKey);
    expect(decodeControl(b)).toMatchObject({ kind: 'epoch', epochMs: EPOCH.epochMs });
    expect(open(b)).toBe('BAD_SIGNATURE');
  });
});
