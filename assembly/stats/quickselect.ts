// Quantiles of a slice by quickselect (Hoare, 1961; median-of-three pivot), far cheaper than sorting for a few levels.
// Interpolation follows Hyndman & Fan (1996) type 7 (R's default): position p*(n-1) between order statistics.

@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 3);
}

/** Reorders a[lo..hi] so that a[k] is the k-th smallest (0-based) and returns it. */
export function selectK(a: usize, n: i32, k: i32): f64 {
  let lo = 0, hi = n - 1;
  while (hi > lo) {
    const mid = lo + ((hi - lo) >> 1);
    // median of three into a[mid]
    let x = load<f64>(at(a, lo)), y = load<f64>(at(a, mid)), z = load<f64>(at(a, hi));
    if (y < x) { const t = x; x = y; y = t; }
    if (z < y) { const t = y; y = z; z = t; if (y < x) { const t2 = x; x = y; y = t2; } }
    const pivot = y;
    let i = lo, j = hi;
    while (i <= j) {
      while (load<f64>(at(a, i)) < pivot) i++;
      while (load<f64>(at(a, j)) > pivot) j--;
      if (i <= j) {
        const t = load<f64>(at(a, i));
        store<f64>(at(a, i), load<f64>(at(a, j)));
        store<f64>(at(a, j), t);
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return load<f64>(at(a, k));
}

/** Smallest value of a[from..n). */
function minFrom(a: usize, from: i32, n: i32): f64 {
  let m = load<f64>(at(a, from));
  for (let i = from + 1; i < n; i++) {
    const v = load<f64>(at(a, i));
    if (v < m) m = v;
  }
  return m;
}

/**
 * Type-7 quantile at level p in [0,1] of the n finite values at a (a is reordered in place). n must be >= 1.
 */
export function quantileInPlace(a: usize, n: i32, p: f64): f64 {
  if (n == 1) return load<f64>(a);
  const pos = (p < 0.0 ? 0.0 : p > 1.0 ? 1.0 : p) * <f64>(n - 1);
  const k = <i32>Math.floor(pos);
  const frac = pos - <f64>k;
  const lo = selectK(a, n, k);
  if (frac == 0.0 || k + 1 >= n) return lo;
  // after selection every element above k is >= a[k]: the next order statistic is their minimum
  const hi = minFrom(a, k + 1, n);
  return lo + frac * (hi - lo);
}
