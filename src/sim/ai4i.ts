import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { ErrorCode, PrivaggError } from '../errors.js';
import { projectDataPath } from './projectRoot.js';

/**
 * Loader for the AI4I 2020 Predictive Maintenance Dataset (Matzka 2020, CC BY 4.0,
 * doi:10.24432/C5HS5C), shipped as `data/ai4i2020.csv`; see `data/README.md`.
 *
 * The file is UTF-8 with a BOM, CRLF, unquoted, and prints numbers inconsistently
 * (`299.0` next to `309`), so every field is parsed as a number and checked; any
 * deviation is a MALFORMED_DATA error naming the 1-based file line and the column.
 */

export const AI4I_FILE_NAME = 'ai4i2020.csv';

/** sha256 of the published file (522,048 bytes), as recorded in data/README.md. */
export const AI4I_SHA256 = 'dc6630cd9b1f0f853922fad78a1b6436570d3f1ec863f1dd5c4340ac56bc8a8e';

/** The 14 header names, in the order of the published file. */
export const AI4I_COLUMNS = [
  'UDI',
  'Product ID',
  'Type',
  'Air temperature [K]',
  'Process temperature [K]',
  'Rotational speed [rpm]',
  'Torque [Nm]',
  'Tool wear [min]',
  'Machine failure',
  'TWF',
  'HDF',
  'PWF',
  'OSF',
  'RNF',
] as const;

export type Ai4iColumn = (typeof AI4I_COLUMNS)[number];

/** The five failure modes, in the order privagg uses as reading dimensions (w = 5). */
export const AI4I_FAILURE_TYPES = ['TWF', 'HDF', 'PWF', 'OSF', 'RNF'] as const;

export type Ai4iFailureType = (typeof AI4I_FAILURE_TYPES)[number];

export type Ai4iProductType = 'L' | 'M' | 'H';

export type Flag = 0 | 1;

export interface Ai4iRow {
  /** 1-based line of this row in the source text (the header is line 1). */
  readonly line: number;
  readonly udi: number;
  readonly productId: string;
  readonly type: Ai4iProductType;
  readonly airTemperatureK: number;
  readonly processTemperatureK: number;
  readonly rotationalSpeedRpm: number;
  readonly torqueNm: number;
  readonly toolWearMin: number;
  readonly machineFailure: Flag;
  /** The failure-mode flags; kept as in the file, even where they disagree with machineFailure. */
  readonly modes: Readonly<Record<Ai4iFailureType, Flag>>;
}

export interface Ai4iDataset {
  readonly rows: readonly Ai4iRow[];
  /** Where the rows came from (a path, or the label given to parseAi4iCsv). */
  readonly source: string;
  /** sha256 of the bytes read, lower-case hex. */
  readonly sha256: string;
  /** Whether sha256 equals AI4I_SHA256 (the published file). */
  readonly isPublishedFile: boolean;
}

export interface LoadAi4iOptions {
  /** Defaults to the project's `data/ai4i2020.csv`. */
  readonly path?: string;
  /** Throw DATA_CHECKSUM_MISMATCH unless the file is the published one. Default false. */
  readonly verifySha256?: boolean;
}

/** Absolute path of the copy shipped with privagg. */
export function defaultAi4iPath(): string {
  return projectDataPath(AI4I_FILE_NAME);
}

/** Reads, hashes and parses an AI4I CSV file. */
export function loadAi4i(options: LoadAi4iOptions = {}): Ai4iDataset {
  const path = options.path ?? defaultAi4iPath();
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new PrivaggError(ErrorCode.DATA_UNAVAILABLE, `cannot read ${path}: ${String(e)}`, {
      path,
    });
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const isPublishedFile = sha256 === AI4I_SHA256;
  if (options.verifySha256 && !isPublishedFile) {
    throw new PrivaggError(
      ErrorCode.DATA_CHECKSUM_MISMATCH,
      `${path} has sha256 ${sha256}, expected ${AI4I_SHA256}`,
      { path, sha256, expected: AI4I_SHA256 },
    );
  }
  let text: string;
  try {
    // fatal: a byte sequence that is not UTF-8 is an error, not a silent U+FFFD.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw malformed(basename(path), 1, undefined, 'file is not valid UTF-8');
  }
  return { rows: parseAi4iCsv(text, path), source: path, sha256, isPublishedFile };
}

/** Parses AI4I CSV text (BOM and CRLF tolerated). `source` only labels error messages. */
export function parseAi4iCsv(text: string, source = '<string>'): Ai4iRow[] {
  const label = source === '<string>' ? source : basename(source);
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = body.split(/\r?\n/);
  // A final line terminator leaves one empty string at the end; that is not a row.
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  const headerLine = lines[0] ?? '';
  if (headerLine === '') throw malformed(label, 1, undefined, 'empty file, expected a header');

  const index = headerIndex(headerLine.split(','), label);
  if (lines.length < 2) throw malformed(label, 2, undefined, 'header but no data rows');

  const rows: Ai4iRow[] = [];
  for (let at = 1; at < lines.length; at++) {
    rows.push(parseRow(lines[at]!, at + 1, index, label));
  }
  return rows;
}

/** Column name → field position; every expected name exactly once, nothing else. */
function headerIndex(names: string[], label: string): Record<Ai4iColumn, number> {
  const expected = new Set<string>(AI4I_COLUMNS);
  const index: Partial<Record<Ai4iColumn, number>> = {};
  names.forEach((name, position) => {
    if (!expected.has(name)) {
      throw malformed(label, 1, name, `unexpected column '${name}' in header`);
    }
    if (index[name as Ai4iColumn] !== undefined) {
      throw malformed(label, 1, name, `column '${name}' appears twice in header`);
    }
    index[name as Ai4iColumn] = position;
  });
  for (const column of AI4I_COLUMNS) {
    if (index[column] === undefined) {
      throw malformed(label, 1, column, `header lacks column '${column}'`);
    }
  }
  return index as Record<Ai4iColumn, number>;
}

function parseRow(
  text: string,
  line: number,
  index: Record<Ai4iColumn, number>,
  label: string,
): Ai4iRow {
  const fields = text.split(',');
  if (fields.length !== AI4I_COLUMNS.length) {
    throw malformed(
      label,
      line,
      undefined,
      `expected ${AI4I_COLUMNS.length} fields, found ${text === '' ? 0 : fields.length}`,
    );
  }
  const field = (column: Ai4iColumn): string => fields[index[column]]!;
  const number = (column: Ai4iColumn): number => parseNumber(field(column), line, column, label);
  const flag = (column: Ai4iColumn): Flag => {
    const value = number(column);
    if (value !== 0 && value !== 1) {
      throw malformed(label, line, column, `expected 0 or 1, found '${field(column)}'`);
    }
    return value;
  };

  const udi = number('UDI');
  if (!Number.isSafeInteger(udi) || udi < 1) {
    throw malformed(label, line, 'UDI', `expected a positive integer, found '${field('UDI')}'`);
  }
  const productId = field('Product ID');
  if (productId === '') throw malformed(label, line, 'Product ID', 'empty product id');
  const type = field('Type');
  if (type !== 'L' && type !== 'M' && type !== 'H') {
    throw malformed(label, line, 'Type', `expected L, M or H, found '${type}'`);
  }
  return {
    line,
    udi,
    productId,
    type,
    airTemperatureK: number('Air temperature [K]'),
    processTemperatureK: number('Process temperature [K]'),
    rotationalSpeedRpm: number('Rotational speed [rpm]'),
    torqueNm: number('Torque [Nm]'),
    toolWearMin: number('Tool wear [min]'),
    machineFailure: flag('Machine failure'),
    modes: {
      TWF: flag('TWF'),
      HDF: flag('HDF'),
      PWF: flag('PWF'),
      OSF: flag('OSF'),
      RNF: flag('RNF'),
    },
  };
}

// Plain decimal notation only: Number() alone would accept '', ' ', '0x1f' and 'Infinity'.
const DECIMAL = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

function parseNumber(text: string, line: number, column: Ai4iColumn, label: string): number {
  const value = DECIMAL.test(text) ? Number(text) : Number.NaN;
  if (!Number.isFinite(value)) {
    throw malformed(label, line, column, `expected a finite number, found '${text}'`);
  }
  return value;
}

function malformed(
  source: string,
  line: number,
  column: string | undefined,
  message: string,
): PrivaggError {
  const where = column === undefined ? `line ${line}` : `line ${line}, column '${column}'`;
  return new PrivaggError(ErrorCode.MALFORMED_DATA, `${source} ${where}: ${message}`, {
    source,
    line,
    ...(column === undefined ? {} : { column }),
  });
}
