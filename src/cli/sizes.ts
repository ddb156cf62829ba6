import type { Command } from 'commander';
import { AEAD_NONCE_BYTES, AEAD_OVERHEAD_BYTES, AEAD_TAG_BYTES } from '../crypto/aead.js';
import { ED25519_SIGNATURE_BYTES } from '../crypto/ed25519.js';
import { MAC_TAG_BYTES } from '../crypto/mac.js';
import { ErrorCode, PrivaggError } from '../errors.js';
import { bitLength, field61, field127 } from '../math/field.js';
import { defaultMaasParams, type MaasParams, shareBytes } from '../schemes/maas/params.js';
import {
  proofPayloadBytes,
  reportValidityFor,
  verifierEntryBytes,
} from '../schemes/maas/reportValidity.js';
import { configureScheme } from '../schemes/registry.js';
import {
  deviceReportSize,
  deviceReportSizeFor,
  gatewayPartialSize,
  MAX_MESSAGE_BYTES,
  querySize,
  REPORT_HEADER_BYTES,
} from '../wire/maas.js';
import { type ReferenceOptions, referencePopulation } from './schemes.js';
import { formatTable } from './table.js';

/**
 * `privagg sizes`: the exact size of every MaaS message (from the size functions of
 * src/wire/maas.ts; test/cli/sizes.test.ts checks them against messages the MaaS core
 * really encodes) beside the paper's 336 bits (§VII.C: 4·|ind| + |d| + |t| + |H| =
 * 4·8 + 16 + 32 + 256 bits, one message per dimension per gateway).
 */

/** The paper's DS→GW and GW→BC message (§VII.C). */
export const PAPER_MESSAGE_BITS = 4 * 8 + 16 + 32 + 256;

export interface SizesOptions {
  /** m */
  gateways: number;
  /** w */
  dimensions: number;
  /** n, the roster size a partial's bitmap covers */
  devices: number;
  prime: 61 | 127;
  /** Range proofs per report (input validity), or null for none. Default 3. */
  proofs?: number | null;
  /** Device LDP ε (it sets the proven range: the LDP output's), or null for exact readings in 0..1. Default 1. */
  epsilon?: number | null;
}

export type MessageId =
  | 'report-vector-sealed'
  | 'report-vector-clear'
  | 'report-vector-sealed-unproven'
  | 'report-per-dimension-clear'
  | 'report-per-dimension-sealed'
  | 'gateway-partial'
  | 'gateway-partial-reaggregation'
  | 'query';

export interface MessageSize {
  id: MessageId;
  message: string;
  link: 'DS → GW' | 'GW → ledger' | 'OEM → ledger';
  bytes: number;
  bits: number;
  /** The paper's size of its counterpart message, or null when the paper gives none. */
  paperBits: number | null;
  perRound: {
    /** Messages of this kind one sender sends per round. */
    count: number;
    per: 'device' | 'gateway' | 'query';
    bytes: number;
    bits: number;
    paperBits: number | null;
  };
}

export interface FieldSize {
  field: string;
  bits: number;
  paperBits: number;
}

export interface SizesReport {
  params: SizesOptions & {
    fieldBits: number;
    elementBytes: number;
    /** Input validity's sizes, or null when off. */
    validity: {
      proofs: number;
      /** Bits proven per report (each dimension's range as bits, both ends). */
      provenBits: number;
      /** Bytes a proof adds to a report's payload, over the w plain shares. */
      reportExtraBytes: number;
      /** Bytes one contributor adds to a first partial (its verifier share and query seed). */
      verifierEntryBytes: number;
    } | null;
  };
  paper: { messageBits: number; formula: string };
  messages: MessageSize[];
  /** The paper's message and privagg's per-dimension report in clear, field by field. */
  reportFields: FieldSize[];
  notes: string[];
}

/** Validated MaaS parameters for the options (the same checks a deployment gets). */
export function sizesParams(o: SizesOptions): MaasParams {
  const dimensions = Array.from({ length: o.dimensions }, (_, j) => `d${j}`);
  return defaultMaasParams({
    gateways: o.gateways,
    threshold: Math.min(3, o.gateways),
    devicesPerIan: o.devices,
    dimensions,
    maxReading: dimensions.map(() => 1),
    field: o.prime === 127 ? field127 : field61,
    ldp: o.epsilon === null ? null : { epsilon: o.epsilon ?? 1, delta: 1e-3 },
    validity: o.proofs === null ? null : { proofs: o.proofs ?? 3 },
  });
}

export function computeSizes(o: SizesOptions): SizesReport {
  const params = sizesParams(o);
  const E = shareBytes(params);
  const fieldBits = bitLength(params.field.p);
  const { gateways: m, dimensions: w, devices: n } = o;
  const paper = PAPER_MESSAGE_BITS;
  const validity = reportValidityFor(params);
  const report = (
    id: MessageId,
    message: string,
    perDimension: boolean,
    sealed: boolean,
    proven: boolean,
  ): MessageSize => {
    const bytes =
      proven && validity
        ? deviceReportSizeFor(proofPayloadBytes(validity), sealed)
        : deviceReportSize(perDimension ? 1 : w, E, sealed);
    const count = perDimension ? w * m : m;
    return {
      id,
      message,
      link: 'DS → GW',
      bytes,
      bits: 8 * bytes,
      paperBits: paper,
      // The paper's device sends one message per dimension per gateway.
      perRound: {
        count,
        per: 'device',
        bytes: count * bytes,
        bits: 8 * count * bytes,
        paperBits: w * m * paper,
      },
    };
  };
  const sig = ED25519_SIGNATURE_BYTES;
  const partial = gatewayPartialSize(n, w, E, sig);
  const entry = validity ? verifierEntryBytes(validity) : 0;
  const firstPartial = partial + n * entry;
  const query = querySize(sig);
  const partialRow = (id: MessageId, message: string, bytes: number): MessageSize => ({
    id,
    message,
    link: 'GW → ledger',
    bytes,
    bits: 8 * bytes,
    paperBits: paper,
    // One partial with all w sums; the paper's gateway sends one message per dimension.
    perRound: { count: 1, per: 'gateway', bytes, bits: 8 * bytes, paperBits: w * paper },
  });
  const proofs = validity ? ', range proofs' : '';
  const messages: MessageSize[] = [
    report('report-vector-sealed', `report: vector, sealed${proofs} (default)`, false, true, true),
    report('report-vector-clear', `report: vector, in clear${proofs}`, false, false, true),
    ...(validity
      ? [
          report(
            'report-vector-sealed-unproven',
            'report: vector, sealed, no range proofs',
            false,
            true,
            false,
          ),
        ]
      : []),
    report(
      'report-per-dimension-clear',
      'report: per dimension, in clear (paper)',
      true,
      false,
      false,
    ),
    report('report-per-dimension-sealed', 'report: per dimension, sealed', true, true, false),
    validity
      ? partialRow('gateway-partial', `partial, first (n = ${n} devices, verifiers)`, firstPartial)
      : partialRow('gateway-partial', `partial (n = ${n} devices)`, partial),
    ...(validity
      ? [partialRow('gateway-partial-reaggregation', `partial, re-aggregation (n = ${n})`, partial)]
      : []),
    {
      id: 'query',
      message: 'query',
      link: 'OEM → ledger',
      bytes: query,
      bits: 8 * query,
      paperBits: null,
      perRound: {
        count: 1,
        per: 'query',
        bytes: query,
        bits: 8 * query,
        paperBits: null,
      },
    },
  ];
  // Header layout of src/wire/maas.ts; the test checks these add up to REPORT_HEADER_BYTES.
  const reportFields: FieldSize[] = [
    { field: 'version, type, flags', bits: 24, paperBits: 0 },
    { field: 'w (shares carried)', bits: 8, paperBits: 0 },
    { field: 'j dimension', bits: 8, paperBits: 8 },
    { field: 'l gateway', bits: 8, paperBits: 8 },
    { field: 'v IAN', bits: 16, paperBits: 0 },
    { field: 'i device', bits: 32, paperBits: 8 },
    { field: 'rd round', bits: 32, paperBits: 8 },
    { field: 't_cur timestamp (ms)', bits: 64, paperBits: 32 },
    { field: `share (mod 2^${o.prime} − 1)`, bits: 8 * E, paperBits: 16 },
    { field: 'tag (HMAC-SHA256)', bits: 8 * MAC_TAG_BYTES, paperBits: 256 },
  ];
  // The header-and-tag saving of the vector layout, without the proofs' payload.
  const def = (messages.find((x) => x.id === 'report-vector-sealed-unproven') ?? messages[0]!)
    .perRound;
  return {
    params: {
      ...o,
      proofs: validity ? validity.flp.proofs : null,
      epsilon: params.ldp ? params.ldp.epsilon : null,
      fieldBits,
      elementBytes: E,
      validity: validity
        ? {
            proofs: validity.flp.proofs,
            provenBits: validity.circuit.inputLength,
            reportExtraBytes: proofPayloadBytes(validity) - w * E,
            verifierEntryBytes: entry,
          }
        : null,
    },
    paper: { messageBits: paper, formula: '4·|ind| + |d| + |t| + |H| = 4·8 + 16 + 32 + 256' },
    messages,
    reportFields,
    notes: [
      `A share mod 2^${o.prime} − 1 is ${fieldBits} bits, carried in ${E} bytes (⌈${fieldBits}/8⌉); the paper's |d| = 16 bits cannot hold a share over a field big enough for a sum of n fixed-point readings.`,
      `Sealing (AES-256-GCM on each DS→GW link) adds ${AEAD_OVERHEAD_BYTES} bytes: a ${AEAD_NONCE_BYTES}-byte nonce and a ${AEAD_TAG_BYTES}-byte tag. The paper sends shares in clear.`,
      `A report's tag is HMAC-SHA256: ${8 * MAC_TAG_BYTES} bits, as the paper's |H|. Partials and queries carry their sender's Ed25519 signature instead (${8 * sig} bits): the ledger checks them with public keys and cannot forge them (the paper's mode keeps its ${8 * MAC_TAG_BYTES}-bit hash).`,
      `Header fields are wider than the paper's 8-bit indices so real deployments fit: device index u32 (up to 10^6 devices, not 256), round u32, timestamp u64 in ms, IAN u16, plus version, type and flags bytes so a receiver rejects what it does not understand (${REPORT_HEADER_BYTES}-byte header).`,
      `The vector layout (default) sends one message per gateway with all w shares, so header and tag are paid m = ${m} times per device per round, not w·m = ${w * m}: ${def.bits} bits against the paper's w·m·336 = ${def.paperBits} bits, with sealing${validity ? ', without range proofs' : ''}.`,
      `A partial carries a contributor bitmap of ⌈n/8⌉ = ${Math.ceil(n / 8)} bytes so the ledger only interpolates partials over the same devices, and all w sums in one message.`,
      ...(validity
        ? [
            `Range proofs (input validity, docs/VALIDITY.md): each report proves ${validity.circuit.inputLength} bits (every dimension's ${params.ldp ? 'LDP output' : 'reading'} range as bits, both ends) with ${validity.flp.proofs} proofs: its payload carries the shares of those bits, a proof share, a blind and 2·m commitment parts instead of w shares, ${proofPayloadBytes(validity) - w * E} bytes more. A first partial carries ${entry} bytes per contributor (a verifier share and a query seed); re-aggregations carry none. --proofs off gives the sizes without.`,
            ...(firstPartial > MAX_MESSAGE_BYTES
              ? [
                  `A first partial at n = ${n} is over the ${MAX_MESSAGE_BYTES}-byte message limit: such a deployment is refused at setup (fewer devices per IAN, or --proofs off).`,
                ]
              : []),
          ]
        : []),
      'Not counted: MQTT framing (about 4 bytes + the topic per PUBLISH, and a 4-byte PUBACK at QoS 1), TCP/IP headers.',
    ],
  };
}

export function formatSizes(r: SizesReport): string {
  const { gateways: m, dimensions: w, devices: n, prime, elementBytes } = r.params;
  const dash = (x: number | null) => (x === null ? '—' : x);
  const sent = (x: MessageSize) => {
    if (x.perRound.per === 'query') return '1 / query';
    if (x.perRound.per === 'gateway') return '1 / gateway';
    return x.perRound.count === m ? `m = ${m} / device` : `w·m = ${x.perRound.count} / device`;
  };
  const main = formatTable(
    [
      'message',
      'link',
      'bytes',
      'bits',
      'paper bits',
      'per round',
      'bytes/round',
      'bits/round',
      'paper bits/round',
    ],
    r.messages.map((x) => [
      x.message,
      x.link,
      x.bytes,
      x.bits,
      dash(x.paperBits),
      sent(x),
      x.perRound.bytes,
      x.perRound.bits,
      dash(x.perRound.paperBits),
    ]),
  );
  const fields = formatTable(
    ['field', 'privagg bits', 'paper bits'],
    [
      ...r.reportFields.map((f) => [f.field, f.bits, f.paperBits]),
      [
        'total',
        r.reportFields.reduce((s, f) => s + f.bits, 0),
        r.reportFields.reduce((s, f) => s + f.paperBits, 0),
      ],
    ],
  );
  return [
    `MaaS message sizes: m = ${m} gateways, w = ${w} dimensions, n = ${n} devices per IAN, p = 2^${prime} − 1 (${elementBytes}-byte shares).`,
    `The paper (§VII.C): every DS→GW and GW→BC message is ${r.paper.formula} = ${r.paper.messageBits} bits, one per dimension per gateway.`,
    '',
    main,
    '',
    "The paper's message and privagg's per-dimension report in clear, field by field:",
    '',
    fields,
    '',
    ...r.notes.map((x) => `• ${x}`),
  ].join('\n');
}

function intOption(value: string, name: string, lo: number, hi: number): number {
  const x = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(x) || x < lo || x > hi) {
    throw new PrivaggError(
      ErrorCode.INVALID_ARGUMENT,
      `${name} must be an integer in [${lo}, ${hi}], got "${value}"`,
    );
  }
  return x;
}

/** Adds `privagg sizes`. */
export function registerSizesCommand(program: Command): void {
  program
    .command('sizes')
    .description(
      "Print the exact size of every MaaS message, per message and per round, beside the paper's 336 bits",
    )
    .option('--gateways <m>', 'gateways per IAN', '5')
    .option('--dimensions <w>', 'dimensions of a reading', '5')
    .option(
      '--devices <n>',
      'devices per IAN (the partial carries an n-bit contributor bitmap)',
      '25',
    )
    .option('--prime <61|127>', 'the field: 2^61 − 1 or 2^127 − 1', '61')
    .option('--proofs <n|off>', 'range proofs per report (input validity), 1..8, or off', '3')
    .option(
      '--epsilon <ε|off>',
      'device LDP ε: the proofs cover the LDP output range (off: readings in 0..1)',
      '1',
    )
    .option(
      '--scheme <id>',
      'another registered scheme (privagg schemes): its message sizes by channel, default parameters',
    )
    .option('--json', 'print the sizes as JSON')
    .action(
      (opts: {
        scheme?: string;
        gateways: string;
        dimensions: string;
        devices: string;
        prime: string;
        proofs: string;
        epsilon: string;
        json?: boolean;
      }) => {
        if (opts.scheme !== undefined && opts.scheme !== 'maas') {
          const sizes = schemeSizes(opts.scheme, {
            ians: 1,
            devices: intOption(opts.devices, '--devices', 1, 1_000_000),
            dimensions: intOption(opts.dimensions, '--dimensions', 1, 64),
            max: 1,
          });
          console.log(opts.json ? JSON.stringify(sizes, null, 2) : formatSchemeSizes(sizes));
          return;
        }
        const epsilon = opts.epsilon === 'off' ? null : Number(opts.epsilon);
        if (epsilon !== null && !(Number.isFinite(epsilon) && epsilon > 0)) {
          throw new PrivaggError(
            ErrorCode.INVALID_ARGUMENT,
            `--epsilon must be > 0 or "off", got "${opts.epsilon}"`,
          );
        }
        if (opts.prime !== '61' && opts.prime !== '127') {
          throw new PrivaggError(
            ErrorCode.INVALID_ARGUMENT,
            `--prime must be 61 or 127, got "${opts.prime}"`,
          );
        }
        const report = computeSizes({
          gateways: intOption(opts.gateways, '--gateways', 1, 255),
          dimensions: intOption(opts.dimensions, '--dimensions', 1, 8),
          devices: intOption(opts.devices, '--devices', 1, 1_000_000),
          prime: opts.prime === '127' ? 127 : 61,
          proofs: opts.proofs === 'off' ? null : intOption(opts.proofs, '--proofs', 1, 8),
          epsilon,
        });
        console.log(opts.json ? JSON.stringify(report, null, 2) : formatSizes(report));
      },
    );
}

/** A registered scheme's message sizes by channel, at its default parameters. */
export function schemeSizes(
  id: string,
  o: ReferenceOptions,
): {
  scheme: string;
  devices: number;
  dimensions: number;
  channels: { channel: string; bytes: number }[];
} {
  const config = configureScheme(id, {}, referencePopulation(o));
  return {
    scheme: id,
    devices: o.devices,
    dimensions: o.dimensions,
    channels: Object.entries(config.sizes).map(([channel, bytes]) => ({ channel, bytes })),
  };
}

export function formatSchemeSizes(s: ReturnType<typeof schemeSizes>): string {
  return [
    `${s.scheme}: message sizes at its default parameters, ${s.devices} devices per group, ${s.dimensions} dimension(s)`,
    '',
    formatTable(
      ['channel', 'bytes', 'bits'],
      s.channels.map((c) => [c.channel, c.bytes, 8 * c.bytes]),
    ),
  ].join('\n');
}
