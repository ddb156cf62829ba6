import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PrivacyAccountant } from '../../src/dp/accountant.js';
import {
  addRational,
  compareRational,
  rational,
  rationalToNumber,
  subRational,
} from '../../src/dp/rational.js';
import { ErrorCode } from '../../src/errors.js';

const code = (c: string) => expect.objectContaining({ code: c });

describe('PrivacyAccountant (basic sequential composition)', () => {
  it('adds spends exactly: ten spends of ε = 0.1 use a budget of 1, the eleventh is refused', () => {
    const acc = new PrivacyAccountant();
    acc.register('oem-1', { epsilon: 1 });
    for (let i = 0; i < 10; i++) acc.spend('oem-1', 0.1, 0, `query ${i}`);
    expect(acc.remaining('oem-1')).toEqual({ epsilon: rational(0), delta: rational(0) });
    expect(acc.canSpend('oem-1', 0.1)).toBe(false);
    expect(() => acc.spend('oem-1', 0.1, 0, 'one too many')).toThrowError(
      code(ErrorCode.BUDGET_EXCEEDED),
    );
    expect(acc.canSpend('oem-1', 0)).toBe(true);
  });

  it('adds δ too, and a pure-ε budget refuses any δ > 0', () => {
    const acc = new PrivacyAccountant();
    acc.register('approx', { epsilon: 2, delta: '1e-5' });
    acc.register('pure', { epsilon: 2 });
    acc.spend('approx', 0.5, '4e-6', 'a');
    acc.spend('approx', 0.5, '6e-6', 'b');
    expect(acc.remaining('approx')).toEqual({ epsilon: rational(1), delta: rational(0) });
    expect(() => acc.spend('approx', 0.1, '1e-12', 'c')).toThrowError(
      code(ErrorCode.BUDGET_EXCEEDED),
    );
    expect(() => acc.spend('pure', 0.1, '1e-12', 'd')).toThrowError(/pure ε budget/);
    expect(() => acc.spend('pure', 0.1, '1e-12', 'd')).toThrowError(
      code(ErrorCode.BUDGET_EXCEEDED),
    );
    acc.spend('pure', 2, 0, 'all of it');
    expect(acc.ledger('pure').map((s) => s.label)).toEqual(['all of it']);
  });

  it('leaves the state unchanged when it refuses', () => {
    const acc = new PrivacyAccountant();
    acc.register('p', { epsilon: 1, delta: '1e-6' });
    acc.spend('p', 0.75, 0, 'first');
    const before = acc.snapshot();
    expect(() => acc.spend('p', 0.5, 0, 'too much ε')).toThrowError(
      code(ErrorCode.BUDGET_EXCEEDED),
    );
    expect(() => acc.spend('p', 0.1, '2e-6', 'too much δ')).toThrowError(
      code(ErrorCode.BUDGET_EXCEEDED),
    );
    expect(acc.snapshot()).toEqual(before);
    expect(acc.remaining('p').epsilon).toEqual(rational(1, 4));
  });

  it('names the unknown principal', () => {
    const acc = new PrivacyAccountant();
    for (const f of [
      () => acc.spend('nobody', 0.1, 0, 'x'),
      () => acc.remaining('nobody'),
      () => acc.budget('nobody'),
      () => acc.spent('nobody'),
      () => acc.canSpend('nobody', 0.1),
      () => acc.ledger('nobody'),
    ]) {
      expect(f).toThrowError(code(ErrorCode.UNKNOWN_PRINCIPAL));
    }
  });

  it('rejects malformed budgets and spends with INVALID_ARGUMENT', () => {
    const acc = new PrivacyAccountant();
    acc.register('p', { epsilon: 1 });
    for (const f of [
      () => acc.register('p', { epsilon: 1 }), // registered twice
      () => acc.register('', { epsilon: 1 }),
      () => acc.register('q', { epsilon: -1 }),
      () => acc.register('q', { epsilon: Number.NaN }),
      () => acc.register('q', { epsilon: 1, delta: 1 }),
      () => acc.register('q', { epsilon: 1, delta: -0.1 }),
      () => acc.spend('p', -0.1, 0, 'negative ε'),
      () => acc.spend('p', 0.1, -1e-9, 'negative δ'),
      () => acc.spend('p', Number.NaN, 0, 'NaN'),
      () => acc.spend('p', 0.1, 0, 42 as unknown as string),
    ]) {
      expect(f).toThrowError(code(ErrorCode.INVALID_ARGUMENT));
    }
    expect(acc.principals()).toEqual(['p']);
  });

  it('serialises its ledger to JSON and restores it', () => {
    const acc = new PrivacyAccountant();
    acc.register('oem-1', { epsilon: '1/3', delta: '1e-6' });
    acc.register('oem-2', { epsilon: 5 });
    acc.spend('oem-1', '1/9', '1e-7', 'trend week 1');
    acc.spend('oem-2', 0.25, 0, 'count');
    acc.spend('oem-1', '1/9', 0, 'trend week 2');
    const json = JSON.stringify(acc.snapshot());
    const back = PrivacyAccountant.restore(JSON.parse(json));
    expect(back.snapshot()).toEqual(acc.snapshot());
    expect(back.remaining('oem-1')).toEqual({
      epsilon: rational(1, 9),
      delta: rational(9, 10_000_000),
    });
    expect(back.ledger().map((s) => s.label)).toEqual(['trend week 1', 'count', 'trend week 2']);
    expect(back.has('oem-2')).toBe(true);
  });

  it('refuses to restore a ledger past its budget, for an unknown principal, or malformed', () => {
    const good = {
      version: 1,
      principals: [{ principal: 'p', epsilon: '1', delta: '0' }],
      spends: [{ principal: 'p', label: 'a', epsilon: '1/2', delta: '0' }],
    };
    expect(() =>
      PrivacyAccountant.restore({
        ...good,
        spends: [...good.spends, ...good.spends, ...good.spends],
      }),
    ).toThrowError(code(ErrorCode.BUDGET_EXCEEDED));
    expect(() =>
      PrivacyAccountant.restore({ ...good, spends: [{ ...good.spends[0], principal: 'q' }] }),
    ).toThrowError(code(ErrorCode.UNKNOWN_PRINCIPAL));
    for (const bad of [
      null,
      42,
      { ...good, version: 2 },
      { ...good, spends: [{ principal: 'p' }] },
      {
        ...good,
        principals: [{ principal: 'p', epsilon: 'one', delta: '0' }],
      },
    ]) {
      expect(() => PrivacyAccountant.restore(bad)).toThrowError(code(ErrorCode.INVALID_ARGUMENT));
    }
  });

  it('never lets the spent total pass the budget, and spent + remaining = budget', () => {
    const amount = fc.oneof(
      fc.integer({ min: 0, max: 1000 }).map((k) => `${k}/1000`),
      fc.constantFrom(0.1, 0.2, 0.3, 1 / 3, 0.7),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(amount, fc.integer({ min: 0, max: 3 })), { maxLength: 40 }),
        (ops) => {
          const acc = new PrivacyAccountant();
          acc.register('p', { epsilon: 2, delta: '1e-5' });
          for (const [eps, deltaMicro] of ops) {
            const delta = `${deltaMicro}e-6`;
            const ok = acc.canSpend('p', eps, delta);
            try {
              acc.spend('p', eps, delta, 'op');
              expect(ok).toBe(true);
            } catch (e) {
              expect(ok).toBe(false);
              expect(e).toEqual(code(ErrorCode.BUDGET_EXCEEDED));
            }
            const { epsilon, delta: d } = acc.spent('p');
            expect(compareRational(epsilon, rational(2))).toBeLessThanOrEqual(0);
            expect(rationalToNumber(d)).toBeLessThanOrEqual(1e-5);
            const rem = acc.remaining('p');
            expect(addRational(rem.epsilon, epsilon)).toEqual(rational(2));
            expect(subRational(acc.budget('p').delta, rem.delta)).toEqual(d);
          }
        },
      ),
    );
  });
});
