// Small statistics helpers for the baselines.
import { selectKth } from '../model/profile.js';

/**
 * Inverse empirical CDF (Hyndman and Fan type 1): the smallest value v of the sample with at least p of the sample
 * <= v, i.e. sorted[ceil(p * n) - 1] (sorted[0] for p = 0). Example: [4, 1, 3, 2], p 0.5 -> 2, p 0.51 -> 3.
 * Uses quickselect on a copy (O(n)).
 */
export function quantileType1(values: readonly number[], p: number): number {
  const n = values.length;
  if (n === 0) return NaN;
  const k = Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1));
  const a = Float64Array.from(values);
  return selectKth(a, k);
}

