// Export surface of the anomaly core: per-series streaming detector and per-tenant behaviour distance.
// Numbers in, numbers out; per-series state lives in host buffers (one stride of doubles per series), copied in and
// out per call, so a re-instantiated core loses nothing; or, for the loop's many series, in core memory between calls
// (anomaly_uv_step_at), where a re-instantiation loses it.
import { Status } from "../status";
import { mvInit, mvRun, mvStateLen, mvWarmup, MV_MAX_DIM } from "./mahalanobis";
import { decodeScores, MAX_WINDOW, robustZ, scoreCode, slideWindow } from "./robust";
import { uvInit, uvRun, uvStateLen, uvWarmup } from "./univariate";

/** API version of the anomaly area (bumped on any breaking change of these exports). */
export function anomaly_apiVersion(): i32 {
  return 1;
}

// ---- per series ------------------------------------------------------------------------------------------------

/**
 * Doubles of state for one series whose daily season lasts `period` samples (e.g. 288 at 5-minute spacing).
 * Periods outside [4, 2016] give a non-seasonal detector.
 */
export function anomaly_uv_state_len(period: i32): i32 {
  return uvStateLen(period);
}

/** Initialises the state of one series at `state` (uvStateLen(period) doubles). */
export function anomaly_uv_init(state: usize, period: i32): i32 {
  if (state == 0) return Status.BadParam;
  uvInit(state, period);
  return Status.Ok;
}

/** Points a series needs before its scores mean anything (TooFewPoints until then). */
export function anomaly_uv_warmup(): i32 {
  return uvWarmup();
}

/**
 * Feeds `nSteps` new values to each of `nSeries` series, in time order (no look-ahead).
 * states: nSeries blocks of `stride` doubles (each initialised by anomaly_uv_init, stride >= its state length).
 * values, outScore, outEvent, outLik, outKind: nSeries x nSteps doubles, series-major.
 * outScore: anomaly score in [0, 1) (0.5 at the series' own 99th percentile); outEvent: the score at the first
 * point of an episode and 0 for the 400 points after it unless higher (the score NAB is run on); outLik: calibrated
 * likelihood in [0, 1]; outKind: 0 none, 1 spike, 2 level shift. A non-finite value is skipped (outputs 0) but keeps
 * its place on the grid: the season slot of a value is its grid time, so missing samples are passed as NaN.
 * outStatus: nSeries i32 (Ok, TooFewPoints while warming up, NonFinite if a value was skipped, BadParam for a state
 * that was never initialised). Returns the worst status.
 */
export function anomaly_uv_step(
  nSeries: i32, nSteps: i32, stride: i32, states: usize, values: usize,
  outScore: usize, outEvent: usize, outLik: usize, outKind: usize, outStatus: usize,
): i32 {
  return uvRun(nSeries, nSteps, stride, states, values, outScore, outEvent, outLik, outKind, outStatus);
}

/**
 * anomaly_uv_step over states kept in core memory between calls: the k-th state is at the address held in the k-th
 * u32 of `ptrs` (each `stride` doubles long at least, allocated with `alloc`, initialised by anomaly_uv_init), so a
 * step reads and writes only what it touches instead of a copy of every state in and out. The host that keeps states
 * here loses them when the core is re-instantiated (src/core/anomaly.ts ResidentDetectors).
 */
export function anomaly_uv_step_at(
  nSeries: i32, nSteps: i32, stride: i32, ptrs: usize, values: usize,
  outScore: usize, outEvent: usize, outLik: usize, outKind: usize, outStatus: usize,
): i32 {
  if (ptrs == 0) return Status.BadParam;
  return uvRun(nSeries, nSteps, stride, 0, values, outScore, outEvent, outLik, outKind, outStatus, ptrs);
}

/**
 * The detectors' robust z (robust.ts robustZ) over a sliding window, as the per-series step keeps it: out[i] is the z
 * of values[i] against the (up to) `w` values before it, 0 while fewer than 2 are held; every value is held as float32.
 * For tests and tools: the window is a ring plus the order of its slots (u16), slid by slideWindow as the detectors'
 * own windows are. Returns BadParam when w < 2 or w > 65536 (the order's slot indices are u16).
 */
export function anomaly_robust_z_window(values: usize, n: i32, w: i32, floor: f64, out: usize): i32 {
  if (w < 2 || w > MAX_WINDOW || n < 0) return Status.BadParam;
  const ring = heap.alloc(<usize>w << 2);
  const order = heap.alloc(<usize>w << 1);
  for (let i = 0; i < n; i++) {
    const v = load<f64>(values + (<usize>i << 3));
    const held = i < w ? i : w;
    store<f64>(out + (<usize>i << 3), held >= 2 ? robustZ(ring, order, held, v, floor) : 0.0);
    slideWindow(ring, order, w, held, i % w, v);
  }
  heap.free(ring);
  heap.free(order);
  return Status.Ok;
}

/**
 * The calibration windows' 16-bit coding of scores (robust.ts scoreCode, decodeScores): out[i] is what a window keeps
 * of the score values[i] (q >= 0; NaN and negative values are kept as 0, +Infinity and values above 1.1e308 as
 * 1.1e308). For tests and tools.
 */
export function anomaly_score_codes(values: usize, n: i32, out: usize): i32 {
  if (n < 0) return Status.BadParam;
  const codes = heap.alloc((n > 0 ? <usize>n : 1) << 1);
  for (let i = 0; i < n; i++) store<u16>(codes + (<usize>i << 1), scoreCode(load<f64>(values + (<usize>i << 3))));
  decodeScores(codes, n, out);
  heap.free(codes);
  return Status.Ok;
}

// ---- per tenant, multivariate ---------------------------------------------------------------------------------

/** Doubles of state for one tenant with `d` behaviour signals (1 <= d <= 64); 0 when d is out of range. */
export function anomaly_mv_state_len(d: i32): i32 {
  return mvStateLen(d);
}

/** Initialises one tenant's behaviour profile. */
export function anomaly_mv_init(state: usize, d: i32): i32 {
  if (state == 0 || d < 1 || d > MV_MAX_DIM) return Status.BadParam;
  mvInit(state, d);
  return Status.Ok;
}

/** Vectors a profile of dimension d needs before it scores (TooFewPoints until then). */
export function anomaly_mv_warmup(d: i32): i32 {
  return mvWarmup(d);
}

/**
 * Scores `nSteps` behaviour vectors of `d` signals for each of `nTenants` tenants against their own profiles, then
 * updates the profiles. vectors: nTenants x nSteps x d doubles. outScore (in [0, 1)), outLik (calibrated likelihood
 * in [0, 1]) and outZ (Wilson-Hilferty z of the squared distance): nTenants x nSteps doubles. outStatus: nTenants
 * i32. A vector with a non-finite entry is skipped (NonFinite). Returns the worst status.
 */
export function anomaly_mv_step(
  nTenants: i32, nSteps: i32, d: i32, stride: i32, states: usize, vectors: usize,
  outScore: usize, outLik: usize, outZ: usize, outStatus: usize,
): i32 {
  return mvRun(nTenants, nSteps, d, stride, states, vectors, outScore, outLik, outZ, outStatus);
}
