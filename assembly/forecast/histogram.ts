// The VPA recommender's decaying histogram (k8s.io/autoscaler vertical-pod-autoscaler/pkg/recommender/util:
// histogram.go, decaying_histogram.go, histogram_options.go), batched: many histograms per call, state in host memory.
//
// State of one histogram (stride = HIST_HEADER + numBuckets doubles, laid out by the host):
//   [0] referenceTimestamp, seconds (NaN = Go's zero time.Time: the first sample always shifts it)
//   [1] totalWeight  [2] minBucket  [3] maxBucket  [4 ..] bucketWeight[0 .. numBuckets-1]
// A fresh histogram is [NaN, 0, numBuckets-1, 0, 0, ...] (NewHistogram: minBucket = NumBuckets()-1, maxBucket = 0).
//
// Exponential options (NewExponentialHistogramOptions): bucket n >= 1 starts at first*(ratio^n - 1)/(ratio - 1);
// numBuckets = ceil(log_ratio(maxValue*(ratio-1)/first + 1)) + 1. VPA's defaults (model/aggregations_config.go):
// ratio 1.05 (DefaultHistogramBucketSizeGrowth 0.05), epsilon 0.001 * minSampleWeight(0.1) = 1e-4, half-life 24 h,
// memory first bucket 1e7 bytes up to 1e12; CPU up to 1000 cores with first bucket 0.01 (0.001 in recent releases).
// Worked example (first 0.01, ratio 1.05): bucket 1 = [0.01, 0.0205), bucket 2 = [0.0205, 0.031525), so a lone
// sample 0.02 falls in bucket 1 and Percentile(0.5) returns the end of bucket 1: 0.0205.
import { Status } from "../status";

export const HIST_HEADER: i32 = 4;
/** Seconds from Go's zero time (0001-01-01) to the Unix epoch: time.Round rounds relative to the zero time. */
const ZERO_TIME_OFFSET_S: f64 = 62135596800.0;
/** decaying_histogram.go maxDecayExponent: renormalise when the decay factor would exceed 2^100. */
const MAX_DECAY_EXPONENT: f64 = 100.0;

/** histogram_options.go NewExponentialHistogramOptions: number of buckets. */
export function histNumBuckets(maxValue: f64, firstBucket: f64, ratio: f64): i32 {
  if (!(maxValue > 0.0) || !(firstBucket > 0.0) || !(ratio > 1.0)) return 0;
  return <i32>Math.ceil(Math.log(maxValue * (ratio - 1.0) / firstBucket + 1.0) / Math.log(ratio)) + 1;
}

/** histogram_options.go GetBucketStart. */
export function histBucketStart(bucket: i32, firstBucket: f64, ratio: f64): f64 {
  if (bucket <= 0) return 0.0;
  return firstBucket * (Math.pow(ratio, <f64>bucket) - 1.0) / (ratio - 1.0);
}

/** histogram_options.go FindBucket: values below the first bucket size (including negatives) go to bucket 0. */
export function histFindBucket(value: f64, nb: i32, firstBucket: f64, ratio: f64): i32 {
  if (value < firstBucket) return 0;
  const x = Math.log(value * (ratio - 1.0) / firstBucket + 1.0) / Math.log(ratio);
  if (x >= <f64>nb) return nb - 1;
  const b = <i32>x;
  return b >= nb ? nb - 1 : b;
}

function updateMinAndMax(h: usize, nb: i32, eps: f64): void {
  let minB = <i32>load<f64>(h + 16);
  let maxB = <i32>load<f64>(h + 24);
  const w = h + (<usize>HIST_HEADER << 3);
  while (load<f64>(w + (<usize>minB << 3)) < eps && minB < nb - 1) minB++;
  while (load<f64>(w + (<usize>maxB << 3)) < eps && maxB > 0) maxB--;
  store<f64>(h + 16, <f64>minB);
  store<f64>(h + 24, <f64>maxB);
}

/** histogram.go scale: multiplies all weights (does not change percentiles), then fixes min/max bucket. */
function scale(h: usize, nb: i32, eps: f64, factor: f64): void {
  const minB = <i32>load<f64>(h + 16);
  const maxB = <i32>load<f64>(h + 24);
  const w = h + (<usize>HIST_HEADER << 3);
  for (let b = minB; b <= maxB; b++) {
    const p = w + (<usize>b << 3);
    store<f64>(p, load<f64>(p) * factor);
  }
  store<f64>(h + 8, load<f64>(h + 8) * factor);
  updateMinAndMax(h, nb, eps);
}

/** Go's time.Round(d) for d > 0: nearest multiple of d since the zero time, halfway rounds up. */
function roundToHalfLife(t: f64, halfLife: f64): f64 {
  return Math.floor((t + ZERO_TIME_OFFSET_S) / halfLife + 0.5) * halfLife - ZERO_TIME_OFFSET_S;
}

function shiftReference(h: usize, nb: i32, eps: f64, halfLife: f64, newRef: f64): void {
  const ref = load<f64>(h);
  const rounded = roundToHalfLife(newRef, halfLife);
  if (!isNaN(ref)) {
    // exponent = round((ref - newRef)/halfLife); weights scale by 2^exponent (math.Ldexp(1, exponent)).
    const exponent = Math.floor((ref - rounded) / halfLife + 0.5);
    scale(h, nb, eps, Math.pow(2.0, exponent));
  } else {
    // From the zero time the exponent is hugely negative: 2^exponent underflows to 0 and every weight is dropped,
    // which only matters for a non-empty histogram; a fresh one stays empty.
    if (load<f64>(h + 8) != 0.0) scale(h, nb, eps, 0.0);
  }
  store<f64>(h, rounded);
}

function decayFactor(h: usize, nb: i32, eps: f64, halfLife: f64, t: f64): f64 {
  const ref = load<f64>(h);
  if (isNaN(ref) || t > ref + halfLife * MAX_DECAY_EXPONENT) shiftReference(h, nb, eps, halfLife, t);
  return Math.pow(2.0, (t - load<f64>(h)) / halfLife);
}

/** histogram.go AddSample with decaying_histogram.go's weight * 2^((t - ref)/halfLife). */
function addSample(h: usize, nb: i32, first: f64, ratio: f64, eps: f64, halfLife: f64, v: f64, weight: f64, t: f64): void {
  const wgt = halfLife > 0.0 ? weight * decayFactor(h, nb, eps, halfLife, t) : weight;
  const b = histFindBucket(v, nb, first, ratio);
  const p = h + (<usize>(HIST_HEADER + b) << 3);
  const bw = load<f64>(p) + wgt;
  store<f64>(p, bw);
  store<f64>(h + 8, load<f64>(h + 8) + wgt);
  if (b < <i32>load<f64>(h + 16) && bw >= eps) store<f64>(h + 16, <f64>b);
  if (b > <i32>load<f64>(h + 24) && bw >= eps) store<f64>(h + 24, <f64>b);
}

/** histogram.go Percentile: the end of the bucket where the cumulative weight reaches p * total; 0 when empty. */
export function histPercentile(h: usize, nb: i32, first: f64, ratio: f64, eps: f64, p: f64): f64 {
  const w = h + (<usize>HIST_HEADER << 3);
  const minB = <i32>load<f64>(h + 16);
  const maxB = <i32>load<f64>(h + 24);
  if (load<f64>(w + (<usize>minB << 3)) < eps) return 0.0;
  let partial = 0.0;
  const threshold = p * load<f64>(h + 8);
  let b = minB;
  for (; b < maxB; b++) {
    partial += load<f64>(w + (<usize>b << 3));
    if (partial >= threshold) break;
  }
  if (b < nb - 1) return histBucketStart(b + 1, first, ratio);
  return histBucketStart(b, first, ratio);
}

/** Resets `count` histograms of `nb` buckets at `state` (stride HIST_HEADER + nb) to empty. */
export function histInit(state: usize, count: i32, nb: i32): void {
  const stride = <usize>(HIST_HEADER + nb) << 3;
  for (let i = 0; i < count; i++) {
    const h = state + <usize>i * stride;
    store<f64>(h, NaN);
    store<f64>(h + 8, 0.0);
    store<f64>(h + 16, <f64>(nb - 1));
    store<f64>(h + 24, 0.0);
    memory.fill(h + (<usize>HIST_HEADER << 3), 0, <usize>nb << 3);
  }
}

/**
 * Adds samples to histograms: sample j goes to histogram idx[j] with value values[j], weight weights[j] (or 1 when
 * `weights` is 0) at time times[j] (seconds). Bad samples (non-finite value/time, negative or non-finite weight,
 * index out of range) are skipped; the status reports the first problem (NonFinite, BadParam), else Ok. A negative
 * value is added to bucket 0 as VPA does, and reported as Negative.
 */
export function histAdd(
  state: usize, count: i32, nb: i32, first: f64, ratio: f64, eps: f64, halfLife: f64,
  idx: usize, values: usize, times: usize, weights: usize, n: i32,
): i32 {
  let status = Status.Ok;
  const stride = <usize>(HIST_HEADER + nb) << 3;
  for (let j = 0; j < n; j++) {
    const k = <i32>load<f64>(idx + (<usize>j << 3));
    const v = load<f64>(values + (<usize>j << 3));
    const t = load<f64>(times + (<usize>j << 3));
    const wgt = weights ? load<f64>(weights + (<usize>j << 3)) : 1.0;
    if (k < 0 || k >= count || !(wgt >= 0.0) || !isFinite(wgt)) {
      if (status == Status.Ok) status = Status.BadParam;
      continue;
    }
    if (!isFinite(v) || !isFinite(t)) {
      if (status == Status.Ok) status = Status.NonFinite;
      continue;
    }
    if (v < 0.0 && status == Status.Ok) status = Status.Negative;
    addSample(state + <usize>k * stride, nb, first, ratio, eps, halfLife, v, wgt, t);
  }
  return status;
}
