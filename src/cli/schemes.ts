import type { Command } from 'commander';
import { ErrorCode, PrivaggError } from '../errors.js';
import { configureScheme, registeredSchemes } from '../schemes/registry.js';
import type { Population, SchemeConfig } from '../schemes/scheme.js';
import { formatTable } from './table.js';

/**
 * `privagg schemes`: every registered scheme side by side, configured with its default
 * parameters on one reference population (the demo's: 4 IANs × 25 devices, AI4I's five
 * failure modes) — the table a researcher compares on; `--json` for the same as data.
 * `privagg sizes --scheme <id>` prints one scheme's message sizes by channel.
 */
export const AI4I_FAILURE_MODES = ['TWF', 'HDF', 'PWF', 'OSF', 'RNF'] as const;

export interface ReferenceOptions {
  ians: number;
  devices: number;
  dimensions: number;
  /** The public per-dimension bound of a reading. */
  max: number;
}

export function referencePopulation(o: ReferenceOptions): Population {
  for (const [k, v] of Object.entries(o)) {
    if (!Number.isSafeInteger(v) || v < 1)
      throw new PrivaggError(ErrorCode.INVALID_ARGUMENT, `--${k} must be a positive integer`);
  }
  return {
    groups: o.ians,
    devicesPerGroup: o.devices,
    dimensions: Array.from({ length: o.dimensions }, (_, j) => ({
      name: AI4I_FAILURE_MODES[j] ?? `d${j + 1}`,
      max: o.max,
    })),
  };
}

export interface SchemeRow {
  id: string;
  title: string;
  status: string;
  summary: string;
  privacy: string;
  integrity: string;
  deviceFaults: string;
  aggregatorFaults: string;
  dp: string;
  exact: boolean;
  lyingAggregator: string;
  sizes: Record<string, number>;
}

export function schemeRows(pop: Population): SchemeRow[] {
  return registeredSchemes().map((s) => {
    const c: SchemeConfig = configureScheme(s.id, {}, pop);
    return {
      id: s.id,
      title: s.title,
      status: s.status,
      summary: s.summary,
      ...c.properties,
      sizes: { ...c.sizes },
    };
  });
}

export function formatSchemes(rows: readonly SchemeRow[], pop: Population): string {
  const head = [
    'scheme',
    'status',
    'exact',
    'lying aggregator',
    'report B',
    'partial B',
    'other channels',
  ];
  const table = formatTable(
    head,
    rows.map((r) => [
      r.id,
      r.status,
      r.exact ? 'yes' : 'no',
      r.lyingAggregator,
      r.sizes.report ?? '—',
      r.sizes.partial ?? '—',
      Object.entries(r.sizes)
        .filter(([k]) => k !== 'report' && k !== 'partial')
        .map(([k, v]) => `${k} ${v} B`)
        .join(', ') || '—',
    ]),
  );
  const details = rows.map((r) =>
    [
      `${r.id} — ${r.title}`,
      `  ${r.summary}`,
      `  privacy            ${r.privacy}`,
      `  integrity          ${r.integrity}`,
      `  device faults      ${r.deviceFaults}`,
      `  aggregator faults  ${r.aggregatorFaults}`,
      `  differential priv. ${r.dp}`,
    ].join('\n'),
  );
  return [
    `Registered schemes, default parameters, ${pop.groups} IANs × ${pop.devicesPerGroup} devices × ${pop.dimensions.length} dimensions:`,
    '',
    table,
    '',
    ...details.flatMap((d) => [d, '']),
    "Sizes are exact bytes per message. Parameters: docs/SCHEMES.md; the status column says whose construction it is (paper, standard, compatible: ours with the paper's properties, test: for the runtime's own tests).",
  ].join('\n');
}

export function registerSchemesCommand(program: Command): void {
  program
    .command('schemes')
    .description('List every registered aggregation scheme with its properties and message sizes')
    .option('--ians <z>', 'groups (IANs) of the reference population', '4')
    .option('--devices <n>', 'devices per IAN', '25')
    .option('--dimensions <w>', 'dimensions of a reading', '5')
    .option('--max <x>', 'the public bound of each dimension', '1')
    .option('--json', 'print the comparison as JSON')
    .action(
      (o: { ians: string; devices: string; dimensions: string; max: string; json?: boolean }) => {
        const pop = referencePopulation({
          ians: Number(o.ians),
          devices: Number(o.devices),
          dimensions: Number(o.dimensions),
          max: Number(o.max),
        });
        const rows = schemeRows(pop);
        process.stdout.write(
          o.json
            ? `${JSON.stringify({ population: pop, schemes: rows }, null, 2)}\n`
            : `${formatSchemes(rows, pop)}\n`,
        );
      },
    );
}
