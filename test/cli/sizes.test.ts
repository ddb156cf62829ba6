import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  computeSizes,
  formatSizes,
  type MessageId,
  PAPER_MESSAGE_BITS,
  registerSizesCommand,
  type SizesOptions,
  sizesParams,
} from '../../src/cli/sizes.js';
import { isPrivaggError } from '../../src/errors.js';
import { seededRandom } from '../../src/math/random.js';
import { createMaasDeployment } from '../../src/schemes/maas/deployment.js';
import { DEFAULT_MODES, type MaasModes, type MaasParams } from '../../src/schemes/maas/params.js';
import { buildQuery } from '../../src/schemes/maas/query.js';
import { REPORT_HEADER_BYTES } from '../../src/wire/maas.js';

const T0 = 1_700_000_000_000;

/** Real messages from the MaaS core for the options, in the given modes. */
function encodeRound(o: SizesOptions, modes: Partial<MaasModes>) {
  const base = sizesParams(o);
  // The paper's layout and restore drop the proofs (validateMaasParams), as in a deployment.
  const params: MaasParams = { ...base, modes: { ...DEFAULT_MODES, ...modes } };
  const dep = createMaasDeployment(params, {
    oems: [
      {
        name: 'oem',
        dimensions: params.dimensions.map((_, j) => j),
        budget: { epsilon: 100, delta: 0 },
        epsilonPerDimension: params.dimensions.map(() => 1),
      },
    ],
    registeredAtMs: T0,
    rng: seededRandom('sizes'),
  });
  const rng = seededRandom('sizes/round');
  const reading = params.dimensions.map((_, j) => j % 2);
  // Two devices are enough: a partial's size depends on the roster n, not on who sent.
  const senders = [0, Math.min(1, o.devices - 1)].filter((d, i, a) => a.indexOf(d) === i);
  const reports = senders.map((d) => dep.device(0, d).report(7, reading, T0, rng));
  const gateway = dep.gateway(0, 1);
  gateway.beginRound(7);
  for (const r of reports) {
    for (const m of r)
      if (m.gateway === 1) expect(gateway.ingest(m.bytes, T0)).toEqual({ ok: true });
  }
  const closed = gateway.closeRound(T0);
  expect(closed.contributors).toEqual(senders);
  const query = buildQuery(params, dep.registry.oemKey(0), {
    number: 1,
    startRound: 0,
    endRound: 7,
    dimensionMask: 1,
    timestamp: T0,
  });
  return { report: reports[0]!, partial: closed.partial, query, contributors: senders.length };
}

/** Each report row, the modes that send it, and whether its reports carry range proofs. */
const VARIANTS: [MessageId, Partial<MaasModes>, boolean][] = [
  ['report-vector-sealed', { layout: 'vector', aead: true }, true],
  ['report-vector-clear', { layout: 'vector', aead: false }, true],
  [
    'report-per-dimension-clear',
    { layout: 'per-dimension', aead: false, mac: 'paper-hash', restore: 'paper' },
    false,
  ],
  ['report-per-dimension-sealed', { layout: 'per-dimension', aead: true }, false],
];

describe('privagg sizes: the table agrees with messages the MaaS core encodes', () => {
  it.each<SizesOptions>([
    { gateways: 5, dimensions: 5, devices: 25, prime: 61 },
    { gateways: 3, dimensions: 2, devices: 9, prime: 127 },
    { gateways: 7, dimensions: 8, devices: 1000, prime: 61 },
    { gateways: 1, dimensions: 1, devices: 1, prime: 127 },
    { gateways: 5, dimensions: 5, devices: 25, prime: 61, proofs: null },
    { gateways: 4, dimensions: 3, devices: 40, prime: 61, proofs: 2, epsilon: null },
  ])(
    'm = $gateways, w = $dimensions, n = $devices, p = 2^$prime − 1, proofs $proofs, ε $epsilon',
    (o) => {
      const sizes = computeSizes(o);
      const byId = new Map(sizes.messages.map((m) => [m.id, m]));
      const validity = sizes.params.validity;
      expect(validity === null).toBe(o.proofs === null);
      for (const [id, modes, provable] of VARIANTS) {
        const row = byId.get(id)!;
        const { report, partial, query, contributors } = encodeRound(o, modes);
        // Every message a device sends in a round has the table's size, and as many as it says.
        expect(report.map((m) => m.bytes.length)).toEqual(report.map(() => row.bytes));
        expect(report).toHaveLength(row.perRound.count);
        expect(report.reduce((s, m) => s + m.bytes.length, 0)).toBe(row.perRound.bytes);
        expect(row.bits).toBe(8 * row.bytes);
        // The table gives the default (signed) partial and query; the paper's mode carries a
        // 32-byte hash where the default carries a 64-byte Ed25519 signature. A first partial
        // carries one verifier entry per contributor where the reports are proven.
        const shorter = modes.mac === 'paper-hash' ? 32 : 0;
        const proven = provable && validity !== null;
        const bare = (byId.get('gateway-partial-reaggregation') ?? byId.get('gateway-partial'))!;
        expect(partial.length).toBe(
          bare.bytes + (proven ? contributors * validity.verifierEntryBytes : 0) - shorter,
        );
        expect(query.length).toBe(byId.get('query')!.bytes - shorter);
      }
      if (validity) {
        // The first partial as the table counts it: every one of the n devices contributed.
        expect(byId.get('gateway-partial')!.bytes).toBe(
          byId.get('gateway-partial-reaggregation')!.bytes +
            o.devices * validity.verifierEntryBytes,
        );
        expect(byId.get('report-vector-sealed')!.bytes).toBe(
          byId.get('report-vector-sealed-unproven')!.bytes + validity.reportExtraBytes,
        );
      }
      // The paper's per-device total: w·m messages of 336 bits.
      expect(byId.get('report-vector-sealed')!.perRound.paperBits).toBe(
        o.dimensions * o.gateways * 336,
      );
      expect(byId.get('gateway-partial')!.perRound.paperBits).toBe(o.dimensions * 336);
    },
  );

  it("the field breakdown adds up to the real header and to the paper's 336 bits", () => {
    const sizes = computeSizes({ gateways: 5, dimensions: 5, devices: 25, prime: 61 });
    expect(PAPER_MESSAGE_BITS).toBe(336);
    const f = sizes.reportFields;
    const header = f.filter((x) => !x.field.startsWith('share') && !x.field.startsWith('tag'));
    expect(header.reduce((s, x) => s + x.bits, 0)).toBe(8 * REPORT_HEADER_BYTES);
    expect(f.reduce((s, x) => s + x.paperBits, 0)).toBe(336);
    expect(f.reduce((s, x) => s + x.bits, 0)).toBe(
      sizes.messages.find((m) => m.id === 'report-per-dimension-clear')!.bits,
    );
  });

  it('prints the table with the paper column and honest notes', () => {
    const text = formatSizes(computeSizes({ gateways: 5, dimensions: 5, devices: 25, prime: 61 }));
    expect(text).toContain('= 336 bits');
    expect(text).toMatch(
      /report: vector, sealed, range proofs \(default\)\s+DS → GW\s+3628\s+29024\s+336/,
    );
    expect(text).toMatch(/report: vector, sealed, no range proofs\s+DS → GW\s+124\s+992\s+336/);
    expect(text).toMatch(/report: per dimension, in clear \(paper\)\s+DS → GW\s+64\s+512\s+336/);
    expect(text).toMatch(/partial, first \(n = 25 devices, verifiers\)\s+GW → ledger\s+14132\s+/);
    expect(text).toMatch(/partial, re-aggregation \(n = 25\)\s+GW → ledger\s+132\s+1056\s+336/);
    expect(text).toContain('each report proves 210 bits');
    expect(text).toContain('560 bytes per contributor');
    const plain = formatSizes(
      computeSizes({ gateways: 5, dimensions: 5, devices: 25, prime: 61, proofs: null }),
    );
    expect(plain).toMatch(/report: vector, sealed \(default\)\s+DS → GW\s+124\s+992\s+336/);
    expect(plain).toMatch(/partial \(n = 25 devices\)\s+GW → ledger\s+132\s+1056\s+336/);
    expect(plain).not.toContain('range proofs');
    expect(text).toMatch(/query\s+OEM → ledger\s+88\s+704\s+—/);
    expect(text).toContain('Ed25519 signature instead (512 bits)');
    expect(text).toContain('61 bits, carried in 8 bytes');
    expect(text).toContain('adds 28 bytes');
    expect(text).toContain('256 bits');
  });
});

describe('privagg sizes (command)', () => {
  afterEach(() => vi.restoreAllMocks());

  async function run(...args: string[]): Promise<string> {
    const out: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((x: string) => void out.push(x));
    const program = new Command().exitOverride();
    registerSizesCommand(program);
    await program.parseAsync(['node', 'privagg', 'sizes', ...args]);
    return out.join('\n');
  }

  it('--json gives the same numbers as computeSizes', async () => {
    const json = JSON.parse(await run('--gateways', '3', '--dimensions', '2', '--json'));
    expect(json).toEqual(
      JSON.parse(
        JSON.stringify(computeSizes({ gateways: 3, dimensions: 2, devices: 25, prime: 61 })),
      ),
    );
  });

  it('--prime 127 carries 16-byte shares', async () => {
    const text = await run('--prime', '127');
    expect(text).toContain('p = 2^127 − 1 (16-byte shares)');
  });

  it.each([
    ['--prime', '7'],
    ['--dimensions', '9'],
    ['--gateways', '0'],
    ['--devices', '2.5'],
    ['--proofs', '9'],
    ['--epsilon', '-1'],
  ])('rejects %s %s with a typed error', async (flag, value) => {
    const e = await run(flag, value).catch((x: unknown) => x);
    expect(isPrivaggError(e)).toBe(true);
    expect(String(e)).toContain(flag);
  });
});
