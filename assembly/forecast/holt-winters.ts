// Additive Holt-Winters with optional damped trend and up to two seasonal periods, in error-correction form
// (Hyndman & Athanasopoulos, "Forecasting: Principles and Practice" 3rd ed., section 8.3 and table 8.7, ETS(A,Ad,A)):
//   yhat_t = l + phi*b + s1[t mod m1] + s2[t mod m2],   e = y_t - yhat_t
//   l <- l + phi*b + alpha*e,  b <- phi*b + beta*e,  s1[t mod m1] += gamma1*e,  s2[t mod m2] += gamma2*e
//   h-step forecast from origin t (after y_t): l + (phi + ... + phi^h) b + s1[(t+h) mod m1] + s2[(t+h) mod m2].
// The classic form (a, b*, g*) is the same filter with alpha = a, beta = a*b*, and gamma = g* for forecast's
// HoltWintersZZ (its seasonal update uses the one-step error), gamma = g*(1-a) for stats::HoltWinters.
// Checked against R forecast 8.20 in test/core/holt-winters.test.ts.
// A missing value (NaN) advances the state without correction (e = 0): the forecast carries through the gap.
//
// State (host memory, HW_HEADER + m1 + m2 doubles):
//   [0] alpha [1] beta [2] gamma1 [3] gamma2 [4] phi [5] level [6] trend [7] m1 [8] m2 [9] t (points consumed)
//   [10] status of the last fit [11] mean squared one-step error of the last fit [12] scale (for constant checks)
//   [13] the sum of squared one-step errors the fit's minimiser found at the parameters it kept (the objective's value:
//   [11] times the points present, to the bit, whichever of the objective's loops evaluated it)
//   [HW_HEADER ..] s1[0..m1-1], then s2[0..m2-1]
import { Status } from "../status";
import { nelderMead, nelderMeadScratchLen } from "../stats/nelder-mead";
import { f, HW_HEADER, put, sse4NoSeason, sse4OneSeason, sseNoSeason, sseOneSeason } from "./hw-sse";

export { HW_HEADER };

/** h-step forecast (h >= 1) from the current state. */
export function hwForecastOne(s: usize, h: i32): f64 {
  const phi = f(s, 4);
  const m1 = <i32>f(s, 7), m2 = <i32>f(s, 8);
  const t = <i64>f(s, 9);
  let damp = 0.0, pk = 1.0;
  for (let k = 0; k < h; k++) {
    pk *= phi;
    damp += pk;
  }
  let v = f(s, 5) + damp * f(s, 6);
  const target = t + <i64>h - 1;
  if (m1 > 0) v += f(s, HW_HEADER + <i32>(target % m1));
  if (m2 > 0) v += f(s, HW_HEADER + m1 + <i32>(target % m2));
  return v;
}

/**
 * Runs the filter over y[0..n) from state s (NaN = gap: the state advances without correction). When out != 0,
 * writes after each point i the forecasts for the nH horizons (steps, at hs as doubles) into out[i*nH + k], the
 * same values as hwForecastOne. Returns the sum of squared one-step errors.
 * The state is held in locals and the seasonal phases advance by one per point (no 64-bit remainder per step).
 * Without forecasts and with one season or none (the fit's objective and final run) it hands over to the loops of
 * hw-sse.ts, which give the same sums and states without adding an absent season's 0.
 */
export function hwRun(s: usize, y: usize, n: i32, hs: usize, nH: i32, out: usize): f64 {
  if (!out && f(s, 8) == 0.0) return f(s, 7) > 0.0 ? sseOneSeason(s, y, n) : sseNoSeason(s, y, n);
  const alpha = f(s, 0), beta = f(s, 1), g1 = f(s, 2), g2 = f(s, 3), phi = f(s, 4);
  let l = f(s, 5), b = f(s, 6);
  const m1 = <i32>f(s, 7), m2 = <i32>f(s, 8);
  const t0 = <i64>f(s, 9);
  const s1 = s + (<usize>HW_HEADER << 3);
  const s2 = s1 + (<usize>m1 << 3);
  let ph1 = m1 > 0 ? <i32>(t0 % <i64>m1) : 0;
  let ph2 = m2 > 0 ? <i32>(t0 % <i64>m2) : 0;
  // the damped-trend multiplier phi + ... + phi^h of each horizon (as hwForecastOne sums it), once per run
  const damps = out ? heap.alloc(<usize>nH << 3) : 0;
  for (let k = 0; damps && k < nH; k++) {
    const h = <i32>load<f64>(hs + (<usize>k << 3));
    let damp = 0.0, pk = 1.0;
    for (let j = 0; j < h; j++) {
      pk *= phi;
      damp += pk;
    }
    store<f64>(damps + (<usize>k << 3), damp);
  }
  let sse = 0.0;
  for (let i = 0; i < n; i++) {
    const p1 = s1 + (<usize>ph1 << 3);
    const p2 = s2 + (<usize>ph2 << 3);
    const sv1 = m1 > 0 ? load<f64>(p1) : 0.0;
    const sv2 = m2 > 0 ? load<f64>(p2) : 0.0;
    const yhat = l + phi * b + sv1 + sv2;
    const v = load<f64>(y + (<usize>i << 3));
    if (isFinite(v)) {
      const e = v - yhat;
      l = l + phi * b + alpha * e;
      b = phi * b + beta * e;
      if (m1 > 0) store<f64>(p1, sv1 + g1 * e);
      if (m2 > 0) store<f64>(p2, sv2 + g2 * e);
      sse += e * e;
    } else {
      l = l + phi * b;
      b = phi * b;
    }
    if (m1 > 0 && ++ph1 == m1) ph1 = 0;
    if (m2 > 0 && ++ph2 == m2) ph2 = 0;
    if (out) {
      // the forecast for target t + h - 1, t = points consumed so far (the phases already point at t)
      for (let k = 0; k < nH; k++) {
        const h = <i32>load<f64>(hs + (<usize>k << 3));
        let fc = l + load<f64>(damps + (<usize>k << 3)) * b;
        if (m1 > 0) fc += load<f64>(s1 + (<usize>((ph1 + h - 1) % m1) << 3));
        if (m2 > 0) fc += load<f64>(s2 + (<usize>((ph2 + h - 1) % m2) << 3));
        store<f64>(out + (<usize>(i * nH + k) << 3), fc);
      }
    }
  }
  if (damps) heap.free(damps);
  put(s, 5, l);
  put(s, 6, b);
  put(s, 9, <f64>(t0 + <i64>n));
  return sse;
}

function meanRange(y: usize, from: i32, to: i32): f64 {
  let s = 0.0, c = 0;
  for (let i = from; i < to; i++) {
    const v = load<f64>(y + (<usize>i << 3));
    if (isFinite(v)) {
      s += v;
      c++;
    }
  }
  return c > 0 ? s / <f64>c : NaN;
}

/** Means of the first (up to 8) whole periods, computed once per season in seasonStart. */
const PERIOD_MEANS = memory.data(8 << 3);

/**
 * The seasonal start of a season of `m` steps stored at s[HW_HEADER + at ..]: at each phase, the mean over the first
 * (up to maxPeriods) whole periods of the value less its period's mean, less the value of an earlier season of
 * `under` steps (0 = none) at that time. Gaps are skipped.
 */
function seasonStart(s: usize, y: usize, n: i32, m: i32, at: i32, maxPeriods: i32, under: i32): void {
  const periods = n / m;
  const kmax = periods < maxPeriods ? periods : maxPeriods;
  for (let k = 0; k < kmax; k++) store<f64>(PERIOD_MEANS + (<usize>k << 3), meanRange(y, k * m, (k + 1) * m));
  for (let j = 0; j < m; j++) {
    let acc = 0.0, c = 0;
    for (let k = 0; k < kmax; k++) {
      const pm = load<f64>(PERIOD_MEANS + (<usize>k << 3));
      const i = k * m + j;
      const v = load<f64>(y + (<usize>i << 3));
      const sv = under > 0 ? f(s, HW_HEADER + i % under) : 0.0;
      if (isFinite(v) && isFinite(pm)) {
        acc += v - pm - sv;
        c++;
      }
    }
    put(s, HW_HEADER + at + j, c > 0 ? acc / <f64>c : 0.0);
  }
}

/**
 * Sets the initial state from the first periods of y (classical decomposition, as R's HoltWinters start):
 * level = mean of the first period, trend = (mean of period 2 - mean of period 1)/m1, s1[j] = mean over complete
 * periods of (y - that period's mean) at phase j; s2 likewise on what s1 leaves. Gaps (NaN) are skipped.
 */
export function hwInitState(s: usize, y: usize, n: i32, m1: i32, m2: i32): void {
  put(s, 7, <f64>m1);
  put(s, 8, <f64>m2);
  put(s, 9, 0.0);
  const base = m1 > 0 ? m1 : (n < 12 ? n : 12);
  const first = meanRange(y, 0, base < n ? base : n);
  let level = isNaN(first) ? meanRange(y, 0, n) : first;
  if (isNaN(level)) level = 0.0;
  let trend = 0.0;
  if (m1 > 0 && n >= 2 * m1) {
    const second = meanRange(y, m1, 2 * m1);
    if (!isNaN(second) && !isNaN(first)) trend = (second - first) / <f64>m1;
  }
  for (let j = 0; j < m1 + m2; j++) put(s, HW_HEADER + j, 0.0);
  if (m1 > 0) seasonStart(s, y, n, m1, 0, 8, 0);
  if (m2 > 0) seasonStart(s, y, n, m2, m1, 4, m1);
  // level at "time -1" so that the first one-step forecast is the period mean at phase 0 (trend centred)
  put(s, 5, level - trend * (<f64>(m1 > 0 ? m1 : base) + 1.0) * 0.5);
  put(s, 6, trend);
}

// Parameter map from the unit box: keeps 0 < beta < alpha, gamma1 + gamma2 < 1 - alpha (ETS admissible region,
// FPP3 section 8.6) and phi in [0.8, 0.98] (FPP3 recommends phi >= 0.8; 0.98 keeps damping visible).
function mapParams(u: usize, d: i32, s: usize, damped: bool): void {
  const m1 = <i32>f(s, 7), m2 = <i32>f(s, 8);
  let k = 0;
  const alpha = 0.0001 + 0.9989 * load<f64>(u + (<usize>(k++) << 3));
  const beta = alpha * 0.999 * load<f64>(u + (<usize>(k++) << 3));
  let g1 = 0.0, g2 = 0.0, phi = 1.0;
  if (m1 > 0) g1 = (1.0 - alpha) * 0.999 * load<f64>(u + (<usize>(k++) << 3));
  if (m2 > 0) g2 = (1.0 - alpha - g1) * 0.999 * load<f64>(u + (<usize>(k++) << 3));
  if (damped) phi = 0.8 + 0.18 * load<f64>(u + (<usize>(k++) << 3));
  put(s, 0, alpha);
  put(s, 1, beta);
  put(s, 2, g1);
  put(s, 3, g2);
  put(s, 4, phi);
}

// Objective context, laid out in the fit scratch: [y, n, init state, work states, state bytes, damped], then four
// doubles for the sums of a batch.
const CTX_DOUBLES: i32 = 12;
/** Work states of the objective: one per point evaluated together (nelderMead hands it up to four). */
const WORK_STATES: i32 = 4;

/**
 * The fit's objective (nelderMead): the one-step squared error of the filter over the series for each of k parameter
 * points (a huge or non-finite sum when a trend explodes). Four at once through the four-state loops where the state
 * has one season or none (points beyond k repeat the last); one at a time with two seasons.
 */
function objective(xs: usize, k: i32, d: i32, ctx: usize, out: usize): void {
  const y = <usize>load<f64>(ctx);
  const n = <i32>load<f64>(ctx + 8);
  const init = <usize>load<f64>(ctx + 16);
  const work = <usize>load<f64>(ctx + 24);
  const bytes = <usize>load<f64>(ctx + 32);
  const damped = load<f64>(ctx + 40) != 0.0;
  const m1 = f(init, 7), m2 = f(init, 8);
  if (k == 1 || m2 > 0.0) {
    for (let i = 0; i < k; i++) {
      memory.copy(work, init, bytes);
      mapParams(xs + <usize>(i * d) * 8, d, work, damped);
      store<f64>(out + (<usize>i << 3), hwRun(work, y, n, 0, 0, 0));
    }
    return;
  }
  for (let i = 0; i < WORK_STATES; i++) {
    const w = work + <usize>i * bytes;
    memory.copy(w, init, bytes);
    mapParams(xs + <usize>((i < k ? i : k - 1) * d) * 8, d, w, damped);
  }
  const sums = ctx + 64;
  if (m1 > 0.0) sse4OneSeason(work, bytes, y, n, sums);
  else sse4NoSeason(work, bytes, y, n, sums);
  memory.copy(out, sums, <usize>k << 3);
}

/** Largest parameter count of a fit: alpha, beta, two seasons' gammas, phi. */
const MAX_PARAMS: i32 = 5;

/** Scratch doubles hwFit needs for a state of m1 + m2 seasons. */
export function hwFitScratchLen(m1: i32, m2: i32): i32 {
  return (1 + WORK_STATES) * (HW_HEADER + m1 + m2) + CTX_DOUBLES + 8 + nelderMeadScratchLen(MAX_PARAMS);
}

@inline function unit(v: f64): f64 {
  return isFinite(v) ? (v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v) : 0.5;
}

/**
 * The unit-box point (mapParams' inverse) of the parameters in state s, for the seasons m1, m2 of the new fit, into
 * u (d doubles); a season the previous state did not have starts where a cold fit does. Returns false when s holds
 * no fitted parameters (then a cold start is used).
 */
function warmStart(s: usize, m1: i32, m2: i32, damped: bool, u: usize): bool {
  const alpha = f(s, 0), beta = f(s, 1), g1 = f(s, 2), g2 = f(s, 3), phi = f(s, 4);
  const prevStatus = <i32>f(s, 10);
  if (!isFinite(alpha) || !(alpha > 0.0) || prevStatus == Status.TooFewPoints || prevStatus == Status.Constant) return false;
  const prevM1 = <i32>f(s, 7), prevM2 = <i32>f(s, 8);
  let k = 0;
  store<f64>(u + (<usize>(k++) << 3), unit((alpha - 0.0001) / 0.9989));
  store<f64>(u + (<usize>(k++) << 3), unit(beta / (alpha * 0.999)));
  if (m1 > 0) store<f64>(u + (<usize>(k++) << 3), prevM1 > 0 ? unit(g1 / ((1.0 - alpha) * 0.999)) : 0.1);
  if (m2 > 0) store<f64>(u + (<usize>(k++) << 3), prevM2 > 0 ? unit(g2 / ((1.0 - alpha - g1) * 0.999)) : 0.1);
  if (damped) store<f64>(u + (<usize>(k++) << 3), unit((phi - 0.8) / 0.18));
  return true;
}

/** Simplex step of a warm refit: a local search around the previous optimum. */
const WARM_STEP: f64 = 0.05;

/**
 * Fits the parameters by bounded Nelder-Mead on the one-step squared error and leaves s at the state after the
 * last point. Seasons longer than half the series are dropped (status FallbackNonSeasonal when m1 had to go).
 * `warm`: s holds a previous fit, whose parameters start a local search (a periodic refit on a slightly longer
 * history needs far fewer evaluations than a cold fit). Returns a Status; the state is always usable (a finite
 * level, zero trend at worst).
 */
export function hwFit(s: usize, y: usize, n: i32, m1In: i32, m2In: i32, damped: bool, maxEvals: i32, scratch: usize, warm: bool = false): i32 {
  let status = Status.Ok;
  let finite = 0, nonFinite = 0;
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = load<f64>(y + (<usize>i << 3));
    if (isFinite(v)) {
      finite++;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    } else if (!isNaN(v)) nonFinite++;
  }
  let m1 = m1In > 1 ? m1In : 0;
  let m2 = m2In > 1 ? m2In : 0;
  if (m2 > 0 && n < 2 * m2) m2 = 0;
  if (m1 > 0 && n < 2 * m1) {
    m1 = 0;
    status = Status.FallbackNonSeasonal;
  }
  if (m1 == 0 && m2 > 0) {
    m1 = m2;
    m2 = 0;
  }
  // scratch layout: the initial state, the objective's working states and context, the parameters, Nelder-Mead's own
  const bytes = <usize>(HW_HEADER + m1 + m2) << 3;
  const init = scratch;
  const work = init + bytes;
  const ctx = work + <usize>WORK_STATES * bytes;
  const u = ctx + (<usize>CTX_DOUBLES << 3);
  const nm = u + 64;
  // the previous parameters, read into u before the state is re-initialised
  const isWarm = warm && warmStart(s, m1, m2, damped, u);
  // keep the state's seasonal capacity as the host laid it out (m1In + m2In doubles), zeroing what is unused
  hwInitState(s, y, n, m1, m2);
  put(s, 0, 0.5);
  put(s, 1, 0.0);
  put(s, 2, 0.0);
  put(s, 3, 0.0);
  put(s, 4, damped ? 0.98 : 1.0);
  put(s, 12, Math.max(Math.abs(lo), Math.abs(hi)));
  put(s, 13, 0.0);
  if (finite < 2) {
    put(s, 5, finite == 1 ? lo : 0.0);
    put(s, 6, 0.0);
    put(s, 9, <f64>n);
    put(s, 10, <f64>Status.TooFewPoints);
    put(s, 11, 0.0);
    return Status.TooFewPoints;
  }
  if (hi - lo <= 1e-12 * Math.max(Math.abs(hi), 1e-300)) {
    hwInitState(s, y, n, 0, 0);
    put(s, 7, <f64>m1);
    put(s, 8, <f64>m2);
    put(s, 5, lo);
    put(s, 6, 0.0);
    put(s, 0, 0.5);
    put(s, 9, <f64>n);
    put(s, 10, <f64>Status.Constant);
    put(s, 11, 0.0);
    return Status.Constant;
  }
  memory.copy(init, s, bytes);
  store<f64>(ctx, <f64>y);
  store<f64>(ctx + 8, <f64>n);
  store<f64>(ctx + 16, <f64>init);
  store<f64>(ctx + 24, <f64>work);
  store<f64>(ctx + 32, <f64>bytes);
  store<f64>(ctx + 40, damped ? 1.0 : 0.0);
  let d = 2 + (m1 > 0 ? 1 : 0) + (m2 > 0 ? 1 : 0) + (damped ? 1 : 0);
  if (!isWarm) {
    let k = 2;
    store<f64>(u, 0.3);
    store<f64>(u + 8, 0.1);
    if (m1 > 0) store<f64>(u + (<usize>(k++) << 3), 0.1);
    if (m2 > 0) store<f64>(u + (<usize>(k++) << 3), 0.1);
    if (damped) store<f64>(u + (<usize>(k++) << 3), 0.9);
  }
  const best = nelderMead(objective, d, u, isWarm ? WARM_STEP : 0.2, maxEvals, 1e-7, ctx, nm);
  memory.copy(s, init, bytes);
  put(s, 13, best);
  mapParams(u, d, s, damped);
  const sse = hwRun(s, y, n, 0, 0, 0);
  put(s, 10, <f64>status);
  put(s, 11, sse / <f64>finite);
  if (!isFinite(best) || !isFinite(f(s, 5)) || !isFinite(f(s, 6))) {
    // the optimiser found nothing usable: fall back to simple exponential smoothing of the level
    memory.copy(s, init, bytes);
    put(s, 0, 0.3);
    put(s, 1, 0.0);
    put(s, 2, 0.0);
    put(s, 3, 0.0);
    put(s, 4, 1.0);
    hwRun(s, y, n, 0, 0, 0);
  }
  if (nonFinite > 0 && status == Status.Ok) status = Status.NonFinite;
  return status;
}
