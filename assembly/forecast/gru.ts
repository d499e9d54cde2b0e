// GRU quantile forecaster: a small gated recurrent network, trained online with truncated BPTT and Adam on
// per-window normalised inputs, that predicts every (horizon, quantile level) pair directly under the pinball loss.
//
// Formulas (cited where they are used):
// - GRU cell, Cho et al. 2014, "Learning Phrase Representations using RNN Encoder-Decoder for Statistical Machine
//   Translation", section 2.3 (eqs. 5-8), with h0 = 0:
//     r = sigmoid(Wr x + Ur h_prev + br)          reset gate
//     z = sigmoid(Wz x + Uz h_prev + bz)          update gate
//     n = tanh(Wn x + Un (r * h_prev) + bn)       candidate state (Cho's h~)
//     h = z * h_prev + (1 - z) * n
// - Adam, Kingma & Ba 2015, "Adam: A Method for Stochastic Optimization", Algorithm 1 (bias-corrected moments),
//   defaults lr 3e-3 (ours), beta1 0.9, beta2 0.999, eps 1e-8; plus global-norm gradient clipping (Pascanu et al. 2013).
//   A constant step size: annealing it linearly to 0.1 lr within a train call was tried and made the held-out MAE on
//   azure2017-periodic78 about 7% worse at the default budget (the net is still learning when the budget ends).
// - Pinball (check) loss, Koenker & Bassett 1978 / Koenker 2005 "Quantile Regression" eq. 1.4:
//     rho_tau(u) = u * (tau - 1{u < 0}),  u = y - q;  d rho / d q = -tau if u >= 0 else 1 - tau.
//   Worked example: tau = 0.9, y = 10, q = 8 -> 1.8; q = 12 -> 0.2 (over-forecasting the 0.9 quantile is cheap).
// - Truncated BPTT (Williams & Peng 1990): each training window of W steps starts from h0 = 0 and the gradient is
//   propagated back over those W steps only.
//
// Monotone quantiles: per horizon, q_0 = raw_0 and q_j = q_{j-1} + softplus(raw_j), so quantiles never cross.
// Normalisation (per window, so one network serves series of any scale): level = the last value x_T,
// scale s = mean |x_a - x_{a-1}| over the window + 1e-3 * mean |x_a| (1 for an all-zero window); inputs and
// targets are (x - level) / s clipped to +-CLIP. An output of 0 is therefore persistence. When a window has no
// negative value its forecasts are floored at 0.
// Optional seasonal channel (season P > max horizon H): the input at window position a also carries x_{a+H-P},
// so the last steps of a window show the value one season before each forecast target.
// Cost (release build, measured under load on a shared 2-core machine): hidden 16, window 24: ~34 us per training
// window (forward + backward), ~16 us per forecast; hidden 32: ~88 and ~36 us.
import { Status } from "../status";

// ---- State blob layout: f64 indices of the header ----
export const GRU_MAGIC: f64 = 1196577073; // "GRU1" as a big-endian u32
export const GRU_VERSION: f64 = 1;
export const GRU_HEADER: i32 = 32;
const H_MAGIC: i32 = 0;
const H_VERSION: i32 = 1;
const H_HIDDEN: i32 = 2;
const H_WINDOW: i32 = 3;
const H_INPUTS: i32 = 4;
const H_NH: i32 = 5;
const H_NQ: i32 = 6;
const H_SEASON: i32 = 7;
const H_SEED: i32 = 8;
const H_T: i32 = 9;
const H_LR: i32 = 10;
const H_B1: i32 = 11;
const H_B2: i32 = 12;
const H_EPS: i32 = 13;
const H_CLIP: i32 = 14;
const H_NPARAMS: i32 = 15;
const H_OFF_HOR: i32 = 16;
const H_OFF_LEV: i32 = 17;
const H_OFF_PAR: i32 = 18;
const H_OFF_M: i32 = 19;
const H_OFF_V: i32 = 20;
const H_TOTAL: i32 = 21;
const H_SEEN: i32 = 22;
const H_HMAX: i32 = 23;
const H_NEED: i32 = 24;
const H_RNG_HI: i32 = 25;
const H_RNG_LO: i32 = 26;
const H_LOSS: i32 = 27;

/** Normalised inputs and targets are clipped to +-CLIP scale units (a jump of 20 typical steps). */
const CLIP: f64 = 20.0;

// ---- Dimensions of the state currently loaded (the core is single-threaded) ----
let HD: i32 = 0; // hidden size
let W: i32 = 0; // window length (steps)
let NI: i32 = 0; // inputs per step: 1, or 2 with the seasonal channel
let NH: i32 = 0; // horizons
let NQ: i32 = 0; // quantile levels
let NO: i32 = 0; // outputs = NH * NQ
let SEASON: i32 = 0;
let HMAX: i32 = 0;
let NEED: i32 = 0; // history points one input window needs
let NP: i32 = 0; // parameter count
// parameter offsets in doubles inside the parameter vector (same layout for gradients and Adam moments)
let oWr: i32 = 0;
let oWz: i32 = 0;
let oWn: i32 = 0;
let oUr: i32 = 0;
let oUz: i32 = 0;
let oUn: i32 = 0;
let obr: i32 = 0;
let obz: i32 = 0;
let obn: i32 = 0;
let oV: i32 = 0;
let oc: i32 = 0;

// ---- Pointers of the current call ----
let STATE: usize = 0;
let PAR: usize = 0;
let MOM1: usize = 0;
let MOM2: usize = 0;
let HOR: usize = 0;
let LEV: usize = 0;
// scratch arena (allocated per call, freed at the end)
let ARENA: usize = 0;
let X: usize = 0; // [W x NI] normalised inputs
let HS: usize = 0; // [(W+1) x HD] hidden states, HS[0] = h0 = 0
let RG: usize = 0; // [W x HD] reset gates
let ZG: usize = 0; // [W x HD] update gates
let NG: usize = 0; // [W x HD] candidates
let RH: usize = 0; // [W x HD] r * h_prev
let DARS: usize = 0; // [W x HD] d(pre-activation of r) per step
let DAZS: usize = 0; // [W x HD] d(pre-activation of z) per step
let DANS: usize = 0; // [W x HD] d(pre-activation of n) per step
let UT: usize = 0; // [3 x HD x HD] Ur^T, Uz^T, Un^T
let UT_VALID: bool = false;
let GRAD: usize = 0; // [NP] gradient accumulator
let DH: usize = 0; // [HD]
let DHP: usize = 0; // [HD]
let RAW: usize = 0; // [NO] raw outputs
let QO: usize = 0; // [NO] monotone outputs (normalised)
let GQ: usize = 0; // [NO] dLoss/dq
let GRAW: usize = 0; // [NO] dLoss/draw
let Y: usize = 0; // [NH] normalised targets
let COPY: usize = 0; // [NEED] imputed copy of a prediction window
let CUM: usize = 0; // [nSeries + 1] cumulative candidate counts (training)
let LEVEL: f64 = 0;
/** The current window has no negative value: forecasts are floored at 0 (usage cannot be negative). */
let NONNEG: bool = false;
let SCALE: f64 = 1;

// ---- PRNG: splitmix64 (Steele, Lea & Flood 2014), never Math.random ----
let RNG: u64 = 0;
function nextU64(): u64 {
  RNG += 0x9e3779b97f4a7c15;
  let z = RNG;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}
/** Uniform in [0, 1) with 53 random bits. */
function nextUnit(): f64 {
  return <f64>(nextU64() >> 11) * (1.0 / 9007199254740992.0);
}
function saveRng(): void {
  st(STATE, H_RNG_HI, <f64>(RNG >> 32));
  st(STATE, H_RNG_LO, <f64>(RNG & 0xffffffff));
}
function loadRng(): void {
  RNG = (<u64>ld(STATE, H_RNG_HI) << 32) | <u64>ld(STATE, H_RNG_LO);
}

@inline function ld(p: usize, i: i32): f64 {
  return load<f64>(p + (<usize>i << 3));
}
@inline function st(p: usize, i: i32, v: f64): void {
  store<f64>(p + (<usize>i << 3), v);
}
/**
 * exp(x) for the gates: range reduction x = n ln2 + f (|f| <= ln2 / 2, Cody-Waite split of ln2) and a degree-11
 * Taylor polynomial of e^f (truncation error < 0.347^12 / 12! ~ 6e-15 relative), scaled by 2^n through the exponent
 * bits; clamped to [-708, 708] so that it never overflows. Its point is that it vectorises (expV below): the
 * scalar version alone was within 5% of Math.exp end to end.
 */
@inline function fastExp(x: f64): f64 {
  if (x > 708) x = 708;
  else if (x < -708) x = -708;
  const n = Math.floor(x * 1.4426950408889634 + 0.5);
  const f = (x - n * 0.6931471803691238) - n * 1.9082149292705877e-10;
  let p = 2.505210838544172e-8; // 1/11!
  p = p * f + 2.755731922398589e-7; // 1/10!
  p = p * f + 2.7557319223985893e-6; // 1/9!
  p = p * f + 2.48015873015873e-5; // 1/8!
  p = p * f + 1.984126984126984e-4; // 1/7!
  p = p * f + 1.388888888888889e-3; // 1/6!
  p = p * f + 8.333333333333333e-3; // 1/5!
  p = p * f + 4.1666666666666664e-2; // 1/4!
  p = p * f + 0.16666666666666666; // 1/3!
  p = p * f + 0.5;
  p = p * f + 1.0;
  p = p * f + 1.0;
  return p * reinterpret<f64>(<i64>(<i32>n + 1023) << 52);
}
/**
 * fastExp on two lanes: same reduction and polynomial; 2^n is built by adding 2^52 + 1023 to n (exact for |n| < 2^51)
 * and shifting the low mantissa bits, now n + 1023, into the exponent field.
 */
@inline function expV(x: v128): v128 {
  x = f64x2.max(f64x2.min(x, f64x2.splat(708.0)), f64x2.splat(-708.0));
  const n = f64x2.floor(f64x2.add(f64x2.mul(x, f64x2.splat(1.4426950408889634)), f64x2.splat(0.5)));
  const f = f64x2.sub(f64x2.sub(x, f64x2.mul(n, f64x2.splat(0.6931471803691238))), f64x2.mul(n, f64x2.splat(1.9082149292705877e-10)));
  let p = f64x2.splat(2.505210838544172e-8);
  p = f64x2.add(f64x2.mul(p, f), f64x2.splat(2.755731922398589e-7));
  p = f64x2.add(f64x2.mul(p, f), f64x2.splat(2.7557319223985893e-6));
  p = f64x2.add(f64x2.mul(p, f), f64x2.splat(2.48015873015873e-5));
  p = f64x2.add(f64x2.mul(p, f), f64x2.splat(1.984126984126984e-4));
  p = f64x2.add(f64x2.mul(p, f), f64x2.splat(1.388888888888889e-3));
  p = f64x2.add(f64x2.mul(p, f), f64x2.splat(8.333333333333333e-3));
  p = f64x2.add(f64x2.mul(p, f), f64x2.splat(4.1666666666666664e-2));
  p = f64x2.add(f64x2.mul(p, f), f64x2.splat(0.16666666666666666));
  p = f64x2.add(f64x2.mul(p, f), f64x2.splat(0.5));
  p = f64x2.add(f64x2.mul(p, f), f64x2.splat(1.0));
  p = f64x2.add(f64x2.mul(p, f), f64x2.splat(1.0));
  const scale = i64x2.shl(f64x2.add(n, f64x2.splat(4503599627371519.0)), 52); // 2^52 + 1023
  return f64x2.mul(p, scale);
}
/** sigmoid on two lanes: 1 / (1 + e^-x); x is clamped inside expV, so the result is in [0, 1] and never NaN. */
@inline function sigmoidV(x: v128): v128 {
  const one = f64x2.splat(1.0);
  return f64x2.div(one, f64x2.add(one, expV(f64x2.neg(x))));
}
/** tanh on two lanes: 2 sigmoid(2x) - 1. */
@inline function tanhV(x: v128): v128 {
  return f64x2.sub(f64x2.mul(f64x2.splat(2.0), sigmoidV(f64x2.add(x, x))), f64x2.splat(1.0));
}
/** a . x + b . y for rows of even length `len` (four independent chains). */
@inline function dotPair(a: usize, x: usize, b: usize, y: usize, len: i32): f64 {
  let a0 = f64x2.splat(0);
  let a1 = f64x2.splat(0);
  let b0 = f64x2.splat(0);
  let b1 = f64x2.splat(0);
  const end4 = a + (<usize>(len >> 2) << 5);
  while (a < end4) {
    a0 = f64x2.add(a0, f64x2.mul(v128.load(a), v128.load(x)));
    a1 = f64x2.add(a1, f64x2.mul(v128.load(a, 16), v128.load(x, 16)));
    b0 = f64x2.add(b0, f64x2.mul(v128.load(b), v128.load(y)));
    b1 = f64x2.add(b1, f64x2.mul(v128.load(b, 16), v128.load(y, 16)));
    a += 32;
    b += 32;
    x += 32;
    y += 32;
  }
  if (len & 2) {
    a0 = f64x2.add(a0, f64x2.mul(v128.load(a), v128.load(x)));
    b0 = f64x2.add(b0, f64x2.mul(v128.load(b), v128.load(y)));
  }
  a0 = f64x2.add(f64x2.add(a0, a1), f64x2.add(b0, b1));
  return f64x2.extract_lane(a0, 0) + f64x2.extract_lane(a0, 1);
}
/** Logistic sigmoid 1 / (1 + e^-x), stable for both signs. */
@inline function sigmoid(x: f64): f64 {
  if (x >= 0) return 1.0 / (1.0 + fastExp(-x));
  const e = fastExp(x);
  return e / (1.0 + e);
}
@inline function softplus(x: f64): f64 {
  return x > 30 ? x : Math.log1p(Math.exp(x));
}
@inline function clip(x: f64): f64 {
  return x > CLIP ? CLIP : x < -CLIP ? -CLIP : x;
}
/**
 * Dot product of two f64 rows of even length `len` (SIMD, two lanes). Two independent accumulators, because a single
 * chain of dependent f64x2.add is bound by the add latency (together with dot2 this gave 5-10% on predict).
 */
@inline function dot(a: usize, b: usize, len: i32): f64 {
  let acc0 = f64x2.splat(0);
  let acc1 = f64x2.splat(0);
  const end4 = a + (<usize>(len >> 2) << 5);
  while (a < end4) {
    acc0 = f64x2.add(acc0, f64x2.mul(v128.load(a), v128.load(b)));
    acc1 = f64x2.add(acc1, f64x2.mul(v128.load(a, 16), v128.load(b, 16)));
    a += 32;
    b += 32;
  }
  if (len & 2) acc0 = f64x2.add(acc0, f64x2.mul(v128.load(a), v128.load(b)));
  acc0 = f64x2.add(acc0, acc1);
  return f64x2.extract_lane(acc0, 0) + f64x2.extract_lane(acc0, 1);
}
let DOT2_B: f64 = 0;
/** Two dot products of rows `a` and `b` with the same vector `x` (four independent chains); second in DOT2_B. */
@inline function dot2(a: usize, b: usize, x: usize, len: i32): f64 {
  let a0 = f64x2.splat(0);
  let a1 = f64x2.splat(0);
  let b0 = f64x2.splat(0);
  let b1 = f64x2.splat(0);
  const end4 = x + (<usize>(len >> 2) << 5);
  while (x < end4) {
    const x0 = v128.load(x);
    const x1 = v128.load(x, 16);
    a0 = f64x2.add(a0, f64x2.mul(v128.load(a), x0));
    a1 = f64x2.add(a1, f64x2.mul(v128.load(a, 16), x1));
    b0 = f64x2.add(b0, f64x2.mul(v128.load(b), x0));
    b1 = f64x2.add(b1, f64x2.mul(v128.load(b, 16), x1));
    a += 32;
    b += 32;
    x += 32;
  }
  if (len & 2) {
    const x0 = v128.load(x);
    a0 = f64x2.add(a0, f64x2.mul(v128.load(a), x0));
    b0 = f64x2.add(b0, f64x2.mul(v128.load(b), x0));
  }
  a0 = f64x2.add(a0, a1);
  b0 = f64x2.add(b0, b1);
  DOT2_B = f64x2.extract_lane(b0, 0) + f64x2.extract_lane(b0, 1);
  return f64x2.extract_lane(a0, 0) + f64x2.extract_lane(a0, 1);
}
/** y[k] += alpha * x[k] for k < len (len even). */
@inline function axpy(y: usize, alpha: f64, x: usize, len: i32): void {
  const a = f64x2.splat(alpha);
  const end = y + (<usize>len << 3);
  while (y < end) {
    v128.store(y, f64x2.add(v128.load(y), f64x2.mul(a, v128.load(x))));
    y += 16;
    x += 16;
  }
}

/** Number of trainable parameters for the given sizes. */
export function paramCount(hd: i32, ni: i32, no: i32): i32 {
  return 3 * hd * ni + 3 * hd * hd + 3 * hd + no * hd + no;
}

function setDims(hd: i32, w: i32, ni: i32, nh: i32, nq: i32, season: i32, hmax: i32): void {
  HD = hd;
  W = w;
  NI = ni;
  NH = nh;
  NQ = nq;
  NO = nh * nq;
  SEASON = season;
  HMAX = hmax;
  NEED = season > 0 ? w + season - hmax : w;
  NP = paramCount(hd, ni, NO);
  // U matrices first: their rows stay 16-byte aligned for SIMD when the parameter block is.
  oUr = 0;
  oUz = hd * hd;
  oUn = 2 * hd * hd;
  oV = 3 * hd * hd;
  oWr = oV + NO * hd;
  oWz = oWr + hd * ni;
  oWn = oWz + hd * ni;
  obr = oWn + hd * ni;
  obz = obr + hd;
  obn = obz + hd;
  oc = obn + hd;
}

@inline function even(n: i32): i32 {
  return (n + 1) & ~1;
}

/** Doubles the state blob needs; 0 when the sizes are out of range. */
export function stateSize(hd: i32, w: i32, nh: i32, nq: i32, season: i32): i32 {
  if (hd < 16 || hd > 64 || (hd & 1) != 0 || w < 2 || w > 512 || nh < 1 || nh > 16 || nq < 1 || nq > 16) return 0;
  if (season < 0 || season > 100000) return 0;
  const np = paramCount(hd, season > 0 ? 2 : 1, nh * nq);
  return GRU_HEADER + even(nh) + even(nq) + 3 * even(np);
}

/** Checks a state blob and loads its dimensions and pointers. */
function loadState(statePtr: usize, stateLen: i32): i32 {
  if (statePtr == 0 || stateLen < GRU_HEADER) return Status.BufferTooSmall;
  if (ld(statePtr, H_MAGIC) != GRU_MAGIC || ld(statePtr, H_VERSION) != GRU_VERSION) return Status.BadParam;
  const hd = <i32>ld(statePtr, H_HIDDEN);
  const w = <i32>ld(statePtr, H_WINDOW);
  const nh = <i32>ld(statePtr, H_NH);
  const nq = <i32>ld(statePtr, H_NQ);
  const season = <i32>ld(statePtr, H_SEASON);
  const total = stateSize(hd, w, nh, nq, season);
  if (total == 0) return Status.BadParam;
  if (<i32>ld(statePtr, H_TOTAL) != total) return Status.BadParam;
  if (stateLen < total) return Status.BufferTooSmall;
  // A blob from another build or a corrupted one must give BadParam, never an out-of-bounds access.
  if (ld(statePtr, H_INPUTS) != (season > 0 ? 2 : 1)) return Status.BadParam;
  const offHor = GRU_HEADER;
  const offLev = offHor + even(nh);
  const offPar = offLev + even(nq);
  const np = paramCount(hd, season > 0 ? 2 : 1, nh * nq);
  if (ld(statePtr, H_OFF_HOR) != offHor || ld(statePtr, H_OFF_LEV) != offLev || ld(statePtr, H_OFF_PAR) != offPar ||
    ld(statePtr, H_OFF_M) != offPar + even(np) || ld(statePtr, H_OFF_V) != offPar + 2 * even(np) ||
    ld(statePtr, H_NPARAMS) != np) return Status.BadParam;
  let hmax: i32 = 0;
  for (let h = 0; h < nh; h++) {
    const v = ld(statePtr, offHor + h);
    if (!(v >= 1 && v <= 1024) || v != Math.floor(v)) return Status.BadParam;
    if (<i32>v > hmax) hmax = <i32>v;
  }
  if (ld(statePtr, H_HMAX) != hmax || (season > 0 && season <= hmax)) return Status.BadParam;
  setDims(hd, w, season > 0 ? 2 : 1, nh, nq, season, hmax);
  STATE = statePtr;
  HOR = statePtr + (<usize>ld(statePtr, H_OFF_HOR) << 3);
  LEV = statePtr + (<usize>ld(statePtr, H_OFF_LEV) << 3);
  PAR = statePtr + (<usize>ld(statePtr, H_OFF_PAR) << 3);
  MOM1 = statePtr + (<usize>ld(statePtr, H_OFF_M) << 3);
  MOM2 = statePtr + (<usize>ld(statePtr, H_OFF_V) << 3);
  return Status.Ok;
}

/**
 * Initialises a state blob: sizes, horizons, levels, Adam settings and seeded weights (uniform in
 * +-1/sqrt(hidden), the usual GRU initialisation; output weights 10x smaller so that an untrained net forecasts
 * persistence with a logistic-shaped spread).
 */
export function gruInit(
  statePtr: usize, stateLen: i32, hd: i32, w: i32, horizonsPtr: usize, nh: i32, levelsPtr: usize, nq: i32,
  season: i32, seed: f64, lr: f64,
): i32 {
  const total = stateSize(hd, w, nh, nq, season);
  if (total == 0) return Status.BadParam;
  if (statePtr == 0 || stateLen < total) return Status.BufferTooSmall;
  if (horizonsPtr == 0 || levelsPtr == 0) return Status.BadParam;
  if (!isFinite(seed) || !isFinite(lr) || !(lr > 0) || lr > 1) return Status.BadParam;
  let hmax: i32 = 0;
  for (let h = 0; h < nh; h++) {
    const v = ld(horizonsPtr, h);
    if (!isFinite(v) || v != Math.floor(v) || v < 1 || v > 1024) return Status.BadParam;
    if (<i32>v > hmax) hmax = <i32>v;
  }
  let prev: f64 = 0;
  for (let q = 0; q < nq; q++) {
    const v = ld(levelsPtr, q);
    if (!isFinite(v) || !(v > prev) || !(v < 1)) return Status.BadParam;
    prev = v;
  }
  if (season > 0 && season <= hmax) return Status.BadParam;
  memory.fill(statePtr, 0, <usize>total << 3);
  const ni = season > 0 ? 2 : 1;
  setDims(hd, w, ni, nh, nq, season, hmax);
  const offHor = GRU_HEADER;
  const offLev = offHor + even(nh);
  const offPar = offLev + even(nq);
  const offM = offPar + even(NP);
  const offV = offM + even(NP);
  st(statePtr, H_MAGIC, GRU_MAGIC);
  st(statePtr, H_VERSION, GRU_VERSION);
  st(statePtr, H_HIDDEN, hd);
  st(statePtr, H_WINDOW, w);
  st(statePtr, H_INPUTS, ni);
  st(statePtr, H_NH, nh);
  st(statePtr, H_NQ, nq);
  st(statePtr, H_SEASON, season);
  st(statePtr, H_SEED, seed);
  st(statePtr, H_T, 0);
  st(statePtr, H_LR, lr);
  st(statePtr, H_B1, 0.9);
  st(statePtr, H_B2, 0.999);
  st(statePtr, H_EPS, 1e-8);
  st(statePtr, H_CLIP, 5.0);
  st(statePtr, H_NPARAMS, NP);
  st(statePtr, H_OFF_HOR, offHor);
  st(statePtr, H_OFF_LEV, offLev);
  st(statePtr, H_OFF_PAR, offPar);
  st(statePtr, H_OFF_M, offM);
  st(statePtr, H_OFF_V, offV);
  st(statePtr, H_TOTAL, total);
  st(statePtr, H_HMAX, hmax);
  st(statePtr, H_NEED, NEED);
  st(statePtr, H_LOSS, NaN);
  memory.copy(statePtr + (<usize>offHor << 3), horizonsPtr, <usize>nh << 3);
  memory.copy(statePtr + (<usize>offLev << 3), levelsPtr, <usize>nq << 3);
  STATE = statePtr;
  PAR = statePtr + (<usize>offPar << 3);
  LEV = statePtr + (<usize>offLev << 3);
  // Seed the PRNG from the seed's integer part (mod 2^53) mixed once.
  RNG = <u64>Math.floor(Math.abs(seed) % 9007199254740992.0) ^ 0x5851f42d4c957f2d;
  nextU64();
  const k = 1.0 / Math.sqrt(<f64>hd);
  for (let i = 0; i < NP; i++) st(PAR, i, (2.0 * nextUnit() - 1.0) * k);
  for (let i = 0; i < NO * hd; i++) st(PAR, oV + i, ld(PAR, oV + i) * 0.1);
  for (let i = 0; i < 3 * hd; i++) st(PAR, obr + i, 0);
  // Output biases: the first level at 0.6 * logit(tau_0) scale units from the level, each next one higher by
  // 0.6 * (logit(tau_j) - logit(tau_{j-1})) (a logistic with scale 0.6 approximates a unit normal), via inverse softplus.
  for (let h = 0; h < nh; h++) {
    for (let q = 0; q < nq; q++) {
      const tq = ld(LEV, q);
      const lq = Math.log(tq / (1 - tq));
      let b: f64;
      if (q == 0) {
        b = 0.6 * lq;
      } else {
        const tp = ld(LEV, q - 1);
        const d = Math.max(0.05, 0.6 * (lq - Math.log(tp / (1 - tp))));
        b = Math.log(Math.expm1(d)); // softplus^-1(d)
      }
      st(PAR, oc + h * nq + q, b);
    }
  }
  saveRng();
  return Status.Ok;
}

/** Allocates the scratch arena for the loaded dimensions. */
function allocArena(nSeries: i32): void {
  const wh = W * HD;
  const doubles = even(W * NI) + (W + 1) * HD + 7 * wh + 3 * HD * HD + even(NP) + 2 * HD + 4 * even(NO) + even(NH) +
    even(NEED) + even(nSeries + 1);
  ARENA = heap.alloc((<usize>doubles << 3) + 16);
  let p = (ARENA + 15) & ~(<usize>15);
  X = p; p += <usize>even(W * NI) << 3;
  HS = p; p += <usize>((W + 1) * HD) << 3;
  RG = p; p += <usize>wh << 3;
  ZG = p; p += <usize>wh << 3;
  NG = p; p += <usize>wh << 3;
  RH = p; p += <usize>wh << 3;
  DARS = p; p += <usize>wh << 3;
  DAZS = p; p += <usize>wh << 3;
  DANS = p; p += <usize>wh << 3;
  UT = p; p += <usize>(3 * HD * HD) << 3;
  UT_VALID = false;
  GRAD = p; p += <usize>even(NP) << 3;
  DH = p; p += <usize>HD << 3;
  DHP = p; p += <usize>HD << 3;
  RAW = p; p += <usize>even(NO) << 3;
  QO = p; p += <usize>even(NO) << 3;
  GQ = p; p += <usize>even(NO) << 3;
  GRAW = p; p += <usize>even(NO) << 3;
  Y = p; p += <usize>even(NH) << 3;
  COPY = p; p += <usize>even(NEED) << 3;
  CUM = p;
  memory.fill(GRAD, 0, <usize>NP << 3);
}

function freeArena(): void {
  if (ARENA != 0) heap.free(ARENA);
  ARENA = 0;
}

/**
 * Builds the normalised input window ending at index T of the series at `base` (indices T-NEED+1 .. T must exist),
 * and with `targets` the normalised targets x_{T+h} (which must exist). False when a needed value is not finite.
 */
function buildWindow(base: usize, T: i32, targets: bool): bool {
  const a0 = T - W + 1;
  let prev = ld(base, a0);
  if (!isFinite(prev)) return false;
  let minV = prev;
  let sumAbs = Math.abs(prev);
  let sumDiff: f64 = 0;
  for (let a = a0 + 1; a <= T; a++) {
    const x = ld(base, a);
    if (!isFinite(x)) return false;
    sumDiff += Math.abs(x - prev);
    sumAbs += Math.abs(x);
    if (x < minV) minV = x;
    prev = x;
  }
  NONNEG = minV >= 0;
  let s = sumDiff / <f64>(W - 1) + 1e-3 * sumAbs / <f64>W;
  if (sumAbs == 0) s = 1;
  if (!isFinite(s) || !(s > 0)) return false;
  const level = ld(base, T);
  const inv = 1.0 / s;
  if (!isFinite(inv)) return false;
  LEVEL = level;
  SCALE = s;
  if (NI == 1) {
    for (let t = 0; t < W; t++) st(X, t, clip((ld(base, a0 + t) - level) * inv));
  } else {
    const lag = HMAX - SEASON;
    for (let t = 0; t < W; t++) {
      const xb = ld(base, a0 + t + lag);
      if (!isFinite(xb)) return false;
      st(X, 2 * t, clip((ld(base, a0 + t) - level) * inv));
      st(X, 2 * t + 1, clip((xb - level) * inv));
    }
  }
  if (targets) {
    for (let h = 0; h < NH; h++) {
      const y = ld(base, T + <i32>ld(HOR, h));
      if (!isFinite(y)) return false;
      st(Y, h, clip((y - level) * inv));
    }
  }
  return true;
}

/**
 * Runs the GRU over the window in X (Cho et al. 2014 eqs. 5-8) and the monotone output head. Pre-activations are
 * gathered per step first, then the gates are applied two lanes at a time (expV), so that the exponentials of
 * different units overlap instead of forming one long dependency chain.
 */
function forward(): void {
  memory.fill(HS, 0, <usize>HD << 3);
  const rowBytes = <usize>HD << 3;
  const Ur = PAR + (<usize>oUr << 3);
  const Uz = PAR + (<usize>oUz << 3);
  const Un = PAR + (<usize>oUn << 3);
  const one = f64x2.splat(1.0);
  for (let t = 0; t < W; t++) {
    const hp = HS + <usize>t * rowBytes;
    const hn = hp + rowBytes;
    const r = RG + <usize>t * rowBytes;
    const z = ZG + <usize>t * rowBytes;
    const n = NG + <usize>t * rowBytes;
    const rh = RH + <usize>t * rowBytes;
    const x = X + (<usize>(t * NI) << 3);
    for (let j = 0; j < HD; j++) {
      let ar = ld(PAR, obr + j);
      let az = ld(PAR, obz + j);
      let an = ld(PAR, obn + j);
      for (let i = 0; i < NI; i++) {
        const xi = ld(x, i);
        ar += ld(PAR, oWr + j * NI + i) * xi;
        az += ld(PAR, oWz + j * NI + i) * xi;
        an += ld(PAR, oWn + j * NI + i) * xi;
      }
      ar += dot2(Ur + <usize>j * rowBytes, Uz + <usize>j * rowBytes, hp, HD);
      st(r, j, ar);
      st(z, j, az + DOT2_B);
      st(n, j, an);
    }
    for (let k: usize = 0; k < rowBytes; k += 16) {
      const rv = sigmoidV(v128.load(r + k));
      v128.store(r + k, rv);
      v128.store(z + k, sigmoidV(v128.load(z + k)));
      v128.store(rh + k, f64x2.mul(rv, v128.load(hp + k)));
    }
    for (let j = 0; j < HD; j++) st(n, j, ld(n, j) + dot(Un + <usize>j * rowBytes, rh, HD));
    for (let k: usize = 0; k < rowBytes; k += 16) {
      const nv = tanhV(v128.load(n + k));
      v128.store(n + k, nv);
      const zv = v128.load(z + k);
      v128.store(hn + k, f64x2.add(f64x2.mul(zv, v128.load(hp + k)), f64x2.mul(f64x2.sub(one, zv), nv)));
    }
  }
  const hW = HS + <usize>W * rowBytes;
  const V = PAR + (<usize>oV << 3);
  for (let o = 0; o < NO; o++) st(RAW, o, ld(PAR, oc + o) + dot(V + <usize>o * rowBytes, hW, HD));
  for (let h = 0; h < NH; h++) {
    let q = ld(RAW, h * NQ);
    st(QO, h * NQ, q);
    for (let j = 1; j < NQ; j++) {
      q += softplus(ld(RAW, h * NQ + j));
      st(QO, h * NQ + j, q);
    }
  }
}

/** Mean pinball loss (Koenker) of QO against Y over all outputs; writes dLoss/dq into GQ. */
function pinball(): f64 {
  let loss: f64 = 0;
  const inv = 1.0 / <f64>NO;
  for (let h = 0; h < NH; h++) {
    const y = ld(Y, h);
    for (let q = 0; q < NQ; q++) {
      const tau = ld(LEV, q);
      const u = y - ld(QO, h * NQ + q);
      if (u >= 0) {
        loss += tau * u;
        st(GQ, h * NQ + q, -tau * inv);
      } else {
        loss += (tau - 1.0) * u;
        st(GQ, h * NQ + q, (1.0 - tau) * inv);
      }
    }
  }
  return loss * inv;
}

/** Refreshes the transposed recurrent matrices UT (used by backward) after the weights changed. */
function ensureTransposes(): void {
  if (UT_VALID) return;
  for (let m = 0; m < 3; m++) {
    const U = PAR + (<usize>(oUr + m * HD * HD) << 3);
    const T = UT + (<usize>(m * HD * HD) << 3);
    for (let j = 0; j < HD; j++) {
      for (let k = 0; k < HD; k++) st(T, k * HD + j, ld(U, j * HD + k));
    }
  }
  UT_VALID = true;
}

/**
 * Backpropagation through the head and the W steps of the window (Cho's cell, chain rule); adds into GRAD.
 * Per step only the vector recursions run (as dot products with the transposed U matrices); the weight gradients,
 * sums over steps of outer products, are accumulated once after the loop.
 */
function backward(): void {
  const rowBytes = <usize>HD << 3;
  // Through q_j = q_{j-1} + softplus(raw_j): d q_m / d raw_j = sigmoid(raw_j) for m >= j >= 1, and 1 for j = 0.
  for (let h = 0; h < NH; h++) {
    let acc: f64 = 0;
    for (let q = NQ - 1; q >= 0; q--) {
      acc += ld(GQ, h * NQ + q);
      st(GRAW, h * NQ + q, q == 0 ? acc : acc * sigmoid(ld(RAW, h * NQ + q)));
    }
  }
  const hW = HS + <usize>W * rowBytes;
  const V = PAR + (<usize>oV << 3);
  const gV = GRAD + (<usize>oV << 3);
  memory.fill(DH, 0, rowBytes);
  for (let o = 0; o < NO; o++) {
    const g = ld(GRAW, o);
    st(GRAD, oc + o, ld(GRAD, oc + o) + g);
    axpy(gV + <usize>o * rowBytes, g, hW, HD);
    axpy(DH, g, V + <usize>o * rowBytes, HD);
  }
  ensureTransposes();
  const UrT = UT;
  const UzT = UT + (<usize>(HD * HD) << 3);
  const UnT = UT + (<usize>(2 * HD * HD) << 3);
  const one = f64x2.splat(1.0);
  let dh = DH;
  let dhp = DHP;
  for (let t = W - 1; t >= 0; t--) {
    const hp = HS + <usize>t * rowBytes;
    const r = RG + <usize>t * rowBytes;
    const z = ZG + <usize>t * rowBytes;
    const n = NG + <usize>t * rowBytes;
    const dar = DARS + <usize>t * rowBytes;
    const daz = DAZS + <usize>t * rowBytes;
    const dan = DANS + <usize>t * rowBytes;
    // h = z*hp + (1-z)*n  =>  d(pre z) = dh*(hp-n)*z(1-z), d(pre n) = dh*(1-z)*(1-n^2), dhp = dh*z
    for (let k: usize = 0; k < rowBytes; k += 16) {
      const g = v128.load(dh + k);
      const zv = v128.load(z + k);
      const nv = v128.load(n + k);
      const omz = f64x2.sub(one, zv);
      v128.store(daz + k, f64x2.mul(f64x2.mul(g, f64x2.sub(v128.load(hp + k), nv)), f64x2.mul(zv, omz)));
      v128.store(dan + k, f64x2.mul(f64x2.mul(g, omz), f64x2.sub(one, f64x2.mul(nv, nv))));
      v128.store(dhp + k, f64x2.mul(g, zv));
    }
    // n = tanh(Wn x + Un (r*hp) + bn): d(r*hp) = Un^T dan; then d(pre r) = d(r*hp) * hp * r(1-r), dhp += d(r*hp) * r
    for (let k = 0; k < HD; k++) {
      const drh = dot(UnT + <usize>k * rowBytes, dan, HD);
      const rk = ld(r, k);
      st(dar, k, drh * ld(hp, k) * rk * (1.0 - rk));
      st(dhp, k, ld(dhp, k) + drh * rk);
    }
    // r, z gates: dhp += Ur^T d(pre r) + Uz^T d(pre z)
    for (let k = 0; k < HD; k++) st(dhp, k, ld(dhp, k) + dotPair(UrT + <usize>k * rowBytes, dar, UzT + <usize>k * rowBytes, daz, HD));
    const tmp = dh;
    dh = dhp;
    dhp = tmp;
  }
  // Weight gradients: gU* = sum_t d(pre *)_t (outer) hp_t (rh_t for Un), gW* = sum_t d(pre *)_t (outer) x_t, gb* = sum_t.
  const gUr = GRAD + (<usize>oUr << 3);
  const gUz = GRAD + (<usize>oUz << 3);
  const gUn = GRAD + (<usize>oUn << 3);
  for (let j = 0; j < HD; j++) {
    const jb = <usize>j << 3;
    let sr: f64 = 0;
    let sz: f64 = 0;
    let sn: f64 = 0;
    for (let t = 0; t < W; t++) {
      const off = <usize>t * rowBytes + jb;
      const gr = load<f64>(DARS + off);
      const gz = load<f64>(DAZS + off);
      const gn = load<f64>(DANS + off);
      sr += gr;
      sz += gz;
      sn += gn;
      const x = X + (<usize>(t * NI) << 3);
      for (let i = 0; i < NI; i++) {
        const xi = ld(x, i);
        st(GRAD, oWr + j * NI + i, ld(GRAD, oWr + j * NI + i) + gr * xi);
        st(GRAD, oWz + j * NI + i, ld(GRAD, oWz + j * NI + i) + gz * xi);
        st(GRAD, oWn + j * NI + i, ld(GRAD, oWn + j * NI + i) + gn * xi);
      }
    }
    st(GRAD, obr + j, ld(GRAD, obr + j) + sr);
    st(GRAD, obz + j, ld(GRAD, obz + j) + sz);
    st(GRAD, obn + j, ld(GRAD, obn + j) + sn);
    const rowR = gUr + <usize>j * rowBytes;
    const rowZ = gUz + <usize>j * rowBytes;
    const rowN = gUn + <usize>j * rowBytes;
    for (let k: usize = 0; k < rowBytes; k += 16) {
      let aR = v128.load(rowR + k);
      let aZ = v128.load(rowZ + k);
      let aN = v128.load(rowN + k);
      for (let t = 0; t < W; t++) {
        const off = <usize>t * rowBytes;
        const h = v128.load(HS + off + k);
        aR = f64x2.add(aR, f64x2.mul(v128.load64_splat(DARS + off + jb), h));
        aZ = f64x2.add(aZ, f64x2.mul(v128.load64_splat(DAZS + off + jb), h));
        aN = f64x2.add(aN, f64x2.mul(v128.load64_splat(DANS + off + jb), v128.load(RH + off + k)));
      }
      v128.store(rowR + k, aR);
      v128.store(rowZ + k, aZ);
      v128.store(rowN + k, aN);
    }
  }
}

/**
 * One training sample, shared by gruTrain and gruUpdate: builds the window whose newest input is T, runs the forward
 * and backward passes (gradients accumulate until the next adamStep) and returns its pinball loss, or NaN when the
 * window has a gap and was skipped.
 */
function trainWindow(base: usize, T: i32): f64 {
  if (!buildWindow(base, T, true)) return NaN;
  forward();
  const loss = pinball();
  backward();
  return loss;
}

/** One Adam step (Kingma & Ba 2015, Algorithm 1) on the mean gradient of `count` windows; clears GRAD. */
function adamStep(count: i32): void {
  let scale = 1.0 / <f64>count;
  let norm2: f64 = 0;
  for (let p = 0; p < NP; p++) {
    const g = ld(GRAD, p) * scale;
    norm2 += g * g;
  }
  const clipNorm = ld(STATE, H_CLIP);
  const norm = Math.sqrt(norm2);
  if (!isFinite(norm)) {
    // A non-finite gradient would poison every weight: drop this batch.
    memory.fill(GRAD, 0, <usize>NP << 3);
    return;
  }
  if (norm > clipNorm) scale *= clipNorm / norm;
  const t = ld(STATE, H_T) + 1;
  st(STATE, H_T, t);
  const lr = ld(STATE, H_LR);
  const b1 = ld(STATE, H_B1);
  const b2 = ld(STATE, H_B2);
  const eps = ld(STATE, H_EPS);
  const bc1 = 1.0 - Math.pow(b1, t);
  const bc2 = 1.0 - Math.pow(b2, t);
  for (let p = 0; p < NP; p++) {
    const g = ld(GRAD, p) * scale;
    const m = b1 * ld(MOM1, p) + (1.0 - b1) * g;
    const v = b2 * ld(MOM2, p) + (1.0 - b2) * g * g;
    st(MOM1, p, m);
    st(MOM2, p, v);
    st(PAR, p, ld(PAR, p) - lr * (m / bc1) / (Math.sqrt(v / bc2) + eps));
  }
  UT_VALID = false;
  memory.fill(GRAD, 0, <usize>NP << 3);
}

/** Validates a values matrix: offsets[nSeries+1] non-decreasing integers within [0, valuesLen]. */
function checkOffsets(valuesPtr: usize, valuesLen: i32, offsetsPtr: usize, nSeries: i32): i32 {
  if (nSeries < 0 || offsetsPtr == 0 || valuesLen < 0) return Status.BadParam;
  if (valuesLen > 0 && valuesPtr == 0) return Status.BadParam;
  let prev: f64 = 0;
  for (let s = 0; s <= nSeries; s++) {
    const o = ld(offsetsPtr, s);
    if (!isFinite(o) || o != Math.floor(o) || o < prev || o > <f64>valuesLen) return Status.BadParam;
    prev = o;
  }
  return Status.Ok;
}

function writeReport(reportPtr: usize, used: f64, skipped: f64, first: f64, last: f64): void {
  if (reportPtr == 0) return;
  st(reportPtr, 0, used);
  st(reportPtr, 1, skipped);
  st(reportPtr, 2, first);
  st(reportPtr, 3, last);
  st(reportPtr, 4, ld(STATE, H_T));
}

function gcd(a: u64, b: u64): u64 {
  while (b != 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/**
 * Trains on windows drawn from many series: each epoch visits min(perEpoch, all) window ends in a seeded
 * pseudo-random order (an affine permutation of the candidates, without replacement), one Adam step per `batch`
 * windows. Windows with a non-finite input or target are skipped.
 */
export function gruTrain(
  statePtr: usize, stateLen: i32, valuesPtr: usize, valuesLen: i32, offsetsPtr: usize, nSeries: i32,
  epochs: i32, perEpoch: i32, batch: i32, reportPtr: usize,
): i32 {
  let status = loadState(statePtr, stateLen);
  if (status != Status.Ok) return status;
  if (epochs < 1 || epochs > 10000 || perEpoch < 0 || batch < 1 || batch > 65536) return Status.BadParam;
  status = checkOffsets(valuesPtr, valuesLen, offsetsPtr, nSeries);
  if (status != Status.Ok) return status;
  allocArena(nSeries);
  // Candidate window ends of series s: T in [NEED-1, n-1-HMAX].
  let total: f64 = 0;
  st(CUM, 0, 0);
  for (let s = 0; s < nSeries; s++) {
    const n = ld(offsetsPtr, s + 1) - ld(offsetsPtr, s);
    const c = n - <f64>NEED - <f64>HMAX + 1;
    if (c > 0) total += c;
    st(CUM, s + 1, total);
  }
  if (total == 0) {
    writeReport(reportPtr, 0, 0, NaN, NaN);
    freeArena();
    return Status.TooFewPoints;
  }
  loadRng();
  const totalU = <u64>total;
  const draws = perEpoch == 0 || <f64>perEpoch >= total ? totalU : <u64>perEpoch;
  let used: f64 = 0;
  let skipped: f64 = 0;
  let firstLoss: f64 = NaN;
  let lastLoss: f64 = NaN;
  for (let e = 0; e < epochs; e++) {
    let mult = (nextU64() % totalU) | 1;
    while (gcd(mult, totalU) != 1) mult = (mult + 2) % totalU;
    if (mult == 0) mult = 1;
    const shift = nextU64() % totalU;
    let inBatch: i32 = 0;
    let epochLoss: f64 = 0;
    let epochUsed: f64 = 0;
    for (let d: u64 = 0; d < draws; d++) {
      // (mult * d + shift) mod total without u64 overflow: mult, d, shift < total < 2^29 (values live in wasm32 memory).
      const idx = <f64>((mult * d + shift) % totalU);
      // binary search the series whose candidates contain idx
      let lo: i32 = 0;
      let hi: i32 = nSeries - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (ld(CUM, mid + 1) <= idx) lo = mid + 1;
        else hi = mid;
      }
      const T = NEED - 1 + <i32>(idx - ld(CUM, lo));
      const base = valuesPtr + (<usize>ld(offsetsPtr, lo) << 3);
      const loss = trainWindow(base, T);
      if (isNaN(loss)) {
        skipped++;
        continue;
      }
      epochLoss += loss;
      epochUsed++;
      if (++inBatch == batch) {
        adamStep(inBatch);
        inBatch = 0;
      }
    }
    if (inBatch > 0) adamStep(inBatch);
    used += epochUsed;
    if (epochUsed > 0) {
      lastLoss = epochLoss / epochUsed;
      if (e == 0) firstLoss = lastLoss;
    }
  }
  st(STATE, H_SEEN, ld(STATE, H_SEEN) + used);
  if (used > 0) st(STATE, H_LOSS, lastLoss);
  saveRng();
  writeReport(reportPtr, used, skipped, firstLoss, lastLoss);
  freeArena();
  return used > 0 ? Status.Ok : Status.NonFinite;
}

/**
 * Online update: for each series (a tail of its history whose last newCounts[s] points are new), trains once on
 * every window whose furthest target is one of the new points, in order; one Adam step per `batch` windows.
 * Cost O(new points x window x hidden^2), independent of the history length.
 */
export function gruUpdate(
  statePtr: usize, stateLen: i32, valuesPtr: usize, valuesLen: i32, offsetsPtr: usize, nSeries: i32,
  newCountsPtr: usize, batch: i32, reportPtr: usize,
): i32 {
  let status = loadState(statePtr, stateLen);
  if (status != Status.Ok) return status;
  if (batch < 1 || batch > 65536 || newCountsPtr == 0) return Status.BadParam;
  status = checkOffsets(valuesPtr, valuesLen, offsetsPtr, nSeries);
  if (status != Status.Ok) return status;
  for (let s = 0; s < nSeries; s++) {
    const k = ld(newCountsPtr, s);
    if (!isFinite(k) || k < 0 || k != Math.floor(k)) return Status.BadParam;
  }
  allocArena(0);
  let used: f64 = 0;
  let skipped: f64 = 0;
  let lossSum: f64 = 0;
  let inBatch: i32 = 0;
  for (let s = 0; s < nSeries; s++) {
    const off = ld(offsetsPtr, s);
    const n = <i32>(ld(offsetsPtr, s + 1) - off);
    const k = <i32>Math.min(ld(newCountsPtr, s), <f64>n);
    const base = valuesPtr + (<usize>off << 3);
    const from = max(NEED - 1, n - k - HMAX);
    for (let T = from; T <= n - 1 - HMAX; T++) {
      const loss = trainWindow(base, T);
      if (isNaN(loss)) {
        skipped++;
        continue;
      }
      lossSum += loss;
      used++;
      if (++inBatch == batch) {
        adamStep(inBatch);
        inBatch = 0;
      }
    }
  }
  if (inBatch > 0) adamStep(inBatch);
  st(STATE, H_SEEN, ld(STATE, H_SEEN) + used);
  const mean = used > 0 ? lossSum / used : NaN;
  writeReport(reportPtr, used, skipped, mean, mean);
  freeArena();
  return Status.Ok;
}

/** Writes the fallback forecast (every quantile = `v`) for one series. */
function fillFallback(outPtr: usize, v: f64): void {
  for (let o = 0; o < NO; o++) st(outPtr, o, v);
}

/**
 * Forecast from the window ending at index T of the series at `base` (T+1 points available). Missing values
 * (NaN/Inf) are carried forward when at most a quarter of the window is missing; more missing: NonFinite and the
 * last finite value as a flat fallback. Too short: TooFewPoints and the same fallback (0 when nothing is finite).
 */
function predictOne(base: usize, T: i32, outPtr: usize): i32 {
  let lastFinite: f64 = 0;
  for (let a = T; a >= 0; a--) {
    const v = ld(base, a);
    if (isFinite(v)) {
      lastFinite = v;
      break;
    }
  }
  if (T + 1 < NEED) {
    fillFallback(outPtr, lastFinite);
    return Status.TooFewPoints;
  }
  const start = T - NEED + 1;
  let missing: i32 = 0;
  let carry: f64 = NaN;
  for (let i = 0; i < NEED; i++) {
    const v = ld(base, start + i);
    if (isFinite(v)) carry = v;
    else missing++;
    st(COPY, i, carry);
  }
  if (missing * 4 > NEED) {
    fillFallback(outPtr, lastFinite);
    return Status.NonFinite;
  }
  if (missing > 0) {
    // leading gaps take the first finite value
    let first: f64 = 0;
    for (let i = 0; i < NEED; i++) {
      const v = ld(COPY, i);
      if (isFinite(v)) {
        first = v;
        break;
      }
    }
    for (let i = 0; i < NEED; i++) {
      if (isFinite(ld(COPY, i))) break;
      st(COPY, i, first);
    }
  }
  if (!buildWindow(COPY, NEED - 1, false)) {
    fillFallback(outPtr, lastFinite);
    return Status.NonFinite;
  }
  forward();
  let prev = -Infinity;
  for (let o = 0; o < NO; o++) {
    let v = LEVEL + SCALE * ld(QO, o);
    if (NONNEG && v < 0) v = 0; // max(0, .) keeps the quantiles monotone
    if (!isFinite(v)) {
      fillFallback(outPtr, lastFinite);
      return Status.NonFinite;
    }
    // monotone by construction; the max only guards rounding when SCALE * increment underflows
    const q = o % NQ == 0 ? v : Math.max(v, prev);
    st(outPtr, o, q);
    prev = q;
  }
  return Status.Ok;
}

/**
 * Forecasts every series of a batch from its last NEED points: out[s * NH * NQ + h * NQ + q] (horizon-major);
 * statuses[s] (i32) per series. Returns Ok when the call itself was valid (per-series problems are in statuses).
 */
export function gruPredict(
  statePtr: usize, stateLen: i32, valuesPtr: usize, valuesLen: i32, offsetsPtr: usize, nSeries: i32,
  outPtr: usize, outLen: i32, statusPtr: usize,
): i32 {
  let status = loadState(statePtr, stateLen);
  if (status != Status.Ok) return status;
  status = checkOffsets(valuesPtr, valuesLen, offsetsPtr, nSeries);
  if (status != Status.Ok) return status;
  if (outPtr == 0 || statusPtr == 0 || <i64>outLen < <i64>nSeries * <i64>NO) return Status.BufferTooSmall;
  allocArena(0);
  for (let s = 0; s < nSeries; s++) {
    const off = ld(offsetsPtr, s);
    const n = <i32>(ld(offsetsPtr, s + 1) - off);
    const st1 = predictOne(valuesPtr + (<usize>off << 3), n - 1, outPtr + (<usize>(s * NO) << 3));
    store<i32>(statusPtr + (<usize>s << 2), st1);
  }
  freeArena();
  return Status.Ok;
}

/**
 * Rolling-origin forecasts for one series (backtests): for origins T = from, from+stride, ... <= n-1, using only
 * values up to T; out[r * NH * NQ + h * NQ + q] and statuses[r] for origin row r.
 */
export function gruPredictRolling(
  statePtr: usize, stateLen: i32, valuesPtr: usize, n: i32, from: i32, stride: i32,
  outPtr: usize, outLen: i32, statusPtr: usize,
): i32 {
  const status = loadState(statePtr, stateLen);
  if (status != Status.Ok) return status;
  if (n < 1 || valuesPtr == 0 || from < 0 || from >= n || stride < 1) return Status.BadParam;
  const rows = (n - 1 - from) / stride + 1;
  if (outPtr == 0 || statusPtr == 0 || <i64>outLen < <i64>rows * <i64>NO) return Status.BufferTooSmall;
  allocArena(0);
  for (let r = 0; r < rows; r++) {
    const T = from + r * stride;
    store<i32>(statusPtr + (<usize>r << 2), predictOne(valuesPtr, T, outPtr + (<usize>(r * NO) << 3)));
  }
  freeArena();
  return Status.Ok;
}

/** History points one forecast needs (window, plus a season back when the seasonal channel is on); 0 if invalid. */
export function gruContextLength(statePtr: usize, stateLen: i32): i32 {
  return loadState(statePtr, stateLen) == Status.Ok ? NEED : 0;
}

/**
 * Test support: compares the analytic gradient (backward) of the loss of the window ending at T with central finite
 * differences, (L(p + e) - L(p - e)) / 2e with e = 1e-6 max(1, |p|), for every `every`-th parameter.
 * out[0] = max |analytic - numeric|, out[1] = max |analytic|, out[2] = parameters checked. Leaves the state unchanged.
 */
export function gruGradCheck(statePtr: usize, stateLen: i32, valuesPtr: usize, n: i32, T: i32, every: i32, outPtr: usize): i32 {
  const status = loadState(statePtr, stateLen);
  if (status != Status.Ok) return status;
  if (valuesPtr == 0 || outPtr == 0 || every < 1 || T < NEED - 1 || T > n - 1 - HMAX) return Status.BadParam;
  allocArena(0);
  if (!buildWindow(valuesPtr, T, true)) {
    freeArena();
    return Status.NonFinite;
  }
  forward();
  pinball();
  backward();
  let maxDiff: f64 = 0;
  let maxG: f64 = 0;
  let count: i32 = 0;
  for (let p = 0; p < NP; p += every) {
    const orig = ld(PAR, p);
    const e = 1e-6 * Math.max(1.0, Math.abs(orig));
    st(PAR, p, orig + e);
    forward();
    const lp = pinball();
    st(PAR, p, orig - e);
    forward();
    const lm = pinball();
    st(PAR, p, orig);
    const g = ld(GRAD, p);
    maxDiff = Math.max(maxDiff, Math.abs((lp - lm) / (2 * e) - g));
    maxG = Math.max(maxG, Math.abs(g));
    count++;
  }
  st(outPtr, 0, maxDiff);
  st(outPtr, 1, maxG);
  st(outPtr, 2, count);
  freeArena();
  return Status.Ok;
}
