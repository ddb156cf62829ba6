import { z } from 'zod';
import { readPrivateFile } from '../../crypto/privateFile.js';
import { ErrorCode, PrivaggError } from '../../errors.js';
import type { Role } from './identities.js';

/**
 * A credential bundle: everything one role process needs and nothing more. The TA writes
 * one per identity (`issue.ts`), mode 0600, as JSON:
 *
 *   format            'privagg-credentials/2' (2: gateways and OEMs sign with Ed25519; the
 *                     ledger and auditor hold public keys and the chain's content key)
 *   deployment        the deployment name (bound into every key)
 *   identity, role    who holds it (identities.ts)
 *   registeredAtMs    the registration time t of the paper's identities
 *   ledgerPublicKey   the ledger's Ed25519 key (hex): checks signed control messages
 *                     (epoch, reconcile, outcome) and signed chain heads
 *   tls               { ca, cert, key } PEM: the deployment's CA and this identity's
 *                     certificate and private key (absent for an insecure deployment)
 *   keys              the role's own secrets (hex), by role:
 *     gateway   { ian, gateway, identity, deviceMac[n], deviceAead[n], deviceIdentity[n],
 *                 signingKey (Ed25519 seed: signs its partials) }
 *     devices   { devices: [{ ian, device, identity, gatewayMac[m], gatewayAead[m] }] }
 *     ledger    { gatewayPublicKey[z][m], gatewayIdentity[z][m], oems[{ identity, publicKey }],
 *                 queryNoiseKey, contentKey, signingKey (Ed25519 seed) } — public keys of the senders
 *                 only: it checks partials and queries and cannot make them
 *     auditor   { gatewayPublicKey[z][m], oemPublicKey[o], contentKey, deploymentHash }: to
 *                 open the chain's sealed partials and restores (ledger/chainCipher.ts), check
 *                 its signed partials and queries, and refuse a file whose deployment
 *                 configuration (modes, f, …) is not the one the TA issued itself
 *     oem       { oem, identity, signingKey (Ed25519 seed: signs its queries) }
 *     operator, broker: {} (their certificate is their credential)
 *
 * No bundle holds the master secret, and none holds another link's keys: a gateway's
 * bundle opens and verifies only the reports addressed to it and signs only its own partials.
 */
export const BUNDLE_FORMAT = 'privagg-credentials/2';

const hex = (bytes?: number) =>
  z
    .string()
    .regex(/^[0-9a-f]*$/, 'must be lower-case hex')
    .refine((s) => s.length % 2 === 0 && (bytes === undefined || s.length === 2 * bytes), {
      message: bytes === undefined ? 'must be whole bytes of hex' : `must be ${bytes} bytes of hex`,
    });
const index = z.int().min(0).max(1_000_000);
const pem = z
  .string()
  .min(1)
  .max(64 * 1024);

const GatewayKeys = z.strictObject({
  ian: index,
  gateway: z.int().min(1).max(255),
  identity: hex(32),
  deviceMac: z.array(hex(32)),
  deviceAead: z.array(hex(32)),
  deviceIdentity: z.array(hex(32)),
  signingKey: hex(32),
});

const DeviceKeys = z.strictObject({
  ian: index,
  device: index,
  identity: hex(32),
  gatewayMac: z.array(hex(32)).min(1),
  gatewayAead: z.array(hex(32)).min(1),
});

const LedgerKeys = z.strictObject({
  gatewayPublicKey: z.array(z.array(hex(32))),
  gatewayIdentity: z.array(z.array(hex(32))),
  oems: z.array(z.strictObject({ identity: hex(32), publicKey: hex(32) })),
  queryNoiseKey: hex(32),
  contentKey: hex(32),
  signingKey: hex(32),
});

const OemKeys = z.strictObject({ oem: index, identity: hex(32), signingKey: hex(32) });

const AuditorKeys = z.strictObject({
  gatewayPublicKey: z.array(z.array(hex(32))),
  oemPublicKey: z.array(hex(32)),
  contentKey: hex(32),
  deploymentHash: hex(32),
});

const Common = {
  format: z.literal(BUNDLE_FORMAT),
  deployment: z.string().min(1).max(64),
  identity: z.string().min(1).max(128),
  registeredAtMs: z.int().min(0),
  ledgerPublicKey: hex(32),
  tls: z.strictObject({ ca: pem, cert: pem, key: pem }).optional(),
};

export const Bundle = z.discriminatedUnion('role', [
  z.strictObject({ ...Common, role: z.literal('gateway'), keys: GatewayKeys }),
  z.strictObject({
    ...Common,
    role: z.literal('devices'),
    keys: z.strictObject({ devices: z.array(DeviceKeys) }),
  }),
  z.strictObject({ ...Common, role: z.literal('ledger'), keys: LedgerKeys }),
  z.strictObject({ ...Common, role: z.literal('oem'), keys: OemKeys }),
  z.strictObject({ ...Common, role: z.literal('operator'), keys: z.strictObject({}) }),
  z.strictObject({ ...Common, role: z.literal('auditor'), keys: AuditorKeys }),
  z.strictObject({ ...Common, role: z.literal('broker'), keys: z.strictObject({}) }),
]);

export type CredentialBundle = z.output<typeof Bundle>;
export type BundleOf<R extends Role> = Extract<CredentialBundle, { role: R }>;
export type TlsCredentials = NonNullable<CredentialBundle['tls']>;

/**
 * Reads a bundle, refusing (BAD_KEY) a file group or others may read, one that is not a
 * regular file, or one that does not parse as a bundle; with `role`, one of another role.
 * Messages name the file and the problem, never a key.
 */
export function loadBundle<R extends Role>(path: string, role?: R): BundleOf<R> {
  const text = readPrivateFile(path, {
    what: 'credential bundle',
    howToGet:
      'the TA writes them: `privagg up` for a local deployment, `privagg credentials issue` otherwise',
    exposure: 'may read its keys',
    ifLeaked: 'issue new credentials',
  });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    bad(path, `${path} is not JSON`);
  }
  const res = Bundle.safeParse(raw);
  if (!res.success) {
    // Paths and zod's messages only: a value here could be a key.
    const where = res.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || 'bundle'}: ${i.message}`)
      .join('; ');
    bad(path, `${path} is not a privagg credential bundle (${where})`);
  }
  const bundle = res.data;
  if (role !== undefined && bundle.role !== role) {
    throw new PrivaggError(
      ErrorCode.ACCESS_DENIED,
      `${path} holds the credentials of a ${bundle.role} (${bundle.identity}), not of a ${role}`,
      { path, expected: role, found: bundle.role },
    );
  }
  return bundle as BundleOf<R>;
}

function bad(path: string, message: string): never {
  throw new PrivaggError(ErrorCode.BAD_KEY, message, { path });
}
