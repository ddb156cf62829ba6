import { ErrorCode, ensure, PrivaggError } from '../errors.js';
import {
  addRational,
  compareRational,
  describeRationalLike,
  formatRational,
  type Rational,
  type RationalLike,
  rational,
  rationalFromDecimal,
  signRational,
  subRational,
  toRational,
} from './rational.js';

/**
 * Privacy-budget accounting per principal (a querier, an OEM) under basic sequential
 * composition: spends of (ε₁, δ₁), …, (ε_k, δ_k) cost (Σεᵢ, Σδᵢ).
 *
 * Sums are exact rationals, so ten spends of ε = 0.1 use exactly a budget of 1 (numbers are
 * read as the decimal typed, see RationalLike) and no tolerance is needed: a spend is
 * refused iff the exact total would exceed the budget. A pure-ε budget (δ = 0) therefore
 * refuses every spend with δ > 0. Sans-I/O: the ledger is state to persist, via snapshot().
 */
export interface PrivacyBudget {
  readonly epsilon: Rational;
  readonly delta: Rational;
}

export interface PrivacySpend {
  readonly principal: string;
  readonly label: string;
  readonly epsilon: Rational;
  readonly delta: Rational;
}

/** JSON-safe state: rationals as 'p/q' strings. */
export interface AccountantSnapshot {
  readonly version: 1;
  readonly principals: readonly { principal: string; epsilon: string; delta: string }[];
  readonly spends: readonly { principal: string; label: string; epsilon: string; delta: string }[];
}

interface Account {
  readonly budget: PrivacyBudget;
  spent: PrivacyBudget;
}

const ZERO = rational(0);
const ONE = rational(1);

function epsilonOf(x: RationalLike): Rational {
  const e = toRational(x, 'epsilon');
  ensure(signRational(e) >= 0, 'ε must be ≥ 0', { epsilon: describeRationalLike(x) });
  return e;
}

function deltaOf(x: RationalLike): Rational {
  const d = toRational(x, 'delta');
  ensure(signRational(d) >= 0 && compareRational(d, ONE) < 0, 'δ must be in [0, 1)', {
    delta: describeRationalLike(x),
  });
  return d;
}

function checkName(principal: unknown): asserts principal is string {
  ensure(
    typeof principal === 'string' && principal.length > 0,
    'a principal is a non-empty string',
  );
}

export class PrivacyAccountant {
  private readonly accounts = new Map<string, Account>();
  private readonly spends: PrivacySpend[] = [];

  /** Gives `principal` a budget; δ defaults to 0 (pure ε-DP). A principal registers once. */
  register(principal: string, budget: { epsilon: RationalLike; delta?: RationalLike }): void {
    checkName(principal);
    ensure(!this.accounts.has(principal), 'principal already has a budget', { principal });
    this.accounts.set(principal, {
      budget: { epsilon: epsilonOf(budget.epsilon), delta: deltaOf(budget.delta ?? 0) },
      spent: { epsilon: ZERO, delta: ZERO },
    });
  }

  has(principal: string): boolean {
    return this.accounts.has(principal);
  }

  principals(): string[] {
    return [...this.accounts.keys()];
  }

  private account(principal: string): Account {
    const a = this.accounts.get(principal);
    if (a === undefined) {
      throw new PrivaggError(
        ErrorCode.UNKNOWN_PRINCIPAL,
        'no privacy budget is registered for this principal',
        {
          principal,
        },
      );
    }
    return a;
  }

  budget(principal: string): PrivacyBudget {
    return this.account(principal).budget;
  }

  spent(principal: string): PrivacyBudget {
    return this.account(principal).spent;
  }

  remaining(principal: string): PrivacyBudget {
    const { budget, spent } = this.account(principal);
    return {
      epsilon: subRational(budget.epsilon, spent.epsilon),
      delta: subRational(budget.delta, spent.delta),
    };
  }

  /** Whether spend() would succeed; throws only for an unknown principal or a bad (ε, δ). */
  canSpend(principal: string, epsilon: RationalLike, delta: RationalLike = 0): boolean {
    const { budget, spent } = this.account(principal);
    return (
      compareRational(addRational(spent.epsilon, epsilonOf(epsilon)), budget.epsilon) <= 0 &&
      compareRational(addRational(spent.delta, deltaOf(delta)), budget.delta) <= 0
    );
  }

  /**
   * Charges (ε, δ) to `principal` and records it under `label`. Refuses with
   * BUDGET_EXCEEDED, leaving every state unchanged, if either total would pass its budget.
   */
  spend(
    principal: string,
    epsilon: RationalLike,
    delta: RationalLike,
    label: string,
  ): PrivacySpend {
    const acc = this.account(principal);
    const e = epsilonOf(epsilon);
    const d = deltaOf(delta);
    ensure(typeof label === 'string', 'a spend label is a string');
    const nextE = addRational(acc.spent.epsilon, e);
    const nextD = addRational(acc.spent.delta, d);
    const overE = compareRational(nextE, acc.budget.epsilon) > 0;
    const overD = compareRational(nextD, acc.budget.delta) > 0;
    if (overE || overD) {
      const pureDelta = overD && signRational(acc.budget.delta) === 0;
      throw new PrivaggError(
        ErrorCode.BUDGET_EXCEEDED,
        pureDelta
          ? `principal has a pure ε budget (δ = 0) and cannot spend δ = ${formatRational(d)}`
          : `spend of (ε = ${formatRational(e)}, δ = ${formatRational(d)}) exceeds the remaining budget`,
        {
          principal,
          label,
          epsilon: formatRational(e),
          delta: formatRational(d),
          remainingEpsilon: formatRational(subRational(acc.budget.epsilon, acc.spent.epsilon)),
          remainingDelta: formatRational(subRational(acc.budget.delta, acc.spent.delta)),
        },
      );
    }
    const record: PrivacySpend = { principal, label, epsilon: e, delta: d };
    acc.spent = { epsilon: nextE, delta: nextD };
    this.spends.push(record);
    return record;
  }

  /** Spends in the order they were made, for one principal or all. */
  ledger(principal?: string): readonly PrivacySpend[] {
    if (principal === undefined) return [...this.spends];
    this.account(principal);
    return this.spends.filter((s) => s.principal === principal);
  }

  snapshot(): AccountantSnapshot {
    return {
      version: 1,
      principals: [...this.accounts].map(([principal, a]) => ({
        principal,
        epsilon: formatRational(a.budget.epsilon),
        delta: formatRational(a.budget.delta),
      })),
      spends: this.spends.map((s) => ({
        principal: s.principal,
        label: s.label,
        epsilon: formatRational(s.epsilon),
        delta: formatRational(s.delta),
      })),
    };
  }

  /**
   * Rebuilds an accountant from a snapshot by replaying every spend through spend(), so a
   * tampered ledger cannot restore a state past its budgets (BUDGET_EXCEEDED) or charge an
   * unregistered principal (UNKNOWN_PRINCIPAL); a malformed one is INVALID_ARGUMENT.
   */
  static restore(snapshot: unknown): PrivacyAccountant {
    const s = snapshot as AccountantSnapshot;
    ensure(
      typeof s === 'object' &&
        s !== null &&
        s.version === 1 &&
        Array.isArray(s.principals) &&
        Array.isArray(s.spends),
      'not a version-1 accountant snapshot',
    );
    const acc = new PrivacyAccountant();
    for (const p of s.principals) {
      ensure(typeof p?.epsilon === 'string' && typeof p.delta === 'string', 'bad principal entry');
      acc.register(p.principal, {
        epsilon: rationalFromDecimal(p.epsilon),
        delta: rationalFromDecimal(p.delta),
      });
    }
    for (const x of s.spends) {
      ensure(typeof x?.epsilon === 'string' && typeof x.delta === 'string', 'bad spend entry');
      checkName(x.principal);
      acc.spend(x.principal, rationalFromDecimal(x.epsilon), rationalFromDecimal(x.delta), x.label);
    }
    return acc;
  }
}
