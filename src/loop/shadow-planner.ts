// The loop's shadow capacity: each cycle, a pooled reserve per resource (logic/shadow-reserve.ts) over every tenant's
// next-step forecast and allocation, and, once the step a plan covered has passed, a check of the plan against the
// demand that came (foresight_shadow_exhausted_total), which calibrates the next plans' size (ReserveCalibration).
// The loop owns the history store, forecasts and recommendations; this owns the plans.
import type { SeriesForecast } from '../core/types.js';
import { ReserveAccumulator, ReserveCalibration } from '../logic/shadow-reserve.js';
import type { HistoryStore } from '../model/history-store.js';
import type { Recommendation, ShadowPlan } from '../model/snapshot.js';
import { forEachSliced, type TimeSlice } from './time-slice.js';
import type { Logger, LoopMetrics } from './types.js';

/** The one pool the loop plans a shadow reserve for. */
const SHADOW_POOL = 'default';

/** A shadow plan and, per tenant, the step it covers and the allocation it was planned against. */
interface PendingShadow {
  pool: string;
  resource: string;
  size: number;
  keys: string[];
  dueS: number[];
  alloc: number[];
  dueMaxS: number;
}

export interface ShadowPlannerOptions {
  intervalS: number;
  /** A plan is checked at the latest this long after the last step it covers (EngineLoopOptions.staleAfterS). */
  staleAfterS: number;
  /** Resources a reserve is planned for. */
  resources: readonly string[];
}

/** What a plan reads of the loop's cycle: the forecasts' levels and first horizon, and each series' latest. */
export interface ShadowInputs {
  levels: readonly number[];
  firstHorizonS: number;
  forecasts: ReadonlyMap<string, SeriesForecast>;
  recommendations: ReadonlyMap<string, Recommendation>;
}

export class ShadowPlanner {
  #plans: ShadowPlan[] = [];
  /** Plans waiting for the step they cover, checked against the usage seen then (foresight_shadow_exhausted_total). */
  #pending: PendingShadow[] = [];
  #exhausted = new Map<string, number>([[SHADOW_POOL, 0]]);
  /** Per resource: the scale its checked plans have calibrated (kept in memory: a restart starts again at 1). */
  #calibration = new Map<string, ReserveCalibration>();

  constructor(
    readonly options: ShadowPlannerOptions,
    private readonly logger: Logger,
    private readonly metrics: Pick<LoopMetrics, 'error'>,
  ) {}

  /** The latest plan per resource. */
  get plans(): readonly ShadowPlan[] {
    return this.#plans;
  }

  /** Exhaustions so far per pool. */
  get exhausted(): ReadonlyMap<string, number> {
    return this.#exhausted;
  }

  /**
   * Checks the plans whose covered step has passed: the realised demand on the reserve is the sum over the pool's
   * tenants of max(0, usage at the covered step - allocation when planned), what the reserve was sized for.
   * A plan is checked once every tenant has a slot at its covered step, or staleAfterS after the last one (missing
   * points count as no excess); it is an exhaustion when the demand exceeds the planned size.
   */
  check(endS: number, store: HistoryStore): void {
    const still: PendingShadow[] = [];
    for (const p of this.#pending) {
      if (endS < p.dueMaxS) {
        still.push(p);
        continue;
      }
      let ready = endS >= p.dueMaxS + this.options.staleAfterS;
      if (!ready) {
        ready = true;
        for (let i = 0; i < p.keys.length && ready; i++) {
          const s = store.get(p.keys[i]);
          if (s && s.lastS < p.dueS[i]) ready = false;
        }
      }
      if (!ready) {
        still.push(p);
        continue;
      }
      let demand = 0;
      for (let i = 0; i < p.keys.length; i++) {
        const w = store.since(p.keys[i], p.dueS[i] - this.options.intervalS);
        const v = w && w.startS === p.dueS[i] ? w.values[0] : NaN;
        if (v > p.alloc[i]) demand += v - p.alloc[i];
      }
      // the outcome also calibrates the next plans of the resource
      if (this.#calibrationOf(p.resource).observe(p.size, demand)) {
        this.#exhausted.set(p.pool, (this.#exhausted.get(p.pool) ?? 0) + 1);
        // info, not a warning: a forecast's quantile is exceeded by design now and then, and the counter (with
        // ForesightShadowCapacityExhausted on it) is what tells a lasting shortfall
        this.logger.info({ pool: p.pool, resource: p.resource, planned: p.size, demand }, 'shadow reserve exhausted: the increase that came was larger than the reserve planned for it (foresight_shadow_exhausted_total)');
      }
    }
    this.#pending = still;
  }

  #calibrationOf(resource: string): ReserveCalibration {
    let c = this.#calibration.get(resource);
    if (!c) this.#calibration.set(resource, (c = new ReserveCalibration()));
    return c;
  }

  /**
   * Pooled reserve (logic/shadow-reserve.ts) per resource over every tenant's next-step forecast and allocation, built
   * tenant by tenant in time slices (its Monte Carlo draws are the costliest part of the decide step).
   */
  async plan(slice: TimeSlice, store: HistoryStore, inputs: ShadowInputs): Promise<void> {
    const nq = inputs.levels.length;
    const pools = new Map<string, { reserve: ReserveAccumulator; keys: string[]; dueS: number[]; alloc: number[]; err?: unknown }>();
    await forEachSliced(slice, [...store.values()], (s) => {
      if (!this.options.resources.includes(s.resource)) return;
      const f = inputs.forecasts.get(s.key);
      const rec = inputs.recommendations.get(s.key);
      if (!f || !rec) return;
      let p = pools.get(s.resource);
      if (!p) pools.set(s.resource, (p = { reserve: new ReserveAccumulator(), keys: [], dueS: [], alloc: [] }));
      if (p.err !== undefined) return;
      try {
        p.reserve.add({ levels: inputs.levels, values: f.quantiles.subarray(0, nq), allocation: rec.target });
      } catch (err) {
        p.err = err;
        return;
      }
      // the first horizon of a forecast made at the series' newest slot
      p.keys.push(s.key);
      p.dueS.push(s.lastS + inputs.firstHorizonS);
      p.alloc.push(rec.target);
    });
    const plans: ShadowPlan[] = [];
    for (const [resource, p] of pools) {
      if (p.err !== undefined) {
        this.metrics.error('decide');
        this.logger.warn({ resource, err: p.err }, 'shadow reserve failed; previous plan kept');
        const prev = this.#plans.find((x) => x.resource === resource);
        if (prev) plans.push(prev);
        continue;
      }
      const scale = this.#calibrationOf(resource).scale;
      const size = p.reserve.size() * scale;
      plans.push({ pool: SHADOW_POOL, resource, size, scale });
      this.#pending.push({ pool: SHADOW_POOL, resource, size, keys: p.keys, dueS: p.dueS, alloc: p.alloc, dueMaxS: p.dueS.reduce((a, b) => Math.max(a, b), -Infinity) });
    }
    this.#plans = plans;
  }
}
