import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, PrivaggError } from '../../errors.js';
import { configureScheme } from '../../schemes/registry.js';
import type { Population, Recovery } from '../../schemes/scheme.js';
import {
  groupResult,
  type SchemeRoundResult,
  type SchemeRunResult,
  summarise,
} from '../../sim/schemeResults.js';
import type { Workload } from '../../sim/workload.js';
import { moveLedgerAside } from '../ledgerAside.js';
import { RestartBackoff, spawnRoleChild, stopChildren } from '../roleChild.js';
import { acquireStateDirLock, assertLedgerFileFree } from '../stateLock.js';
import { startSeamBroker } from './seamBroker.js';
import { minRoundMs } from './seamSchedule.js';
import { issueSeamRun } from './seamTa.js';
import type { SeamIdentity } from './seamTopics.js';

/**
 * `privagg up` for a scheme on the seam: the TA issues one bundle per process, the run's
 * own broker starts here (embedded, TLS, a certificate per identity, the seam's access
 * control), and every role runs as its own process — the center in its scheme ledger,
 * each aggregator, each group's device fleet — all started, then handed one epoch on
 * stdin. The center's recoveries come back as events; the summary maps them with the
 * same status mapping and truth recomputation as the simulator (sim/schemeResults.ts).
 * A role process that exits on its own is restarted with the same epoch (it joins at
 * the next whole round; the center resumes from its chain).
 */
export interface SeamUpOptions {
  name: string;
  stateDir: string;
  ledgerFile: string;
  scheme: { id: string; params: unknown };
  population: Population;
  /** The readings, for the truth of the summary (the fleets read their own). */
  workload: Workload;
  rounds: number;
  roundMs: number;
  /** The deployment file every role process reads. */
  deploymentFile: string;
  /** How the children are started: [node, ...execArgv, entry]. */
  entry: { command: string; args: string[] };
  onEvent?: (role: string, event: Record<string, unknown>) => void;
  /** Time from the moment every process is ready to the start of round 0. Default 1 s. */
  startupMs?: number;
  /** Extra arguments for a role's process (fault injection: silent devices); null: not started. */
  roleArgs?: (identity: SeamIdentity, args: string[]) => string[] | null;
  /** Restart a role process that exits on its own (default true). */
  supervise?: boolean;
}

export interface RunningSeamDeployment {
  brokerUrl: string;
  epochMs: number;
  identities: readonly SeamIdentity[];
  children: ReadonlyMap<string, ChildProcess>;
  /** Resolves when the center has recovered the last round (never for rounds 0). */
  finished: Promise<void>;
  /** Every group-round the center has finished, as the same mapping the simulator uses. */
  result(): SchemeRunResult;
  kill(identity: string, signal?: NodeJS.Signals): void;
  auditorKeysFile: string;
  stop(): Promise<void>;
}

/** A deployment name as a run name (the seam's topic level: A–Z a–z 0–9 _ -, ≤ 48). */
export function runNameOf(deployment: string): string {
  return deployment.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 48) || 'run';
}

export async function seamUp(o: SeamUpOptions): Promise<RunningSeamDeployment> {
  const lock = acquireStateDirLock(o.stateDir);
  if (lock.tookOverFrom)
    o.onEvent?.('up', { event: 'stale-lock', lock: lock.path, owner: lock.tookOverFrom });
  let stopping = false;
  const children = new Map<string, ChildProcess>();
  let broker: Awaited<ReturnType<typeof startSeamBroker>> | undefined;
  const abandon = async (e: unknown): Promise<never> => {
    stopping = true;
    await stopChildren(children.values());
    await broker?.close().catch(() => undefined);
    lock.release();
    throw e;
  };
  try {
    assertLedgerFileFree(o.ledgerFile);
    // Too short a round and a parent would close in the same millisecond as its children.
    const config = configureScheme(o.scheme.id, o.scheme.params, o.population);
    const { topology } = config;
    let widest = 1;
    for (let g = 0; g < topology.groups; g++)
      widest = Math.max(widest, topology.aggregators(g).length);
    if (o.roundMs < minRoundMs(widest))
      throw new PrivaggError(
        ErrorCode.INVALID_ARGUMENT,
        `rounds.durationMs ${o.roundMs} is too short for ${widest} aggregator(s) closing one after another: at least ${minRoundMs(widest)} ms`,
      );
    const aside = moveLedgerAside(o.ledgerFile);
    if (aside) o.onEvent?.('up', { event: 'previous-ledger', movedTo: aside });
    const issued = issueSeamRun({
      deployment: o.name,
      run: runNameOf(o.name),
      scheme: o.scheme,
      population: o.population,
      config,
      dir: join(o.stateDir, 'seam'),
      ledgerFile: o.ledgerFile,
    });
    broker = await startSeamBroker({ run: issued.run, config: issued.config, pki: issued.pki });
    const logs = join(o.stateDir, 'logs');
    mkdirSync(logs, { recursive: true });
    const recoveries = new Map<string, { recovery: Recovery; phases: number }>();
    const rejections = new Map<string, Record<string, number>>();
    let finish: () => void = () => undefined;
    let centerGone: (e: Error) => void = () => undefined;
    const finished = new Promise<void>((resolve, reject) => {
      finish = resolve;
      centerGone = reject;
    });
    finished.catch(() => undefined);
    let epochMs: number | undefined;
    const argsOf = new Map<string, string[]>();
    const backoff = new RestartBackoff();
    let launches = 0;

    const start = (id: SeamIdentity, args: string[]) => {
      argsOf.set(id.name, args);
      const startedAt = Date.now();
      // A restarted process counts from zero again: its counts are kept apart from its predecessor's.
      const instance = `${id.name}#${++launches}`;
      const epoch = epochMs !== undefined ? ['--epoch', String(epochMs)] : [];
      const { child, ready } = spawnRoleChild({
        role: id.name,
        command: o.entry.command,
        args: [...o.entry.args, ...args, ...epoch],
        logFile: join(logs, `${id.name}.log`),
        env: { ...process.env, PRIVAGG_UP_PID: String(process.pid) },
        stdin: epochMs === undefined,
        onEvent: (ev) => {
          if (ev.event === 'recovery') {
            const r = ev.recovery as Recovery;
            recoveries.set(`${r.round}/${r.group}`, { recovery: r, phases: Number(ev.phases) });
          }
          if (ev.rejections) rejections.set(instance, ev.rejections as Record<string, number>);
          if (ev.event === 'done' && id.role === 'ledger') finish();
          o.onEvent?.(id.name, ev);
        },
        onExit: (code, signal, wasReady) => {
          o.onEvent?.(id.name, { event: 'exit', code, signal });
          if (!wasReady || stopping || children.get(id.name) !== child) return;
          if (code === 0) return; // done with its rounds
          supervise(id, startedAt, code, signal);
        },
      });
      children.set(id.name, child);
      return ready;
    };

    const supervise = (
      id: SeamIdentity,
      startedAt: number,
      code: number | null,
      signal: NodeJS.Signals | null,
    ) => {
      const { attempt: n, delayMs, gaveUp } = backoff.next(id.name, startedAt);
      if (o.supervise === false || gaveUp) {
        o.onEvent?.('up', { event: 'gave-up', role: id.name, restarts: n - 1 });
        if (id.role === 'ledger') centerGone(new Error(`the center exited (${signal ?? code})`));
        return;
      }
      o.onEvent?.('up', { event: 'restarting', role: id.name, code, signal, delayMs, attempt: n });
      setTimeout(() => {
        if (stopping) return;
        start(id, argsOf.get(id.name)!).then(
          () => o.onEvent?.('up', { event: 'restarted', role: id.name, attempt: n }),
          (e: unknown) =>
            o.onEvent?.('up', { event: 'restart-failed', role: id.name, error: String(e) }),
        );
      }, delayMs).unref();
    };

    const base = ['seam-role', '--deployment', o.deploymentFile, '--broker', broker.url];
    const launch = (id: SeamIdentity) => {
      const args = [...base, '--identity', id.name];
      const mapped = o.roleArgs ? o.roleArgs(id, args) : args;
      return mapped === null ? undefined : start(id, mapped);
    };
    // The center first: nothing is sent before the one who recovers it is listening.
    const [center, ...rest] = issued.identities;
    await launch(center!);
    await Promise.all(rest.map(launch));
    epochMs = Date.now() + (o.startupMs ?? 1000);
    for (const c of children.values()) c.stdin?.end(`${JSON.stringify({ epochMs })}\n`);

    const result = (): SchemeRunResult => {
      const byRound = new Map<number, SchemeRoundResult['groups'][number][]>();
      for (const { recovery, phases } of recoveries.values()) {
        const g = groupResult(
          recovery,
          issued.config.topology.devices(recovery.group),
          o.workload,
          phases,
        );
        byRound.set(recovery.round, [...(byRound.get(recovery.round) ?? []), g]);
      }
      const rounds = [...byRound]
        .sort((a, b) => a[0] - b[0])
        .map(([round, groups]) => ({ round, groups: groups.sort((a, b) => a.group - b.group) }));
      const total: Record<string, number> = {};
      for (const r of rejections.values())
        for (const [k, v] of Object.entries(r)) total[k] = (total[k] ?? 0) + v;
      return summarise(o.scheme.id, o.population, rounds, total);
    };

    return {
      brokerUrl: broker.url,
      epochMs,
      identities: issued.identities,
      children,
      finished,
      result,
      auditorKeysFile: issued.auditorKeysFile,
      kill(identity, signal = 'SIGKILL') {
        children.get(identity)?.kill(signal);
      },
      async stop() {
        if (stopping) return;
        stopping = true;
        try {
          await stopChildren(children.values());
          await broker?.close();
        } finally {
          lock.release();
        }
      },
    };
  } catch (e) {
    return abandon(e);
  }
}
