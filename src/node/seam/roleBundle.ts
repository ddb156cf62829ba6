import { randomBytes } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { readPrivateFile } from '../../crypto/privateFile.js';
import { ErrorCode, PrivaggError } from '../../errors.js';
import type { Address, Population } from '../../schemes/scheme.js';
import type { SeamIdentity } from './seamTopics.js';

/**
 * What one process of a networked scheme run holds: the scheme and its parameters, the
 * population and the public setup (so it configures exactly the scheme the TA did), the key
 * blobs of its own addresses and nothing else, its client certificate, and — for the
 * center's process only — the ledger's signing and content keys. A secret file (0600),
 * written whole by the TA (`privagg up`), read back only if it still is private.
 */
export interface SeamRoleBundle {
  format: typeof SEAM_BUNDLE_FORMAT;
  deployment: string;
  run: string;
  scheme: { id: string; params: unknown };
  population: Population;
  identity: SeamIdentity;
  publicSetup: Uint8Array;
  keys: { address: Address; blob: Uint8Array }[];
  tls: { ca: string; cert: string; key: string };
  ledger?: { signingKey: Uint8Array; contentKey: Uint8Array };
}

export const SEAM_BUNDLE_FORMAT = 'privagg/seam-role/1';

const hex = z
  .string()
  .regex(/^([0-9a-f]{2})*$/, 'must be hex')
  .transform((s) => new Uint8Array(Buffer.from(s, 'hex')));
const index = z.number().int().min(-1);
const address = z
  .object({ role: z.enum(['device', 'aggregator', 'center']), group: index, index })
  .strict();
const identity = z.discriminatedUnion('role', [
  z.object({ role: z.literal('ledger'), name: z.string() }).strict(),
  z.object({ role: z.literal('gateway'), name: z.string(), group: index, index }).strict(),
  z.object({ role: z.literal('devices'), name: z.string(), group: index }).strict(),
]);
const BundleFile = z
  .object({
    format: z.literal(SEAM_BUNDLE_FORMAT),
    deployment: z.string(),
    run: z.string(),
    scheme: z.object({ id: z.string(), params: z.unknown() }).strict(),
    population: z
      .object({
        groups: z.number().int().min(1),
        devicesPerGroup: z.number().int().min(1),
        dimensions: z.array(z.object({ name: z.string(), max: z.number() }).strict()).min(1),
      })
      .strict(),
    identity,
    publicSetup: hex,
    keys: z.array(z.object({ address, blob: hex }).strict()),
    tls: z.object({ ca: z.string(), cert: z.string(), key: z.string() }).strict(),
    ledger: z.object({ signingKey: hex, contentKey: hex }).strict().optional(),
  })
  .strict();

const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Written whole or not at all (temporary file, then rename), mode 0600 from the start. */
export function writeSeamBundle(path: string, b: SeamRoleBundle): void {
  const body = {
    ...b,
    publicSetup: toHex(b.publicSetup),
    keys: b.keys.map((k) => ({ address: k.address, blob: toHex(k.blob) })),
    ...(b.ledger
      ? {
          ledger: {
            signingKey: toHex(b.ledger.signingKey),
            contentKey: toHex(b.ledger.contentKey),
          },
        }
      : {}),
  };
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(body)}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(tmp, path);
}

export function loadSeamBundle(path: string): SeamRoleBundle {
  const text = readPrivateFile(path, {
    what: 'scheme role bundle',
    howToGet: '`privagg up` issues one per process in <stateDir>/seam',
    exposure: 'may act as this role and read what its keys protect',
    ifLeaked: 'run `privagg up` again: it issues new keys for every role',
  });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new PrivaggError(ErrorCode.MALFORMED_DATA, `${path} is not JSON`, { path });
  }
  const parsed = BundleFile.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    const code =
      first.path[0] === 'format' ? ErrorCode.UNSUPPORTED_VERSION : ErrorCode.MALFORMED_DATA;
    throw new PrivaggError(code, `${path}: ${first.path.join('.') || 'bundle'}: ${first.message}`, {
      path,
    });
  }
  return parsed.data as SeamRoleBundle;
}
