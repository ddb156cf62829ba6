import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom, systemRandom } from '../../src/math/random.js';
import { createMaasDeployment } from '../../src/schemes/maas/deployment.js';
import type { OemGrant } from '../../src/schemes/maas/keys.js';
import { defaultMaasParams } from '../../src/schemes/maas/params.js';
import { buildQuery, dimensionMask } from '../../src/schemes/maas/query.js';

export const T0 = Date.UTC(2026, 0, 1);
export const GRANT: OemGrant = {
  name: 'oem-1',
  dimensions: [0, 1],
  budget: { epsilon: 10, delta: 0 },
  epsilonPerDimension: [1, 1],
};

/** A small LDP-off deployment and a generator of real partials and queries for it. */
export function ledgerFixture(ians = 2, devices = 4) {
  const params = defaultMaasParams({
    deployment: 'ledger-test',
    ians,
    devicesPerIan: devices,
    dimensions: ['a', 'b'],
    maxReading: [9, 9],
    ldp: null,
  });
  const dep = createMaasDeployment(params, {
    oems: [GRANT],
    registeredAtMs: T0,
    masterSecret: Buffer.alloc(32, 7),
    rng: seededRandom('ledger'),
  });
  const reading = (v: number, i: number, rd: number) => [(v + i + rd) % 10, (2 * i + rd) % 10];
  /** The m partials of one IAN-round (all gateways, honest). */
  const partials = (v: number, rd: number, now: number): Buffer[] => {
    const gws = Array.from({ length: params.gateways }, (_, l) => dep.gateway(v, l + 1));
    for (const g of gws) g.beginRound(rd);
    for (let i = 0; i < devices; i++) {
      for (const m of dep.device(v, i).report(rd, reading(v, i, rd), now, systemRandom)) {
        gws[m.gateway - 1]!.ingest(m.bytes, now);
      }
    }
    return gws.map((g) => g.closeRound(now).partial);
  };
  const truth = (v: number, rd: number) =>
    [0, 1].map((j) =>
      Array.from({ length: devices }, (_, i) => reading(v, i, rd)[j]!).reduce((a, b) => a + b, 0),
    );
  const query = (number: number, endRound: number, at: number) =>
    buildQuery(params, dep.registry.oemKey(0), {
      number,
      startRound: 0,
      endRound,
      dimensionMask: dimensionMask([0, 1]),
      timestamp: at,
    });
  const dir = mkdtempSync(join(tmpdir(), 'privagg-ledger-'));
  return {
    params,
    dep,
    partials,
    truth,
    query,
    dir,
    file: join(dir, 'ledger.sqlite'),
    config: { params, oems: [GRANT] },
  };
}
