import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { macTag } from '../../src/crypto/mac.js';
import { ErrorCode, isPrivaggError } from '../../src/errors.js';
import { parseDeployment } from '../../src/node/deploymentFile.js';
import {
  loadOrCreateMasterSecret,
  loadRegistration,
  MASTER_KEY_FILE,
  REGISTRATION_FILE,
  registryFor,
} from '../../src/node/masterSecret.js';

const posix = process.platform !== 'win32';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'privagg-master-'));
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

describe('loadOrCreateMasterSecret', () => {
  it('creates 32 random bytes as hex in <stateDir>/master.key, mode 0600, and reuses them', () => {
    const dir = join(tempDir(), 'state');
    const a = loadOrCreateMasterSecret(dir, { create: true, deployment: 'd', nowMs: 1234 });
    expect(a).toHaveLength(32);
    const path = join(dir, MASTER_KEY_FILE);
    expect(readFileSync(path, 'utf8')).toBe(`${a.toString('hex')}\n`);
    if (posix) expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(loadRegistration(dir)).toEqual({ deployment: 'd', registeredAtMs: 1234 });

    const again = loadOrCreateMasterSecret(dir, { create: true, deployment: 'd', nowMs: 9999 });
    expect(again.equals(a)).toBe(true);
    expect(loadOrCreateMasterSecret(dir, { create: false }).equals(a)).toBe(true);
    expect(loadRegistration(dir).registeredAtMs).toBe(1234);

    const other = loadOrCreateMasterSecret(tempDir(), { create: true });
    expect(other.equals(a)).toBe(false);
  });

  it('refuses to invent a secret when create is false', () => {
    const e = thrown(() => loadOrCreateMasterSecret(tempDir(), { create: false }));
    expect(isPrivaggError(e, ErrorCode.DATA_UNAVAILABLE)).toBe(true);
    expect(String(e)).toContain(MASTER_KEY_FILE);
  });

  it.runIf(posix)('refuses a key file that group or others can read (0644)', () => {
    const dir = tempDir();
    const secret = loadOrCreateMasterSecret(dir, { create: true });
    chmodSync(join(dir, MASTER_KEY_FILE), 0o644);
    const e = thrown(() => loadOrCreateMasterSecret(dir, { create: false }));
    expect(isPrivaggError(e, ErrorCode.BAD_KEY)).toBe(true);
    expect(e).toMatchObject({ details: { reason: 'permissions', mode: '0644' } });
    expect(String(e)).toContain('looser than 0600');
    // Creation does not paper over it either, and the secret is never in the message.
    expect(() => loadOrCreateMasterSecret(dir, { create: true })).toThrow(/looser than 0600/);
    expect(String(e)).not.toContain(secret.toString('hex'));
    chmodSync(join(dir, MASTER_KEY_FILE), 0o400);
    expect(loadOrCreateMasterSecret(dir, { create: false }).equals(secret)).toBe(true);
  });

  it('refuses a key of the wrong length or not in hex', () => {
    const dir = tempDir();
    loadOrCreateMasterSecret(dir, { create: true });
    const path = join(dir, MASTER_KEY_FILE);
    writeFileSync(path, `${'ab'.repeat(16)}\n`, { mode: 0o600 });
    const short = thrown(() => loadOrCreateMasterSecret(dir, { create: true }));
    expect(isPrivaggError(short, ErrorCode.BAD_KEY)).toBe(true);
    expect(short).toMatchObject({ details: { reason: 'length', characters: 32 } });
    expect(String(short)).not.toContain('ab'.repeat(16));
    writeFileSync(path, 'zz'.repeat(32), { mode: 0o600 });
    expect(thrown(() => loadOrCreateMasterSecret(dir, { create: false }))).toMatchObject({
      code: ErrorCode.BAD_KEY,
      details: { reason: 'encoding' },
    });
  });

  it('refuses state that belongs to another deployment', () => {
    const dir = tempDir();
    loadOrCreateMasterSecret(dir, { create: true, deployment: 'alpha' });
    expect(() => loadOrCreateMasterSecret(dir, { create: false, deployment: 'beta' })).toThrow(
      /belongs to deployment "alpha", not "beta"/,
    );
  });
});

describe('registryFor', () => {
  const spec = (stateDir: string) =>
    parseDeployment(
      `name: twin\nstateDir: ${JSON.stringify(stateDir)}\nscheme: { ians: 2, devicesPerIan: 3, gateways: 3, threshold: 2 }\n`,
      'deployment.yaml',
      '/',
    );

  it('two processes loading the same state derive the same keys', () => {
    const dir = tempDir();
    // "up" creates the state; two role processes each load file and secret independently.
    loadOrCreateMasterSecret(dir, { create: true, deployment: 'twin' });
    const load = () => {
      const s = spec(dir);
      return registryFor(
        s,
        loadOrCreateMasterSecret(s.stateDir, { create: false, deployment: s.name }),
      );
    };
    const a = load();
    const b = load();
    const da = a.deviceKey(1, 2);
    const db = b.deviceKey(1, 2);
    expect(da.identity.equals(db.identity)).toBe(true);
    const msg = Buffer.from('round 7');
    const tags = (k: typeof da) => k.gatewayMac.map((key) => macTag(key, msg).toString('hex'));
    expect(tags(da)).toEqual(tags(db));
    expect(new Set(tags(da)).size).toBe(3);
    // The gateway's copy of the link key (derived in the other process) verifies the device's tag.
    expect(macTag(a.gatewayKey(1, 3).deviceMac[2]!, msg).toString('hex')).toBe(tags(db)[2]);
    expect(a.gatewayKey(1, 3).deviceAead[2]).toEqual(db.gatewayAead[2]);
    expect(a.ledgerKey().queryNoiseKey.equals(b.ledgerKey().queryNoiseKey)).toBe(true);
    expect(a.oemKey(0).identity.equals(b.oemKey(0).identity)).toBe(true);
  });

  it('another secret or another registration time gives other keys', () => {
    const one = tempDir();
    const two = tempDir();
    const s1 = loadOrCreateMasterSecret(one, { create: true, nowMs: 1 });
    const s2 = loadOrCreateMasterSecret(two, { create: true, nowMs: 1 });
    const k1 = registryFor(spec(one), s1).ledgerKey().queryNoiseKey;
    const k2 = registryFor(spec(two), s2).ledgerKey().queryNoiseKey;
    expect(k1.equals(k2)).toBe(false);
    const t1 = registryFor(spec(one), s1).deviceKey(0, 0).identity;
    const t2 = registryFor(spec(one), s1, { registeredAtMs: 2 }).deviceKey(0, 0).identity;
    expect(t1.equals(t2)).toBe(false);
  });

  it('needs a 32-byte secret and the registration file', () => {
    const dir = tempDir();
    expect(() => registryFor(spec(dir), new Uint8Array(16))).toThrow(/BAD_KEY/);
    expect(() => registryFor(spec(dir), new Uint8Array(32))).toThrow(
      new RegExp(`DATA_UNAVAILABLE: cannot read .*${REGISTRATION_FILE}`),
    );
  });
});
