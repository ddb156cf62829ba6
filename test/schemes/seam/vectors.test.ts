import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/math/random.js';
import { configureScheme, registeredSchemes } from '../../../src/schemes/registry.js';
import {
  type Address,
  type AggregatorRole,
  addressKey,
  CENTER,
  type DeviceRole,
  deviceAt,
  type Envelope,
  type Population,
  type Recovery,
  type SchemeConfig,
} from '../../../src/schemes/scheme.js';
import { populationOf, runScheme, type TraceEvent } from '../../../src/sim/schemeRunner.js';
import { SyntheticWorkload } from '../../../src/sim/syntheticWorkload.js';

/**
 * Test vectors as data, one harness for every scheme: test/vectors/<scheme>/<case>.json
 * holds a seed, the parameters and population, and every step of a run — each reading
 * and each message in hex, each verdict, each recovery — plus negative cases. The harness
 * replays the steps through fresh roles built from the seed: every verdict and recovery
 * must come out the same, and for a deterministic scheme every message byte for byte
 * (MaaS seals with fresh nonces from node:crypto, so only its verdicts and recoveries
 * are compared). `PRIVAGG_WRITE_VECTORS=1` regenerates the files; a change that alters a
 * scheme's bytes then shows in the diff.
 */
const DIR = 'test/vectors';
const FAST: Record<string, unknown> = {
  'joye-libert': { modulusBits: 512 },
  maas: { ldp: 'off' },
};

interface Vector {
  scheme: string;
  case: string;
  description: string;
  params: unknown;
  population: Population;
  seed: string;
  deterministic: boolean;
  events: unknown[];
  negative: {
    name: string;
    from: Address;
    to: Address;
    channel: string;
    hex: string;
    code: string;
  }[];
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const envelopes = (out: readonly Envelope[]) =>
  out.map((e) => ({ to: e.to, channel: e.channel, hex: hex(e.bytes) }));
const recoverySummary = (r: Recovery) => ({
  status: r.status,
  group: r.group,
  round: r.round,
  ...(r.status === 'recovered'
    ? {
        values: r.values.map((v) => [v.name, v.estimate, v.standardError]),
        contributors: r.contributors,
      }
    : {}),
  ...(r.status === 'failed' ? { reason: r.reason } : {}),
  ...(r.status === 'pending' ? { next: r.next.length } : {}),
  flagged: r.flagged.map((f) => [addressKey(f.who), f.why]),
  notes: r.notes,
});

function serialise(ev: TraceEvent, readings: Map<string, readonly number[]>): unknown {
  switch (ev.kind) {
    case 'open':
      return ev;
    case 'report':
      return {
        ...ev,
        reading: readings.get(`${addressKey(ev.from)}/${ev.round}`),
        out: envelopes(ev.out),
      };
    case 'deliver':
      return { ...ev, bytes: hex(ev.bytes) };
    case 'close':
      return { ...ev, out: envelopes(ev.out) };
    case 'recover':
      return { ...ev, recovery: recoverySummary(ev.recovery) };
  }
}

const CASES = [
  { name: 'all-report', description: 'every device reports in both rounds', silent: () => false },
  {
    name: 'device-missing',
    description: 'device 2 of group 0 is silent in round 1',
    silent: (g: number, i: number, r: number) => g === 0 && i === 2 && r === 1,
  },
];

async function generate(id: string, c: (typeof CASES)[number]): Promise<Vector> {
  const w = new SyntheticWorkload({
    ians: 2,
    devicesPerIan: 4,
    rounds: 2,
    dimensions: 2,
    maxReading: 7,
    startRate: 0.4,
    rng: seededRandom(`vector/${id}/workload`),
  });
  const population = populationOf(w);
  const params = FAST[id] ?? {};
  const config = configureScheme(id, params, population);
  const seed = `vector/${id}/${c.name}`;
  const readings = new Map<string, readonly number[]>();
  for (let g = 0; g < 2; g++)
    for (let i = 0; i < 4; i++)
      for (let r = 0; r < 2; r++)
        readings.set(`${addressKey(deviceAt(g, i))}/${r}`, w.reading(g, i, r));
  const record = async () => {
    const events: unknown[] = [];
    await runScheme({
      config,
      workload: w,
      seed,
      faults: { deviceSilent: c.silent },
      trace: (ev) => events.push(serialise(ev, readings)),
    });
    return events;
  };
  const events = await record();
  const deterministic = JSON.stringify(await record()) === JSON.stringify(events);
  return {
    scheme: id,
    case: c.name,
    description: c.description,
    params,
    population,
    seed,
    deterministic,
    events,
    negative: negativeCases(config, seed, events),
  };
}

/** Mutations of the first report, with the codes today's roles answer (the file fixes them). */
function negativeCases(config: SchemeConfig, seed: string, events: unknown[]): Vector['negative'] {
  const first = events.find((e) => (e as { kind: string }).kind === 'report') as {
    from: Address;
    out: { to: Address; channel: string; hex: string }[];
  };
  const e = first.out[0]!;
  const bytes = Buffer.from(e.hex, 'hex');
  const flip = (at: number) => {
    const b = Buffer.from(bytes);
    b[at]! ^= 0x01;
    return b.toString('hex');
  };
  const cases = [
    { name: 'last byte flipped', from: first.from, hex: flip(bytes.length - 1) },
    { name: 'version byte flipped', from: first.from, hex: flip(0) },
    { name: 'truncated by one byte', from: first.from, hex: bytes.subarray(0, -1).toString('hex') },
    {
      name: 'sent as another device',
      from: deviceAt(first.from.group, first.from.index + 1),
      hex: e.hex,
    },
    { name: 'genuine', from: first.from, hex: e.hex },
    { name: 'replayed', from: first.from, hex: e.hex },
  ];
  const verdicts = deliverNegatives(
    config,
    seed,
    cases.map((c) => ({ ...c, to: e.to, channel: e.channel })),
  );
  return cases.map((c, i) => ({ ...c, to: e.to, channel: e.channel, code: verdicts[i]! }));
}

function deliverNegatives(
  config: SchemeConfig,
  seed: string,
  cases: { from: Address; to: Address; channel: string; hex: string }[],
): string[] {
  const setup = config.setup(seededRandom(`${seed}/setup`));
  const roles = config.roles(setup.publicSetup);
  const rng = seededRandom(`${seed}/negative`);
  const to = roles.aggregator(cases[0]!.to, setup.keysOf(cases[0]!.to));
  to.open(0, 1_700_000_000_000);
  return cases.map((c) => {
    const v = to.receive(
      { from: c.from, channel: c.channel, bytes: Buffer.from(c.hex, 'hex') },
      1_700_000_000_100,
      rng,
    ).verdict;
    return v.ok ? 'OK' : v.code;
  });
}

/** A step as the file holds it (the fields of every kind; each kind uses its own). */
interface Step {
  kind: TraceEvent['kind'];
  at: Address;
  from: Address;
  to: Address;
  group: number;
  round: number;
  nowMs: number;
  reading: number[];
  out: unknown;
  channel: string;
  bytes: string;
  verdict: { ok: boolean; code?: string } | string;
  recovery: unknown;
}

/** Replays a vector's steps through fresh roles; returns the first difference, if any. */
function replay(v: Vector): void {
  const config = configureScheme(v.scheme, v.params, v.population);
  const setup = config.setup(seededRandom(`${v.seed}/setup`));
  const roles = config.roles(setup.publicSetup);
  const rng = seededRandom(`${v.seed}/roles`);
  const devices = new Map<string, DeviceRole>();
  const aggregators = new Map<string, AggregatorRole>();
  const device = (a: Address) => {
    const k = addressKey(a);
    if (!devices.has(k)) devices.set(k, roles.device(a.group, a.index, setup.keysOf(a)));
    return devices.get(k)!;
  };
  const aggregator = (a: Address) => {
    const k = addressKey(a);
    if (!aggregators.has(k)) aggregators.set(k, roles.aggregator(a, setup.keysOf(a)));
    return aggregators.get(k)!;
  };
  // Roles are built in the run's order (devices, then aggregators, then the center).
  for (let g = 0; g < v.population.groups; g++)
    for (let i = 0; i < v.population.devicesPerGroup; i++) device(deviceAt(g, i));
  for (let g = 0; g < v.population.groups; g++)
    for (const a of config.topology.aggregators(g)) aggregator(a);
  const center = roles.center(setup.keysOf(CENTER));
  v.events.forEach((raw, at) => {
    const ev = raw as Step;
    const where = `event ${at} (${ev.kind})`;
    switch (ev.kind) {
      case 'open':
        aggregator(ev.at).open(ev.round, ev.nowMs);
        break;
      case 'report': {
        const out = device(ev.from).report(ev.round, ev.reading, ev.nowMs, rng);
        if (v.deterministic) expect(envelopes(out), where).toEqual(ev.out);
        break;
      }
      case 'deliver': {
        const recorded = ev.verdict;
        if (typeof recorded === 'string') break; // dropped, delayed or down: never delivered
        const to = ev.to;
        const m = {
          from: ev.from,
          channel: ev.channel,
          bytes: Buffer.from(ev.bytes, 'hex'),
        };
        const answer =
          to.role === 'center'
            ? center.receive(m, ev.nowMs)
            : to.role === 'aggregator'
              ? aggregator(to).receive(m, ev.nowMs, rng)
              : device(to).receive!(m, ev.nowMs, rng);
        expect(
          answer.verdict.ok ? { ok: true } : { ok: false, code: answer.verdict.code },
          where,
        ).toEqual(recorded.ok ? { ok: true } : { ok: false, code: recorded.code });
        break;
      }
      case 'close': {
        const out = aggregator(ev.at).close(ev.round, ev.nowMs, rng);
        if (v.deterministic) expect(envelopes(out), where).toEqual(ev.out);
        break;
      }
      case 'recover':
        expect(recoverySummary(center.recover(ev.group, ev.round, ev.nowMs)), where).toEqual(
          ev.recovery,
        );
        break;
      default:
        throw new Error(`${where}: unknown step`);
    }
  });
}

if (process.env.PRIVAGG_WRITE_VECTORS === '1') {
  for (const s of registeredSchemes()) {
    mkdirSync(join(DIR, s.id), { recursive: true });
    for (const c of CASES) {
      const v = await generate(s.id, c);
      writeFileSync(join(DIR, s.id, `${c.name}.json`), `${JSON.stringify(v, null, 1)}\n`);
    }
  }
}

describe('test vectors (test/vectors/<scheme>/*.json), one harness', () => {
  for (const s of registeredSchemes()) {
    it(`${s.id}: every registered scheme has vectors`, () => {
      expect(readdirSync(join(DIR, s.id)).sort()).toEqual(
        CASES.map((c) => `${c.name}.json`).sort(),
      );
    });
    for (const c of CASES) {
      it(`${s.id}/${c.name}: the steps replay to the same verdicts, recoveries (and bytes)`, () => {
        const v = JSON.parse(readFileSync(join(DIR, s.id, `${c.name}.json`), 'utf8')) as Vector;
        expect(v.events.length).toBeGreaterThan(10);
        replay(v);
      });
      it(`${s.id}/${c.name}: the negative cases get the codes on file`, () => {
        const v = JSON.parse(readFileSync(join(DIR, s.id, `${c.name}.json`), 'utf8')) as Vector;
        const config = configureScheme(v.scheme, v.params, v.population);
        expect(deliverNegatives(config, v.seed, v.negative)).toEqual(v.negative.map((n) => n.code));
        expect(v.negative.map((n) => n.code).slice(-2)).toEqual(['OK', 'REPLAY']);
        expect(v.negative.slice(0, 4).every((n) => n.code !== 'OK')).toBe(true);
      });
    }
  }
});
