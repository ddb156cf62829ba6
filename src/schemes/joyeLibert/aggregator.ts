import { ed25519PrivateKey, ed25519Sign } from '../../crypto/ed25519.js';
import { macCheck, macKey } from '../../crypto/mac.js';
import { ErrorCode, PrivaggError } from '../../errors.js';
import { checkFreshness, ReplayCache } from '../common/freshness.js';
import { Receiving } from '../receiving.js';
import { type Address, type AggregatorRole, CENTER, type Inbound } from '../scheme.js';
import { decodeReport, encodePartialBody, type Report } from './codec.js';
import type { Deployment } from './context.js';
import type { AggregatorKeys } from './keys.js';
import { gcd } from './modArith.js';

/**
 * The group's aggregator: checks each report, multiplies the accepted ciphertexts into a
 * running product per dimension, and at the round's close signs the products with the
 * contributor bitmap for the center. It holds no Joye–Libert key, so the products are as
 * opaque to it as the reports.
 *
 * Checks, cheapest first and the tag before anything that costs more than a compare:
 * exact length, version, kind, dimensions and every element < N² (MALFORMED_MESSAGE /
 * UNSUPPORTED_VERSION); the report's group is ours (WRONG_RECIPIENT); it names one of our
 * devices and the transport vouches for that same device (UNKNOWN_SENDER); the link's
 * HMAC (BAD_MAC, constant-time); the timestamp within the window (STALE_TIMESTAMP); the
 * round open (WRONG_ROUND); no earlier report of the device this round (REPLAY); every
 * ciphertext invertible mod N (MALFORMED_MESSAGE: one sharing a factor with N would make
 * the whole product undecryptable).
 *
 * Running products keep a round's state at w elements whatever n is; the replay cache is
 * what stops a ciphertext from entering twice.
 */
interface OpenRound {
  readonly products: bigint[];
  readonly contributors: Set<number>;
}

export function joyeLibertAggregator(
  dep: Deployment,
  at: Address,
  keys: AggregatorKeys,
): AggregatorRole {
  const n = dep.population.devicesPerGroup;
  const w = dep.population.dimensions.length;
  const links = keys.links.map((k) => macKey(k));
  const signer = ed25519PrivateKey(keys.signingSeed);
  const rounds = new Map<number, OpenRound>();
  const replays = new ReplayCache();
  const rx = new Receiving();

  function check(m: Inbound, nowMs: number): { report: Report; round: OpenRound } {
    if (m.channel !== 'report')
      throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, `an aggregator takes no ${m.channel}`);
    const { report, body, tag } = decodeReport(m.bytes, dep.shape);
    if (report.group !== at.group)
      throw new PrivaggError(ErrorCode.WRONG_RECIPIENT, `a report for group ${report.group}`);
    if (report.sender >= n)
      throw new PrivaggError(
        ErrorCode.UNKNOWN_SENDER,
        `no device ${report.group}/${report.sender}`,
      );
    if (m.from.role !== 'device' || m.from.group !== report.group || m.from.index !== report.sender)
      throw new PrivaggError(
        ErrorCode.UNKNOWN_SENDER,
        'the report names another device than its sender',
      );
    macCheck(links[report.sender]!, tag, body);
    checkFreshness(report.timestampMs, nowMs, dep.params.freshnessWindowMs);
    const round = rounds.get(report.round);
    if (!round) throw new PrivaggError(ErrorCode.WRONG_ROUND, `round ${report.round} is not open`);
    replays.check(report.round, String(report.sender));
    for (const y of report.ciphertexts)
      if (gcd(y % dep.modulus, dep.modulus) !== 1n)
        throw new PrivaggError(
          ErrorCode.MALFORMED_MESSAGE,
          'a ciphertext is not invertible mod N²',
        );
    return { report, round };
  }

  return {
    address: at,
    open(round) {
      if (!rounds.has(round))
        rounds.set(round, { products: new Array<bigint>(w).fill(1n), contributors: new Set() });
    },
    receive(m, nowMs) {
      return rx.answer(() => {
        const { report, round } = check(m, nowMs);
        replays.remember(report.round, String(report.sender));
        report.ciphertexts.forEach((y, j) => {
          round.products[j] = (round.products[j]! * y) % dep.modulusSquared;
        });
        round.contributors.add(report.sender);
        return [];
      });
    },
    close(roundNumber, nowMs, _rng, lie) {
      const round = rounds.get(roundNumber);
      rounds.delete(roundNumber);
      // A round never opened has nothing to say; an open one with no report still sends
      // its (empty) partial, so the center can tell a silent group from a lost aggregator.
      if (!round) return [];
      const body = encodePartialBody(
        {
          group: at.group,
          sender: at.index,
          round: roundNumber,
          timestampMs: Math.max(0, Math.floor(nowMs)),
          contributors: [...round.contributors].sort((a, b) => a - b),
          // A lie: (1 + c·N) adds c to the plaintext sum, as an encryption of c without a key would.
          products: lie
            ? round.products.map(
                (y) =>
                  (y * (1n + BigInt(Math.round(lie.shift * dep.params.scale)) * dep.modulus)) %
                  dep.modulusSquared,
              )
            : round.products,
        },
        dep.shape,
      );
      return [
        { to: CENTER, channel: 'partial', bytes: Buffer.concat([body, ed25519Sign(signer, body)]) },
      ];
    },
    counters: () => rx.counters(),
  };
}
