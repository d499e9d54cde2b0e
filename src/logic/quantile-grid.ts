// Reads a value at any quantile level from a forecast's quantile grid (interpolation inside, normal-tail extrapolation outside).

// Coefficients of Acklam's approximation (module constants: the function runs per Monte Carlo draw).
const NQ_A = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
const NQ_B = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
const NQ_C = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
const NQ_D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];

/**
 * Inverse of the standard normal CDF (Acklam's rational approximation, relative error < 1.15e-9).
 * Used only to extrapolate a quantile grid beyond its last level, where linear interpolation in the level
 * would understate a tail (e.g. from the 0.99 and 0.995 quantiles to 0.999).
 */
export function normalQuantile(p: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  const a = NQ_A, b = NQ_B, c = NQ_C, d = NQ_D;
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/**
 * The value at `level` of a quantile grid: `values[j]` is the quantile at `levels[j]` (levels ascending, values
 * non-decreasing). Inside the grid: linear in the level. Outside: linear in the normal score z(level) using the two
 * outermost points, so that, for a Gaussian-like tail, q(0.999) is extrapolated from q(0.99) and q(0.995) sensibly.
 * Example: levels [0.5, 0.9], values [10, 14]: level 0.7 gives 12; level 0.95 gives 14 + 4 * (1.645 - 1.2816) / 1.2816 = 15.13.
 */
const zCache = new WeakMap<readonly number[], Float64Array>();

function zOf(levels: readonly number[]): Float64Array {
  let z = zCache.get(levels);
  if (!z) {
    z = Float64Array.from(levels, normalQuantile);
    zCache.set(levels, z);
  }
  return z;
}

export function valueAtLevel(levels: readonly number[], values: ArrayLike<number>, level: number, offset = 0): number {
  const n = levels.length;
  if (n === 0) return NaN;
  if (n === 1) return values[offset];
  if (level <= levels[0] || level >= levels[n - 1]) {
    const below = level <= levels[0];
    const i = below ? 0 : n - 2;
    const j = i + 1;
    const z = zOf(levels);
    const slope = z[j] > z[i] ? Math.max(0, values[offset + j] - values[offset + i]) / (z[j] - z[i]) : 0;
    const anchor = below ? 0 : n - 1;
    const v = values[offset + anchor] + slope * (normalQuantile(level) - z[anchor]);
    return below ? Math.min(v, values[offset]) : Math.max(v, values[offset + n - 1]);
  }
  let hi = 1;
  while (levels[hi] < level) hi++;
  const lo = hi - 1;
  const w = (level - levels[lo]) / (levels[hi] - levels[lo]);
  return values[offset + lo] + w * (values[offset + hi] - values[offset + lo]);
}
