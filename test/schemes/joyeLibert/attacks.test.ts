import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ed25519Sign } from '../../../src/crypto/ed25519.js';
import { macTag } from '../../../src/crypto/mac.js';
import { ErrorCode, isPrivaggError } from '../../../src/errors.js';
import {
  decryptSum,
  encryptValue,
  multiplyCiphertexts,
} from '../../../src/schemes/joyeLibert/cipher.js';
import {
  decodePartial,
  decodeReport,
  encodePartialBody,
  encodeReportBody,
  type Shape,
} from '../../../src/schemes/joyeLibert/codec.js';
import { hashToGroup } from '../../../src/schemes/joyeLibert/hashToGroup.js';
import {
  aggregatorKeysOf,
  centerKeysOf,
  deviceKeysOf,
} from '../../../src/schemes/joyeLibert/keys.js';
import { decodePublicSetup } from '../../../src/schemes/joyeLibert/publicSetup.js';
import { decodeKeyBlob } from '../../../src/schemes/keyBlob.js';
import { aggregatorAt, CENTER, deviceAt, type Envelope } from '../../../src/schemes/scheme.js';
import {
  closeAndDeliver,
  columnSums,
  type Deployed,
  deploy,
  inbound,
  NOW,
  population,
  reportAll,
} from './helpers.js';

const N_DEVICES = 3;
const MAXES = [100, 7];
const READINGS = [
  [10, 1],
  [20, 2],
  [30, 3],
];
const SUMS = columnSums(READINGS, 2);

function fresh(seed = 'attacks'): Deployed {
  return deploy(population(2, N_DEVICES, MAXES), seed);
}

function publicOf(d: Deployed) {
  return decodePublicSetup(d.ta.publicSetup, 512, 2);
}

function shapeOf(d: Deployed): Shape {
  const N = publicOf(d).modulus;
  return { modulusBits: 512, modulusSquared: N * N, dims: 2, devices: N_DEVICES };
}

function sumsOf(d: Deployed, g: number, round: number): number[] | string {
  const r = d.center.recover(g, round, NOW);
  return r.status === 'recovered'
    ? r.values.map((v) => v.estimate)
    : `${r.status}: ${'reason' in r ? r.reason : ''}`;
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    return isPrivaggError(e) ? e.code : `not a PrivaggError: ${String(e)}`;
  }
}

describe('Joye–Libert has no fault tolerance, and says so', () => {
  it('fails a round with a missing device instead of returning a wrong sum', () => {
    const d = fresh();
    d.aggregators[0]!.open(1, NOW);
    reportAll(d, 0, 1, READINGS, new Set([1]));
    closeAndDeliver(d, 0, 1);
    const r = d.center.recover(0, 1, NOW);
    expect(r.status).toBe('failed');
    if (r.status !== 'failed') return;
    expect(r.reason).toBe('Joye–Libert cannot decrypt without every device: 1 device(s) missing');
    expect(r.detail).toEqual({ missing: [1] });
    // Asked again, the same answer (the center is deterministic).
    expect(d.center.recover(0, 1, NOW)).toEqual(r);
  });

  it('fails a round whose partial never arrived, and recovers it once it does', () => {
    const d = fresh();
    d.aggregators[0]!.open(2, NOW);
    reportAll(d, 0, 2, READINGS);
    const r = d.center.recover(0, 2, NOW);
    expect(r.status === 'failed' && r.reason).toMatch(/no partial/);
    closeAndDeliver(d, 0, 2);
    expect(sumsOf(d, 0, 2)).toEqual(SUMS);
  });

  it('fails a round in which no device reported', () => {
    const d = fresh();
    d.aggregators[1]!.open(0, NOW);
    closeAndDeliver(d, 1, 0);
    expect(sumsOf(d, 1, 0)).toBe(
      'failed: Joye–Libert cannot decrypt without every device: 3 device(s) missing',
    );
  });
});

describe('reports an aggregator refuses', () => {
  it('a replayed report: REPLAY, and the sum unchanged', () => {
    const d = fresh();
    d.aggregators[0]!.open(3, NOW);
    const sent = reportAll(d, 0, 3, READINGS);
    const again = d.aggregators[0]!.receive(inbound(deviceAt(0, 2), sent[2]![0]!), NOW + 5, d.rng);
    expect(again.verdict).toMatchObject({ ok: false, code: ErrorCode.REPLAY });
    closeAndDeliver(d, 0, 3);
    expect(sumsOf(d, 0, 3)).toEqual(SUMS);
    expect(d.aggregators[0]!.counters()).toMatchObject({ accepted: 3, REPLAY: 1 });
  });

  it('a flipped bit anywhere: refused, and the round recovers with the genuine report', () => {
    const d = fresh('flips');
    const size = d.config.sizes.report!;
    let round = 100;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: size - 1 }),
        fc.integer({ min: 0, max: 7 }),
        (at, bit) => {
          round++;
          d.aggregators[0]!.open(round, NOW);
          const [genuine] = d.devices[0]![0]!.report(round, READINGS[0]!, NOW, d.rng);
          const bytes = Buffer.from(genuine!.bytes);
          bytes[at]! ^= 1 << bit;
          const v = d.aggregators[0]!.receive(
            { from: deviceAt(0, 0), channel: 'report', bytes },
            NOW,
            d.rng,
          ).verdict;
          expect(v.ok).toBe(false);
          if (v.ok) return;
          // Past the 24-byte header only the tag or the element range can catch it.
          const expected =
            at >= 24
              ? [ErrorCode.BAD_MAC, ErrorCode.MALFORMED_MESSAGE]
              : [
                  ErrorCode.UNSUPPORTED_VERSION,
                  ErrorCode.MALFORMED_MESSAGE,
                  ErrorCode.WRONG_RECIPIENT,
                  ErrorCode.UNKNOWN_SENDER,
                  ErrorCode.BAD_MAC,
                ];
          expect(expected).toContain(v.code);
          reportAll(d, 0, round, READINGS);
          closeAndDeliver(d, 0, round);
          expect(sumsOf(d, 0, round)).toEqual(SUMS);
        },
      ),
      { numRuns: 15 },
    );
  });

  it('a truncated or padded report: MALFORMED_MESSAGE', () => {
    const d = fresh();
    d.aggregators[0]!.open(4, NOW);
    const [e] = d.devices[0]![0]!.report(4, READINGS[0]!, NOW, d.rng);
    for (const bytes of [
      e!.bytes.subarray(0, e!.bytes.length - 1),
      Buffer.concat([e!.bytes, Buffer.alloc(1)]),
    ]) {
      const v = d.aggregators[0]!.receive(
        { from: deviceAt(0, 0), channel: 'report', bytes },
        NOW,
        d.rng,
      ).verdict;
      expect(v).toMatchObject({ ok: false, code: ErrorCode.MALFORMED_MESSAGE });
    }
  });

  it("device i's report relabelled as device j's: refused either way", () => {
    const d = fresh();
    d.aggregators[0]!.open(5, NOW);
    const [e] = d.devices[0]![1]!.report(5, READINGS[1]!, NOW, d.rng);
    // The same bytes, arriving on device 2's channel: the transport and the bytes disagree.
    const asIs = d.aggregators[0]!.receive(inbound(deviceAt(0, 2), e!), NOW, d.rng).verdict;
    expect(asIs).toMatchObject({ ok: false, code: ErrorCode.UNKNOWN_SENDER });
    // The sender field rewritten to 2 as well: device 2's link key does not verify device 1's tag.
    const bytes = Buffer.from(e!.bytes);
    bytes.writeUInt32BE(2, 6);
    const rewritten = d.aggregators[0]!.receive(
      { from: deviceAt(0, 2), channel: 'report', bytes },
      NOW,
      d.rng,
    );
    expect(rewritten.verdict).toMatchObject({ ok: false, code: ErrorCode.BAD_MAC });
    reportAll(d, 0, 5, READINGS);
    closeAndDeliver(d, 0, 5);
    expect(sumsOf(d, 0, 5)).toEqual(SUMS);
  });

  it('wrong round, stale timestamp, unknown device, another group, another channel', () => {
    const d = fresh();
    const agg = d.aggregators[0]!;
    agg.open(6, NOW);
    const dev = d.devices[0]![0]!;
    const send = (bytes: Uint8Array, from = deviceAt(0, 0), channel = 'report', now = NOW) =>
      agg.receive({ from, channel, bytes }, now, d.rng).verdict;
    expect(send(dev.report(7, [1, 1], NOW, d.rng)[0]!.bytes)).toMatchObject({
      code: ErrorCode.WRONG_ROUND,
    });
    expect(send(dev.report(6, [1, 1], NOW - 60_000, d.rng)[0]!.bytes)).toMatchObject({
      code: ErrorCode.STALE_TIMESTAMP,
    });
    const fromOtherGroup = d.devices[1]![0]!.report(6, [1, 1], NOW, d.rng)[0]!.bytes;
    expect(send(fromOtherGroup, deviceAt(1, 0))).toMatchObject({ code: ErrorCode.WRONG_RECIPIENT });
    const bytes = Buffer.from(dev.report(6, [1, 1], NOW, d.rng)[0]!.bytes);
    bytes.writeUInt32BE(N_DEVICES, 6);
    expect(send(bytes, deviceAt(0, N_DEVICES))).toMatchObject({ code: ErrorCode.UNKNOWN_SENDER });
    expect(
      send(dev.report(6, [1, 1], NOW, d.rng)[0]!.bytes, deviceAt(0, 0), 'partial'),
    ).toMatchObject({
      code: ErrorCode.MALFORMED_MESSAGE,
    });
    // A round closed is closed.
    agg.close(6, NOW, d.rng);
    expect(send(dev.report(6, [1, 1], NOW, d.rng)[0]!.bytes)).toMatchObject({
      code: ErrorCode.WRONG_ROUND,
    });
    expect(agg.counters()).toMatchObject({
      WRONG_ROUND: 2,
      STALE_TIMESTAMP: 1,
      WRONG_RECIPIENT: 1,
      UNKNOWN_SENDER: 1,
      MALFORMED_MESSAGE: 1,
    });
  });

  it('a tagged ciphertext that is not a unit mod N² (0, a multiple of N): MALFORMED_MESSAGE', () => {
    const d = fresh();
    const shape = shapeOf(d);
    const { deployment, modulus } = publicOf(d);
    const keys = deviceKeysOf(0, 0, d.ta.keysOf(deviceAt(0, 0)), deployment);
    d.aggregators[0]!.open(8, NOW);
    for (const bad of [0n, modulus * 5n]) {
      const body = encodeReportBody(
        { group: 0, sender: 0, round: 8, timestampMs: NOW, ciphertexts: [bad, 1n] },
        shape,
      );
      const bytes = Buffer.concat([
        body,
        macTag({ algorithm: 'hmac-sha256', bytes: Buffer.from(keys.link) }, body),
      ]);
      const v = d.aggregators[0]!.receive(
        { from: deviceAt(0, 0), channel: 'report', bytes },
        NOW,
        d.rng,
      ).verdict;
      expect(v).toMatchObject({ ok: false, code: ErrorCode.MALFORMED_MESSAGE });
    }
    reportAll(d, 0, 8, READINGS);
    closeAndDeliver(d, 0, 8);
    expect(sumsOf(d, 0, 8)).toEqual(SUMS);
  });

  it('a device refuses to encrypt two different readings in one round', () => {
    const d = fresh();
    const dev = d.devices[0]![0]!;
    const [a] = dev.report(9, [1, 2], NOW, d.rng);
    const [b] = dev.report(9, [1, 2], NOW, d.rng);
    expect(Buffer.from(a!.bytes).equals(Buffer.from(b!.bytes))).toBe(true);
    expect(codeOf(() => dev.report(9, [1, 3], NOW, d.rng))).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(codeOf(() => dev.report(10, [101, 0], NOW, d.rng))).toBe(ErrorCode.INVALID_ARGUMENT);
  });
});

describe('partials the center refuses or cannot decrypt', () => {
  function roundWithPartial(d: Deployed, round: number): Envelope {
    d.aggregators[0]!.open(round, NOW);
    reportAll(d, 0, round, READINGS);
    return d.aggregators[0]!.close(round, NOW, d.rng)[0]!;
  }

  it('a forged signature, another aggregator’s signature, the wrong sender: refused; the genuine one then recovers', () => {
    const d = fresh();
    const p = roundWithPartial(d, 11);
    const shape = shapeOf(d);
    const { deployment } = publicOf(d);
    const flipped = Buffer.from(p.bytes);
    flipped[flipped.length - 1]! ^= 0x01;
    const from = aggregatorAt(0, 0);
    expect(
      d.center.receive({ from, channel: 'partial', bytes: flipped }, NOW).verdict,
    ).toMatchObject({
      code: ErrorCode.BAD_SIGNATURE,
    });
    // Group 1's aggregator signs group 0's products.
    const { body } = decodePartial(p.bytes, shape);
    const other = aggregatorKeysOf(
      aggregatorAt(1, 0),
      d.ta.keysOf(aggregatorAt(1, 0)),
      deployment,
      N_DEVICES,
    );
    const bytes = Buffer.concat([body, ed25519Sign(other.signingSeed, body)]);
    expect(d.center.receive({ from, channel: 'partial', bytes }, NOW).verdict).toMatchObject({
      code: ErrorCode.BAD_SIGNATURE,
    });
    expect(
      d.center.receive({ from: aggregatorAt(1, 0), channel: 'partial', bytes: p.bytes }, NOW)
        .verdict,
    ).toMatchObject({ code: ErrorCode.UNKNOWN_SENDER });
    expect(sumsOf(d, 0, 11)).toMatch(/no partial/);
    expect(d.center.receive({ from, channel: 'partial', bytes: p.bytes }, NOW).verdict.ok).toBe(
      true,
    );
    expect(
      d.center.receive({ from, channel: 'partial', bytes: p.bytes }, NOW).verdict,
    ).toMatchObject({
      code: ErrorCode.REPLAY,
    });
    expect(sumsOf(d, 0, 11)).toEqual(SUMS);
    expect(d.center.counters()).toMatchObject({
      accepted: 1,
      BAD_SIGNATURE: 2,
      UNKNOWN_SENDER: 1,
      REPLAY: 1,
    });
  });

  it('a lying aggregator that leaves a device out but claims all: "decrypted sum out of range"', () => {
    const d = fresh();
    const shape = shapeOf(d);
    const { deployment, modulus } = publicOf(d);
    d.aggregators[0]!.open(12, NOW);
    const sent = reportAll(d, 0, 12, READINGS);
    const ys = sent.map((s) => decodeReport(s[0]!.bytes, shape).report.ciphertexts);
    const products = [0, 1].map((j) => multiplyCiphertexts([ys[0]![j]!, ys[1]![j]!], modulus));
    const signer = aggregatorKeysOf(
      aggregatorAt(0, 0),
      d.ta.keysOf(aggregatorAt(0, 0)),
      deployment,
      N_DEVICES,
    );
    const body = encodePartialBody(
      { group: 0, sender: 0, round: 12, timestampMs: NOW, contributors: [0, 1, 2], products },
      shape,
    );
    const bytes = Buffer.concat([body, ed25519Sign(signer.signingSeed, body)]);
    expect(
      d.center.receive({ from: aggregatorAt(0, 0), channel: 'partial', bytes }, NOW).verdict.ok,
    ).toBe(true);
    expect(sumsOf(d, 0, 12)).toMatch(/^failed: decrypted sum out of range in d0/);
  });

  it('a device encrypting a reading above max (it can: only the sum is range-checked)', () => {
    const d = fresh();
    const shape = shapeOf(d);
    const { deployment, modulus } = publicOf(d);
    const keys = deviceKeysOf(0, 2, d.ta.keysOf(deviceAt(0, 2)), deployment);
    d.aggregators[0]!.open(13, NOW);
    reportAll(d, 0, 13, READINGS, new Set([2]));
    const ciphertexts = [10n ** 6n, 3n].map((x, j) =>
      encryptValue(
        x,
        keys.s,
        hashToGroup({ deployment, group: 0, round: 13, dimension: j }, modulus),
        modulus,
      ),
    );
    const body = encodeReportBody(
      { group: 0, sender: 2, round: 13, timestampMs: NOW, ciphertexts },
      shape,
    );
    const bytes = Buffer.concat([
      body,
      macTag({ algorithm: 'hmac-sha256', bytes: Buffer.from(keys.link) }, body),
    ]);
    expect(
      d.aggregators[0]!.receive({ from: deviceAt(0, 2), channel: 'report', bytes }, NOW, d.rng)
        .verdict.ok,
    ).toBe(true);
    closeAndDeliver(d, 0, 13);
    expect(sumsOf(d, 0, 13)).toMatch(
      /^failed: decrypted sum out of range in d0: above n·max·scale = 300/,
    );
  });
});

describe('keys', () => {
  it('a role refuses a key blob that is not its own: BAD_KEY', () => {
    const d = fresh();
    const other = deploy(population(2, N_DEVICES, MAXES), 'another deployment');
    const blob = (who: Parameters<typeof d.ta.keysOf>[0]) => d.ta.keysOf(who);
    expect(codeOf(() => d.roles.device(0, 0, blob(aggregatorAt(0, 0))))).toBe(ErrorCode.BAD_KEY);
    expect(codeOf(() => d.roles.device(0, 1, blob(deviceAt(0, 0))))).toBe(ErrorCode.BAD_KEY);
    expect(codeOf(() => d.roles.device(1, 0, blob(deviceAt(0, 0))))).toBe(ErrorCode.BAD_KEY);
    expect(codeOf(() => d.roles.aggregator(aggregatorAt(0, 0), blob(deviceAt(0, 0))))).toBe(
      ErrorCode.BAD_KEY,
    );
    expect(codeOf(() => d.roles.aggregator(aggregatorAt(1, 0), blob(aggregatorAt(0, 0))))).toBe(
      ErrorCode.BAD_KEY,
    );
    expect(codeOf(() => d.roles.center(blob(aggregatorAt(0, 0))))).toBe(ErrorCode.BAD_KEY);
    expect(codeOf(() => d.roles.center(Buffer.from('not json')))).toBe(ErrorCode.BAD_KEY);
    // The right address, but another deployment's blob.
    expect(codeOf(() => d.roles.device(0, 0, other.ta.keysOf(deviceAt(0, 0))))).toBe(
      ErrorCode.BAD_KEY,
    );
    expect(codeOf(() => d.roles.center(other.ta.keysOf(CENTER)))).toBe(ErrorCode.BAD_KEY);
    // A public setup of another size or scheme.
    expect(codeOf(() => d.config.roles(Buffer.from('{}')))).toBe(ErrorCode.BAD_KEY);
    const big = deploy(population(2, N_DEVICES, MAXES), 'x', { modulusBits: 528 });
    expect(codeOf(() => d.config.roles(big.ta.publicSetup))).toBe(ErrorCode.BAD_KEY);
    expect(codeOf(() => d.ta.keysOf({ role: 'querier', group: 0, index: 0 }))).toBe(
      ErrorCode.INVALID_ARGUMENT,
    );
    expect(codeOf(() => d.ta.keysOf(deviceAt(0, N_DEVICES)))).toBe(ErrorCode.INVALID_ARGUMENT);
  });

  it('each blob holds only its role’s secrets', () => {
    const d = fresh();
    const names = (who: Parameters<typeof d.ta.keysOf>[0]) =>
      Object.keys(decodeKeyBlob('joye-libert', who, d.ta.keysOf(who))).sort();
    expect(names(deviceAt(0, 1))).toEqual(['deployment', 'link', 's']);
    expect(names(aggregatorAt(0, 0))).toEqual([
      'deployment',
      'device0',
      'device1',
      'device2',
      'signing',
    ]);
    expect(names(CENTER)).toEqual(['deployment', 'group0', 'group1']);
  });

  it('an aggregator alone cannot decrypt: (Y − 1)/N of its product is not the sum; with s_0 it is', () => {
    const d = fresh();
    const shape = shapeOf(d);
    const { deployment, modulus } = publicOf(d);
    d.aggregators[0]!.open(14, NOW);
    const sent = reportAll(d, 0, 14, READINGS);
    const p = d.aggregators[0]!.close(14, NOW, d.rng)[0]!;
    const { products } = decodePartial(p.bytes, shape).partial;
    for (const [j, y] of products.entries()) {
      // Y = (1 + N·Σx) · H^{Σ s_i}: not 1 + N·x, and its "(Y − 1)/N" is nowhere near Σx.
      expect((y - 1n) % modulus).not.toBe(0n);
      expect((y - 1n) / modulus).not.toBe(BigInt(SUMS[j]!));
      // Nor does one device's ciphertext reveal its reading.
      const one = decodeReport(sent[0]![0]!.bytes, shape).report.ciphertexts[j]!;
      expect((one - 1n) % modulus).not.toBe(0n);
      // The center's key is what opens it.
      const h = hashToGroup({ deployment, group: 0, round: 14, dimension: j }, modulus);
      const S = centerKeysOf(d.ta.keysOf(CENTER), deployment, 2).sumOfKeys[0]!;
      expect(decryptSum(y, S, h, modulus)).toBe(BigInt(SUMS[j]!));
    }
  });
});
