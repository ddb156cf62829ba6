import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { ErrorCode, PrivaggError } from '../errors.js';
import { loadDeploymentFile, workloadFor } from '../node/deploymentFile.js';
import { loadSeamBundle } from '../node/seam/roleBundle.js';
import { startSeamRole } from '../node/seam/roleProcess.js';
import { acquireLedgerFileLock } from '../node/stateLock.js';
import { emit, onStop } from './runtime.js';

/**
 * `privagg seam-role`: one process of a networked run of a scheme on the seam (the center,
 * an aggregator or a group's device fleet), started by `privagg up`. It loads its bundle
 * from <stateDir>/seam/<identity>.json, connects to the run's broker with its own
 * certificate, prints `{"event":"ready"}`, takes the epoch from --epoch or one JSON line
 * on stdin, and prints its events as JSON lines until its last round or SIGTERM.
 */
export function registerSeamRoleCommand(program: Command): void {
  program
    .command('seam-role')
    .description(
      'Run one role process of a scheme on the seam (started by `privagg up` for schemes other than maas)',
    )
    .requiredOption('--deployment <file>', 'the deployment file (YAML or JSON)')
    .requiredOption(
      '--identity <name>',
      'whose bundle to load: <run>.center, <run>.agg.<g>.<i>, <run>.dev.<g>',
    )
    .requiredOption('--broker <url>', 'the run’s broker (mqtts://…)')
    .option(
      '--epoch <ms>',
      'start of round 0, ms since the epoch (default: one JSON line on stdin)',
    )
    .option(
      '--silent-devices <list>',
      'fault injection for a fleet: device indices (comma list) that send nothing',
    )
    .option(
      '--lie <shift>',
      'fault injection for an aggregator: add <shift> to every dimension of its sums, signed as ever',
    )
    .action(
      async (o: {
        lie?: string;
        deployment: string;
        identity: string;
        broker: string;
        epoch?: string;
        silentDevices?: string;
      }) => {
        const spec = loadDeploymentFile(o.deployment);
        if (!/^[A-Za-z0-9._-]{1,128}$/.test(o.identity))
          throw new PrivaggError(
            ErrorCode.INVALID_ARGUMENT,
            `--identity "${o.identity}" is not an identity name`,
          );
        const bundle = loadSeamBundle(join(spec.stateDir, 'seam', `${o.identity}.json`));
        if (bundle.deployment !== spec.name || bundle.identity.name !== o.identity)
          throw new PrivaggError(
            ErrorCode.BAD_KEY,
            `the bundle for ${o.identity} belongs to ${bundle.identity.name} of deployment "${bundle.deployment}"`,
          );
        const silent = new Set(
          (o.silentDevices ?? '')
            .split(',')
            .filter(Boolean)
            .map((x) => {
              const n = Number(x);
              if (!Number.isSafeInteger(n) || n < 0)
                throw new PrivaggError(
                  ErrorCode.INVALID_ARGUMENT,
                  `--silent-devices: "${x}" is not a device index`,
                );
              return n;
            }),
        );
        const lie = o.lie === undefined ? undefined : Number(o.lie);
        if (lie !== undefined && (!Number.isSafeInteger(lie) || lie < 1))
          throw new PrivaggError(
            ErrorCode.INVALID_ARGUMENT,
            `--lie must be an integer ≥ 1, got "${o.lie}"`,
          );
        const isCenter = bundle.identity.role === 'ledger';
        const ledgerLock = isCenter ? acquireLedgerFileLock(spec.ledger.file) : undefined;
        const epochMs = o.epoch !== undefined ? Number(o.epoch) : undefined;
        if (epochMs !== undefined && !Number.isFinite(epochMs))
          throw new PrivaggError(
            ErrorCode.INVALID_ARGUMENT,
            `--epoch must be ms since the epoch, got "${o.epoch}"`,
          );
        // Ready before the epoch: `privagg up` hands it over once every process is connected.
        const epoch = epochMs ?? epochFromStdin();
        const role = await startSeamRole({
          bundle,
          brokerUrl: o.broker,
          roundMs: spec.rounds.durationMs,
          rounds: spec.rounds.count,
          epochMs: epoch,
          ...(bundle.identity.role === 'devices' ? { workload: workloadFor(spec) } : {}),
          ...(isCenter ? { ledgerFile: spec.ledger.file } : {}),
          ...(silent.size > 0 ? { silent: (_g: number, i: number) => silent.has(i) } : {}),
          ...(lie !== undefined ? { lie: { shift: lie } } : {}),
          onEvent: (ev) => emit(String(ev.event), ev),
        }).catch((e: unknown) => {
          ledgerLock?.release();
          throw e;
        });
        const close = async () => {
          await role.stop();
          ledgerLock?.release();
        };
        onStop(close);
        role.done.then(
          () => close().then(() => process.exit(0)),
          (e: unknown) => {
            process.stderr.write(`privagg: ${e instanceof Error ? e.message : String(e)}\n`);
            void close().finally(() => process.exit(1));
          },
        );
      },
    );
}

/** The epoch `privagg up` writes as one JSON line, {"epochMs": …}, once every process is ready. */
function epochFromStdin(): Promise<number> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: process.stdin });
    lines.once('line', (line) => {
      const v = (() => {
        try {
          return (JSON.parse(line) as { epochMs?: unknown }).epochMs;
        } catch {
          return undefined;
        }
      })();
      if (typeof v === 'number' && Number.isFinite(v)) resolve(v);
      else
        reject(
          new PrivaggError(ErrorCode.MALFORMED_MESSAGE, 'stdin did not carry {"epochMs": <ms>}'),
        );
    });
    lines.once('close', () =>
      reject(new PrivaggError(ErrorCode.MALFORMED_MESSAGE, 'stdin closed before the epoch came')),
    );
  });
}
