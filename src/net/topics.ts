/**
 * The MQTT topic layout of a MaaS deployment (protocol version 1). One tree per
 * deployment, then per IAN, role and purpose:
 *
 *   privagg/v1/<deployment>/ian/<v>/gw/<l>/reports/<i>  device i → GW_l   device reports (binary wire format), QoS 1
 *   privagg/v1/<deployment>/ian/<v>/reconcile            ledger → GWs      re-aggregation requests (signed control message), QoS 1
 *   privagg/v1/<deployment>/ian/<v>/outcome              ledger → all      round outcomes (signed control message), QoS 1
 *   privagg/v1/<deployment>/epoch                        ledger → all      start of round 0 (signed control message, retained)
 *
 * The device is the last level of a report topic so that the broker's access control can
 * let a device fleet publish only as its own devices, and gateway l subscribe exactly
 * `…/ian/<v>/gw/<l>/reports/+` (`gatewayReports`). A gateway still checks that the device
 * in a report's header is the one its topic names (`deviceOfReportTopic`).
 *
 * Rounds are not in the topic: a message carries its round, and a receiver checks it.
 * Deployment names are restricted so they can never contain MQTT wildcards or levels;
 * indices are canonical decimal integers (no sign, no leading zeros).
 *
 * `reports` (…/gw/<l>/reports, without the device) is the layout before per-device topics;
 * it stays until its last callers move to `deviceReport`/`gatewayReports`.
 */
const NAME = /^[A-Za-z0-9._-]{1,64}$/;
/** Canonical decimal of 0..2^32−1 as it appears in a topic level. */
const INDEX = /^(0|[1-9][0-9]{0,9})$/;
const MAX_INDEX = 0xffff_ffff;

export function checkDeploymentName(name: string): string {
  if (!NAME.test(name)) {
    throw new Error(
      `deployment name "${name}" must be 1–64 of A–Z a–z 0–9 . _ - (it is an MQTT topic level)`,
    );
  }
  return name;
}

function index(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_INDEX) {
    throw new Error(
      `${what} ${value} is not an integer in 0..${MAX_INDEX} (it is an MQTT topic level)`,
    );
  }
  return value;
}

const base = (deployment: string) => `privagg/v1/${checkDeploymentName(deployment)}`;
const ianBase = (deployment: string, ian: number) => `${base(deployment)}/ian/${index(ian, 'IAN')}`;

export const topics = {
  /** @deprecated the layout before per-device report topics; use deviceReport / gatewayReports. */
  reports: (deployment: string, ian: number, gateway: number) =>
    `${ianBase(deployment, ian)}/gw/${index(gateway, 'gateway')}/reports`,
  /** Where device `device` of IAN `ian` publishes its report for gateway `gateway`. */
  deviceReport: (deployment: string, ian: number, gateway: number, device: number) =>
    `${ianBase(deployment, ian)}/gw/${index(gateway, 'gateway')}/reports/${index(device, 'device')}`,
  /** Gateway `gateway`'s subscription: every device's reports to it in IAN `ian`. */
  gatewayReports: (deployment: string, ian: number, gateway: number) =>
    `${ianBase(deployment, ian)}/gw/${index(gateway, 'gateway')}/reports/+`,
  reconcile: (deployment: string, ian: number) => `${ianBase(deployment, ian)}/reconcile`,
  outcome: (deployment: string, ian: number) => `${ianBase(deployment, ian)}/outcome`,
  /** The start of round 0, retained. */
  epoch: (deployment: string) => `${base(deployment)}/epoch`,
  /** Everything of a deployment (for observers in insecure mode; no identity may subscribe it under TLS). */
  all: (deployment: string) => `${base(deployment)}/#`,
  /**
   * The device a per-device report topic names, or null when `topic` is not exactly
   * `privagg/v1/<deployment>/ian/<v>/gw/<l>/reports/<i>` with canonical indices.
   */
  deviceOfReportTopic: (topic: string): number | null => {
    const parsed = parseTopic(topic);
    return parsed?.kind === 'report' ? parsed.device : null;
  },
};

/** What a (wildcard-free) topic of the layout is. */
export type ParsedTopic =
  | { deployment: string; kind: 'report'; ian: number; gateway: number; device: number }
  | { deployment: string; kind: 'reconcile' | 'outcome'; ian: number }
  | { deployment: string; kind: 'epoch' };

/**
 * Parses a concrete topic of the layout above; null for anything else (other trees,
 * wildcards, empty or non-canonical levels, the old device-less report topic).
 */
export function parseTopic(topic: string): ParsedTopic | null {
  if (typeof topic !== 'string' || topic.length > 512) return null;
  const t = topic.split('/');
  if (t[0] !== 'privagg' || t[1] !== 'v1' || t.length < 4) return null;
  const deployment = t[2]!;
  if (!NAME.test(deployment)) return null;
  if (t.length === 4) return t[3] === 'epoch' ? { deployment, kind: 'epoch' } : null;
  if (t[3] !== 'ian') return null;
  const ian = parseIndex(t[4]);
  if (ian === null) return null;
  if (t.length === 6 && (t[5] === 'reconcile' || t[5] === 'outcome')) {
    return { deployment, kind: t[5], ian };
  }
  if (t.length === 9 && t[5] === 'gw' && t[7] === 'reports') {
    const gateway = parseIndex(t[6]);
    const device = parseIndex(t[8]);
    if (gateway === null || device === null) return null;
    return { deployment, kind: 'report', ian, gateway, device };
  }
  return null;
}

function parseIndex(level: string | undefined): number | null {
  if (level === undefined || !INDEX.test(level)) return null;
  const n = Number(level);
  return n <= MAX_INDEX ? n : null;
}
