import { constantTimeEqual } from '../../crypto/bytes.js';

/**
 * Batch verification of a round's tags, with localisation.
 *
 * 'each' (privagg's default): HMAC has no algebraic batch check, so every tag is
 * recomputed and compared in constant time; the failing messages are exactly those
 * whose comparison fails.
 *
 * 'paper-sum' (the paper's eq. 7/9): tags are read as 256-bit integers and the batch
 * passes if Σ received = Σ expected (mod 2^256). That is cheaper to *compare* but says
 * nothing about which message is bad, and it passes when two messages' tags are
 * swapped. When it fails, we bisect: each half is checked the same way until single
 * messages remain, so the bad ones are still named (O(b·log n) sub-checks for b bad).
 */
export interface TagCheck {
  received: Uint8Array;
  /** Recomputes what the tag should be; called at most once per item. */
  expected(): Uint8Array;
}

const MOD_256 = 1n << 256n;

function asInteger(tag: Uint8Array): bigint {
  return tag.length === 0 ? 0n : BigInt(`0x${Buffer.from(tag).toString('hex')}`);
}

/** Indices of the items that fail verification. */
export function findBadTags(items: readonly TagCheck[], mode: 'each' | 'paper-sum'): number[] {
  return findBadTagsAt(
    items.length,
    (i) => items[i]!.received,
    (i) => items[i]!.expected(),
    mode,
  );
}

/**
 * As findBadTags, over items named by index: a gateway checks a round of thousands of
 * messages without building a TagCheck object and closure per message.
 * `expectedAt(i)` is called at most once per index.
 */
export function findBadTagsAt(
  count: number,
  receivedAt: (i: number) => Uint8Array,
  expectedAt: (i: number) => Uint8Array,
  mode: 'each' | 'paper-sum',
): number[] {
  if (mode === 'each') {
    const bad: number[] = [];
    for (let i = 0; i < count; i++) {
      if (!constantTimeEqual(expectedAt(i), receivedAt(i))) bad.push(i);
    }
    return bad;
  }
  const expected = new Array<bigint | undefined>(count);
  const expectedInteger = (i: number) => {
    let e = expected[i];
    if (e === undefined) {
      e = asInteger(expectedAt(i));
      expected[i] = e;
    }
    return e;
  };
  const received = Array.from({ length: count }, (_, i) => asInteger(receivedAt(i)));
  const sumPasses = (lo: number, hi: number) => {
    let r = 0n;
    let e = 0n;
    for (let i = lo; i < hi; i++) {
      r += received[i]!;
      e += expectedInteger(i);
    }
    return r % MOD_256 === e % MOD_256;
  };
  const bad: number[] = [];
  const bisect = (lo: number, hi: number) => {
    if (lo >= hi || sumPasses(lo, hi)) return;
    if (hi - lo === 1) {
      bad.push(lo);
      return;
    }
    const mid = (lo + hi) >> 1;
    bisect(lo, mid);
    bisect(mid, hi);
  };
  bisect(0, count);
  return bad;
}
