import type { Command } from 'commander';
import { loadDeploymentFile, workloadFor } from '../node/deploymentFile.js';
import { up } from '../node/orchestrator.js';
import { runQuery } from '../node/runtime.js';
import { formatTable } from './table.js';
import { upSeam } from './upSeam.js';

/** `privagg up <deployment>`: the whole deployment as local processes. */
export function registerUpCommand(program: Command): void {
  program
    .command('up <deployment>')
    .description(
      "Start a whole deployment locally — broker (embedded or external), ledger, m gateways per IAN, the device fleet — run its rounds, query, stop (SIGINT stops early); with scheme.id other than maas, the scheme's roles as processes on its own TLS broker",
    )
    .option('--json', 'print the final summary as JSON')
    .action(async (file: string, o: { json?: boolean }) => {
      const spec = loadDeploymentFile(file);
      const entry = { command: process.execPath, args: [...process.execArgv, process.argv[1]!] };
      if (spec.scheme.id !== 'maas') {
        await upSeam(file, spec, { entry, ...(o.json ? { json: true } : {}) });
        return;
      }
      const say = (s: string) => {
        if (!o.json) console.log(s);
      };
      say(
        `privagg up ${spec.name}: ${spec.scheme.ians} IANs × ${spec.scheme.devicesPerIan} devices, m = ${spec.scheme.gateways}, ` +
          `k = ${spec.scheme.threshold}, ${spec.rounds.count || '∞'} rounds of ${spec.rounds.durationMs} ms; state in ${spec.stateDir}`,
      );
      let stopping = false;
      const d = await up({
        deploymentFile: file,
        spec,
        entry,
        onEvent: (role, ev) => {
          if (ev.event === 'stale-lock') {
            say(`  the state directory's lock was stale (${ev.owner} is gone): taken over`);
          } else if (ev.event === 'previous-ledger') {
            say(`  the previous run's ledger was moved to ${ev.movedTo}`);
          } else if (ev.event === 'round') {
            const reasons = (ev.reasons as string[]).join('; ');
            say(`  round ${ev.round} IAN ${ev.ian}: ${ev.status}${reasons ? ` — ${reasons}` : ''}`);
          } else if (ev.event === 'supervision') {
            say(`  ${ev.note}`);
          } else if (ev.event === 'exit' && !stopping) {
            say(`  ${role} exited (code ${ev.code}, signal ${ev.signal})`);
          }
        },
      });
      say(
        `  broker ${d.brokerUrl}, ledger ${d.ledgerUrl}; round 0 starts ${new Date(d.epochMs).toISOString()}`,
      );
      const stop = async () => {
        if (stopping) return;
        stopping = true;
        await d.stop();
      };
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        process.once(signal, () => {
          say(`  ${signal}: stopping every process`);
          void stop().then(() => process.exit(signal === 'SIGINT' ? 130 : 143));
        });
      }
      if (spec.rounds.count === 0) return; // runs until SIGINT
      await d.finished;
      const last = spec.rounds.count - 1;
      const queries = [];
      for (let number = 1; number <= spec.scheme.ians; number++) {
        const res = await runQuery({ spec }, d.ledgerUrl, {
          number,
          startRound: 0,
          endRound: last,
        });
        queries.push({ number, ...res });
      }
      await stop();
      const counts = { complete: 0, degraded: 0, failed: 0 };
      for (const s of d.statuses) counts[s.status]++;
      const summary = {
        deployment: spec.name,
        rounds: spec.rounds.count,
        statuses: counts,
        ledger: spec.ledger.file,
        queries,
      };
      if (o.json) {
        console.log(JSON.stringify(summary, null, 2));
        return;
      }
      say(
        `\nIAN-rounds: ${counts.complete} complete, ${counts.degraded} degraded, ${counts.failed} failed`,
      );
      // The readings' truth for the IANs an answer covers, over all rounds (every device):
      // exactly what the answer estimates when every IAN-round is complete.
      const workload = workloadFor(spec);
      const truthOf = (ians: number[], j: number) => {
        let sum = 0;
        for (const v of ians)
          for (let r = 0; r < spec.rounds.count; r++)
            sum += workload.groundTruth(v, r % workload.rounds)[j]!;
        return sum;
      };
      const rows = queries.flatMap((q) => {
        if (!q.ok) return [[q.number, `refused: ${JSON.stringify(q.body)}`, '', '']];
        const a = (
          q.body as {
            answer: {
              ians: number[];
              dimensions: { name: string; total: number; totalStandardError: number }[];
            };
          }
        ).answer;
        return a.dimensions.map((dim, j) => [
          q.number,
          a.ians.join(','),
          `${dim.name} ${dim.total.toFixed(1)} ± ${dim.totalStandardError.toFixed(1)}`,
          truthOf(a.ians, j),
        ]);
      });
      say(formatTable(['number', 'IANs', 'total over all rounds ± SE', 'truth'], rows));
      const incomplete = counts.degraded + counts.failed;
      say(
        "  ± is one standard error: the devices' LDP noise and, for fewer than all IANs, the ledger's query noise; " +
          '± 0.0 means exact (LDP off, every IAN summed, so the query noise cancels).' +
          (incomplete > 0
            ? `\n  truth is over every device of every round; ${incomplete} IAN-round(s) were degraded or failed, so the answers cover fewer devices than it does.`
            : ''),
      );
      say(
        `\nLedger file ${spec.ledger.file} (check it: privagg ledger verify ${spec.ledger.file})`,
      );
    });
}
