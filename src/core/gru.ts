// Host API of the GRU quantile forecaster (assembly/forecast/gru.ts): typed calls, state kept in a host Float64Array.
//
// API (all functions take an optional `core`, default the process-wide release instance):
//   const st = createGru({ horizons: [1, 3, 6], quantiles: [0.5, 0.9, 0.95, 0.99], hidden: 16, window: 24,
//                          seasonSteps: 288, seed: 1 });          // -> GruState (plain data: options + blob)
//   trainGru(st, histories, { epochs: 3, windowsPerEpoch: 50_000, batchSize: 32 });   // -> GruTrainReport
//   updateGru(st, tails, newCounts);        // online: each tail ends with newCounts[i] new points, O(new points)
//   predictGru(st, recent);                 // -> { quantiles[i][h * nQ + q], codes[i], statuses[i] }
//   predictGruRolling(st, series, from, stride);   // backtest: forecasts at origins from, from+stride, ...
//   restoreGru(blob);                       // a GruState from a saved blob
// - `horizons` are in steps of the series' interval (5/15/30 min at 5-min samples: 1, 3, 6); `quantiles` strictly
//   ascending in (0, 1). Outputs are horizon-major [h * nQ + q], in the series' unit, monotone in q, never NaN.
// - One state can serve one series or a group: trainGru on many series trains ONE shared network on per-window
//   normalised windows (level = last value, scale = mean |step|), which learns far more from little data.
// - `st.contextLength` points of history are needed per forecast (window, plus one season when seasonSteps > 0);
//   updateGru needs contextLength + max horizon points before the new ones to learn from all of them.
// - Data problems per series in predict are statuses ('too-few-points', 'non-finite': flat fallback at the last finite
//   value); NaN gaps of up to a quarter of the window are carried forward. Training skips windows with NaN.
// - Errors: bad options/arguments and corrupted blobs throw FORESIGHT_ERR_CORE_BAD_PARAM (a truncated blob
//   FORESIGHT_ERR_CORE_BUFFER_TOO_SMALL); trainGru throws FORESIGHT_ERR_CORE_TOO_FEW_POINTS when no series has
//   contextLength + max horizon points, FORESIGHT_ERR_CORE_NON_FINITE when every window had a NaN; a trap throws
//   FORESIGHT_ERR_CORE_ABORT (Core re-instantiates; the blob is untouched as it lives in the host).
// - Forecasts from a window without negative values are floored at 0.
// - Checkpoints: keep `st.blob`; restoreGru(blob) rebuilds the state (options read back from the blob).
// - Cost (release build): hidden 16, window 24: ~34 us of CPU per training window, ~16 us per forecast, so the
//   default training (3 x 50k windows) takes about 5 s of CPU whatever the number of series; updateGru ~34 us per
//   new point. Accuracy on azure2017 traces: bench/gru.ts.
// - Deterministic: same options (seed), same data, same call sequence -> identical blob and forecasts.
import { checkStatus, statusName } from './status.js';
import { Core, sharedCore, type CoreExports } from './wasm.js';
import { CoreBadParamError } from '../errors.js';

type F = (...args: number[]) => number;
interface GruExports extends CoreExports {
  forecast_gru_apiVersion(): number;
  gru_stateSize: F;
  gru_init: F;
  gru_train: F;
  gru_update: F;
  gru_predict: F;
  gru_predictRolling: F;
  gru_contextLength: F;
  gru_gradCheck: F;
}
const gx = (x: CoreExports): GruExports => x as GruExports;

export interface GruOptions {
  /** Forecast horizons in steps (integers 1-1024). */
  horizons: readonly number[];
  /** Quantile levels, strictly ascending in (0, 1), at most 16. */
  quantiles: readonly number[];
  /** Hidden units, even, 16-64 (default 16: on azure2017 traces 16 units trained on 150k windows beat 32 on 60k at equal CPU). */
  hidden?: number;
  /** Input window length in steps, 2-512 (default 24: two hours at 5 minutes). */
  window?: number;
  /** Seasonal period in steps for the seasonal input channel (0 = off, default; else > max horizon, e.g. 288). */
  seasonSteps?: number;
  /** Seed of the weight initialisation and window order (default 1). */
  seed?: number;
  /** Adam learning rate (default 3e-3). */
  learningRate?: number;
}

export type ResolvedGruOptions = Required<GruOptions>;

export interface GruState {
  readonly options: Readonly<ResolvedGruOptions>;
  /** Weights, Adam moments and bookkeeping; the WASM core reads and writes it in place of any internal state. */
  readonly blob: Float64Array;
  /** History points one forecast needs. */
  readonly contextLength: number;
}

export interface GruTrainOptions {
  /** Passes over the sampled windows (default 3). */
  epochs?: number;
  /** Windows per epoch, drawn without replacement across all series (default 50,000; 0 = every window). */
  windowsPerEpoch?: number;
  /** Windows per Adam step (default 32). */
  batchSize?: number;
}

export interface GruTrainReport {
  /** Windows trained on (all epochs). */
  windows: number;
  /** Windows skipped because an input or target was NaN/Inf. */
  skipped: number;
  /** Mean pinball loss in scale units over the first and the last epoch (NaN when no window was used). */
  firstLoss: number;
  lastLoss: number;
  /** Adam steps taken by this state so far. */
  adamSteps: number;
}

export interface GruPrediction {
  /** Per series: horizon-major quantiles [h * nQ + q] in the series' unit. */
  quantiles: Float64Array[];
  /** Per series status code (assembly/status.ts) and its name. */
  codes: number[];
  statuses: string[];
}

export interface GruRolling {
  /** Row r is the forecast from origin from + r * stride: out[r * nH * nQ + h * nQ + q]. */
  quantiles: Float64Array;
  codes: Int32Array;
  rows: number;
}

function resolve(o: GruOptions): ResolvedGruOptions {
  return {
    horizons: [...o.horizons],
    quantiles: [...o.quantiles],
    hidden: o.hidden ?? 16,
    window: o.window ?? 24,
    seasonSteps: o.seasonSteps ?? 0,
    seed: o.seed ?? 1,
    learningRate: o.learningRate ?? 3e-3,
  };
}

/** Creates a freshly initialised network (weights drawn from the seed). */
export function createGru(options: GruOptions, core: Core = sharedCore()): GruState {
  const o = resolve(options);
  const ints = [o.hidden, o.window, o.seasonSteps];
  if (!ints.every(Number.isInteger)) throw new CoreBadParamError(`gru options ${JSON.stringify(o)}: hidden, window and seasonSteps must be integers`);
  return core.call((x) => {
    const e = gx(x);
    const size = e.gru_stateSize(o.hidden, o.window, o.horizons.length, o.quantiles.length, o.seasonSteps);
    if (size === 0) {
      throw new CoreBadParamError(`gru sizes ${JSON.stringify(o)} (hidden even 16-64, window 2-512, 1-16 horizons, 1-16 quantiles, seasonSteps 0-100000)`);
    }
    const sp = x.alloc(size * 8);
    const hp = core.putF64(o.horizons);
    const lp = core.putF64(o.quantiles);
    try {
      const c = e.gru_init(sp, size, o.hidden, o.window, hp, o.horizons.length, lp, o.quantiles.length, o.seasonSteps, o.seed, o.learningRate);
      checkStatus(c, `gru init ${JSON.stringify(o)} (horizons integers 1-1024, quantiles ascending in (0,1), seasonSteps > max horizon, learningRate in (0,1])`);
      const blob = core.f64(sp, size).slice();
      const contextLength = e.gru_contextLength(sp, size);
      return { options: Object.freeze(o), blob, contextLength };
    } finally {
      for (const p of [sp, hp, lp]) x.free(p);
    }
  });
}

/**
 * Rebuilds a GruState from a saved blob (e.g. a checkpoint): the options are read back from the blob's header, so they
 * cannot disagree with the weights. Throws FORESIGHT_ERR_CORE_BAD_PARAM when the blob is not a valid state.
 */
export function restoreGru(blob: Float64Array, core: Core = sharedCore()): GruState {
  const copy = blob.slice();
  const ctx = withState(core, copy, (e, sp) => e.gru_contextLength(sp, copy.length));
  if (ctx === 0) throw new CoreBadParamError(`gru blob of ${blob.length} doubles is not a valid state`);
  // header indices of assembly/forecast/gru.ts (H_HIDDEN, H_WINDOW, H_NH, H_NQ, H_SEASON, H_SEED, H_LR, H_OFF_HOR, H_OFF_LEV)
  const nH = copy[5];
  const nQ = copy[6];
  const options: ResolvedGruOptions = {
    hidden: copy[2],
    window: copy[3],
    seasonSteps: copy[7],
    seed: copy[8],
    learningRate: copy[10],
    horizons: Array.from(copy.subarray(copy[16], copy[16] + nH)),
    quantiles: Array.from(copy.subarray(copy[17], copy[17] + nQ)),
  };
  return { options: Object.freeze(options), blob: copy, contextLength: ctx };
}

/** Copies the blob in, runs `fn`, copies the blob back (also when fn's status is an error). */
function withState<T>(core: Core, blob: Float64Array, fn: (e: GruExports, sp: number) => T): T {
  return core.call((x) => {
    const sp = core.putF64(blob);
    try {
      const r = fn(gx(x), sp);
      blob.set(core.f64(sp, blob.length));
      return r;
    } finally {
      x.free(sp);
    }
  });
}

/** Concatenates series into one values matrix with offsets (f64), as the batch exports expect. */
function pack(series: readonly ArrayLike<number>[]): { values: Float64Array; offsets: Float64Array } {
  let total = 0;
  for (const s of series) total += s.length;
  const values = new Float64Array(total);
  const offsets = new Float64Array(series.length + 1);
  let at = 0;
  series.forEach((s, i) => {
    offsets[i] = at;
    values.set(s, at);
    at += s.length;
  });
  offsets[series.length] = at;
  return { values, offsets };
}

function report(r: Float64Array): GruTrainReport {
  return { windows: r[0], skipped: r[1], firstLoss: r[2], lastLoss: r[3], adamSteps: r[4] };
}

function runTraining(
  core: Core,
  state: GruState,
  series: readonly ArrayLike<number>[],
  call: (e: GruExports, sp: number, vp: number, vlen: number, op: number, rp: number, x: CoreExports) => number,
  what: string,
): GruTrainReport {
  const { values, offsets } = pack(series);
  return withState(core, state.blob, (e, sp) => {
    const x = core.exports;
    const vp = core.putF64(values);
    const op = core.putF64(offsets);
    const rp = x.alloc(5 * 8);
    try {
      const c = call(e, sp, vp, values.length, op, rp, x);
      const r = report(core.f64(rp, 5).slice());
      checkStatus(c, `${what} on ${series.length} series (${values.length} points)`);
      return r;
    } finally {
      for (const p of [vp, op, rp]) x.free(p);
    }
  });
}

/** Trains the (shared) network on full histories; NaN = missing. Deterministic for a given state and data. */
export function trainGru(state: GruState, histories: readonly ArrayLike<number>[], opts: GruTrainOptions = {}, core: Core = sharedCore()): GruTrainReport {
  const epochs = opts.epochs ?? 3;
  const perEpoch = opts.windowsPerEpoch ?? 50_000;
  const batch = opts.batchSize ?? 32;
  if (!(Number.isInteger(epochs) && epochs >= 1 && epochs <= 10_000 && Number.isInteger(perEpoch) && perEpoch >= 0 && perEpoch <= 2 ** 31 - 1 && Number.isInteger(batch) && batch >= 1 && batch <= 65_536)) {
    throw new CoreBadParamError(`gru train options ${JSON.stringify(opts)} (epochs 1-10000, windowsPerEpoch 0-2^31-1, batchSize 1-65536)`);
  }
  return runTraining(core, state, histories, (e, sp, vp, vlen, op, rp) =>
    e.gru_train(sp, state.blob.length, vp, vlen, op, histories.length, epochs, perEpoch, batch, rp), 'gru train');
}

/**
 * Online update: `tails[i]` ends with `newCounts[i]` new points and should start contextLength + max horizon points
 * before them; trains once on each window whose furthest target is new. Nothing to learn yet is not an error
 * (report.windows = 0).
 */
export function updateGru(state: GruState, tails: readonly ArrayLike<number>[], newCounts: readonly number[], opts: { batchSize?: number } = {}, core: Core = sharedCore()): GruTrainReport {
  if (newCounts.length !== tails.length) throw new CoreBadParamError(`gru update: ${tails.length} tails but ${newCounts.length} counts`);
  const batch = opts.batchSize ?? 32;
  if (!(Number.isInteger(batch) && batch >= 1 && batch <= 65_536)) throw new CoreBadParamError(`gru update batchSize ${batch} (1-65536)`);
  return runTraining(core, state, tails, (e, sp, vp, vlen, op, rp) => {
    const np = core.putF64(newCounts);
    try {
      return e.gru_update(sp, state.blob.length, vp, vlen, op, tails.length, np, batch, rp);
    } finally {
      core.exports.free(np);
    }
  }, 'gru update');
}

/** Forecasts each series from its most recent points (only the last contextLength are read). */
export function predictGru(state: GruState, recent: readonly ArrayLike<number>[], core: Core = sharedCore()): GruPrediction {
  const nOut = state.options.horizons.length * state.options.quantiles.length;
  const n = recent.length;
  const tails = recent.map((s) => (s.length > state.contextLength && s instanceof Float64Array ? s.subarray(s.length - state.contextLength) : s));
  const { values, offsets } = pack(tails);
  return withState(core, state.blob, (e, sp) => {
    const x = core.exports;
    const vp = core.putF64(values);
    const op = core.putF64(offsets);
    const outp = x.alloc(Math.max(8, n * nOut * 8));
    const stp = x.alloc(Math.max(8, n * 4));
    try {
      const c = e.gru_predict(sp, state.blob.length, vp, values.length, op, n, outp, n * nOut, stp);
      checkStatus(c, `gru predict on ${n} series`);
      const out = core.f64(outp, n * nOut);
      const codes = Array.from(core.i32(stp, n));
      return {
        quantiles: codes.map((_, i) => out.slice(i * nOut, (i + 1) * nOut)),
        codes,
        statuses: codes.map(statusName),
      };
    } finally {
      for (const p of [vp, op, outp, stp]) x.free(p);
    }
  });
}

/** Rolling-origin forecasts of one series at origins from, from + stride, ..., using only data up to each origin. */
export function predictGruRolling(state: GruState, series: ArrayLike<number>, from: number, stride = 1, core: Core = sharedCore()): GruRolling {
  const nOut = state.options.horizons.length * state.options.quantiles.length;
  const n = series.length;
  if (!Number.isInteger(from) || !Number.isInteger(stride) || from < 0 || from >= n || stride < 1) {
    throw new CoreBadParamError(`gru rolling: from ${from}, stride ${stride} for ${n} points`);
  }
  const rows = Math.floor((n - 1 - from) / stride) + 1;
  return withState(core, state.blob, (e, sp) => {
    const x = core.exports;
    const vp = core.putF64(series);
    const outp = x.alloc(rows * nOut * 8);
    const stp = x.alloc(Math.max(8, rows * 4));
    try {
      const c = e.gru_predictRolling(sp, state.blob.length, vp, n, from, stride, outp, rows * nOut, stp);
      checkStatus(c, `gru rolling forecast (${n} points from ${from} every ${stride})`);
      return { quantiles: core.f64(outp, rows * nOut).slice(), codes: core.i32(stp, rows).slice(), rows };
    } finally {
      for (const p of [vp, outp, stp]) x.free(p);
    }
  });
}

/**
 * Test support: analytic vs central finite-difference gradient of one window's loss (window ending at index T of
 * `series`) over every `every`-th parameter. The state is left unchanged.
 */
export function gradientCheckGru(state: GruState, series: ArrayLike<number>, T: number, every = 1, core: Core = sharedCore()): { maxDiff: number; maxGrad: number; checked: number } {
  return withState(core, state.blob, (e, sp) => {
    const x = core.exports;
    const vp = core.putF64(series);
    const op = x.alloc(3 * 8);
    try {
      checkStatus(e.gru_gradCheck(sp, state.blob.length, vp, series.length, T, every, op), `gru gradient check at ${T}`);
      const [maxDiff, maxGrad, checked] = core.f64(op, 3);
      return { maxDiff, maxGrad, checked };
    } finally {
      x.free(vp);
      x.free(op);
    }
  });
}
