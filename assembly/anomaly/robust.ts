// Robust statistics for the anomaly kernels: median and MAD over an ordered window, Gaussian tail probability.
import { selectK } from "../stats/quickselect";

// Quickselect (Hoare's FIND) lives in stats/quickselect.ts; re-exported for the detectors.
export { selectK };

/** A scratch area of doubles, grown on demand and never shrunk (not reentrant: one user at a time). */
class Scratch {
  ptr: usize = 0;
  len: i32 = 0;

  /** The area, with room for at least n doubles. */
  of(n: i32): usize {
    if (n > this.len) {
      if (this.ptr != 0) heap.free(this.ptr);
      this.ptr = heap.alloc(<usize>n << 3);
      this.len = n;
    }
    return this.ptr;
  }
}

const shared = new Scratch();

/** A process-wide scratch area of at least n doubles (grown on demand, never shrunk; not reentrant). */
export function scratchF64(n: i32): usize {
  return shared.of(n);
}

/**
 * Robust z-score of `e` against the n float32 values of `ring` that `order` lists in ascending order (u16 slot
 * indices, as slideWindow keeps them): (e - median) / scale, where scale = max(1.4826 MAD, 1.2533 mean|r - median|,
 * floor).
 * 1.4826 = 1/Phi^-1(3/4) makes the MAD consistent for the Gaussian sigma (Rousseeuw & Croux 1993, JASA 88(424));
 * 1.2533 = sqrt(pi/2) does the same for the mean absolute deviation, the fallback when more than half the residuals
 * are equal (MAD = 0, e.g. quantised or mostly constant series). `floor` keeps a constant series finite.
 * Worked example: window {1, 2, 3, 4, 100}, e = 10: median 3, |r - 3| = {2, 1, 0, 1, 97}, MAD 1, scale
 * max(1.4826, 1.2533 * 20.2) = 25.3, z = 0.28 (the outlier 100 inflates the mean-deviation fallback, so no
 * false alarm after a burst).
 * With the window in order the median is read in place. The deviations below the median, read leftwards through the
 * order, and those above it, read rightwards, are two ascending runs: the MAD, the h-th smallest of their union, is
 * found by a binary search over how many of the h + 1 smallest the left run gives (O(log n) reads, where a merge of
 * the runs took h steps and the window gathered in order first; together they were about half the detectors' time).
 * The mean deviation's sum runs over the ring in slot order, contiguous. Both medians are the mean of the two middle
 * values when n is even.
 */
export function robustZ(ring: usize, order: usize, n: i32, e: f64, floor: f64): f64 {
  const h = n >> 1;
  const upper = valueAt(ring, order, h);
  const med = n & 1 ? upper : 0.5 * (valueAt(ring, order, h - 1) + upper);
  // First rank at or above the median: [0, split) lies below it, [split, n) at or above it.
  let split = h;
  while (split > 0 && valueAt(ring, order, split - 1) >= med) split--;
  while (split < n && valueAt(ring, order, split) < med) split++;
  // the ring holds its n values in slots 0..n-1 (every slot once it is full)
  let sumAbs = 0.0;
  // |v - med| is med - v to the bit below the median (no branch on which side a value lies)
  for (let i = 0; i < n; i++) sumAbs += Math.abs(<f64>keyAt(ring, i) - med);
  // The h + 1 smallest deviations: the first i of the left run L (L[x] = med - value of rank split - 1 - x) and the
  // first h + 1 - i of the right run R (R[y] = value of rank split + y - med). The least i with L[i] >= R[h - i] (or
  // i at its bound) makes every one of them at most every other deviation.
  const nl = split, nr = n - split;
  let lo = h + 1 - nr > 0 ? h + 1 - nr : 0;
  let hi = h + 1 < nl ? h + 1 : nl;
  while (lo < hi) {
    const i = (lo + hi) >> 1;
    if (med - valueAt(ring, order, split - 1 - i) >= valueAt(ring, order, split + h - i) - med) hi = i;
    else lo = i + 1;
  }
  const i = lo, j = h + 1 - i;
  // the largest of the h + 1 (the MAD for odd n) and, for even n, the one before it
  const l1 = i > 0 ? med - valueAt(ring, order, split - i) : -Infinity;
  const r1 = j > 0 ? valueAt(ring, order, split + j - 1) - med : -Infinity;
  let cur = l1, prev = 0.0;
  if (l1 >= r1) {
    if (!(n & 1)) {
      const l2 = i > 1 ? med - valueAt(ring, order, split - i + 1) : -Infinity;
      prev = l2 > r1 ? l2 : r1;
    }
  } else {
    cur = r1;
    if (!(n & 1)) {
      const r2 = j > 1 ? valueAt(ring, order, split + j - 2) - med : -Infinity;
      prev = l1 > r2 ? l1 : r2;
    }
  }
  const mad = n & 1 ? cur : 0.5 * (prev + cur);
  let scale = 1.4826 * mad;
  const alt = 1.2533 * sumAbs / <f64>n;
  if (alt > scale) scale = alt;
  if (floor > scale) scale = floor;
  return (e - med) / scale;
}

/** Largest window slideWindow can keep in order: its slots are indexed by u16. */
export const MAX_WINDOW: i32 = 65536;

/** A window value as the ring holds it: float32, with NaN (an overflowed residual) as +Infinity, so that the window
 *  stays ordered. */
@inline function windowKey(v: f64): f32 {
  return v != v ? Infinity : <f32>v;
}

/** The value (order key) held in ring slot i. */
@inline function keyAt(ring: usize, i: i32): f32 {
  return load<f32>(ring + (<usize>i << 2));
}

/** Ring slot of rank j in `order`. */
@inline function slotAt(order: usize, j: i32): i32 {
  return <i32>load<u16>(order + (<usize>j << 1));
}

/** Key of the window value of rank j. */
@inline function valueAt(ring: usize, order: usize, j: i32): f64 {
  return <f64>keyAt(ring, slotAt(order, j));
}

/**
 * First rank in order[0..n) whose (key, slot) is not below (key, slot): the slots are ordered by their value, and
 * equal values by their slot, so that the rank of a given slot is found by one binary search, however many ties.
 */
function lowerBound(ring: usize, order: usize, n: i32, key: f32, slot: i32): i32 {
  let lo = 0, hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const j = slotAt(order, mid);
    const k = keyAt(ring, j);
    if (k < key || (k == key && j < slot)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Writes v (as float32, NaN as +Infinity) to slot ri of a ring of w float32 values that holds `held` of them (slots
 * 0..held-1 until it is full), and keeps `order` (w u16 slot indices, w <= MAX_WINDOW) listing the held slots in
 * ascending order of their values: 2 bytes a value instead of a sorted float32 copy's 4, and the same keys in the
 * same order (robustZ reads what such a copy held: the same z to the bit). Once the ring is full, slot ri leaves the
 * order before its new value enters it.
 */
export function slideWindow(ring: usize, order: usize, w: i32, held: i32, ri: i32, v: f64): void {
  let n = held;
  if (held == w) {
    orderRemove(ring, order, n, ri);
    n--;
  }
  store<f32>(ring + (<usize>ri << 2), windowKey(v));
  orderInsert(ring, order, n, ri);
}

/** Inserts slot ri (its new value already in the ring) into the ascending order[0..n), which has room for n + 1. */
function orderInsert(ring: usize, order: usize, n: i32, ri: i32): void {
  const at = lowerBound(ring, order, n, keyAt(ring, ri), ri);
  const p = order + (<usize>at << 1);
  memory.copy(p + 2, p, <usize>(n - at) << 1);
  store<u16>(p, <u16>ri);
}

/**
 * Removes slot ri (its old value still in the ring) from the ascending order[0..n), leaving n - 1 slots. A slot that
 * is not there (only a corrupted state) removes the last instead, so that the order never outgrows its window.
 */
function orderRemove(ring: usize, order: usize, n: i32, ri: i32): void {
  if (n <= 0) return;
  let at = lowerBound(ring, order, n, keyAt(ring, ri), ri);
  if (at >= n || slotAt(order, at) != ri) at = n - 1;
  const p = order + (<usize>at << 1);
  memory.copy(p, p + 2, <usize>(n - at - 1) << 1);
}

/**
 * A calibration phase in [0, every) from the bits of `seed` (a series' first values): when each series refreshes its
 * calibration. Many series warmed up together would otherwise all refresh in the same call, every `every` points
 * (the sidecar steps every series once a cycle: at 60,000 series about 1.5 s more in one cycle of sixteen, with
 * full windows), instead of a sixteenth of them in each (Fibonacci hashing, Knuth TAOCP vol. 3, 6.4; `every` a power
 * of two).
 */
export function calPhase(seed: f64, every: i32): i32 {
  const h = reinterpret<u64>(seed) * 0x9E3779B97F4A7C15;
  return <i32>(h >> 32) & (every - 1);
}

// ---- calibration windows as u16 codes ------------------------------------------------------------------------
// A calibration window (2,000 scores q >= 0 per series; per tenant, z plus an offset: mahalanobis.ts zOffset) is
// read only for its order and its top 5% (selectTail), so it is kept as 16-bit codes of ln(1 + q) (2 bytes a value
// instead of float32's 4): 4,096 codes per unit up to
// ln(1 + q) = 14 (q = 1.2e6; 57,344 codes), whose rounding moves 1 + q by at most 1/8192 = 1.2e-4 of itself (q = 2.6,
// a usual 99th percentile: +-4.4e-4), then 11.78 per unit for the 8,191 codes left, up to ln(1 + q) = 709.3
// (q = 1.1e308; the largest doubles take the last code), +-4.3% for the scores of near-constant series (a flat series
// gets a scale of 1e-9 of its level, so a step scores q ~ 1e9). 16 bits cannot keep 1e-4 all the way to the largest
// double (that takes 3.5 million codes), so the precision goes where the thresholds and tails of real scores lie.
// Decoding is exp(a + b) = exp(a) exp(b) from two tables of 256 (6.4 KB, built once), not an exp per value: the
// calibration decodes its whole window every 16 points.
const CODE_PER_UNIT: f64 = 4096.0;
const CODE_KNEE: i32 = 57344; // 224 * 256: ln(1 + q) = 14
const CODE_KNEE_LN: f64 = 14.0;
const CODE_PER_UNIT_HIGH: f64 = 11.78;
const CODE_MAX: i32 = 65535;

/** 16-bit code of a score q >= 0 (see above): 0 for q = 0 and for NaN, 65535 for q >= 1.1e308 and +Infinity. */
export function scoreCode(q: f64): u16 {
  if (!(q > 0.0)) return 0;
  const l = Math.log1p(q);
  if (l <= CODE_KNEE_LN) return <u16>Math.round(l * CODE_PER_UNIT);
  const c = <f64>CODE_KNEE + Math.round((l - CODE_KNEE_LN) * CODE_PER_UNIT_HIGH);
  return c >= <f64>CODE_MAX ? <u16>CODE_MAX : <u16>c;
}

let codeTable: usize = 0;

/** exp of each code's high and low byte, per segment: [0, 225) exp(256 j / 4096), [256, 512) exp(l / 4096), then
 *  [512, 544) exp(14 + 256 j / 11.78) and [544, 800) exp(l / 11.78) for the codes above the knee. */
function codeTables(): usize {
  if (codeTable == 0) {
    codeTable = heap.alloc(800 << 3);
    for (let j = 0; j < 256; j++) {
      store<f64>(codeTable + (<usize>j << 3), Math.exp(<f64>(j << 8) / CODE_PER_UNIT));
      store<f64>(codeTable + (<usize>(256 + j) << 3), Math.exp(<f64>j / CODE_PER_UNIT));
      store<f64>(codeTable + (<usize>(544 + j) << 3), Math.exp(<f64>j / CODE_PER_UNIT_HIGH));
    }
    for (let j = 0; j < 32; j++) {
      store<f64>(codeTable + (<usize>(512 + j) << 3), Math.exp(CODE_KNEE_LN + <f64>(j << 8) / CODE_PER_UNIT_HIGH));
    }
  }
  return codeTable;
}

/** The score a code stands for: exp(ln(1 + q)) - 1 at the code's ln(1 + q) (0 for code 0), increasing with the
 *  code. `t` is codeTables(). */
@inline function decodeScore(t: usize, c: i32): f64 {
  if (c <= CODE_KNEE) {
    return load<f64>(t + (<usize>(c >> 8) << 3)) * load<f64>(t + (<usize>(256 + (c & 255)) << 3)) - 1.0;
  }
  const d = c - CODE_KNEE;
  return load<f64>(t + (<usize>(512 + (d >> 8)) << 3)) * load<f64>(t + (<usize>(544 + (d & 255)) << 3)) - 1.0;
}

/** Decodes the n u16 score codes at `codes` into n doubles at `out` (the one decoding of every calibration window). */
export function decodeScores(codes: usize, n: i32, out: usize): void {
  const t = codeTables();
  for (let i = 0; i < n; i++) store<f64>(out + (<usize>i << 3), decodeScore(t, <i32>load<u16>(codes + (<usize>i << 1))));
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
