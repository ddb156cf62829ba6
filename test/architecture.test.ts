import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layering of docs/ARCHITECTURE.md, checked against the code: each folder of src/
 * may import only the layers listed for it. A new import across layers fails here
 * first, so the document and the code cannot drift apart silently.
 */
const ALLOWED: Record<string, readonly string[]> = {
  errors: [],
  math: ['errors'],
  crypto: ['errors', 'math'],
  dp: ['errors', 'math'],
  wire: ['errors', 'math', 'crypto'],
  'schemes/common': ['errors'],
  schemes: ['errors', 'math', 'crypto', 'dp', 'wire', 'schemes/common'],
  ledger: ['errors', 'math', 'crypto', 'dp', 'wire', 'schemes', 'schemes/common'],
  net: ['errors', 'wire'],
  node: [
    'errors',
    'math',
    'crypto',
    'dp',
    'wire',
    'schemes',
    'schemes/common',
    'ledger',
    'net',
    'sim',
  ],
  sim: ['errors', 'math', 'crypto', 'dp', 'wire', 'schemes', 'schemes/common', 'ledger'],
  report: ['errors', 'sim'],
  cli: [
    'errors',
    'math',
    'crypto',
    'dp',
    'wire',
    'schemes',
    'schemes/common',
    'ledger',
    'net',
    'node',
    'sim',
    'report',
  ],
};
// The package entry: re-exports of the public API — what the CLI may import, but never
// the CLI itself, its reports or the simulator.
ALLOWED.index = ALLOWED.cli!.filter((l) => l !== 'report' && l !== 'sim');

const SRC = resolve('src');

function layerOf(file: string): string {
  const rel = relative(SRC, file).replaceAll('\\', '/').replace(/\.js$/, '.ts');
  if (rel === 'errors.ts') return 'errors';
  if (rel === 'index.ts') return 'index';
  if (rel.startsWith('schemes/common/')) return 'schemes/common';
  return rel.split('/')[0]!;
}

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (p.endsWith('.ts')) yield p;
  }
}

describe('architecture', () => {
  it('every import in src/ respects the layer rules of docs/ARCHITECTURE.md', () => {
    const violations: string[] = [];
    let checked = 0;
    for (const file of files(SRC)) {
      const from = layerOf(file);
      const allowed = ALLOWED[from];
      expect(allowed, `no layer rule for ${from}`).toBeDefined();
      for (const m of readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
        const target = layerOf(resolve(join(file, '..'), m[1]!));
        checked++;
        if (target !== from && !allowed!.includes(target)) {
          violations.push(`${relative(SRC, file)} (${from}) imports ${m[1]} (${target})`);
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
    expect(violations).toEqual([]);
  });

  it('the architecture document names every layer', () => {
    const doc = readFileSync('docs/ARCHITECTURE.md', 'utf8');
    for (const layer of Object.keys(ALLOWED)) {
      const named = { errors: 'src/errors.ts', index: 'src/index.ts' }[layer] ?? `src/${layer}`;
      expect(doc, layer).toContain(named);
    }
  });
});

/**
 * The scheme seam's rule: outside its own folder, only the registry imports a scheme's
 * folder; everything else sees schemes through src/schemes/scheme.ts. These files predate
 * the seam and still reach into src/schemes/maas: the list only shrinks as each is ported
 * (issue 12), and a file not on it that imports a scheme folder fails the test.
 */
const NOT_YET_ON_THE_SEAM = new Set([
  'cli/demo.ts',
  'cli/ledger.ts',
  'cli/sizes.ts',
  'index.ts',
  'ledger/admission.ts',
  'ledger/auditChecks.ts',
  'ledger/deploymentConfig.ts',
  'ledger/embeddedLedger.ts',
  'ledger/maasLedgerNode.ts',
  'ledger/fabric/fabricLedgerClient.ts',
  'ledger/fabric/ledgerClient.ts',
  'ledger/fabric/addPartial.ts',
  'ledger/fabric/coreReplay.ts',
  'ledger/fabric/initLedger.ts',
  'ledger/fabric/ledgerKeysFromState.ts',
  'ledger/fabric/loadDeployment.ts',
  'ledger/fabric/queryOverState.ts',
  'ledger/fabric/restore.ts',
  'ledger/fabric/secretStore.ts',
  'ledger/fabric/stateLayout.ts',
  'ledger/http/server.ts',
  'ledger/replay.ts',
  'ledger/retention.ts',
  'ledger/service.ts',
  'ledger/verifyChain.ts',
  'node/credentials/auditorKeys.ts',
  'node/credentials/bundleRegistry.ts',
  'node/demo/compromisedDevices.ts',
  'node/demo/faultHooks.ts',
  'node/demo/ledgerClient.ts',
  'node/demo/networkedMaas.ts',
  'node/demo/rogueClient.ts',
  'node/demo/roles.ts',
  'node/demo/roundsFromChain.ts',
  'node/deploymentCrossCheck.ts',
  'node/deploymentFile.ts',
  'node/deploymentSchema.ts',
  'node/deploymentSpec.ts',
  'node/deploymentWorkload.ts',
  'node/deviceFleet.ts',
  'node/gatewayService.ts',
  'node/ledgerServer.ts',
  'node/masterSecret.ts',
  'node/runtime.ts',
  'node/validityWarmUp.ts',
  'sim/maasAttacks.ts',
  'sim/maasRestoreLoop.ts',
  'sim/maasRunQueries.ts',
  'sim/maasRunResult.ts',
  'sim/maasRunSetup.ts',
  'sim/maasScoring.ts',
]);

/** src/schemes/<folder>/… for a scheme's own folder (common/ is shared, not a scheme). */
function schemeFolderOf(file: string): string | undefined {
  const rel = relative(SRC, file).replaceAll('\\', '/').replace(/\.js$/, '.ts');
  const m = /^schemes\/([^/]+)\//.exec(rel);
  return m && m[1] !== 'common' ? m[1] : undefined;
}

describe('the scheme seam', () => {
  it('only the registry imports a scheme folder (per file), and no scheme imports another', () => {
    const violations: string[] = [];
    const stillLegacy = new Set<string>();
    for (const file of files(SRC)) {
      const rel = relative(SRC, file).replaceAll('\\', '/');
      const own = schemeFolderOf(file);
      for (const m of readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
        const target = schemeFolderOf(resolve(join(file, '..'), m[1]!));
        if (target === undefined || target === own || rel === 'schemes/registry.ts') continue;
        if (NOT_YET_ON_THE_SEAM.has(rel)) stillLegacy.add(rel);
        else violations.push(`${rel} imports ${m[1]} (scheme folder ${target})`);
      }
    }
    expect(violations).toEqual([]);
    // A file ported to the seam leaves the list: a stale entry would hide a new import.
    expect([...NOT_YET_ON_THE_SEAM].filter((f) => !stillLegacy.has(f))).toEqual([]);
  });

  it('scheme cores are sans-I/O: no node:* but node:crypto, no clock, no global randomness', () => {
    const violations: string[] = [];
    for (const file of files(join(SRC, 'schemes'))) {
      const text = readFileSync(file, 'utf8');
      const rel = relative(SRC, file);
      for (const m of text.matchAll(/from 'node:([^']+)'/g))
        if (m[1] !== 'crypto') violations.push(`${rel} imports node:${m[1]}`);
      for (const banned of [
        'Date.now(',
        'new Date(',
        'performance.now(',
        'Math.random(',
        'setTimeout(',
        'setInterval(',
        'process.',
      ]) {
        if (text.includes(banned)) violations.push(`${rel} uses ${banned}`);
      }
    }
    expect(violations).toEqual([]);
  });
});
