// The forecasting engine (ForecastEngine of src/core/types.ts): Holt-Winters, damped Holt, the VPA decaying
// histogram, persistence, seasonal naive and a recent median (plus H2's GRU when enabled), weighted per series and
// horizon by their rolling-origin backtest, with quantiles from each model's own h-step errors calibrated online by
// adaptive conformal inference. The WASM kernels are stateless; every per-series state lives in host memory.
//
// Usage:
//   const engine = createForecastEngine({ intervalS: 300 });          // defaults: 5/15/30 min, q .5/.9/.95/.99,
//                                                                      // seasons 1 d and 1 w (dropped if too long)
//   engine.fit(keys, histories);            // Float64Array per key, NaN = gap; refit any time (calibration kept)
//   engine.update(keys, newPoints);         // O(new points); unknown keys are fitted on the points given
//   engine.forecast(keys, [0.5, 0.8]);      // SeriesForecast: point = q50, quantiles[h * nQ + q], models[h]
//   engine.forecastModels(keys);            // every model's own quantile forecast (explain / benchmark)
//   engine.scores(key); engine.accuracy(); engine.remove(key); engine.has(key);
// Third argument (optional): EngineTuning, e.g. { errWindow, lossHalfLifeS, gru: true }.
import { ArgumentInvalidError } from '../errors.js';
import { interpolateShift, levelOrder, makeMonotone, pinball, workingLevel } from './conformal.js';
import { fx } from './forecast-exports.js';
import { createGru, predictGruRolling, trainGru, type GruState } from './gru.js';
import { fitHoltWinters, HW, updateHoltWinters } from './holt-winters.js';
import { mapPacked } from './packed.js';
import { WEIGHT_ETA } from './select.js';
import { advanceBatch, M_HIST, recentPointsOf, SeriesState, UndoLog, type StateShape, type StepInputs } from './series-state.js';
import { Status, statusName } from './status.js';
import type { AccuracyStat, EngineOptions, ForecastEngine, ForecastStatus, ModelName, ModelScore, SeriesForecast, SharedHistory } from './types.js';
import { DEFAULT_HORIZONS_S, DEFAULT_QUANTILES, DEFAULT_SEASONS_S } from './types.js';
import { Core, sharedCore } from './wasm.js';

/** Tuning knobs beyond the shared contract (all optional; defaults in DEFAULT_TUNING). */
export interface EngineTuning {
  /** Backtest window: errors kept per model and horizon (origins). */
  errWindow: number;
  /** Half-life of the loss average behind the weights, seconds. */
  lossHalfLifeS: number;
  /** Softmax sharpness of the model weights (select.ts). */
  weightEta: number;
  /** Half-life of the decaying histogram, seconds (VPA: 24 h). */
  histogramHalfLifeS: number;
  /** Nelder-Mead evaluations per Holt-Winters fit. */
  hwMaxEvals: number;
  /** Nelder-Mead evaluations per warm refit (refit(): a local search from the previous parameters). */
  refitMaxEvals: number;
  damped: boolean;
  /** Train and use H2's GRU (src/core/gru.ts) as a member model; also on when EngineOptions.models has 'gru'. */
  gru: boolean;
  /** GRU training budget per fit call: windows per epoch (drawn across the series of the call) and epochs. */
  gruWindows: number;
  gruEpochs: number;
  gruHidden: number;
  /** Keep every model's error window and conformal calibration (forecastModels() and per-model scores need them)
   *  or the ensemble's alone (what forecast() reads; model weights still come from every model's loss). */
  perModelQuantiles: boolean;
}

export const DEFAULT_TUNING: Readonly<EngineTuning> = Object.freeze({
  errWindow: 1008,
  lossHalfLifeS: 6 * 3600,
  weightEta: WEIGHT_ETA,
  histogramHalfLifeS: 86_400,
  hwMaxEvals: 250,
  refitMaxEvals: 12,
  damped: true,
  gru: false,
  gruWindows: 4000,
  gruEpochs: 1,
  gruHidden: 16,
  perModelQuantiles: true,
});

/**
 * The tuning the allocator runs the engine with, in the live loop (src/main.ts) and in the backtest
 * (src/backtest/run.ts), so that the backtest replays the configuration that runs: a one-day error window (the
 * quantiles and weights read a day of rolling-origin errors, and at least 288 of them; the allocation policy
 * calibrates the realised shortage itself). The allocator reads the ensemble's quantiles alone, so only the ensemble
 * keeps an error window and a conformal calibration (model weights still come from every model's loss): 3.5 KB of
 * errors per series instead of 28 KB (every model, a day of 5-minute origins) or 97 KB (every model, the default 1,008
 * origins).
 */
export function allocatorTuning(intervalS: number): Partial<EngineTuning> {
  return { errWindow: Math.max(MIN_ERR_WINDOW, Math.round(86_400 / intervalS)), perModelQuantiles: false };
}

/**
 * The fewest rolling-origin errors the allocator's window keeps, whatever the interval: a day of 5-minute origins.
 * A quantile read from n errors is at most their largest, which covers about n / (n + 1): a day of hourly origins (24)
 * held q0.99 near 0.96 and of half-hourly ones (48) near 0.978 on stationary noise, 0.988-0.990 at 5 minutes.
 * Coarser intervals keep 288 origins (12 days at an hour), at the same memory as 5 minutes.
 */
const MIN_ERR_WINDOW = 288;

/** Model order is the step kernel's (series-state.ts M_*); 'holt' is the non-seasonal damped member of the
 * Holt-Winters family (ETS(A,Ad,N)), enabled and disabled together with 'holt-winters'. */
/** Index of the GRU in the step kernel's model order, after the base models. */
const GRU_INDEX = 7;
const BASE_MODELS: readonly string[] = ['holt-winters', 'histogram', 'persistence', 'seasonal-naive', 'holt', 'recent-median', 'seasonal-median'];
const HIST_RATIO = 1.05;
const HIST_EPS = 1e-4;
/** Histogram range relative to the series scale: first bucket 1e-3 x scale, last bucket start 1e4 x scale. */
const HIST_FIRST_REL = 1e-3;
const HIST_MAX_REL = 1e4;

/** The requested quantile levels of one forecast call, with what every series of the call shares about them. */
interface LevelPlan {
  levels: readonly number[];
  /** Index of each requested level among the configured ones (whose shifts are kept), -1 when not configured. */
  kept: Int32Array;
  /** The requested levels' indices in ascending order of level (for makeMonotone). */
  order: Int32Array;
  /** Index of 0.5 among the requested levels, -1 when absent. */
  median: number;
  /** The requested levels are the configured ones, in their order: the quantiles computed are those ACI scores. */
  configured: boolean;
}

/** Where a forecast call writes a series' point forecasts (K values) and quantiles (K x levels) after them: at `at`
 *  in `buf`, which the call's series share. */
interface ForecastBuffer {
  buf: Float64Array;
  at: number;
}

/** One model's quantile forecast (for explaining and for benchmarking every model, not only the choice). */
export interface ModelForecast {
  model: string;
  point: Float64Array;
  quantiles: Float64Array;
}

export interface ForesightEngine extends ForecastEngine {
  /** Per-model forecasts (each from its own error distribution, each conformal-calibrated), plus the choice. */
  forecastModels(keys: readonly string[], quantiles?: readonly number[]): Map<string, ModelForecast[]>;
  refit(keys: readonly string[], histories: readonly Float64Array[]): void;
  /** Names of the models tracked (base models, then 'ensemble'). */
  readonly modelNames: readonly string[];
  readonly core: Core;
  readonly recentPoints: number;
  shareHistory(history: (key: string) => SharedHistory | undefined): void;
}

/** Matured errors below which a horizon's interval is read from a shorter horizon's errors (#ensembleOffsets). */
const YOUNG_ERRORS = 6;

function hwStatusName(code: number): ForecastStatus {
  if (code === Status.FallbackNonSeasonal) return 'nonseasonal-fallback';
  if (code === Status.Constant) return 'constant';
  if (code === Status.TooFewPoints) return 'too-few-points';
  return 'ok';
}

/**
 * The status of a series from what it has consumed since its last fit or refit, by the rule of the Holt-Winters fit
 * kernel (assembly/forecast/holt-winters.ts hwFit): fewer than two finite values, then a constant, then a season the
 * engine wants but the fitted model dropped (it stays dropped until a refit), else ok. On a fit's history this is
 * the kernel's own status; update applies it so that a series fitted on a few points stops saying too-few-points
 * (or constant) once its points say otherwise.
 */
function consumedStatus(st: SeriesState, wantsSeason: boolean): ForecastStatus {
  if (st.finiteSeen < 2) return 'too-few-points';
  const hi = st.hiSeen, lo = st.loSeen;
  if (hi - lo <= 1e-12 * Math.max(Math.abs(hi), 1e-300)) return 'constant';
  if (wantsSeason && !(st.hw[HW.m1] > 0)) return 'nonseasonal-fallback';
  return 'ok';
}

function validate(o: EngineOptions): void {
  const problems: string[] = [];
  if (!(o.intervalS > 0)) problems.push(`intervalS must be > 0 (got ${o.intervalS})`);
  if (o.horizonsS.length === 0) problems.push('at least one horizon is needed');
  for (const h of o.horizonsS) {
    if (!(h > 0) || Math.abs(h / o.intervalS - Math.round(h / o.intervalS)) > 1e-9) {
      problems.push(`horizon ${h}s is not a positive multiple of the interval ${o.intervalS}s`);
    }
  }
  for (const q of o.quantiles) if (!(q > 0 && q < 1)) problems.push(`quantile ${q} is outside (0, 1)`);
  for (const s of o.seasonsS) if (!(s > 0)) problems.push(`season ${s}s must be > 0`);
  if (problems.length) throw new ArgumentInvalidError(`engine options: ${problems.join('; ')}`);
}

class Engine implements ForesightEngine {
  readonly options: Readonly<EngineOptions>;
  readonly core: Core;
  readonly modelNames: readonly string[];
  readonly #tuning: EngineTuning;
  readonly #hs: number[];
  /** Indices of #hs from the shortest horizon to the longest (options may list them in any order). */
  readonly #hsAscending: number[];
  readonly #levels: number[];
  readonly #models: readonly string[];
  readonly #m1: number;
  readonly #m2: number;
  readonly #states = new Map<string, SeriesState>();
  /** Working arrays of forecast calls (#scratch). */
  readonly #work: Float64Array[] = [];
  /** What an update call changed, to undo it when the call fails (buffers reused from call to call). */
  readonly #undo = new UndoLog();

  constructor(options: EngineOptions, core: Core, tuning: Partial<EngineTuning>) {
    validate(options);
    this.options = Object.freeze({ ...options, horizonsS: [...options.horizonsS], quantiles: [...options.quantiles], seasonsS: [...options.seasonsS] });
    this.core = core;
    this.#tuning = { ...DEFAULT_TUNING, ...tuning };
    this.#hs = options.horizonsS.map((h) => Math.round(h / options.intervalS));
    this.#hsAscending = this.#hs.map((_, k) => k).sort((a, b) => this.#hs[a] - this.#hs[b]);
    this.#levels = [...options.quantiles];
    const wanted: readonly string[] = options.models ?? (BASE_MODELS as readonly ModelName[]);
    // the step kernel indexes models by position: all are tracked, unwanted ones never get a forecast or weight
    this.#tuningGru = (options.models?.includes('gru') ?? false) || (tuning.gru ?? false);
    this.#models = this.#tuningGru ? [...BASE_MODELS, 'gru'] : BASE_MODELS;
    const family: Record<string, string> = { holt: 'holt-winters', 'recent-median': 'persistence', 'seasonal-median': 'seasonal-naive' };
    this.#excluded = new Set(BASE_MODELS.filter((m) => !wanted.includes(family[m] ?? m)));
    this.modelNames = [...this.#models, 'ensemble'];
    const seasons = [...options.seasonsS].map((s) => Math.round(s / options.intervalS)).filter((m) => m >= 2).sort((a, b) => a - b);
    this.#m1 = seasons[0] ?? 0;
    this.#m2 = seasons[1] ?? 0;
  }

  readonly #excluded: Set<string>;
  readonly #tuningGru: boolean;
  readonly #gru = new Map<string, GruState>();
  #gruContext = 0;

  /** The shape of new states, one object for all while the GRU's context is unchanged (~200 bytes a series each). */
  #shapeNow: StateShape | undefined;

  #shape(): StateShape {
    if (this.#shapeNow?.keep === this.#gruContext + 1) return this.#shapeNow;
    return (this.#shapeNow = {
      models: this.#models,
      hs: this.#hs,
      levels: this.#levels,
      errWindow: this.#tuning.errWindow,
      season: this.#m1,
      lossHalfLife: this.#tuning.lossHalfLifeS / this.options.intervalS,
      keep: this.#gruContext + 1,
      eta: this.#tuning.weightEta,
      disabled: this.#models.map((m) => this.#excluded.has(m)),
      quantileModels: this.#tuning.perModelQuantiles ? 'all' : 'ensemble',
    });
  }

  has(key: string): boolean {
    return this.#states.has(key);
  }

  #historyOf: ((key: string) => SharedHistory | undefined) | undefined;

  get recentPoints(): number {
    return recentPointsOf(this.#shape());
  }

  shareHistory(history: (key: string) => SharedHistory | undefined): void {
    this.#historyOf = history;
  }

  remove(key: string): void {
    this.#states.delete(key);
    this.#gru.delete(key);
  }

  fit(keys: readonly string[], histories: readonly Float64Array[]): void {
    if (keys.length !== histories.length) throw new ArgumentInvalidError(`fit: ${keys.length} keys but ${histories.length} histories`);
    if (keys.length === 0) return;
    const { states, status, origins } = fitHoltWinters(
      this.core,
      histories,
      { m1: this.#m1, m2: this.#m2, damped: this.#tuning.damped, maxEvals: this.#tuning.hwMaxEvals },
      this.#hs,
    );
    const holt = fitHoltWinters(this.core, histories, { m1: 0, m2: 0, damped: true, maxEvals: this.#tuning.hwMaxEvals }, this.#hs);
    const gruOut = this.#tuningGru ? this.#fitGru(keys, histories) : undefined;
    const fitted: SeriesState[] = [];
    const inputs: StepInputs[] = [];
    keys.forEach((key, i) => {
      const prev = this.#states.get(key);
      const y = histories[i];
      let sum = 0, cnt = 0;
      for (const v of y) if (Number.isFinite(v)) { sum += Math.abs(v); cnt++; }
      const hist = this.#histogramOf(cnt > 0 && sum > 0 ? sum / cnt : 1);
      const st = new SeriesState(this.#shape(), this.#historyOf?.(key), { hw: states[i], holt: holt.states[i], histLen: hist.len });
      if (prev) {
        // keep the calibration and the live scores across refits (the scores are decayed sums: they stay recent)
        st.shift.set(prev.shift);
        st.liveHits.set(prev.liveHits);
        st.liveCount.set(prev.liveCount);
        st.liveAbs.set(prev.liveAbs);
        st.liveAct.set(prev.liveAct);
        st.liveQN.set(prev.liveQN);
      }
      st.status = hwStatusName(status[i]);
      st.noteConsumed(y, true);
      st.histFirst = hist.first;
      st.histNb = hist.nb;
      st.hist[0] = NaN;
      st.hist[2] = hist.nb - 1;
      fitted.push(st);
    });
    const hists = this.#trackHistograms(fitted, histories, mapPacked(keys, () => 0));
    keys.forEach((_, i) => {
      this.#exclude(origins[i], hists[i], holt.origins[i]);
      const extra = gruOut ? new Map([[GRU_INDEX, gruOut[i]]]) : undefined;
      inputs.push({ hw: origins[i], hist: hists[i], holt: holt.origins[i], extra });
    });
    // the backtest over each history, all series in as few core calls as memory allows (a fresh state's step never
    // touches the calibration copied from `prev`, so a key repeated in one call ends as it did one by one)
    advanceBatch(fitted, histories, inputs, this.core);
    keys.forEach((key, i) => this.#states.set(key, fitted[i]));
  }

  /**
   * Periodic retraining of known series: re-estimates the Holt-Winters and Holt parameters on `histories` (each
   * ending at the last point the series has consumed), warm-started from the current ones, and keeps everything the
   * engine learnt online (rolling-origin errors, weights, conformal shifts, histogram, live scores): no backtest
   * replay, and a local search instead of a cold one. Unknown keys are fitted; with the GRU on, every key is fitted
   * (the network is retrained on the histories).
   */
  refit(keys: readonly string[], histories: readonly Float64Array[]): void {
    if (keys.length !== histories.length) throw new ArgumentInvalidError(`refit: ${keys.length} keys but ${histories.length} histories`);
    // what a series consumed as missing over stored values (a quarantined tenant's points) is not learnt now either
    const learnt = histories.map((h, i) => this.#states.get(keys[i])?.withoutMasked(h) ?? h);
    const known: number[] = [];
    const fresh: number[] = [];
    keys.forEach((k, i) => (this.#states.has(k) && !this.#tuningGru ? known : fresh).push(i));
    if (fresh.length) this.fit(fresh.map((i) => keys[i]), fresh.map((i) => learnt[i]));
    if (known.length === 0) return;
    const sts = known.map((i) => this.#states.get(keys[i])!);
    const hist = known.map((i) => learnt[i]);
    const maxEvals = this.#tuning.refitMaxEvals;
    const hw = fitHoltWinters(this.core, hist, { m1: this.#m1, m2: this.#m2, damped: this.#tuning.damped, maxEvals, previous: sts.map((s) => s.hw), replay: false }, this.#hs);
    const holt = fitHoltWinters(this.core, hist, { m1: 0, m2: 0, damped: true, maxEvals, previous: sts.map((s) => s.holt), replay: false }, this.#hs);
    sts.forEach((st, j) => {
      st.setModels(hw.states[j], holt.states[j]);
      st.status = hwStatusName(hw.status[j]);
      st.noteConsumed(hist[j], true);
    });
  }

  /**
   * Trains one GRU on the histories of this fit call (a shared network learns more from little data) and returns
   * its median forecast at every origin of each history (NaN before the network has its context).
   */
  #fitGru(keys: readonly string[], histories: readonly Float64Array[]): Float64Array[] {
    const K = this.#hs.length;
    const maxH = Math.max(...this.#hs);
    const season = this.#m1 > maxH ? this.#m1 : 0;
    const g = createGru(
      { horizons: this.#hs, quantiles: [0.5], hidden: this.#tuning.gruHidden, window: 24, seasonSteps: season, seed: this.options.seed ?? 1 },
      this.core,
    );
    this.#gruContext = Math.max(this.#gruContext, g.contextLength);
    const usable = histories.filter((h) => h.length >= g.contextLength + maxH + 1);
    let trained = false;
    if (usable.length) {
      try {
        trainGru(g, usable, { epochs: this.#tuning.gruEpochs, windowsPerEpoch: this.#tuning.gruWindows }, this.core);
        trained = true;
      } catch {
        trained = false; // too few clean windows: the GRU stays out of this fit (NaN forecasts, zero weight)
      }
    }
    return histories.map((y, i) => {
      const out = new Float64Array(y.length * K).fill(NaN);
      if (trained) this.#gru.set(keys[i], g);
      else this.#gru.delete(keys[i]);
      if (!trained || y.length <= g.contextLength) return out;
      const r = predictGruRolling(g, y, g.contextLength - 1, 1, this.core);
      for (let row = 0; row < r.rows; row++) {
        const j = g.contextLength - 1 + row;
        for (let k = 0; k < K; k++) out[j * K + k] = r.quantiles[row * K + k];
      }
      return out;
    });
  }

  /** GRU median forecasts after each new point (the network is not retrained online; refits retrain it). */
  #updateGru(key: string, st: SeriesState, pts: Float64Array): Float64Array {
    const K = this.#hs.length;
    const out = new Float64Array(pts.length * K).fill(NaN);
    const g = this.#gru.get(key);
    if (!g || pts.length === 0) return out;
    const ctx = g.contextLength;
    const series = new Float64Array(ctx - 1 + pts.length);
    series.set(st.tail(ctx - 1), 0);
    series.set(pts, ctx - 1);
    const r = predictGruRolling(g, series, ctx - 1, 1, this.core);
    for (let row = 0; row < r.rows; row++) for (let k = 0; k < K; k++) out[row * K + k] = r.quantiles[row * K + k];
    return out;
  }

  #exclude(hw: Float64Array, hist: Float64Array, holt: Float64Array): void {
    if (this.#excluded.has('holt-winters')) hw.fill(NaN);
    if (this.#excluded.has('holt')) holt.fill(NaN);
    if (this.#excluded.has('histogram')) hist.fill(NaN);
  }

  /** The decaying histogram of a series of mean absolute value `scale`: its first bucket's bound, its bucket count
   *  and its state's length (header and buckets; the state starts zeroed, then the fit sets [0] = NaN and [2] =
   *  nb - 1). */
  #histogramOf(scale: number): { first: number; nb: number; len: number } {
    const first = Math.max(scale * HIST_FIRST_REL, 1e-12);
    return this.core.call((x) => {
      const e = fx(x);
      const nb = e.fc_hist_num_buckets(first * (HIST_MAX_REL / HIST_FIRST_REL), first, HIST_RATIO);
      return { first, nb, len: e.fc_hist_header() + nb };
    });
  }

  /**
   * Adds ys[i] (time = (n0s[i] + index) * interval) to the histogram of sts[i], for every i in one core call (the
   * states must differ), returning each histogram's median after each point.
   */
  #trackHistograms(sts: readonly SeriesState[], ys: readonly Float64Array[], n0s: readonly number[]): Float64Array[] {
    const count = sts.length;
    const hoff = new Float64Array(count + 1);
    const off = new Float64Array(count + 1);
    const meta = new Float64Array(2 * count);
    for (let i = 0; i < count; i++) {
      hoff[i + 1] = hoff[i] + sts[i].hist.length;
      off[i + 1] = off[i] + ys[i].length;
      meta[2 * i] = sts[i].histNb;
      meta[2 * i + 1] = sts[i].histFirst;
    }
    const total = off[count];
    const step = this.options.intervalS;
    return this.core.call((x) => {
      const hp = x.alloc(Math.max(8, hoff[count] * 8));
      const vp = x.alloc(Math.max(8, total * 8));
      const tp = x.alloc(Math.max(8, total * 8));
      const op = x.alloc(Math.max(8, total * 8));
      const hoffP = this.core.putF64(hoff);
      const offP = this.core.putF64(off);
      const metaP = this.core.putF64(meta);
      try {
        const H = new Float64Array(x.memory.buffer);
        for (let i = 0; i < count; i++) {
          H.set(sts[i].hist, hp / 8 + hoff[i]);
          H.set(ys[i], vp / 8 + off[i]);
          for (let j = 0, t = tp / 8 + off[i]; j < ys[i].length; j++) H[t + j] = (n0s[i] + j) * step;
        }
        fx(x).fc_hist_track_batch(hp, hoffP, metaP, count, HIST_RATIO, HIST_EPS, this.#tuning.histogramHalfLifeS, vp, tp, offP, 0.5, op);
        const V = new Float64Array(x.memory.buffer);
        return mapPacked(sts, (st, i) => {
          st.hist.set(V.subarray(hp / 8 + hoff[i], hp / 8 + hoff[i + 1]));
          // NaN where the histogram was still empty (the kernel's fc_hist_track): no forecast to score or weigh yet
          return V.slice(op / 8 + off[i], op / 8 + off[i + 1]);
        });
      } finally {
        for (const p of [hp, vp, tp, op, hoffP, offP, metaP]) x.free(p);
      }
    });
  }

  /**
   * Atomic per call: when any step fails (a core trap, a status error), every series is left as it was before the call
   * (series fitted by it are forgotten again) and the error is rethrown, so that a retry of the same points (the
   * loop's key-by-key retry, engine-loop.ts #each) does not feed any model twice. A key may appear more than once;
   * its points are consumed in order, as in one call per occurrence.
   */
  update(keys: readonly string[], newPoints: readonly Float64Array[]): void {
    if (keys.length !== newPoints.length) throw new ArgumentInvalidError(`update: ${keys.length} keys but ${newPoints.length} point arrays`);
    // an unknown key is fitted on the points of its first occurrence; its later occurrences update that fit
    const fitAt: number[] = [];
    const updateAt: number[] = [];
    const fitting = new Set<string>();
    keys.forEach((k, i) => {
      if (this.#states.has(k) || fitting.has(k)) updateAt.push(i);
      else {
        fitting.add(k);
        fitAt.push(i);
      }
    });
    const known = [...new Set(updateAt.filter((i) => !fitting.has(keys[i])).map((i) => this.#states.get(keys[i])!))];
    const grus = new Map([...fitting].map((k) => [k, this.#gru.get(k)]));
    const undo = this.#undo;
    undo.begin();
    for (const st of known) st.checkpoint(undo);
    try {
      if (fitAt.length) this.fit(mapPacked(fitAt, (i) => keys[i]), mapPacked(fitAt, (i) => newPoints[i]));
      if (updateAt.length) this.#advanceKnown(mapPacked(updateAt, (i) => keys[i]), mapPacked(updateAt, (i) => newPoints[i]));
    } catch (err) {
      undo.rollback();
      for (const [k, g] of grus) {
        this.#states.delete(k);
        if (g) this.#gru.set(k, g);
        else this.#gru.delete(k);
      }
      throw err;
    }
    undo.release();
    const updated = new Set<SeriesState>();
    for (const i of updateAt) {
      const st = this.#states.get(keys[i])!;
      st.noteConsumed(newPoints[i]);
      updated.add(st);
    }
    for (const st of updated) st.status = consumedStatus(st, this.#m1 > 0);
  }

  /** The online step of update for known series (a key may repeat: each repeat starts a new wave of the step). */
  #advanceKnown(knownKeys: readonly string[], knownPts: readonly Float64Array[]): void {
    const sts = mapPacked(knownKeys, (k) => this.#states.get(k)!);
    // a key repeated in one call: its first points do not end at its shared history's newest slot
    const seen = new Set<SeriesState>();
    for (const st of sts) {
      if (seen.has(st)) st.unshare();
      else seen.add(st);
    }
    // one wave for all series; a key repeated in this call starts a new wave, so that every model (Holt-Winters and
    // Holt included: their states are updated in place) sees its earlier points, as in one call per occurrence
    let wave: number[] = [];
    let inWave = new Set<SeriesState>();
    const flush = (): void => {
      const wSts = mapPacked(wave, (i) => sts[i]);
      const wPts = mapPacked(wave, (i) => knownPts[i]);
      const hwOut = updateHoltWinters(this.core, mapPacked(wSts, (s) => s.hw), wPts, this.#hs);
      const holtOut = updateHoltWinters(this.core, mapPacked(wSts, (s) => s.holt), wPts, this.#hs);
      const hists = this.#trackHistograms(wSts, wPts, mapPacked(wSts, (s) => s.n));
      const inputs = mapPacked(wave, (i, w): StepInputs => {
        const st = sts[i];
        const hist = hists[w];
        this.#exclude(hwOut[w], hist, holtOut[w]);
        const extra = this.#tuningGru ? new Map([[GRU_INDEX, this.#updateGru(knownKeys[i], st, knownPts[i])]]) : undefined;
        return { hw: hwOut[w], hist, holt: holtOut[w], extra };
      });
      advanceBatch(wSts, wPts, inputs, this.core);
      wave = [];
      inWave = new Set();
    };
    sts.forEach((st, i) => {
      if (inWave.has(st)) flush();
      wave.push(i);
      inWave.add(st);
    });
    flush();
  }

  /**
   * Quantile forecasts of the models `ms` (nM = ensemble) at every horizon: the model's latest forecast plus the
   * empirical quantiles of its own h-step errors read at the conformal working levels (one WASM call per series, none
   * for the ensemble alone).
   * Monotone in the level, never NaN, floored at 0 for series never seen negative.
   */
  #forecastModels(st: SeriesState, ms: readonly number[], plan: LevelPlan, record: boolean, into?: ForecastBuffer): { point: Float64Array; quantiles: Float64Array }[] {
    const K = st.K, L = this.#levels.length, nL = plan.levels.length;
    // the ensemble alone (every forecast) reads its sorted errors; other models select theirs in the core
    const ensembleOnly = ms.length === 1 && ms[0] === st.nM;
    const b = st.block, oShift = st.layout.oShift; // SeriesState.shift, read in place (no view per read)
    const segs: Float64Array[] = [];
    const work = this.#scratch(0, ms.length * K * nL);
    const centers = this.#scratch(1, ms.length * K);
    for (let mi = 0; mi < ms.length; mi++) {
      const m = ms[mi];
      if (!st.tracks(m)) {
        throw new ArgumentInvalidError(`per-model quantile forecasts need EngineTuning.perModelQuantiles (model ${this.modelNames[m]} is not tracked)`);
      }
      for (let k = 0; k < K; k++) {
        const so = oShift + ((m - st.q0) * K + k) * L; // this model's shifts at horizon k: b[so .. so + L)
        let c = st.lastForecast(m, k);
        if (!Number.isFinite(c)) c = st.lastForecast(st.nM, k);
        if (!Number.isFinite(c)) c = Number.isFinite(st.lastFinite) ? st.lastFinite : 0;
        centers[mi * K + k] = c;
        if (!ensembleOnly) segs.push(st.errors(m, k));
        for (let l = 0; l < nL; l++) {
          const p = plan.levels[l], i = plan.kept[l];
          const shift = i >= 0 ? b[so + i] : interpolateShift(p, this.#levels, b.subarray(so, so + L));
          work[(mi * K + k) * nL + l] = workingLevel(p, shift);
        }
      }
    }
    const offs = ensembleOnly ? this.#ensembleOffsets(st, work, nL) : this.#selectOffsets(segs, work, nL);
    // no quantile below 0 for a series that has shown no negative value since its last fit or refit (a glitch older
    // than the refit's window no longer lifts the floor for good)
    const floor = st.loSeen >= 0 ? 0 : -Infinity;
    const med = plan.median;
    const out: { point: Float64Array; quantiles: Float64Array }[] = [];
    for (let mi = 0; mi < ms.length; mi++) {
      const at = into ? into.at + mi * K * (nL + 1) : 0;
      const point = into ? into.buf.subarray(at, at + K) : new Float64Array(K);
      const quantiles = into ? into.buf.subarray(at + K, at + K * (nL + 1)) : new Float64Array(K * nL);
      for (let k = 0; k < K; k++) {
        const c = centers[mi * K + k];
        for (let l = 0; l < nL; l++) {
          let v = c + offs[(mi * K + k) * nL + l];
          if (!Number.isFinite(v)) v = c;
          quantiles[k * nL + l] = Math.max(floor, v);
        }
        makeMonotone(quantiles, plan.levels, k * nL, plan.order);
        point[k] = med >= 0 ? quantiles[k * nL + med] : Math.max(floor, c);
        if (record && st.n > 0) this.#record(st, ms[mi], k, quantiles, k * nL);
      }
      out.push({ point, quantiles });
    }
    return out;
  }

  /** What every series of one forecast call shares about the requested levels. */
  #plan(levels: readonly number[]): LevelPlan {
    for (const q of levels) if (!(q > 0 && q < 1)) throw new ArgumentInvalidError(`quantile ${q} is outside (0, 1)`);
    const L = this.#levels;
    return {
      levels,
      kept: Int32Array.from(levels, (p) => L.indexOf(p)),
      order: levelOrder(levels),
      median: levels.indexOf(0.5),
      configured: levels.length === L.length && levels.every((p, i) => p === L[i]),
    };
  }

  /** The plan of the configured levels (what ACI scores), built once. */
  #configuredPlan: LevelPlan | undefined;

  /**
   * Quantile forecasts of the models `ms` at the levels of `plan`; ACI records, for scoring when they mature, the
   * quantiles at every configured level as a forecast at the configured levels gives them, whatever `plan` asks for
   * (a forecast at other levels computes those too): a call for a subset such as [0.5, 0.8] would otherwise leave
   * the other levels scored against quantiles issued at an earlier origin, and their coverage and shifts run away.
   */
  #forecastAt(st: SeriesState, ms: readonly number[], plan: LevelPlan, into?: ForecastBuffer): { point: Float64Array; quantiles: Float64Array }[] {
    const out = this.#forecastModels(st, ms, plan, plan.configured, into);
    if (!plan.configured) this.#forecastModels(st, ms, (this.#configuredPlan ??= this.#plan(this.#levels)), true);
    return out;
  }

  /** Working arrays of a forecast call, reused across series (a forecast of 60,000 series would otherwise allocate
   *  three per series): slot 0 the working levels, 1 the centres, 2 the ensemble's offsets. Contents are garbage on
   *  return; a view of `len` values. */
  #scratch(slot: number, len: number): Float64Array {
    let a = this.#work[slot];
    if (!a || a.length < len) a = this.#work[slot] = new Float64Array(Math.max(len, 64));
    return a.subarray(0, len);
  }

  /** The ensemble's error quantiles at the working levels, read from its sorted errors (SeriesState.sorted). */
  #ensembleOffsets(st: SeriesState, work: Float64Array, nL: number): Float64Array {
    const out = this.#scratch(2, work.length);
    let from = -1; // the shorter horizon with the most matured errors so far (the longest of equals)
    for (const k of this.#hsAscending) {
      const n = st.sortedN[k];
      if (n >= YOUNG_ERRORS || from < 0 || st.sortedN[from] <= n) {
        st.ensembleErrorQuantiles(k, work, k * nL, nL, out, k * nL);
      } else {
        // Too few errors at this horizon have matured (a series fitted on fewer points than the horizon, in its first
        // horizon online), and their quantiles have no spread: a shorter horizon's, widened as a random walk's spread
        // grows (sqrt of the steps). Without it q0.9 covered 49-59% at 15 and 30 minutes in a new series' first half
        // hour (intervals of zero width).
        st.ensembleErrorQuantiles(from, work, k * nL, nL, out, k * nL);
        const widen = Math.sqrt(this.#hs[k] / this.#hs[from]);
        for (let l = 0; l < nL; l++) out[k * nL + l] *= widen;
      }
      if (from < 0 || n >= st.sortedN[from]) from = k;
    }
    return out;
  }

  /** Error quantiles of each segment at its working levels, selected in the core (one call). */
  #selectOffsets(segs: Float64Array[], work: Float64Array, nL: number): Float64Array {
    const off = new Float64Array(segs.length + 1);
    segs.forEach((e, i) => (off[i + 1] = off[i] + e.length));
    const flat = new Float64Array(Math.max(1, off[segs.length]));
    segs.forEach((e, i) => flat.set(e, off[i]));
    return this.core.call((x) => {
      const dp = this.core.putF64(flat);
      const op = this.core.putF64(off);
      const lp = this.core.putF64(work);
      const outp = x.alloc(work.length * 8 + 8);
      try {
        fx(x).fc_quantiles_seg(dp, op, segs.length, lp, nL, outp);
        return this.core.f64(outp, work.length).slice();
      } finally {
        for (const p of [dp, op, lp, outp]) x.free(p);
      }
    });
  }

  #record(st: SeriesState, m: number, k: number, q: Float64Array, at: number): void {
    // remember the issued quantiles at the configured levels (q[at + l], level l) so that ACI can score them when
    // they mature
    const slot = (st.n - 1) % st.P;
    const MQ = st.mq, qm = m - st.q0;
    const L = this.#levels.length;
    const b = st.block, lay = st.layout; // SeriesState.issuedOrigin and issuedQ, written in place
    if (b[lay.oIssuedOrigin + slot] !== st.n - 1) {
      b[lay.oIssuedOrigin + slot] = st.n - 1;
      st.issuedModels.fill(0, slot * MQ, (slot + 1) * MQ);
    }
    st.issuedModels[slot * MQ + qm] = 1;
    for (let l = 0; l < L; l++) b[lay.oIssuedQ + ((slot * MQ + qm) * st.K + k) * L + l] = q[at + l];
  }

  forecast(keys: readonly string[], quantiles?: readonly number[]): SeriesForecast[] {
    const plan = this.#plan(quantiles ?? this.#levels);
    // Every series' point and quantiles are views of one buffer per call: arrays of their own cost an ArrayBuffer and
    // a backing store each (about twice the heap, and kept by the loop until the next cycle).
    const per = this.#hs.length * (plan.levels.length + 1); // every state has the engine's horizons (SeriesState.K)
    const buf = new Float64Array(keys.length * per);
    return keys.map((key, i) => {
      const st = this.#states.get(key);
      if (!st) throw new ArgumentInvalidError(`forecast: unknown series ${JSON.stringify(key)} (fit it first)`);
      const [{ point, quantiles: q }] = this.#forecastAt(st, [st.nM], plan, { buf, at: i * per });
      const models = new Array<string>(st.K); // its own length (pushed from empty, 3 names took room for 17)
      const b = st.block, w = st.layout.oWeights; // SeriesState.weights, read in place
      for (let k = 0; k < st.K; k++) {
        let best = 0;
        for (let m = 1; m < st.nM; m++) if (b[w + k * st.nM + m] > b[w + k * st.nM + best]) best = m;
        models[k] = b[w + k * st.nM + best] >= 0.9 ? this.#models[best] : 'ensemble';
      }
      return { key, status: st.status as ForecastStatus, point, quantiles: q, models };
    });
  }

  forecastModels(keys: readonly string[], quantiles?: readonly number[]): Map<string, ModelForecast[]> {
    const plan = this.#plan(quantiles ?? this.#levels);
    const ms = this.modelNames.map((_, m) => m);
    const res = new Map<string, ModelForecast[]>();
    for (const key of keys) {
      const st = this.#states.get(key);
      if (!st) throw new ArgumentInvalidError(`forecastModels: unknown series ${JSON.stringify(key)}`);
      res.set(key, this.#forecastAt(st, ms, plan).map((f, m) => ({ model: this.modelNames[m], ...f })));
    }
    return res;
  }

  scores(key: string): ModelScore[] {
    const st = this.#states.get(key);
    if (!st) return [];
    const out: ModelScore[] = [];
    const loss = st.loss, weights = st.weights;
    for (let k = 0; k < st.K; k++) {
      for (let m = 0; m <= st.nM; m++) {
        const errs = st.errors(m, k);
        let mae = 0;
        for (const e of errs) mae += Math.abs(e);
        // an untracked model (perModelQuantiles off) keeps no window: its recency-weighted MAE, the weights' loss
        mae = errs.length ? mae / errs.length : st.tracks(m) ? NaN : loss[m * st.K + k];
        // in-window pinball of the quantiles read from the same errors (the score the weights approximate)
        let pin = 0;
        if (errs.length) {
          const sorted = Float64Array.from(errs).sort();
          for (const p of this.#levels) {
            const q = sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1)))];
            let s = 0;
            for (const e of errs) s += pinball(e, q, p);
            pin += s / errs.length;
          }
          pin /= this.#levels.length;
        } else pin = NaN;
        out.push({
          model: this.modelNames[m],
          horizonS: this.options.horizonsS[k],
          pinball: pin,
          mae,
          weight: m < st.nM ? weights[k * st.nM + m] : 1,
        });
      }
    }
    return out;
  }

  /**
   * Live accuracy, scored as they matured, of the forecasts made at every origin where the engine issued forecasts
   * (forecast()/forecastModels()): for every model, the MAE of its point forecast (its issued median when its
   * quantiles were issued) averaged over series (in the series' units), and the same relative to mean |actual| per
   * series (unit-free); for the models whose quantiles were issued, the fraction of outcomes at or below each quantile
   * (coverage; NaN for a model whose quantiles were never issued).
   * Recent, not since start-up: the core keeps these as exponentially decayed sums (assembly/forecast/ensemble.ts,
   * LIVE_HALF_LIFE: an outcome weighs half as much 288 scored outcomes later, a day at 5-minute steps), so every
   * figure is a weighted mean and `samples` the summed weight of the outcomes behind it (at most about 416 per series,
   * model and horizon), not a count since start-up.
   */
  accuracy(): AccuracyStat[] {
    const L = this.#levels.length;
    const K = this.#hs.length, M = this.modelNames.length;
    // one pass over the states (each read once, in the same order for every (model, horizon): the sums are those of a
    // pass per (model, horizon)), accumulating per (m, k) at m*K + k
    const maeSum = new Float64Array(M * K), series = new Float64Array(M * K), samples = new Float64Array(M * K);
    const relSum = new Float64Array(M * K), relSeries = new Float64Array(M * K);
    const hits = new Float64Array(M * K * L), scored = new Float64Array(M * K);
    for (const st of this.#states.values()) {
      // SeriesState.liveCount, liveAbs, liveAct, liveQN and liveHits, read in place
      const b = st.block, lay = st.layout;
      for (let m = 0; m < M; m++) {
        for (let k = 0; k < K; k++) {
          const mk = m * st.K + k;
          const c = b[lay.oLiveCount + mk];
          if (!c) continue;
          const a = m * K + k;
          maeSum[a] += b[lay.oLiveAbs + mk] / c;
          series[a]++;
          const act = b[lay.oLiveAct + mk];
          if (act > 0) {
            relSum[a] += b[lay.oLiveAbs + mk] / act;
            relSeries[a]++;
          }
          samples[a] += c;
          if (m < st.q0) continue;
          const qk = (m - st.q0) * st.K + k;
          scored[a] += b[lay.oLiveQN + qk];
          for (let l = 0; l < L; l++) hits[a * L + l] += b[lay.oLiveHits + qk * L + l];
        }
      }
    }
    const out: AccuracyStat[] = [];
    for (let k = 0; k < K; k++) {
      for (let m = 0; m < M; m++) {
        const a = m * K + k;
        if (!samples[a]) continue;
        out.push({
          model: this.modelNames[m],
          horizonS: this.options.horizonsS[k],
          mae: maeSum[a] / series[a],
          relMae: relSeries[a] ? relSum[a] / relSeries[a] : NaN,
          coverage: Array.from(hits.subarray(a * L, (a + 1) * L), (h) => (scored[a] ? h / scored[a] : NaN)),
          samples: samples[a],
        });
      }
    }
    return out;
  }

  /** Status of a series as a short name (for logs). */
  statusOf(key: string): string {
    return this.#states.get(key)?.status ?? statusName(Status.TooFewPoints);
  }

  /** The histogram model index (exported for tests). */
  static readonly HIST = M_HIST;
}

/**
 * Creates an engine. Defaults: 5/15/30-minute horizons, quantiles 0.5/0.9/0.95/0.99, daily and weekly seasons.
 * `core` defaults to the process-wide release instance.
 */
export function createForecastEngine(
  options: Partial<EngineOptions> & Pick<EngineOptions, 'intervalS'>,
  core: Core = sharedCore(),
  tuning: Partial<EngineTuning> = {},
): ForesightEngine {
  const full: EngineOptions = {
    horizonsS: DEFAULT_HORIZONS_S,
    quantiles: DEFAULT_QUANTILES,
    seasonsS: DEFAULT_SEASONS_S,
    ...options,
  };
  return new Engine(full, core, tuning);
}
