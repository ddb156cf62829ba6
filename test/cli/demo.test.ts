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
