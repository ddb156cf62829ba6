import { checkDeploymentName } from '../net/topics.js';
import { DEFAULT_MODES } from '../schemes/maas/params.js';
import { registeredSchemes, schemeParamIssues } from '../schemes/registry.js';
import { AI4I_FAILURE_TYPES } from '../sim/ai4i.js';
import { type Issue, show } from './deploymentIssues.js';
import type { FileContent } from './deploymentSchema.js';
import {
  AI4I_ROWS,
  dimensionNames,
  SYNTHETIC_MAX_VALUES,
  syntheticRounds,
} from './deploymentWorkload.js';

/**
 * The checks one field's schema cannot make: between fields (threshold ≤ gateways, rows
 * enough for the rounds, OEM dimensions that exist, …), each a line naming its field.
 */
const BROKER_SCHEMES = ['mqtt:', 'mqtts:', 'tcp:'];

export function crossCheck(f: FileContent): Issue[] {
  const issues: Issue[] = [];
  const add = (path: PropertyKey[], message: string) => issues.push({ path, message });
  const s = f.scheme;

  const scheme = registeredSchemes().find((x) => x.id === s.id);
  if (!scheme) {
    const known = registeredSchemes().map((x) => x.id);
    add(['scheme', 'id'], `unknown scheme ${show(s.id)}; registered: ${known.join(', ')}`);
  } else if (s.id === 'maas' && s.params !== undefined) {
    add(
      ['scheme', 'params'],
      'maas takes its parameters as scheme.* fields (gateways, threshold, ldp, modes, …), not scheme.params',
    );
  } else if (s.id !== 'maas') {
    // The scheme's own schema, each problem under scheme.params.<field>.
    for (const i of schemeParamIssues(s.id, s.params))
      add(['scheme', 'params', ...i.path], i.message);
  }

  try {
    checkDeploymentName(f.name);
  } catch {
    add(
      ['name'],
      `must be 1–64 of A–Z a–z 0–9 . _ - (it is an MQTT topic level), got ${show(f.name)}`,
    );
  }

  if (s.threshold !== undefined && s.threshold > s.gateways) {
    add(['scheme', 'threshold'], `must be ≤ scheme.gateways (${s.gateways}), got ${s.threshold}`);
  }
  const k = s.threshold ?? Math.floor(s.gateways / 2) + 1;
  if (s.maxLyingGateways !== undefined && s.maxLyingGateways > s.gateways - k) {
    add(
      ['scheme', 'maxLyingGateways'],
      `must be ≤ scheme.gateways − scheme.threshold (${s.gateways} − ${k} = ${s.gateways - k}): more liars could not even be detected, got ${s.maxLyingGateways}`,
    );
  }
  if (s.workload === 'ai4i') {
    if (s.dimensions !== undefined && s.dimensions !== AI4I_FAILURE_TYPES.length) {
      add(
        ['scheme', 'dimensions'],
        `must be ${AI4I_FAILURE_TYPES.length} for workload ai4i, got ${s.dimensions}`,
      );
    }
    const perRound = s.ians * s.devicesPerIan;
    const rounds = Math.max(f.rounds.count, 1);
    if (perRound * rounds > AI4I_ROWS) {
      const counted = f.rounds.count > 0 ? ` × ${f.rounds.count} rounds` : '';
      add(
        f.rounds.count > 0 ? ['rounds', 'count'] : ['scheme', 'devicesPerIan'],
        `${s.ians} IANs × ${s.devicesPerIan} devices${counted} = ${perRound * rounds} readings, ` +
          `but AI4I has ${AI4I_ROWS} rows (one row per reading at least)`,
      );
    }
  } else {
    if (s.data !== undefined) add(['scheme', 'data'], 'only the ai4i workload reads a data file');
    const w = s.dimensions ?? 5;
    const values = s.ians * s.devicesPerIan * syntheticRounds(f.rounds.count) * w;
    if (values > SYNTHETIC_MAX_VALUES) {
      add(
        ['rounds', 'count'],
        `the synthetic workload would hold ${values} values (IANs × devices × rounds × dimensions), ` +
          `more than ${SYNTHETIC_MAX_VALUES}`,
      );
    }
  }

  const r = f.rounds;
  if (r.freshnessWindowMs !== undefined && r.freshnessWindowMs < r.durationMs) {
    add(
      ['rounds', 'freshnessWindowMs'],
      `must be ≥ rounds.durationMs (${r.durationMs}), got ${r.freshnessWindowMs}`,
    );
  }

  // The range proofs ride on the vector layout and are decided by the reconcile restore;
  // asked for with the paper's layout or restore they would silently not run.
  const layout = s.modes.layout ?? DEFAULT_MODES.layout;
  const restore = s.modes.restore ?? DEFAULT_MODES.restore;
  if (s.inputValidity && (layout !== 'vector' || restore !== 'reconcile')) {
    add(
      ['scheme', 'inputValidity'],
      `needs scheme.modes.layout: vector and scheme.modes.restore: reconcile (got ${layout}, ${restore}): the paper's layout and restore cannot carry the proofs; set inputValidity: off to run without`,
    );
  }

  // Shares in clear on the wire are a choice to make explicitly, not a default to fall into.
  const aead = s.modes.aead ?? DEFAULT_MODES.aead;
  if (!aead && !f.security.insecure) {
    add(
      ['scheme', 'modes', 'aead'],
      'false sends every share unencrypted (the paper modes do); set security.insecure: true to allow it',
    );
  }

  const url = f.broker.url;
  if (url !== 'embedded' && url !== 'mosquitto') {
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !BROKER_SCHEMES.includes(parsed.protocol) || parsed.hostname === '') {
      add(
        ['broker', 'url'],
        `must be "embedded", "mosquitto" or an mqtt://, mqtts:// or tcp:// URL with a host, got ${show(url)}`,
      );
    } else if (parsed.username !== '' || parsed.password !== '') {
      // A URL reaches logs, child command lines and process listings.
      add(
        ['broker', 'url'],
        'must not carry a user name or password: credentials come from the credential bundles',
      );
    } else if (parsed.protocol !== 'mqtts:' && !f.security.insecure) {
      add(
        ['broker', 'url'],
        `${show(url)} is plaintext: a secure deployment needs mqtts:// to a broker configured with the deployment's CA (privagg credentials issue writes its Mosquitto files), "embedded" or "mosquitto" — or security.insecure: true`,
      );
    }
  }

  const base = f.gatewayHealthBasePort;
  if (base > 0) {
    const last = base + s.ians * s.gateways - 1;
    if (last > 65_535) {
      add(
        ['gatewayHealthBasePort'],
        `${base} + ${s.ians} IANs × ${s.gateways} gateways − 1 = ${last} exceeds port 65535`,
      );
    } else if (f.ledger.port >= base && f.ledger.port <= last) {
      add(
        ['ledger', 'port'],
        `${f.ledger.port} collides with the gateway health ports ${base}–${last}`,
      );
    }
  }

  const names = dimensionNames(s.workload, s.dimensions ?? 5);
  const seen = new Set<string>();
  (f.oems ?? []).forEach((oem, o) => {
    if (seen.has(oem.name)) add(['oems', o, 'name'], `duplicate OEM name ${show(oem.name)}`);
    seen.add(oem.name);
    const dims = new Set<number>();
    (oem.dimensions ?? []).forEach((d, k) => {
      const j = typeof d === 'number' ? d : names.indexOf(d);
      if (j < 0 || j >= names.length) {
        add(
          ['oems', o, 'dimensions', k],
          `unknown dimension ${show(d)} (known: ${names.join(', ')} or 0–${names.length - 1})`,
        );
      } else if (dims.has(j)) {
        add(['oems', o, 'dimensions', k], `dimension ${names[j]} listed twice`);
      }
      dims.add(j);
    });
    const eps = oem.epsilonPerDimension;
    if (Array.isArray(eps) && eps.length !== names.length) {
      add(
        ['oems', o, 'epsilonPerDimension'],
        `needs one ε_j > 0 per dimension (${names.length}: ${names.join(', ')}), got ${eps.length}`,
      );
    }
  });
  return issues;
}
