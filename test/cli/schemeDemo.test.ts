import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runSchemeDemo, type SchemeDemoSummary } from '../../src/cli/schemeDemo.js';
import { flipBodyByte } from '../ledger/scheme/helpers.js';

const CLI = [process.execPath, '--import', 'tsx', 'src/cli/main.ts'] as const;
const dir = mkdtempSync(join(tmpdir(), 'privagg-scheme-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base = {
  ians: '2',
  devices: '6',
  rounds: '3',
  failDevices: '0.1',
  failGateways: '0',
  attacks: 'all',
  seed: '1',
  workload: 'ai4i',
  quiet: true,
};

/** Every recovered total equals the truth recomputed for the devices that entered. */
function expectExact(s: SchemeDemoSummary) {
  expect(s.totals.map((t) => t.estimate)).toEqual(s.totals.map((t) => t.truth));
  expect(s.totals.map((t) => t.name)).toEqual(['TWF', 'HDF', 'PWF', 'OSF', 'RNF']);
}

describe('privagg demo --scheme <id>', () => {
  it('joye-libert over the broker: exact totals, a silent device fails its IAN-round honestly, the insider replay and forgery refused', async () => {
    const s = await runSchemeDemo({
      ...base,
      scheme: 'joye-libert',
      schemeParams: '{"modulusBits":512}',
      out: join(dir, 'jl'),
    });
    expect(s.transport).toMatch(/^mqtt \(mqtts:/);
    expectExact(s);
    const failed = s.statuses.filter((x) => x.status === 'failed');
    expect(failed.length).toBe(s.statusCounts.failed);
    for (const f of failed)
      expect(f.reasons.join(' ')).toMatch(/cannot decrypt without every device/);
    expect(s.statusCounts.failed).toBeGreaterThan(0);
    expect(s.rejections).toEqual({ REPLAY: 6, BAD_MAC: 6 });
    expect(JSON.parse(readFileSync(s.files.json, 'utf8'))).toEqual(s);
    // The center ran in a scheme ledger; an auditor's replay recomputes every recovery.
    expect(s.ledger).toMatchObject({ ok: true, replayed: true, recoveries: 6 });
    expect(readFileSync(s.files.ledger).includes('"estimate"')).toBe(false);
    // Later, as an auditor: `privagg ledger verify` with the keys the demo left (0600).
    expect(statSync(s.files.auditorKeys).mode & 0o077).toBe(0);
    const verify = (extra: string[]) =>
      spawnSync(CLI[0], [...CLI.slice(1), 'ledger', 'verify', s.files.ledger, ...extra], {
        encoding: 'utf8',
      });
    const ok = verify(['--scheme-keys', s.files.auditorKeys]);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(
      /OK — scheme joye-libert, \d+ blocks.*\n.*replayed through a fresh center/,
    );
    const sealedOnly = verify([]);
    expect(sealedOnly.status).toBe(0);
    expect(sealedOnly.stdout).toMatch(/contents not replayed/);
    flipBodyByte(s.files.ledger, 1, 0);
    const bad = verify(['--scheme-keys', s.files.auditorKeys]);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/BAD — block 1/);
  }, 60_000);

  it('an aggregator down: the tree loses what it carried, reported, never a wrong sum', async () => {
    const s = await runSchemeDemo({
      ...base,
      scheme: 'tree-test',
      failGateways: '1',
      out: join(dir, 'tree'),
      inProcess: true,
    });
    expect(s.transport).toBe('in memory');
    expect(s.faults.aggregatorsDown).toHaveLength(1);
    expectExact(s);
    expect(s.statusCounts.degraded + s.statusCounts.failed).toBeGreaterThan(0);
  });

  it('--lying-gateways: a scheme that cannot see the lie says so, and its totals carry it; MaaS corrects it', async () => {
    const tree = await runSchemeDemo({
      ...base,
      scheme: 'tree-test',
      failDevices: '0',
      attacks: 'none',
      lyingGateways: '1',
      out: join(dir, 'tree-lie'),
      inProcess: true,
    });
    expect(tree.lyingAggregator).toBe('undetected');
    expect(tree.faults.aggregatorsLying).toHaveLength(1);
    expect(tree.flagged).toEqual([]);
    // +1 in every dimension, once per round of the liar's group.
    for (const t of tree.totals) expect(t.estimate - t.truth).toBe(3);
    const maas = await runSchemeDemo({
      ...base,
      scheme: 'maas',
      schemeParams: JSON.stringify({ ldp: 'off', gateways: 7, threshold: 3 }),
      failDevices: '0',
      attacks: 'none',
      lyingGateways: '1',
      out: join(dir, 'maas-lie'),
      inProcess: true,
    });
    expect(maas.lyingAggregator).toBe('corrected');
    expectExact(maas);
    expect(maas.flagged.length).toBe(3);
    expect(new Set(maas.flagged.map((f) => f.why))).toEqual(new Set(['lied and was corrected']));
  });

  it('as a user runs it: --json over a child process, and a bad --scheme-params is one line', () => {
    const out = execFileSync(
      CLI[0],
      [
        ...CLI.slice(1),
        'demo',
        '--scheme',
        'plain-sum',
        '--ians',
        '2',
        '--devices',
        '4',
        '--rounds',
        '2',
        '--out',
        join(dir, 'cli'),
        '--json',
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const s = JSON.parse(out) as SchemeDemoSummary;
    expect(s.scheme).toBe('plain-sum');
    expectExact(s);
    expect(s.statuses).toHaveLength(4);
    let stderr = '';
    try {
      execFileSync(
        CLI[0],
        [
          ...CLI.slice(1),
          'demo',
          '--scheme',
          'plain-sum',
          '--scheme-params',
          '{"scale":0}',
          '--out',
          join(dir, 'cli'),
        ],
        {
          encoding: 'utf8',
          stdio: 'pipe',
        },
      );
    } catch (e) {
      stderr = String((e as { stderr: string }).stderr);
    }
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/scheme 'plain-sum': params\.scale/);
    // A MaaS flag given with another scheme is refused, not silently ignored.
    const maasFlag = spawnSync(
      CLI[0],
      [
        ...CLI.slice(1),
        'demo',
        '--scheme',
        'plain-sum',
        '--gateways',
        '7',
        '--out',
        join(dir, 'cli'),
      ],
      { encoding: 'utf8' },
    );
    expect(maasFlag.status).toBe(2);
    expect(maasFlag.stderr).toMatch(
      /--gateways: MaaS flags; with --scheme plain-sum give the scheme's parameters as --scheme-params/,
    );
  }, 60_000);
});
