import { Command, Option } from 'commander';
import { squareWaveParameters } from '../dp/ldpSquareWave.js';
import { isPrivaggError, PrivaggError } from '../errors.js';
import { ATTACK_KINDS } from '../sim/maasFaults.js';
import { registerCompletionCommand } from './completion.js';
import { registerCredentialsCommands } from './credentials.js';
import { runDemo } from './demo.js';
import { printDemo } from './demoPrint.js';
import { registerInitCommand } from './init.js';
import { registerLedgerCommands } from './ledger.js';
import { registerRuntimeCommands } from './runtime.js';
import { printSchemeDemo, runSchemeDemo } from './schemeDemo.js';
import { registerSchemesCommand } from './schemes.js';
import { registerSeamRoleCommand } from './seamRole.js';
import { registerSizesCommand } from './sizes.js';
import { formatTable } from './table.js';
import { registerUpCommand } from './up.js';

/** demo flags of the MaaS pipeline only (commander's camel-case names). */
const MAAS_ONLY_DEMO_FLAGS = [
  'gateways',
  'threshold',
  'maxLyingGateways',
  'epsilon',
  'delta',
  'paperMode',
  'inputValidity',
  'ledger',
  'broker',
  'insecure',
  'roundMs',
  'oneProcess',
] as const;

const program = new Command();
program
  .name('privagg')
  .description('Secure, privacy-preserving, fault-tolerant data aggregation for M2M networks')
  .version('0.1.0');

program
  .command('demo')
  .description(
    'Run the MaaS trend-query pipeline on AI4I 2020 over the networked runtime (MQTT broker, HTTP ledger, SQLite chain), with faults and attacks; --scheme runs another registered scheme (privagg schemes)',
  )
  .option(
    '--scheme <id>',
    'the aggregation scheme (privagg schemes lists them): maas runs the full MaaS pipeline; any other runs its roles over the seam (embedded broker, TLS) with the same data, silent devices (--fail-devices as a probability), aggregators down (--fail-gateways as a count) and an insider replay and forgery (--attacks none to skip)',
    'maas',
  )
  .option(
    '--scheme-params <json>',
    "the scheme's parameters as JSON, e.g. '{\"modulusBits\":1024}' for joye-libert (default: its defaults)",
  )
  .option('--ians <z>', 'industrial area networks', '4')
  .option('--devices <n>', 'device sensors per IAN', '25')
  .option(
    '--gateways <m>',
    'gateways per IAN (7: with k = 3 and f = 2 an IAN rides out two down and corrects two liars)',
    '7',
  )
  .option('--threshold <k>', 'Shamir threshold (partials needed)', '3')
  .option(
    '--max-lying-gateways <f>',
    'f, gateways per IAN that may lie (0 ≤ f ≤ m − k; default min(k − 1, m − k)): a restore needs k + f partials',
  )
  .option('--rounds <r>', 'rounds (AI4I rows are split evenly over z·n·r readings)', '20')
  .option('--epsilon <ε|off>', 'device LDP budget, or "off" for exact totals', '1')
  .option('--delta <δ>', 'device LDP slack', '0.001')
  .option(
    '--fail-devices <p|n|list>',
    'per-round device failure probability (with a decimal point, e.g. 0.02), a count of devices down for the run, or "ian:device,…"',
    '0.02',
  )
  .option(
    '--fail-gateways <n|list>',
    'gateways down for the whole run: a count or "ian:gateway,…"',
    '1',
  )
  .option('--lying-gateways <n|list>', 'compromised gateways that lie about their sums', '1')
  .addOption(
    new Option(
      '--attacks <list>',
      `attacks to inject: all, none, or a list of ${ATTACK_KINDS.join(', ')}`,
    ).default('all'),
  )
  .option('--no-attacks', 'inject no attacks (same as --attacks none)')
  .option('--seed <seed>', 'seed of the scenario (fault placement, losses, attack placement)', '1')
  .addOption(new Option('--workload <name>', 'data').choices(['ai4i', 'synthetic']).default('ai4i'))
  .option('--data <csv>', 'path of ai4i2020.csv (default: the copy shipped in data/)')
  .option(
    '--paper-mode',
    "use the paper's constructions (hash MAC, sum batch check, no AEAD, …) instead of privagg's",
  )
  .option(
    '--input-validity <proofs|off>',
    'range proofs on every report (docs/VALIDITY.md): the number of proofs, 1..8 (default 3), or "off"; the paper mode runs without',
  )
  .option(
    '--out <dir>',
    'where to write privagg-demo.json, privagg-demo.html and the ledger',
    'out',
  )
  .option(
    '--ledger <file>',
    'the ledger file (SQLite block store; default <out>/privagg-demo.ledger.sqlite), made anew each run',
  )
  .option(
    '--broker <url>',
    'MQTT broker: "embedded" (aedes on a free loopback port, TLS), "mosquitto" (a Mosquitto started for the run with generated TLS and ACL configuration) or a URL (mqtt://… is plaintext and makes the run insecure)',
    'embedded',
  )
  .option(
    '--insecure',
    'run without TLS, broker ACLs or ledger role checks (implied by --paper-mode and a mqtt:// broker); the summary says so',
  )
  .option(
    '--round-ms <ms>',
    'round length of the networked run, wall clock (default 1000 with range proofs on, as by default, with --paper-mode, whose per-dimension messages and close-time batch checks take longer, and with --one-process, where every role shares one event loop; 600 otherwise)',
  )
  .option(
    '--one-process',
    "run the networked roles (ledger, gateways, device fleet) in the demo's own process, still over MQTT and HTTP, instead of as child processes",
  )
  .option(
    '--in-process',
    'use the in-process runner instead (simulated clock, no sockets; what tests and experiments use)',
  )
  .option('--json', 'print the summary as JSON instead of tables')
  .option('--quiet', 'no progress output')
  .action(async (opts, command: Command) => {
    const attacks = opts.attacks === false ? 'none' : String(opts.attacks);
    if (opts.scheme !== 'maas') {
      // The MaaS pipeline's own flags mean nothing to another scheme: refuse them rather
      // than run without what the user asked for.
      const given = MAAS_ONLY_DEMO_FLAGS.filter((f) => command.getOptionValueSource(f) === 'cli');
      if (given.length > 0)
        throw new PrivaggError(
          'INVALID_ARGUMENT',
          `${given.map((f) => `--${f.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`).join(', ')}: MaaS flags; with --scheme ${opts.scheme} give the scheme's parameters as --scheme-params '{…}' (privagg schemes lists them)`,
        );
      // --lying-gateways: MaaS's default (1) is its own; another scheme's liars are asked for.
      const lying =
        command.getOptionValueSource('lyingGateways') === 'cli' ? opts.lyingGateways : '0';
      const summary = await runSchemeDemo({ ...opts, attacks, lyingGateways: lying });
      if (opts.json) console.log(JSON.stringify(summary, null, 2));
      else printSchemeDemo(summary);
      return;
    }
    const { result, summary } = await runDemo(
      { ...opts, attacks },
      `privagg ${process.argv.slice(2).join(' ')}`,
    );
    if (opts.json) console.log(JSON.stringify(summary, null, 2));
    else printDemo(result, summary);
  });

program
  .command('ldp-params')
  .description('Print the (ε, δ)-LDP square-wave parameters b, r, t, A, B of docs/SCHEMES.md §11')
  .requiredOption('--epsilon <ε>', 'privacy budget ε > 0')
  .option('--delta <δ>', 'slack δ', '0')
  .action((opts) => {
    const p = squareWaveParameters(Number(opts.epsilon), Number(opts.delta));
    console.log(
      formatTable(
        ['ε', 'δ', 'b', 'r', 't', 'A', 'B', 'guaranteed δ (2bδ)'],
        [
          [
            p.epsilon,
            p.delta,
            p.b.toFixed(10),
            p.r.toFixed(10),
            p.t.toFixed(10),
            p.A.toFixed(10),
            p.B.toFixed(10),
            p.guaranteedDelta,
          ],
        ],
      ),
    );
  });

registerRuntimeCommands(program, registerLedgerCommands(program));
registerUpCommand(program);
registerSeamRoleCommand(program);
registerCredentialsCommands(program);
registerSizesCommand(program);
registerSchemesCommand(program);
registerInitCommand(program);
registerCompletionCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (isPrivaggError(e)) {
    console.error(`privagg: ${e.message}`);
    process.exit(2);
  }
  throw e;
}
