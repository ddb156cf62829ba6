import { macKey, macTag } from '../../crypto/mac.js';
import { ErrorCode, PrivaggError } from '../../errors.js';
import { type DeviceRole, deviceAt } from '../scheme.js';
import { encryptValue } from './cipher.js';
import { encodeReportBody } from './codec.js';
import type { Deployment } from './context.js';
import { hashToGroup } from './hashToGroup.js';
import type { DeviceKeys } from './keys.js';
import { toPlaintext } from './readings.js';
import { groupAggregator } from './topology.js';

/**
 * A device: one ciphertext per dimension, y_j = (1 + x_j·N) · H(g, round, j)^{s_i} mod N²,
 * sent in one report to its group's aggregator, tagged with the link's HMAC key.
 *
 * Encryption takes no randomness (the mask is a function of the round), so two different
 * readings in one round would let the aggregator divide the ciphertexts and read the
 * difference of the readings. The device therefore remembers what it sent in recent rounds
 * and refuses a second, different reading for a round; the same reading again (a retry)
 * gives the same ciphertexts.
 */
const REMEMBERED_ROUNDS = 16;

export function joyeLibertDevice(
  dep: Deployment,
  group: number,
  index: number,
  keys: DeviceKeys,
): DeviceRole {
  const link = macKey(keys.link);
  const to = groupAggregator(group);
  const dims = dep.population.dimensions;
  const sent = new Map<number, string>();
  return {
    address: deviceAt(group, index),
    report(round, reading, nowMs) {
      if (!Number.isInteger(round) || round < 0 || round > 0xffff_ffff)
        throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, `round ${round} is not a u32`);
      if (reading.length !== dims.length)
        throw new PrivaggError(
          ErrorCode.INVALID_ARGUMENT,
          `${reading.length} values for ${dims.length} dimensions`,
        );
      const plaintexts = reading.map((x, j) => toPlaintext(x, dep.params.scale, dims[j]!));
      const fingerprint = plaintexts.join(',');
      const before = sent.get(round);
      if (before !== undefined && before !== fingerprint)
        throw new PrivaggError(
          ErrorCode.INVALID_ARGUMENT,
          `round ${round} was already reported with another reading; a second one would reveal their difference`,
        );
      sent.set(round, fingerprint);
      if (sent.size > REMEMBERED_ROUNDS) sent.delete(sent.keys().next().value!);
      const ciphertexts = plaintexts.map((x, j) => {
        const h = hashToGroup(
          { deployment: dep.setup.deployment, group, round, dimension: j },
          dep.modulus,
        );
        return encryptValue(x, keys.s, h, dep.modulus);
      });
      const body = encodeReportBody(
        { group, sender: index, round, timestampMs: Math.max(0, Math.floor(nowMs)), ciphertexts },
        dep.shape,
      );
      return [{ to, channel: 'report', bytes: Buffer.concat([body, macTag(link, body)]) }];
    },
  };
}
