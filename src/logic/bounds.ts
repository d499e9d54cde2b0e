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
