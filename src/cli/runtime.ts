import { type Command, Option } from 'commander';
import { PrivaggError } from '../errors.js';
import { seededRandom } from '../math/random.js';
import { identityOf } from '../node/credentials/identities.js';
import {
  lyingGateway,
  outOfRangeDevice,
  parsePairs,
  silentDevices,
} from '../node/demo/faultHooks.js';
import {
  loadDeploymentFile,
  type ParsedDeploymentSpec,
  toMaasParams,
} from '../node/deploymentFile.js';
import {
  bundleOf,
  roleDeployment,
  runDevices,
  runGateway,
  runGateways,
  runLedger,
  runQuery,
  type SharedRuntime,
} from '../node/runtime.js';

/**
 * The role processes as commands. Each prints one JSON line `{"event":"ready",…}` on
 * stdout when it is up (what `privagg up` waits for), then JSON event lines; logs go to
 * stderr (pino). SIGTERM and SIGINT stop a process cleanly.
 */
interface Common {
  deployment: string;
  broker?: string;
  epoch?: string;
  credentials?: string;
}

function shared(o: Common): SharedRuntime {
  const spec: ParsedDeploymentSpec = loadDeploymentFile(o.deployment);
  // Without --epoch or rounds.epochMs, the process waits for the retained epoch `privagg up`
  // publishes on the deployment's epoch topic.
  const epochMs = o.epoch !== undefined ? Number(o.epoch) : spec.rounds.epochMs;
  if (epochMs !== undefined && !Number.isFinite(epochMs)) {
    throw new PrivaggError(
      'INVALID_ARGUMENT',
      `--epoch must be ms since the epoch, got "${o.epoch}"`,
    );
  }
  const brokerUrl = o.broker ?? spec.broker.url;
  if (brokerUrl === 'embedded' || brokerUrl === 'mosquitto') {
    throw new PrivaggError(
      'INVALID_ARGUMENT',
      `a "${brokerUrl}" broker is started by \`privagg up\`; pass --broker <url> to a standalone process`,
    );
  }
  if (/^[a-z]+:\/\/[^/]*@/i.test(brokerUrl)) {
    throw new PrivaggError(
      'INVALID_ARGUMENT',
      '--broker must not carry a user name or password (they reach logs and process listings): credentials come from the bundle',
    );
  }
  return {
    spec,
    brokerUrl,
    ...(epochMs !== undefined ? { epochMs } : {}),
    ...(o.credentials !== undefined ? { credentialsDir: o.credentials } : {}),
  };
}

/** "all", one index, or a comma list, each in [first, first + count). */
function indices(arg: string, count: number, first: number, flag: string): number[] {
  if (arg === 'all') return Array.from({ length: count }, (_, i) => first + i);
  const out = arg.split(',').map(Number);
  for (const x of out) {
    if (!Number.isInteger(x) || x < first || x >= first + count) {
      throw new PrivaggError(
        'INVALID_ARGUMENT',
        `${flag} must be "all" or indices in ${first}..${first + count - 1}, got "${arg}"`,
      );
    }
  }
  return out;
}

export function emit(event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
}

/** Runs `close` on SIGINT/SIGTERM, then exits. */
export function onStop(close: () => Promise<void>): void {
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // Started by `privagg up`: stop when it is gone, so no process outlives its deployment.
  const parent = Number(process.env.PRIVAGG_UP_PID);
  if (parent > 0) {
    setInterval(() => {
      try {
        process.kill(parent, 0);
      } catch {
        stop();
      }
    }, 1000).unref();
  }
}

const common = (c: Command) =>
  c
    .requiredOption('--deployment <file>', 'the deployment file (YAML or JSON)')
    .option('--broker <url>', 'MQTT broker URL (default: the deployment file’s)')
    .option(
      '--epoch <ms>',
      'start of round 0, ms since the epoch (default: rounds.epochMs of the file)',
    )
    .option(
      '--credentials <dir>',
      'directory of this host’s credential bundles (default: <stateDir>/credentials)',
    );

export function registerRuntimeCommands(program: Command, ledger: Command): void {
  common(ledger.command('serve'))
    .description(
      'Run the ledger: SQLite block store, HTTP API, round driver (restores, reconciliation, round statuses)',
    )
    .option('--port <n>', 'HTTP port (default: the file’s; 0 = any free port)')
    .action(async (o: Common & { port?: string }) => {
      const server = await runLedger(shared(o), {
        ...(o.port !== undefined ? { port: Number(o.port) } : {}),
        onStatus: (st) => emit('round', { ...st }),
      });
      emit('ready', { role: 'ledger', url: server.url, pid: process.pid });
      onStop(() => server.close());
      server.finished
        .then(() => emit('finished', { rounds: server.statuses.length }))
        .catch(() => undefined);
    });

  common(program.command('gateway'))
    .description(
      'Run gateway GW_l of IAN v (or several in one process, each with its own keys and MQTT connection): MQTT reports in, partials to the ledger over HTTP',
    )
    .requiredOption('--ian <v>', 'IAN index, a list "0,2" or "all"')
    .requiredOption('--gateway <l>', 'gateway index 1..m, a list "1,3" or "all"')
    .requiredOption('--ledger <url>', 'the ledger API, e.g. http://127.0.0.1:8080')
    .option('--health-port <n>', 'port of GET /health and /metrics (default: any free port)')
    .addOption(
      new Option(
        '--fault-lie <list>',
        'fault injection: hosted gateways "ian:gateway,…" that send perturbed partials under their real keys',
      ).hideHelp(),
    )
    .addOption(new Option('--fault-seed <seed>', 'seed of injected faults').hideHelp())
    .action(
      async (
        o: Common & {
          ian: string;
          gateway: string;
          ledger: string;
          healthPort?: string;
          faultLie?: string;
          faultSeed?: string;
        },
      ) => {
        const rt = shared(o);
        const liars = new Set(parsePairs(o.faultLie, '--fault-lie').map(([v, l]) => `${v}:${l}`));
        const params = toMaasParams(rt.spec);
        const compromised = (ian: number, gateway: number) =>
          liars.has(`${ian}:${gateway}`)
            ? lyingGateway(params, seededRandom(`fault/${o.faultSeed ?? ''}/lie/${ian}/${gateway}`))
            : undefined;
        const healthPort = o.healthPort !== undefined ? { healthPort: Number(o.healthPort) } : {};
        const ians = indices(o.ian, rt.spec.scheme.ians, 0, '--ian');
        const gws = indices(o.gateway, rt.spec.scheme.gateways, 1, '--gateway');
        if (ians.length === 1 && gws.length === 1) {
          const lie = compromised(ians[0]!, gws[0]!);
          const g = await runGateway(rt, ians[0]!, gws[0]!, o.ledger, {
            ...healthPort,
            ...(lie ? { compromised: lie } : {}),
          });
          emit('ready', {
            role: 'gateway',
            ian: ians[0],
            gateway: gws[0],
            health: g.health.url,
            pid: process.pid,
          });
          onStop(() => g.close());
          return;
        }
        const hosted = ians.flatMap((ian) => gws.map((gateway) => ({ ian, gateway })));
        const g = await runGateways(rt, hosted, o.ledger, { ...healthPort, compromised });
        emit('ready', {
          role: 'gateways',
          gateways: hosted.map((h) => [h.ian, h.gateway]),
          health: g.health.url,
          pid: process.pid,
        });
        onStop(() => g.close());
      },
    );

  common(program.command('devices'))
    .description(
      'Run a simulated device fleet (each device its own identity and keys; one MQTT connection)',
    )
    .option('--fleet <k>', 'which fleet bundle (devices-<k>) to run (default 0)', '0')
    .option('--count <n>', 'simulate the first n devices of the fleet (default: all)')
    .option('--silent <list>', 'devices that never report, "ian:device,…"')
    .option('--spread-ms <ms>', 'spread the reports of a round over its first <ms> (default 0)')
    .addOption(
      new Option(
        '--fault-loss <p>',
        'fault injection: probability that a device is silent in a round',
      ).hideHelp(),
    )
    .addOption(
      new Option(
        '--fault-out-of-range <list>',
        'fault injection: "ian:gateway,…" — the last device of the IAN sends that gateway a share ≥ p',
      ).hideHelp(),
    )
    .addOption(new Option('--fault-seed <seed>', 'seed of injected faults').hideHelp())
    .action(
      async (
        o: Common & {
          fleet: string;
          count?: string;
          silent?: string;
          spreadMs?: string;
          faultLoss?: string;
          faultOutOfRange?: string;
          faultSeed?: string;
        },
      ) => {
        const rt = shared(o);
        const silent = new Set((o.silent ?? '').split(',').filter(Boolean));
        const loss = Number(o.faultLoss ?? 0);
        const targets = new Map(parsePairs(o.faultOutOfRange, '--fault-out-of-range'));
        const fleet = Number(o.fleet);
        const bundle = bundleOf(rt, identityOf.devices(rt.spec.name, fleet), 'devices');
        const held = bundle.keys.devices.map((d) => ({ ian: d.ian, device: d.device }));
        const f = await runDevices(
          rt,
          o.count !== undefined ? held.slice(0, Number(o.count)) : held,
          {
            fleet,
            silent: silentDevices(silent, loss, seededRandom(`fault/${o.faultSeed ?? ''}/loss`)),
            ...(o.spreadMs ? { spreadMs: Number(o.spreadMs) } : {}),
            ...(targets.size > 0
              ? { compromised: outOfRangeDevice(roleDeployment(rt.spec, [bundle]), targets) }
              : {}),
          },
        );
        emit('ready', { role: 'devices', count: o.count ?? 'all', pid: process.pid });
        onStop(() => f.close());
        f.started
          .then((fleet) => {
            // 'ready' comes before the epoch is known (up fixes it once every child is ready);
            // this says from which round the devices actually report.
            emit('reporting', { role: 'devices', firstRound: fleet.firstRound });
            return fleet.finished.then(() => emit('finished', { ...fleet.counters }));
          })
          .catch(() => undefined);
      },
    );

  program
    .command('query')
    .description('Send an OEM trend query to the ledger and print the answer')
    .requiredOption('--deployment <file>', 'the deployment file')
    .requiredOption('--ledger <url>', 'the ledger API')
    .requiredOption('--number <k>', 'how many IANs to sum')
    .requiredOption('--start <round>', 'first round')
    .requiredOption('--end <round>', 'last round (inclusive)')
    .option('--oem <index>', 'which registered OEM asks', '0')
    .option(
      '--credentials <dir>',
      'directory of the OEM’s credential bundle (default: <stateDir>/credentials)',
    )
    .action(
      async (o: {
        deployment: string;
        ledger: string;
        number: string;
        start: string;
        end: string;
        oem: string;
        credentials?: string;
      }) => {
        const spec = loadDeploymentFile(o.deployment);
        const rt = {
          spec,
          ...(o.credentials !== undefined ? { credentialsDir: o.credentials } : {}),
        };
        const res = await runQuery(rt, o.ledger, {
          oem: Number(o.oem),
          number: Number(o.number),
          startRound: Number(o.start),
          endRound: Number(o.end),
        });
        console.log(JSON.stringify(res.body, null, 2));
        if (!res.ok) process.exitCode = 1;
      },
    );
}
