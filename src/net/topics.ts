/**
 * The MQTT topic layout of a MaaS deployment (protocol version 1). One tree per
 * deployment, then per IAN, role and purpose:
 *
 *   privagg/v1/<deployment>/ian/<v>/gw/<l>/reports     DS → GW_l   device reports (binary wire format), QoS 1
 *   privagg/v1/<deployment>/ian/<v>/reconcile          ledger → GWs re-aggregation requests (JSON), QoS 1
 *   privagg/v1/<deployment>/ian/<v>/outcome            ledger → all round outcomes (JSON), QoS 1
 *   privagg/v1/<deployment>/epoch                      up → all      start of round 0 (JSON, retained)
 *
 * Rounds are not in the topic: a report carries its round, and a receiver checks it.
 * Deployment names are restricted so they can never contain MQTT wildcards or levels.
 */
const NAME = /^[A-Za-z0-9._-]{1,64}$/;

export function checkDeploymentName(name: string): string {
  if (!NAME.test(name)) {
    throw new Error(
      `deployment name "${name}" must be 1–64 of A–Z a–z 0–9 . _ - (it is an MQTT topic level)`,
    );
  }
  return name;
}

const base = (deployment: string) => `privagg/v1/${checkDeploymentName(deployment)}`;

export const topics = {
  reports: (deployment: string, ian: number, gateway: number) =>
    `${base(deployment)}/ian/${ian}/gw/${gateway}/reports`,
  reconcile: (deployment: string, ian: number) => `${base(deployment)}/ian/${ian}/reconcile`,
  outcome: (deployment: string, ian: number) => `${base(deployment)}/ian/${ian}/outcome`,
  /** The start of round 0, retained: `privagg up` publishes it once every process is ready. */
  epoch: (deployment: string) => `${base(deployment)}/epoch`,
  /** Everything of a deployment (for observers and the rogue-client test). */
  all: (deployment: string) => `${base(deployment)}/#`,
};
