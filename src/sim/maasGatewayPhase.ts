import { type RandomSource, uniformInt, uniformUnit } from '../math/random.js';
import { lyingPartial } from './maasAttacks.js';
import type { GatewayInboxes } from './maasDevicePhase.js';
import type { RunTally } from './maasRunResult.js';
import type { IanRoundAt, MaasRun } from './maasRunSetup.js';

/**
 * Per-round gateway outages (p2) on top of the permanent ones, as "ian:gateway" keys,
 * drawn for every IAN and gateway before any IAN's round runs.
 */
export function gatewaysDownThisRound(run: MaasRun): Set<string> {
  const { z, m, faults, srng } = run;
  const downThisRound = new Set<string>();
  for (let v = 0; v < z; v++) {
    for (let l = 1; l <= m; l++) {
      if (
        run.isFailedGw(v, l) ||
        (faults.gatewayFailureProbability > 0 &&
          uniformUnit(srng) < faults.gatewayFailureProbability)
      ) {
        downThisRound.add(`${v}:${l}`);
      }
    }
  }
  return downThisRound;
}

/**
 * IAN v's live gateways take their inboxes, close the round and send their partials (a
 * lying gateway its lie) to the ledger, with the partial-level attacks. Returns how many
 * live gateways summed all n devices in their first partial.
 */
export function gatewayPhase(
  run: MaasRun,
  tally: RunTally,
  { v, now, downThisRound }: IanRoundAt,
  { inbox, ahead }: GatewayInboxes,
): number {
  const { m, n, params, attacks, srng, ledger } = run;
  const { count } = tally;
  // Deliver in a shuffled order: the network does not keep order, and forgeries may come first.
  const partials: Buffer[] = [];
  let gatewaysWithAllDevices = 0;
  for (let l = 1; l <= m; l++) {
    if (downThisRound.has(`${v}:${l}`)) continue;
    const g = run.gateways[v]![l - 1]!;
    const box = inbox[l - 1]!;
    shuffle(box, srng);
    for (const bytes of l === 1 ? [...ahead, ...box] : box) {
      const verdict = g.ingest(bytes, now + 1000);
      if (!verdict.ok) count(verdict.code);
    }
    const res = g.closeRound(now + 2000);
    for (const r of res.rejected) count(r.code);
    if (res.contributors.length === n) gatewaysWithAllDevices++;
    const sent = run.isLyingGw(v, l)
      ? lyingPartial(g, res.partial, res.round, res.contributors, 0, now + 2000, srng, params)
      : res.partial;
    if (sent) partials.push(sent);
  }
  if (attacks.has('forged-partial') && partials[0]) {
    const forged = Buffer.from(partials[0]);
    forged[forged.length - 1]! ^= 0xff;
    partials.unshift(forged);
  }
  for (const p of partials) {
    const r = ledger.add(p, now + 3000);
    if (!r.ok) count(r.code);
  }
  if (attacks.has('replayed-partial') && partials.length > 0) {
    const r = ledger.add(partials[partials.length - 1]!, now + 3000);
    if (!r.ok) count(r.code);
  }
  return gatewaysWithAllDevices;
}

function shuffle<T>(xs: T[], rng: RandomSource): void {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = uniformInt(rng, i + 1);
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
}
