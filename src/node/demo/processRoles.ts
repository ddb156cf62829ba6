import { join } from 'node:path';
import type { RoundStatusRecord } from '../../ledger/embeddedLedger.js';
import { identityOf } from '../credentials/identities.js';
import { up } from '../orchestrator.js';
import { RoundClock } from '../roundClock.js';
import { bundleOf } from '../runtime.js';
import { scrape } from './metricsScrape.js';
import { type DemoContext, type GatewayStat, isListed, type RolesRunning } from './roles.js';

/**
 * The demo's roles as `privagg up` runs them: the ledger, one process per gateway index
 * (gateway l of every IAN; `gatewayProcesses: per-index`) and the device fleet, each a
 * child process of the demo; the embedded broker in the demo's process; the compromised
 * devices' fleet is left to the demo (the attacker runs it). Faults reach the
 * children as hidden `--fault-*` flags (a gateway down for the run is simply not hosted);
 * their counters come back from each process's `/metrics` and the fleet's `finished` event.
 */
export async function startProcessRoles(
  c: DemoContext,
  entry: { command: string; args: string[] },
): Promise<RolesRunning> {
  const { spec, faults } = c;
  const params = c.dep.params;
  /** Per gateway process: its health URL, and its gateway when it hosts just one (unlabelled metrics). */
  const gatewayHealth = new Map<string, { url: string; only?: [number, number] }>();
  let fleetCounters: { silent: number; messagesPublished: number } | undefined;
  const lie = faults.lyingGateways.map((g) => `${g.ian}:${g.gateway}`).join(',');
  const d = await up({
    deploymentFile: c.specFile,
    spec,
    entry,
    gatewayProcesses: 'per-index',
    fleets: c.fleets,
    // Round 0 starts this long after every child is ready; the attacker's devices connect
    // (TLS, keys) in that time too.
    startupMs: 1500,
    roleArgs: (role, args) => {
      // Fleets past the first are the compromised devices: the attacker runs them here.
      if (role.startsWith('devices-')) return null;
      if (role.startsWith('gateways-')) {
        const l = Number(role.slice('gateways-'.length));
        const hosted = Array.from({ length: params.ians }, (_, v) => v).filter(
          (v) => !isListed(faults.failedGateways, v, l),
        );
        if (hosted.length === 0) return null; // every IAN's gateway l is down
        const at = args.indexOf('--ian');
        const out = [...args];
        out[at + 1] = hosted.join(',');
        return lie ? [...out, '--fault-lie', lie, '--fault-seed', c.seed] : out;
      }
      if (role === 'devices') {
        const silent = faults.failedDevices.map((x) => `${x.ian}:${x.device}`).join(',');
        return [
          ...args,
          '--spread-ms',
          String(Math.round(c.durationMs / 4)),
          '--fault-seed',
          c.seed,
          ...(silent ? ['--silent', silent] : []),
          ...(faults.deviceFailureProbability > 0
            ? ['--fault-loss', String(faults.deviceFailureProbability)]
            : []),
        ];
      }
      return args;
    },
    onEvent: (role, ev) => {
      if (ev.event === 'ready' && role.startsWith('gateways-')) {
        const only =
          typeof ev.ian === 'number' && typeof ev.gateway === 'number'
            ? ([ev.ian, ev.gateway] as [number, number])
            : undefined;
        gatewayHealth.set(role, { url: String(ev.health), ...(only ? { only } : {}) });
      }
      if (ev.event === 'round' && role === 'ledger') c.onStatus(ev as unknown as RoundStatusRecord);
      if (ev.event === 'finished' && role === 'devices')
        fleetCounters = ev as unknown as typeof fleetCounters;
    },
  });
  const clock = new RoundClock(d.epochMs, c.durationMs);
  const operator = bundleOf({ spec }, identityOf.operator(spec.name), 'operator');
  // `up` published the epoch `startupMs` ahead: time enough to connect the attacker's devices.
  try {
    await c.connectAttacker(d.brokerUrl);
    await c.startAttacker(clock);
  } catch (e) {
    await d.stop();
    throw e;
  }
  return {
    brokerUrl: d.brokerUrl,
    brokerLabel:
      spec.broker.url === 'embedded'
        ? `embedded aedes at ${d.brokerUrl} (in the demo's process)`
        : d.brokerUrl,
    ledgerUrl: d.ledgerUrl,
    clock,
    ...(d.brokerStats ? { brokerStats: d.brokerStats } : {}),
    processes: `${d.children.size} child processes: the ledger, ${gatewayHealth.size} gateway processes (gateway l of every IAN, each gateway with its own MQTT connection) and the device fleet`,
    finished: d.finished,
    async collect() {
      // The fleet reports its counters once its last round is out (the ledger's last status
      // comes later, so this is a formality unless it crashed).
      for (let i = 0; i < 100 && !fleetCounters; i++) await new Promise((r) => setTimeout(r, 50));
      const gateways = new Map<string, GatewayStat>();
      for (const { url, only } of gatewayHealth.values()) {
        for (const s of await scrape(url)) {
          const ian = Number(s.labels.ian ?? only?.[0]);
          const gateway = Number(s.labels.gateway ?? only?.[1]);
          if (!Number.isInteger(ian) || !Number.isInteger(gateway)) continue;
          const k = `${ian}:${gateway}`;
          let g = gateways.get(k);
          if (!g) {
            g = {
              ian,
              gateway,
              received: 0,
              accepted: 0,
              rejected: {},
              partialsPosted: 0,
              reconnects: 0,
            };
            gateways.set(k, g);
          }
          const metric = s.name.replace(/^privagg_gateway_/, '');
          if (metric === 'reports_received_total') g.received = s.value;
          else if (metric === 'reports_accepted_total') g.accepted = s.value;
          else if (metric === 'partials_posted_total') g.partialsPosted = s.value;
          else if (metric === 'mqtt_reconnects_total') g.reconnects = s.value;
          else if (metric === 'reports_rejected_total' && s.labels.code)
            g.rejected[s.labels.code] = s.value;
        }
      }
      const ledgerRejected: Record<string, number> = {};
      for (const s of await scrape(d.ledgerUrl, operator.tls))
        if (s.name === 'privagg_ledger_rejected_total' && s.labels.code && s.value > 0)
          ledgerRejected[s.labels.code] = s.value;
      return {
        gateways: [...gateways.values()].sort((a, b) => a.ian - b.ian || a.gateway - b.gateway),
        ledgerRejected,
        fleet: {
          silent: fleetCounters?.silent ?? 0,
          published: fleetCounters?.messagesPublished ?? 0,
        },
      };
    },
    stop: () => d.stop(),
  };
}

/** Where the children's logs go (`privagg up`'s layout). */
export const processLogsDir = (stateDir: string) => join(stateDir, 'logs');
