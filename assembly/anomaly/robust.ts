// Robust statistics for the anomaly kernels: quickselect median and MAD over a ring, Gaussian tail probability.
import { selectK } from "../stats/quickselect";

// Quickselect (Hoare's FIND) lives in stats/quickselect.ts; re-exported for the detectors.
export { selectK };

@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 3);
}

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

/** Median of the n values at a (a is reordered); the mean of the two middle values when n is even. */
export function medianInPlace(a: usize, n: i32): f64 {
  const h = n >> 1;
  const upper = selectK(a, n, h);
  if (n & 1) return upper;
  // After selection every a[i], i < h, is <= a[h]: the lower middle value is their maximum.
  let lower = load<f64>(a);
  for (let i = 1; i < h; i++) {
    const v = load<f64>(at(a, i));
    if (v > lower) lower = v;
  }
  return 0.5 * (lower + upper);
}

/**
 * Robust z-score of `e` against the n float32 values of `ring`: (e - median) / scale, where
 * scale = max(1.4826 MAD, 1.2533 mean|r - median|, floor).
 * 1.4826 = 1/Phi^-1(3/4) makes the MAD consistent for the Gaussian sigma (Rousseeuw & Croux 1993, JASA 88(424));
 * 1.2533 = sqrt(pi/2) does the same for the mean absolute deviation, the fallback when more than half the residuals
 * are equal (MAD = 0, e.g. quantised or mostly constant series). `floor` keeps a constant series finite.
 * Worked example: ring {1, 2, 3, 4, 100}, e = 10: median 3, |r - 3| = {2, 1, 0, 1, 97}, MAD 1, scale
 * max(1.4826, 1.2533 * 20.2) = 25.3, z = 0.28 (the outlier 100 inflates the mean-deviation fallback, so no
 * false alarm after a burst).
 */
export function robustZ(ring: usize, n: i32, e: f64, floor: f64): f64 {
  const s = scratchF64(n);
  for (let i = 0; i < n; i++) store<f64>(at(s, i), <f64>load<f32>(ring + (<usize>i << 2)));
  const med = medianInPlace(s, n);
  let sumAbs = 0.0;
  for (let i = 0; i < n; i++) {
    const d = Math.abs(load<f64>(at(s, i)) - med);
    store<f64>(at(s, i), d);
    sumAbs += d;
  }
  const mad = medianInPlace(s, n);
  let scale = 1.4826 * mad;
  const alt = 1.2533 * sumAbs / <f64>n;
  if (alt > scale) scale = alt;
  if (floor > scale) scale = floor;
  return (e - med) / scale;
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
