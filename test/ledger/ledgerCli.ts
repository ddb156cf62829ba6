import { Command } from 'commander';
import { vi } from 'vitest';
import { registerLedgerCommands } from '../../src/cli/ledger.js';
import { isPrivaggError } from '../../src/errors.js';

/**
 * `privagg ledger …` run in this process (the command's own code, commander included),
 * with its output captured: what a user sees, and the exit code main.ts would give
 * (1 for a failed check, 2 for a PrivaggError thrown by the command, as main.ts does).
 */
export async function runLedgerCli(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
  const program = new Command('privagg').exitOverride();
  registerLedgerCommands(program);
  const before = process.exitCode;
  process.exitCode = undefined;
  let code = 0;
  try {
    await program.parseAsync(['node', 'privagg', 'ledger', ...args]);
    code = Number(process.exitCode ?? 0);
  } catch (e) {
    if (!isPrivaggError(e)) throw e;
    err.push(e.message);
    code = 2;
  } finally {
    process.exitCode = before;
    log.mockRestore();
    error.mockRestore();
  }
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}
