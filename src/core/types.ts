// The forecasting engine's host-side contract: what the live loop, the backtest and `evaluate` call.
// The WASM kernels behind it are stateless (numbers in, numbers out); per-series state lives in host memory.

/** Horizons of the issue: 5, 15 and 30 minutes. */
export const DEFAULT_HORIZONS_S: readonly number[] = [300, 900, 1800];
/** Quantile levels every forecast carries at least. */
export const DEFAULT_QUANTILES: readonly number[] = [0.5, 0.9, 0.95, 0.99];
/** Daily and weekly seasons. */
export const DEFAULT_SEASONS_S: readonly number[] = [86_400, 604_800];

export type ModelName = 'holt-winters' | 'histogram' | 'gru' | 'persistence' | 'seasonal-naive';

export interface EngineOptions {
  /** Spacing of every series fed to this engine, seconds. */
  intervalS: number;
  /** Forecast horizons, seconds (multiples of intervalS). */
  horizonsS: readonly number[];
  /** Quantile levels in (0, 1), ascending. */
  quantiles: readonly number[];
  /** Candidate seasonal periods, seconds; those longer than half the history are dropped per series. */
  seasonsS: readonly number[];
  /** Candidate models (default: all). */
  models?: readonly ModelName[];
  /** Seed for anything random (GRU initialisation). Same seed, same input: same output. */
  seed?: number;
}

/**
 * Why a series got the forecast it got, from the points it has consumed since its last fit or refit (updates
 * included): fewer than two finite values, all equal, a season the fitted Holt-Winters model had to drop (until the
 * next refit), or ok.
 */
export type ForecastStatus = 'ok' | 'nonseasonal-fallback' | 'constant' | 'too-few-points';

export interface SeriesForecast {
  key: string;
  status: ForecastStatus;
  /** Point forecast per horizon (same order as EngineOptions.horizonsS). With `quantiles`, a view of a buffer the
   *  series of one forecast call may share: read it, copy it to change it. */
  point: Float64Array;
  /** Quantiles, horizon-major: quantiles[h * nQuantiles + q]. Never NaN; monotone in q. */
  quantiles: Float64Array;
  /** The model chosen for each horizon (or 'ensemble' when weighted). */
  models: string[];
}

/** One row of the rolling-origin backtest behind a model choice. */
export interface ModelScore {
  model: string;
  horizonS: number;
  /** Mean pinball loss over the quantile levels, in the series' unit. */
  pinball: number;
  /** Mean absolute error over the error window (recency-weighted when the engine keeps no window for the model). */
  mae: number;
  /** Weight of this model in the chosen forecast for that horizon (1 for a single choice). */
  weight: number;
}

/** Live accuracy of a model at a horizon, tracked as forecasts mature. */
export interface AccuracyStat {
  model: string;
  horizonS: number;
  /**
   * Mean absolute error of the model's point forecast (its issued median when its quantiles were issued), in the
   * series' unit (averaged over series).
   */
  mae: number;
  /**
   * Unit-free MAE of the point forecast: per series sum|error| / sum|actual| over the tracked outcomes (MAE relative to mean
   * usage), averaged over the series whose actuals are not all zero. NaN when no such series.
   */
  relMae: number;
  /** Empirical coverage per quantile level, same order as EngineOptions.quantiles; NaN when the model's quantiles
   *  were never issued (only its point forecast was scored). */
  coverage: number[];
  /** Weight of the outcomes behind these figures: recent outcomes count most (each one's weight halves every 288
   *  outcomes scored after it, assembly/forecast/ensemble.ts), summed over series; not a count since start-up. */
  samples: number;
}

/**
 * Recent values of one series kept by the caller on a fixed grid: the sidecar's history store, which holds each
 * series' week anyway. `pos` counts the slots ever appended (the newest value is buf[pos % buf.length]). An engine
 * that reads a series' recent values here (ForecastEngine.shareHistory) expects every call that feeds the series to
 * end with the value at `pos`; a call that does not is detected by its last value and the engine then keeps its own
 * copy for that series.
 */
export interface SharedHistory {
  readonly buf: Float32Array;
  readonly pos: number;
}

export interface ForecastEngine {
  readonly options: Readonly<EngineOptions>;
  /** (Re)fits every model on full histories and chooses models per series and horizon by rolling-origin backtest.
   *  The histories are lent for the call (the engine loop reuses their buffers): an engine copies what it keeps. */
  fit(keys: readonly string[], histories: readonly Float64Array[]): void;
  /**
   * Periodic retraining (optional; callers fall back to fit): re-estimates the parameters of known series on
   * histories that end at the last point each has consumed, keeping what the engine learnt online. Points a series
   * was fed as missing where the history holds values (a quarantined tenant's) are not learnt by the refit either.
   */
  refit?(keys: readonly string[], histories: readonly Float64Array[]): void;
  /**
   * Appends new samples (online update, O(new points)); matured forecasts update the conformal calibration. Unknown
   * keys are fitted on their points. A key may appear more than once: its points are consumed in order, as in one
   * call per occurrence. Atomic: a call that throws leaves every series as it was before it, so the same points can
   * be fed again.
   */
  update(keys: readonly string[], newPoints: readonly Float64Array[]): void;
  /**
   * Forecasts each horizon and quantile from the latest state; `quantiles` overrides the levels returned by this
   * call. The calibration always scores the configured levels: they are issued whatever levels are asked for.
   */
  forecast(keys: readonly string[], quantiles?: readonly number[]): SeriesForecast[];
  /** The scores behind the latest model choice of a series. */
  scores(key: string): ModelScore[];
  /** Live accuracy per model and horizon. */
  accuracy(): AccuracyStat[];
  remove(key: string): void;
  has(key: string): boolean;
  /** Recent values the engine keeps per series (optional): a history lent through shareHistory must hold this many. */
  readonly recentPoints?: number;
  /** Lends the engine each series' recent values (optional): series fitted from then on read them from `history(key)`
   *  instead of keeping their own copy. */
  shareHistory?(history: (key: string) => SharedHistory | undefined): void;
}
