import type { RandomSource } from '../math/random.js';
import type { Address, Envelope, Inbound } from '../schemes/scheme.js';
import {
  type Delivery,
  deliverTo,
  type RoleSet,
  type Router,
  type RouterFactory,
  type RouterFaults,
} from './router.js';

/** Beyond this many hops in one exchange a scheme is looping: stop and count it. */
const MAX_HOPS = 64;

/**
 * The in-memory router: envelopes go straight to the addressed role's `receive`, and what a
 * role answers goes on at once, so a multi-step exchange (a reconcile request and the
 * re-sum it causes, a failure announcement and the devices' auxiliary messages) finishes
 * inside one `send`. The fault model (router.ts) is applied on the way.
 */
export class MemoryRouter implements Router {
  private held: { from: Address; e: Envelope }[] = [];
  /** Every delivery and its fate, when asked for (tests); off in long runs. */
  readonly log: Delivery[] | undefined;
  /** Rejections by code, over every role. */
  readonly rejections: Record<string, number> = {};
  faults: RouterFaults = {};

  constructor(
    private readonly roles: RoleSet,
    private readonly rng: RandomSource,
    private readonly now: () => number,
    opts: { keepLog?: boolean; onDelivery?: (d: Delivery) => void } = {},
  ) {
    this.log = opts.keepLog ? [] : undefined;
    this.onDelivery = opts.onDelivery;
  }

  private readonly onDelivery: ((d: Delivery) => void) | undefined;

  /** Nothing is in flight once `send` returns. */
  async settle(): Promise<void> {}

  async close(): Promise<void> {}

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
      this.log?.push({ from, envelope: e, verdict, bytes });
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
    const answer = deliverTo(this.roles, e.to, m, this.now(), this.rng);
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

/** The default router of a run: in memory. */
export const inMemory: RouterFactory = (roles, ctx) =>
  new MemoryRouter(roles, ctx.rng, ctx.now, ctx.onDelivery ? { onDelivery: ctx.onDelivery } : {});
