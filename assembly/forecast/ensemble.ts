// Per-step bookkeeping of the forecasting ensemble, for many series per call: every new point matures the forecasts
// made h steps before it (rolling-origin errors into each model's error ring, exponentially weighted absolute loss,
// adaptive conformal inference on the quantiles that were issued, live scoring), then the simple members
// (persistence, seasonal naive, recent median, seasonal median) forecast from the recent values, the host-computed
// members (Holt-Winters, histogram, damped Holt, GRU) are taken from the input, and a softmax over relative loss
// weights them into the ensemble forecast, per horizon (after a point the ensemble did not see coming, the longer
// horizons' losses also take the shortest horizon's errors for a while: chargeLongerHorizons). All state lives in
// host-owned blocks (layout in the config, written by the host: src/core/series-state.ts), copied in and out per call.
//
// ACI: Gibbs & Candes, "Adaptive Conformal Inference Under Distribution Shift", NeurIPS 2021, eq. 2, applied to the
// working level: shift += gamma * (miss - (1 - level)), clamped to [-maxShift, maxShift]. Of a run of points that each
// surprise a tracked model (off by more than SURPRISE times its loss: a new level before the forecasts follow it), only
// the first steps its shifts: after a step up every miss of the run stepped them, and the 0.95 quantile's took 11-13
// hours of hits to come back (README "Limits").
//
// Live scores (hits, counts, absolute errors and actuals) are exponentially weighted sums, not totals since the
// series was first fitted: every scored outcome first multiplies the sums it adds to by LIVE_DECAY, so a ratio of two
// of them (coverage = hits / count, MAE = abs / count, relative MAE = abs / act) is a weighted mean in which an
// outcome counts half as much 288 outcomes later. The gauges built from them then describe recent behaviour: after
// a week of 90% coverage, a total collapse takes the 0.9 quantile's coverage under 0.85 in 24 outcomes
// (0.9 * LIVE_DECAY^n < 0.85 for n > 288 * log2(0.9 / 0.85) = 23.7), where plain totals took 119
// (0.9 * 2016 / (2016 + n) < 0.85). Nothing else reads them: forecasts, weights and ACI shifts are unchanged.

// ---- config layout (doubles) ------------------------------------------------------------------------------------
export const CFG_K = 0;
export const CFG_P = 1;
export const CFG_NM = 2;
export const CFG_L = 3;
export const CFG_E = 4;
export const CFG_SEASON = 5;
export const CFG_RING = 6;
export const CFG_LAMBDA = 7;
export const CFG_ETA = 8;
export const CFG_GAMMA = 9;
export const CFG_MAX_SHIFT = 10;
export const CFG_MIN_WEIGHT = 11;
export const CFG_MEDIAN_WINDOW = 12;
export const CFG_SMEDIAN_DEPTH = 13;
export const CFG_STRIDE = 14;
// section offsets inside a series' block (doubles)
export const CFG_O_FC = 15;
export const CFG_O_FC_ORIGIN = 16;
export const CFG_O_ERR_N = 17;
export const CFG_O_LOSS = 18;
export const CFG_O_WEIGHTS = 19;
export const CFG_O_ISSUED_Q = 20;
export const CFG_O_ISSUED_ORIGIN = 21;
export const CFG_O_ISSUED_MODELS = 22;
export const CFG_O_SHIFT = 23;
export const CFG_O_LIVE_HITS = 24;
export const CFG_O_LIVE_COUNT = 25;
export const CFG_O_LIVE_ABS = 26;
export const CFG_O_RING = 27;
/** Decayed sum of |actual| over the live-scored outcomes per (m,k): the scale of the live error (relative MAE). */
export const CFG_O_LIVE_ACT = 28;
/** First model with quantile tracking (error ring, issued quantiles, conformal shifts, live hits): 0 = every model,
 *  nM = the ensemble alone (the allocator reads only the ensemble's quantiles). The sections sized by it hold models
 *  Q0..nM, indexed by m - Q0; errN, loss and the live counts, absolute errors and scale stay per model. */
export const CFG_Q0 = 29;
/** Decayed count of the outcomes scored on issued quantiles per tracked (m,k): the denominator of the live hits
 *  (coverage). */
export const CFG_O_LIVE_QN = 30;
/** Per tracked (m,k): 1 when its last matured forecast was a surprise (off by more than SURPRISE times its loss). */
export const CFG_O_SURPRISED = 31;
/** Doubles before hs[K], levels[L], disabled[nM]. */
export const CFG_HEADER = 32;

/** Half-life of the live scores, in scored outcomes of one series, model and horizon: a day at 5-minute steps. */
export const LIVE_HALF_LIFE: f64 = 288.0;
/** Weight an outcome keeps per later outcome: 2^(-1/288) = 0.997596..., so that LIVE_DECAY^288 = 1/2. */
export const LIVE_DECAY: f64 = Math.exp(-Math.LN2 / LIVE_HALF_LIFE);

// block scalars
/**
 * A matured point at which every member's error exceeds SURPRISE times its loss (the decayed mean of its absolute
 * errors) is one no member saw coming: a scrape glitch, a spike, the first point of a new level. Each member's loss
 * then takes its error only up to SURPRISE times itself, so that all losses grow by the same factor and the weights,
 * which read losses relative to the best, stay as they were. Unclipped, one absurd point (a million times the level)
 * took every member's loss to the same huge value, and the weights went near-uniform for days. The error rings the
 * quantiles read take such a point's error (each tracked model's, the ensemble's included) only up to SURPRISE times
 * that model's loss too, sign kept: it still widens the outer quantiles for the day it stays in the window, by at
 * most ten typical errors instead of its full size (in the backtest, Foresight's slack at persistence's equal
 * shortage fell by up to 6% with it: bench/HISTORY.md). A member that errs alone (a trend that explodes, persistence
 * repeating the glitch at the next point) is not clipped, nor is the ensemble's error while it adapts to a new level
 * (after a step, most of what widens its intervals for a day: README "Limits").
 * SURPRISE_MIN_N: matured errors a member's loss must hold to be judged.
 */
const SURPRISE: f64 = 10.0;
const SURPRISE_MIN_N: f64 = 12.0;

const B_N = 0;
const B_LAST = 1;
const B_MIN = 2;
const B_MAXABS = 3;
/** Index of the last point at which the ensemble's shortest-horizon forecast missed by more than SURPRISE times its
 *  loss (-Infinity: none yet). */
const B_SURPRISED_AT = 4;

// models computed here (the others come from the input matrix)
const M_PERSIST = 2;
const M_SNAIVE = 3;
const M_MEDIAN = 5;
const M_SMEDIAN = 6;

@inline function ld(p: usize, i: i32): f64 {
  return load<f64>(p + (<usize>i << 3));
}

@inline function st(p: usize, i: i32, v: f64): void {
  store<f64>(p + (<usize>i << 3), v);
}

/** One ACI step of the working-level shift for target `level` after a hit (missed = false) or a miss. */
@inline export function aciStep(shift: f64, level: f64, missed: bool, gamma: f64, maxShift: f64): f64 {
  const next = shift + gamma * ((missed ? 1.0 : 0.0) - (1.0 - level));
  return Math.max(-maxShift, Math.min(maxShift, next));
}

/**
 * Softmax weights over relative loss, exp(-eta * (L_m / L_best - 1)), for n models with losses at `loss`
 * (NaN/Infinity = unavailable: weight 0); weights below minWeight are dropped and the rest renormalised. With no
 * finite loss at all, equal weights. Writes n doubles at `out`.
 */
export function weightsFromLoss(loss: usize, n: i32, out: usize, eta: f64, minWeight: f64): void {
  let best = Infinity;
  for (let i = 0; i < n; i++) {
    const l = ld(loss, i);
    if (l < best) best = l;
  }
  if (!isFinite(best)) {
    const eq = 1.0 / <f64>n;
    for (let i = 0; i < n; i++) st(out, i, eq);
    return;
  }
  const scale = best > 0.0 ? best : 1e-300;
  let sum = 0.0;
  for (let i = 0; i < n; i++) {
    const l = ld(loss, i);
    const w = isFinite(l) ? Math.exp(-eta * (l / scale - 1.0)) : 0.0;
    st(out, i, w);
    sum += w;
  }
  let kept = 0.0;
  for (let i = 0; i < n; i++) {
    let w = ld(out, i);
    if (w / sum < minWeight) w = 0.0;
    st(out, i, w);
    kept += w;
  }
  for (let i = 0; i < n; i++) st(out, i, kept > 0.0 ? ld(out, i) / kept : 0.0);
}

/** Whether the forecast f of v missed by more than SURPRISE times its loss l, that loss established (n errors). */
@inline function surprising(v: f64, f: f64, l: f64, n: f64): bool {
  return l > 0.0 && n >= SURPRISE_MIN_N && Math.abs(v - f) > SURPRISE * l;
}

/**
 * Whether every enabled member with a forecast of y maturing at (horizon k, ring slot) errs by more than SURPRISE
 * times its loss, with at least two judged and every judged loss established (positive, SURPRISE_MIN_N errors).
 */
function allSurprised(v: f64, fc: usize, loss: usize, errN: usize, disabled: usize, nM: i32, K: i32, P: i32, k: i32, slot: i32): bool {
  let judged = 0;
  for (let m = 0; m < nM; m++) {
    if (ld(disabled, m) != 0.0) continue;
    const f = ld(fc, (m * K + k) * P + slot);
    if (!isFinite(f)) continue;
    const mk = m * K + k;
    if (!surprising(v, f, ld(loss, mk), ld(errN, mk))) return false;
    judged++;
  }
  return judged >= 2;
}


/**
 * After a point the ensemble did not see coming, a horizon of h steps learns nothing of it from its own errors for h
 * steps (its forecasts made since have not matured), so its weights stayed as they were while the shortest horizon's
 * moved, and its forecasts kept the members that missed (after a step up, the 30-minute median stayed at the old
 * level for 45 minutes). Until then, each of a member's shortest-horizon errors (`ratio`: that error over its loss
 * there) also moves its loss at each such horizon, as the same multiple of its loss there.
 */
function chargeLongerHorizons(loss: usize, hs: usize, K: i32, k0: i32 /* the shortest */, m: i32, since: f64, ratio: f64, lam: f64): void {
  for (let k = 0; k < K; k++) {
    if (k == k0 || since >= ld(hs, k)) continue;
    const mk = m * K + k;
    const l = ld(loss, mk);
    if (l > 0.0) st(loss, mk, l + lam * (ratio * l - l));
  }
}

/** Median of c doubles at p (sorted in place by insertion: c is small). */
function smallMedian(p: usize, c: i32): f64 {
  for (let i = 1; i < c; i++) {
    const v = ld(p, i);
    let j = i - 1;
    while (j >= 0 && ld(p, j) > v) {
      st(p, j + 1, ld(p, j));
      j--;
    }
    st(p, j + 1, v);
  }
  return c & 1 ? ld(p, (c - 1) >> 1) : 0.5 * (ld(p, (c >> 1) - 1) + ld(p, c >> 1));
}

/** Value `back` steps before the last consumed point (0 = last) of a block with n points consumed; NaN if not kept. */
@inline function recent(ring: usize, R: i32, n: i64, back: i32): f64 {
  if (back < 0 || back >= R || <i64>back >= n) return NaN;
  return ld(ring, <i32>((n - 1 - <i64>back) % <i64>R));
}

/** Scratch doubles the step needs: weights and losses (nM each), the median buffer and the horizons' order (K). */
export function ensScratchLen(cfg: usize): i32 {
  const nM = <i32>ld(cfg, CFG_NM);
  const a = <i32>ld(cfg, CFG_MEDIAN_WINDOW);
  const b = <i32>ld(cfg, CFG_SMEDIAN_DEPTH);
  return 2 * nM + (a > b ? a : b) + 1 + <i32>ld(cfg, CFG_K);
}

/** True when the config is usable (sizes positive, offsets inside the stride). */
export function ensConfigOk(cfg: usize): bool {
  const K = <i32>ld(cfg, CFG_K), P = <i32>ld(cfg, CFG_P), nM = <i32>ld(cfg, CFG_NM), L = <i32>ld(cfg, CFG_L);
  const E = <i32>ld(cfg, CFG_E), R = <i32>ld(cfg, CFG_RING), S = <i32>ld(cfg, CFG_STRIDE);
  const q0 = <i32>ld(cfg, CFG_Q0);
  if (K < 1 || P < 2 || nM < 1 || L < 0 || E < 1 || R < 1 || S < 4 || q0 < 0 || q0 > nM) return false;
  if (<i32>ld(cfg, CFG_O_RING) + R > S) return false;
  for (let k = 0; k < K; k++) {
    const h = <i32>ld(cfg, CFG_HEADER + k);
    if (h < 1 || h >= P) return false;
  }
  return true;
}

/**
 * Consumes n points y[0..n) into one series' block `b`. xin[(j*nM + m)*K + k]: forecast of model m at horizon k made
 * after point j, for the models not computed here. Matured errors of the tracked models (m >= Q0) go to the series'
 * error rings: into err directly (err[((m - Q0)*K + k)*E + slot]) when jrn == 0, else appended to the journal as (index into err, value) pairs. Returns the number
 * of journal pairs written.
 */
export function ensAdvance(cfg: usize, b: usize, y: usize, n: i32, xin: usize, err: usize, jrn: usize, scratch: usize): i32 {
  const K = <i32>ld(cfg, CFG_K), P = <i32>ld(cfg, CFG_P), nM = <i32>ld(cfg, CFG_NM), L = <i32>ld(cfg, CFG_L);
  const E = <i32>ld(cfg, CFG_E), season = <i32>ld(cfg, CFG_SEASON), R = <i32>ld(cfg, CFG_RING);
  const lam = ld(cfg, CFG_LAMBDA), eta = ld(cfg, CFG_ETA), gamma = ld(cfg, CFG_GAMMA);
  const maxShift = ld(cfg, CFG_MAX_SHIFT), minW = ld(cfg, CFG_MIN_WEIGHT);
  const medWin = <i32>ld(cfg, CFG_MEDIAN_WINDOW), depth = <i32>ld(cfg, CFG_SMEDIAN_DEPTH);
  const fc = b + (<usize>ld(cfg, CFG_O_FC) << 3);
  const fcOrigin = b + (<usize>ld(cfg, CFG_O_FC_ORIGIN) << 3);
  const errN = b + (<usize>ld(cfg, CFG_O_ERR_N) << 3);
  const loss = b + (<usize>ld(cfg, CFG_O_LOSS) << 3);
  const weights = b + (<usize>ld(cfg, CFG_O_WEIGHTS) << 3);
  const issuedQ = b + (<usize>ld(cfg, CFG_O_ISSUED_Q) << 3);
  const issuedOrigin = b + (<usize>ld(cfg, CFG_O_ISSUED_ORIGIN) << 3);
  const issuedModels = b + (<usize>ld(cfg, CFG_O_ISSUED_MODELS) << 3);
  const shift = b + (<usize>ld(cfg, CFG_O_SHIFT) << 3);
  const liveHits = b + (<usize>ld(cfg, CFG_O_LIVE_HITS) << 3);
  const liveCount = b + (<usize>ld(cfg, CFG_O_LIVE_COUNT) << 3);
  const liveAbs = b + (<usize>ld(cfg, CFG_O_LIVE_ABS) << 3);
  const liveAct = b + (<usize>ld(cfg, CFG_O_LIVE_ACT) << 3);
  const liveQN = b + (<usize>ld(cfg, CFG_O_LIVE_QN) << 3);
  const surprised = b + (<usize>ld(cfg, CFG_O_SURPRISED) << 3);
  const ring = b + (<usize>ld(cfg, CFG_O_RING) << 3);
  const hs = cfg + (<usize>CFG_HEADER << 3);
  const levels = hs + (<usize>K << 3);
  const disabled = levels + (<usize>L << 3);
  const w = scratch;
  const lossTmp = scratch + (<usize>nM << 3);
  const med = lossTmp + (<usize>nM << 3);
  const order = med + (<usize>(medWin > depth ? medWin + 1 : depth + 1) << 3);
  const M1 = nM + 1;
  // the horizons from the shortest (the caller's come in any order): forecasts mature in that order at each point,
  // so that the shortest horizon's surprise charges the longer ones before their own errors of it mature, whatever
  // the order; past the longest horizon no horizon is charged with the shortest one's errors
  for (let r = 0; r < K; r++) {
    let i = r;
    while (i > 0 && ld(hs, <i32>ld(order, i - 1)) > ld(hs, r)) {
      st(order, i, ld(order, i - 1));
      i--;
    }
    st(order, i, <f64>r);
  }
  const k0 = <i32>ld(order, 0);
  const hMax = ld(hs, <i32>ld(order, K - 1));
  const q0 = <i32>ld(cfg, CFG_Q0);
  const MQ = M1 - q0;
  let medL = -1;
  for (let l = 0; l < L; l++) {
    if (ld(levels, l) == 0.5) {
      medL = l;
      break;
    }
  }
  let jn = 0;
  let nn = <i64>ld(b, B_N);
  let lastFinite = ld(b, B_LAST);
  for (let j = 0; j < n; j++) {
    const v = ld(y, j);
    const idx = nn;
    const finite = isFinite(v);
    // 1. mature the forecasts made h steps ago: errors, losses, conformal shifts, live scores
    if (finite) {
      for (let r = 0; r < K; r++) {
        const k = <i32>ld(order, r);
        const o = idx - <i64>ld(hs, k);
        if (o < 0) continue;
        const slot = <i32>(o % <i64>P);
        const fo = <f64>o;
        // tracked models (bit m) for which this point continues a run of surprises: their shifts do not step on it
        let surprisedMask = 0;
        if (ld(fcOrigin, slot) == fo) {
          const clip = allSurprised(v, fc, loss, errN, disabled, nM, K, P, k, slot);
          const ek = nM * K + k;
          if (k == k0 && surprising(v, ld(fc, ek * P + slot), ld(loss, ek), ld(errN, ek))) st(b, B_SURPRISED_AT, <f64>idx);
          // points since that surprise, while a longer horizon's forecasts made after it have yet to mature
          const since = k == k0 ? <f64>idx - ld(b, B_SURPRISED_AT) : Infinity;
          const charge = since > 0.0 && since < hMax;
          for (let m = 0; m < M1; m++) {
            const f = ld(fc, (m * K + k) * P + slot);
            if (!isFinite(f)) continue;
            const e = v - f;
            const mk = m * K + k;
            const c = ld(errN, mk);
            if (m >= q0) {
              // the first surprise of a run steps the conformal shifts; the rest of the run (the points of a new
              // level until the forecasts follow it, a burst's) does not
              const sk = (m - q0) * K + k;
              const isSurprise = surprising(v, f, ld(loss, mk), c);
              if (isSurprise && ld(surprised, sk) != 0.0) surprisedMask |= 1 << m;
              st(surprised, sk, isSurprise ? 1.0 : 0.0);
              const pos = ((m - q0) * K + k) * E + <i32>(<i64>c % <i64>E);
              // a point no member saw coming enters the window at most SURPRISE times the model's loss, as it
              // enters the losses (the ensemble's too: it errs with its members there)
              let er = e;
              if (clip) {
                const bound = SURPRISE * ld(loss, mk);
                if (bound > 0.0 && Math.abs(e) > bound) er = e > 0.0 ? bound : -bound;
              }
              if (jrn) {
                st(jrn, 2 * jn, <f64>pos);
                st(jrn, 2 * jn + 1, er);
                jn++;
              } else {
                st(err, pos, er);
              }
            }
            st(errN, mk, c + 1.0);
            const prev = ld(loss, mk);
            const a = clip && m < nM ? Math.min(Math.abs(e), SURPRISE * prev) : Math.abs(e);
            st(loss, mk, isNaN(prev) ? a : prev + Math.max(lam, 1.0 / (c + 1.0)) * (a - prev));
            if (charge && m < nM && !clip && prev > 0.0) chargeLongerHorizons(loss, hs, K, k0, m, since, a / prev, lam);
          }
        }
        // live scoring at an origin where forecasts were issued: every model's point forecast (its issued median
        // when its quantiles were issued, else its own point forecast), and the issued quantiles' hits and ACI steps
        if (ld(issuedOrigin, slot) == fo) {
          const fcHere = ld(fcOrigin, slot) == fo;
          for (let m = 0; m < M1; m++) {
            const qm = m - q0;
            const mk = m * K + k;
            let point: f64;
            if (qm >= 0 && ld(issuedModels, slot * MQ + qm) != 0.0) {
              const qb = ((slot * MQ + qm) * K + k) * L;
              for (let l = 0; l < L; l++) {
                const q = ld(issuedQ, qb + l);
                const si = (qm * K + k) * L + l;
                if (!(surprisedMask & (1 << m))) st(shift, si, aciStep(ld(shift, si), ld(levels, l), v > q, gamma, maxShift));
                st(liveHits, si, LIVE_DECAY * ld(liveHits, si) + (v <= q ? 1.0 : 0.0));
              }
              const qn = qm * K + k;
              st(liveQN, qn, LIVE_DECAY * ld(liveQN, qn) + 1.0);
              point = medL >= 0 ? ld(issuedQ, qb + medL) : ld(fc, mk * P + slot);
            } else {
              point = fcHere ? ld(fc, mk * P + slot) : NaN;
              if (!isFinite(point)) continue;
            }
            st(liveCount, mk, LIVE_DECAY * ld(liveCount, mk) + 1.0);
            st(liveAbs, mk, LIVE_DECAY * ld(liveAbs, mk) + Math.abs(v - point));
            st(liveAct, mk, LIVE_DECAY * ld(liveAct, mk) + Math.abs(v));
          }
        }
      }
    }
    // 2. consume the value (the ring holds float32 values: the host keeps it as a Float32Array, and a value read back
    // within this call must equal what a later call reads from the host's copy)
    st(ring, <i32>(idx % <i64>R), <f64><f32>v);
    if (finite) {
      lastFinite = v;
      if (v < ld(b, B_MIN)) st(b, B_MIN, v);
      if (Math.abs(v) > ld(b, B_MAXABS)) st(b, B_MAXABS, Math.abs(v));
    }
    nn = idx + 1;
    // 3. forecasts at this origin
    const slot = <i32>(idx % <i64>P);
    const fidx = <f64>idx;
    st(fcOrigin, slot, fidx);
    const io = ld(issuedOrigin, slot);
    if (io != -1.0 && io != fidx) st(issuedOrigin, slot, -1.0);
    let c = 0;
    for (let back = 0; back < medWin; back++) {
      const r = recent(ring, R, nn, back);
      if (isFinite(r)) st(med, c++, r);
    }
    const fMed = c > 0 ? smallMedian(med, c) : NaN;
    for (let k = 0; k < K; k++) {
      const h = <i32>ld(hs, k);
      let fSn = NaN;
      if (season > 0 && h <= season) fSn = recent(ring, R, nn, season - h);
      if (!isFinite(fSn)) fSn = lastFinite;
      for (let m = 0; m < nM; m++) {
        let f: f64;
        if (m == M_PERSIST) f = lastFinite;
        else if (m == M_SNAIVE) f = fSn;
        else if (m == M_MEDIAN) f = fMed;
        else if (m == M_SMEDIAN) {
          f = NaN;
          if (season > 0 && h <= season) {
            let cs = 0;
            for (let d = 1; d <= depth; d++) {
              const r = recent(ring, R, nn, d * season - h);
              if (isFinite(r)) st(med, cs++, r);
            }
            if (cs > 0) f = smallMedian(med, cs);
          }
        } else f = ld(xin, (j * nM + m) * K + k);
        if (!isFinite(f) || ld(disabled, m) != 0.0) f = NaN;
        st(fc, (m * K + k) * P + slot, f);
        let lt = isFinite(f) ? ld(loss, m * K + k) : Infinity;
        if (isNaN(lt)) lt = f64.MAX_VALUE;
        st(lossTmp, m, lt);
      }
      weightsFromLoss(lossTmp, nM, w, eta, minW);
      let acc = 0.0, ws = 0.0;
      for (let m = 0; m < nM; m++) {
        const f = ld(fc, (m * K + k) * P + slot);
        const wm = ld(w, m);
        if (wm > 0.0 && isFinite(f)) {
          acc += wm * f;
          ws += wm;
        }
        st(weights, k * nM + m, wm);
      }
      st(fc, (nM * K + k) * P + slot, ws > 0.0 ? acc / ws : lastFinite);
    }
  }
  st(b, B_N, <f64>nn);
  st(b, B_LAST, lastFinite);
  return jn;
}
