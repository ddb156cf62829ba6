import { uniformUnit } from '../math/random.js';
import { deviceAttackMessages, outOfRangeReport } from './maasAttacks.js';
import type { RunTally } from './maasRunResult.js';
import type { IanRoundAt, MaasRun } from './maasRunSetup.js';

/** What the devices of one IAN sent in a round, per gateway, before delivery. */
export interface GatewayInboxes {
  /** inbox[l − 1]: the messages addressed to gateway l, in the order sent. */
  readonly inbox: Buffer[][];
  /** Messages an insider races ahead of the genuine ones (delivered before the shuffled inbox). */
  readonly ahead: Buffer[];
}

/**
 * IAN v's gateways open round rd; its devices report (unless failed; each message may be
 * lost on its link), and the device-side attacks are placed beside gateway 1's first
 * genuine report.
 */
export function devicePhase(
  run: MaasRun,
  tally: RunTally,
  { v, rd, now }: IanRoundAt,
): GatewayInboxes {
  const { s, dep, m, n, faults, attacks, srng, crng } = run;
  const inbox: Buffer[][] = Array.from({ length: m }, () => []);
  // Messages an insider races ahead of the genuine ones (delivered before the shuffled inbox).
  const ahead: Buffer[] = [];
  for (const g of run.gateways[v]!) g.beginRound(rd);
  let corruptTarget = 1;
  while (corruptTarget < m && (run.isLyingGw(v, corruptTarget) || run.isFailedGw(v, corruptTarget)))
    corruptTarget++;
  let sampleMessage: Buffer | undefined;
  let sampleSender = -1;
  for (let i = 0; i < n; i++) {
    if (
      run.isFailedDevice(v, i) ||
      (faults.deviceFailureProbability > 0 && uniformUnit(srng) < faults.deviceFailureProbability)
    ) {
      tally.failedDeviceReports++;
      continue;
    }
    // A compromised device (the last of each IAN) sends one honest gateway a share ≥ p
    // under a valid tag and honest shares to the others: that gateway leaves it out,
    // the others count it, and the ledger must reconcile the two contributor sets.
    const corrupt = attacks.has('out-of-range-share') && i === n - 1;
    if (corrupt)
      inbox[corruptTarget - 1]!.push(outOfRangeReport(dep, v, i, corruptTarget, rd, now));
    for (const msg of run.devices[v]![i]!.report(rd, s.workload.reading(v, i, rd), now, crng)) {
      if (corrupt && msg.gateway === corruptTarget) continue;
      if (faults.linkLossProbability > 0 && uniformUnit(srng) < faults.linkLossProbability)
        continue;
      inbox[msg.gateway - 1]!.push(msg.bytes);
      if (!sampleMessage && msg.gateway === 1) {
        sampleMessage = msg.bytes;
        sampleSender = i;
      }
    }
  }
  if (sampleMessage) {
    for (const m of deviceAttackMessages(
      attacks,
      sampleMessage,
      sampleSender,
      tally.previousRoundMessage,
      dep,
      v,
      rd,
      now,
      srng,
    )) {
      (m.ahead ? ahead : inbox[0]!).push(m.bytes);
    }
  }
  if (sampleMessage && v === 0) tally.previousRoundMessage = sampleMessage;
  return { inbox, ahead };
}
