// Rolling-origin replay of a trace through the engine: warm up on the first part of each series, then at every
// N-th step update online with the new samples and forecast each horizon from the samples up to that origin only.
// Shared by `foresight evaluate` and `npm run bench:core`.
import type { ForesightEngine, ModelForecast } from '../core/engine.js';
import type { Series, SeriesSet } from '../model/series.js';
import { seriesKey } from '../model/series.js';

export interface ReplayOptions {
  horizonsS: readonly number[];
  /** Forecast at every N-th step after the warm-up. */
  every: number;
  /** Warm-up in steps per series; default: 7 days, or a third of the series if it is shorter than 7 days. */
  warmupSteps?: (s: Series) => number;
  /** Sliding training window for (re)fits, seconds (default 7 days). */
  windowS?: number;
  /** Refit the models on the sliding window this often, seconds (default 1 day; 0 = never). */
  refitS?: number;
  /** Forecast every model separately as well (slower; for the benchmark). */
  perModel?: boolean;
  /** Only replay origins for which this returns true (e.g. a subsample shared with a peer). */
  originFilter?: (s: Series, t: number) => boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface OriginForecast {
  series: Series;
  /** Index of the last sample used. */
  t: number;
  /** Point per horizon, quantiles horizon-major at the engine's levels, model chosen per horizon. */
  point: Float64Array;
  quantiles: Float64Array;
  models: string[];
  status: string;
  perModel?: ModelForecast[];
}

const DAY_S = 86_400;

export function defaultWarmup(s: Series): number {
  const week = Math.round((7 * DAY_S) / s.intervalS);
  return s.values.length > week ? week : Math.floor(s.values.length / 3);
}

/** Number of origins the replay will visit for a series. */
export function originsOf(s: Series, opts: ReplayOptions): number[] {
  const warm = (opts.warmupSteps ?? defaultWarmup)(s);
  const maxH = Math.max(...opts.horizonsS.map((h) => Math.round(h / s.intervalS)));
  const out: number[] = [];
  for (let t = Math.max(warm - 1, 1); t + maxH < s.values.length; t += opts.every) {
    if (!opts.originFilter || opts.originFilter(s, t)) out.push(t);
  }
  return out;
}

/** Replays every series of `set` through `engine` (fresh keys), calling `onForecast` at each origin. */
export function replay(set: SeriesSet, engine: ForesightEngine, opts: ReplayOptions, onForecast: (f: OriginForecast) => void): void {
  const plans = set.series.map((s) => ({ s, origins: originsOf(s, opts) }));
  const total = plans.reduce((a, p) => a + p.origins.length, 0);
  let done = 0;
  const windowSteps = Math.round((opts.windowS ?? 7 * DAY_S) / set.intervalS);
  const refitSteps = Math.round((opts.refitS ?? DAY_S) / set.intervalS);
  for (const { s, origins } of plans) {
    if (origins.length === 0) continue;
    const key = seriesKey(s.tenant, s.resource);
    const y = s.values;
    let fed = origins[0] + 1; // samples [0, fed) are in the engine
    engine.fit([key], [y.slice(Math.max(0, fed - windowSteps), fed)]);
    let lastFit = fed;
    for (const t of origins) {
      if (refitSteps > 0 && t + 1 - lastFit >= refitSteps) {
        engine.fit([key], [y.slice(Math.max(0, t + 1 - windowSteps), t + 1)]);
        lastFit = fed = t + 1;
      } else if (t + 1 > fed) {
        engine.update([key], [y.subarray(fed, t + 1)]);
        fed = t + 1;
      }
      const [f] = engine.forecast([key]);
      const perModel = opts.perModel ? engine.forecastModels([key]).get(key) : undefined;
      onForecast({ series: s, t, point: f.point, quantiles: f.quantiles, models: f.models, status: f.status, perModel });
      done++;
      if (opts.onProgress && done % 500 === 0) opts.onProgress(done, total);
    }
    engine.remove(key);
  }
  opts.onProgress?.(done, total);
}
