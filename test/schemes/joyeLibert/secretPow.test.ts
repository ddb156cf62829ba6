import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { modPow } from '../../../src/schemes/joyeLibert/modArith.js';
import { secretPow } from '../../../src/schemes/joyeLibert/secretPow.js';

/** OpenSSL's constant-time exponentiation must give exactly the bigint path's value. */
describe('secretPow (OpenSSL via node:crypto)', () => {
  const odd = (bits: number) =>
    fc.bigInt({ min: 1n << BigInt(bits - 1), max: (1n << BigInt(bits)) - 1n }).map((x) => x | 1n);

  it('equals modPow on odd moduli of 1024 and 4096 bits, any base and exponent', () => {
    for (const bits of [1024, 4096]) {
      fc.assert(
        fc.property(
          odd(bits),
          fc.bigInt({ min: 0n, max: 1n << 4200n }),
          fc.bigInt({ min: 1n, max: 1n << BigInt(bits) }),
          (m, b, e) => {
            expect(secretPow(b, e, m)).toBe(modPow(b, e, m));
          },
        ),
        { numRuns: bits === 4096 ? 8 : 25 },
      );
    }
  });

  it('edge cases take the bigint path and still agree: base 0 or 1, exponent 0, an even or tiny modulus, a wide exponent', () => {
    const m = (1n << 1023n) + 12345n;
    const cases: [bigint, bigint, bigint][] = [
      [0n, 5n, m | 1n],
      [1n, 5n, m | 1n],
      [7n, 0n, m | 1n],
      [7n, 99n, 1n << 600n],
      [3n, 1n << 2000n, m | 1n],
      [5n, 3n, 35n],
    ];
    for (const [b, e, mod] of cases) expect(secretPow(b, e, mod)).toBe(modPow(b, e, mod));
  });
});
