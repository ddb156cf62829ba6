import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
/**
 * The examples import 'privagg' as a user's program does. The package's `privagg-source`
 * export condition points that at src/index.ts, so the test runs the sources as they are
 * (a user's `import 'privagg'` gets dist/, which `npm ci` builds).
 */
const NODE = ['--conditions=privagg-source', '--import', 'tsx'];

describe('examples/ run against the public API', () => {
  it("import 'privagg' resolves to the built package with its types, as a user's program gets it", async () => {
    // npm ci builds dist/ (the prepare script); a checkout without it says so here.
    expect(existsSync('dist/index.js'), 'dist/ is missing: npm run build').toBe(true);
    expect(existsSync('dist/index.d.ts')).toBe(true);
    const { stdout } = await run(process.execPath, [
      '--input-type=module',
      '-e',
      "const m = await import('privagg'); console.log(typeof m.createMaasDeployment, typeof m.MaasGateway, typeof m.verifyChain, typeof m.runLedger)",
    ]);
    expect(stdout.trim()).toBe('function function function function');
  });

  it('embed-device-gateway.mjs: four devices, three gateways and the contract restore the exact totals', async () => {
    const { stdout } = await run(process.execPath, [...NODE, 'examples/embed-device-gateway.mjs']);
    expect(stdout).toContain('temperature: restored 118, true 118');
    expect(stdout).toContain('load: restored 20, true 20');
    expect(stdout).toContain('devices 0, 1, 2, 3; gateways 1, 2, 3');
  });

  it("read-ledger.mjs: verifies a demo's chain, opens it with the auditor's bundle and names the lying gateway", async () => {
    const out = mkdtempSync(join(tmpdir(), 'privagg-example-'));
    await run(process.execPath, [
      ...['--import', 'tsx', 'src/cli/main.ts', 'demo', '--one-process', '--quiet'],
      ...['--round-ms', '2000', '--rounds', '3', '--epsilon', 'off', '--out', out],
    ]);
    const ledger = join(out, 'privagg-demo.ledger.sqlite');
    const credentials = join(out, 'privagg-demo.state', 'credentials');
    const auditor = readdirSync(credentials).find((f) => f.endsWith('.auditor.json'))!;
    const audited = await run(process.execPath, [
      ...NODE,
      'examples/read-ledger.mjs',
      ledger,
      join(credentials, auditor),
    ]);
    expect(audited.stdout).toMatch(
      /^verified: \d+ blocks, \d+ transactions; contents replayed, signatures checked/,
    );
    // The demo's lying gateway (the last IAN's) is named with its signed partial.
    expect(audited.stdout).toMatch(
      /IAN 3 round \d+: gateway \d+ lied \(its signed partial is in block \d+/,
    );
    expect(audited.stdout).toMatch(/IAN-rounds: .*\d+ (complete|degraded)/);
    // Without the bundle: structure and block signatures only.
    const plain = await run(process.execPath, [...NODE, 'examples/read-ledger.mjs', ledger]);
    expect(plain.stdout).toContain('contents sealed, not opened, signatures not checked');
  }, 90_000);
});
