/**
 * The identities of a deployment's role processes. One identity is one credential bundle,
 * one TLS client certificate (CN = the identity, OU = the role) and one MQTT client id, so
 * the broker can bind a client id to the certificate that presented it and the ledger can
 * read a caller's role off its certificate.
 *
 *   ledger      <dep>.ledger         HTTPS server; the only publisher of control topics
 *   gateway     <dep>.gw-<v>-<l>     its own report topics; POST /v1/partials for (v, l)
 *   devices     <dep>.devices-<k>    a fleet: the report topics of its own devices only
 *   oem         <dep>.oem-<o>        POST /v1/queries as OEM o
 *   operator    <dep>.operator       POST /v1/restore, /v1/epoch; metrics (`privagg up` is it)
 *   auditor     <dep>.auditor        the chain: GET /v1/blocks, /v1/verify, /v1/head
 *   broker      <dep>.broker         the MQTT server certificate
 */
export type Role = 'ledger' | 'gateway' | 'devices' | 'oem' | 'operator' | 'auditor' | 'broker';

export const ROLES: readonly Role[] = [
  'ledger',
  'gateway',
  'devices',
  'oem',
  'operator',
  'auditor',
  'broker',
];

export const identityOf = {
  ledger: (dep: string) => `${dep}.ledger`,
  gateway: (dep: string, ian: number, gateway: number) => `${dep}.gw-${ian}-${gateway}`,
  devices: (dep: string, fleet: number) => `${dep}.devices-${fleet}`,
  oem: (dep: string, oem: number) => `${dep}.oem-${oem}`,
  operator: (dep: string) => `${dep}.operator`,
  auditor: (dep: string) => `${dep}.auditor`,
  broker: (dep: string) => `${dep}.broker`,
};

/** What an identity name says about its holder, or null for a name no role has. */
export function parseIdentity(
  deployment: string,
  name: string,
):
  | { role: 'gateway'; ian: number; gateway: number }
  | { role: 'devices'; fleet: number }
  | { role: 'oem'; oem: number }
  | { role: 'ledger' | 'operator' | 'auditor' | 'broker' }
  | null {
  const prefix = `${deployment}.`;
  if (!name.startsWith(prefix)) return null;
  const rest = name.slice(prefix.length);
  if (rest === 'ledger' || rest === 'operator' || rest === 'auditor' || rest === 'broker')
    return { role: rest };
  let m = /^gw-(0|[1-9]\d{0,5})-([1-9]\d{0,2})$/.exec(rest);
  if (m) return { role: 'gateway', ian: Number(m[1]), gateway: Number(m[2]) };
  m = /^devices-(0|[1-9]\d{0,5})$/.exec(rest);
  if (m) return { role: 'devices', fleet: Number(m[1]) };
  m = /^oem-(0|[1-9]\d{0,5})$/.exec(rest);
  if (m) return { role: 'oem', oem: Number(m[1]) };
  return null;
}
