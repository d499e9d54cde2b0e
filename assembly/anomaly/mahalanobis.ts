// Streaming per-tenant behaviour score: robust Mahalanobis distance of the behaviour vector from the tenant's own
// exponentially weighted profile, with the covariance shrunk towards its diagonal.
//
// Per vector x (d signals: resource ratios, API call mix, data-access rates...):
// 1. y = x - mean. Distance D^2 = y' A^-1 y with A = (1 - rho) S + rho diag(S) (+ a tiny ridge relative to each
//    signal's own scale), by Cholesky.
//    Shrinkage towards the diagonal ("target D" of Schaefer & Strimmer 2005, Stat. Appl. Genet. Mol. Biol. 4(1)
//    art. 32) keeps A well conditioned while the profile is young and keeps the signals' own units; the intensity
//    follows Ledoit & Wolf (2004, J. Multivariate Anal. 88(2), section 3.3): rho = min(beta2, delta2) / delta2 with
//    delta2 = sum_{i != j} S_ij^2 (distance of S from the target) and beta2 = (E[sum_{i != j} y_i^2 y_j^2] -
//    delta2) / n_eff (the estimation noise of the off-diagonal terms), n_eff = min(count, 1 / (1 - lambda)).
// 2. Under a Gaussian profile D^2 ~ chi2(d); the Wilson & Hilferty (1931, PNAS 17(12)) cube-root transform
//    z = ((D^2 / d)^(1/3) - (1 - 2/(9d))) / sqrt(2/(9d)) is approximately N(0, 1).
//    Example: d = 4, D^2 = 13.28 (the chi2(4) 99% point) gives z = 2.33.
// 3. Calibration: real profiles are neither Gaussian nor known exactly (measured: on i.i.d. Gaussian vectors the chi2
//    tail flagged 0.35% of points at L >= 0.999, on a daily-cycling tenant none), so, as for single series
//    (univariate.ts, step 9), the likelihood comes from the tenant's own last 2000 z: above their 99th percentile u,
//    p = 0.01 max(exp(-(z - u) / tau), (1 + xi (z - u) / sigma)^(-1/xi)), sigma = tau (1 - xi), with tau their mean
//    excess over u, over at least the 10 largest z (peaks over threshold; robust.ts tailScale), and xi the shape of
//    their top 5% (robust.ts tailShape and tailProbability; 0, the exponential tail, when lighter or while fewer than
//    1,001 z are stored); below u,
//    p = 1 - 0.99 Phi(z) / Phi(u). L = 1 - p. Until 50 z are stored,
//    L = Phi(z) from the chi2 approximation.
//    Score: raw = max(z, 0) / u (1 at the tenant's own 99th percentile), score = raw / (1 + raw).
// 4. Profile update, robust: the vector enters the mean and covariance with Huber weight w = min(1, c / D),
//    c^2 = d + 3 sqrt(2 d) (about the chi2 99.9% point), so a burst cannot drag the profile along (Huber 1964,
//    Ann. Math. Statist. 35(1); Maronna 1976, Ann. Statist. 4(1), for the M-estimator of scatter).
//    EW weights a = max(1 / (count + 1), 1 - lambda), lambda = 1 - 1/288 (one day of 5-minute cycles);
//    S <- (1 - a w)(S + a w y y').
import { Status } from "../status";

/** The largest double below 1: scores stay in [0, 1). */
const SCORE_MAX: f64 = 0.9999999999999999;
import { get, put, slot } from "./state";
import { calPhase, decodeScores, gaussTail, scoreCode, scratchF64, selectTail, tailProbability, tailScale, tailShape } from "./robust";

export const MV_HEADER: i32 = 9;
export const MV_MAX_DIM: i32 = 64;
const LAMBDA: f64 = 1.0 - 1.0 / 288.0;
// H_PHASE: the tenant's calibration phase (robust.ts calPhase), from its first z.
const H_DIM = 0, H_COUNT = 1, H_MAGIC = 2, H_M4OFF = 3, H_REF = 4, H_TAU = 5, H_NZ = 6, H_XI = 7, H_PHASE = 8;
const CAL_N: i32 = 2000;
const CAL_P: f64 = 0.99;
const CAL_EVERY: i32 = 16;
// Values the tail scale tau rests on at least (robust.ts tailScale; 19 lie above the 99th percentile once full).
const TAIL_MIN: i32 = 10;
const WARM_CAL: i32 = 50;
// Bumped when the layout changes (20261130: the z window became u16 codes), so that a profile of an old layout is
// refused (BadParam).
const MAGIC: f64 = 20261130.0;


/** Doubles of state for one tenant with d signals (0 when d is out of range): the header, the mean (d), the
 *  covariance (d x d), then the last CAL_N z as u16 codes, four to a double (as univariate.ts keeps its calibration
 *  window, robust.ts scoreCode: 4 KB a tenant instead of float32's 8; see zOffset). */
export function mvStateLen(d: i32): i32 {
  if (d < 1 || d > MV_MAX_DIM) return 0;
  return MV_HEADER + d + d * d + ((CAL_N + 3) >> 2);
}

/**
 * What the stored codes add to z so that it is never negative: z >= -(1 - c9) / sqrt(c9), c9 = 2 / (9d) (the
 * Wilson-Hilferty z of D^2 = 0; -2.67 at d = 2, -16.9 at d = 64). The codes keep 1 + z + zOffset to 1.2e-4 of itself,
 * so z = 2.3 (a usual 99th percentile) to +-7e-4 at d = 2 and +-2.5e-3 at d = 64.
 */
function zOffset(d: i32): f64 {
  const c9 = 2.0 / (9.0 * <f64>d);
  return (1.0 - c9) / Math.sqrt(c9);
}

export function mvInit(s: usize, d: i32): void {
  memory.fill(s, 0, <usize>mvStateLen(d) << 3);
  put(s, H_DIM, <f64>d);
  put(s, H_MAGIC, MAGIC);
}

/** Vectors a tenant needs before it is scored (TooFewPoints until then). */
export function mvWarmup(d: i32): i32 {
  return 2 * d + 10;
}

function mvValid(s: usize, d: i32, stride: i32): bool {
  return get(s, H_MAGIC) == MAGIC && <i32>get(s, H_DIM) == d && mvStateLen(d) <= stride;
}

/** Cholesky factor of the d x d matrix at a, in place (lower triangle). False when not positive definite. */
function cholesky(a: usize, d: i32): bool {
  for (let j = 0; j < d; j++) {
    let sum = load<f64>(a + (<usize>(j * d + j) << 3));
    for (let k = 0; k < j; k++) {
      const l = load<f64>(a + (<usize>(j * d + k) << 3));
      sum -= l * l;
    }
    if (!(sum > 0.0)) return false;
    const djj = Math.sqrt(sum);
    store<f64>(a + (<usize>(j * d + j) << 3), djj);
    for (let i = j + 1; i < d; i++) {
      let v = load<f64>(a + (<usize>(i * d + j) << 3));
      for (let k = 0; k < j; k++) {
        v -= load<f64>(a + (<usize>(i * d + k) << 3)) * load<f64>(a + (<usize>(j * d + k) << 3));
      }
      store<f64>(a + (<usize>(i * d + j) << 3), v / djj);
    }
  }
  return true;
}

/** Likelihood and score of z from the tenant's own z history (see step 3); stores z. Writes score, likelihood. */
function calibrate(s: usize, d: i32, z: f64, out: usize): void {
  const zs = slot(s, MV_HEADER + d + d * d); // the last CAL_N z, u16 codes of z + zOffset(d)
  const off = zOffset(d);
  const nz = <i32>get(s, H_NZ);
  const m = nz < CAL_N ? nz : CAL_N;
  let lik: f64, raw: f64;
  if (nz == 0) put(s, H_PHASE, <f64>calPhase(z, CAL_EVERY));
  if (m >= WARM_CAL) {
    if ((nz + <i32>get(s, H_PHASE)) % CAL_EVERY == 0 || get(s, H_TAU) == 0.0) {
      const tmp = scratchF64(m);
      decodeScores(zs, m, tmp);
      for (let i = 0; i < m; i++) store<f64>(tmp + (<usize>i << 3), load<f64>(tmp + (<usize>i << 3)) - off);
      let k = <i32>Math.floor(CAL_P * <f64>m);
      if (k > m - 1) k = m - 1;
      const ref = selectTail(tmp, m, k);
      let tau = tailScale(tmp, m, k, ref, TAIL_MIN);
      if (tau < 0.05) tau = 0.05;
      put(s, H_REF, ref);
      put(s, H_TAU, tau);
      put(s, H_XI, tailShape(tmp, m, k));
    }
    const u = get(s, H_REF);
    const p = z > u ? tailProbability(z, u, 1.0 - CAL_P, get(s, H_TAU), get(s, H_XI)) : 1.0 - CAL_P * (1.0 - gaussTail(z)) / (1.0 - gaussTail(u));
    lik = 1.0 - p;
    raw = (z > 0.0 ? z : 0.0) / (u > 0.5 ? u : 0.5);
  } else {
    lik = 1.0 - gaussTail(z);
    raw = (z > 0.0 ? z : 0.0) / 2.326;
  }
  // z + off may round to just below 0 at D^2 = 0: code 0, the smallest z.
  store<u16>(zs + (<usize>(nz % CAL_N) << 1), scoreCode(z + off));
  put(s, H_NZ, <f64>(nz + 1));
  store<f64>(out, Math.min(raw / (1.0 + raw), SCORE_MAX)); // in [0, 1), as univariate.ts
  store<f64>(out + 8, isFinite(lik) ? lik : 0.0);
}

/**
 * Scores one vector (d finite doubles at x) against the tenant profile and updates it.
 * Writes score, likelihood and z at out + 0..2 (doubles); returns false while the profile is too young.
 */
export function mvStep(s: usize, d: i32, x: usize, out: usize): bool {
  const count = <i32>get(s, H_COUNT);
  const mo = MV_HEADER;
  const co = MV_HEADER + d;
  // The step's work area sits after the first CAL_N doubles of the shared scratch, which calibrate() selects in: it
  // asks for at most CAL_N, so it neither overwrites y (read by the profile update after it) nor moves the area.
  const scr = scratchF64(CAL_N + d * d + 2 * d) + (<usize>CAL_N << 3);
  const y = scr + (<usize>(d * d) << 3);
  const u = y + (<usize>d << 3);
  let yy = 0.0, y4 = 0.0;
  for (let i = 0; i < d; i++) {
    const v = load<f64>(x + (<usize>i << 3)) - get(s, mo + i);
    store<f64>(y + (<usize>i << 3), v);
    yy += v * v;
    y4 += v * v * v * v;
  }
  let score = 0.0, lik = 0.0, z = 0.0, dist = 0.0;
  const ready = count >= mvWarmup(d);
  if (ready) {
    // Shrinkage intensity (Ledoit-Wolf form, diagonal target).
    let delta2 = 0.0;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) if (i != j) delta2 += get(s, co + i * d + j) * get(s, co + i * d + j);
    }
    const nEff = Math.min(<f64>count, 1.0 / (1.0 - LAMBDA));
    let beta2 = (get(s, H_M4OFF) - delta2) / nEff;
    if (beta2 < 0.0) beta2 = 0.0;
    const rho = delta2 > 0.0 ? Math.min(beta2, delta2) / delta2 : 1.0;
    // The ridge of each signal is relative to that signal's own variance: one ridge for all, scaled by the mean
    // variance, let a byte-valued signal (variance ~1e12) swamp the variance of a signal in cores (~1e-2), so a
    // 20-sigma CPU jump next to memory gave z < 0. A constant signal (S_ii = 0) keeps a standard deviation of 1e-9 of
    // its level (the univariate detector's floor, univariate.ts) plus 1e-6, so that an all-zero signal factors.
    let ridge = 1e-9;
    let ok = false;
    for (let attempt = 0; attempt < 6 && !ok; attempt++) {
      for (let i = 0; i < d; i++) {
        for (let j = 0; j < d; j++) {
          const sij = get(s, co + i * d + j);
          const mi = get(s, mo + i);
          store<f64>(scr + (<usize>(i * d + j) << 3), i == j ? sij + ridge * (Math.abs(sij) + 1e-9 * mi * mi + 1e-3) : (1.0 - rho) * sij);
        }
      }
      ok = cholesky(scr, d);
      ridge *= 1000.0;
    }
    if (ok) {
      // Forward substitution L u = y; D^2 = |u|^2.
      for (let i = 0; i < d; i++) {
        let v = load<f64>(y + (<usize>i << 3));
        for (let k = 0; k < i; k++) v -= load<f64>(scr + (<usize>(i * d + k) << 3)) * load<f64>(u + (<usize>k << 3));
        v /= load<f64>(scr + (<usize>(i * d + i) << 3));
        store<f64>(u + (<usize>i << 3), v);
        dist += v * v;
      }
      if (!isFinite(dist)) dist = 1e300;
      const dd = <f64>d;
      const c9 = 2.0 / (9.0 * dd);
      z = (Math.cbrt(dist / dd) - (1.0 - c9)) / Math.sqrt(c9);
      if (!isFinite(z)) z = 1e6;
      calibrate(s, d, z, out);
      lik = load<f64>(out + 8);
      score = load<f64>(out);
    }
  }
  // Robust EW update of the profile.
  let w = 1.0;
  if (ready && dist > 0.0) {
    const c2 = <f64>d + 3.0 * Math.sqrt(2.0 * <f64>d);
    const dm = Math.sqrt(dist);
    if (dm > Math.sqrt(c2)) w = Math.sqrt(c2) / dm;
  }
  let a = 1.0 / <f64>(count + 1);
  if (a < 1.0 - LAMBDA) a = 1.0 - LAMBDA;
  const aw = a * w;
  for (let i = 0; i < d; i++) put(s, mo + i, get(s, mo + i) + aw * load<f64>(y + (<usize>i << 3)));
  for (let i = 0; i < d; i++) {
    const yi = load<f64>(y + (<usize>i << 3));
    for (let j = 0; j < d; j++) {
      const k = co + i * d + j;
      put(s, k, (1.0 - aw) * (get(s, k) + aw * yi * load<f64>(y + (<usize>j << 3))));
    }
  }
  const m4 = (1.0 - aw) * get(s, H_M4OFF) + aw * (yy * yy - y4);
  put(s, H_M4OFF, isFinite(m4) ? m4 : get(s, H_M4OFF));
  put(s, H_COUNT, <f64>(count + 1));
  store<f64>(out, score);
  store<f64>(out + 8, isFinite(lik) ? lik : 0.0);
  store<f64>(out + 16, isFinite(z) ? z : 0.0);
  return ready;
}

/** Batch driver: see anomaly_mv_step in api.ts. */
export function mvRun(
  nTenants: i32, nSteps: i32, d: i32, stride: i32, states: usize, vectors: usize,
  outScore: usize, outLik: usize, outZ: usize, outStatus: usize,
): i32 {
  if (nTenants < 0 || nSteps < 0 || mvStateLen(d) == 0 || stride < mvStateLen(d)) return Status.BadParam;
  let worst: i32 = Status.Ok;
  const o = heap.alloc(24);
  for (let k = 0; k < nTenants; k++) {
    const s = states + (<usize>k * <usize>stride << 3);
    let st: i32 = mvValid(s, d, stride) ? Status.Ok : Status.BadParam;
    let ready = false;
    for (let j = 0; j < nSteps; j++) {
      const idx = <usize>k * <usize>nSteps + <usize>j;
      const x = vectors + ((idx * <usize>d) << 3);
      let finite = true;
      for (let i = 0; i < d; i++) if (!isFinite(load<f64>(x + (<usize>i << 3)))) finite = false;
      let score = 0.0, lik = 0.0, z = 0.0;
      if (st != Status.BadParam) {
        if (finite) {
          ready = mvStep(s, d, x, o);
          score = load<f64>(o);
          lik = load<f64>(o + 8);
          z = load<f64>(o + 16);
        } else {
          st = Status.NonFinite;
        }
      }
      store<f64>(outScore + (idx << 3), score);
      store<f64>(outLik + (idx << 3), lik);
      store<f64>(outZ + (idx << 3), z);
    }
    if (st == Status.Ok && (!ready || nSteps == 0) && <i32>get(s, H_COUNT) <= mvWarmup(d)) st = Status.TooFewPoints;
    store<i32>(outStatus + (<usize>k << 2), st);
    if (st != Status.Ok && (worst == Status.Ok || st == Status.BadParam)) worst = st;
  }
  heap.free(o);
  return worst;
}
