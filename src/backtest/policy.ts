// The contract every backtest policy implements, and what the replay tells it about the run.

export const POLICY_NAMES = ['foresight', 'vpa', 'vpa-updater', 'autopilot', 'persistence', 'reactive', 'static', 'oracle'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

export interface PolicyContext {
  tenants: readonly string[];
  resource: string;
  unit?: string;
  startS: number;
  intervalS: number;
  nSteps: number;
  /** Actuation lead, seconds: the allocation in force at t is decided at t - lead. */
  leadS: number;
  /** Steps in a day (warm-up and "first day" rules). */
  stepsPerDay: number;
  /** Steps after a tenant's first sample before it is scored (src/backtest/scoring.ts); absent: not known. */
  warmupSteps?: number;
}

export interface Policy {
  readonly name: PolicyName;
  /** Unique label in a run, e.g. "vpa" or "persistence p=0.9" in a sweep. */
  readonly label: string;
  /** The knob a sweep varies and its value here (absent: the policy has none). */
  readonly knob?: { name: string; value: number };
  /**
   * Decides the allocation in force at step i for every tenant (written into `out`, one per tenant).
   * `visible[k]` holds tenant k's samples taken before (t_i - lead) only; steps are called in increasing order.
   * Only `oracle` is given the future, through its constructor.
   */
  step(i: number, visible: readonly Float64Array[], out: Float64Array): void;
}

/** Time of step i. */
export function stepTime(ctx: PolicyContext, i: number): number {
  return ctx.startS + i * ctx.intervalS;
}

/**
 * Number of samples visible when deciding step i: sample j (covering [t_j, t_j + interval)) is complete by the
 * decision time t_i - lead exactly when t_j + interval <= t_i - lead, i.e. j <= i - lead/interval - 1, so the count is
 * floor(i - lead/interval). (With a lead that is not a whole number of steps, the sample still being measured at
 * t_i - lead is not visible.)
 */
export function visibleCount(i: number, leadS: number, intervalS: number): number {
  return Math.max(0, Math.floor(i - leadS / intervalS + 1e-9));
}

/** Index of the last finite value of a series (-1 when none). */
export function lastFiniteIndex(v: ArrayLike<number>): number {
  for (let j = v.length - 1; j >= 0; j--) if (v[j] === v[j]) return j;
  return -1;
}

/** Last finite value of a series (NaN when none). */
export function lastFinite(v: ArrayLike<number>): number {
  const j = lastFiniteIndex(v);
  return j < 0 ? NaN : v[j];
}
