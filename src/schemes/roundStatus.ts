import { addressKey, type Recovery } from './scheme.js';

/**
 * One status mapping for every scheme, in the simulator and on the network alike: a
 * group-round is complete when every device entered and nothing was lost or flagged on the
 * way, degraded (with every reason) when the sums were recovered anyway, failed when they
 * were not. A recovery still pending when the round's time is up is a failure: the phases
 * did not converge in time.
 */
export type RoundStatus = 'complete' | 'degraded' | 'failed';

export interface GroupRoundStatus {
  readonly group: number;
  readonly round: number;
  readonly status: RoundStatus;
  readonly reasons: readonly string[];
}

export function roundStatusOf(r: Recovery, devicesInGroup: number): GroupRoundStatus {
  const { group, round } = r;
  const flagged = r.flagged.map((f) => `${addressKey(f.who)}: ${f.why}`);
  if (r.status === 'failed')
    return { group, round, status: 'failed', reasons: [...r.notes, ...flagged, r.reason] };
  if (r.status === 'pending') {
    return {
      group,
      round,
      status: 'failed',
      reasons: [...r.notes, ...flagged, 'the recovery did not finish in time'],
    };
  }
  const reasons = [...r.notes, ...flagged];
  const missing = devicesInGroup - r.contributors.length;
  if (missing > 0) reasons.push(`${missing} device(s) missing`);
  return { group, round, status: reasons.length > 0 ? 'degraded' : 'complete', reasons };
}
