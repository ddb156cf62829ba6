import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The layering of docs/ARCHITECTURE.md, checked against the code: each folder of src/
 * may import only the layers listed for it. A new import across layers fails here
 * first, so the document and the code cannot drift apart silently.
 */
const ALLOWED: Record<string, readonly string[]> = {
  errors: [],
  math: ['errors'],
  crypto: ['errors', 'math'],
  dp: ['errors', 'math'],
  wire: ['errors', 'math', 'crypto'],
  'schemes/common': ['errors'],
  schemes: ['errors', 'math', 'crypto', 'dp', 'wire', 'schemes/common'],
  ledger: ['errors', 'math', 'crypto', 'dp', 'wire', 'schemes', 'schemes/common'],
  net: ['errors', 'wire'],
  node: [
    'errors',
    'math',
    'crypto',
    'dp',
    'wire',
    'schemes',
    'schemes/common',
    'ledger',
    'net',
    'sim',
  ],
  sim: ['errors', 'math', 'crypto', 'dp', 'wire', 'schemes', 'schemes/common', 'ledger'],
  report: ['errors', 'sim'],
  cli: [
    'errors',
    'math',
    'crypto',
    'dp',
    'wire',
    'schemes',
    'schemes/common',
    'ledger',
    'net',
    'node',
    'sim',
    'report',
  ],
};
// The package entry: re-exports of the public API — what the CLI may import, but never
// the CLI itself, its reports or the simulator.
ALLOWED.index = ALLOWED.cli!.filter((l) => l !== 'report' && l !== 'sim');

const SRC = resolve('src');

function layerOf(file: string): string {
  const rel = relative(SRC, file).replaceAll('\\', '/').replace(/\.js$/, '.ts');
  if (rel === 'errors.ts') return 'errors';
  if (rel === 'index.ts') return 'index';
  if (rel.startsWith('schemes/common/')) return 'schemes/common';
  return rel.split('/')[0]!;
}

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (p.endsWith('.ts')) yield p;
  }
}

describe('architecture', () => {
  it('every import in src/ respects the layer rules of docs/ARCHITECTURE.md', () => {
    const violations: string[] = [];
    let checked = 0;
    for (const file of files(SRC)) {
      const from = layerOf(file);
      const allowed = ALLOWED[from];
      expect(allowed, `no layer rule for ${from}`).toBeDefined();
      for (const m of readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
        const target = layerOf(resolve(join(file, '..'), m[1]!));
        checked++;
        if (target !== from && !allowed!.includes(target)) {
          violations.push(`${relative(SRC, file)} (${from}) imports ${m[1]} (${target})`);
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
    expect(violations).toEqual([]);
  });

  it('the architecture document names every layer', () => {
    const doc = readFileSync('docs/ARCHITECTURE.md', 'utf8');
    for (const layer of Object.keys(ALLOWED)) {
      const named = { errors: 'src/errors.ts', index: 'src/index.ts' }[layer] ?? `src/${layer}`;
      expect(doc, layer).toContain(named);
    }
  });
});
