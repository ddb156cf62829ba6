import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/math/random.js';
import { decodePartial, decodeReport } from '../../../src/schemes/joyeLibert/codec.js';
import { joyeLibertScheme } from '../../../src/schemes/joyeLibert/index.js';
import { decodePublicSetup } from '../../../src/schemes/joyeLibert/publicSetup.js';
import { aggregatorAt, CENTER, deviceAt } from '../../../src/schemes/scheme.js';
import { closeAndDeliver, columnSums, deploy, NOW, population, reportAll } from './helpers.js';

describe('joye-libert on the scheme seam', () => {
  it('parses {} to the defaults and describes itself', () => {
    expect(joyeLibertScheme.params.parse({})).toEqual({
      modulusBits: 2048,
      scale: 1,
      freshnessWindowMs: 30_000,
    });
    expect(joyeLibertScheme.id).toBe('joye-libert');
    expect(joyeLibertScheme.status).toBe('standard');
    expect(() => joyeLibertScheme.params.parse({ modulusBits: 256 })).toThrow();
    expect(() => joyeLibertScheme.params.parse({ modulusBits: 520 })).toThrow(); // not a multiple of 16
    const c = joyeLibertScheme.configure(
      joyeLibertScheme.params.parse({}),
      population(2, 10, [1, 2, 3, 4, 5]),
    );
    expect(c.properties.exact).toBe(true);
    expect(c.properties.deviceFaults).toMatch(/one missing device fails the round/);
    // 2048-bit N, 5 dimensions: elements of N² are 512 bytes.
    expect(c.sizes).toEqual({ report: 24 + 5 * 512 + 32, partial: 28 + 2 + 5 * 512 + 64 });
    expect(c.sizes).toEqual({ report: 2616, partial: 2654 });
  });

  it('recovers the exact sum of random readings (property, 512-bit N)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.string({ maxLength: 8 }),
        (n, maxes, round, seed) => {
          const d = deploy(population(1, n, maxes), `prop/${seed}`);
          const draw = seededRandom(`readings/${seed}/${round}`);
          const readings = Array.from({ length: n }, () =>
            maxes.map((m) => draw.nextUint32() % (m + 1)),
          );
          d.aggregators[0]!.open(round, NOW);
          const sent = reportAll(d, 0, round, readings);
          for (const [e] of sent) expect(e!.bytes.length).toBe(d.config.sizes.report);
          const partial = closeAndDeliver(d, 0, round);
          expect(partial.bytes.length).toBe(d.config.sizes.partial);
          const r = d.center.recover(0, round, NOW + 3);
          expect(r.status).toBe('recovered');
          if (r.status !== 'recovered') return;
          expect(r.values.map((v) => v.estimate)).toEqual(columnSums(readings, maxes.length));
          expect(r.values.every((v) => v.standardError === 0)).toBe(true);
          expect(r.contributors).toEqual(Array.from({ length: n }, (_, i) => i));
        },
      ),
      { numRuns: 12 },
    );
  });

  it('runs groups independently, over several rounds, with a fixed-point scale', () => {
    const d = deploy(population(2, 3, [10, 1]), 'groups', { modulusBits: 512, scale: 100 });
    const readings = [
      [
        [1.25, 0.5],
        [2.5, 0.01],
        [10, 1],
      ],
      [
        [0, 0],
        [3.333, 0.999],
        [7.005, 0.125],
      ],
    ];
    for (const round of [0, 1]) {
      for (const g of [0, 1]) {
        d.aggregators[g]!.open(round, NOW);
        reportAll(d, g, round, readings[g]!);
        closeAndDeliver(d, g, round);
      }
    }
    for (const round of [0, 1]) {
      const [a, b] = [d.center.recover(0, round, NOW), d.center.recover(1, round, NOW)];
      expect(a.status === 'recovered' && a.values.map((v) => v.estimate)).toEqual([13.75, 1.51]);
      // round(x·100) per reading, ties up: 0 + 333 (333.3) + 701 (700.5); 0 + 100 (99.9) + 13 (12.5).
      expect(b.status === 'recovered' && b.values.map((v) => v.estimate)).toEqual([10.34, 1.13]);
    }
  });

  it('gives the same public setup, key blobs and ciphertexts for the same seed', () => {
    const pop = population(1, 2, [50, 50]);
    const [a, b] = [deploy(pop, 'vectors'), deploy(pop, 'vectors')];
    expect(Buffer.from(a.ta.publicSetup).equals(Buffer.from(b.ta.publicSetup))).toBe(true);
    for (const who of [deviceAt(0, 1), aggregatorAt(0, 0), CENTER])
      expect(Buffer.from(a.ta.keysOf(who)).equals(Buffer.from(b.ta.keysOf(who)))).toBe(true);
    const [ra] = a.devices[0]![1]!.report(9, [12, 34], NOW, a.rng);
    const [rb] = b.devices[0]![1]!.report(9, [12, 34], NOW, b.rng);
    expect(Buffer.from(ra!.bytes).equals(Buffer.from(rb!.bytes))).toBe(true);
    const c = deploy(pop, 'other');
    expect(Buffer.from(c.ta.publicSetup).equals(Buffer.from(a.ta.publicSetup))).toBe(false);
    // The public setup holds N (512 bits here), the deployment id and the aggregators'
    // public keys — and nothing secret.
    const pub = decodePublicSetup(a.ta.publicSetup, 512, 1);
    expect(pub.deployment.length).toBe(16);
    expect(pub.aggregatorKeys).toHaveLength(1);
    expect(Object.keys(JSON.parse(Buffer.from(a.ta.publicSetup).toString()))).toEqual([
      'scheme',
      'version',
      'modulusBits',
      'modulus',
      'deployment',
      'aggregatorKeys',
    ]);
  });

  it('encodes what the codecs decode (report and partial layouts)', () => {
    const d = deploy(population(1, 9, [5, 5]), 'codec');
    d.aggregators[0]!.open(4, NOW);
    const e = reportAll(d, 0, 4, [[1, 2]])[0]![0]!;
    const shape = {
      modulusBits: 512,
      modulusSquared: decodePublicSetup(d.ta.publicSetup, 512, 1).modulus ** 2n,
      dims: 2,
      devices: 9,
    };
    const { report } = decodeReport(e.bytes, shape);
    expect({ ...report, ciphertexts: report.ciphertexts.length }).toEqual({
      group: 0,
      sender: 0,
      round: 4,
      timestampMs: NOW,
      ciphertexts: 2,
    });
    const p = d.aggregators[0]!.close(4, NOW + 1, d.rng)[0]!;
    const { partial } = decodePartial(p.bytes, shape);
    expect(partial.contributors).toEqual([0]);
    expect(p.bytes.length).toBe(28 + 2 + 2 * 128 + 64);
  });

  it('works at the default 2048-bit modulus', () => {
    const d = deploy(population(1, 2, [100]), 'big', {});
    expect(decodePublicSetup(d.ta.publicSetup, 2048, 1).modulus.toString(2)).toHaveLength(2048);
    d.aggregators[0]!.open(0, NOW);
    const sent = reportAll(d, 0, 0, [[40], [2]]);
    expect(sent[0]![0]!.bytes.length).toBe(24 + 512 + 32);
    closeAndDeliver(d, 0, 0);
    const r = d.center.recover(0, 0, NOW);
    expect(r.status === 'recovered' && r.values[0]!.estimate).toBe(42);
  }, 20_000);
});
