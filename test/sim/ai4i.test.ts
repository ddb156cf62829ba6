import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode, isPrivaggError } from '../../src/errors.js';
import {
  AI4I_COLUMNS,
  AI4I_FAILURE_TYPES,
  AI4I_SHA256,
  defaultAi4iPath,
  loadAi4i,
  parseAi4iCsv,
} from '../../src/sim/ai4i.js';

const dataset = loadAi4i({ verifySha256: true });

const HEADER = AI4I_COLUMNS.join(',');
const GOOD_ROW = '1,M14860,M,298.1,308.6,1551,42.8,0,0,0,0,0,0,0';

/** Runs `parse` and returns the MALFORMED_DATA error it must throw. */
function malformed(text: string) {
  try {
    parseAi4iCsv(text, 'test.csv');
  } catch (e) {
    if (isPrivaggError(e, ErrorCode.MALFORMED_DATA)) return e;
    throw e;
  }
  throw new Error('expected MALFORMED_DATA');
}

describe('loadAi4i on the shipped copy', () => {
  it('is the published file, found from the module location', () => {
    expect(defaultAi4iPath()).toMatch(/data[/\\]ai4i2020\.csv$/);
    expect(dataset.sha256).toBe(AI4I_SHA256);
    expect(dataset.isPublishedFile).toBe(true);
  });

  it('has 10,000 rows, UDI 1..10000 in order, the first row on line 2', () => {
    expect(dataset.rows).toHaveLength(10_000);
    expect(dataset.rows.every((row, t) => row.udi === t + 1 && row.line === t + 2)).toBe(true);
    expect(dataset.rows[0]).toMatchObject({
      productId: 'M14860',
      type: 'M',
      airTemperatureK: 298.1,
    });
  });

  it('reproduces the verified column sums', () => {
    const sums: Record<string, number> = { 'Machine failure': 0 };
    for (const type of AI4I_FAILURE_TYPES) sums[type] = 0;
    for (const row of dataset.rows) {
      sums['Machine failure']! += row.machineFailure;
      for (const type of AI4I_FAILURE_TYPES) sums[type]! += row.modes[type];
    }
    expect(sums).toEqual({
      'Machine failure': 339,
      TWF: 46,
      HDF: 115,
      PWF: 95,
      OSF: 98,
      RNF: 19,
    });
  });

  it('counts product types L/M/H = 6000/2997/1003', () => {
    const counts = { L: 0, M: 0, H: 0 };
    for (const row of dataset.rows) counts[row.type]++;
    expect(counts).toEqual({ L: 6000, M: 2997, H: 1003 });
  });

  it('parses "299.0" and "309" alike as numbers, within the documented ranges', () => {
    const air = dataset.rows.map((r) => r.airTemperatureK);
    const torque = dataset.rows.map((r) => r.torqueNm);
    expect(Math.min(...air)).toBe(295.3);
    expect(Math.max(...air)).toBe(304.5);
    expect(Math.min(...torque)).toBe(3.8);
    expect(Math.max(...torque)).toBe(76.6);
  });
});

describe('loadAi4i on other files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'privagg-ai4i-'));

  it('reports a checksum mismatch only when asked to verify', () => {
    const path = join(dir, 'small.csv');
    writeFileSync(path, `\uFEFF${HEADER}\r\n${GOOD_ROW}\r\n`);
    const loaded = loadAi4i({ path });
    expect(loaded.rows).toHaveLength(1);
    expect(loaded.isPublishedFile).toBe(false);
    expect(() => loadAi4i({ path, verifySha256: true })).toThrow(ErrorCode.DATA_CHECKSUM_MISMATCH);
  });

  it('throws DATA_UNAVAILABLE for a missing file', () => {
    expect(() => loadAi4i({ path: join(dir, 'absent.csv') })).toThrow(ErrorCode.DATA_UNAVAILABLE);
  });

  it('throws MALFORMED_DATA for bytes that are not UTF-8', () => {
    const path = join(dir, 'latin1.csv');
    writeFileSync(path, Buffer.from([0x55, 0xff, 0x44, 0x49]));
    expect(() => loadAi4i({ path })).toThrow(ErrorCode.MALFORMED_DATA);
  });
});

describe('parseAi4iCsv rejects malformed text, naming line and column', () => {
  it('accepts LF or CRLF, with or without BOM and final newline', () => {
    for (const text of [
      `${HEADER}\n${GOOD_ROW}`,
      `\uFEFF${HEADER}\r\n${GOOD_ROW}\r\n`,
      `${HEADER}\n${GOOD_ROW}\n`,
    ]) {
      expect(parseAi4iCsv(text)).toHaveLength(1);
    }
  });

  it('empty file', () => {
    expect(malformed('').details).toMatchObject({ line: 1 });
    expect(malformed('\uFEFF').details).toMatchObject({ line: 1 });
  });

  it('header only', () => {
    const e = malformed(`\uFEFF${HEADER}\r\n`);
    expect(e.details).toMatchObject({ line: 2 });
    expect(e.message).toContain('no data rows');
  });

  it('missing column', () => {
    const header = AI4I_COLUMNS.filter((c) => c !== 'HDF').join(',');
    const e = malformed(`${header}\n1,M14860,M,298.1,308.6,1551,42.8,0,0,0,0,0,0`);
    expect(e.details).toMatchObject({ line: 1, column: 'HDF' });
    expect(e.message).toMatch(/line 1.*HDF/);
  });

  it('renamed column (Machine_failure)', () => {
    const e = malformed(`${HEADER.replace('Machine failure', 'Machine_failure')}\n${GOOD_ROW}`);
    expect(e.details).toMatchObject({ line: 1, column: 'Machine_failure' });
  });

  it('duplicated column', () => {
    expect(malformed(`${HEADER},RNF\n${GOOD_ROW},0`).details).toMatchObject({ column: 'RNF' });
  });

  it('wrong field count', () => {
    const e = malformed(`${HEADER}\n${GOOD_ROW}\n2,L47181,L,298.2,308.7,1408,46.3,3,0,0,0,0,0\n`);
    expect(e.details).toMatchObject({ line: 3 });
    expect(e.message).toContain('line 3');
    expect(e.message).toContain('expected 14 fields, found 13');
  });

  it('blank line in the middle', () => {
    expect(malformed(`${HEADER}\n\n${GOOD_ROW}\n`).details).toMatchObject({ line: 2 });
  });

  it('non-numeric value', () => {
    for (const bad of ['abc', '', ' 298.1', '0x12', 'Infinity', '1e999']) {
      const e = malformed(`${HEADER}\n${GOOD_ROW}\n${GOOD_ROW.replace('298.1', bad)}`);
      expect(e.details).toMatchObject({ line: 3, column: 'Air temperature [K]' });
    }
  });

  it('flag = 2', () => {
    const row = '7,L47186,L,298.1,308.6,1558,42.4,14,0,0,0,2,0,0';
    const e = malformed(`${HEADER}\r\n${GOOD_ROW}\r\n${GOOD_ROW}\r\n${row}\r\n`);
    expect(e.details).toMatchObject({ line: 4, column: 'PWF' });
    expect(e.message).toBe(
      "MALFORMED_DATA: test.csv line 4, column 'PWF': expected 0 or 1, found '2'",
    );
  });

  it('non-integer or non-positive UDI, unknown Type, empty Product ID', () => {
    expect(malformed(`${HEADER}\n${GOOD_ROW.replace(/^1,/, '1.5,')}`).details).toMatchObject({
      column: 'UDI',
    });
    expect(malformed(`${HEADER}\n${GOOD_ROW.replace(/^1,/, '0,')}`).details).toMatchObject({
      column: 'UDI',
    });
    expect(malformed(`${HEADER}\n${GOOD_ROW.replace(',M,', ',X,')}`).details).toMatchObject({
      column: 'Type',
    });
    expect(malformed(`${HEADER}\n${GOOD_ROW.replace('M14860', '')}`).details).toMatchObject({
      column: 'Product ID',
    });
  });

  it('maps columns by name, so a reordered header still parses', () => {
    const names = [...AI4I_COLUMNS];
    const fields = GOOD_ROW.split(',');
    [names[9], names[13]] = [names[13]!, names[9]!];
    fields[13] = '1';
    const [row] = parseAi4iCsv(`${names.join(',')}\n${fields.join(',')}`);
    expect(row!.modes).toEqual({ TWF: 1, HDF: 0, PWF: 0, OSF: 0, RNF: 0 });
  });
});
