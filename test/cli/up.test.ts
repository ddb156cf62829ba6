import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('privagg up (child process)', () => {
  it('prints each answer beside the truth, and says what ± means; all IANs with LDP off equal it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'privagg-up-'));
    const file = join(dir, 'deployment.yaml');
    writeFileSync(
      file,
      [
        'name: uptruth',
        `stateDir: ${join(dir, 'state')}`,
        'scheme: { ians: 2, devicesPerIan: 5, gateways: 3, threshold: 2, ldp: off }',
        // Rounds of 2 s: every IAN-round must complete on a machine busy with other tests.
        'rounds: { count: 3, durationMs: 2000 }',
        `ledger: { file: ${join(dir, 'ledger.sqlite')} }`,
        '',
      ].join('\n'),
    );
    const { stdout } = await run(process.execPath, [
      ...['--import', 'tsx', 'src/cli/main.ts', 'up', file],
    ]);
    expect(stdout).toContain('IAN-rounds: 6 complete, 0 degraded, 0 failed');
    expect(stdout).toMatch(/number +IANs +total over all rounds ± SE +truth/);
    // number = z = 2: the query noise cancels and LDP is off, so each total is the truth.
    const all = [...stdout.matchAll(/^ +2 +0,1 +(\w+) (-?[\d.]+) ± 0\.0 +(\d+)$/gm)];
    expect(all.map((m) => m[1])).toEqual(['TWF', 'HDF', 'PWF', 'OSF', 'RNF']);
    for (const m of all) expect(Number(m[2])).toBe(Number(m[3]));
    // number = 1 keeps the query noise in: a non-zero standard error.
    expect(stdout).toMatch(/^ +1 +\d +TWF -?[\d.]+ ± [1-9][\d.]* +\d+$/m);
    expect(stdout).toContain('± is one standard error');
  }, 90_000);
});
