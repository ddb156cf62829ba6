import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RoundStatusRecord } from '../ledger/embeddedLedger.js';
import { BrokerPolicy } from '../net/brokerPolicy.js';
import {
  type EmbeddedBroker,
  type EmbeddedBrokerStats,
  startEmbeddedBroker,
} from '../net/embeddedBroker.js';
import { httpPostJson } from '../net/httpPost.js';
import { probeBroker } from './brokerProbe.js';
import { loadBundle } from './credentials/bundle.js';
import { identityOf } from './credentials/identities.js';
import { type IssuedCredentials, issueCredentials } from './credentials/issue.js';
import type { ParsedDeploymentSpec } from './deploymentFile.js';
import { moveLedgerAside } from './ledgerAside.js';
import { startManagedMosquitto } from './managedMosquitto.js';
import { RestartBackoff, spawnRoleChild, stopChildren } from './roleChild.js';
import { acquireStateDirLock, assertLedgerFileFree } from './stateLock.js';

/**
 * `privagg up`: a whole deployment on this machine, as separate processes — the
 * embedded broker (in this process) or an external one, the ledger (SQLite file, HTTP
 * API, round driver), one process per gateway, and one device-fleet process — started
 * with a shared round epoch, watched, and stopped cleanly. Children's logs go to
 * <stateDir>/logs/<role>.log; their JSON event lines come back on stdout.
 */
export interface UpOptions {
  deploymentFile: string;
  spec: ParsedDeploymentSpec;
  /** How the children are started: [node, ...execArgv, entry]. */
  entry: { command: string; args: string[] };
  onEvent?: (role: string, event: Record<string, unknown>) => void;
  /** Time from the moment every process is ready to the start of round 0. Default 1 s. */
  startupMs?: number;
  /**
   * How gateways map to processes. 'per-gateway' (default): one process per gateway, role
   * `gateway-<v>-<l>`. 'per-index': one process per gateway index l hosting GW_l of every
   * IAN (role `gateways-<l>`; m processes instead of z·m), each gateway still with its own
   * keys and MQTT connection — the process count, not the protocol, is what changes. A
   * process then holds one share of each device, never the k needed to read a reading.
   */
  /** Overrides the deployment file's `gatewayProcesses`. */
  gatewayProcesses?: 'per-gateway' | 'per-index';
  /** Extra runtime arguments for one role's process, put before `entry.args` (e.g. --cpu-prof). */
  execArgvFor?: (role: string) => string[];
  /**
   * Rewrites a role's command-line arguments before it starts (the demo uses it to inject
   * faults: a gateway down for the run, a lying one, silent devices); null: the role is not
   * started at all.
   */
  roleArgs?: (role: string, args: string[]) => string[] | null;
  /**
   * Restart a role process that exits on its own, with exponential backoff (default true).
   * Fault tests that kill and restart processes by hand turn it off.
   */
  supervise?: boolean;
  /**
   * How devices are grouped in fleet bundles (issue.ts); each fleet k runs as role
   * `devices` (k = 0) or `devices-<k>`. Default: every device in one fleet.
   */
  fleets?: readonly (readonly { ian: number; device: number }[])[];
}

export { RESTART_BACKOFF } from './roleChild.js';

/** How long `up` keeps trying to hand a supervision note to the ledger. */
const NOTE_DEADLINE_MS = 10_000;

export interface RunningDeployment {
  brokerUrl: string;
  ledgerUrl: string;
  epochMs: number;
  children: Map<string, ChildProcess>;
  /** Round statuses as the ledger reports them. */
  statuses: RoundStatusRecord[];
  /** Resolves when the ledger reports it has driven every round (never for count 0). */
  finished: Promise<void>;
  /** Kills one child with a signal (fault injection). */
  kill(role: string, signal?: NodeJS.Signals): void;
  /** Starts a child again (e.g. a killed ledger or gateway). */
  restart(role: string): Promise<void>;
  /** Supervised restarts so far, per role. */
  restarts: Map<string, number>;
  /** The credentials issued for this run. */
  credentials: IssuedCredentials;
  /** The embedded broker's counters (refusals included), when `up` runs one in this process. */
  brokerStats?: () => EmbeddedBrokerStats;
  stop(): Promise<void>;
}

/**
 * Starts the deployment, holding its state directory for the run: a second `up` (or a
 * demo) on the same directory is refused with STATE_LOCKED before it issues credentials
 * or moves the ledger aside. The lock is released by `stop()`, or found stale by the next
 * run when this process is gone.
 */
export async function up(o: UpOptions): Promise<RunningDeployment> {
  const lock = acquireStateDirLock(o.spec.stateDir);
  if (lock.tookOverFrom)
    o.onEvent?.('up', { event: 'stale-lock', lock: lock.path, owner: lock.tookOverFrom });
  try {
    const running = await startLocked(o);
    return {
      ...running,
      async stop() {
        try {
          await running.stop();
        } finally {
          lock.release();
        }
      },
    };
  } catch (e) {
    lock.release();
    throw e;
  }
}

async function startLocked(o: UpOptions): Promise<RunningDeployment> {
  const { spec } = o;
  const secure = !spec.security.insecure;
  // A ledger already serving this file (started by hand, or another deployment file naming
  // it): refused before credentials are re-issued, the broker is tried as the ledger or
  // the file is moved aside — the ledger child would be refused only after all of that.
  assertLedgerFileFree(spec.ledger.file);
  // The TA: master secret and registration (created once), then this run's credentials —
  // one bundle per identity, a new ledger key, certificates from the deployment's CA.
  const credentials = issueCredentials(spec, {
    tls: secure,
    ...(o.fleets ? { fleets: o.fleets } : {}),
  });
  const operator = loadBundle(credentials.bundles.get(identityOf.operator(spec.name))!, 'operator');
  const brokerBundle = loadBundle(credentials.bundles.get(identityOf.broker(spec.name))!, 'broker');
  const policy = new BrokerPolicy(spec.name, spec.scheme.gateways, credentials.grants);
  // An external broker is tried once before anything moves: a wrong URL fails in seconds.
  if (spec.broker.url !== 'embedded' && spec.broker.url !== 'mosquitto') {
    const ledger = loadBundle(credentials.bundles.get(identityOf.ledger(spec.name))!, 'ledger');
    await probeBroker(spec.broker.url, ledger);
  }
  // A new run starts a new chain: rounds are numbered from this run's epoch. The previous
  // chain is kept beside it, renamed, never overwritten.
  const aside = moveLedgerAside(spec.ledger.file);
  if (aside) o.onEvent?.('up', { event: 'previous-ledger', movedTo: aside });
  const logs = join(spec.stateDir, 'logs');
  mkdirSync(logs, { recursive: true });
  const broker =
    spec.broker.url === 'embedded'
      ? await startEmbeddedBroker(
          secure && brokerBundle.tls ? { tls: brokerBundle.tls, policy } : { insecure: true },
        )
      : spec.broker.url === 'mosquitto'
        ? await startManagedMosquitto({
            dir: join(spec.stateDir, 'mosquitto'),
            policy,
            devicesPerIan: spec.scheme.devicesPerIan,
            ...(secure && brokerBundle.tls ? { tls: brokerBundle.tls } : {}),
          })
        : undefined;
  const brokerUrl = broker?.url ?? spec.broker.url;
  const children = new Map<string, ChildProcess>();
  const specs = new Map<string, string[]>();
  const statuses: RoundStatusRecord[] = [];
  const restarts = new Map<string, number>();
  let stopping = false;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((r) => {
    finish = r;
  });
  // No --epoch: every process waits for the ledger's signed retained epoch, which the
  // ledger publishes when asked below, once every process is ready.
  const base = ['--deployment', o.deploymentFile, '--broker', brokerUrl];
  let ledgerUrl = '';

  /**
   * A supervised restart, reported on `up`'s event stream (and so in its output) and, as
   * the operator, to the ledger (POST /v1/notes), which records it with the next round
   * status. Never throws: a ledger that does not take the note (down for good, stopping)
   * is one more event, and supervision goes on.
   */
  const tellLedger = (note: string) => {
    o.onEvent?.('up', { event: 'supervision', note });
    if (stopping || !ledgerUrl) return;
    const failed = (code: string, message: string) =>
      o.onEvent?.('up', { event: 'supervision-note-failed', note, code, message });
    httpPostJson(
      `${ledgerUrl}/v1/notes`,
      { note },
      {
        deadlineMs: Date.now() + NOTE_DEADLINE_MS,
        ...(operator.tls ? { tls: operator.tls } : {}),
      },
    ).then(
      (res) => {
        if (!res.ok) failed(res.code, res.message);
      },
      (e: unknown) => failed('LEDGER_UNREACHABLE', e instanceof Error ? e.message : String(e)),
    );
  };

  const start = (role: string, args: string[]) => {
    specs.set(role, args);
    const extra = o.execArgvFor?.(role) ?? [];
    const startedAt = Date.now();
    const { child, ready } = spawnRoleChild({
      role,
      command: o.entry.command,
      args: [...extra, ...o.entry.args, ...args],
      logFile: join(logs, `${role}.log`),
      env: { ...process.env, PRIVAGG_UP_PID: String(process.pid) },
      onEvent: (ev) => {
        if (ev.event === 'round') statuses.push(ev as unknown as RoundStatusRecord);
        if (ev.event === 'finished' && role === 'ledger') finish();
        o.onEvent?.(role, ev);
      },
      onExit: (code, signal, wasReady) => {
        o.onEvent?.(role, { event: 'exit', code, signal });
        // Only a process that was up and is still the current one for its role is supervised.
        if (wasReady && children.get(role) === child) supervise(role, startedAt, code, signal);
      },
    });
    children.set(role, child);
    return ready;
  };

  const backoff = new RestartBackoff();
  const supervise = (
    role: string,
    startedAt: number,
    code: number | null,
    signal: NodeJS.Signals | null,
  ) => {
    if (stopping || o.supervise === false) return;
    // The ledger is done driving the rounds: a child that exits now is not a failure.
    if (code === 0) return;
    const { attempt: n, delayMs, gaveUp } = backoff.next(role, startedAt);
    if (gaveUp) {
      o.onEvent?.('up', { event: 'gave-up', role, restarts: n - 1 });
      tellLedger(`process ${role} kept exiting; not restarted after ${n - 1} attempts`);
      return;
    }
    o.onEvent?.('up', { event: 'restarting', role, code, signal, delayMs, attempt: n });
    setTimeout(() => {
      if (stopping) return;
      restarts.set(role, (restarts.get(role) ?? 0) + 1);
      running.restart(role).then(
        () => {
          o.onEvent?.('up', { event: 'restarted', role, attempt: n });
          tellLedger(
            `process ${role} exited (${signal ?? `code ${code}`}) and was restarted by privagg up`,
          );
        },
        (e: unknown) => o.onEvent?.('up', { event: 'restart-failed', role, error: String(e) }),
      );
    }, delayMs).unref();
  };

  // A role the roleArgs hook drops is never started (and is not waited for).
  const launch = (role: string, args: string[]) => {
    const mapped = o.roleArgs ? o.roleArgs(role, args) : args;
    return mapped === null ? undefined : start(role, mapped);
  };
  // A start that fails leaves nothing running: the children already started and the
  // broker are stopped before the error goes up (and the state lock with it).
  const abandon = async (e: unknown): Promise<never> => {
    stopping = true;
    for (const c of children.values()) if (c.exitCode === null) c.kill('SIGTERM');
    await broker?.close().catch(() => undefined);
    throw e;
  };
  const ledgerReady = await start('ledger', ['ledger', 'serve', ...base]).catch(abandon);
  ledgerUrl = String(ledgerReady.url);
  const pending: (Promise<unknown> | undefined)[] = [];
  // gatewayHealthBasePort: process k of the gateways serves /health on base + k (0: any port).
  const healthPort = (k: number) =>
    spec.gatewayHealthBasePort > 0 ? ['--health-port', String(spec.gatewayHealthBasePort + k)] : [];
  const gatewayProcesses = o.gatewayProcesses ?? spec.gatewayProcesses;
  if (gatewayProcesses === 'per-index') {
    for (let l = 1; l <= spec.scheme.gateways; l++) {
      pending.push(
        launch(`gateways-${l}`, [
          'gateway',
          ...base,
          '--ian',
          'all',
          '--gateway',
          String(l),
          '--ledger',
          ledgerUrl,
          ...healthPort(l - 1),
        ]),
      );
    }
  }
  for (let v = 0; v < spec.scheme.ians && gatewayProcesses !== 'per-index'; v++) {
    for (let l = 1; l <= spec.scheme.gateways; l++) {
      pending.push(
        launch(`gateway-${v}-${l}`, [
          'gateway',
          ...base,
          '--ian',
          String(v),
          '--gateway',
          String(l),
          '--ledger',
          ledgerUrl,
          ...healthPort(v * spec.scheme.gateways + l - 1),
        ]),
      );
    }
  }
  credentials.fleets.forEach((_, k) => {
    pending.push(
      launch(k === 0 ? 'devices' : `devices-${k}`, ['devices', ...base, '--fleet', String(k)]),
    );
  });
  await Promise.all(pending).catch(abandon);
  const epochMs = Date.now() + (o.startupMs ?? 1000);
  // The operator asks the ledger to start the rounds: the ledger signs the epoch and
  // publishes it, retained — the only source of the round clock every process accepts.
  const started = await httpPostJson(
    `${ledgerUrl}/v1/epoch`,
    { epochMs },
    { deadlineMs: Date.now() + 10_000, ...(operator.tls ? { tls: operator.tls } : {}) },
  );
  if (!started.ok)
    await abandon(
      new Error(`the ledger refused to start the rounds: ${started.code} ${started.message}`),
    );

  const running: RunningDeployment = {
    brokerUrl,
    ledgerUrl,
    epochMs,
    children,
    statuses,
    finished,
    restarts,
    credentials,
    ...(broker && 'stats' in broker
      ? { brokerStats: () => (broker as EmbeddedBroker).stats() }
      : {}),
    kill(role, signal = 'SIGKILL') {
      children.get(role)?.kill(signal);
    },
    async restart(role) {
      const args = specs.get(role);
      if (!args) throw new Error(`no role ${role}`);
      // The ledger keeps its port so gateways find it again.
      const extra = role === 'ledger' ? ['--port', new URL(ledgerUrl).port] : [];
      await start(role, [
        ...args.filter((a, i) => a !== '--port' && args[i - 1] !== '--port'),
        ...extra,
      ]);
    },
    async stop() {
      stopping = true;
      await stopChildren(children.values());
      await broker?.close();
    },
  };
  return running;
}
