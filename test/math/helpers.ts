import { type ErrorCode, isPrivaggError } from '../../src/errors.js';

/** Asserts that `f` throws a PrivaggError with exactly this code. */
export function expectCode(f: () => unknown, code: ErrorCode): void {
  try {
    f();
  } catch (e) {
    if (isPrivaggError(e, code)) return;
    throw new Error(`expected ${code}, got ${String(e)}`);
  }
  throw new Error(`expected ${code}, nothing thrown`);
}
