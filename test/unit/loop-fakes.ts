// Fakes for loop/metrics/server unit tests: a persistence-style forecast engine and a synthetic history source.
import type { AccuracyStat, EngineOptions, ForecastEngine, ModelScore, SeriesForecast } from '../../src/core/types.js';
import type { HistorySource, PullRange, PullResult, SignalSpec } from '../../src/sources/history-source.js';
import type { Series } from '../../src/model/series.js';

/** Forecast = last value x (1 + 0.1 q) per quantile; records calls. `failKeys` make fit/update/forecast throw. */
export class FakeEngine implements ForecastEngine {
  readonly options: EngineOptions;
  last = new Map<string, number>();
  fits = 0;
  fitKeys: string[] = [];
  updates = 0;
  failKeys = new Set<string>();

  constructor(opts: Partial<EngineOptions> = {}) {
    this.options = { intervalS: 60, horizonsS: [300, 900, 1800], quantiles: [0.5, 0.9, 0.99], seasonsS: [86_400], ...opts };
  }
  #check(keys: readonly string[]) {
    for (const k of keys) if (this.failKeys.has(k)) throw new Error(`boom ${k}`);
  }
  fit(keys: readonly string[], histories: readonly Float64Array[]): void {
    this.#check(keys);
    this.fits++;
    keys.forEach((k, i) => {
      this.fitKeys.push(k);
      const h = histories[i];
      let v = NaN;
      for (let j = h.length - 1; j >= 0; j--) if (!Number.isNaN(h[j])) { v = h[j]; break; }
      this.last.set(k, v);
    });
  }
  update(keys: readonly string[], pts: readonly Float64Array[]): void {
    this.#check(keys);
    this.updates++;
    keys.forEach((k, i) => {
      for (const v of pts[i]) if (!Number.isNaN(v)) this.last.set(k, v);
    });
  }
  forecast(keys: readonly string[]): SeriesForecast[] {
    this.#check(keys);
    const nh = this.options.horizonsS.length;
    const qs = this.options.quantiles;
    return keys.map((key) => {
      const v = this.last.get(key) ?? 0;
      const base = Number.isNaN(v) ? 0 : v;
      const quantiles = new Float64Array(nh * qs.length);
      for (let h = 0; h < nh; h++) qs.forEach((q, j) => (quantiles[h * qs.length + j] = base * (1 + 0.1 * q)));
      return { key, status: 'ok', point: new Float64Array(nh).fill(base), quantiles, models: new Array(nh).fill('persistence') };
    });
  }
  scores(): ModelScore[] {
    return [];
  }
  accuracy(): AccuracyStat[] {
    return this.options.horizonsS.map((h) => ({ model: 'persistence', horizonS: h, mae: 0.1, relMae: 0.1, coverage: this.options.quantiles.map(() => 0.9), samples: 10 }));
  }
  remove(key: string): void {
    this.last.delete(key);
  }
  has(key: string): boolean {
    return this.last.has(key);
  }
}

/** Tenants x resources with value f(tenant, resource, t); tenants can be added/removed and pulls made to fail. */
export class FakeSource implements HistorySource {
  readonly origin = 'fake';
  readonly signals: SignalSpec[];
  tenants: string[];
  fail = false;
  pulls: PullRange[] = [];
  f: (tenant: string, resource: string, t: number) => number;

  constructor(tenants: string[], resources: string[], f?: (tenant: string, resource: string, t: number) => number) {
    this.tenants = tenants;
    this.signals = resources.map((r) => ({ resource: r, unit: 'cores', query: r }));
    this.f = f ?? ((ten, _r, t) => 1 + (ten.length % 3) + Math.sin((2 * Math.PI * t) / 86_400));
  }
  async pull(range: PullRange): Promise<PullResult> {
    this.pulls.push(range);
    if (this.fail) throw Object.assign(new Error('connection refused'), { code: 'FORESIGHT_ERR_PROM_QUERY' });
    const n = Math.floor((range.endS - range.startS) / range.stepS) + 1;
    const series: Series[] = [];
    for (const tenant of this.tenants) {
      for (const s of this.signals) {
        const values = new Float64Array(n);
        for (let i = 0; i < n; i++) values[i] = this.f(tenant, s.resource, range.startS + i * range.stepS);
        series.push({ tenant, resource: s.resource, startS: range.startS, intervalS: range.stepS, values });
      }
    }
    return { set: { origin: 'fake', intervalS: range.stepS, series, units: {} }, breakdown: [], failures: [] };
  }
}

/** A manual clock. */
export function manualClock(startS: number) {
  const c = { t: startS, nowS: () => c.t, advance: (s: number) => void (c.t += s) };
  return c;
}
