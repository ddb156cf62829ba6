import { ErrorCode, PrivaggError } from '../errors.js';
import { IDENTITY_NAME } from './pki.js';
import { checkDeploymentName, parseTopic, topics } from './topics.js';

/**
 * Who may publish and subscribe what on a deployment's broker: the access-control list
 * as a pure function of the identity (certificate CN = MQTT client id) and the topic.
 * The embedded broker asks it on every PUBLISH and SUBSCRIBE; `mosquittoAcl` renders the
 * same rules as a Mosquitto ACL file.
 *
 *   identity role   publishes                                   subscribes (exact filters only)
 *   ledger          epoch, ian/<v>/reconcile, ian/<v>/outcome   epoch, ian/<v>/reconcile, ian/<v>/outcome
 *   gateway (v,l)   nothing                                     ian/<v>/gw/<l>/reports/+, ian/<v>/reconcile,
 *                                                               ian/<v>/outcome, epoch
 *   devices         ian/<v>/gw/<l>/reports/<i> for its own      epoch, ian/<v>/outcome of its devices' IANs
 *                   devices (v,i), any gateway l in 1..m
 *   oem, operator,  nothing                                     epoch, ian/<v>/outcome
 *   auditor
 *   anyone else     nothing                                     nothing
 *
 * No identity subscribes `#` or any wildcard but a gateway's own report filter, so no one
 * reads reports addressed to another gateway. Only the ledger publishes control topics,
 * and only the ledger may publish retained messages (a retained report would sit in the
 * broker's memory and be replayed to every new subscriber).
 */
/**
 * What a broker asks of an access-control list on every CONNECT, PUBLISH and SUBSCRIBE:
 * `BrokerPolicy` below (MaaS's topic layout) and `seamPolicy` (the scheme seam's) are two.
 */
export interface TopicPolicy {
  /** The identity's role, or undefined for an identity the policy does not know. */
  grant(identity: string): { role: string } | undefined;
  canPublish(identity: string, topic: string, retain?: boolean): boolean;
  canSubscribe(identity: string, filter: string): boolean;
}

export type BrokerRole = 'ledger' | 'gateway' | 'devices' | 'oem' | 'operator' | 'auditor';

export const BROKER_ROLES: readonly BrokerRole[] = [
  'ledger',
  'gateway',
  'devices',
  'oem',
  'operator',
  'auditor',
];

export interface BrokerGrant {
  role: BrokerRole;
  /** gateway: its IAN. */
  ian?: number;
  /** gateway: its index l in 1..m. */
  gateway?: number;
  /** devices: the fleet's devices. */
  devices?: readonly { ian: number; device: number }[];
}

/** The compiled form of one grant: string sets, so each check is O(1). */
interface Compiled {
  grant: BrokerGrant;
  /** Exact filters this identity may subscribe (gateways and fleets). */
  subscribe: Set<string>;
  /** devices: "<v>/<i>" of each device of the fleet. */
  devices: Set<string>;
}

const MAX_GATEWAYS = 1_000;

export class BrokerPolicy implements TopicPolicy {
  readonly deployment: string;
  /** m: gateways per IAN, indexed 1..m. */
  readonly gateways: number;
  private readonly byIdentity = new Map<string, Compiled>();

  constructor(deployment: string, gateways: number, grants: ReadonlyMap<string, BrokerGrant>) {
    this.deployment = checkDeploymentName(deployment);
    if (!Number.isInteger(gateways) || gateways < 1 || gateways > MAX_GATEWAYS) {
      invalid(`gateways per IAN must be an integer in 1..${MAX_GATEWAYS}, got ${gateways}`);
    }
    this.gateways = gateways;
    const gatewaySeats = new Map<string, string>();
    const deviceOwners = new Map<string, string>();
    for (const [identity, grant] of grants) {
      if (typeof identity !== 'string' || !IDENTITY_NAME.test(identity)) {
        invalid(`identity ${JSON.stringify(identity)} must be 1–128 of A–Z a–z 0–9 . _ -`);
      }
      if (!BROKER_ROLES.includes(grant?.role)) {
        invalid(`identity ${identity}: unknown role ${JSON.stringify(grant?.role)}`);
      }
      const compiled: Compiled = { grant, subscribe: new Set(), devices: new Set() };
      if (grant.role === 'gateway') {
        const v = checkIndex(grant.ian, `identity ${identity}: IAN`);
        const l = checkIndex(grant.gateway, `identity ${identity}: gateway`);
        if (l < 1 || l > gateways)
          invalid(`identity ${identity}: gateway ${l} is not in 1..${gateways}`);
        const seat = `${v}/${l}`;
        const other = gatewaySeats.get(seat);
        if (other !== undefined)
          invalid(`identities ${other} and ${identity} are both gateway ${l} of IAN ${v}`);
        gatewaySeats.set(seat, identity);
        compiled.subscribe.add(topics.gatewayReports(deployment, v, l));
        compiled.subscribe.add(topics.reconcile(deployment, v));
        compiled.subscribe.add(topics.outcome(deployment, v));
        compiled.subscribe.add(topics.epoch(deployment));
      } else if (grant.role === 'devices') {
        if (!Array.isArray(grant.devices) || grant.devices.length === 0) {
          invalid(`identity ${identity}: a device fleet needs a non-empty device list`);
        }
        compiled.subscribe.add(topics.epoch(deployment));
        for (const d of grant.devices) {
          const v = checkIndex(d?.ian, `identity ${identity}: IAN`);
          const i = checkIndex(d?.device, `identity ${identity}: device`);
          const key = `${v}/${i}`;
          const owner = deviceOwners.get(key);
          if (owner !== undefined) {
            invalid(
              `device ${i} of IAN ${v} is listed by ${owner}${owner === identity ? ' twice' : ` and ${identity}`}`,
            );
          }
          deviceOwners.set(key, identity);
          compiled.devices.add(key);
          compiled.subscribe.add(topics.outcome(deployment, v));
        }
      }
      this.byIdentity.set(identity, compiled);
    }
  }

  /** The grant of an identity, or undefined for an identity the deployment does not know. */
  grant(identity: string): BrokerGrant | undefined {
    return this.byIdentity.get(identity)?.grant;
  }

  /** Every identity and its grant (for rendering the same policy elsewhere). */
  *entries(): IterableIterator<[string, BrokerGrant]> {
    for (const [identity, c] of this.byIdentity) yield [identity, c.grant];
  }

  /** May `identity` publish on `topic` (a concrete topic; `retain` as the PUBLISH asks)? */
  canPublish(identity: string, topic: string, retain = false): boolean {
    const c = this.byIdentity.get(identity);
    if (c === undefined) return false;
    const t = parseTopic(topic);
    if (t === null || t.deployment !== this.deployment) return false;
    switch (c.grant.role) {
      case 'ledger':
        return t.kind === 'epoch' || t.kind === 'reconcile' || t.kind === 'outcome';
      case 'devices':
        return (
          !retain &&
          t.kind === 'report' &&
          t.gateway >= 1 &&
          t.gateway <= this.gateways &&
          c.devices.has(`${t.ian}/${t.device}`)
        );
      default:
        return false;
    }
  }

  /** May `identity` subscribe `filter`? Wildcards only in a gateway's own report filter. */
  canSubscribe(identity: string, filter: string): boolean {
    const c = this.byIdentity.get(identity);
    if (c === undefined) return false;
    if (c.subscribe.has(filter)) return true;
    if (c.grant.role === 'gateway' || c.grant.role === 'devices') return false;
    const t = parseTopic(filter);
    if (t === null || t.deployment !== this.deployment) return false;
    if (t.kind === 'epoch' || t.kind === 'outcome') return true;
    return c.grant.role === 'ledger' && t.kind === 'reconcile';
  }
}

function checkIndex(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    invalid(`${what} ${JSON.stringify(value)} is not an integer in 0..2^32−1`);
  }
  return value;
}

function invalid(message: string): never {
  throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, `broker policy: ${message}`);
}
