import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readPrivateFile } from '../crypto/privateFile.js';
import { ErrorCode, PrivaggError } from '../errors.js';
import { type MaasRegistry, registerDeployment } from '../schemes/maas/keys.js';
import { toMaasParams } from './deploymentFile.js';
import type { DeploymentSpec } from './deploymentSpec.js';

/**
 * The TA's state of a deployment, kept in its stateDir:
 *
 *   master.key         the 32-byte master secret, 64 hex digits and a newline, mode 0600
 *   registration.json  { deployment, registeredAtMs }: the registration time t bound into
 *                      every identity ID = H1(id ‖ service ‖ t), public
 *
 * Both are written once, by the first process allowed to create them (`privagg up`), and
 * only read afterwards, so every process of the deployment derives the same keys. Each is
 * created atomically (written to a temporary file, then hard-linked into place), so two
 * processes racing to create them end up with one value. The secret never appears in a
 * message, an error or a log.
 */

export const MASTER_KEY_FILE = 'master.key';
export const REGISTRATION_FILE = 'registration.json';
export const MASTER_SECRET_BYTES = 32;

export interface MasterSecretOptions {
  /** Create master.key (and registration.json) if absent; otherwise their absence is an error. */
  create: boolean;
  /** Deployment name recorded at creation and checked on every later load. */
  deployment?: string;
  /** Registration time recorded at creation (default Date.now()). */
  nowMs?: number;
}

export interface Registration {
  /** The deployment the state belongs to (absent if created without a name). */
  deployment?: string;
  registeredAtMs: number;
}

/**
 * Reads `<stateDir>/master.key`, or creates it (with node:crypto randomness) when absent and
 * `create` is set. Refuses (BAD_KEY) a file readable or writable by group or others, one
 * that is not 32 bytes of hex, or not a regular file; DATA_UNAVAILABLE when absent and
 * `create` is false. Also creates registration.json alongside when allowed, and checks it
 * names `deployment` when both are known.
 */
export function loadOrCreateMasterSecret(stateDir: string, opts: MasterSecretOptions): Buffer {
  const keyPath = join(stateDir, MASTER_KEY_FILE);
  if (opts.create) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const registration: Registration = {
      ...(opts.deployment !== undefined ? { deployment: opts.deployment } : {}),
      registeredAtMs: opts.nowMs ?? Date.now(),
    };
    createExclusive(
      join(stateDir, REGISTRATION_FILE),
      `${JSON.stringify(registration, null, 2)}\n`,
      0o644,
    );
    const fresh = randomBytes(MASTER_SECRET_BYTES);
    createExclusive(keyPath, `${fresh.toString('hex')}\n`, 0o600);
    fresh.fill(0);
  }
  const secret = readMasterKey(keyPath);
  if (opts.deployment !== undefined) loadRegistration(stateDir, opts.deployment);
  return secret;
}

/** Reads registration.json; with `deployment`, refuses state that belongs to another one. */
export function loadRegistration(stateDir: string, deployment?: string): Registration {
  const path = join(stateDir, REGISTRATION_FILE);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new PrivaggError(
      ErrorCode.DATA_UNAVAILABLE,
      `cannot read ${path} (${errno(e)}): it is created with ${MASTER_KEY_FILE} and must be copied with it`,
      { path },
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = undefined;
  }
  const r = raw as Partial<Registration> | undefined;
  if (
    typeof r !== 'object' ||
    r === null ||
    !Number.isSafeInteger(r.registeredAtMs) ||
    (r.registeredAtMs as number) < 0 ||
    (r.deployment !== undefined && typeof r.deployment !== 'string')
  ) {
    throw new PrivaggError(
      ErrorCode.MALFORMED_DATA,
      `${path} must be {"deployment": string, "registeredAtMs": non-negative integer}`,
      { path },
    );
  }
  if (deployment !== undefined && r.deployment !== undefined && r.deployment !== deployment) {
    throw new PrivaggError(
      ErrorCode.INVALID_ARGUMENT,
      `${path} belongs to deployment "${r.deployment}", not "${deployment}": use another stateDir`,
      { path, expected: deployment, found: r.deployment },
    );
  }
  return {
    ...(r.deployment !== undefined ? { deployment: r.deployment } : {}),
    registeredAtMs: r.registeredAtMs as number,
  };
}

/**
 * The TA's registration of the spec's deployment under `secret`: the same keys in every
 * process that loads the same spec and state. `registeredAtMs` defaults to the value in
 * `<stateDir>/registration.json`.
 */
export function registryFor(
  spec: DeploymentSpec,
  secret: Uint8Array,
  opts: { registeredAtMs?: number } = {},
): MaasRegistry {
  if (secret.length !== MASTER_SECRET_BYTES) {
    throw new PrivaggError(
      ErrorCode.BAD_KEY,
      `the master secret must have ${MASTER_SECRET_BYTES} bytes, got ${secret.length}`,
      { bytes: secret.length },
    );
  }
  const registeredAtMs =
    opts.registeredAtMs ?? loadRegistration(spec.stateDir, spec.name).registeredAtMs;
  return registerDeployment(toMaasParams(spec), {
    oems: spec.oems,
    registeredAtMs,
    masterSecret: secret,
  });
}

function readMasterKey(path: string): Buffer {
  const text = readPrivateFile(path, {
    what: 'master secret',
    howToGet: '`privagg up` creates it',
    exposure: 'may access it',
    ifLeaked: 'start a new deployment',
  }).trim();
  if (text.length !== 2 * MASTER_SECRET_BYTES) {
    badKey(
      path,
      'length',
      `${path} must hold ${MASTER_SECRET_BYTES} bytes as ${2 * MASTER_SECRET_BYTES} hex digits, ` +
        `found ${text.length} characters`,
      { characters: text.length },
    );
  }
  if (!/^[0-9a-fA-F]+$/.test(text)) {
    badKey(path, 'encoding', `${path} must hold hex digits only`);
  }
  return Buffer.from(text, 'hex');
}

function badKey(
  path: string,
  reason: 'length' | 'encoding',
  message: string,
  details: Record<string, unknown> = {},
): never {
  throw new PrivaggError(ErrorCode.BAD_KEY, message, { path, reason, ...details });
}

/** Writes `content` to `path` unless it exists; atomic: readers never see a partial file. */
function createExclusive(path: string, content: string, mode: number): boolean {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(tmp, content, { mode, flag: 'wx' });
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    unlinkSync(tmp);
  }
}

function errno(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? String(e);
}
