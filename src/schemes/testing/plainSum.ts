import { z } from 'zod';
import { type MacKey, macKey } from '../../crypto/mac.js';
import { ErrorCode, PrivaggError } from '../../errors.js';
import type { RandomSource } from '../../math/random.js';
import { checkFreshness, ReplayCache } from '../common/freshness.js';
import { decodeKeyBlob, encodeKeyBlob, keyOf } from '../keyBlob.js';
import { Receiving } from '../receiving.js';
import {
  type Address,
  type AggregatorRole,
  aggregatorAt,
  CENTER,
  type CenterRole,
  type DeviceRole,
  deviceAt,
  type Population,
  type Recovery,
  type Scheme,
  type SchemeConfig,
  type Topology,
} from '../scheme.js';
import { bitmapMembers, bitmapWords, checkRange, fromFixed, toFixed } from './fixed.js';
import { checkFrameTag, checkSender, decodeFrame, encodeFrame, frameBytes } from './frame.js';

/**
 * `plain-sum`: a test scheme with no privacy at all, like libprio's dummy VDAF. Each
 * device sends its reading in the clear to its group's one aggregator, authenticated per
 * link; the aggregator adds the readings of the devices that reported and sends the sum,
 * with who is in it, to the center. It exists to exercise the runtime, the router, the
 * ledger and the driver with the least scheme in the way, and as the reference the
 * contract suite checks every other scheme's algebra against.
 */
export const plainSumParams = z
  .object({
    /** Readings are sent as round(x · scale): 1 keeps integer workloads exact. */
    scale: z.number().int().min(1).max(1_000_000).default(1),
    freshnessWindowMs: z.number().int().min(1).default(30_000),
  })
  .strict();
export type PlainSumParams = z.infer<typeof plainSumParams>;

const ID = 'plain-sum';
const REPORT = 1;
const PARTIAL = 2;

export const plainSumScheme: Scheme<PlainSumParams> = {
  id: ID,
  title: 'Plain sum (test scheme, no privacy)',
  status: 'test',
  summary: 'Readings in the clear, authenticated per link, summed by one aggregator per group.',
  params: plainSumParams,
  configure: (params, population) => configurePlainSum(params, population),
};

function configurePlainSum(p: PlainSumParams, pop: Population): SchemeConfig {
  const w = pop.dimensions.length;
  const n = pop.devicesPerGroup;
  const topology = starTopology(pop);
  return {
    id: ID,
    population: pop,
    publicConfig: { ...p },
    properties: {
      privacy: 'none: aggregators and the center see every reading',
      integrity: 'HMAC-SHA256 per link, freshness window, replay cache; readings range-checked',
      deviceFaults: 'any: the sum is over the devices that reported',
      aggregatorFaults: 'none (one aggregator per group)',
      dp: 'none',
      exact: true,
      lyingAggregator: 'undetected',
    },
    sizes: { report: frameBytes(w), partial: frameBytes(w + 1 + Math.ceil(n / 64)) },
    setup(rng: RandomSource) {
      const fresh = () => {
        const k = new Uint8Array(32);
        rng.fill(k);
        return k;
      };
      const links = new Map<string, Uint8Array>();
      for (let g = 0; g < pop.groups; g++) {
        links.set(`up/${g}`, fresh());
        for (let i = 0; i < n; i++) links.set(`dev/${g}/${i}`, fresh());
      }
      return {
        publicSetup: Buffer.from(JSON.stringify({ scheme: ID, params: p }), 'utf8'),
        keysOf(who: Address) {
          if (who.role === 'device')
            return encodeKeyBlob(ID, who, { link: links.get(`dev/${who.group}/${who.index}`)! });
          if (who.role === 'aggregator') {
            const keys: Record<string, Uint8Array> = { up: links.get(`up/${who.group}`)! };
            for (let i = 0; i < n; i++) keys[`device${i}`] = links.get(`dev/${who.group}/${i}`)!;
            return encodeKeyBlob(ID, who, keys);
          }
          if (who.role === 'center') {
            const keys: Record<string, Uint8Array> = {};
            for (let g = 0; g < pop.groups; g++) keys[`group${g}`] = links.get(`up/${g}`)!;
            return encodeKeyBlob(ID, who, keys);
          }
          throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, `${ID} has no ${who.role} role`);
        },
      };
    },
    topology,
    roles: () => ({
      device: (g, i, blob) =>
        plainDevice(p, pop, g, i, macKey(keyOf(decodeKeyBlob(ID, deviceAt(g, i), blob), 'link'))),
      aggregator: (at, blob) => plainAggregator(p, pop, at, decodeKeyBlob(ID, at, blob)),
      center: (blob) => plainCenter(p, pop, decodeKeyBlob(ID, CENTER, blob)),
    }),
  };
}

/** Devices → the group's aggregator 0 → the center. */
export function starTopology(pop: Population): Topology {
  return {
    groups: pop.groups,
    devices: () => pop.devicesPerGroup,
    aggregators: (g) => [aggregatorAt(g, 0)],
    upstream: (of) =>
      of.role === 'device' ? [aggregatorAt(of.group, 0)] : of.role === 'aggregator' ? [CENTER] : [],
  };
}

function plainDevice(
  p: PlainSumParams,
  pop: Population,
  group: number,
  index: number,
  key: MacKey,
): DeviceRole {
  const to = aggregatorAt(group, 0);
  return {
    address: deviceAt(group, index),
    report(round, reading, nowMs) {
      const words = reading.map((x, j) => toFixed(x, p.scale, pop.dimensions[j]!));
      const bytes = encodeFrame(
        { kind: REPORT, group, sender: index, round, timestampMs: nowMs, words },
        key,
      );
      return [{ to, channel: 'report', bytes }];
    },
  };
}

function plainAggregator(
  p: PlainSumParams,
  pop: Population,
  at: Address,
  keys: Readonly<Record<string, Buffer>>,
): AggregatorRole {
  const w = pop.dimensions.length;
  const n = pop.devicesPerGroup;
  const deviceKeys = Array.from({ length: n }, (_, i) => macKey(keyOf(keys, `device${i}`)));
  const up = macKey(keyOf(keys, 'up'));
  const open = new Map<number, Map<number, readonly bigint[]>>();
  const replays = new ReplayCache();
  const rx = new Receiving();
  return {
    address: at,
    open(round) {
      if (!open.has(round)) open.set(round, new Map());
    },
    receive(m, nowMs) {
      return rx.answer(() => {
        if (m.channel !== 'report')
          throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, `no channel ${m.channel}`);
        const f = decodeFrame(m.bytes, REPORT, w);
        checkSender(f, at.group, n, m.from);
        checkFrameTag(m.bytes, deviceKeys[f.sender]!);
        checkFreshness(f.timestampMs, nowMs, p.freshnessWindowMs);
        const round = open.get(f.round);
        if (!round) throw new PrivaggError(ErrorCode.WRONG_ROUND, `round ${f.round} is not open`);
        replays.check(f.round, String(f.sender));
        f.words.forEach((x, j) => {
          checkRange(x, p.scale, pop.dimensions[j]!.max, j);
        });
        replays.remember(f.round, String(f.sender));
        round.set(f.sender, f.words);
        return [];
      });
    },
    close(round, nowMs, _rng, lie) {
      const got = open.get(round);
      open.delete(round);
      if (!got) return [];
      const sums = new Array<bigint>(w).fill(0n);
      const bitmap = bitmapWords(got.keys(), n);
      for (const words of got.values()) {
        words.forEach((x, j) => {
          sums[j]! += x;
        });
      }
      if (lie) for (let j = 0; j < w; j++) sums[j]! += BigInt(Math.round(lie.shift * p.scale));
      const words = [BigInt(got.size), ...bitmap, ...sums];
      const bytes = encodeFrame(
        { kind: PARTIAL, group: at.group, sender: at.index, round, timestampMs: nowMs, words },
        up,
      );
      return [{ to: CENTER, channel: 'partial', bytes }];
    },
    counters: () => rx.counters(),
  };
}

function plainCenter(
  p: PlainSumParams,
  pop: Population,
  keys: Readonly<Record<string, Buffer>>,
): CenterRole {
  const w = pop.dimensions.length;
  const n = pop.devicesPerGroup;
  const bitmapWords = Math.ceil(n / 64);
  const groupKeys = Array.from({ length: pop.groups }, (_, g) => macKey(keyOf(keys, `group${g}`)));
  const partials = new Map<string, { contributors: number[]; sums: bigint[] }>();
  const rx = new Receiving();
  return {
    receive(m) {
      return rx.answer(() => {
        if (m.channel !== 'partial')
          throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, `no channel ${m.channel}`);
        const f = decodeFrame(m.bytes, PARTIAL, 1 + bitmapWords + w);
        if (f.group >= pop.groups || f.sender !== 0)
          throw new PrivaggError(ErrorCode.UNKNOWN_SENDER, `aggregator ${f.group}/${f.sender}`);
        if (m.from.role !== 'aggregator' || m.from.group !== f.group || m.from.index !== 0)
          throw new PrivaggError(ErrorCode.UNKNOWN_SENDER, 'the partial names another sender');
        checkFrameTag(m.bytes, groupKeys[f.group]!);
        const key = `${f.group}/${f.round}`;
        if (partials.has(key)) throw new PrivaggError(ErrorCode.REPLAY, `partial of ${key} again`);
        const contributors = bitmapMembers(f.words.slice(1, 1 + bitmapWords), n);
        if (contributors.length !== Number(f.words[0]))
          throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, 'count and bitmap disagree');
        partials.set(key, { contributors, sums: [...f.words.slice(1 + bitmapWords)] });
        return [];
      });
    },
    recover(group, round): Recovery {
      const got = partials.get(`${group}/${round}`);
      if (!got)
        return {
          status: 'failed',
          group,
          round,
          reason: 'no partial arrived',
          flagged: [],
          notes: [],
        };
      return {
        status: 'recovered',
        group,
        round,
        contributors: got.contributors,
        values: got.sums.map((s, j) => ({
          name: pop.dimensions[j]!.name,
          estimate: fromFixed(s, p.scale),
          standardError: 0,
        })),
        flagged: [],
        notes: [],
      };
    },
    counters: () => rx.counters(),
  };
}
