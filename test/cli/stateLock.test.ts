import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

function runCli(args: string[]) {
  return new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      [...CLI, ...args],
      { timeout: 60_000 },
      (_e, _o, stderr) => resolve({ code: child.exitCode, stderr }),
    );
  });
}

/** Resolves once the child's stdout matches, with everything it printed so far. */
function waitForOutput(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (pattern.test(out)) resolve(out);
    });
    child.once('exit', (code) => reject(new Error(`exited (${code}) before ${pattern}: ${out}`)));
  });
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((r) =>
    child.exitCode !== null ? r(child.exitCode) : child.once('exit', (code) => r(code)),
  );

describe('one run per state directory (issue 11, point 5)', () => {
  it('a second privagg up on a running deployment is refused, and the live ledger stays where it is', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'privagg-lock-up-'));
    const file = join(dir, 'deployment.yaml');
    writeFileSync(
      file,
      [
        'name: locked',
        `stateDir: ${join(dir, 'state')}`,
        'scheme: { ians: 1, devicesPerIan: 4, gateways: 3, threshold: 2, workload: synthetic }',
        'rounds: { count: 0, durationMs: 1000 }',
        `ledger: { file: ${join(dir, 'ledger.sqlite')} }`,
        '',
      ].join('\n'),
    );
    const first = spawn(process.execPath, [...CLI, 'up', file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      await waitForOutput(first, /round 0 starts/);
      const second = await runCli(['up', file]);
      expect(second.code).toBe(2);
      expect(second.stderr).toContain(
        `privagg: STATE_LOCKED: state directory ${join(dir, 'state')} is in use by privagg process ${first.pid}`,
      );
      // Nothing moved aside: the first run's ledger is still the live one.
      expect(readdirSync(dir).filter((f) => /^ledger\.sqlite\.\d/.test(f))).toEqual([]);
      expect(existsSync(join(dir, 'ledger.sqlite'))).toBe(true);
    } finally {
      first.kill('SIGINT');
      await exited(first);
    }
    // Stopped cleanly: the lock is gone, the next run may start.
    expect(existsSync(join(dir, 'state', '.privagg.lock'))).toBe(false);
  }, 90_000);

  it('a second demo into the same output directory is refused while the first runs', async () => {
    const out = mkdtempSync(join(tmpdir(), 'privagg-lock-demo-'));
    const first = spawn(
      process.execPath,
      [...CLI, 'demo', '--one-process', '--round-ms', '2000', '--rounds', '3', '--out', out],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const lock = join(out, '.privagg-demo.lock');
    try {
      // The lock is the first thing the demo takes.
      for (let i = 0; i < 600 && !existsSync(lock) && first.exitCode === null; i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(existsSync(lock), 'the first demo never took its lock').toBe(true);
      const second = await runCli(['demo', '--in-process', '--out', out]);
      expect(second.code).toBe(2);
      expect(second.stderr).toContain(`STATE_LOCKED: demo output directory ${out} is in use`);
    } finally {
      expect(await exited(first)).toBe(0);
    }
    expect(existsSync(lock)).toBe(false);
  }, 90_000);

  it('up beside a ledger serving its file (started by hand) is refused before it re-issues credentials or moves the ledger', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'privagg-lock-ledger-'));
    const file = join(dir, 'deployment.yaml');
    writeFileSync(
      file,
      [
        'name: handledger',
        `stateDir: ${join(dir, 'state')}`,
        'scheme: { ians: 1, devicesPerIan: 4, gateways: 3, threshold: 2, workload: synthetic }',
        'rounds: { count: 0, durationMs: 1000 }',
        `ledger: { file: ${join(dir, 'ledger.sqlite')} }`,
        'security: { insecure: true }',
        '',
      ].join('\n'),
    );
    expect((await runCli(['credentials', 'issue', file])).code).toBe(0);
    const bundle = join(dir, 'state', 'credentials', 'handledger.ledger.json');
    const before = readFileSync(bundle, 'utf8');
    const epoch = String(Date.now() + 600_000);
    // On the machine's Mosquitto (.ci/services.sh starts it), in plaintext: the file is insecure.
    const ledger = spawn(
      process.execPath,
      [
        ...CLI,
        'ledger',
        'serve',
        '--deployment',
        file,
        '--epoch',
        epoch,
        '--broker',
        'mqtt://127.0.0.1:1883',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      for (let i = 0; i < 600 && !existsSync(join(dir, 'ledger.sqlite.lock')); i++) {
        if (ledger.exitCode !== null) throw new Error('the ledger exited');
        await new Promise((r) => setTimeout(r, 50));
      }
      const second = await runCli(['up', file]);
      expect(second.code).toBe(2);
      expect(second.stderr).toContain(
        `STATE_LOCKED: ledger file ${join(dir, 'ledger.sqlite')} is in use by privagg process ${ledger.pid}`,
      );
      expect(readFileSync(bundle, 'utf8')).toBe(before);
      expect(readdirSync(dir).filter((f) => /^ledger\.sqlite\.\d/.test(f))).toEqual([]);
      // And credentials issue is refused too: it would rotate the live ledger's key.
      const issue = await runCli(['credentials', 'issue', file]);
      expect(issue.code).toBe(2);
      expect(issue.stderr).toContain('STATE_LOCKED: ledger file');
      expect(readFileSync(bundle, 'utf8')).toBe(before);
    } finally {
      ledger.kill('SIGTERM');
      await exited(ledger);
    }
  }, 90_000);
});
