// Small statistics helpers for the baselines (no dependencies).

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
  return select(a, k);
}

/** k-th smallest (0-based) of a, partially reordering a (Hoare's quickselect, median-of-three pivot). */
export function select(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >> 1;
    const x = a[lo];
    const y = a[mid];
    const z = a[hi];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}
