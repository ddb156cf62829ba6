import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { RoundStatusRecord } from '../ledger/embeddedLedger.js';
import { startEmbeddedBroker } from '../net/embeddedBroker.js';
import { connectMqtt } from '../net/mqttClient.js';
import { topics } from '../net/topics.js';
import type { ParsedDeploymentSpec } from './deploymentFile.js';
import { deploymentFor, publishEpoch } from './runtime.js';

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
}

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
  stop(): Promise<void>;
}

export async function up(o: UpOptions): Promise<RunningDeployment> {
  const { spec } = o;
  deploymentFor(spec, true); // the TA: master secret and registration, created once
  // A new run starts a new chain: rounds are numbered from this run's epoch. The previous
  // chain is kept beside it, renamed, never overwritten.
  if (existsSync(spec.ledger.file)) {
    const aside = `${spec.ledger.file}.${new Date().toISOString().replace(/[:.]/g, '-')}`;
    for (const suffix of ['', '-wal', '-shm']) {
      if (existsSync(`${spec.ledger.file}${suffix}`))
        renameSync(`${spec.ledger.file}${suffix}`, `${aside}${suffix}`);
    }
    o.onEvent?.('up', { event: 'previous-ledger', movedTo: aside });
  }
  const logs = join(spec.stateDir, 'logs');
  mkdirSync(logs, { recursive: true });
  const broker = spec.broker.url === 'embedded' ? await startEmbeddedBroker() : undefined;
  const brokerUrl = broker?.url ?? spec.broker.url;
  const children = new Map<string, ChildProcess>();
  const specs = new Map<string, string[]>();
  const statuses: RoundStatusRecord[] = [];
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((r) => {
    finish = r;
  });
  // No --epoch: every process waits for the retained epoch published below, once all are ready.
  const base = ['--deployment', o.deploymentFile, '--broker', brokerUrl];

  const start = (role: string, args: string[]) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      specs.set(role, args);
      const extra = o.execArgvFor?.(role) ?? [];
      const child = spawn(o.entry.command, [...extra, ...o.entry.args, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, PRIVAGG_UP_PID: String(process.pid) },
      });
      children.set(role, child);
      child.stderr!.pipe(createWriteStream(join(logs, `${role}.log`), { flags: 'a' }));
      let ready = false;
      createInterface({ input: child.stdout! }).on('line', (line) => {
        let ev: Record<string, unknown>;
        try {
          ev = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return;
        }
        if (ev.event === 'ready' && !ready) {
          ready = true;
          resolve(ev);
        }
        if (ev.event === 'round') statuses.push(ev as unknown as RoundStatusRecord);
        if (ev.event === 'finished' && role === 'ledger') finish();
        o.onEvent?.(role, ev);
      });
      child.once('exit', (code, signal) => {
        if (!ready)
          reject(
            new Error(
              `${role} exited before it was ready (code ${code}, signal ${signal}); see ${join(logs, `${role}.log`)}`,
            ),
          );
        o.onEvent?.(role, { event: 'exit', code, signal });
      });
    });

  // A role the roleArgs hook drops is never started (and is not waited for).
  const launch = (role: string, args: string[]) => {
    const mapped = o.roleArgs ? o.roleArgs(role, args) : args;
    return mapped === null ? undefined : start(role, mapped);
  };
  const ledgerReady = await start('ledger', ['ledger', 'serve', ...base]);
  const ledgerUrl = String(ledgerReady.url);
  const pending: (Promise<unknown> | undefined)[] = [];
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
        ]),
      );
    }
  }
  pending.push(launch('devices', ['devices', ...base]));
  await Promise.all(pending);
  const epochMs = Date.now() + (o.startupMs ?? 1000);
  const control = await connectMqtt(brokerUrl, { clientId: `${spec.name}-up-${process.pid}` });
  await publishEpoch(control, spec.name, epochMs);

  const running: RunningDeployment = {
    brokerUrl,
    ledgerUrl,
    epochMs,
    children,
    statuses,
    finished,
    kill(role, signal = 'SIGKILL') {
      children.get(role)?.kill(signal);
    },
    async restart(role) {
      const args = specs.get(role);
      if (!args) throw new Error(`no role ${role}`);
      // The ledger keeps its port so gateways find it again.
      const extra = role === 'ledger' ? ['--port', new URL(ledgerUrl).port] : [];
      await start(role, [...args, ...extra]);
    },
    async stop() {
      const exits = [...children.values()]
        .filter((c) => c.exitCode === null && c.signalCode === null)
        .map(
          (c) =>
            new Promise<void>((r) => {
              c.once('exit', () => r());
              c.kill('SIGTERM');
              setTimeout(() => c.kill('SIGKILL'), 5000).unref();
            }),
        );
      await Promise.all(exits);
      // Clear the retained epoch so a later `up` of the same deployment starts afresh.
      await control
        .publish(topics.epoch(spec.name), Buffer.alloc(0), { retain: true })
        .catch(() => undefined);
      await control.close();
      await broker?.close();
    },
  };
  return running;
}
