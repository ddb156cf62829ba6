import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, PrivaggError } from '../errors.js';

/**
 * The directory holding privagg's package.json, found by walking up from `fromUrl`.
 *
 * Walking up (rather than a fixed `../..`) makes the same code work from `src/sim/`
 * under tsx/vitest and from `dist/sim/` after `tsc`, and from an installed package in
 * node_modules, whose root also holds `data/`.
 */
export function findProjectRoot(fromUrl: string | URL = import.meta.url): string {
  const start = fileURLToPath(fromUrl);
  let dir = dirname(start);
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new PrivaggError(ErrorCode.DATA_UNAVAILABLE, `no package.json above ${start}`, {
        from: start,
      });
    }
    dir = parent;
  }
}

/** Absolute path of a file under the project's `data/` directory. */
export function projectDataPath(fileName: string): string {
  return join(findProjectRoot(), 'data', fileName);
}
