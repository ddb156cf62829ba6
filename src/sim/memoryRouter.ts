import type { RandomSource } from '../math/random.js';
import {
  type Address,
  type AggregatorRole,
  addressKey,
  type CenterRole,
  type DeviceRole,
  type Envelope,
  type Inbound,
  type Verdict,
} from '../schemes/scheme.js';

/**
 * The in-memory router: envelopes go straight to the addressed role's `receive`, and what a
 * role answers goes on at once, so a multi-step exchange (a reconcile request and the
 * re-sum it causes, a failure announcement and the devices' auxiliary messages) finishes
 * inside one `send`. The fault model sits here, for every scheme alike: an envelope can be
 * dropped, held back (delivered later, when `release` is called), or have its bytes
 * changed on the way.
 */
export interface RouterFaults {
  /** True: the envelope is lost. */
  drop?(from: Address, e: Envelope): boolean;
  /** True: the envelope is held until `release()` (late, after its round's deadline). */
  delay?(from: Address, e: Envelope): boolean;
  /** New bytes for the envelope (an outsider's tampering), or undefined to leave it. */
  tamper?(from: Address, e: Envelope): Uint8Array | undefined;
  /** True: the role is down and neither receives nor sends. */
  down?(who: Address): boolean;
}

export interface Delivery {
  readonly from: Address;
  readonly envelope: Envelope;
  readonly verdict: Verdict | 'dropped' | 'delayed' | 'down' | 'no such role';
}

/** Beyond this many hops in one exchange a scheme is looping: stop and count it. */
const MAX_HOPS = 64;

export class MemoryRouter {
  private readonly devices = new Map<string, DeviceRole>();
  private readonly aggregators = new Map<string, AggregatorRole>();
  private center: CenterRole | undefined;
  private held: { from: Address; e: Envelope }[] = [];
  /** Every delivery and its fate, when asked for (tests); off in long runs. */
  readonly log: Delivery[] | undefined;
  /** Rejections by code, over every role. */
  readonly rejections: Record<string, number> = {};
  faults: RouterFaults = {};

  constructor(
    private readonly rng: RandomSource,
    private readonly now: () => number,
    opts: { keepLog?: boolean; onDelivery?: (d: Delivery & { bytes: Uint8Array }) => void } = {},
  ) {
    this.log = opts.keepLog ? [] : undefined;
    this.onDelivery = opts.onDelivery;
  }

  private readonly onDelivery: ((d: Delivery & { bytes: Uint8Array }) => void) | undefined;

  addDevice(d: DeviceRole): void {
    this.devices.set(addressKey(d.address), d);
  }

  addAggregator(a: AggregatorRole): void {
    this.aggregators.set(addressKey(a.address), a);
  }

  setCenter(c: CenterRole): void {
    this.center = c;
  }

  /** Delivers `envelopes` from `from` and everything they cause, depth first. */
  send(from: Address, envelopes: readonly Envelope[], hops = 0): void {
    if (this.faults.down?.(from)) return;
    for (const e of envelopes) this.deliver(from, e, hops);
  }

  /** Delivers what was held back, in the order it was sent. */
  release(): void {
    const held = this.held;
    this.held = [];
    for (const { from, e } of held) this.deliver(from, e, 0, true);
  }

  private deliver(from: Address, e: Envelope, hops: number, released = false): void {
    const f = this.faults;
    let bytes = e.bytes;
    const record = (verdict: Delivery['verdict']): void => {
      this.log?.push({ from, envelope: e, verdict });
      this.onDelivery?.({ from, envelope: e, verdict, bytes });
    };
    if (f.drop?.(from, e)) {
      record('dropped');
      return;
    }
    if (!released && f.delay?.(from, e)) {
      this.held.push({ from, e });
      record('delayed');
      return;
    }
    if (f.down?.(e.to)) {
      record('down');
      return;
    }
    bytes = f.tamper?.(from, e) ?? e.bytes;
    const m: Inbound = { from, channel: e.channel, bytes };
    const k = addressKey(e.to);
    let answer: { verdict: Verdict; out: readonly Envelope[] } | undefined;
    if (e.to.role === 'center') answer = this.center?.receive(m, this.now());
    else if (e.to.role === 'aggregator')
      answer = this.aggregators.get(k)?.receive(m, this.now(), this.rng);
    else if (e.to.role === 'device')
      answer = this.devices.get(k)?.receive?.(m, this.now(), this.rng);
    if (!answer) {
      record('no such role');
      return;
    }
    record(answer.verdict);
    if (!answer.verdict.ok)
      this.rejections[answer.verdict.code] = (this.rejections[answer.verdict.code] ?? 0) + 1;
    if (answer.out.length === 0) return;
    if (hops >= MAX_HOPS) {
      this.rejections.LOOP = (this.rejections.LOOP ?? 0) + 1;
      return;
    }
    this.send(e.to, answer.out, hops + 1);
  }
}
