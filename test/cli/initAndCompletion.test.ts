import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadDeploymentFile } from '../../src/node/deploymentFile.js';

const run = promisify(execFile);
const CLI = ['--import', 'tsx', 'src/cli/main.ts'];
const fail = (args: string[]) =>
  run(process.execPath, [...CLI, ...args]).catch((e: { code: number; stderr: string }) => e);

describe('privagg init', () => {
  it('writes the documented example under the given name, one `up` accepts; never overwrites without --force', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'privagg-init-'));
    const file = join(dir, 'plant.yaml');
    const { stdout } = await run(process.execPath, [...CLI, 'init', file, '--name', 'plant-7']);
    expect(stdout).toContain(`Wrote ${file} (deployment "plant-7")`);
    const spec = loadDeploymentFile(file);
    expect(spec.name).toBe('plant-7');
    expect(readFileSync(file, 'utf8')).toContain('# required');
    writeFileSync(file, 'name: mine\n');
    const again = await fail(['init', file]);
    expect(again).toMatchObject({ code: 2 });
    expect((again as { stderr: string }).stderr).toContain(
      `${file} exists; give another file, or --force`,
    );
    expect(readFileSync(file, 'utf8')).toBe('name: mine\n');
    await run(process.execPath, [...CLI, 'init', file, '--force']);
    expect(loadDeploymentFile(file).name).toBe('my-deployment');
    const bad = await fail(['init', join(dir, 'x.yaml'), '--name', 'a b']);
    expect((bad as { stderr: string }).stderr).toContain('--name must be 1–64 of');
  }, 60_000);
});

describe('privagg completion', () => {
  it('bash: completes commands, subcommands, options (no hidden fault flags) and files, in a real bash', async () => {
    const { stdout: script } = await run(process.execPath, [...CLI, 'completion', 'bash']);
    expect(script).not.toContain('--fault-');
    const dir = mkdtempSync(join(tmpdir(), 'privagg-completion-'));
    writeFileSync(join(dir, 'privagg.bash'), script);
    const probe = [
      `source ${join(dir, 'privagg.bash')}`,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: bash, not a template
      't() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _privagg; echo "${COMPREPLY[*]}"; }',
      't privagg led',
      't privagg ledger v',
      't privagg demo --input-v',
      't privagg sizes --pro',
      `t privagg demo --out ${dir}/privagg.b`,
    ].join('\n');
    const { stdout } = await run('bash', ['-c', probe]);
    expect(stdout.split('\n').slice(0, 5)).toEqual([
      'ledger',
      'verify',
      '--input-validity',
      '--proofs',
      `${dir}/privagg.bash`,
    ]);
    const zsh = await run(process.execPath, [...CLI, 'completion', 'zsh']);
    expect(zsh.stdout).toMatch(/^autoload -U \+X bashcompinit && bashcompinit\n/);
    const bad = await fail(['completion', 'fish']);
    expect((bad as { stderr: string }).stderr).toContain(
      'the shell must be bash or zsh, got "fish"',
    );
  }, 60_000);
});
