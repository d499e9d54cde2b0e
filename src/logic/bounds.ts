// Bounds on an allocation: configured minimum and maximum, and never below the recent peak of usage.

export interface BoundsConfig {
  /** Smallest allocation, in the resource's base unit. */
  min: number;
  /** Largest allocation (Infinity: none). */
  max: number;
  /** Window over which the observed peak is a floor, seconds (0 disables the floor). */
  safetyWindowS: number;
}

export const DEFAULT_BOUNDS: Readonly<BoundsConfig> = Object.freeze({ min: 0, max: Infinity, safetyWindowS: 600 });

/**
 * Applies the bounds. The recent peak wins over `max` only up to `max` (an operator's ceiling is never exceeded);
 * it is a floor because a tenant that just used that much is likely to again within the safety window.
 */
export function applyBounds(value: number, recentPeak: number, cfg: BoundsConfig): number {
  let v = Number.isFinite(value) ? value : 0;
  if (Number.isFinite(recentPeak) && recentPeak > v) v = recentPeak;
  if (v < cfg.min) v = cfg.min;
  if (v > cfg.max) v = cfg.max;
  return v;
}

/** The largest finite value among the last `count` entries of `values` (NaN when none). */
export function recentPeak(values: ArrayLike<number>, count: number): number {
  let peak = NaN;
  const end = values.length;
  for (let i = Math.max(0, end - count); i < end; i++) {
    const v = values[i];
    if (v === v && !(v <= peak)) peak = v;
  }
  return peak;
}

/** How far back the demand of this time of day is read (a day and a week: daily and weekly schedules), seconds. */
export const RECURRING_LAGS_S: readonly number[] = [86_400, 7 * 86_400];

/**
 * The demand a tenant showed at this time of day before: the largest finite value of `values` in
 * [at - lag, at - lag + span) over `lagSteps` (NaN when none, and for indices `values` does not hold). `at` is the
 * index of the first step the allocation covers and `span` the steps it covers.
 */
export function recurringPeak(values: ArrayLike<number>, at: number, span: number, lagSteps: readonly number[]): number {
  let peak = NaN;
  for (const lag of lagSteps) {
    const end = Math.min(values.length, at - lag + span);
    for (let i = Math.max(0, at - lag); i < end; i++) {
      const v = values[i];
      if (v === v && !(v <= peak)) peak = v;
    }
  }
  return peak;
}

/** A range of allocations, low <= high. */
export interface Band {
  low: number;
  high: number;
}

/**
 * The VPA-shaped bounds of a recommendation whose applied `target` comes from a sticky policy. The forecast band
 * says where a fresh decision would land (a fresh increase lands inside it: its level is at most the band's top
 * level). The policy is sticky on purpose, so the target it applies can lie outside the band: the reclamation hold
 * and its hysteresis keep an allocation above a falling upper quantile until usage has proved low (a shrink earlier
 * would be premature), and the change budget keeps it below a rising need until a token refills. The recommendation's
 * range is therefore the range of allocations the policy currently stands behind: the forecast band joined with the
 * allocation it holds, `[min(band.low, target), max(band.high, target)]`, so lowerBound <= target <= upperBound always
 * holds, and the distance between the target and the band stays visible (the decision's `reason` says which
 * post-processor held it; `uncappedTarget` is the fresh value before bounds, budget and hold).
 * A non-finite target (no decision yet) leaves the band as it is.
 */
export function recommendationBounds(band: Band, target: number): { lowerBound: number; upperBound: number } {
  if (!Number.isFinite(target)) return { lowerBound: band.low, upperBound: band.high };
  return { lowerBound: Math.min(band.low, target), upperBound: Math.max(band.high, target) };
}
