import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ErrorCode, PrivaggError } from '../errors.js';
import { checkDeploymentName } from '../net/topics.js';
import { parseDeployment } from '../node/deploymentFile.js';

/**
 * The documented example deployment file, shipped with the package (`files` in
 * package.json): from src/cli/ (tsx) or dist/cli/ (built) it is two levels up.
 */
const TEMPLATE = new URL('../../examples/deployment.yaml', import.meta.url);

/** The example deployment file under another name, checked as `up` would read it. */
export function deploymentTemplate(name: string): string {
  try {
    checkDeploymentName(name);
  } catch {
    throw new PrivaggError(
      ErrorCode.INVALID_ARGUMENT,
      `--name must be 1–64 of A–Z a–z 0–9 . _ - (it is an MQTT topic level), got "${name}"`,
    );
  }
  const template = readFileSync(TEMPLATE, 'utf8');
  const text = template.replace(/^name: example\b/m, `name: ${name}`);
  if (text === template && name !== 'example') {
    throw new PrivaggError(
      ErrorCode.DATA_UNAVAILABLE,
      `the template ${TEMPLATE.pathname} has no "name: example" line`,
    );
  }
  return text;
}

/** Adds `privagg init`. */
export function registerInitCommand(program: Command): void {
  program
    .command('init [file]')
    .description(
      'Write a documented deployment file to start from (every key, its default and what it does), then run it with privagg up',
    )
    .option(
      '--name <name>',
      'the deployment name (bound into its keys and MQTT topics)',
      'my-deployment',
    )
    .option('--force', 'overwrite an existing file')
    .action((file: string | undefined, o: { name: string; force?: boolean }) => {
      const path = resolve(file ?? 'deployment.yaml');
      const text = deploymentTemplate(o.name);
      // The file as written must be one `up` accepts.
      parseDeployment(text, path, resolve(path, '..'));
      try {
        // 'wx': created only if absent, so a file made since the check is not overwritten.
        writeFileSync(path, text, { flag: o.force ? 'w' : 'wx' });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new PrivaggError(
          ErrorCode.INVALID_ARGUMENT,
          code === 'EEXIST'
            ? `${path} exists; give another file, or --force to overwrite it`
            : code === 'ENOENT'
              ? `cannot write ${path}: its directory does not exist`
              : code === 'EISDIR'
                ? `${path} is a directory; give a file name`
                : `cannot write ${path}: ${(e as Error).message}`,
        );
      }
      console.log(
        `Wrote ${path} (deployment "${o.name}"). Edit it, then:\n  privagg up ${file ?? 'deployment.yaml'}`,
      );
    });
}
