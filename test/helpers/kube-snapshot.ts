// Snapshots for actuator tests: hand-made resource states with quantile forecasts per horizon.
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
  /** The demand of this time of day (absent: unknown). */
  recurringPeak?: number;
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
    ...(s.recurringPeak !== undefined ? { recurringPeak: s.recurringPeak } : {}),
    historyPoints: s.historyPoints ?? 10_000,
    forecast,
    anomaly: s.anomalous ? { score: 0.99, kind: 'spike', anomalous: true } : undefined,
    stale: s.stale ?? false,
  };
}

/** A snapshot of `states`. Every tenant with a cpu or memory state and no pods state runs one pod (a pods state with
 *  usage 1 is added), so that its VPA recommendation is the tenant's total; `onePod: false` adds none. */
export function snapshot(cycle: number, createdS: number, states: ResourceState[], shadow: readonly ShadowPlan[] = [], stale = false, onePod = true): Snapshot {
  const resources = new Map(states.map((st) => [seriesKey(st.tenant, st.resource), st]));
  if (onePod) {
    for (const st of states) {
      if ((st.resource === 'cpu' || st.resource === 'memory') && !resources.has(seriesKey(st.tenant, 'pods'))) {
        resources.set(seriesKey(st.tenant, 'pods'), state({ tenant: st.tenant, resource: 'pods', usage: 1, quantiles: [[1, 1, 1, 1]], lastSampleS: st.lastSampleS }));
      }
    }
  }
  return {
    cycle,
    createdS,
    stale,
    horizonsS: HORIZONS_S,
    quantiles: LEVELS,
    resources,
    shadow,
  };
}
