import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { formatSchemes, referencePopulation, schemeRows } from '../../src/cli/schemes.js';
import { formatSchemeSizes, schemeSizes } from '../../src/cli/sizes.js';
import { registeredSchemes } from '../../src/schemes/registry.js';

const CLI = [process.execPath, '--import', 'tsx', 'src/cli/main.ts'] as const;

describe('privagg schemes', () => {
  const pop = referencePopulation({ ians: 4, devices: 25, dimensions: 5, max: 1 });

  it('lists every registered scheme with its properties and the sizes of what it sends', () => {
    const rows = schemeRows(pop);
    expect(rows.map((r) => r.id)).toEqual(registeredSchemes().map((s) => s.id));
    const text = formatSchemes(rows, pop);
    for (const r of rows) {
      expect(text).toContain(`${r.id} — ${r.title}`);
      expect(text).toContain(r.privacy);
      expect(text).toContain(r.deviceFaults);
      expect(r.sizes.report).toBeGreaterThan(0);
    }
    expect(pop.dimensions.map((d) => d.name)).toEqual(['TWF', 'HDF', 'PWF', 'OSF', 'RNF']);
  });

  it('--json over a real process: the same rows as data; a bad flag is a one-line error', () => {
    const out = execFileSync(CLI[0], [...CLI.slice(1), 'schemes', '--json', '--devices', '7'], {
      encoding: 'utf8',
    });
    const parsed = JSON.parse(out) as {
      population: { devicesPerGroup: number };
      schemes: { id: string }[];
    };
    expect(parsed.population.devicesPerGroup).toBe(7);
    expect(parsed.schemes.map((s) => s.id)).toEqual(registeredSchemes().map((s) => s.id));
    let stderr = '';
    try {
      execFileSync(CLI[0], [...CLI.slice(1), 'schemes', '--devices', 'many'], {
        encoding: 'utf8',
        stdio: 'pipe',
      });
    } catch (e) {
      stderr = String((e as { stderr: string }).stderr);
    }
    expect(stderr).toMatch(/--devices must be a positive integer/);
  });

  it('sizes --scheme: one scheme by channel; an unknown id names the registered ones', () => {
    const s = schemeSizes('tree-test', { ians: 1, devices: 25, dimensions: 5, max: 1 });
    expect(s.channels.map((c) => c.channel)).toEqual(['report', 'partial', 'announce', 'aux']);
    expect(formatSchemeSizes(s)).toMatch(/announce\s+64\s+512/);
    expect(() => schemeSizes('nope', { ians: 1, devices: 2, dimensions: 1, max: 1 })).toThrow(
      /unknown scheme 'nope'; registered: .*plain-sum/,
    );
  });
});
