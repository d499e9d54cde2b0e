// The allocation policy shared by the backtest, the live loop and the actuator: forecast quantiles -> one allocation.
//
// API (pure functions over a small, plain, serialisable per-(tenant, resource) state; no I/O, no clock):
//
//   const cfg = allocationConfig({ targetShortage: 0.02 });     // every knob has a default (see AllocationConfig)
//   let state = newAllocationState(cfg);                         // one per (tenant, resource)
//   // 1. For each newly observed sample (oldest first): the usage and the allocation that was IN FORCE then.
//   state = observe(state, { timeS, usage, allocation }, cfg);   // calibration (ACI) + reclamation tracking
//   // 2. Once per decision, from the forecast made on the samples observed so far:
//   const d = decide(state, {
//     nowS,                        // time of the decision (the allocation applies from nowS + lead)
//     levels,                      // forecast quantile levels, ascending (e.g. FORECAST_LEVELS)
//     next,                        // quantiles (same order) of usage at the first step the allocation covers
//     window,                      // per level, the max over the horizons the allocation covers (lead .. lead+30 min)
//     recentPeak,                  // max observed usage over cfg.bounds.safetyWindowS (recentPeak() in bounds.ts)
//   }, cfg);
//   state = d.state;               // d.allocation: the value to apply; d.recommendation: {target, lowerBound,
//                                  // upperBound, uncappedTarget} in the VPA's shape; d.reason: why it changed or not.
//
// The chain (VPA-recommender style post-processors, each in its own file):
//   quantile choice at the calibrated level (quantile-grid.ts, calibration.ts: per-tenant adaptive conformal
//   inference keeps the realised shortage rate at cfg.targetShortage) -> increase at once when the level's quantile
//   for the next step exceeds the allocation, to the window quantile (so one change covers the next 30 minutes) ->
//   shrink only when reclaim.ts allows (usage below 75% of the allocation for cfg.reclaim.afterS, hysteresis), to
//   the window quantile ->
//   rate-limit.ts (token bucket: maxChangesPerHour in the long run, bursts of `burst`; decreases leave a token for an
//   increase) -> bounds.ts (min, max, never below the recent peak).
// The pooled shadow reserve across tenants is sized by `shadowReserve()` in shadow-reserve.ts.
import type { Recommendation } from '../model/snapshot.js';
import { DEFAULT_BOUNDS, applyBounds, recommendationBounds, type BoundsConfig, type Band } from './bounds.js';
import { DEFAULT_CALIBRATION, calibrateLevel, initialLevel, type CalibrationConfig } from './calibration.js';
import { valueAtLevel } from './quantile-grid.js';
import { DEFAULT_RATE_LIMIT, mayChange, tokensAt, type RateLimitConfig } from './rate-limit.js';
import { DEFAULT_RECLAIM, mayReclaim, trackLowUsage, type ReclaimConfig } from './reclaim.js';

/** Quantile levels the policy asks the engine for: dense in the upper tail where allocations live. */
export const FORECAST_LEVELS: readonly number[] = Object.freeze([0.5, 0.7, 0.8, 0.9, 0.95, 0.975, 0.99, 0.995, 0.999]);

export interface AllocationConfig extends CalibrationConfig {
  /**
   * Where an increase lands between the next step's quantile (0) and the window's (1): 1 makes one change cover the
   * next 30 minutes; lower values trade more (rate-limited) changes for less overshoot. Default 0.5 (measured on
   * google2011-jobs97 cpu: 0 and 0.5 gave the same slack at equal shortage, 0.5 with 0.06 instead of 0.09 changes
   * per step; 1 gave about 10% more slack).
   */
  increaseTo: number;
  reclaim: ReclaimConfig;
  rateLimit: RateLimitConfig;
  bounds: BoundsConfig;
}

export type AllocationConfigInput = Partial<CalibrationConfig> & {
  increaseTo?: number;
  reclaim?: Partial<ReclaimConfig>;
  rateLimit?: Partial<RateLimitConfig>;
  bounds?: Partial<BoundsConfig>;
};

/** Fills every unset knob with its default (frozen result). */
export function allocationConfig(input: AllocationConfigInput = {}): Readonly<AllocationConfig> {
  const { reclaim, rateLimit, bounds, ...cal } = input;
  const cfg: AllocationConfig = {
    ...DEFAULT_CALIBRATION,
    increaseTo: 0.5,
    ...stripUndefined(cal),
    reclaim: { ...DEFAULT_RECLAIM, ...stripUndefined(reclaim ?? {}) },
    rateLimit: { ...DEFAULT_RATE_LIMIT, ...stripUndefined(rateLimit ?? {}) },
    bounds: { ...DEFAULT_BOUNDS, ...stripUndefined(bounds ?? {}) },
  };
  if (!(cfg.targetShortage > 0 && cfg.targetShortage < 1)) throw new RangeError(`targetShortage must be in (0, 1), got ${cfg.targetShortage}`);
  return Object.freeze(cfg);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export interface AllocationState {
  /** The allocation last decided (NaN before the first decision). */
  allocation: number;
  /** The calibrated quantile level for the next decision. */
  level: number;
  /** Start of the ongoing run of low-usage samples (NaN: none). */
  lowSinceS: number;
  /** Change budget: tokens in the bucket at tokensAtS (NaN: never used, full). */
  tokens: number;
  tokensAtS: number;
  /** Outcomes seen and how many ran short (for reporting the realised rate). */
  outcomes: number;
  shortages: number;
}

export function newAllocationState(cfg: AllocationConfig): AllocationState {
  return allocationState(NaN, initialLevel(cfg), NaN, cfg.rateLimit.burst, NaN, 0, 0);
}

/**
 * Every state is built here, one literal with every field in one order: a state spread into a literal (`{ ...state,
 * level }`) gets another hidden class (V8's clone of the spread object's layout, and another again from optimised
 * code), and decide() and observe(), called for every series every cycle, deoptimised ("wrong map") on each new one.
 */
function allocationState(allocation: number, level: number, lowSinceS: number, tokens: number, tokensAtS: number, outcomes: number, shortages: number): AllocationState {
  return { allocation, level, lowSinceS, tokens, tokensAtS, outcomes, shortages };
}

/**
 * Writes `from` into `into`, field by field. A caller that keeps one state per series for a long time (the loop's
 * adapter) keeps the same object and copies each decision's state into it: a new state per series and cycle lived
 * until the next cycle, through the young generation, and was collected with the old one.
 */
export function copyAllocationState(into: AllocationState, from: AllocationState): void {
  into.allocation = from.allocation;
  into.level = from.level;
  into.lowSinceS = from.lowSinceS;
  into.tokens = from.tokens;
  into.tokensAtS = from.tokensAtS;
  into.outcomes = from.outcomes;
  into.shortages = from.shortages;
}

export interface Observation {
  timeS: number;
  /** Observed usage (NaN: missing, ignored). */
  usage: number;
  /** The allocation that was in force at timeS (NaN: none yet, ignored). */
  allocation: number;
}

/**
 * Feeds one matured outcome: calibrates the level on shortage or not, and tracks low usage for reclamation. With
 * `calibrate` false (demand quarantined as anomalous, whose scale-ups holdScaleUp held back) the level is left as it
 * is: a shortage there says nothing of the level, and five of them had pegged it near maxLevel for most of a day.
 */
export function observe(state: AllocationState, o: Observation, cfg: AllocationConfig, calibrate = true): AllocationState {
  if (!Number.isFinite(o.usage) || !Number.isFinite(o.allocation)) return state;
  const short = o.usage > o.allocation;
  return allocationState(
    state.allocation,
    calibrate ? calibrateLevel(state.level, short, cfg) : state.level,
    trackLowUsage(state.lowSinceS, o.timeS, o.usage, o.allocation, cfg.reclaim),
    state.tokens,
    state.tokensAtS,
    state.outcomes + 1,
    state.shortages + (short ? 1 : 0),
  );
}

export interface DecisionInput {
  nowS: number;
  levels: readonly number[];
  next: ArrayLike<number>;
  window: ArrayLike<number>;
  recentPeak: number;
}

export type DecisionReason = 'initial' | 'increase' | 'reclaim' | 'hold' | 'rate-limited' | 'quarantined';

export interface Decision {
  state: AllocationState;
  allocation: number;
  recommendation: Recommendation;
  reason: DecisionReason;
}

/** One decision: see the chain at the top of this file. */
export function decide(state: AllocationState, input: DecisionInput, cfg: AllocationConfig): Decision {
  const need = valueAtLevel(input.levels, input.next, state.level);
  const win = Math.max(need, valueAtLevel(input.levels, input.window, state.level));
  const cover = need + cfg.increaseTo * (win - need);
  const proposed = applyBounds(cover, input.recentPeak, cfg.bounds);
  const cur = state.allocation;
  const rl = cfg.rateLimit;
  let allocation = cur;
  let reason: DecisionReason = 'hold';
  if (!Number.isFinite(cur)) {
    allocation = proposed;
    reason = 'initial';
  } else if (applyBounds(need, input.recentPeak, cfg.bounds) > cur) {
    if (mayChange(state.tokens, state.tokensAtS, input.nowS, true, rl)) {
      allocation = proposed;
      reason = 'increase';
    } else reason = 'rate-limited';
  } else {
    // A shrink goes no lower than the window's quantile: below it, a peak the forecast places within the next 30
    // minutes would take the allocation straight back up, two changes of the budget for nothing.
    const reclaimTo = Math.max(proposed, applyBounds(win, input.recentPeak, cfg.bounds));
    if (mayReclaim(cur, reclaimTo, state.lowSinceS, input.nowS, cfg.reclaim)) {
      if (mayChange(state.tokens, state.tokensAtS, input.nowS, false, rl)) {
        allocation = reclaimTo;
        reason = 'reclaim';
      } else reason = 'rate-limited';
    }
  }
  let lowSinceS = state.lowSinceS;
  let tokens = state.tokens;
  let tokensAtS = state.tokensAtS;
  if (allocation !== cur) {
    if (Number.isFinite(cur)) {
      tokens = tokensAt(state.tokens, state.tokensAtS, input.nowS, rl) - 1;
      tokensAtS = input.nowS;
    }
    // After a change, usage must prove itself low against the new allocation: after a shrink against a smaller one,
    // and after a raise before it is withdrawn (usage low against the old allocation had let a raise be reclaimed at
    // the next decision, two changes of the budget for nothing).
    lowSinceS = NaN;
  }
  // one literal with its four fields (a spread into it made a larger object, kept by the loop until the next cycle)
  const bounds = recommendationBounds(forecastBand(input, cfg), allocation);
  const recommendation: Recommendation = { target: allocation, lowerBound: bounds.lowerBound, upperBound: bounds.upperBound, uncappedTarget: cover };
  const next = allocationState(allocation, state.level, lowSinceS, tokens, tokensAtS, state.outcomes, state.shortages);
  return { state: next, allocation, recommendation, reason };
}

/**
 * Quarantine (a tenant whose demand is flagged anomalous, src/logic/anomaly.ts): no proactive scale-up. A decision
 * that would raise an existing allocation gives way to the previous state with the allocation held at the larger of
 * the previous allocation and the recent peak (observed demand); the bounds widen to bracket it. Every other decision
 * passes unchanged. Used by the live loop (src/loop/allocation-adapter.ts) and the backtest alike.
 */
export function holdScaleUp(prev: AllocationState, d: Decision, recentPeak: number, cfg: AllocationConfig): Decision {
  if (!Number.isFinite(prev.allocation) || !(d.allocation > prev.allocation)) return d;
  // the recent peak, as every decision's floor, under the configured ceiling
  const held = Math.max(prev.allocation, Math.min(Number.isFinite(recentPeak) ? recentPeak : 0, cfg.bounds.max));
  const rec = d.recommendation;
  return {
    state: allocationState(held, prev.level, held !== prev.allocation ? NaN : prev.lowSinceS, prev.tokens, prev.tokensAtS, prev.outcomes, prev.shortages),
    allocation: held,
    recommendation: { ...rec, target: held, ...recommendationBounds({ low: rec.lowerBound, high: rec.upperBound }, held) },
    reason: 'quarantined',
  };
}

/**
 * The forecast's band for the allocation: from the next step's median (below it the tenant runs short half the time)
 * to the window's quantile at the highest level the calibration may choose (never below the recent peak). Both pass
 * through the same bounds as the target; the upper end is never below the lower (quantile crossings).
 */
export function forecastBand(input: DecisionInput, cfg: AllocationConfig): Band {
  const low = applyBounds(valueAtLevel(input.levels, input.next, 0.5), NaN, cfg.bounds);
  const high = applyBounds(valueAtLevel(input.levels, input.window, cfg.maxLevel), input.recentPeak, cfg.bounds);
  return { low, high: Math.max(low, high) };
}
