import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// A loopback port nothing listens on: bound once by the kernel, then released.
import { freePort } from '../../src/net/freePort.js';

const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

/**
 * Runs the CLI and resolves with its exit code and stderr; a run still going after
 * `killAfterMs` is killed and reported as such (what issue 11 found: `demo` and `up` sat
 * silent for 150 s against a closed port).
 */
function runCli(args: string[], killAfterMs = 30_000) {
  return new Promise<{ code: number | null; stderr: string; killed: boolean }>((resolve) => {
    const child = execFile(
      process.execPath,
      [...CLI, ...args],
      { timeout: killAfterMs },
      (error, _stdout, stderr) => {
        resolve({
          code: child.exitCode,
          stderr,
          killed: error !== null && (error as { killed?: boolean }).killed === true,
        });
      },
    );
  });
}

describe('a broker that does not answer: demo and up fail fast, naming the URL', () => {
  it('privagg demo against a closed port and an unresolvable host exits 2 with the reason', async () => {
    const port = await freePort();
    const out = mkdtempSync(join(tmpdir(), 'privagg-nobroker-'));
    const refused = await runCli(['demo', '--broker', `mqtt://127.0.0.1:${port}`, '--out', out]);
    expect(refused.killed, 'demo hung against a closed port').toBe(false);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      `privagg: BROKER_UNREACHABLE: MQTT broker at mqtt://127.0.0.1:${port} unreachable: connection refused`,
    );
    const unknown = await runCli([
      'demo',
      '--broker',
      'mqtts://no-such-host.invalid:8883',
      '--out',
      out,
    ]);
    expect(unknown.killed, 'demo hung against an unresolvable host').toBe(false);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(
      /MQTT broker at mqtts:\/\/no-such-host\.invalid:8883 unreachable: host not found/,
    );
  }, 90_000);

  it('privagg up against a closed port exits 2 before it touches the previous ledger', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'privagg-nobroker-up-'));
    const file = join(dir, 'deployment.yaml');
    writeFileSync(
      file,
      [
        'name: nobroker',
        `stateDir: ${join(dir, 'state')}`,
        'rounds: { count: 1 }',
        `broker: { url: "mqtt://127.0.0.1:${port}" }`,
        'security: { insecure: true }',
        `ledger: { file: ${join(dir, 'ledger.sqlite')} }`,
        '',
      ].join('\n'),
    );
    // A previous run's ledger: a run that starts moves it aside; this one must not start.
    writeFileSync(join(dir, 'ledger.sqlite'), 'the previous chain');
    const r = await runCli(['up', file]);
    expect(r.killed, 'up hung against a closed port').toBe(false);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`MQTT broker at mqtt://127.0.0.1:${port} unreachable`);
    expect(readFileSync(join(dir, 'ledger.sqlite'), 'utf8')).toBe('the previous chain');
    expect(readdirSync(dir).filter((f) => f.startsWith('ledger.sqlite.'))).toEqual([]);
  }, 60_000);
});
