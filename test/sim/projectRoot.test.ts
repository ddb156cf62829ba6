import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { findProjectRoot, projectDataPath } from '../../src/sim/projectRoot.js';

describe('findProjectRoot', () => {
  const root = findProjectRoot();

  it('finds the directory with package.json and data/', () => {
    expect(existsSync(join(root, 'package.json'))).toBe(true);
    expect(existsSync(projectDataPath('ai4i2020.csv'))).toBe(true);
  });

  it('resolves the same root from where the compiled module would live (dist/sim)', () => {
    expect(findProjectRoot(pathToFileURL(join(root, 'dist', 'sim', 'ai4i.js')))).toBe(root);
  });

  it('throws DATA_UNAVAILABLE when no package.json is above', () => {
    expect(() => findProjectRoot(pathToFileURL('/proc/self/nothing.js'))).toThrow(
      ErrorCode.DATA_UNAVAILABLE,
    );
  });
});
