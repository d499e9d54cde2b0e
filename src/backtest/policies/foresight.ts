// `foresight`: the engine's forecast quantiles through the shared allocation policy (src/logic/allocation.ts).
import { allocationConfig, decide, holdScaleUp, newAllocationState, observe, type AllocationConfig, type AllocationConfigInput, type AllocationState } from '../../logic/allocation.js';
import { RECURRING_LAGS_S, recentPeak, recurringPeak } from '../../logic/bounds.js';
import { ReserveCalibration, shadowReserve, type ReserveOptions } from '../../logic/shadow-reserve.js';
import { SafetyGate, type GateOptions } from '../../actuator/safety.js';
import { HELD_MIN_DECREASE, RecommendationHold } from '../../actuator/hold.js';
import { writesTarget } from '../../actuator/vpa-logic.js';
import { COVER_S, type ForecastFeed } from '../forecast-feed.js';
import type { Policy, PolicyContext } from '../policy.js';
import { lastFiniteIndex, stepTime } from '../policy.js';

export interface ForesightOptions {
  allocation: AllocationConfigInput;
  /** Size the pooled shadow reserve at every step (for the simulator); costs a Monte Carlo per step. */
  sizeReserve: boolean;
  reserve?: Partial<ReserveOptions>;
  /** The actuator's safety gate and write rule on each decision, as src/actuator/vpa-recommender.ts applies them
   *  (what the cluster gets); absent: the policy's recommendation is the allocation. The policy itself observes its
   *  own recommendations, as the live loop's does. */
  actuation?: GateOptions & { tolerance: number; stableWindowS?: number };
}

/**
 * Per tenant: every matured sample is observed (calibration and reclamation tracking) against the allocation that
 * was in force for it; then one decision per step from the feed's forecast. Before a tenant has a forecast (its
 * first day, not scored), the allocation is the recent peak plus 15%, so the calibrated chain starts from a sane value.
 */
export class ForesightPolicy implements Policy {
  readonly name = 'foresight' as const;
  readonly label: string;
  readonly knob: { name: string; value: number };
  readonly cfg: Readonly<AllocationConfig>;
  readonly #ctx: PolicyContext;
  readonly #feed: ForecastFeed;
  readonly #states: AllocationState[];
  readonly #own: Float64Array[];
  readonly #observed: Int32Array;
  readonly #peakSteps: number;
  /** Steps the allocation covers (the engine's 30 minutes) and the lags of the demand of this time of day, in steps. */
  readonly #coverSteps: number;
  readonly #recurLags: number[];
  readonly #opts: ForesightOptions;
  readonly #gate: SafetyGate | undefined;
  /** The trailing-window hold of a VPA whose update mode evicts pods (actuation.stableWindowS > 0), as the recommender
   *  applies it after the gate (src/actuator/hold.ts). */
  readonly #hold: RecommendationHold | undefined;
  /** The allocation in force per tenant (the gated value; NaN before the first). */
  readonly #applied: Float64Array;
  /** Reserve size per step (when sizeReserve), in the resource's unit: the Monte Carlo's size times the
   *  calibration's scale, as the live loop plans it (src/loop/shadow-planner.ts). */
  readonly reserve: Float64Array;
  readonly #calibration: ReserveCalibration;
  /** Reserve plans waiting for the usage of the step they cover: the step and the tenants sized into it. */
  #pending: Array<{ i: number; tenants: number[] }> = [];
  readonly reasons: Record<string, number> = {};
  /** Changes the actuator's gate held back, by reason (foresight_actuator_holds_total's in the sidecar). */
  readonly holds: Record<string, number> = {};

  constructor(ctx: PolicyContext, feed: ForecastFeed, opts: Partial<ForesightOptions> = {}, label?: string) {
    this.#opts = { allocation: {}, sizeReserve: false, ...opts };
    this.cfg = allocationConfig(this.#opts.allocation);
    this.label = label ?? 'foresight';
    this.knob = { name: 'target_shortage', value: this.cfg.targetShortage };
    this.#ctx = ctx;
    this.#feed = feed;
    this.#states = ctx.tenants.map(() => newAllocationState(this.cfg));
    this.#own = ctx.tenants.map(() => new Float64Array(ctx.nSteps).fill(NaN));
    this.#observed = new Int32Array(ctx.tenants.length);
    // at least the newest sample, as the loop's (src/loop/engine-loop.ts): on hourly traces 600 s rounds to no step
    this.#peakSteps = Math.max(1, Math.round(this.cfg.bounds.safetyWindowS / ctx.intervalS));
    this.#coverSteps = Math.max(1, Math.round(COVER_S / ctx.intervalS));
    const leadSteps = Math.ceil(ctx.leadS / ctx.intervalS);
    this.#recurLags = RECURRING_LAGS_S.map((s) => Math.round(s / ctx.intervalS)).filter((l) => l > leadSteps + this.#coverSteps);
    this.reserve = new Float64Array(this.#opts.sizeReserve ? ctx.nSteps : 0);
    this.#calibration = new ReserveCalibration(this.#opts.reserve?.level);
    // one reclamation rule and one change budget for the policy and the gate, as the sidecar wires them (src/main.ts)
    const r = this.cfg.reclaim;
    const act = this.#opts.actuation;
    this.#gate = act ? new SafetyGate({ ...act, reclaimBelowRatio: r.utilisation, reclaimAfterS: r.afterS, reclaimHysteresis: r.hysteresis, maxChangesPerHour: this.cfg.rateLimit.maxChangesPerHour }) : undefined;
    this.#applied = new Float64Array(ctx.tenants.length).fill(NaN);
    this.#hold = act?.stableWindowS ? new RecommendationHold(act.stableWindowS) : undefined;
  }

  /** What the actuator writes for tenant k given the policy's allocation (src/actuator/vpa-recommender.ts). */
  #actuate(k: number, desired: number, nowS: number, peak: number, recurring: number, usage: { value: number; atS: number }, anomalous: boolean): number {
    const gate = this.#gate;
    if (!gate || !Number.isFinite(desired)) return desired;
    const prev = this.#applied[k];
    const cur = Number.isFinite(prev) ? prev : undefined;
    const key = String(k);
    const shaped = gate.shape(key, desired, cur, { nowS, floor: Number.isFinite(peak) ? peak : 0, recurring, usage: usage.value, usageS: usage.atS, anomalous, stale: false });
    if (shaped.hold) this.holds[shaped.hold] = (this.holds[shaped.hold] ?? 0) + 1;
    const v = this.#hold ? this.#hold.apply(key, nowS, { target: shaped.value, lowerBound: shaped.value, upperBound: shaped.value, uncappedTarget: shaped.value }).target : shaped.value;
    // the VPA recommender's write rule: a change it would not write leaves the value in force
    const tol = this.#hold ? Math.max(this.#opts.actuation!.tolerance, HELD_MIN_DECREASE) : this.#opts.actuation!.tolerance;
    if (cur !== undefined && !writesTarget(cur, v, tol)) return cur;
    if (v !== cur) gate.committed(key, nowS);
    this.#applied[k] = v;
    return v;
  }

  /** The newest finite sample of `v` and its time (NaN, NaN when none), as a snapshot's usage and lastSampleS. */
  #latest(v: Float64Array): { value: number; atS: number } {
    const j = lastFiniteIndex(v);
    return j < 0 ? { value: NaN, atS: NaN } : { value: v[j], atS: stepTime(this.#ctx, j) };
  }

  step(i: number, visible: readonly Float64Array[], out: Float64Array): void {
    const f = this.#feed.at(i, visible);
    const nowS = stepTime(this.#ctx, i) - this.#ctx.leadS;
    const levels = this.#feed.options.levels;
    for (let k = 0; k < visible.length; k++) {
      const v = visible[k];
      let s = this.#states[k];
      for (let j = this.#observed[k]; j < v.length; j++) s = observe(s, { timeS: stepTime(this.#ctx, j), usage: v[j], allocation: this.#own[k][j] }, this.cfg, !f.quarantined[k]);
      this.#observed[k] = v.length;
      const peak = recentPeak(v, this.#peakSteps);
      const lastPeak = recentPeak(v, 12);
      if (f.ok[k]) {
        let d = decide(s, { nowS, levels, next: f.next[k], window: f.window[k], recentPeak: peak }, this.cfg);
        // quarantine, as the live loop's decider applies it (src/loop/allocation-adapter.ts)
        if (f.quarantined[k]) d = holdScaleUp(s, d, peak, this.cfg);
        s = d.state;
        this.reasons[d.reason] = (this.reasons[d.reason] ?? 0) + 1;
      } else if (lastPeak === lastPeak) {
        s = { ...s, allocation: lastPeak * 1.15 };
      }
      this.#states[k] = s;
      this.#own[k][i] = s.allocation;
      out[k] = f.ok[k] ? this.#actuate(k, s.allocation, nowS, peak, recurringPeak(v, i, this.#coverSteps, this.#recurLags), this.#latest(v), f.quarantined[k]) : s.allocation;
    }
    if (this.#opts.sizeReserve) {
      this.#checkPlans(visible);
      const tenants = [];
      const ks: number[] = [];
      // over the policy's recommendations, as the live loop sizes it (it does not see what the actuator applied)
      for (let k = 0; k < visible.length; k++) {
        if (!f.ok[k]) continue;
        tenants.push({ levels, values: f.next[k], allocation: this.#own[k][i] });
        ks.push(k);
      }
      this.reserve[i] = shadowReserve(tenants, this.#opts.reserve) * this.#calibration.scale;
      this.#pending.push({ i, tenants: ks });
    }
  }

  /** Checks the reserve plans whose step's usage is now visible, as the live loop's ShadowPlanner.check does: the
   *  demand is the sum of the planned tenants' usage over the allocation the plan was sized against. */
  #checkPlans(visible: readonly Float64Array[]): void {
    const end = visible.length ? visible[0].length : 0;
    while (this.#pending.length && this.#pending[0].i < end) {
      const p = this.#pending.shift()!;
      let demand = 0;
      for (const k of p.tenants) {
        const u = visible[k][p.i];
        const a = this.#own[k][p.i];
        if (u > a) demand += u - a;
      }
      this.#calibration.observe(this.reserve[p.i], demand);
    }
  }

  /** What the reserve's calibration multiplies the Monte Carlo size by, after the plans checked so far. */
  get reserveScale(): number {
    return this.#calibration.scale;
  }

  /** Realised shortage rate seen by the calibration, per tenant. */
  realised(): number[] {
    return this.#states.map((s) => (s.outcomes ? s.shortages / s.outcomes : NaN));
  }
}
