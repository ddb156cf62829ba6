import { type Address, aggregatorAt, CENTER, deviceAt } from '../../schemes/scheme.js';

/**
 * The MQTT topic layout of the scheme seam: one topic level each for the addressee, the
 * channel and the sender, so the broker's access control can check who sends (a client may
 * publish only with its own address as the sender) and whom each client hears (exactly its
 * own addresses), and a receiver reads `from` from the topic the broker vouched for.
 *
 *   privagg/s1/<run>/<to>/<channel>/<from>      to, from: c | a.<g>.<i> | d.<g>.<i>
 *
 * Identities (certificate CN = MQTT client id): `<run>.center`, `<run>.agg.<g>.<i>`,
 * `<run>.dev.<g>` (the fleet of group g's devices).
 */
const RUN = /^[A-Za-z0-9_-]{1,48}$/;
const CHANNEL = /^[a-z][a-z0-9-]{0,31}$/;
const ADDRESS = /^(c|([ad])\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8}))$/;

export function checkRunName(run: string): string {
  if (!RUN.test(run)) throw new Error(`run name "${run}" must be 1–48 of A–Z a–z 0–9 _ -`);
  return run;
}

export function addressLevel(a: Address): string {
  if (a.role === 'center') return 'c';
  if (a.role === 'aggregator') return `a.${a.group}.${a.index}`;
  if (a.role === 'device') return `d.${a.group}.${a.index}`;
  throw new Error(`no topic level for ${a.role}`);
}

export function parseAddressLevel(level: string): Address | undefined {
  const m = ADDRESS.exec(level);
  if (!m) return undefined;
  if (m[1] === 'c') return CENTER;
  const g = Number(m[3]);
  const i = Number(m[4]);
  return m[2] === 'a' ? aggregatorAt(g, i) : deviceAt(g, i);
}

export function envelopeTopic(run: string, to: Address, channel: string, from: Address): string {
  if (!CHANNEL.test(channel)) throw new Error(`channel "${channel}" is not a topic level`);
  return `privagg/s1/${run}/${addressLevel(to)}/${channel}/${addressLevel(from)}`;
}

/** Everything addressed to `to`. */
export function inboxFilter(run: string, to: Address): string {
  return `privagg/s1/${run}/${addressLevel(to)}/+/+`;
}

export interface ParsedEnvelopeTopic {
  run: string;
  to: Address;
  channel: string;
  from: Address;
}

/** The topic's parts, or undefined for anything that is not exactly this layout. */
export function parseEnvelopeTopic(topic: string): ParsedEnvelopeTopic | undefined {
  const parts = topic.split('/');
  if (parts.length !== 6 || parts[0] !== 'privagg' || parts[1] !== 's1') return undefined;
  const [, , run, to, channel, from] = parts as [string, string, string, string, string, string];
  if (!RUN.test(run) || !CHANNEL.test(channel)) return undefined;
  const toA = parseAddressLevel(to);
  const fromA = parseAddressLevel(from);
  if (!toA || !fromA) return undefined;
  return { run, to: toA, channel, from: fromA };
}

export type SeamIdentity =
  | { role: 'ledger'; name: string }
  | { role: 'gateway'; name: string; group: number; index: number }
  | { role: 'devices'; name: string; group: number };

export const seamIdentity = {
  center: (run: string): SeamIdentity => ({ role: 'ledger', name: `${run}.center` }),
  aggregator: (run: string, a: Address): SeamIdentity => ({
    role: 'gateway',
    name: `${run}.agg.${a.group}.${a.index}`,
    group: a.group,
    index: a.index,
  }),
  devices: (run: string, group: number): SeamIdentity => ({
    role: 'devices',
    name: `${run}.dev.${group}`,
    group,
  }),
};

/** May `identity` send as `from`? The center as the center, an aggregator as itself, a fleet as its group's devices. */
export function speaksFor(identity: SeamIdentity, from: Address): boolean {
  if (identity.role === 'ledger') return from.role === 'center';
  if (identity.role === 'gateway')
    return (
      from.role === 'aggregator' && from.group === identity.group && from.index === identity.index
    );
  return from.role === 'device' && from.group === identity.group;
}
