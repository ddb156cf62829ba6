import type { ZodType } from 'zod';
import type { ErrorCode } from '../errors.js';
import type { RandomSource } from '../math/random.js';

/**
 * The scheme seam: what every aggregation scheme gives the runtime, the ledger, the
 * simulator and the CLI. A scheme exports one `Scheme` object; configured with its
 * parameters and a population, it hands out role objects that exchange bytes. Nothing
 * above this file sees a scheme's types: roles are addressed, messages are envelopes of
 * bytes on named channels, and what the center recovers is a `Recovery` every layer reads
 * the same way. Roles are sans-I/O: a clock value and randomness come in as parameters,
 * and the center takes no randomness at all (it runs in the SQLite ledger, in chaincode
 * and in chain replay, and must give the same answer each time).
 *
 * A role holds only its own keys: the TA (`SchemeConfig.setup`) issues one opaque key blob
 * per address, and a role is built from its blob and the public setup alone.
 */

export type RoleKind = 'device' | 'aggregator' | 'center' | 'querier';

/**
 * Where bytes go. Devices are (group, device index); aggregators (group, index), the index
 * unique within the group whatever the tree's shape; the center is `CENTER`.
 */
export interface Address {
  readonly role: RoleKind;
  readonly group: number;
  readonly index: number;
}

export const CENTER: Address = Object.freeze({ role: 'center', group: -1, index: 0 });

export const deviceAt = (group: number, index: number): Address => ({
  role: 'device',
  group,
  index,
});
export const aggregatorAt = (group: number, index: number): Address => ({
  role: 'aggregator',
  group,
  index,
});

/** A stable text form of an address ('device/0/3', 'aggregator/1/2', 'center/-1/0'). */
export function addressKey(a: Address): string {
  return `${a.role}/${a.group}/${a.index}`;
}

export function sameAddress(a: Address, b: Address): boolean {
  return a.role === b.role && a.group === b.group && a.index === b.index;
}

/** Bytes on their way: the addressee, the channel ('report', 'partial', 'reconcile', …). */
export interface Envelope {
  readonly to: Address;
  readonly channel: string;
  readonly bytes: Uint8Array;
}

/**
 * Bytes that arrived. `from` is what the transport vouches for (the router, the MQTT topic
 * a client certificate may publish on, the HTTP client certificate), not what the bytes
 * claim; a role checks that the two agree.
 */
export interface Inbound {
  readonly from: Address;
  readonly channel: string;
  readonly bytes: Uint8Array;
}

export type Verdict = { ok: true } | { ok: false; code: ErrorCode; reason: string };

/** A receiver's answer: the verdict on what came in and what it sends on because of it. */
export interface Answer {
  readonly verdict: Verdict;
  readonly out: readonly Envelope[];
}

export const ACCEPTED: Verdict = Object.freeze({ ok: true });

/** Who reports what: groups (IANs) × devices, each reading a vector of bounded dimensions. */
export interface Population {
  readonly groups: number;
  readonly devicesPerGroup: number;
  readonly dimensions: readonly Dimension[];
}

/** One reading dimension: every value lies in [0, max]; `max` is public and data-independent. */
export interface Dimension {
  readonly name: string;
  readonly max: number;
}

/**
 * The shape of the network: which aggregators each group has and where each role's
 * output goes. A star (MaaS: every device → m gateways), a single aggregator
 * (Joye–Libert) and a tree are all this.
 */
export interface Topology {
  readonly groups: number;
  devices(group: number): number;
  /** The group's aggregators in the order they close a round: children before parents. */
  aggregators(group: number): readonly Address[];
  /** Where this role's reports or partials go. */
  upstream(of: Address): readonly Address[];
}

export interface DeviceRole {
  readonly address: Address;
  /** The device's reports of one round (empty: it has nothing to send). */
  report(
    round: number,
    reading: readonly number[],
    nowMs: number,
    rng: RandomSource,
  ): readonly Envelope[];
  /** Bytes addressed to the device in a later phase of the round (absent: it takes none). */
  receive?(m: Inbound, nowMs: number, rng: RandomSource): Answer;
}

export interface AggregatorRole {
  readonly address: Address;
  /** A round opens for reports (the network calls it on the clock; the driver before devices report). */
  open(round: number, nowMs: number): void;
  /** Never throws: bad bytes are a verdict with a code, counted, and leave the round intact. */
  receive(m: Inbound, nowMs: number, rng: RandomSource): Answer;
  /**
   * The round's deadline: what the aggregator sends up (or down, to ask for more). With
   * `lie`, what a compromised aggregator sends instead: its sum moved by `lie.shift` in
   * every dimension, authenticated with its own keys as an honest partial is — the fault
   * model's "lie", which a scheme corrects, detects or cannot see
   * (`SchemeProperties.lyingAggregator`).
   */
  close(round: number, nowMs: number, rng: RandomSource, lie?: Lie): readonly Envelope[];
  /** Rejections and other counts since the start, by name (a code's name for rejections). */
  counters(): Readonly<Record<string, number>>;
}

/** A compromised aggregator's lie: `shift` (reading units, an integer ≥ 1) added to every dimension of its sum. */
export interface Lie {
  readonly shift: number;
}

/** A role named as having lied or misbehaved, and why (shown to the operator). */
export interface Flag {
  readonly who: Address;
  readonly why: string;
}

/** One dimension of a recovered group-round: the estimate of the sum, and its standard error. */
export interface Estimate {
  readonly name: string;
  readonly estimate: number;
  /** 0 for exact schemes; LDP or DP noise gives a positive one. */
  readonly standardError: number;
}

/**
 * What the center knows about one group-round, the same for every scheme:
 * - `recovered`: the sums, the devices that entered them, who was flagged and what was
 *   lost on the way (`notes`: "1 aggregator(s) sent no partial", …);
 * - `pending`: the center needs another phase; `next` is what the driver routes;
 * - `failed`: nothing can be recovered, and `reason` says why, honestly.
 * `detail` is scheme-specific and canonical-JSON-able (it goes on the ledger sealed).
 */
export type Recovery =
  | {
      readonly status: 'recovered';
      readonly group: number;
      readonly round: number;
      readonly values: readonly Estimate[];
      readonly contributors: readonly number[];
      readonly flagged: readonly Flag[];
      readonly notes: readonly string[];
      readonly detail?: unknown;
    }
  | {
      readonly status: 'pending';
      readonly group: number;
      readonly round: number;
      readonly next: readonly Envelope[];
      readonly flagged: readonly Flag[];
      readonly notes: readonly string[];
    }
  | {
      readonly status: 'failed';
      readonly group: number;
      readonly round: number;
      readonly reason: string;
      readonly flagged: readonly Flag[];
      readonly notes: readonly string[];
      readonly detail?: unknown;
    };

/** The recoverer. Deterministic: no randomness, and the same inputs give the same recovery. */
export interface CenterRole {
  /** Bytes from aggregators (partials) or other roles; never throws. */
  receive(m: Inbound, nowMs: number): Answer;
  /** Called at the round's recovery time, and again after each pending phase is routed. */
  recover(group: number, round: number, nowMs: number): Recovery;
  counters(): Readonly<Record<string, number>>;
}

/** The key material the TA issues: public parameters for everyone, a blob per role. */
export interface TrustedSetup {
  /** Public: every role (and an auditor replaying the chain) may hold it. */
  readonly publicSetup: Uint8Array;
  /** The secret blob of one role: only that role is given it. */
  keysOf(who: Address): Uint8Array;
}

/** Sizes in bytes of what crosses a network, by channel (the packet guard follows these). */
export type MessageSizes = Readonly<Record<string, number>>;

/** What a researcher compares schemes on (`privagg schemes`). */
export interface SchemeProperties {
  /** How readings are hidden from aggregators and outsiders. */
  readonly privacy: string;
  /** What a forged, replayed or lying message meets. */
  readonly integrity: string;
  readonly deviceFaults: string;
  readonly aggregatorFaults: string;
  /** Differential privacy, or 'none'. */
  readonly dp: string;
  /** Whether the recovered sums are exact (no noise) in this configuration. */
  readonly exact: boolean;
  /**
   * What one aggregator that lies about its sum (signed with its own keys) meets:
   * 'corrected' — the center recovers the true sum and names it; 'detected' — the round
   * fails or the liar is named, never a wrong sum unnoticed; 'undetected' — the center
   * recovers the lie (the scheme trusts its aggregators for integrity).
   */
  readonly lyingAggregator: 'corrected' | 'detected' | 'undetected';
}

export interface SchemeRoles {
  device(group: number, index: number, keys: Uint8Array): DeviceRole;
  aggregator(at: Address, keys: Uint8Array): AggregatorRole;
  center(keys: Uint8Array): CenterRole;
}

/** A scheme with its parameters parsed and its population fixed. */
export interface SchemeConfig {
  readonly id: string;
  readonly population: Population;
  readonly properties: SchemeProperties;
  /** The parameters as canonical-JSON-able data: replaying a chain starts from this. */
  readonly publicConfig: unknown;
  readonly sizes: MessageSizes;
  /** The shape of the network: fixed by the parameters, known before any key exists. */
  readonly topology: Topology;
  /** The TA's step: fresh keys from `rng` (seeded in tests and vectors). */
  setup(rng: RandomSource): TrustedSetup;
  /** Builds roles from the public setup; each role then gets its own key blob. */
  roles(publicSetup: Uint8Array): SchemeRoles;
}

export type SchemeStatus = 'paper' | 'standard' | 'compatible' | 'test';

export interface Scheme<P> {
  readonly id: string;
  readonly title: string;
  /** As in docs/SCHEMES.md: the paper's construction, a standard baseline, ours, or a test scheme. */
  readonly status: SchemeStatus;
  readonly summary: string;
  /** Validates the parameters; `{}` parses to the defaults. */
  readonly params: ZodType<P>;
  configure(params: P, population: Population): SchemeConfig;
}
