import { type MacKey, macKey } from '../../crypto/mac.js';
import { ErrorCode, PrivaggError } from '../../errors.js';
import { checkFreshness, ReplayCache } from '../common/freshness.js';
import { decodeKeyBlob, keyOf } from '../keyBlob.js';
import { Receiving } from '../receiving.js';
import {
  type Address,
  type AggregatorRole,
  CENTER,
  type CenterRole,
  type DeviceRole,
  deviceAt,
  type Envelope,
  type Inbound,
  type Population,
  type Recovery,
  type Topology,
} from '../scheme.js';
import {
  bitmapMembers,
  bitmapWordCount,
  bitmapWords,
  checkRange,
  fromFixed,
  toFixed,
} from './fixed.js';
import { checkFrameTag, checkSender, decodeFrame, encodeFrame } from './frame.js';
import { MASK_MODULUS, maskSum, pairName } from './pairMasks.js';
import { TREE_ID, type TwoPhaseTreeParams } from './twoPhaseTree.js';

const REPORT = 1;
const PARTIAL = 2;
const ANNOUNCE = 3;
const AUX = 4;

const mod = (x: bigint) => ((x % MASK_MODULUS) + MASK_MODULUS) % MASK_MODULUS;

function onChannel(m: Inbound, channel: string): void {
  if (m.channel !== channel)
    throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, `no channel ${m.channel} here`);
}

export function treeDevice(
  p: TwoPhaseTreeParams,
  pop: Population,
  topology: Topology,
  group: number,
  index: number,
  blob: Uint8Array,
): DeviceRole {
  const address = deviceAt(group, index);
  const keys = decodeKeyBlob(TREE_ID, address, blob);
  const up = macKey(keyOf(keys, 'up'));
  const toCenter = macKey(keyOf(keys, 'center'));
  const pairs = new Map<number, MacKey>();
  const pairKey = (j: number) => {
    let k = pairs.get(j);
    if (!k) {
      k = macKey(keyOf(keys, pairName(index, j)));
      pairs.set(j, k);
    }
    return k;
  };
  const n = pop.devicesPerGroup;
  const w = pop.dimensions.length;
  const all = Array.from({ length: n }, (_, j) => j);
  const to = topology.upstream(address)[0]!;
  const answered = new ReplayCache();
  const rx = new Receiving();
  return {
    address,
    report(round, reading, nowMs) {
      const masks = maskSum(index, all, pairKey, round, w);
      const words = reading.map((x, j) => mod(toFixed(x, p.scale, pop.dimensions[j]!) + masks[j]!));
      const f = { kind: REPORT, group, sender: index, round, timestampMs: nowMs, words };
      return [{ to, channel: 'report', bytes: encodeFrame(f, up) }];
    },
    // Phase two: the center names the missing devices; the answer is the masks shared with
    // them. Once per round, and never for a set that names this device: answering for
    // oneself would unmask one's own reading.
    receive(m, nowMs) {
      return rx.answer(() => {
        onChannel(m, 'announce');
        if (m.from.role !== 'center')
          throw new PrivaggError(ErrorCode.UNKNOWN_SENDER, 'not the center');
        const f = decodeFrame(m.bytes, ANNOUNCE, bitmapWordCount(n));
        checkFrameTag(m.bytes, toCenter);
        if (f.group !== group || f.sender !== index)
          throw new PrivaggError(ErrorCode.WRONG_RECIPIENT, 'an announcement for another device');
        checkFreshness(f.timestampMs, nowMs, p.freshnessWindowMs);
        const missing = bitmapMembers(f.words, n);
        if (missing.includes(index))
          throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, 'announced missing, but it is asked');
        answered.check(f.round, 'announce');
        answered.remember(f.round, 'announce');
        const words = maskSum(index, missing, pairKey, f.round, w);
        const aux = { kind: AUX, group, sender: index, round: f.round, timestampMs: nowMs, words };
        return [{ to: CENTER, channel: 'aux', bytes: encodeFrame(aux, toCenter) }];
      });
    },
  };
}

export function treeAggregator(
  p: TwoPhaseTreeParams,
  pop: Population,
  topology: Topology,
  at: Address,
  blob: Uint8Array,
): AggregatorRole {
  const keys = decodeKeyBlob(TREE_ID, at, blob);
  const n = pop.devicesPerGroup;
  const w = pop.dimensions.length;
  const bitmap = bitmapWordCount(n);
  const isRoot = at.index === 0;
  const up = macKey(keyOf(keys, 'up'));
  const childKey = new Map<number, MacKey>();
  for (const [name, k] of Object.entries(keys)) {
    const d = /^device(\d+)$/.exec(name);
    const a = /^agg(\d+)$/.exec(name);
    if (d) childKey.set(Number(d[1]), macKey(k));
    if (a) childKey.set(Number(a[1]), macKey(k));
  }
  const to = topology.upstream(at)[0]!;
  const rounds = new Map<number, { members: Set<number>; sums: bigint[] }>();
  const seen = new ReplayCache();
  const rx = new Receiving();
  const add = (round: number, members: readonly number[], words: readonly bigint[]) => {
    const r = rounds.get(round);
    if (!r) throw new PrivaggError(ErrorCode.WRONG_ROUND, `round ${round} is not open`);
    for (const i of members) {
      if (r.members.has(i))
        throw new PrivaggError(ErrorCode.CONTRIBUTOR_MISMATCH, `device ${i} twice`);
    }
    for (const i of members) r.members.add(i);
    words.forEach((x, j) => {
      r.sums[j] = mod(r.sums[j]! + x);
    });
  };
  return {
    address: at,
    open(round) {
      if (!rounds.has(round))
        rounds.set(round, { members: new Set(), sums: new Array(w).fill(0n) });
    },
    receive(m, nowMs) {
      return rx.answer(() => {
        if (isRoot) {
          onChannel(m, 'partial');
          const f = decodeFrame(m.bytes, PARTIAL, 1 + bitmap + w);
          const key = childKey.get(f.sender);
          if (
            !key ||
            f.group !== at.group ||
            m.from.role !== 'aggregator' ||
            m.from.index !== f.sender ||
            m.from.group !== f.group
          )
            throw new PrivaggError(ErrorCode.UNKNOWN_SENDER, `leaf ${f.group}/${f.sender}`);
          checkFrameTag(m.bytes, key);
          checkFreshness(f.timestampMs, nowMs, p.freshnessWindowMs);
          seen.check(f.round, `leaf${f.sender}`);
          const members = bitmapMembers(f.words.slice(1, 1 + bitmap), n);
          add(f.round, members, f.words.slice(1 + bitmap));
          seen.remember(f.round, `leaf${f.sender}`);
        } else {
          onChannel(m, 'report');
          const f = decodeFrame(m.bytes, REPORT, w);
          checkSender(f, at.group, n, m.from);
          const key = childKey.get(f.sender);
          if (!key)
            throw new PrivaggError(
              ErrorCode.WRONG_RECIPIENT,
              `device ${f.sender} reports elsewhere`,
            );
          checkFrameTag(m.bytes, key);
          checkFreshness(f.timestampMs, nowMs, p.freshnessWindowMs);
          seen.check(f.round, `device${f.sender}`);
          add(f.round, [f.sender], f.words);
          seen.remember(f.round, `device${f.sender}`);
        }
        return [];
      });
    },
    close(round, nowMs, _rng, lie): Envelope[] {
      const r = rounds.get(round);
      rounds.delete(round);
      if (!r) return [];
      const sums = lie
        ? r.sums.map((x) => mod(x + BigInt(Math.round(lie.shift * p.scale))))
        : r.sums;
      const words = [BigInt(r.members.size), ...bitmapWords(r.members, n), ...sums];
      const f = {
        kind: PARTIAL,
        group: at.group,
        sender: at.index,
        round,
        timestampMs: nowMs,
        words,
      };
      return [{ to, channel: 'partial', bytes: encodeFrame(f, up) }];
    },
    counters: () => rx.counters(),
  };
}

interface GroupRound {
  members: number[];
  sums: bigint[];
  announced: boolean;
  aux: Map<number, bigint[]>;
}

export function treeCenter(p: TwoPhaseTreeParams, pop: Population, blob: Uint8Array): CenterRole {
  const keys = decodeKeyBlob(TREE_ID, CENTER, blob);
  const n = pop.devicesPerGroup;
  const w = pop.dimensions.length;
  const bitmap = bitmapWordCount(n);
  const rootKey = (g: number) => macKey(keyOf(keys, `root${g}`));
  const deviceKey = (g: number, i: number) => macKey(keyOf(keys, `device${g}_${i}`));
  const state = new Map<string, GroupRound>();
  const rx = new Receiving();
  const receivePartial = (m: Inbound) => {
    const f = decodeFrame(m.bytes, PARTIAL, 1 + bitmap + w);
    if (
      f.group >= pop.groups ||
      f.sender !== 0 ||
      m.from.role !== 'aggregator' ||
      m.from.group !== f.group ||
      m.from.index !== 0
    )
      throw new PrivaggError(ErrorCode.UNKNOWN_SENDER, `root ${f.group}/${f.sender}`);
    checkFrameTag(m.bytes, rootKey(f.group));
    const k = `${f.group}/${f.round}`;
    if (state.has(k)) throw new PrivaggError(ErrorCode.REPLAY, `partial of ${k} again`);
    const members = bitmapMembers(f.words.slice(1, 1 + bitmap), n);
    if (members.length !== Number(f.words[0]))
      throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, 'count and bitmap disagree');
    state.set(k, {
      members,
      sums: [...f.words.slice(1 + bitmap)],
      announced: false,
      aux: new Map(),
    });
  };
  const receiveAux = (m: Inbound) => {
    const f = decodeFrame(m.bytes, AUX, w);
    if (
      f.group >= pop.groups ||
      f.sender >= n ||
      m.from.role !== 'device' ||
      m.from.group !== f.group ||
      m.from.index !== f.sender
    )
      throw new PrivaggError(ErrorCode.UNKNOWN_SENDER, `device ${f.group}/${f.sender}`);
    checkFrameTag(m.bytes, deviceKey(f.group, f.sender));
    const s = state.get(`${f.group}/${f.round}`);
    if (!s?.announced || !s.members.includes(f.sender))
      throw new PrivaggError(ErrorCode.WRONG_ROUND, 'no announcement was sent to this device');
    if (s.aux.has(f.sender))
      throw new PrivaggError(ErrorCode.REPLAY, `aux of device ${f.sender} again`);
    s.aux.set(f.sender, [...f.words]);
  };
  return {
    receive(m) {
      return rx.answer(() => {
        if (m.channel === 'partial') receivePartial(m);
        else if (m.channel === 'aux') receiveAux(m);
        else throw new PrivaggError(ErrorCode.MALFORMED_MESSAGE, `no channel ${m.channel} here`);
        return [];
      });
    },
    recover(group, round, nowMs): Recovery {
      const s = state.get(`${group}/${round}`);
      const base = { group, round, flagged: [] };
      if (!s) return { ...base, status: 'failed', reason: 'no partial from the root', notes: [] };
      const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !s.members.includes(i));
      const recovered = (sums: readonly bigint[], notes: string[]): Recovery => ({
        ...base,
        status: 'recovered',
        contributors: s.members,
        values: sums.map((x, j) => {
          checkRange(x, p.scale, pop.dimensions[j]!.max * s.members.length, j);
          return {
            name: pop.dimensions[j]!.name,
            estimate: fromFixed(x, p.scale),
            standardError: 0,
          };
        }),
        notes,
      });
      if (missing.length === 0) return recovered(s.sums, []);
      if (s.members.length === 0)
        return { ...base, status: 'failed', reason: 'no device reported', notes: [] };
      if (!s.announced) {
        s.announced = true;
        const words = bitmapWords(missing, n);
        const next = s.members.map((i) => {
          const f = { kind: ANNOUNCE, group, sender: i, round, timestampMs: nowMs, words };
          return {
            to: deviceAt(group, i),
            channel: 'announce',
            bytes: encodeFrame(f, deviceKey(group, i)),
          };
        });
        return { ...base, status: 'pending', next, notes: [] };
      }
      const silent = s.members.filter((i) => !s.aux.has(i));
      if (silent.length > 0) {
        return {
          ...base,
          status: 'failed',
          reason: `${silent.length} device(s) did not answer the failure announcement: their masks stay in the sum`,
          notes: [],
        };
      }
      const sums = s.sums.map((x, j) => {
        let y = x;
        for (const a of s.aux.values()) y = mod(y - a[j]!);
        return y;
      });
      try {
        return recovered(sums, [
          `second phase: ${s.members.length} mask answer(s) for ${missing.length} missing device(s)`,
        ]);
      } catch (e) {
        return {
          ...base,
          status: 'failed',
          reason: `unmasked sum out of range: ${String(e)}`,
          notes: [],
        };
      }
    },
    counters: () => rx.counters(),
  };
}
