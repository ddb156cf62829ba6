import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const CLI = ['--import', 'tsx', 'src/cli/main.ts'];

/** `privagg demo` as a user runs it: a separate process, its stdout, its files. */
describe('privagg demo (child process)', () => {
  it('--epsilon off --json: totals equal the CSV truth exactly; writes JSON and HTML', async () => {
    const ROUNDS = 6;
    const out = mkdtempSync(join(tmpdir(), 'privagg-demo-'));
    const { stdout } = await run(
      process.execPath,
      // Rounds of 2 s (default 1 s): exact totals need every IAN-round restored, and the
      // suite runs other test files beside this one on two cores (at 1 s the first rounds,
      // proofs and all, came out late there). 8 rounds keep the run as long as before.
      [
        ...CLI,
        'demo',
        '--epsilon',
        'off',
        '--round-ms',
        '2000',
        '--rounds',
        String(ROUNDS),
        '--json',
        '--out',
        out,
      ],
      {
        cwd: process.cwd(),
      },
    );
    const summary = JSON.parse(stdout);
    expect(summary.tolerated.failedIanRounds).toBe(0);
    // Already exact: no companion run.
    expect(summary.exactRun).toBeNull();
    // The fields every scheme's summary shares: the lying gateway flagged, every IAN-round's status.
    expect(summary.scheme).toBe('maas');
    expect(summary.flagged.length).toBeGreaterThan(0);
    expect(summary.flagged[0].why).toBe('lied and was corrected');
    expect(summary.statuses).toHaveLength(4 * ROUNDS);
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
    expect(summary.network.processes).toMatch(/^9 child processes/);
    expect(summary.network.gateways).toHaveLength(27);
    // Secure by default: TLS on MQTT and HTTP, and the attackers are refused as they are.
    expect(summary.network.broker).toMatch(/^embedded aedes at mqtts:\/\/127\.0\.0\.1:\d+/);
    expect(summary.network.ledgerUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const security = summary.network.security;
    expect(security.mode).toBe('secure');
    expect(security.outsiders).toHaveLength(4);
    for (const probe of security.outsiders) expect(probe).toMatchObject({ refused: true });
    expect(security.eavesdropping).toEqual({ tried: 2, refused: 2, reportsReceived: 0 });
    // The insider forgeries claim another device: the broker's ACL drops them (one per
    // IAN for each round after the first).
    expect(security.broker.rejectedPublish).toBe(summary.network.injected['insider-forgery']);
    expect(summary.network.injected['insider-forgery']).toBe(4 * (ROUNDS - 1));
    expect(summary.network.deviceMessages).toBeGreaterThan(4 * 25 * ROUNDS * 4);
    expect(summary.network.injected.forged).toBe(4 * ROUNDS);
    expect(summary.network.attackSubmissions.posted).toBeGreaterThan(0);
    expect(summary.network.attackSubmissions.accepted).toBe(0);
    // The compromised device's certificate may not post partials.
    expect(summary.rejected.ACCESS_DENIED).toBeGreaterThan(0);
    expect(summary.ledger.verified).toBe(true);
    // Verified as the auditor: sealed contents replayed, every signature checked, and the
    // lying gateway named with its signed partial in every round it lied.
    expect(summary.ledger.audited).toBe(true);
    expect(summary.ledger.liarsWithEvidence).toBeGreaterThan(0);
    expect(summary.lyingGateways).toHaveLength(1);
    expect(summary.tolerated.failedGateways).toBe(1);
    expect(summary.queries.map((q: { number: number }) => q.number)).toEqual([1, 2, 3, 4]);
    expect(summary.queries[3].pearson.all).toBeCloseTo(1, 10);
    const written = JSON.parse(readFileSync(summary.outputs.json, 'utf8'));
    expect(written.rounds).toHaveLength(ROUNDS);
    // The truth and per-IAN estimates: the user's only (review of issue 10).
    expect(statSync(summary.outputs.json).mode & 0o077).toBe(0);
    expect(statSync(summary.outputs.html).mode & 0o077).toBe(0);
    const html = readFileSync(summary.outputs.html, 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('number = 4');
  }, 90_000);

  it('--one-process: the same roles in the demo process, over the same sockets, exact as well', async () => {
    const out = mkdtempSync(join(tmpdir(), 'privagg-demo-'));
    const { stdout } = await run(process.execPath, [
      ...CLI,
      'demo',
      '--one-process',
      // Every role and the range proofs on one event loop, beside other test files.
      '--round-ms',
      '2000',
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
    // Secure as well: every role on its own identity and certificate.
    expect(summary.network.ledgerUrl).toMatch(/^https:/);
    expect(summary.network.security.mode).toBe('secure');
    expect(summary.network.security.eavesdropping).toEqual({
      tried: 2,
      refused: 2,
      reportsReceived: 0,
    });
    expect(summary.tolerated.failedIanRounds).toBe(0);
    for (const name of ['TWF', 'HDF', 'PWF', 'OSF', 'RNF'])
      expect(summary.totals[name].estimate).toBe(summary.truth[name]);
    // 28 gateways (m = 7), one down for the run.
    expect(summary.network.gateways).toHaveLength(27);
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

  it("an insider's forgery: the broker's ACL drops it; without ACLs the MAC refuses it; the paper's hash lets it corrupt the totals", async () => {
    const demo = async (extra: string[]) => {
      const out = mkdtempSync(join(tmpdir(), 'privagg-demo-'));
      const args = [
        ...CLI,
        'demo',
        '--epsilon',
        'off',
        '--attacks',
        'insider-forgery',
        // In the demo's process (quicker to start; the same roles over the same sockets),
        // with rounds long enough for a busy machine: the comparison needs every round.
        '--one-process',
        '--round-ms',
        '1200',
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
        ...extra,
      ];
      return JSON.parse((await run(process.execPath, args)).stdout);
    };
    const exact = (s: {
      totals: Record<string, { estimate: number }>;
      truth: Record<string, number>;
    }) =>
      ['TWF', 'HDF', 'PWF', 'OSF', 'RNF'].every(
        (name) => s.totals[name]!.estimate === s.truth[name],
      );
    const secure = await demo([]);
    const open = await demo(['--insecure']);
    const paper = await demo(['--paper-mode']);
    // One forgery per IAN for each round after the first (it is sent before a round opens).
    for (const s of [secure, open, paper]) expect(s.tolerated.failedIanRounds).toBe(0);
    for (const s of [secure, open]) expect(s.network.injected['insider-forgery']).toBe(4 * 2);
    // Secure: it claims another device's topic, and the broker drops it before any gateway.
    expect(secure.network.security.mode).toBe('secure');
    expect(secure.network.security.broker.rejectedPublish).toBe(4 * 2);
    expect(secure.rejected.BAD_MAC ?? 0).toBe(0);
    expect(exact(secure)).toBe(true);
    // Without ACLs it reaches the gateway, whose HMAC check refuses it.
    expect(open.network.security.mode).toBe('insecure');
    expect(open.network.security.broker.rejectedPublish).toBe(0);
    expect(open.rejected.BAD_MAC).toBe(4 * 2);
    // …and nothing stops it from reading every other device's reports.
    expect(open.network.security.eavesdropping.reportsReceived).toBeGreaterThan(0);
    expect(exact(open)).toBe(true);
    // The paper's hash "MAC" is computable from public identities: the forgery is accepted,
    // the genuine report is then refused as a replay, and the totals are wrong.
    expect(paper.network.security.mode).toBe('insecure');
    expect(exact(paper)).toBe(false);
    expect(paper.rejected.BAD_MAC ?? 0).toBe(0);
  }, 150_000);

  it('--broker mosquitto: a Mosquitto of the run with the generated TLS and ACL configuration', async () => {
    // Fails, never skips, when Mosquitto is missing (as test/node/mosquittoCheck.ts does):
    // .ci/services.sh installs it.
    if (!existsSync('/usr/sbin/mosquitto') && !existsSync('/usr/bin/mosquitto')) {
      throw new Error(
        'this test needs the mosquitto binary: apt-get install mosquitto (.ci/services.sh does it in CI)',
      );
    }
    const out = mkdtempSync(join(tmpdir(), 'privagg-demo-'));
    const { stdout } = await run(process.execPath, [
      ...CLI,
      'demo',
      '--broker',
      'mosquitto',
      // Exact totals need every IAN-round: rounds of 2 s on a machine busy with other tests.
      '--round-ms',
      '2000',
      '--epsilon',
      'off',
      '--rounds',
      '4',
      '--json',
      '--out',
      out,
    ]);
    const summary = JSON.parse(stdout);
    expect(summary.network.broker).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+/);
    expect(summary.network.security.mode).toBe('secure');
    for (const probe of summary.network.security.outsiders)
      expect(probe).toMatchObject({ refused: true });
    // Mosquitto grants a subscription its ACL forbids and then delivers nothing through it.
    expect(summary.network.security.eavesdropping.reportsReceived).toBe(0);
    expect(summary.network.deviceMessages).toBeGreaterThan(0);
    expect(summary.tolerated.failedIanRounds).toBe(0);
    for (const name of ['TWF', 'HDF', 'PWF', 'OSF', 'RNF'])
      expect(summary.totals[name].estimate).toBe(summary.truth[name]);
    for (const code of ['BAD_MAC', 'REPLAY', 'SHARE_OUT_OF_RANGE', 'UNKNOWN_SENDER'])
      expect(summary.rejected[code]).toBeGreaterThan(0);
    expect(summary.ledger.verified).toBe(true);
  }, 90_000);

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
    // LDP on: the exact companion run beside the private one, and what ± means.
    expect(stdout).toMatch(
      /type +truth +exact run \(ε off\) +private run \(ε = 1\) +± SE +deviation/,
    );
    expect(stdout.match(/\(= its truth\)/g)).toHaveLength(5);
    expect(stdout).toContain('± SE is one standard error of the private total');
    // Which gateway is down and why IAN-rounds were degraded, on the terminal too.
    expect(stdout).toMatch(/Gateways down for the run \(--fail-gateways\): IAN \d+ GW \d+/);
    expect(stdout).toMatch(
      /Why IAN-rounds were degraded[^\n]*\n( +\d+ {2}[^\n]+\n)* +\d+ {2}1 gateway\(s\) sent no partial\n/,
    );
    expect(stdout).toMatch(/TWF\s+\d+/);
    await expect(run(process.execPath, [...CLI, 'demo', '--threshold', '8'])).rejects.toMatchObject(
      {
        code: 2,
        stderr: expect.stringContaining('--threshold 8 > --gateways 7'),
      },
    );
    await expect(
      run(process.execPath, [...CLI, 'demo', '--attacks', 'teleport']),
    ).rejects.toMatchObject({
      stderr: expect.stringContaining('unknown attack'),
    });
  }, 60_000);
});
