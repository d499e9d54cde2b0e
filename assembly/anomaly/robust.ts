// Robust statistics for the anomaly kernels: median and MAD over a sorted window, Gaussian tail probability.
import { selectK } from "../stats/quickselect";

// Quickselect (Hoare's FIND) lives in stats/quickselect.ts; re-exported for the detectors.
export { selectK };

let scratch: usize = 0;
let scratchLen: i32 = 0;

/** A process-wide scratch area of at least n doubles (grown on demand, never shrunk; not reentrant). */
export function scratchF64(n: i32): usize {
  if (n > scratchLen) {
    if (scratch != 0) heap.free(scratch);
    scratch = heap.alloc(<usize>n << 3);
    scratchLen = n;
  }
  return scratch;
}

/**
 * Robust z-score of `e` against the n float32 values of `sorted` (ascending, as slideWindow keeps them):
 * (e - median) / scale, where scale = max(1.4826 MAD, 1.2533 mean|r - median|, floor).
 * 1.4826 = 1/Phi^-1(3/4) makes the MAD consistent for the Gaussian sigma (Rousseeuw & Croux 1993, JASA 88(424));
 * 1.2533 = sqrt(pi/2) does the same for the mean absolute deviation, the fallback when more than half the residuals
 * are equal (MAD = 0, e.g. quantised or mostly constant series). `floor` keeps a constant series finite.
 * Worked example: window {1, 2, 3, 4, 100}, e = 10: median 3, |r - 3| = {2, 1, 0, 1, 97}, MAD 1, scale
 * max(1.4826, 1.2533 * 20.2) = 25.3, z = 0.28 (the outlier 100 inflates the mean-deviation fallback, so no
 * false alarm after a burst).
 * With the window sorted the median is read in place, and the MAD is a merge: the deviations below the median,
 * read leftwards, and those above it, read rightwards, are two ascending runs, so their k-th smallest takes k steps.
 * Both medians are the mean of the two middle values when n is even.
 */
export function robustZ(sorted: usize, n: i32, e: f64, floor: f64): f64 {
  const h = n >> 1;
  const upper = f32At(sorted, h);
  const med = n & 1 ? upper : 0.5 * (f32At(sorted, h - 1) + upper);
  // First index at or above the median: [0, split) lies below it, [split, n) at or above it.
  let split = h;
  while (split > 0 && f32At(sorted, split - 1) >= med) split--;
  while (split < n && f32At(sorted, split) < med) split++;
  let sumAbs = 0.0;
  for (let i = 0; i < split; i++) sumAbs += med - f32At(sorted, i);
  for (let i = split; i < n; i++) sumAbs += f32At(sorted, i) - med;
  // Merge the two runs up to the h-th smallest deviation (0-based), keeping the one before it.
  let l = split - 1, r = split;
  let prev = 0.0, cur = 0.0;
  for (let k = 0; k <= h; k++) {
    const dl = l >= 0 ? med - f32At(sorted, l) : Infinity;
    const dr = r < n ? f32At(sorted, r) - med : Infinity;
    prev = cur;
    if (dl <= dr) {
      cur = dl;
      l--;
    } else {
      cur = dr;
      r++;
    }
  }
  const mad = n & 1 ? cur : 0.5 * (prev + cur);
  let scale = 1.4826 * mad;
  const alt = 1.2533 * sumAbs / <f64>n;
  if (alt > scale) scale = alt;
  if (floor > scale) scale = floor;
  return (e - med) / scale;
}

@inline function f32At(p: usize, i: i32): f64 {
  return <f64>load<f32>(p + (<usize>i << 2));
}

/** The order key of a window value: NaN (an overflowed residual) sorts as +Infinity, so the window stays ordered. */
@inline function sortKey(v: f64): f32 {
  return v != v ? Infinity : <f32>v;
}

/** First index in the ascending float32 run sorted[0..n) whose value is not below v. */
function lowerBound(sorted: usize, n: i32, v: f32): i32 {
  let lo = 0, hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (load<f32>(sorted + (<usize>mid << 2)) < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Writes v (as float32) to slot ri of a ring of w float32 values that holds `held` of them, and to the ring's sorted
 * copy: once the ring is full, the value the slot held leaves the sorted copy first.
 */
export function slideWindow(ring: usize, sorted: usize, w: i32, held: i32, ri: i32, v: f64): void {
  const at = ring + (<usize>ri << 2);
  let n = held;
  if (held == w) {
    sortedRemove(sorted, n, <f64>load<f32>(at));
    n--;
  }
  store<f32>(at, <f32>v);
  sortedInsert(sorted, n, v);
}

/** Inserts v (as float32) into the ascending run sorted[0..n), which must have room for n + 1 values. */
function sortedInsert(sorted: usize, n: i32, v: f64): void {
  const key = sortKey(v);
  const at = lowerBound(sorted, n, key);
  const p = sorted + (<usize>at << 2);
  memory.copy(p + 4, p, <usize>(n - at) << 2);
  store<f32>(p, key);
}

/**
 * Removes one occurrence of v (as float32, as it was inserted) from the ascending run sorted[0..n), leaving n - 1
 * values. A value that is not there (only a corrupted state) removes the largest instead, so that the run never
 * outgrows its window.
 */
function sortedRemove(sorted: usize, n: i32, v: f64): void {
  if (n <= 0) return;
  const key = sortKey(v);
  let at = lowerBound(sorted, n, key);
  if (at >= n || load<f32>(sorted + (<usize>at << 2)) != key) at = n - 1;
  const p = sorted + (<usize>at << 2);
  memory.copy(p, p + 4, <usize>(n - at - 1) << 2);
}

/**
 * Upper tail Q(z) = P(Z > z) of the standard normal, from erfc by the Chebyshev-fitted approximation `erfcc` of
 * Numerical Recipes in C (Press et al., 2nd ed., 1992, section 6.2; fractional error < 1.2e-7 everywhere):
 * Q(z) = erfc(z / sqrt 2) / 2. Example: Q(0) = 0.5, Q(1.6449) = 0.05, Q(3.0902) = 0.001.
 */
export function gaussTail(z: f64): f64 {
  const x = z / Math.SQRT2;
  const ax = Math.abs(x);
  const t = 1.0 / (1.0 + 0.5 * ax);
  const r = t * Math.exp(-ax * ax - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 +
    t * 0.17087277)))))))));
  return 0.5 * (x >= 0.0 ? r : 2.0 - r);
}

/**
 * Tail scale tau of the peaks-over-threshold likelihoods: the mean excess of the largest values of a[0..n) over the
 * k-th smallest (`atK`, as the caller may have floored it), after selectK(a, n, k). While fewer than `minTail` values
 * lie above k (a young window: none below 100 values at the 99th percentile), the excess is measured over the
 * (n - 1 - minTail)-th smallest instead, so that tau always rests on `minTail` values. An exponential tail has the
 * same mean excess over any high threshold (memorylessness), and a lighter one a larger excess over a lower
 * threshold, so this errs towards a wider tail; a tau from one or no excess (floored at 5% of the threshold) gave
 * L >= 0.9999 on 0.6% of pure-noise points 64-100, 60 times the nominal rate.
 * Returns 0 when n <= 1.
 */
export function tailScale(a: usize, n: i32, k: i32, atK: f64, minTail: i32): f64 {
  let kt = k;
  let t = atK;
  if (n - 1 - k < minTail) {
    kt = n - 1 - minTail;
    if (kt < 0) kt = 0;
    // a[0..k) holds the k smallest values, so the kt-th smallest of all is the kt-th smallest of a[0..k).
    if (kt < k) t = selectK(a, k, kt);
  }
  if (kt + 1 >= n) return 0.0;
  let ex = 0.0;
  for (let i = kt + 1; i < n; i++) ex += load<f64>(a + (<usize>i << 3)) - t;
  return ex / <f64>(n - 1 - kt);
}

/**
 * Shape xi of a generalised Pareto tail fitted to the excesses of a[k+1..n) over a[k], after selectK(a, n, k), by
 * probability-weighted moments (Hosking & Wallis 1987, Technometrics 29(3), with their k = -xi): with the m excesses
 * y_0 <= ... <= y_(m-1), b0 their mean and b1 the mean of y_i i / (m - 1), xi = 2 - b0 / (2 b1 - b0). An exponential
 * tail has b1 = 3 b0 / 4 and xi = 0; the heavier the tail, the more of the sum its largest excesses carry and the
 * nearer b1 comes to b0 (xi -> 1). Sorts a[k+1..n) in place. Clamped to [0, maxXi] (a lighter-than-exponential tail
 * is kept exponential); 0 with fewer than minN excesses.
 * Example: excesses 1, 2, 3, 4 (uniform, a bounded tail): b0 = 2.5, b1 = (0 + 2/3 + 2 + 4) / 4 = 5/3, xi = 2 - 2.5 /
 * (10/3 - 2.5) = -1, clamped to 0.
 */
export function gpdShape(a: usize, n: i32, k: i32, minN: i32, maxXi: f64): f64 {
  const m = n - 1 - k;
  if (m < minN || m < 2) return 0.0;
  const base = a + (<usize>(k + 1) << 3);
  const t = load<f64>(a + (<usize>k << 3));
  // in order already after selectTail: one pass then
  sortSmall(base, m);
  let b0 = 0.0, b1 = 0.0;
  for (let i = 0; i < m; i++) {
    const y = load<f64>(base + (<usize>i << 3)) - t;
    b0 += y;
    b1 += y * <f64>i;
  }
  b0 /= <f64>m;
  b1 /= <f64>m * <f64>(m - 1);
  const den = 2.0 * b1 - b0;
  if (!(b0 > 0.0) || !(den > 0.0)) return 0.0;
  const xi = 2.0 - b0 / den;
  return xi > maxXi ? maxXi : xi > 0.0 ? xi : 0.0;
}

/** Share of a calibration window whose excesses over its own quantile the tail's shape is fitted to (the top 5%:
 *  99 values of a full window of 2000, where the 99th percentile leaves 19, too few for a shape). */
const SHAPE_TOP: f64 = 0.05;
/** Excesses the shape rests on at least (a window of 1,001 values or more); younger windows keep xi = 0. */
const SHAPE_MIN: i32 = 50;
/** Largest shape used: xi -> 1 has no mean excess, and the scale below is derived from one. */
const SHAPE_MAX: f64 = 0.9;

/** Index in a window of n values of the smallest value the tail's shape rests on (its 1 - SHAPE_TOP quantile), below
 *  k, the threshold's; -1 when there is none. */
function shapeIndex(n: i32, k: i32): i32 {
  const k5 = <i32>Math.floor((1.0 - SHAPE_TOP) * <f64>n);
  return k5 < k ? k5 : k - 1;
}

/** Ascending Shell sort (gaps 40, 13, 4, 1: Knuth's 3h + 1) of the m doubles at p (about 100 here: fewer moves than
 *  an insertion sort on values in no order; on values in order already, one pass per gap). */
function sortSmall(p: usize, m: i32): void {
  for (let g = 40; g >= 1; g = (g - 1) / 3) {
    for (let i = g; i < m; i++) {
      const v = load<f64>(p + (<usize>i << 3));
      let j = i - g;
      while (j >= 0 && load<f64>(p + (<usize>j << 3)) > v) {
        store<f64>(p + (<usize>(j + g) << 3), load<f64>(p + (<usize>j << 3)));
        j -= g;
      }
      store<f64>(p + (<usize>(j + g) << 3), v);
    }
  }
}

/**
 * Orders a calibration window a[0..n) for its tail and returns its k-th smallest value, the threshold: afterwards
 * a[0..k) holds the k smallest values (as after selectK(a, n, k), what tailScale needs) and the top SHAPE_TOP lies
 * in ascending order at the end (what tailShape reads). One selection of the (1 - SHAPE_TOP) quantile and a sort of
 * the values above it, instead of a selection for each of the two quantiles.
 */
export function selectTail(a: usize, n: i32, k: i32): f64 {
  const k5 = shapeIndex(n, k);
  if (k5 < 0) return selectK(a, n, k);
  selectK(a, n, k5);
  sortSmall(a + (<usize>(k5 + 1) << 3), n - 1 - k5);
  return load<f64>(a + (<usize>k << 3));
}

/**
 * Shape xi of the calibration window a[0..n), after selectTail(a, n, k): gpdShape over the window's top SHAPE_TOP,
 * the excesses over its (1 - SHAPE_TOP) quantile. A generalised Pareto tail has the same shape over every high
 * threshold, so this xi holds above the k-th smallest too.
 */
export function tailShape(a: usize, n: i32, k: i32): f64 {
  const k5 = shapeIndex(n, k);
  return k5 < 0 ? 0.0 : gpdShape(a, n, k5, SHAPE_MIN, SHAPE_MAX);
}

/**
 * Tail probability of the peaks-over-threshold likelihoods at x above the threshold u whose exceedance probability is
 * pU: the larger of the exponential pU exp(-(x - u) / tau) and the generalised Pareto pU (1 + xi (x - u) / sigma)^(-1 /
 * xi), sigma = tau (1 - xi), both with the mean excess over u that tailScale measured (tau). The Pareto tail carries
 * the far levels of heavy-tailed scores, which the exponential puts too close; matched to the same mean excess, it
 * puts more of the probability just above u than the exponential does (for xi above about 0.3 it would cross
 * L >= 0.999 more easily: Cauchy noise 0.16% of the points where the exponential gave 0.13%), so below the levels
 * where it is the larger of the two the exponential stays. Never lower than the exponential: a threshold on L is
 * crossed no more often than with the exponential alone, at any level. Equal to it at xi = 0.
 * Example: pU = 0.01, tau = 1, x - u = 4.6: 1.0e-4 at xi = 0, 2.2e-4 at xi = 0.2 (so L >= 0.9999 needs x - u = 6.0
 * instead); x - u = 1 at xi = 0.7: the Pareto 1.8e-3, the exponential 3.7e-3 (p = 3.7e-3).
 */
export function tailProbability(x: f64, u: f64, pU: f64, tau: f64, xi: f64): f64 {
  const y = x - u;
  const e = Math.exp(-y / tau);
  const g = gpdSurvival(y, xi, tau * (1.0 - xi));
  return pU * (g > e ? g : e);
}

/** P(Y > y) of a generalised Pareto excess Y of shape xi >= 0 and scale sigma: (1 + xi y / sigma)^(-1 / xi), the
 *  exponential exp(-y / sigma) at xi = 0. Example: xi = 0.5, sigma = 1, y = 2: 2^-2 = 0.25 (exponential: 0.135). */
export function gpdSurvival(y: f64, xi: f64, sigma: f64): f64 {
  if (xi < 1e-9) return Math.exp(-y / sigma);
  return Math.pow(1.0 + xi * y / sigma, -1.0 / xi);
}
