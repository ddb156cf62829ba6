import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode, isPrivaggError, type PrivaggError } from '../../src/errors.js';
import {
  AI4I_ROWS,
  loadDeploymentFile,
  type ParsedDeploymentSpec,
  parseDeployment,
  toMaasParams,
  workloadFor,
  workloadRounds,
} from '../../src/node/deploymentFile.js';
import { DEFAULT_MODES, PAPER_MODES } from '../../src/schemes/maas/params.js';

const EXAMPLES = resolve('examples');
const BASE = '/srv/privagg';

const parse = (text: string, source = 'deployment.yaml') => parseDeployment(text, source, BASE);

/** The error `text` must be refused with; its message names the file and every field. */
function refused(
  text: string,
  code: string = ErrorCode.INVALID_ARGUMENT,
  source = 'deployment.yaml',
) {
  try {
    parse(text, source);
  } catch (e) {
    if (isPrivaggError(e) && e.code === code) return e as PrivaggError;
    throw e;
  }
  throw new Error(`expected ${code}`);
}

function linesOf(e: PrivaggError): string[] {
  return e.message.replace(/^[A-Z_]+: /, '').split('\n');
}

describe('scheme.id and scheme.params', () => {
  it('defaults to maas; another registered scheme takes its params; an unknown one lists them', () => {
    expect(parse('name: a\nscheme: { id: maas }\n').scheme.id).toBe('maas');
    const jl = parse('name: a\nscheme: { id: joye-libert, params: { modulusBits: 1024 } }\n');
    expect(jl.scheme).toMatchObject({ id: 'joye-libert', params: { modulusBits: 1024 } });
    expect(parse('name: a\nscheme: { id: tree-test }\n').scheme.params).toBeUndefined();
    expect(linesOf(refused('name: a\nscheme: { id: paillier }\n'))[0]).toMatch(
      /^deployment\.yaml: scheme\.id: unknown scheme "paillier"; registered: maas, joye-libert, plain-sum, tree-test$/,
    );
  });

  it("the scheme's own schema names each bad parameter under scheme.params", () => {
    expect(
      linesOf(refused('name: a\nscheme: { id: tree-test, params: { leaves: 0, colour: red } }\n')),
    ).toEqual([
      expect.stringMatching(/^deployment\.yaml: scheme\.params\.leaves: .*>=.*1/),
      expect.stringMatching(/^deployment\.yaml: scheme\.params: .*colour/),
    ]);
    expect(linesOf(refused('name: a\nscheme: { id: tree-test, params: 3 }\n'))).toEqual([
      'deployment.yaml: scheme.params: must be a mapping of the scheme’s parameters, got 3',
    ]);
  });

  it('maas refuses scheme.params: its parameters are the scheme.* fields', () => {
    expect(linesOf(refused('name: a\nscheme: { params: { gateways: 3 } }\n'))).toEqual([
      'deployment.yaml: scheme.params: maas takes its parameters as scheme.* fields (gateways, threshold, ldp, modes, …), not scheme.params',
    ]);
  });
});

describe('the example files of schemes on the seam', () => {
  it('name their scheme and its parameters, and validate them with its schema', () => {
    const tree = loadDeploymentFile(join(EXAMPLES, 'deployment.tree-test.yaml'));
    expect(tree.scheme).toMatchObject({ id: 'tree-test', params: { leaves: 2 }, ians: 2 });
    expect(tree.broker.url).toBe('embedded');
    const jl = loadDeploymentFile(join(EXAMPLES, 'deployment.joye-libert.yaml'));
    expect(jl.scheme).toMatchObject({ id: 'joye-libert', params: { modulusBits: 1024 } });
    expect(jl.stateDir).toBe(join(EXAMPLES, 'state-joye-libert'));
  });
});

describe('the example files', () => {
  const yaml = loadDeploymentFile(join(EXAMPLES, 'deployment.yaml'));
  const json = loadDeploymentFile(join(EXAMPLES, 'deployment.json'));

  it('parse into the documented deployment: 2 IANs × 10 devices × 5 gateways, k = 3, 6 rounds of 2 s', () => {
    expect(yaml.name).toBe('example');
    expect(yaml.scheme).toMatchObject({
      ians: 2,
      devicesPerIan: 10,
      gateways: 5,
      threshold: 3,
      workload: 'ai4i',
      ldp: { epsilon: 1, delta: 0.001 },
      modes: DEFAULT_MODES,
    });
    expect(yaml.rounds).toEqual({
      count: 6,
      durationMs: 2000,
      restoreDelayMs: 500,
      freshnessWindowMs: 30_000,
    });
    expect(yaml.stateDir).toBe(join(EXAMPLES, 'state'));
    expect(yaml.ledger.file).toBe(join(EXAMPLES, 'state', 'ledger.sqlite'));
    expect(yaml.oems.map((o) => o.name)).toEqual(['oem-acme', 'oem-tools']);
    expect(yaml.oems[1]).toEqual({
      name: 'oem-tools',
      dimensions: [0],
      budget: { epsilon: 10, delta: 0 },
      epsilonPerDimension: [1, 1, 1, 1, 1],
    });
  });

  it('YAML and JSON describe the same deployment', () => {
    expect(json).toEqual(yaml);
  });

  it('the same text gives the same spec whether read as YAML or JSON', () => {
    const text = JSON.stringify({
      name: 'x',
      scheme: { ians: 3, ldp: 'off' },
      broker: 'mqtt://h:1',
      security: { insecure: true },
    });
    expect(parse(text, 'd.json')).toEqual(parse(text, 'd.yaml'));
    expect(parse(text, 'd.conf')).toEqual(parse(text, 'd.yaml'));
  });

  it('a parsed spec handed on as JSON parses to itself (paths are absolute)', () => {
    const withEpoch = { ...yaml, rounds: { ...yaml.rounds, epochMs: 1_767_225_600_000 } };
    const again = parseDeployment(JSON.stringify(withEpoch), 'spec.json', '/elsewhere');
    expect(again).toEqual(withEpoch);
  });
});

describe('defaults', () => {
  const spec = parse('name: tiny\n');

  it('fill in everything but the name', () => {
    expect(spec).toEqual<ParsedDeploymentSpec>({
      name: 'tiny',
      stateDir: join(BASE, 'state'),
      scheme: {
        id: 'maas',
        ians: 4,
        devicesPerIan: 25,
        gateways: 5,
        threshold: 3,
        workload: 'ai4i',
        dimensions: 5,
        ldp: { epsilon: 1, delta: 0.001 },
        modes: DEFAULT_MODES,
      },
      rounds: { count: 10, durationMs: 2000, restoreDelayMs: 500, freshnessWindowMs: 30_000 },
      broker: { url: 'embedded' },
      ledger: {
        file: join(BASE, 'state', 'ledger.sqlite'),
        host: '127.0.0.1',
        port: 0,
        batchSize: 256,
        batchDelayMs: 2,
      },
      gatewayHealthBasePort: 0,
      gatewayProcesses: 'per-gateway',
      oems: [
        {
          name: 'oem-1',
          dimensions: [0, 1, 2, 3, 4],
          budget: { epsilon: 40, delta: 0 },
          epsilonPerDimension: [2, 2, 2, 2, 2],
        },
      ],
      security: { insecure: false },
    });
  });

  it('freshness defaults to max(30 s, 2 rounds); threshold to a majority of the gateways', () => {
    const s = parse('name: x\nrounds: { durationMs: 20000 }\nscheme: { gateways: 2 }\n');
    expect(s.rounds.freshnessWindowMs).toBe(40_000);
    expect(s.scheme.threshold).toBe(2);
    expect(parse('name: x\nscheme: { gateways: 7 }\n').scheme.threshold).toBe(4);
  });

  it('ldp off/null/false, partial ldp, modes by name and as overrides, broker shorthand', () => {
    for (const off of ['off', 'null', 'false', '~']) {
      expect(parse(`name: x\nscheme: { ldp: ${off} }\n`).scheme.ldp).toBeNull();
    }
    expect(parse('name: x\nscheme: { ldp: { epsilon: 0.5 } }\n').scheme.ldp).toEqual({
      epsilon: 0.5,
      delta: 0.001,
    });
    const insecure = 'security: { insecure: true }\n';
    expect(parse(`name: x\nscheme: { modes: paper }\n${insecure}`).scheme.modes).toEqual(
      PAPER_MODES,
    );
    expect(
      parse(`name: x\nscheme: { modes: { aead: false, restore: paper } }\n${insecure}`).scheme
        .modes,
    ).toEqual({ ...DEFAULT_MODES, aead: false, restore: 'paper' });
    expect(parse('name: x\nbroker: mqtts://broker.example:8883\n').broker).toEqual({
      url: 'mqtts://broker.example:8883',
    });
  });

  it('paths: stateDir and data against the file, the ledger file against stateDir', () => {
    const s = parse(
      'name: x\nstateDir: run/a\nscheme: { data: ../d.csv }\nledger: { file: chain.db }\n',
    );
    expect(s.stateDir).toBe('/srv/privagg/run/a');
    expect(s.scheme.data).toBe('/srv/d.csv');
    expect(s.ledger.file).toBe('/srv/privagg/run/a/chain.db');
    expect(parse('name: x\nstateDir: /var/p\nledger: { file: /db/l.sqlite }\n').ledger.file).toBe(
      '/db/l.sqlite',
    );
    expect(parse('name: x\nledger: { file: ":memory:" }\n').ledger.file).toBe(':memory:');
  });

  it('synthetic takes its dimension count from the file; grants name dimensions d1…dw', () => {
    const s = parse(
      'name: x\nscheme: { workload: synthetic, dimensions: 3 }\noems: [{ name: o, dimensions: [d3, 0] }]\n',
    );
    expect(s.scheme.dimensions).toBe(3);
    expect(s.oems[0]).toMatchObject({ dimensions: [2, 0], epsilonPerDimension: [2, 2, 2] });
    expect(toMaasParams(s).dimensions).toEqual(['d1', 'd2', 'd3']);
  });
});

describe('errors name the file and the field', () => {
  it('an unknown key, with a suggestion', () => {
    const e = refused('name: x\nscheme:\n  treshold: 3\n');
    expect(e.code).toBe(ErrorCode.INVALID_ARGUMENT);
    expect(e.message).toContain(
      'deployment.yaml: scheme.treshold: unknown key (did you mean "threshold"?)',
    );
    expect(refused('name: x\nledgr: {}\n').message).toContain(
      'deployment.yaml: ledgr: unknown key',
    );
    expect(refused('name: x\noems: [{ name: o, budjet: {} }]\n').message).toContain(
      'oems[0].budjet: unknown key (did you mean "budget"?)',
    );
  });

  it('threshold > gateways', () => {
    const e = refused('name: x\nscheme: { gateways: 5, threshold: 7 }\n');
    expect(linesOf(e)).toEqual([
      'deployment.yaml: scheme.threshold: must be ≤ scheme.gateways (5), got 7',
    ]);
    expect(e.details).toMatchObject({
      file: 'deployment.yaml',
      issues: [{ path: 'scheme.threshold' }],
    });
  });

  it('out-of-range and mistyped values', () => {
    expect(refused('name: x\nscheme: { gateways: 256 }\n').message).toContain(
      'scheme.gateways: must be ≤ 255, got 256',
    );
    expect(refused('name: x\nscheme: { ians: 65536 }\n').message).toContain(
      'scheme.ians: must be ≤ 65535',
    );
    expect(refused('name: x\nscheme: { threshold: 0 }\n').message).toContain(
      'scheme.threshold: must be ≥ 1, got 0',
    );
    expect(refused('name: x\nrounds: { count: "6" }\n').message).toContain(
      'rounds.count: expected a number, got "6"',
    );
    expect(refused('scheme: {}\n').message).toContain('deployment.yaml: name: required');
    expect(refused('name: x\nscheme: { workload: csv }\n').message).toContain(
      'scheme.workload: must be one of "ai4i", "synthetic", got "csv"',
    );
    expect(refused('name: x\nscheme: { modes: { mac: sha1 } }\n').message).toContain(
      'scheme.modes.mac',
    );
    expect(refused('name: x\nscheme: { ldp: on }\n').message).toContain(
      'scheme.ldp: must be "off"',
    );
  });

  it('a bad broker URL', () => {
    for (const url of ['http://broker:1883', 'localhost:1883', 'mqtt://', 'embeded']) {
      expect(refused(`name: x\nbroker: { url: "${url}" }\n`).message, url).toContain(
        'deployment.yaml: broker.url: must be "embedded", "mosquitto" or an mqtt://, mqtts:// or tcp:// URL',
      );
    }
    for (const url of ['mqtts://h:8883', 'embedded', 'mosquitto']) {
      expect(parse(`name: x\nbroker: "${url}"\n`).broker.url).toBe(url);
    }
    // Plaintext only when insecure is explicit.
    for (const url of ['mqtt://127.0.0.1:1883', 'tcp://h']) {
      expect(refused(`name: x\nbroker: "${url}"\n`).message, url).toContain('is plaintext');
      expect(parse(`name: x\nbroker: "${url}"\nsecurity: { insecure: true }\n`).broker.url).toBe(
        url,
      );
    }
    // Credentials never in a URL (it reaches logs and child command lines).
    for (const url of ['mqtts://user@h:8883', 'mqtts://user:secret@h:8883']) {
      const e = refused(`name: x\nbroker: "${url}"\nsecurity: { insecure: true }\n`);
      expect(e.message, url).toContain('must not carry a user name or password');
      expect(e.message).not.toContain('secret');
    }
  });

  it('shares in clear (aead: false, the paper modes) only with security.insecure', () => {
    for (const modes of ['paper', '{ aead: false }']) {
      expect(refused(`name: x\nscheme: { modes: ${modes} }\n`).message).toContain(
        'scheme.modes.aead: false sends every share unencrypted',
      );
    }
    expect(parse('name: x\n').security).toEqual({ insecure: false });
  });

  it('a name that is not an MQTT topic level', () => {
    for (const name of ['"a/b"', '"a+"', '"#"', '""', 'x'.repeat(65), '"ü"']) {
      expect(refused(`name: ${name}\n`).message, name).toContain(
        'deployment.yaml: name: must be 1–64',
      );
    }
  });

  it('a freshness window shorter than a round', () => {
    expect(
      refused('name: x\nrounds: { durationMs: 5000, freshnessWindowMs: 4000 }\n').message,
    ).toContain('rounds.freshnessWindowMs: must be ≥ rounds.durationMs (5000), got 4000');
  });

  it('grants: wrong ε count, unknown and repeated dimensions, ε_j ≤ 0, duplicate names', () => {
    const e = refused(
      'name: x\noems:\n  - { name: a, epsilonPerDimension: [1, 2] }\n' +
        '  - { name: a, dimensions: [TWF, XYZ, 5, TWF] }\n',
    );
    expect(linesOf(e)).toEqual([
      'deployment.yaml: oems[0].epsilonPerDimension: needs one ε_j > 0 per dimension (5: TWF, HDF, PWF, OSF, RNF), got 2',
      'deployment.yaml: oems[1].name: duplicate OEM name "a"',
      'deployment.yaml: oems[1].dimensions[1]: unknown dimension "XYZ" (known: TWF, HDF, PWF, OSF, RNF or 0–4)',
      'deployment.yaml: oems[1].dimensions[2]: unknown dimension 5 (known: TWF, HDF, PWF, OSF, RNF or 0–4)',
      'deployment.yaml: oems[1].dimensions[3]: dimension TWF listed twice',
    ]);
    expect(
      refused('name: x\noems: [{ name: a, epsilonPerDimension: [1, 1, 0, 1, 1] }]\n').message,
    ).toContain('oems[0].epsilonPerDimension[2]: must be > 0, got 0');
    expect(
      refused(
        'name: x\nscheme: { workload: synthetic, dimensions: 3 }\noems: [{ name: a, epsilonPerDimension: [1, 1, 1, 1, 1] }]\n',
      ).message,
    ).toContain(
      'oems[0].epsilonPerDimension: needs one ε_j > 0 per dimension (3: d1, d2, d3), got 5',
    );
  });

  it('more readings than AI4I has rows, without loading the CSV', () => {
    // 10 × 100 × 10 = 10,000 readings fit (one row each); one more round does not.
    expect(
      toMaasParams(parse('name: x\nscheme: { ians: 10, devicesPerIan: 100 }\n')).maxReading,
    ).toEqual([1, 1, 1, 1, 1]);
    const e = refused('name: x\nscheme: { ians: 10, devicesPerIan: 100 }\nrounds: { count: 11 }\n');
    expect(linesOf(e)).toEqual([
      `deployment.yaml: rounds.count: 10 IANs × 100 devices × 11 rounds = 11000 readings, but AI4I has ${AI4I_ROWS} rows (one row per reading at least)`,
    ]);
    // The same shape is fine for synthetic data.
    expect(
      parse(
        'name: x\nscheme: { ians: 10, devicesPerIan: 100, workload: synthetic }\nrounds: { count: 11 }\n',
      ).name,
    ).toBe('x');
    expect(refused('name: x\nscheme: { workload: synthetic, data: a.csv }\n').message).toContain(
      'scheme.data:',
    );
  });

  it('gateway health ports past 65535 or over the ledger port', () => {
    expect(refused('name: x\ngatewayHealthBasePort: 65530\n').message).toContain(
      'gatewayHealthBasePort:',
    );
    expect(
      refused('name: x\ngatewayHealthBasePort: 9000\nledger: { port: 9010 }\n').message,
    ).toContain('ledger.port: 9010 collides with the gateway health ports 9000–9019');
  });

  it('gateway process layout: per-gateway (default) or per-index, nothing else', () => {
    expect(parse('name: x\n').gatewayProcesses).toBe('per-gateway');
    expect(parse('name: x\ngatewayProcesses: per-index\n').gatewayProcesses).toBe('per-index');
    expect(refused('name: x\ngatewayProcesses: per-ian\n').message).toContain('gatewayProcesses:');
  });

  it('scheme.maxLyingGateways: f reaches the MaaS parameters; more than m − k is refused', () => {
    expect(toMaasParams(parse('name: x\n')).maxLyingGateways).toBe(2); // min(k − 1, m − k)
    const f1 = parse('name: x\nscheme: { maxLyingGateways: 1 }\n');
    expect(f1.scheme.maxLyingGateways).toBe(1);
    expect(toMaasParams(f1).maxLyingGateways).toBe(1);
    expect(refused('name: x\nscheme: { maxLyingGateways: 3 }\n').message).toContain(
      'scheme.maxLyingGateways: must be ≤ scheme.gateways − scheme.threshold (5 − 3 = 2)',
    );
  });

  it('scheme.inputValidity: 3 proofs when absent, none under the paper modes, "off" off, { proofs } reaches the MaaS parameters; out-of-range proofs, paper modes with proofs, and partials over 1 MiB refused', () => {
    expect(toMaasParams(parse('name: x\n')).validity).toEqual({ proofs: 3 });
    const paper = 'name: x\nsecurity: { insecure: true }\nscheme: { modes: paper';
    expect(toMaasParams(parse(`${paper} }\n`)).validity).toBeNull();
    expect(refused(`${paper}, inputValidity: { proofs: 3 } }\n`).message).toContain(
      'deployment.yaml: scheme.inputValidity: needs scheme.modes.layout: vector and scheme.modes.restore: reconcile (got per-dimension, paper)',
    );
    expect(toMaasParams(parse(`${paper}, inputValidity: off }\n`)).validity).toBeNull();
    // 560 bytes per contributor in a first partial: 2,000 devices would be 1.1 MB.
    const big = 'name: x\nrounds: { count: 1 }\nscheme: { ians: 1, devicesPerIan: 2000';
    expect(refused(`${big} }\n`).message).toMatch(
      /scheme: a partial of this deployment would be \d+ bytes, over the 1048576-byte message limit: .* at most 18\d\d devices per IAN fit/,
    );
    expect(toMaasParams(parse(`${big}, inputValidity: off }\n`)).validity).toBeNull();
    expect(toMaasParams(parse('name: x\nscheme: { inputValidity: off }\n')).validity).toBeNull();
    expect(toMaasParams(parse('name: x\nscheme: { inputValidity: {} }\n')).validity).toEqual({
      proofs: 3,
    });
    expect(
      toMaasParams(parse('name: x\nscheme: { inputValidity: { proofs: 2 } }\n')).validity,
    ).toEqual({ proofs: 2 });
    expect(refused('name: x\nscheme: { inputValidity: { proofs: 0 } }\n').message).toContain(
      'scheme.inputValidity.proofs',
    );
  });

  it('collects every problem, one line each', () => {
    const e = refused(
      'name: "a b"\nscheme: { ians: 0, gateways: 1.5, typo: 1 }\nbroker: { url: 7 }\n',
    );
    expect(linesOf(e)).toEqual([
      'deployment.yaml: scheme.ians: must be ≥ 1, got 0',
      'deployment.yaml: scheme.gateways: expected an integer, got 1.5',
      'deployment.yaml: scheme.typo: unknown key (known: id, params, ians, devicesPerIan, gateways, threshold, maxLyingGateways, workload, data, dimensions, ldp, inputValidity, modes)',
      'deployment.yaml: broker.url: expected a string, got 7',
    ]);
  });

  it('malformed YAML is MALFORMED_DATA with file, line and column', () => {
    const e = refused('name: x\nscheme:\n  ians: [1, 2\nrounds: {}\n', ErrorCode.MALFORMED_DATA);
    expect(e.message).toMatch(/deployment\.yaml:\d+:\d+: invalid YAML: /);
    expect(e.details.line).toBeGreaterThanOrEqual(3);
    const dup = refused('name: x\nname: y\n', ErrorCode.MALFORMED_DATA);
    expect(dup.message).toContain('deployment.yaml:2:1: invalid YAML');
    expect(refused('name: [\n', ErrorCode.MALFORMED_DATA).message).toContain('deployment.yaml:');
  });

  it('malformed JSON is MALFORMED_DATA naming the file', () => {
    const e = refused('{\n  "name": "x",\n  "scheme": {,}\n}', ErrorCode.MALFORMED_DATA, 'd.json');
    expect(e.message).toMatch(/d\.json:3:\d+: invalid JSON/);
  });

  it('a top level that is not a mapping, and a missing file', () => {
    expect(refused('- a\n').message).toContain(
      'deployment.yaml: (top level): expected a mapping, got a list',
    );
    expect(refused('').message).toContain('expected a mapping');
    expect(() => loadDeploymentFile('/nonexistent/deployment.yaml')).toThrow(
      /DATA_UNAVAILABLE: cannot read deployment file \/nonexistent\/deployment.yaml/,
    );
  });
});

describe('toMaasParams and workloadFor', () => {
  const spec = loadDeploymentFile(join(EXAMPLES, 'deployment.yaml'));

  it('carries the spec into MaasParams; AI4I maxReading = ⌊10000 / (z·n·rounds)⌋', () => {
    const p = toMaasParams(spec);
    expect(p).toMatchObject({
      deployment: 'example',
      ians: 2,
      devicesPerIan: 10,
      gateways: 5,
      threshold: 3,
      dimensions: ['TWF', 'HDF', 'PWF', 'OSF', 'RNF'],
      maxReading: [83, 83, 83, 83, 83], // ⌊10000 / 120⌋
      ldp: { epsilon: 1, delta: 0.001 },
      freshnessWindowMs: 30_000,
      modes: DEFAULT_MODES,
    });
    expect(
      toMaasParams(
        parse('name: x\nscheme: { ldp: off, modes: paper }\nsecurity: { insecure: true }\n'),
      ),
    ).toMatchObject({
      ldp: null,
      modes: PAPER_MODES,
    });
  });

  it('the AI4I workload agrees with the parameters', () => {
    const w = workloadFor(spec);
    const p = toMaasParams(spec);
    expect(w.name).toBe('ai4i2020');
    expect([w.ians, w.devicesPerIan, w.rounds]).toEqual([2, 10, 6]);
    expect(w.maxReading).toEqual(p.maxReading);
    expect(w.dimensionNames).toEqual(p.dimensions);
  });

  it('the synthetic workload agrees with the parameters and is the same in every process', () => {
    const text =
      'name: syn\nscheme: { ians: 2, devicesPerIan: 3, workload: synthetic, dimensions: 4 }\nrounds: { count: 5 }\n';
    const a = workloadFor(parse(text));
    const b = workloadFor(parse(text));
    const p = toMaasParams(parse(text));
    expect(a.maxReading).toEqual(p.maxReading);
    expect(a.dimensionNames).toEqual(p.dimensions);
    expect(a.rounds).toBe(5);
    const all = (w: typeof a) =>
      [0, 1].flatMap((v) => [0, 1, 2].flatMap((i) => [0, 4].map((r) => w.reading(v, i, r))));
    expect(all(a)).toEqual(all(b));
    const other = workloadFor(parse(text.replace('syn', 'syn2')));
    expect(all(other)).not.toEqual(all(a));
  });

  it('rounds.count 0 (until SIGINT) gives a workload to wrap around', () => {
    const ai4i = parse('name: x\nscheme: { ians: 2, devicesPerIan: 10 }\nrounds: { count: 0 }\n');
    expect(workloadRounds(ai4i)).toBe(500);
    expect(toMaasParams(ai4i).maxReading[0]).toBe(1);
    expect(
      workloadRounds(parse('name: x\nscheme: { workload: synthetic }\nrounds: { count: 0 }\n')),
    ).toBe(100);
  });
});
