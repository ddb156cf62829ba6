import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { decodeElements, encodeElements } from '../../src/wire/fieldElements.js';
import {
  decodeDeviceReport,
  decodeGatewayPartial,
  decodeQuery,
  deviceReportSize,
  encodeGatewayPartialBody,
  encodeQueryBody,
  encodeReportHeader,
  gatewayPartialSize,
  querySize,
} from '../../src/wire/maas.js';

const P = (1n << 61n) - 1n;
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return 'no error';
};

describe('MaaS wire codecs', () => {
  const fields = {
    sealed: false,
    perDimension: false,
    width: 5,
    dimension: 0,
    gateway: 3,
    ian: 2,
    device: 17,
    round: 9,
    timestamp: 1_767_225_600_000,
  };
  const report = () =>
    Buffer.concat([
      encodeReportHeader(fields),
      encodeElements([1n, 2n, 3n, 4n, P - 1n], 8),
      Buffer.alloc(32, 7),
    ]);
  const expected = (w: number, sealed: boolean) => w * 8 + (sealed ? 28 : 0);

  it('device report: exact size, round trip, tag coverage', () => {
    const bytes = report();
    expect(bytes.length).toBe(deviceReportSize(5, 8, false));
    expect(bytes.length).toBe(96);
    expect(deviceReportSize(5, 8, true)).toBe(124);
    const d = decodeDeviceReport(bytes, expected);
    expect({ ...d, payload: undefined, tag: undefined, authenticated: undefined }).toMatchObject(
      fields,
    );
    expect(d.authenticated.length).toBe(64);
    expect(decodeElements(d.payload, 5, 8, P)).toEqual([1n, 2n, 3n, 4n, P - 1n]);
  });

  it('rejects truncation, trailing bytes, unknown version, flags and widths with stable codes', () => {
    const bytes = report();
    for (let cut = 0; cut < bytes.length; cut += 7) {
      expect(code(() => decodeDeviceReport(bytes.subarray(0, cut), expected))).toBe(
        ErrorCode.MALFORMED_MESSAGE,
      );
    }
    expect(code(() => decodeDeviceReport(Buffer.concat([bytes, Buffer.of(0)]), expected))).toBe(
      ErrorCode.MALFORMED_MESSAGE,
    );
    const v = Buffer.from(bytes);
    v[0] = 2;
    expect(code(() => decodeDeviceReport(v, expected))).toBe(ErrorCode.UNSUPPORTED_VERSION);
    const f = Buffer.from(bytes);
    f[2] = 0x80;
    expect(code(() => decodeDeviceReport(f, expected))).toBe(ErrorCode.MALFORMED_MESSAGE);
    expect(code(() => decodeDeviceReport(Buffer.alloc(2 << 20), expected))).toBe(
      ErrorCode.OVERSIZED_MESSAGE,
    );
  });

  it('never throws anything but a PrivaggError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const c = code(() => decodeDeviceReport(bytes, expected));
        expect(typeof c).toBe('string');
        const c2 = code(() => decodeGatewayPartial(bytes, 8, 64));
        expect(typeof c2).toBe('string');
        const c3 = code(() => decodeQuery(bytes, 64));
        expect(typeof c3).toBe('string');
      }),
    );
  });

  it('field elements ≥ p are SHARE_OUT_OF_RANGE; wide primes round-trip', () => {
    expect(code(() => decodeElements(Buffer.alloc(8, 0xff), 1, 8, P))).toBe(
      ErrorCode.SHARE_OUT_OF_RANGE,
    );
    const p127 = (1n << 127n) - 1n;
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 0n, max: p127 - 1n }), { maxLength: 6 }), (xs) => {
        expect(decodeElements(encodeElements(xs, 16), xs.length, 16, p127)).toEqual(xs);
      }),
    );
  });

  it('gateway partial: contributor bitmap round-trips; stray bits are refused', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 70 })
          .chain((n) =>
            fc.tuple(fc.constant(n), fc.subarray(Array.from({ length: n }, (_, i) => i))),
          ),
        ([n, contributors]) => {
          const body = encodeGatewayPartialBody(
            { attempt: 1, gateway: 2, ian: 3, round: 4, timestamp: 5, rosterSize: n, contributors },
            encodeElements([9n, 8n], 8),
            2,
          );
          const bytes = Buffer.concat([body, Buffer.alloc(64)]);
          expect(bytes.length).toBe(gatewayPartialSize(n, 2, 8, 64));
          const d = decodeGatewayPartial(bytes, 8, 64);
          // The tag length is the deployment's: the same bytes are not a paper-mode partial.
          expect(code(() => decodeGatewayPartial(bytes, 8, 32))).toBe(ErrorCode.MALFORMED_MESSAGE);
          expect(d.contributors).toEqual(contributors);
          expect(d.attempt).toBe(1);
          if (n % 8 !== 0) {
            const bad = Buffer.from(bytes);
            bad[24 + Math.floor(n / 8)]! |= 0x80;
            expect(code(() => decodeGatewayPartial(bad, 8, 64))).toBe(ErrorCode.MALFORMED_MESSAGE);
          }
        },
      ),
    );
  });

  it('query: 24 bytes and its tag (88 signed); empty masks, zero IANs and inverted windows are malformed', () => {
    const q = {
      oem: 1,
      number: 2,
      startRound: 0,
      endRound: 9,
      dimensionMask: 0b11111,
      timestamp: 42,
    };
    const bytes = Buffer.concat([encodeQueryBody(q), Buffer.alloc(64)]);
    expect(bytes.length).toBe(querySize(64));
    expect(querySize(64)).toBe(88);
    expect(decodeQuery(bytes, 64)).toMatchObject(q);
    expect(code(() => decodeQuery(bytes, 32))).toBe(ErrorCode.MALFORMED_MESSAGE);
    for (const bad of [{ dimensionMask: 0 }, { number: 0 }, { startRound: 10 }]) {
      const b = Buffer.concat([encodeQueryBody({ ...q, ...bad }), Buffer.alloc(64)]);
      expect(code(() => decodeQuery(b, 64))).toBe(ErrorCode.MALFORMED_MESSAGE);
    }
  });
});
