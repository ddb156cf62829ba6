import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  loadDeploymentFile,
  populationOfSpec,
  workloadFor,
} from '../../../src/node/deploymentFile.js';
import {
  type RunningSeamDeployment,
  type SeamUpOptions,
  seamUp,
} from '../../../src/node/seam/seamUp.js';

/**
 * A deployment of a scheme on the seam in a fresh state directory (synthetic workload, 4
 * devices per IAN, a unique name), and `privagg up`'s seam runtime started on it with every
 * role as its own process (node + tsx on the CLI, from the repo root), every event kept.
 */
const ENTRY = { command: process.execPath, args: ['--import', 'tsx', 'src/cli/main.ts'] };

export type SeamFixture = ReturnType<typeof seamDeployment>;

export function seamDeployment(
  prefix: string,
  scheme: unknown,
  rounds: number,
  durationMs: number,
  ians = 1,
) {
  const dir = mkdtempSync(join(tmpdir(), `privagg-${prefix}-`));
  const name = `${prefix}-${process.pid}-${Date.now().toString(36)}`;
  const file = join(dir, 'deployment.json');
  writeFileSync(
    file,
    JSON.stringify({
      name,
      stateDir: dir,
      scheme: { ...(scheme as object), ians, devicesPerIan: 4, workload: 'synthetic' },
      rounds: { count: rounds, durationMs },
    }),
  );
  return { dir, file, spec: loadDeploymentFile(file) };
}

export type SeamEvent = { role: string; ev: Record<string, unknown> };

export async function startSeam(
  fx: SeamFixture,
  o: { roleArgs?: SeamUpOptions['roleArgs']; onEvent?: (e: SeamEvent) => void } = {},
): Promise<{ d: RunningSeamDeployment; events: SeamEvent[] }> {
  const events: SeamEvent[] = [];
  const d = await seamUp({
    name: fx.spec.name,
    stateDir: fx.spec.stateDir,
    ledgerFile: fx.spec.ledger.file,
    scheme: { id: fx.spec.scheme.id, params: fx.spec.scheme.params ?? {} },
    population: populationOfSpec(fx.spec),
    workload: workloadFor(fx.spec),
    rounds: fx.spec.rounds.count,
    roundMs: fx.spec.rounds.durationMs,
    deploymentFile: fx.file,
    entry: ENTRY,
    startupMs: 1500,
    ...(o.roleArgs ? { roleArgs: o.roleArgs } : {}),
    onEvent: (role, ev) => {
      events.push({ role, ev });
      o.onEvent?.({ role, ev });
    },
  });
  return { d, events };
}
