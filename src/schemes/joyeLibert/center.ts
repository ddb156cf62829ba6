import { ed25519Check, ed25519PublicKey } from '../../crypto/ed25519.js';
import { ErrorCode, PrivaggError } from '../../errors.js';
import { Receiving } from '../receiving.js';
import type { CenterRole, Recovery } from '../scheme.js';
import { decryptSum } from './cipher.js';
import { decodePartial, type Partial } from './codec.js';
import type { Deployment } from './context.js';
import { hashToGroup } from './hashToGroup.js';
import type { CenterKeys } from './keys.js';
import { gcd } from './modArith.js';
import { fromPlaintextSum, maxPlaintext } from './readings.js';

/**
 * The center: holds s_0 of every group (as S_g = −s_0), takes each group's signed partial
 * and decrypts the sum when, and only when, every device of the group is in it.
 *
 * Partials are signed with the aggregator's Ed25519 key, not MAC'd: the center runs in the
 * ledger, in chaincode and in an auditor's chain replay, and a signature lets all of them
 * check a partial's origin with the public setup alone, without holding a key that could
 * also forge partials; it also makes a partial the aggregator cannot later disown. One
 * signature per group-round costs nothing next to the modular exponentiations.
 *
 * `recover` is deterministic (no randomness, no clock) and its answer is kept, so asking
 * again gives the same recovery:
 * - no partial → failed;
 * - a contributor set short of the group → failed, honestly: Joye–Libert has no fault
 *   tolerance, the masks of the missing devices stay in the product;
 * - a decrypted value that is not 1 + N·x, or is above n · max · scale → failed: either
 *   the product is missing a key (a lying aggregator), or a device encrypted a reading out
 *   of range; the center cannot tell which, so it names no one.
 */
export function joyeLibertCenter(dep: Deployment, keys: CenterKeys): CenterRole {
  const pop = dep.population;
  const n = pop.devicesPerGroup;
  const verifiers = dep.setup.aggregatorKeys.map((k) => ed25519PublicKey(k));
  const partials = new Map<string, Partial>();
  const recoveries = new Map<string, Recovery>();
  const rx = new Receiving();

  function failed(group: number, round: number, reason: string, detail?: unknown): Recovery {
    return {
      status: 'failed',
      group,
      round,
      reason,
      flagged: [],
      notes: [],
      ...(detail === undefined ? {} : { detail }),
    };
  }

  function decrypt(group: number, round: number, p: Partial): Recovery {
    if (p.contributors.length < n) {
      const missing = Array.from({ length: n }, (_, i) => i).filter(
        (i) => !p.contributors.includes(i),
      );
      return failed(
        group,
        round,
        `Joye–Libert cannot decrypt without every device: ${missing.length} device(s) missing`,
        { missing },
      );
    }
    const values = [];
    for (let j = 0; j < pop.dimensions.length; j++) {
      const d = pop.dimensions[j]!;
      const h = hashToGroup(
        { deployment: dep.setup.deployment, group, round, dimension: j },
        dep.modulus,
      );
      const sum = decryptSum(p.products[j]!, keys.sumOfKeys[group]!, h, dep.modulus);
      const bound = BigInt(n) * maxPlaintext(dep.params.scale, d);
      if (sum === undefined || sum > bound)
        return failed(
          group,
          round,
          `decrypted sum out of range in ${d.name}: ${sum === undefined ? 'not of the form 1 + N·x' : `above n·max·scale = ${bound}`} (a product missing a device's key, or a device encrypting an out-of-range reading)`,
        );
      values.push({
        name: d.name,
        estimate: fromPlaintextSum(sum, dep.params.scale),
        standardError: 0,
      });
    }
    return {
      status: 'recovered',
      group,
      round,
      values,
      contributors: [...p.contributors],
      flagged: [],
      notes: [],
    };
  }

  return {
    receive(m) {
      return rx.answer(() => {
        if (m.channel !== 'partial')
          throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, `the center takes no ${m.channel}`);
        const { partial, body, signature } = decodePartial(m.bytes, dep.shape);
        if (partial.group >= pop.groups || partial.sender !== 0)
          throw new PrivaggError(
            ErrorCode.UNKNOWN_SENDER,
            `no aggregator ${partial.group}/${partial.sender}`,
          );
        if (m.from.role !== 'aggregator' || m.from.group !== partial.group || m.from.index !== 0)
          throw new PrivaggError(
            ErrorCode.UNKNOWN_SENDER,
            'the partial names another aggregator than its sender',
          );
        ed25519Check(verifiers[partial.group]!, body, signature);
        const key = `${partial.group}/${partial.round}`;
        if (partials.has(key))
          throw new PrivaggError(ErrorCode.REPLAY, `a second partial for ${key}`);
        for (const y of partial.products)
          if (gcd(y % dep.modulus, dep.modulus) !== 1n)
            throw new PrivaggError(
              ErrorCode.MALFORMED_MESSAGE,
              'a product is not invertible mod N²',
            );
        partials.set(key, partial);
        return [];
      });
    },
    recover(group, round) {
      const key = `${group}/${round}`;
      const done = recoveries.get(key);
      if (done) return done;
      const p = partials.get(key);
      // Not kept: a partial may still arrive, and the next call must see it.
      if (!p) return failed(group, round, 'no partial arrived from the group aggregator');
      const r = decrypt(group, round, p);
      recoveries.set(key, r);
      return r;
    },
    counters: () => rx.counters(),
  };
}
