// Export surface of the forecasting core (Holt-Winters, VPA decaying histogram, residual quantiles). Numbers in,
// numbers out: pointers come from `alloc`, all per-series state lives in host-owned buffers copied in per call.
import { Status } from "../status";
import {
  HIST_HEADER, histAdd, histBucketStart, histInit, histNumBuckets, histPercentile,
} from "./histogram";
import { HW_HEADER, hwFit, hwFitScratchLen, hwForecastOne, hwInitState, hwRun } from "./holt-winters";
import { quantileInPlace, quantilesInPlace } from "../stats/quickselect";
import { CFG_E, CFG_K, CFG_NM, CFG_Q0, CFG_STRIDE, aciStep, ensAdvance, ensConfigOk, ensScratchLen, weightsFromLoss } from "./ensemble";

/** API version of the forecast area (bumped on any breaking change of these exports). */
export function forecast_apiVersion(): i32 {
  return 1;
}

// ---- VPA decaying histogram ----------------------------------------------------------------------------------

/** Header doubles before the bucket weights in each histogram's state (stride = header + buckets). */
export function fc_hist_header(): i32 {
  return HIST_HEADER;
}

/** Number of buckets of exponential options (maxValue > 0, firstBucket > 0, ratio > 1); 0 when out of range. */
export function fc_hist_num_buckets(maxValue: f64, firstBucket: f64, ratio: f64): i32 {
  return histNumBuckets(maxValue, firstBucket, ratio);
}

/** Start of bucket `b` (0 for bucket 0), in the value's unit. */
export function fc_hist_bucket_start(b: i32, firstBucket: f64, ratio: f64): f64 {
  return histBucketStart(b, firstBucket, ratio);
}

/** Resets `count` histograms of `nb` buckets at `state` to empty. */
export function fc_hist_init(state: usize, count: i32, nb: i32): void {
  histInit(state, count, nb);
}

/**
 * Adds n samples: sample j (value values[j], time times[j] in seconds, weight weights[j] or 1 when weights = 0)
 * goes into histogram idx[j] (a double holding the index). halfLifeS <= 0 disables decay. Returns a Status
 * (first problem seen; bad samples are skipped, the rest are added).
 */
export function fc_hist_add(
  state: usize, count: i32, nb: i32, firstBucket: f64, ratio: f64, epsilon: f64, halfLifeS: f64,
  idx: usize, values: usize, times: usize, weights: usize, n: i32,
): i32 {
  if (nb < 1 || !(firstBucket > 0.0) || !(ratio > 1.0) || !(epsilon > 0.0)) return Status.BadParam;
  return histAdd(state, count, nb, firstBucket, ratio, epsilon, halfLifeS, idx, values, times, weights, n);
}

/**
 * Percentiles (levels in [0,1]) of `count` histograms into out[h*nLevels + l]: VPA's Percentile (end of the
 * bucket holding the level; 0 for an empty histogram). Returns BadParam for a level outside [0,1] (written as 0).
 */
export function fc_hist_percentiles(
  state: usize, count: i32, nb: i32, firstBucket: f64, ratio: f64, epsilon: f64,
  levels: usize, nLevels: i32, out: usize,
): i32 {
  let status = Status.Ok;
  const stride = <usize>(HIST_HEADER + nb) << 3;
  for (let h = 0; h < count; h++) {
    for (let l = 0; l < nLevels; l++) {
      const p = load<f64>(levels + (<usize>l << 3));
      let v = 0.0;
      if (p >= 0.0 && p <= 1.0) v = histPercentile(state + <usize>h * stride, nb, firstBucket, ratio, epsilon, p);
      else status = Status.BadParam;
      store<f64>(out + (<usize>(h * nLevels + l) << 3), v);
    }
  }
  return status;
}

/**
 * Adds the n samples (times in seconds) to one histogram one by one and writes, after each, its percentile at
 * `level` into out[j] (the histogram's forecast at every origin, for the rolling-origin backtest). NaN samples are
 * skipped (the previous percentile repeats); NaN while the histogram is empty.
 */
export function fc_hist_track(
  h: usize, nb: i32, firstBucket: f64, ratio: f64, epsilon: f64, halfLifeS: f64,
  values: usize, times: usize, n: i32, level: f64, out: usize,
): i32 {
  if (nb < 1 || !(firstBucket > 0.0) || !(ratio > 1.0) || !(epsilon > 0.0)) return Status.BadParam;
  let status = Status.Ok;
  const one = heap.alloc(8);
  store<f64>(one, 0.0);
  for (let j = 0; j < n; j++) {
    const st = histAdd(h, 1, nb, firstBucket, ratio, epsilon, halfLifeS, one, values + (<usize>j << 3), times + (<usize>j << 3), 0, 1);
    if (st != Status.Ok && status == Status.Ok) status = st;
    // an empty histogram (nothing finite added yet: a history that starts with gaps) has no forecast, not 0
    store<f64>(out + (<usize>j << 3), load<f64>(h + 8) > 0.0 ? histPercentile(h, nb, firstBucket, ratio, epsilon, level) : NaN);
  }
  heap.free(one);
  return status;
}

/**
 * fc_hist_track for `count` histograms in one call: histogram i is at hists + hoff[i] doubles, with
 * meta[2i] = its bucket count and meta[2i + 1] = its first bucket size; its points are values and times at
 * off[i] .. off[i+1] (offsets as doubles) and its percentiles go to out at the same positions. Returns the worst
 * status.
 */
export function fc_hist_track_batch(
  hists: usize, hoff: usize, meta: usize, count: i32, ratio: f64, epsilon: f64, halfLifeS: f64,
  values: usize, times: usize, off: usize, level: f64, out: usize,
): i32 {
  let worst: i32 = Status.Ok;
  for (let i = 0; i < count; i++) {
    const a = <usize>load<f64>(off + (<usize>i << 3)) << 3;
    const n = <i32>load<f64>(off + (<usize>(i + 1) << 3)) - <i32>load<f64>(off + (<usize>i << 3));
    const st = fc_hist_track(
      hists + (<usize>load<f64>(hoff + (<usize>i << 3)) << 3), <i32>load<f64>(meta + (<usize>(2 * i) << 3)),
      load<f64>(meta + (<usize>(2 * i + 1) << 3)), ratio, epsilon, halfLifeS, values + a, times + a, n, level, out + a,
    );
    if (st > worst) worst = st;
  }
  return worst;
}

// ---- Holt-Winters ------------------------------------------------------------------------------------------------

/** Header doubles of a Holt-Winters state (then m1 + m2 seasonal doubles). */
export function fc_hw_header(): i32 {
  return HW_HEADER;
}

/**
 * Fits `count` series in one call: series i is y[off[i] .. off[i+1]) (offsets as doubles), its state at
 * states + i*stride doubles (stride >= header + m1 + m2). m1, m2: seasonal periods in steps (0 = none); damped:
 * 1 fits phi in [0.8, 0.98]. warm: 1 when each state holds a previous fit whose parameters start a local search
 * (hwFit). Writes each series' Status into status[i]; returns the worst (largest) code.
 */
export function fc_hw_fit_batch(
  states: usize, stride: i32, y: usize, off: usize, count: i32, m1: i32, m2: i32, damped: i32, maxEvals: i32,
  status: usize, warm: i32,
): i32 {
  if (stride < HW_HEADER + (m1 > 0 ? m1 : 0) + (m2 > 0 ? m2 : 0)) return Status.BufferTooSmall;
  const scratch = heap.alloc(<usize>hwFitScratchLen(m1 > 0 ? m1 : 0, m2 > 0 ? m2 : 0) << 3);
  let worst = 0;
  for (let i = 0; i < count; i++) {
    const a = <i32>load<f64>(off + (<usize>i << 3));
    const b = <i32>load<f64>(off + (<usize>(i + 1) << 3));
    const st = hwFit(states + (<usize>(i * stride) << 3), y + (<usize>a << 3), b - a, m1, m2, damped != 0, maxEvals, scratch, warm != 0);
    store<f64>(status + (<usize>i << 3), <f64>st);
    if (st > worst) worst = st;
  }
  heap.free(scratch);
  return worst;
}

/**
 * Online update of `count` states with new points y[off[i] .. off[i+1]) (O(new points)); when out != 0, writes
 * after each new point the forecasts for the nH horizons (steps, doubles at hs) into out[(off[i] + j)*nH + k].
 * Returns Ok.
 */
export function fc_hw_update_batch(
  states: usize, stride: i32, y: usize, off: usize, count: i32, hs: usize, nH: i32, out: usize,
): i32 {
  for (let i = 0; i < count; i++) {
    const a = <i32>load<f64>(off + (<usize>i << 3));
    const b = <i32>load<f64>(off + (<usize>(i + 1) << 3));
    hwRun(states + (<usize>(i * stride) << 3), y + (<usize>a << 3), b - a, hs, nH, out ? out + (<usize>(a * nH) << 3) : 0);
  }
  return Status.Ok;
}

/**
 * Re-initialises `count` fitted states from the start of their series (keeping the parameters and seasonal
 * periods) and replays y[off[i] .. off[i+1]), writing after each point the nH horizon forecasts into
 * out[(off[i] + j)*nH + k]: the model's forecast at every origin of the history, for the rolling-origin backtest.
 */
export function fc_hw_replay_batch(
  states: usize, stride: i32, y: usize, off: usize, count: i32, hs: usize, nH: i32, out: usize,
): i32 {
  for (let i = 0; i < count; i++) {
    const a = <i32>load<f64>(off + (<usize>i << 3));
    const b = <i32>load<f64>(off + (<usize>(i + 1) << 3));
    const s = states + (<usize>(i * stride) << 3);
    const st = <i32>load<f64>(s + 80);
    const yy = y + (<usize>a << 3);
    if (st != Status.TooFewPoints && st != Status.Constant) {
      const level = load<f64>(s + 40);
      hwInitState(s, yy, b - a, <i32>load<f64>(s + 56), <i32>load<f64>(s + 64));
      if (!isFinite(load<f64>(s + 40))) store<f64>(s + 40, level);
    } else {
      store<f64>(s + 72, 0.0);
    }
    hwRun(s, yy, b - a, hs, nH, out + (<usize>(a * nH) << 3));
  }
  return Status.Ok;
}

/** Forecasts of `count` states for nH horizons (steps) into out[i*nH + k]. */
export function fc_hw_forecast_batch(states: usize, stride: i32, count: i32, hs: usize, nH: i32, out: usize): i32 {
  for (let i = 0; i < count; i++) {
    const s = states + (<usize>(i * stride) << 3);
    for (let k = 0; k < nH; k++) {
      store<f64>(out + (<usize>(i * nH + k) << 3), hwForecastOne(s, <i32>load<f64>(hs + (<usize>(k << 3)))));
    }
  }
  return Status.Ok;
}

// ---- quantiles ---------------------------------------------------------------------------------------------------

/**
 * Type-7 quantiles at nLevels levels (ascending not required) of the finite values among data[0..n) into out;
 * data is left untouched. Returns TooFewPoints (and writes 0) when no value is finite.
 */
export function fc_quantiles(data: usize, n: i32, levels: usize, nLevels: i32, out: usize): i32 {
  const len: i32 = n > 0 ? n : 1;
  const tmp = heap.alloc(<usize>len << 3);
  let c = 0;
  for (let i = 0; i < n; i++) {
    const v = load<f64>(data + (<usize>i << 3));
    if (isFinite(v)) store<f64>(tmp + (<usize>(c++) << 3), v);
  }
  for (let l = 0; l < nLevels; l++) {
    const p = load<f64>(levels + (<usize>l << 3));
    store<f64>(out + (<usize>l << 3), c > 0 ? quantileInPlace(tmp, c, p) : 0.0);
  }
  heap.free(tmp);
  return c > 0 ? Status.Ok : Status.TooFewPoints;
}

/**
 * Batched quantiles: for segment i (values data[off[i] .. off[i+1]), offsets as doubles) the nLevels levels at
 * levels[i*nLevels ..] go into out[i*nLevels + l]. Non-finite values are ignored; an empty segment gives 0.
 * data is reordered in place (the host passes a scratch copy). Returns TooFewPoints if any segment was empty.
 */
export function fc_quantiles_seg(data: usize, off: usize, count: i32, levels: usize, nLevels: i32, out: usize): i32 {
  let status = Status.Ok;
  for (let i = 0; i < count; i++) {
    const a = <i32>load<f64>(off + (<usize>i << 3));
    const b = <i32>load<f64>(off + (<usize>(i + 1) << 3));
    // compact the finite values to the front of the segment
    let c = 0;
    for (let j = a; j < b; j++) {
      const v = load<f64>(data + (<usize>j << 3));
      if (isFinite(v)) store<f64>(data + (<usize>(a + c++) << 3), v);
    }
    const lv = levels + (<usize>(i * nLevels) << 3);
    const o = out + (<usize>(i * nLevels) << 3);
    if (c > 0) quantilesInPlace(data + (<usize>a << 3), c, lv, nLevels, o);
    else {
      for (let l = 0; l < nLevels; l++) store<f64>(o + (<usize>l << 3), 0.0);
      status = Status.TooFewPoints;
    }
  }
  return status;
}

// ---- ensemble step: rolling-origin errors, ACI, weights, live scores (ensemble.ts) -------------------------------

/**
 * Advances `count` series by their new points y[off[i] .. off[i+1]) (offsets as doubles). cfg: layout and
 * parameters (ensemble.ts CFG_*; hs, levels, disabled after the header). Series i's state is the block at
 * blocks + i*stride doubles; xin holds the host-computed members' forecasts, xin[((off[i] + j)*nM + m)*K + k].
 * Errors of the MQ = nM + 1 - Q0 tracked models: with jrn == 0 written into the rings at err + i*MQ*K*E doubles;
 * otherwise appended to the journal at jrn + off[i]*MQ*K*2 doubles as (index, value) pairs, their count in
 * jcount[i]. Returns Ok or BadParam.
 */
export function fc_ens_advance_batch(
  cfg: usize, blocks: usize, count: i32, y: usize, off: usize, xin: usize, err: usize, jrn: usize, jcount: usize,
): i32 {
  if (!ensConfigOk(cfg)) return Status.BadParam;
  const K = <i32>load<f64>(cfg + (<usize>CFG_K << 3));
  const nM = <i32>load<f64>(cfg + (<usize>CFG_NM << 3));
  const E = <i32>load<f64>(cfg + (<usize>CFG_E << 3));
  const S = <i32>load<f64>(cfg + (<usize>CFG_STRIDE << 3));
  const MQK = (nM + 1 - <i32>load<f64>(cfg + (<usize>CFG_Q0 << 3))) * K;
  const scratch = heap.alloc(<usize>ensScratchLen(cfg) << 3);
  for (let i = 0; i < count; i++) {
    const a = <i32>load<f64>(off + (<usize>i << 3));
    const b = <i32>load<f64>(off + (<usize>(i + 1) << 3));
    const jp: usize = jrn ? jrn + (<usize>a * <usize>MQK * 2 << 3) : 0;
    const ep: usize = jrn ? 0 : err + (<usize>i * <usize>MQK * <usize>E << 3);
    const jn = ensAdvance(
      cfg, blocks + (<usize>i * <usize>S << 3), y + (<usize>a << 3), b - a, xin + (<usize>a * <usize>(nM * K) << 3), ep, jp, scratch,
    );
    if (jrn) store<f64>(jcount + (<usize>i << 3), <f64>jn);
  }
  heap.free(scratch);
  return Status.Ok;
}

/** Runs n ACI steps (misses[t] != 0: a miss) on one shift for target `level`; returns the final shift. */
export function fc_ens_aci_run(shift: f64, level: f64, misses: usize, n: i32, gamma: f64, maxShift: f64): f64 {
  let s = shift;
  for (let t = 0; t < n; t++) s = aciStep(s, level, load<f64>(misses + (<usize>t << 3)) != 0.0, gamma, maxShift);
  return s;
}

/** Model weights for `rows` loss vectors of n models (loss[r*n + m], NaN/Infinity = unavailable) into out[r*n + m]. */
export function fc_ens_weights(loss: usize, rows: i32, n: i32, eta: f64, minWeight: f64, out: usize): i32 {
  if (n < 1) return Status.BadParam;
  for (let r = 0; r < rows; r++) {
    weightsFromLoss(loss + (<usize>(r * n) << 3), n, out + (<usize>(r * n) << 3), eta, minWeight);
  }
  return Status.Ok;
}
