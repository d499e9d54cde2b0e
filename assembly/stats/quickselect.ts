// Quantiles of a slice by quickselect (Hoare, 1961; median-of-three pivot), far cheaper than sorting for a few levels.
// Interpolation follows Hyndman & Fan (1996) type 7 (R's default): position p*(n-1) between order statistics.

@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 3);
}

/** Reorders a[0..n) so that a[k] is the k-th smallest (0-based) and returns it. */
export function selectK(a: usize, n: i32, k: i32): f64 {
  return selectKFrom(a, 0, n, k);
}

/**
 * Like selectK when a[0..from) already holds the `from` smallest values (e.g. after selecting a lower order
 * statistic): only a[from..n) is searched. Used to read several ascending levels for little more than one pass.
 */
export function selectKFrom(a: usize, from: i32, n: i32, k: i32): f64 {
  let lo = from, hi = n - 1;
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

/**
 * Type-7 quantiles at `nLevels` levels (doubles at `levels`, any order) of a[0..n) (n >= 1, finite, reordered in
 * place) into out. Levels are visited in ascending order so each selection starts where the previous one ended
 * (up to 32 levels that way; beyond, each level is selected independently).
 */
export function quantilesInPlace(a: usize, n: i32, levels: usize, nLevels: i32, out: usize): void {
  if (nLevels > 32) {
    for (let l = 0; l < nLevels; l++) {
      store<f64>(out + (<usize>l << 3), quantileInPlace(a, n, load<f64>(levels + (<usize>l << 3))));
    }
    return;
  }
  let visited: u32 = 0;
  let from = 0;
  for (let step = 0; step < nLevels; step++) {
    let best = -1;
    let bestPos = Infinity;
    for (let l = 0; l < nLevels; l++) {
      if (visited & (<u32>1 << <u32>l)) continue;
      let p = load<f64>(levels + (<usize>l << 3));
      p = p < 0.0 ? 0.0 : p > 1.0 ? 1.0 : isNaN(p) ? 0.5 : p;
      const pos = p * <f64>(n - 1);
      if (best < 0 || pos < bestPos) {
        best = l;
        bestPos = pos;
      }
    }
    visited |= <u32>1 << <u32>best;
    const k = <i32>Math.floor(bestPos);
    const lo = selectKFrom(a, from < k ? from : k, n, k);
    from = k;
    const frac = bestPos - <f64>k;
    let v = lo;
    if (frac > 0.0 && k + 1 < n) v = lo + frac * (minFrom(a, k + 1, n) - lo);
    store<f64>(out + (<usize>best << 3), v);
  }
}
