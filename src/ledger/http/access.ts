import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';

/**
 * Who may call what. Over HTTPS every caller presents a client certificate issued by the
 * deployment's CA (TLS refuses any other); its subject names the caller:
 * `CN=<identity>, OU=<role>, O=privagg`, the identity being one of the deployment's
 * (src/node/credentials/identities.ts, restated here because the ledger layer does not
 * import the node layer):
 *
 *   <dep>.ledger  <dep>.gw-<v>-<l>  <dep>.oem-<o>  <dep>.operator  <dep>.auditor  (…devices, broker)
 *
 * A certificate is taken only when the CN is an identity of this deployment whose role is
 * its OU. The role decides the routes (ROUTE_ROLES); the identity binds the submissions: a
 * gateway posts only partials whose header names its own (IAN, gateway), an OEM only
 * queries under its own OEM index (server.ts checks both before any cryptography).
 */
export type Role = 'ledger' | 'gateway' | 'devices' | 'oem' | 'operator' | 'auditor' | 'broker';

export type Caller =
  | { role: 'gateway'; name: string; ian: number; gateway: number }
  | { role: 'oem'; name: string; oem: number }
  | { role: Exclude<Role, 'gateway' | 'oem'>; name: string };

/** Roles allowed on each route (method + route template); `any` = every authenticated role. */
export const ROUTE_ROLES: Readonly<Record<string, readonly Role[] | 'any'>> = {
  'POST /v1/partials': ['gateway'],
  'POST /v1/queries': ['oem'],
  'POST /v1/restore': ['operator'],
  'POST /v1/epoch': ['operator'],
  // A line of text on the chain, with the next round status (`privagg up`'s restarts).
  'POST /v1/notes': ['operator'],
  'GET /v1/blocks': ['auditor', 'operator'],
  'GET /v1/blocks/:height': ['auditor', 'operator'],
  'GET /v1/verify': ['auditor', 'operator'],
  // A head names a height and a hash, nothing more; whoever keeps heads may ask for the newest.
  'GET /v1/head': ['auditor', 'operator', 'gateway', 'oem'],
  'GET /metrics': ['operator', 'auditor'],
  'GET /v1/health': 'any',
  'GET /openapi.json': 'any',
};

const NAME = /^[A-Za-z0-9._-]{1,128}$/;

/** The identity a CN names in `deployment`, if its role is `role`; null otherwise. */
export function callerFromNames(deployment: string, cn: string, ou: string): Caller | null {
  const prefix = `${deployment}.`;
  if (!cn.startsWith(prefix)) return null;
  const rest = cn.slice(prefix.length);
  let m = /^gw-(0|[1-9]\d{0,5})-([1-9]\d{0,2})$/.exec(rest);
  if (m)
    return ou === 'gateway' ? { role: 'gateway', name: cn, ian: +m[1]!, gateway: +m[2]! } : null;
  m = /^oem-(0|[1-9]\d{0,5})$/.exec(rest);
  if (m) return ou === 'oem' ? { role: 'oem', name: cn, oem: +m[1]! } : null;
  if (/^devices-(0|[1-9]\d{0,5})$/.test(rest))
    return ou === 'devices' ? { role: 'devices', name: cn } : null;
  for (const role of ['ledger', 'operator', 'auditor', 'broker'] as const) {
    if (rest === role) return ou === role ? { role, name: cn } : null;
  }
  return null;
}

/**
 * The caller on a TLS socket whose peer certificate the handshake verified: 'anonymous'
 * without one (or unverified), 'unknown' for a verified certificate that names no identity
 * of this deployment (a doubled or missing CN/OU, another deployment, a role that is not
 * its name's).
 */
export function callerOf(socket: TLSSocket, deployment: string): Caller | 'anonymous' | 'unknown' {
  // Once per connection: the peer's certificate cannot change on it (the server disables
  // renegotiation on every TLS socket, server.ts). Parsing it on every request was most of
  // the ledger's native allocations in the soak (OpenSSL's ASN.1 decoding, 50k calls in
  // five minutes), churn that fragments the allocator's heap on a ledger that runs for weeks.
  const cached = callers.get(socket);
  if (cached !== undefined && cached.deployment === deployment) return cached.caller;
  const caller = identify(socket, deployment);
  callers.set(socket, { deployment, caller });
  return caller;
}

const callers = new WeakMap<
  TLSSocket,
  { deployment: string; caller: Caller | 'anonymous' | 'unknown' }
>();

function identify(socket: TLSSocket, deployment: string): Caller | 'anonymous' | 'unknown' {
  if (!socket.authorized) return 'anonymous';
  const peer = socket.getPeerCertificate(false);
  if (!peer || !Buffer.isBuffer(peer.raw) || peer.raw.length === 0) return 'anonymous';
  let subject: string;
  try {
    subject = new X509Certificate(peer.raw).subject;
  } catch {
    return 'unknown';
  }
  // One attribute a line (Node escapes specials and control characters, so a value cannot
  // forge a line); each of CN, OU and O exactly once.
  const seen = new Map<string, string[]>();
  for (const line of subject.split('\n')) {
    const at = line.indexOf('=');
    if (at <= 0) return 'unknown';
    const key = line.slice(0, at);
    seen.set(key, [...(seen.get(key) ?? []), line.slice(at + 1)]);
  }
  const one = (key: string) => {
    const v = seen.get(key);
    return v?.length === 1 && NAME.test(v[0]!) ? v[0]! : null;
  };
  const cn = one('CN');
  const ou = one('OU');
  if (cn === null || ou === null || one('O') !== 'privagg') return 'unknown';
  return callerFromNames(deployment, cn, ou) ?? 'unknown';
}

/**
 * Whether `caller` may use the route `method` + `template` (HEAD counts as GET). A route
 * missing from the table is closed: a new route must be given its roles to be reachable.
 */
export function mayCall(caller: Caller, method: string, template: string): boolean {
  const allowed = ROUTE_ROLES[`${method === 'HEAD' ? 'GET' : method} ${template}`];
  if (allowed === undefined) return false;
  return allowed === 'any' || allowed.includes(caller.role);
}
