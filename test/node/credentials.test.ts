import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aeadOpen } from '../../src/crypto/aead.js';
import { ErrorCode, isPrivaggError } from '../../src/errors.js';
import { seededRandom } from '../../src/math/random.js';
import { loadBundle } from '../../src/node/credentials/bundle.js';
import { identityOf, parseIdentity } from '../../src/node/credentials/identities.js';
import { issueCredentials } from '../../src/node/credentials/issue.js';
import { parseDeployment } from '../../src/node/deploymentFile.js';
import { MASTER_KEY_FILE } from '../../src/node/masterSecret.js';
import { bundleOf, roleDeployment, taDeployment } from '../../src/node/runtime.js';
import { MaasGateway } from '../../src/schemes/maas/gateway.js';

/**
 * Per-role credential bundles (issue 9, finding 5: every role process loaded the TA's
 * master.key, so one host opened 30 of 30 sealed reports and could forge any gateway's
 * partial). The TA issues one bundle per identity; a role process builds its role from
 * its own bundle only.
 */
function deployment(insecure = true) {
  const dir = mkdtempSync(join(tmpdir(), 'privagg-creds-'));
  const text = JSON.stringify({
    name: 'creds',
    stateDir: dir,
    scheme: { ians: 2, devicesPerIan: 4, gateways: 5, threshold: 3, workload: 'synthetic' },
    security: { insecure },
  });
  return parseDeployment(text, join(dir, 'deployment.json'), dir);
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

describe('credential bundles', () => {
  it('one 0600 bundle per identity, none holding the master secret', () => {
    const spec = deployment();
    const issued = issueCredentials(spec, { tls: false, nowMs: 1 });
    const names = [...issued.bundles.keys()].sort();
    expect(names).toEqual(
      [
        identityOf.ledger('creds'),
        identityOf.operator('creds'),
        identityOf.auditor('creds'),
        identityOf.broker('creds'),
        identityOf.oem('creds', 0),
        identityOf.devices('creds', 0),
        ...[0, 1].flatMap((v) => [1, 2, 3, 4, 5].map((l) => identityOf.gateway('creds', v, l))),
      ].sort(),
    );
    const master = readFileSync(join(spec.stateDir, MASTER_KEY_FILE), 'utf8').trim();
    for (const path of issued.bundles.values()) {
      if (process.platform !== 'win32') expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(readFileSync(path, 'utf8')).not.toContain(master);
    }
    // Every identity parses back to its role.
    for (const name of names) expect(parseIdentity('creds', name)).not.toBeNull();
    expect(readdirSync(issued.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('a gateway bundle can neither forge another gateway’s partial nor open another gateway’s reports', () => {
    const spec = deployment();
    issueCredentials(spec, { tls: false, nowMs: 1 });
    const ta = taDeployment(spec);
    const gw1 = bundleOf({ spec }, identityOf.gateway('creds', 0, 1), 'gateway');
    const mine = roleDeployment(spec, [gw1]);
    // The registry answers for its own gateway only.
    expect(
      mine.registry.gatewayKey(0, 1).identity.equals(ta.registry.gatewayKey(0, 1).identity),
    ).toBe(true);
    for (const [v, l] of [
      [0, 2],
      [1, 1],
    ] as const) {
      const e = thrown(() => mine.registry.gatewayKey(v, l));
      expect(isPrivaggError(e, ErrorCode.ACCESS_DENIED)).toBe(true);
    }
    expect(
      isPrivaggError(
        thrown(() => mine.registry.deviceKey(0, 0)),
        ErrorCode.ACCESS_DENIED,
      ),
    ).toBe(true);
    expect(
      isPrivaggError(
        thrown(() => mine.registry.ledgerKey()),
        ErrorCode.ACCESS_DENIED,
      ),
    ).toBe(true);

    // A genuine report of device 0 to gateway 2: no key of gateway 1's bundle opens it.
    const report = ta
      .device(0, 0)
      .report(0, [1, 0, 1, 0, 1], 1000, seededRandom('creds'))
      .find((m) => m.gateway === 2)!;
    const g1 = mine.registry.gatewayKey(0, 1);
    let opened = 0;
    for (const key of g1.deviceAead) {
      // The sealed part follows the 24-byte header; try every split a forger could.
      for (let at = 0; at < report.bytes.length; at++) {
        try {
          aeadOpen(key, report.bytes.subarray(at));
          opened++;
        } catch {
          // expected: not this gateway's key
        }
      }
    }
    expect(opened).toBe(0);
    const core = new MaasGateway(g1, mine.params);
    core.beginRound(0);
    const v = core.ingest(report.bytes, 1000);
    expect(v.ok).toBe(false);

    // A partial for gateway 2 tagged with everything gateway 1 holds: the ledger refuses it.
    const ledger = ta.ledger().contract;
    const forged = new MaasGateway({ ...g1, gateway: 2 }, mine.params).buildPartial(
      0,
      [0],
      mine.params.dimensions.map(() => 1n),
      0,
      1000,
    );
    const res = ledger.add(forged, 1000);
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.code).toBe(ErrorCode.BAD_MAC);
    // Gateway 1's own partial (device 0's report to it, range proof and all) is accepted:
    // the refusal is about the key.
    const toOne = ta
      .device(0, 0)
      .report(0, [1, 0, 1, 0, 1], 1000, seededRandom('creds'))
      .find((m) => m.gateway === 1)!;
    const own = new MaasGateway(g1, mine.params);
    own.beginRound(0);
    expect(own.ingest(toOne.bytes, 1000)).toEqual({ ok: true });
    expect(ledger.add(own.closeRound(1000).partial, 1000).ok).toBe(true);
  });

  it('a device fleet holds its devices’ keys only, and an OEM only its own', () => {
    const spec = deployment();
    const issued = issueCredentials(spec, { tls: false, nowMs: 1, fleetSize: 4 });
    expect(issued.fleets).toHaveLength(2);
    const fleet1 = bundleOf({ spec }, identityOf.devices('creds', 1), 'devices');
    expect(fleet1.keys.devices.map((d) => `${d.ian}/${d.device}`)).toEqual([
      '1/0',
      '1/1',
      '1/2',
      '1/3',
    ]);
    const dep = roleDeployment(spec, [fleet1]);
    expect(() => dep.device(1, 2)).not.toThrow();
    expect(
      isPrivaggError(
        thrown(() => dep.device(0, 0)),
        ErrorCode.ACCESS_DENIED,
      ),
    ).toBe(true);
    expect(
      isPrivaggError(
        thrown(() => dep.registry.gatewayKey(1, 1)),
        ErrorCode.ACCESS_DENIED,
      ),
    ).toBe(true);
  });

  it('refuses a bundle others can read, one of another role, one of another deployment', () => {
    const spec = deployment();
    const issued = issueCredentials(spec, { tls: false, nowMs: 1 });
    const path = issued.bundles.get(identityOf.gateway('creds', 0, 1))!;
    expect(
      isPrivaggError(
        thrown(() => loadBundle(path, 'ledger')),
        ErrorCode.ACCESS_DENIED,
      ),
    ).toBe(true);
    if (process.platform !== 'win32') {
      chmodSync(path, 0o644);
      const e = thrown(() => loadBundle(path, 'gateway'));
      expect(isPrivaggError(e, ErrorCode.BAD_KEY)).toBe(true);
      expect(String(e)).toContain('0644');
      chmodSync(path, 0o600);
    }
    const other = deployment();
    issueCredentials(other, { tls: false, nowMs: 1 });
    // Same identity names (same deployment name), other TA: a bundle from elsewhere does not
    // verify what this deployment's ledger key signs, and its keys are not this TA's.
    const theirs = loadBundle(
      join(other.stateDir, 'credentials', `${identityOf.gateway('creds', 0, 1)}.json`),
      'gateway',
    );
    const ours = loadBundle(path, 'gateway');
    expect(theirs.keys.signingKey).not.toBe(ours.keys.signingKey);
    expect(theirs.ledgerPublicKey).not.toBe(ours.ledgerPublicKey);
  });

  it('a secure deployment refuses a bundle without TLS credentials', () => {
    const spec = deployment(false);
    issueCredentials({ ...spec, security: { insecure: true } }, { tls: false, nowMs: 1 });
    const e = thrown(() => bundleOf({ spec }, identityOf.gateway('creds', 0, 1), 'gateway'));
    expect(isPrivaggError(e, ErrorCode.BAD_KEY)).toBe(true);
    expect(String(e)).toContain('TLS');
  });

  it('every run issues a new ledger key unless asked to keep it', () => {
    const spec = deployment();
    const a = issueCredentials(spec, { tls: false, nowMs: 1 }).ledgerPublicKey;
    const b = issueCredentials(spec, { tls: false, nowMs: 1 }).ledgerPublicKey;
    const c = issueCredentials(spec, {
      tls: false,
      nowMs: 1,
      rotateLedgerKey: false,
    }).ledgerPublicKey;
    expect(a.equals(b)).toBe(false);
    expect(c.equals(b)).toBe(true);
  });

  it('server certificates name the hosts clients reach: broker.url and ledger.host beside localhost', () => {
    const dir = mkdtempSync(join(tmpdir(), 'privagg-creds-'));
    const spec = parseDeployment(
      JSON.stringify({
        name: 'hosts',
        stateDir: dir,
        scheme: { ians: 1, devicesPerIan: 2, gateways: 3, threshold: 2, workload: 'synthetic' },
        broker: { url: 'mqtts://broker.plant.example:8883' },
        ledger: { host: '10.1.2.3', port: 8443 },
      }),
      join(dir, 'deployment.json'),
      dir,
    );
    issueCredentials(spec, { tls: true, nowMs: Date.now() });
    const san = (identity: string, role: 'broker' | 'ledger') =>
      new X509Certificate(bundleOf({ spec }, identity, role).tls!.cert).subjectAltName ?? '';
    const broker = san(identityOf.broker('hosts'), 'broker');
    expect(broker).toContain('DNS:broker.plant.example');
    expect(broker).toContain('DNS:localhost');
    const ledger = san(identityOf.ledger('hosts'), 'ledger');
    expect(ledger).toContain('IP Address:10.1.2.3');
    expect(ledger).toContain('IP Address:127.0.0.1');
    expect(ledger).not.toContain('broker.plant.example');
  });
});
