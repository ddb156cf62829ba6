import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

/** `privagg demo` as a user runs it: a separate process, its stdout, its files. */
describe('privagg demo (child process)', () => {
  it('--epsilon off --json: totals equal the CSV truth exactly; writes JSON and HTML', async () => {
    const out = mkdtempSync(join(tmpdir(), 'privagg-demo-'));
    const { stdout } = await run(
      process.execPath,
      [...CLI, 'demo', '--epsilon', 'off', '--json', '--out', out],
      {
        cwd: process.cwd(),
      },
    );
    const summary = JSON.parse(stdout);
    for (const name of ['TWF', 'HDF', 'PWF', 'OSF', 'RNF']) {
      expect(summary.totals[name].estimate).toBe(summary.truth[name]);
      expect(summary.totals[name].standardError).toBe(0);
    }
    // The default scenario injects every attack and tolerates one failed and one lying gateway.
    for (const code of [
      'BAD_MAC',
      'REPLAY',
      'STALE_TIMESTAMP',
      'MALFORMED_MESSAGE',
      'UNKNOWN_SENDER',
      'SHARE_OUT_OF_RANGE',
    ]) {
      expect(summary.rejected[code]).toBeGreaterThan(0);
    }
    // It ran over the networked runtime as processes: real broker, real ledger API, every
    // attack refused; the gateways' counters come from each process's /metrics.
    expect(summary.network.processes).toMatch(/^7 child processes/);
    expect(summary.network.gateways).toHaveLength(19);
    expect(summary.network.broker).toMatch(/^embedded aedes at mqtt:\/\/127\.0\.0\.1:\d+/);
    expect(summary.network.ledgerUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(summary.network.deviceMessages).toBeGreaterThan(4 * 25 * 20 * 4);
    expect(summary.network.injected.forged).toBe(4 * 20);
    expect(summary.network.attackSubmissions.posted).toBeGreaterThan(0);
    expect(summary.network.attackSubmissions.accepted).toBe(0);
    expect(summary.ledger.verified).toBe(true);
    expect(summary.lyingGateways).toHaveLength(1);
    expect(summary.tolerated.failedGateways).toBe(1);
    expect(summary.queries.map((q: { number: number }) => q.number)).toEqual([1, 2, 3, 4]);
    expect(summary.queries[3].pearson.all).toBeCloseTo(1, 10);
    const written = JSON.parse(readFileSync(summary.outputs.json, 'utf8'));
    expect(written.rounds).toHaveLength(20);
    const html = readFileSync(summary.outputs.html, 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('number = 4');
  }, 60_000);

  it('--one-process: the same roles in the demo process, over the same sockets, exact as well', async () => {
    const out = mkdtempSync(join(tmpdir(), 'privagg-demo-'));
    const { stdout } = await run(process.execPath, [
      ...CLI,
      'demo',
      '--one-process',
      '--epsilon',
      'off',
      '--rounds',
      '5',
      '--json',
      '--out',
      out,
    ]);
    const summary = JSON.parse(stdout);
    expect(summary.network.processes).toMatch(/^every role in the demo's process/);
    for (const name of ['TWF', 'HDF', 'PWF', 'OSF', 'RNF'])
      expect(summary.totals[name].estimate).toBe(summary.truth[name]);
    // 20 gateways, one down for the run.
    expect(summary.network.gateways).toHaveLength(19);
    expect(summary.network.gateways.every((g: { received: number }) => g.received > 0)).toBe(true);
    expect(summary.network.attackSubmissions.accepted).toBe(0);
    expect(summary.lyingGateways).toHaveLength(1);
    for (const code of ['BAD_MAC', 'REPLAY', 'STALE_TIMESTAMP', 'SHARE_OUT_OF_RANGE'])
      expect(summary.rejected[code]).toBeGreaterThan(0);
    expect(summary.ledger.verified).toBe(true);
  }, 90_000);

  it('--in-process: the same scenario through the in-process runner, exact as well', async () => {
    const out = mkdtempSync(join(tmpdir(), 'privagg-demo-'));
    const { stdout } = await run(process.execPath, [
      ...CLI,
      'demo',
      '--in-process',
      '--epsilon',
      'off',
      '--json',
      '--out',
      out,
    ]);
    const summary = JSON.parse(stdout);
    expect(summary.network).toBeNull();
    for (const name of ['TWF', 'HDF', 'PWF', 'OSF', 'RNF'])
      expect(summary.totals[name].estimate).toBe(summary.truth[name]);
    expect(summary.rejected.SHARE_OUT_OF_RANGE).toBeGreaterThan(0);
  }, 60_000);

  it("over the network, an insider's forgery corrupts the paper's totals and not privagg's", async () => {
    const demo = async (paper: boolean) => {
      const out = mkdtempSync(join(tmpdir(), 'privagg-demo-'));
      const args = [
        ...CLI,
        'demo',
        '--epsilon',
        'off',
        '--attacks',
        'insider-forgery',
        '--fail-gateways',
        '0',
        '--lying-gateways',
        '0',
        '--fail-devices',
        '0',
        '--rounds',
        '3',
        '--json',
        '--out',
        out,
        ...(paper ? ['--paper-mode'] : []),
      ];
      return JSON.parse((await run(process.execPath, args)).stdout);
    };
    const sound = await demo(false);
    const paper = await demo(true);
    for (const name of ['TWF', 'HDF', 'PWF', 'OSF', 'RNF'])
      expect(sound.totals[name].estimate).toBe(sound.truth[name]);
    // One forgery per IAN for each round after the first (it is sent before a round opens).
    expect(sound.network.injected['insider-forgery']).toBe(4 * 2);
    expect(sound.rejected.BAD_MAC).toBe(4 * 2);
    // The paper's hash "MAC" is computable from public identities: the forgery is accepted,
    // the genuine report is then refused as a replay, and the totals are wrong.
    expect(
      ['TWF', 'HDF', 'PWF', 'OSF', 'RNF'].some(
        (name) => paper.totals[name].estimate !== paper.truth[name],
      ),
    ).toBe(true);
    expect(paper.rejected.BAD_MAC ?? 0).toBe(0);
  }, 60_000);

  it('prints readable tables by default and refuses bad flags with a clear message', async () => {
    const out = mkdtempSync(join(tmpdir(), 'privagg-demo-'));
    const { stdout } = await run(process.execPath, [
      ...CLI,
      'demo',
      '--quiet',
      '--rounds',
      '4',
      '--devices',
      '10',
      '--out',
      out,
    ]);
    expect(stdout).toMatch(/Totals over all rounds/);
    expect(stdout).toMatch(/Rejected messages by code/);
    expect(stdout).toMatch(/TWF\s+\d+/);
    await expect(run(process.execPath, [...CLI, 'demo', '--threshold', '6'])).rejects.toMatchObject(
      {
        code: 2,
        stderr: expect.stringContaining('--threshold 6 > --gateways 5'),
      },
    );
    await expect(
      run(process.execPath, [...CLI, 'demo', '--attacks', 'teleport']),
    ).rejects.toMatchObject({
      stderr: expect.stringContaining('unknown attack'),
    });
  }, 60_000);
});
