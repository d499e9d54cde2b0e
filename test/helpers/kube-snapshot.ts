// Snapshots for actuator tests: hand-made states, and a trace replay with seasonal-naive forecasts (the value one
// season earlier plus empirical quantiles of the seasonal-naive errors over the last season).
import type { SeriesForecast } from '../../src/core/types.js';
import type { ResourceState, ShadowPlan, Snapshot } from '../../src/model/snapshot.js';
import { seriesKey } from '../../src/model/series.js';

export const LEVELS = [0.5, 0.9, 0.95, 0.99] as const;
export const HORIZONS_S = [300, 900, 1800] as const;

export interface StateInit {
  tenant: string;
  resource: string;
  usage: number;
  /** Quantile rows per horizon: [[q50, q90, q95, q99] at 5 min, at 15 min, at 30 min]. A single row is repeated. */
  quantiles: number[][];
  recentPeak?: number;
  historyPoints?: number;
  stale?: boolean;
  anomalous?: boolean;
  lastSampleS?: number;
}

export function state(s: StateInit): ResourceState {
  const rows = s.quantiles.length === 1 ? HORIZONS_S.map(() => s.quantiles[0]) : s.quantiles;
  const forecast: SeriesForecast = {
    key: seriesKey(s.tenant, s.resource),
    status: 'ok',
    point: Float64Array.from(rows.map((r) => r[0])),
    quantiles: Float64Array.from(rows.flat()),
    models: rows.map(() => 'test'),
  };
  return {
    tenant: s.tenant,
    resource: s.resource,
    usage: s.usage,
    lastSampleS: s.lastSampleS ?? 0,
    recentPeak: s.recentPeak ?? s.usage,
    historyPoints: s.historyPoints ?? 10_000,
    forecast,
    anomaly: s.anomalous ? { score: 0.99, kind: 'spike', anomalous: true } : undefined,
    stale: s.stale ?? false,
  };
}

export function snapshot(cycle: number, createdS: number, states: ResourceState[], shadow: readonly ShadowPlan[] = [], stale = false): Snapshot {
  return {
    cycle,
    createdS,
    stale,
    horizonsS: HORIZONS_S,
    quantiles: LEVELS,
    resources: new Map(states.map((st) => [seriesKey(st.tenant, st.resource), st])),
    shadow,
  };
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

/**
 * A ResourceState at sample `i` of a replayed series, as a simple seasonal forecaster would see it: usage =
 * values[i]; recent peak over the last `peakWindow` samples; the point forecast for t+h is the mean, over the
 * previous `days` seasons, of the values within +-`smooth` samples of t+h one season earlier; quantiles add the
 * empirical quantiles of that forecaster's errors over the previous season. Only samples up to `i` are used.
 */
export function replayState(
  tenant: string, resource: string, values: Float64Array, i: number, intervalS: number, seasonS: number,
  opts: { days?: number; smooth?: number; peakWindow?: number } = {},
): ResourceState {
  const period = Math.round(seasonS / intervalS);
  const days = opts.days ?? 2;
  const w = opts.smooth ?? 6;
  const mean = (a: number, b: number): number => {
    let sum = 0;
    let n = 0;
    for (let j = Math.max(0, a); j <= Math.min(b, i); j++) if (Number.isFinite(values[j])) { sum += values[j]; n++; }
    return n ? sum / n : NaN;
  };
  const predict = (t: number): number => {
    let sum = 0;
    let n = 0;
    for (let k = 1; k <= days; k++) {
      const m = mean(t - k * period - w, t - k * period + w);
      if (Number.isFinite(m)) { sum += m; n++; }
    }
    return n ? sum / n : values[i];
  };
  const errors: number[] = [];
  for (let j = Math.max(0, i - period); j <= i; j++) {
    const e = values[j] - predict(j);
    if (Number.isFinite(e)) errors.push(e);
  }
  errors.sort((a, b) => a - b);
  const rows = HORIZONS_S.map((h) => {
    const point = predict(i + Math.round(h / intervalS));
    return LEVELS.map((q) => Math.max(0, point + quantile(errors, q)));
  });
  let peak = 0;
  const pw = opts.peakWindow ?? 12;
  for (let j = Math.max(0, i - pw + 1); j <= i; j++) if (Number.isFinite(values[j])) peak = Math.max(peak, values[j]);
  return state({ tenant, resource, usage: values[i], quantiles: rows, recentPeak: peak, historyPoints: i + 1 });
}
