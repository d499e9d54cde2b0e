// Feeds a ForecastEngine the samples each step makes visible and shares one forecast per step among every
// Foresight variant of a run (the sweep and the bench's two operating points cost one engine pass).
import type { ForecastEngine } from '../core/types.js';
import { seriesKey } from '../model/series.js';
import type { AnomalyFeed } from './anomaly-feed.js';
import type { PolicyContext } from './policy.js';

export interface FeedOptions {
  /** Quantile levels to request (ascending). */
  levels: readonly number[];
  /** Finite samples a tenant needs before its first fit. */
  minFitPoints: number;
  /** Retrain every fitted tenant this often, seconds (0: never; the engine still updates online). As the live loop
   *  does (src/loop/engine-loop.ts), a retrain first feeds the new samples, then calls the engine's warm `refit` (what
   *  it learnt online is kept); an engine without `refit` is fitted afresh. */
  refitEveryS: number;
  /** Longest history given to a fit or retrain, samples (the live loop's history window). */
  maxFitPoints: number;
}

export interface StepForecast {
  /** Per tenant: whether a forecast exists. */
  ok: boolean[];
  /** Per tenant: quantiles (one per level) at the first covered step, and the max over covered steps. */
  next: Float64Array[];
  window: Float64Array[];
  /** Per tenant: the sidecar's anomaly verdicts at this step (all false without an anomaly feed). */
  anomalous: boolean[];
  quarantined: boolean[];
}

/** What one allocation covers after the lead: the engine's horizons up to 30 minutes ahead. */
export const COVER_S = 1800;

/** Horizons (seconds after the last visible sample) covering steps i .. i + cover of a decision for step i; at least
 *  the first step, when a step is longer than the cover (an hourly trace against 30 minutes). */
export function coverHorizons(leadS: number, intervalS: number, coverS: number, maxHorizons = 8): number[] {
  const first = (Math.ceil(leadS / intervalS - 1e-9) + 1) * intervalS;
  const all: number[] = [];
  for (let h = first; h <= first + Math.max(0, coverS - intervalS) + 1e-9; h += intervalS) all.push(h);
  if (all.length <= maxHorizons) return all;
  const pick = new Set<number>();
  for (let j = 0; j < maxHorizons; j++) pick.add(all[Math.round((j * (all.length - 1)) / (maxHorizons - 1))]);
  return [...pick].sort((a, b) => a - b);
}

export class ForecastFeed {
  readonly engine: ForecastEngine;
  readonly options: FeedOptions;
  /** The anomaly verdicts replayed with the forecasts (absent: anomaly mode "off"). */
  readonly anomaly: AnomalyFeed | undefined;
  readonly #ctx: PolicyContext;
  readonly #keys: string[];
  readonly #fed: Int32Array;
  readonly #fitted: boolean[];
  readonly #firstFinite: Int32Array;
  /** Per tenant, the index ranges [from, to) fed as missing (quarantine) that a fit window may still reach. */
  #unlearnt: [number, number][][];
  #lastFitS = -Infinity;
  #memoStep = -1;
  #memo: StepForecast | undefined;
  /** Wall time spent in the engine, ms (reported). */
  engineMs = 0;
  fits = 0;

  constructor(engine: ForecastEngine, ctx: PolicyContext, options: FeedOptions, anomaly?: AnomalyFeed) {
    this.engine = engine;
    this.options = options;
    this.anomaly = anomaly;
    this.#ctx = ctx;
    this.#keys = ctx.tenants.map((t) => seriesKey(t, ctx.resource));
    this.#fed = new Int32Array(ctx.tenants.length);
    this.#fitted = ctx.tenants.map(() => false);
    this.#firstFinite = new Int32Array(ctx.tenants.length).fill(-1);
    this.#unlearnt = ctx.tenants.map(() => []);
  }

  /** Notes points [a, b) of tenant k as fed as missing, forgetting ranges that end before `keepFrom`. */
  #unlearn(k: number, a: number, b: number, keepFrom: number): void {
    const r = this.#unlearnt[k].filter(([, e]) => e > keepFrom);
    const last = r[r.length - 1];
    if (last && last[1] === a) last[1] = b;
    else r.push([a, b]);
    this.#unlearnt[k] = r;
  }

  /** The forecast for step i from `visible` (memoised: every variant calling for step i shares it). */
  at(i: number, visible: readonly Float64Array[]): StepForecast {
    if (i === this.#memoStep && this.#memo) return this.#memo;
    const t0 = performance.now();
    const o = this.options;
    const nowS = this.#ctx.startS + i * this.#ctx.intervalS;
    const refit = o.refitEveryS > 0 && nowS - this.#lastFitS >= o.refitEveryS;
    const fitKeys: string[] = [];
    const fitHist: Float64Array[] = [];
    const updKeys: string[] = [];
    const updPts: Float64Array[] = [];
    const refitKeys: string[] = [];
    const refitHist: Float64Array[] = [];
    const warm = this.engine.refit !== undefined;
    // as the loop: verdicts first (on the new samples), then training without what quarantine keeps out
    const verdicts = this.anomaly?.at(i, visible);
    const quarantined = verdicts?.quarantined ?? visible.map(() => false);
    for (let k = 0; k < visible.length; k++) {
      const v = visible[k];
      if (this.#firstFinite[k] < 0) {
        for (let j = this.#fed[k]; j < v.length; j++) if (v[j] === v[j]) {
          this.#firstFinite[k] = j;
          break;
        }
        if (this.#firstFinite[k] < 0) {
          this.#fed[k] = v.length;
          continue;
        }
      }
      const start = this.#firstFinite[k];
      const window = () => {
        const from = Math.max(start, v.length - o.maxFitPoints);
        const w = v.slice(from);
        // what quarantine fed as missing is not learnt by a refit either (as the live engine masks it)
        for (const [a, b] of this.#unlearnt[k]) for (let j = Math.max(a, from); j < b; j++) w[j - from] = NaN;
        return w;
      };
      if (!this.#fitted[k] || (refit && !warm && !quarantined[k])) {
        if (v.length - start >= o.minFitPoints) {
          fitKeys.push(this.#keys[k]);
          fitHist.push(window());
          this.#fitted[k] = true;
          this.#fed[k] = v.length;
        }
        continue;
      }
      if (v.length > this.#fed[k]) {
        updKeys.push(this.#keys[k]);
        // a quarantined tenant's samples are fed as missing: the models keep their timeline but do not learn them
        updPts.push(quarantined[k] ? new Float64Array(v.length - this.#fed[k]).fill(NaN) : v.slice(this.#fed[k]));
        if (quarantined[k]) this.#unlearn(k, this.#fed[k], v.length, v.length - o.maxFitPoints);
        this.#fed[k] = v.length;
      }
      if (refit && !quarantined[k]) {
        refitKeys.push(this.#keys[k]);
        refitHist.push(window());
      }
    }
    if (fitKeys.length) this.engine.fit(fitKeys, fitHist);
    if (updKeys.length) this.engine.update(updKeys, updPts);
    // after the update, so that each retrain window ends at the last sample the series has consumed
    if (refitKeys.length) this.engine.refit!(refitKeys, refitHist);
    this.fits += fitKeys.length + refitKeys.length;
    if (refit && fitKeys.length + refitKeys.length > 0) this.#lastFitS = nowS;
    const nL = o.levels.length;
    const res: StepForecast = {
      ok: this.#fitted.slice(),
      next: visible.map(() => new Float64Array(nL)),
      window: visible.map(() => new Float64Array(nL)),
      anomalous: verdicts?.anomalous ?? visible.map(() => false),
      quarantined,
    };
    const ask = this.#keys.filter((_, k) => this.#fitted[k]);
    if (ask.length) {
      const idx = new Map(this.#keys.map((key, k) => [key, k]));
      for (const f of this.engine.forecast(ask, o.levels)) {
        const k = idx.get(f.key);
        if (k === undefined) continue;
        if (f.status === 'too-few-points') {
          res.ok[k] = false;
          continue;
        }
        const nH = f.quantiles.length / nL;
        const next = res.next[k];
        const win = res.window[k];
        for (let l = 0; l < nL; l++) {
          next[l] = f.quantiles[l];
          let m = -Infinity;
          for (let h = 0; h < nH; h++) m = Math.max(m, f.quantiles[h * nL + l]);
          win[l] = m;
        }
        // Guard the contract (monotone in the level, finite, non-negative usage).
        for (let l = 0; l < nL; l++) {
          if (!Number.isFinite(next[l]) || !Number.isFinite(win[l])) res.ok[k] = false;
          if (l > 0) {
            next[l] = Math.max(next[l], next[l - 1]);
            win[l] = Math.max(win[l], win[l - 1]);
          }
        }
      }
    }
    this.engineMs += performance.now() - t0;
    this.#memoStep = i;
    this.#memo = res;
    return res;
  }
}
