// Streaming per-series anomaly detector: robust residual scores of two light forecasters, CUSUM change points,
// range novelty, per-series calibration, a Numenta-style likelihood and a refractory event score.
//
// Per point x (no look-ahead: every statistic uses only earlier points):
// 1. Forecasts: an EWMA level l (Brown's simple exponential smoothing, alpha = 0.3) and an additive seasonal model
//    (Holt-Winters without trend: Winters 1960, Management Science 6(3); level alpha, season gamma = 0.2) with the
//    host-given period P (one day in samples; none when P < 4 or P > 2016). A value's season slot is its grid time mod
//    P: missing samples (NaN) advance the grid time, so a gap keeps the phase.
// 2. Residuals e = x - forecast, and their mean over the last 3 points (for shifts too small for one point).
// 3. Robust z of each against the last 288 residuals of the same kind (median/MAD, see robust.ts; each window's slots
//    are also kept in order of their residuals, so the median is read in place and the MAD is a merge instead of two
//    selections per score). Spike
//    evidence is the smaller |z| of the two models (only what neither model explains), shift evidence the same on the
//    means; q = max of the two.
// 4. CUSUM (Page 1954, Biometrika 41(1/2)) on the shift z clipped to +-4: S+ = max(0, S+ + z - k),
//    S- = max(0, S- - z - k), k = 1 (a shift of 2 robust sigmas is detected fastest); max(S+, S-) / 2 joins q as
//    change-point evidence, and above h = 20 the series is in a level shift (kind label; both sums restart).
//    Example: a persistent shift of 3 sigmas adds 2 per point: evidence 2, 4, 6 ... and the alarm after 10 points.
// 5. Calibration: c = q / (99th percentile of the series' own last 2000 q), so c = 1 means "as unusual as its 1% most
//    unusual points", whatever the noise of the series. The window starts over at the first point the seasonal model
//    scores (point 2P): the q of the first two periods came from the level model alone, larger on a seasonal series,
//    and held the percentile up for the 2000 points they stayed (on a daily cycle with Gaussian noise L >= 0.99 came
//    on 0.06-0.3% of the points of days 3 to 7 instead of about 1%, and L >= 0.999 on 0.005-0.023%; now 1.2-1.35%
//    and 0.16-0.21% from day 4). Until the new window holds P values the calibration from before stays in force
//    (refitted to the first 50, the tail flagged tenants with a daily cycle and noise three times as often that day).
//    NAB's standard score rose from 61.03 to 62.24 with it (161 windows detected instead of 151, 181 false positives
//    instead of 173).
// 6. Range novelty (the "spatial anomaly" of NAB's numenta detector, nab/detectors/numenta/numenta_detector.py: a value
//    outside the range seen so far, with a tolerance): r = exceedance of x, and of its means over the last 6, 24 and
//    96 points, beyond their running min/max, as a fraction of the range; a novelty above 2% counts 3 (1 + r).
// 7. raw = max(c, novelty); score = raw / (1 + raw) in [0, 1) (0.5 at the series' 99th percentile).
// 8. Event score (what NAB scores): the score, but within 400 points of the last emitted event only a strictly
//    higher score is emitted again (one report per episode, as NAB counts only the first detection in a window).
// 9. Likelihood L = 1 - p, p the tail probability of q under the series' own last 2000 q: above their 99th
//    percentile u, peaks over threshold (Pickands 1975, Ann. Statist. 3(1); Balkema & de Haan 1974: excesses over a
//    high threshold are generalised Pareto): p = 0.01 max(exp(-(q - u) / tau), (1 + xi (q - u) / sigma)^(-1/xi)),
//    sigma = tau (1 - xi), tau the mean excess over u, measured over at least the 10 largest q (a younger window has
//    fewer than 10 above u: robust.ts tailScale), and xi the tail's shape, fitted by probability-weighted moments to
//    the window's top 5% (robust.ts tailShape; 0 for windows under 1,001 values and for tails lighter than
//    exponential, near 0 for Gaussian noise); the Pareto term carries the far levels of heavy tails, the exponential
//    the levels just above u (robust.ts tailProbability), and at xi = 0 both are the exponential. Below u, p falls
//    linearly from 1 at q = 0 to 0.01. u, tau and xi are refreshed every 16 points, at a phase of the series' own
//    (robust.ts calPhase, so that series stepped together do not all refresh in the same call), and at once from the
//    50th point (the first scored).
//    So thresholds on L mean about the same for every series (the aim of Numenta's anomaly likelihood, Ahmad et al.
//    2017, Neurocomputing 262, whose Gaussian tail over the raw scores we measured as badly calibrated for |z|-type
//    scores: L = 0.9999999 on pure noise). Measured on 300,000 i.i.d. points per distribution, after 5,000 (no season;
//    `npm run bench:calibration`): L >= 0.999 at 0.10-0.13% of the points (nominal 0.1%) for Gaussian, Student t3,
//    Cauchy, lognormal, exponential and Poisson noise; L >= 0.9999 (nominal 0.01%) at 0.013% Gaussian, 0.015-0.017%
//    exponential, Poisson and lognormal, 0.026% t3 and 0.032% Cauchy. With the exponential tail alone (as before the
//    shape) the heavy tails crossed the far threshold 3-5x as often as nominal: 0.029% lognormal, 0.040% t3, 0.064%
//    Cauchy; with the Pareto tail alone, Cauchy noise crossed L >= 0.999 on 0.16%. What remains above nominal is the
//    noise of a tail fitted to 100 values.
//    A constant series with rare drops to 0 (each a real change) reached 0.10-0.18% at both thresholds (measured with
//    the exponential tail).
//    Example: u = 2.6, tau = 0.35, q = 4, xi = 0: p = 0.01 exp(-4) = 1.8e-4, L = 0.99982; xi = 0.2: sigma = 0.28,
//    p = 0.01 max(1.8e-2, (1 + 0.2 * 1.4 / 0.28)^-5 = 3.1e-2) = 3.1e-4, L = 0.99969.
// 10. Ramps (sustained growth to new highs: a leak, a runaway job), which the residual scores above learn as they go
//    and so never flag: the means over the last 24 and 96 points each keep a run, the points in a row at which the
//    mean set a new high of the series (the running max of that mean since the start); a point within 2% of the
//    range below the high keeps the run as it is, one further below ends it. Once a run reaches a ramp's length (36
//    points or an eighth of the period, whichever is more: 3 hours at 5 minutes), and the series has seen two
//    periods (a new series ramps up), and the mean has climbed since the run began at 10% of its level a period (a
//    day) or faster (a fleet's slow growth is no ramp), the likelihood is at least that of the Mann-Kendall test for
//    an upward trend over the run's last 36 values (Mann 1945, Econometrica 13(3); Kendall 1975; one-sided, normal
//    approximation with continuity correction) when its z is 3.09 or more (p = 0.001), and the kind is a ramp where
//    that likelihood is the larger. The 8-hour mean's run counts only while the 2-hour mean's is on: after a burst of
//    a few hours the 8-hour mean goes on setting highs while the burst is in its window, and the daily rise after it
//    read as a ramp. It is
//    not calibrated on the series' own scores as step 9's is: a stationary series, or one whose daily shape
//    repeats, sets 36 new highs of a two-hour mean in a row as good as never, and what does is growing beyond
//    anything it did before. The raw values, not the seasonal model's residuals: a service that grows a few percent
//    a day with a strong daily cycle read as a ramp for hours each day when the runs were of values less their
//    season (the season lags the growing amplitude). The score (and so NAB's) does not read it. Six header slots, no
//    arrays: the values are the ring step 6 keeps, the highs its running maxima.
//    Example: a level of 100 with 1% noise leaking 2% an hour: the two-hour mean sets a new high at nearly every
//    point, the run reaches 36 points 3 hours in, at 48% a day, and the test's z is far above 4 (L above 1 - 3e-5).
//
// Storage: the header is doubles; after it, packed into the host's block of doubles, the season, the residual rings
// and the recent residuals and values are float32 (7 significant digits, far below the noise the robust scales
// measure), then u16: each ring's order (its slots in ascending order of their residuals, robust.ts slideWindow: a
// median read in place and a MAD by merge instead of two selections over 288 values per score, for 2.3 KB where
// sorted float32 copies took 4.6) and the calibration window as codes of q (robust.ts scoreCode: to 1.2e-4 of 1 + q
// up to q = 1.2e6, 4.3% beyond; 4 KB instead of float32's 8). 12.4 KB per series at a 288-sample day (1,591 doubles;
// 18.5 KB with sorted copies and the window in float32). Every computation is in f64.
// Measured against that float32 layout (2026-11-29; the 58 NAB files and 7 stress series, 408,000 points): the orders
// change no output bit; the codes moved scores by at most 6e-5 (L by 2e-4), left the NAB scores as they were (61.08
// standard, the same 151 TP and 172 FP; the calibration phases then cost one false positive: 61.03) and the rates of
// bench:calibration (above) within 0.001 points of a percent.
// Both together made the detector 6-11% slower (CPU time of runs over the NAB corpus interleaved with the old build;
// the orders 5-7%: every value the median and MAD read goes through its slot index).
import { Status } from "../status";
import { get, put } from "./state";
import {
  calPhase, decodeScores, gaussTail, robustZ, scoreCode, scratchF64, selectTail, slideWindow, tailProbability, tailScale,
  tailShape,
} from "./robust";

export const UV_HEADER: i32 = 32;
const W: i32 = 288;
const M: i32 = 3;
const MEAN_N: i32 = 96;
const CAL_N: i32 = 2000;
const CAL_P: f64 = 0.99;
const CAL_EVERY: i32 = 16;
// Values the tail scale tau rests on at least (the window holds 19 above its 99th percentile once full).
const TAIL_MIN: i32 = 10;
const ALPHA: f64 = 0.3;
const GAMMA: f64 = 0.2;
const MIN_PERIOD: i32 = 4;
const MAX_PERIOD: i32 = 2016;
const WARM_Z: i32 = 20;
const WARM_CAL: i32 = 50;
const WARM_RANGE: i32 = 100;
const RANGE_TOL: f64 = 0.02;
const RANGE_WEIGHT: f64 = 3.0;
const REFRACTORY: f64 = 400.0;
const CUSUM_K: f64 = 1.0;
const CUSUM_H: f64 = 20.0;
const CUSUM_SCALE: f64 = 2.0;
const CUSUM_CLIP: f64 = 4.0;
// Step 10: a ramp's run of new highs, in points (at least; an eighth of the period when that is more), the share of
// the range below the high that keeps a run, and the periods a series has seen before a ramp counts.
const RAMP_RUN: i32 = 36;
const RAMP_SLACK: f64 = 0.02;
const RAMP_WARM_PERIODS: i32 = 2;
const RAMP_WARM_MIN: i32 = 576;
// ...and the least rate of a ramp: this share of its level a period (a day), so that a fleet's slow growth is not one.
const RAMP_MIN_RATE: f64 = 0.1;
// ...and the least z of the trend test over the run's last values (one-sided p = 0.001) for any evidence at all.
const RAMP_MIN_Z: f64 = 3.09;

// Header slots (doubles); 29 to 31 are free, 28 is H_CAL0 (below). H_RAMP, H_RAMP + 1: the runs of new highs of the
// 24- and 96-point means (step 10). H_XI: the calibration tail's shape (0 in a state from before it: the exponential
// tail, as then). H_PHASE: the series' calibration phase (robust.ts calPhase), set at its second value.
const H_PERIOD = 0, H_COUNT = 1, H_LEVEL = 2, H_LEVELS = 3, H_CUSP = 4, H_CUSN = 5, H_CALREF = 6;
const H_XMIN = 7, H_XMAX = 8, H_PHASE = 10, H_RUNMAX = 11, H_LAST = 12, H_TAU = 13, H_XI = 14;
// Grid time: samples seen, finite or not (H_COUNT counts finite ones only). The season slot of a value is its grid
// time mod P, so a gap of k missing samples (the history store sends them as NaN on the grid) does not shift every
// later value's slot by k.
const H_TICK = 9;
// Running min and max of the means over the last 6, 24 and 96 points: slots H_MEANS + 2i and H_MEANS + 2i + 1.
const H_MEANS = 16;
const H_MAGIC = 15;
const H_RAMP = 22;
// Step 10: where each run started, the high it left from and the count then (slots 24, 25 and 26, 27).
const H_RAMP_START = 24;
// H_CAL0: the count at which the calibration window last started over (0: at the series' start; see step 5).
const H_CAL0 = 28;
// Bumped when a slot's meaning or the layout changes (20261129: slot 9 became the grid time; 20261130: the rings'
// sorted float32 copies became u16 slot orders and the calibration window u16 codes; 20261130.1: the header grew to
// 32 slots for step 10), so that a state of an old layout is refused (BadParam) instead of read with the new meaning.
const MAGIC: f64 = 20261130.1;

export const KIND_NONE: f64 = 0.0;
export const KIND_SPIKE: f64 = 1.0;
export const KIND_LEVEL_SHIFT: f64 = 2.0;
export const KIND_BEHAVIOUR: f64 = 3.0;
export const KIND_RAMP: f64 = 4.0;


function effectivePeriod(period: i32): i32 {
  return period >= MIN_PERIOD && period <= MAX_PERIOD ? period : 1;
}

/** Float32 slots after the header for the given effective period: the season, the four residual rings, the recent
 *  residuals and values. */
function f32Len(p: i32): i32 {
  return p + 4 * W + 2 * M + MEAN_N;
}

/** U16 slots after the float32 ones: the order of each ring's slots (robust.ts slideWindow), then the calibration
 *  window's codes (robust.ts scoreCode). */
const U16_LEN: i32 = 4 * W + CAL_N;

/** Bytes of the arrays after the header. */
function arrayBytes(p: i32): i32 {
  return (f32Len(p) << 2) + (U16_LEN << 1);
}

/** Doubles of state for one series with the given period (samples per day): the header, then the arrays. */
export function uvStateLen(period: i32): i32 {
  return UV_HEADER + ((arrayBytes(effectivePeriod(period)) + 7) >> 3);
}

/** Address of float32 slot i of the arrays after the header. */
@inline function aSlot(s: usize, i: i32): usize {
  return s + (<usize>UV_HEADER << 3) + (<usize>i << 2);
}

@inline function aGet(s: usize, i: i32): f64 {
  return <f64>load<f32>(aSlot(s, i));
}

@inline function aPut(s: usize, i: i32, v: f64): void {
  store<f32>(aSlot(s, i), <f32>v);
}

/** Resets a series' state. */
export function uvInit(s: usize, period: i32): void {
  memory.fill(s, 0, <usize>uvStateLen(period) << 3);
  put(s, H_PERIOD, <f64>effectivePeriod(period));
  put(s, H_CALREF, 1.0);
  put(s, H_XMIN, Infinity);
  put(s, H_XMAX, -Infinity);
  for (let i = 0; i < 3; i++) {
    put(s, H_MEANS + 2 * i, Infinity);
    put(s, H_MEANS + 2 * i + 1, -Infinity);
  }
  put(s, H_RUNMAX, -Infinity);
  put(s, H_LAST, -1e9);
  put(s, H_MAGIC, MAGIC);
}

/** True when the state was initialised by uvInit (guards against a zeroed or foreign buffer). */
export function uvValid(s: usize, stride: i32): bool {
  if (get(s, H_MAGIC) != MAGIC) return false;
  const p = <i32>get(s, H_PERIOD);
  return p >= 1 && uvStateLen(p) <= stride;
}

/**
 * Least 99th percentile of q the calibration uses: one unit of the residual noise floor (robustZ's floor, 1e-9 of
 * the level). On a constant series every q is 0, and a floor of 1e-6 made a change of 1e-13 of the level extreme
 * (L = 1); a q under one floor unit is noise by that floor's own definition.
 */
const REF_MIN: f64 = 1.0;

/** The largest finite float32: values beyond it are missing (see anomaly_uv_step). */
const F32_MAX: f64 = 3.4028234663852886e38;
/** The largest double below 1: scores stay in [0, 1). */
const SCORE_MAX: f64 = 0.9999999999999999;

/** Series with fewer points than this give score 0 (TooFewPoints). */
export function uvWarmup(): i32 {
  return WARM_CAL;
}

// Offsets of the arrays after the header (float32 slots).
@inline function oSeason(): i32 { return 0; }
@inline function oRing(p: i32, k: i32): i32 { return p + k * W; }
@inline function oLast(p: i32, k: i32): i32 { return p + 4 * W + k * M; }
@inline function oLastX(p: i32): i32 { return p + 4 * W + 2 * M; }
/** Address of the order of ring k: its W slots (u16) in ascending order of their residuals (robustZ reads its median
 *  and MAD through it). */
@inline function order(s: usize, p: i32, k: i32): usize {
  return aSlot(s, f32Len(p)) + (<usize>(k * W) << 1);
}

/** Address of the calibration window: the last CAL_N q as u16 codes (robust.ts scoreCode). */
@inline function calCodes(s: usize, p: i32): usize {
  return aSlot(s, f32Len(p)) + (<usize>(4 * W) << 1);
}

/** Exceedance of v beyond [lo, hi] as a fraction of hi - lo (0 inside or while the range is empty). */
@inline function exceedance(v: f64, lo: f64, hi: f64): f64 {
  if (!(hi > lo)) return 0.0;
  const r = hi - lo;
  const up = (v - hi) / r;
  const dn = (lo - v) / r;
  return up > dn ? (up > 0.0 ? up : 0.0) : (dn > 0.0 ? dn : 0.0);
}

/** The k-th newest value (k = 0: x itself) of the ring at `lx`. */
@inline function recent(s: usize, lx: i32, c: i32, k: i32): f64 {
  return aGet(s, lx + (c - k) % MEAN_N);
}

/**
 * Mann-Kendall z for an upward trend over the last n values: S = sum over pairs i < j of
 * sign(x_j - x_i), var S = n (n - 1) (2n + 5) / 18 (no tie correction: ties only lower |S|), z = (S - 1) / sqrt(var S)
 * for S > 1, else 0 (no evidence of growth).
 */
function mannKendallZ(s: usize, lx: i32, c: i32, n: i32): f64 {
  const v = scratchF64(n);
  for (let k = 0; k < n; k++) store<f64>(v + (<usize>(n - 1 - k) << 3), recent(s, lx, c, k));
  let S = 0.0;
  for (let i = 0; i < n - 1; i++) {
    const xi = load<f64>(v + (<usize>i << 3));
    for (let j = i + 1; j < n; j++) {
      const d = load<f64>(v + (<usize>j << 3)) - xi;
      S += d > 0.0 ? 1.0 : d < 0.0 ? -1.0 : 0.0;
    }
  }
  if (S <= 1.0) return 0.0;
  const nf = <f64>n;
  return (S - 1.0) / Math.sqrt((nf * (nf - 1.0) * (2.0 * nf + 5.0)) / 18.0);
}

/**
 * Step 10, for the mean over the last 24 (i = 0) or 96 values (i = 1), before step 6 updates its running low and high
 * (`lo`, `hi`): updates its run of new highs, and returns whether that run is a ramp's (its length and rate, in a
 * series past the warm-up). The 96-value mean's run counts only while the 24-value mean's is on (i = 0 comes first).
 */
function rampRun(s: usize, p: i32, c: i32, i: i32, mean: f64, lo: f64, hi: f64): bool {
  const period = p >= MIN_PERIOD ? p : RAMP_WARM_MIN / RAMP_WARM_PERIODS;
  const startAt = H_RAMP_START + 2 * i;
  let run = get(s, H_RAMP + i);
  if (c < WARM_RANGE) run = 0.0;
  else if (mean > hi) {
    // a run starts at the mean it left from: the high before it
    if (run == 0.0) {
      put(s, startAt, hi > -Infinity ? hi : mean);
      put(s, startAt + 1, <f64>c);
    }
    run += 1.0;
  } else if (!(mean >= hi - RAMP_SLACK * (hi - lo))) run = 0.0;
  put(s, H_RAMP + i, run);
  // the 8-hour mean's run counts only while the 2-hour mean is at its high too: after a burst of a few hours the
  // 8-hour mean goes on setting highs while the burst is in its window, though nothing climbs any more
  if (i == 1 && get(s, H_RAMP) == 0.0) return false;
  if (run < <f64>rampLength(period) || c < RAMP_WARM_PERIODS * period) return false;
  // and it climbs at a ramp's rate: RAMP_MIN_RATE of its level a period at least
  const perPoint = (mean - get(s, startAt)) / (<f64>(c - <i32>get(s, startAt + 1)) + 1.0);
  return perPoint * <f64>period >= RAMP_MIN_RATE * Math.abs(mean);
}

/** A ramp's run length in points: RAMP_RUN, or an eighth of the period when that is more. */
@inline function rampLength(period: i32): i32 {
  return period / 8 > RAMP_RUN ? period / 8 : RAMP_RUN;
}

/** Step 10's likelihood once a run is a ramp's: the trend test over the run's last values, when significant. */
function rampLikelihood(s: usize, p: i32, lx: i32, c: i32): f64 {
  const need = rampLength(p >= MIN_PERIOD ? p : RAMP_WARM_MIN / RAMP_WARM_PERIODS);
  const z = mannKendallZ(s, lx, c, need < MEAN_N ? need : MEAN_N);
  return z >= RAMP_MIN_Z ? 1.0 - gaussTail(z) : 0.0;
}

/** Smaller-magnitude of two z-scores, keeping its sign. */
@inline function minAbs(a: f64, b: f64): f64 {
  return Math.abs(a) <= Math.abs(b) ? a : b;
}

/**
 * Feeds one finite value to a series. Writes score, event score, likelihood and kind at out + 0..3 (doubles).
 */
export function uvStep(s: usize, x: f64, out: usize): void {
  const p = <i32>get(s, H_PERIOD);
  const useS = p >= MIN_PERIOD;
  const c = <i32>get(s, H_COUNT);
  const tick = <i32>get(s, H_TICK);
  // The last MEAN_N values (including x), for the range novelty of the level at three time scales.
  const lx = oLastX(p);
  aPut(s, lx + c % MEAN_N, x);

  let q = 0.0;
  let z1 = 0.0;
  let zm = 0.0;
  if (c == 0) {
    put(s, H_LEVEL, x);
    put(s, H_LEVELS, x);
  } else {
    const level = get(s, H_LEVEL);
    const levelS = get(s, H_LEVELS);
    if (c == 1) put(s, H_PHASE, <f64>calPhase(level + 3.0 * x, CAL_EVERY));
    const si = tick % p;
    const e0 = x - level;
    const e1 = useS ? x - (levelS + aGet(s, oSeason() + si)) : e0;
    const seasonalReady = useS && c >= 2 * p;
    const rc = c - 1; // residuals stored so far
    const m = rc < W ? rc : W;
    // Mean residual over the last M points, per model.
    aPut(s, oLast(p, 0) + rc % M, e0);
    aPut(s, oLast(p, 1) + rc % M, e1);
    const nm = rc + 1 < M ? rc + 1 : M;
    let em0 = 0.0, em1 = 0.0;
    for (let i = 0; i < nm; i++) {
      em0 += aGet(s, oLast(p, 0) + i);
      em1 += aGet(s, oLast(p, 1) + i);
    }
    em0 /= <f64>nm;
    em1 /= <f64>nm;
    if (m >= WARM_Z) {
      const floor = 1e-9 * Math.abs(level) + 1e-12;
      z1 = robustZ(aSlot(s, oRing(p, 0)), order(s, p, 0), m, e0, floor);
      zm = robustZ(aSlot(s, oRing(p, 2)), order(s, p, 2), m, em0, floor);
      if (seasonalReady) {
        z1 = minAbs(z1, robustZ(aSlot(s, oRing(p, 1)), order(s, p, 1), m, e1, floor));
        zm = minAbs(zm, robustZ(aSlot(s, oRing(p, 3)), order(s, p, 3), m, em1, floor));
      }
      q = Math.max(Math.abs(z1), Math.abs(zm));
      // Values near the f64 limit can overflow a residual: such a point carries no usable evidence.
      if (!isFinite(q)) {
        q = 0.0;
        z1 = 0.0;
        zm = 0.0;
      }
    }
    const ri = rc % W;
    slideWindow(aSlot(s, oRing(p, 0)), order(s, p, 0), W, m, ri, e0);
    slideWindow(aSlot(s, oRing(p, 1)), order(s, p, 1), W, m, ri, e1);
    slideWindow(aSlot(s, oRing(p, 2)), order(s, p, 2), W, m, ri, em0);
    slideWindow(aSlot(s, oRing(p, 3)), order(s, p, 3), W, m, ri, em1);
    // Model updates (after scoring: no look-ahead).
    put(s, H_LEVEL, level + ALPHA * e0);
    if (useS) {
      const so = oSeason() + si;
      // The first day sets each slot (a slot whose first-day value was missing starts from 0 and is learnt at gamma).
      if (tick < p) {
        aPut(s, so, x - levelS);
      } else {
        const sv = aGet(s, so);
        const nl = levelS + ALPHA * (x - sv - levelS);
        put(s, H_LEVELS, nl);
        aPut(s, so, sv + GAMMA * (x - nl - sv));
      }
    }
  }

  // CUSUM on the clipped shift evidence.
  const zc = zm > CUSUM_CLIP ? CUSUM_CLIP : zm < -CUSUM_CLIP ? -CUSUM_CLIP : zm;
  let cp = get(s, H_CUSP) + zc - CUSUM_K;
  let cn = get(s, H_CUSN) - zc - CUSUM_K;
  cp = cp > 0.0 ? cp : 0.0;
  cn = cn > 0.0 ? cn : 0.0;
  const cusum = cp > cn ? cp : cn;
  if (cusum / CUSUM_SCALE > q) q = cusum / CUSUM_SCALE;
  const shifted = cusum > CUSUM_H;
  if (shifted) {
    // Restart after an alarm so that the next shift is measured from the new level.
    cp = 0.0;
    cn = 0.0;
  }
  put(s, H_CUSP, cp);
  put(s, H_CUSN, cn);

  // Calibration against the series' own recent q: their 99th percentile u and mean excess tau over it. The window
  // starts over at the first point the seasonal model scores (c = 2P): the q before it came from the level model
  // alone, larger on a seasonal series, and held the percentile up for the CAL_N points they stayed in the window.
  if (p >= MIN_PERIOD && c == 2 * p) put(s, H_CAL0, <f64>c);
  const c0 = <i32>get(s, H_CAL0);
  const co = calCodes(s, p);
  const mc = c - c0 < CAL_N ? c - c0 : CAL_N;
  let cal = 0.0;
  let lik = 0.0;
  // Until the new window holds a period of values, the calibration from before it stays in force (a tail fitted to
  // fewer flagged tenants with a daily cycle and noise 3 times as often in that day).
  const warm = c0 > 0 ? p : WARM_CAL;
  if (mc >= warm || (c0 > 0 && get(s, H_TAU) > 0.0)) {
    // Also while tau is still 0: the first calibration would otherwise wait for the next multiple of CAL_EVERY (point
    // 64), and until then u = 1 and tau = 0 give p = 0, L = 1, for every q > 1 (as mahalanobis.ts guards).
    if (mc >= warm && ((c + <i32>get(s, H_PHASE)) % CAL_EVERY == 0 || get(s, H_TAU) == 0.0 || mc == warm)) {
      const tmp = scratchF64(mc);
      if (c0 == 0 || mc == CAL_N) decodeScores(co, mc, tmp);
      else {
        // the last mc codes of the ring, from slot (c - mc) mod CAL_N on
        const first = (c - mc) % CAL_N;
        const head = CAL_N - first < mc ? CAL_N - first : mc;
        decodeScores(co + (<usize>first << 1), head, tmp);
        if (head < mc) decodeScores(co, mc - head, tmp + (<usize>head << 3));
      }
      let kq = <i32>Math.floor(CAL_P * <f64>mc);
      if (kq > mc - 1) kq = mc - 1;
      let ref = selectTail(tmp, mc, kq);
      if (!(ref > REF_MIN)) ref = REF_MIN;
      // After selection every element above kq is >= the percentile: their mean excess is tau (over at least
      // TAIL_MIN values, robust.ts tailScale).
      let tau = tailScale(tmp, mc, kq, ref, TAIL_MIN);
      if (tau < 0.05 * ref) tau = 0.05 * ref;
      put(s, H_CALREF, ref);
      put(s, H_TAU, tau);
      put(s, H_XI, tailShape(tmp, mc, kq));
    }
    const ref = get(s, H_CALREF);
    cal = q / ref;
    const pTail = q > ref ? tailProbability(q, ref, 1.0 - CAL_P, get(s, H_TAU), get(s, H_XI)) : 1.0 - CAL_P * cal;
    lik = 1.0 - pTail;
    if (!isFinite(lik)) lik = 0.0;
  }
  store<u16>(co + (<usize>(c % CAL_N) << 1), scoreCode(q));

  // Range novelty of the value and of its means over the last 6, 24 and 96 points (fewer while warming up).
  let nov = 0.0;
  let levelNovel = false;
  const rx = c >= WARM_RANGE ? exceedance(x, get(s, H_XMIN), get(s, H_XMAX)) : 0.0;
  if (rx > RANGE_TOL) nov = RANGE_WEIGHT * (1.0 + rx);
  if (x < get(s, H_XMIN)) put(s, H_XMIN, x);
  if (x > get(s, H_XMAX)) put(s, H_XMAX, x);
  let sum = 0.0;
  let taken = 0;
  let ramp = false;
  for (let i = 0; i < 3; i++) {
    const k = i == 0 ? 6 : i == 1 ? 24 : 96;
    const avail = c + 1 < k ? c + 1 : k;
    // Extend the running sum backwards from the newest value to the k newest values.
    for (; taken < avail; taken++) sum += aGet(s, lx + (c - taken + MEAN_N) % MEAN_N);
    const mean = sum / <f64>avail;
    const lo = H_MEANS + 2 * i;
    // step 10's runs, against the highs before this mean
    if (i > 0 && rampRun(s, p, c, i - 1, mean, get(s, lo), get(s, lo + 1))) ramp = true;
    if (c >= WARM_RANGE) {
      const rm = exceedance(mean, get(s, lo), get(s, lo + 1));
      if (rm > RANGE_TOL && RANGE_WEIGHT * (1.0 + rm) > nov) {
        nov = RANGE_WEIGHT * (1.0 + rm);
        levelNovel = true;
      }
    }
    if (mean < get(s, lo)) put(s, lo, mean);
    if (mean > get(s, lo + 1)) put(s, lo + 1, mean);
  }

  // Ramps (step 10): evidence of their own, with the likelihood of the trend test
  let rampLik = ramp ? rampLikelihood(s, p, lx, c) : 0.0;
  if (rampLik > lik) lik = rampLik;
  else rampLik = 0.0;

  const raw = cal > nov ? cal : nov;
  // in [0, 1) as documented: raw / (1 + raw) rounds to 1 once raw passes 2^53
  const score = Math.min(raw / (1.0 + raw), SCORE_MAX);

  // Refractory event score.
  const t = <f64>c;
  if (t - get(s, H_LAST) > REFRACTORY) put(s, H_RUNMAX, -Infinity);
  let event = 0.0;
  if (score > get(s, H_RUNMAX)) {
    event = score;
    put(s, H_RUNMAX, score);
    put(s, H_LAST, t);
  }

  let kind = KIND_NONE;
  if (raw >= 1.0) {
    // A spike is a single-point excursion; evidence carried by the 3-point means, the CUSUM or the range of a
    // rolling mean is a shift of level.
    const fromShift = shifted || levelNovel || Math.abs(zm) > Math.abs(z1) || cusum / CUSUM_SCALE > Math.abs(z1);
    kind = fromShift ? KIND_LEVEL_SHIFT : KIND_SPIKE;
  } else if (shifted) {
    kind = KIND_LEVEL_SHIFT;
  }
  if (rampLik > 0.0) kind = KIND_RAMP;
  put(s, H_COUNT, <f64>(c + 1));
  put(s, H_TICK, <f64>(tick + 1));
  store<f64>(out, score);
  store<f64>(out + 8, event);
  store<f64>(out + 16, lik);
  store<f64>(out + 24, kind);
}

/** Count of finite points the series has seen. */
export function uvCount(s: usize): i32 {
  return <i32>get(s, H_COUNT);
}

/** Batch driver: see anomaly_uv_step and anomaly_uv_step_at in api.ts. With `ptrs` (not 0) the k-th state is at
 *  the address in its k-th u32 (states kept in core memory between calls), else at `states` + k strides. */
export function uvRun(
  nSeries: i32, nSteps: i32, stride: i32, states: usize, values: usize,
  outScore: usize, outEvent: usize, outLik: usize, outKind: usize, outStatus: usize, ptrs: usize = 0,
): i32 {
  if (nSeries < 0 || nSteps < 0 || stride < UV_HEADER) return Status.BadParam;
  let worst: i32 = Status.Ok;
  const o = scratchOut();
  for (let k = 0; k < nSeries; k++) {
    const s = ptrs != 0 ? <usize>load<u32>(ptrs + (<usize>k << 2)) : states + (<usize>k * <usize>stride << 3);
    let st: i32 = Status.Ok;
    if (!uvValid(s, stride)) {
      st = Status.BadParam;
    }
    for (let j = 0; j < nSteps; j++) {
      const idx = (<usize>k * <usize>nSteps + <usize>j) << 3;
      const x = load<f64>(values + idx);
      let score = 0.0, event = 0.0, lik = 0.0, kind = KIND_NONE;
      if (st != Status.BadParam) {
        // beyond float32's range (the value ring's type) a value would be kept as Infinity and poison the means:
        // missing, as a non-finite one
        if (isFinite(x) && Math.abs(x) <= F32_MAX) {
          uvStep(s, x, o);
          score = load<f64>(o);
          event = load<f64>(o + 8);
          lik = load<f64>(o + 16);
          kind = load<f64>(o + 24);
        } else {
          // A missing sample still takes its place on the grid (seasonal phase).
          put(s, H_TICK, get(s, H_TICK) + 1.0);
          st = Status.NonFinite;
        }
      }
      store<f64>(outScore + idx, score);
      store<f64>(outEvent + idx, event);
      store<f64>(outLik + idx, lik);
      store<f64>(outKind + idx, kind);
    }
    if (st == Status.Ok && uvCount(s) < WARM_CAL) st = Status.TooFewPoints;
    store<i32>(outStatus + (<usize>k << 2), st);
    if (st != Status.Ok && (worst == Status.Ok || st == Status.BadParam)) worst = st;
  }
  return worst;
}

let outBuf: usize = 0;
function scratchOut(): usize {
  if (outBuf == 0) outBuf = heap.alloc(32);
  return outBuf;
}
