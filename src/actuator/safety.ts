// Bounds on every change the actuator makes: floor at the recent peak, step limit, cooldown, a change budget per
// target, no shrink on stale data, shrink only after usage stayed low (reclamation), no change on anomalous demand until
// confirmed. Pure, clock injected. The state is in memory; after a restart or a change of leader the recommender
// seeds each target's cooldown and budget from the API server's record of its last write (seed).
import { mayChange, tokensAt, type RateLimitConfig } from '../logic/rate-limit.js';
import { mayReclaim, trackLowUsage, type ReclaimConfig } from '../logic/reclaim.js';
import { rateLimitConfig, reclaimConfig, type ActuatorOptions } from './config.js';

/**
 * Whether the gate holds a tenant's targets as anomalous: while it is quarantined (anomalyMode quarantine). In
 * alert-only mode a flag only reports; a producer that does not say whether it quarantines counts every flag.
 */
export function heldAsAnomalous(a: { anomalous: boolean; quarantined?: boolean } | undefined): boolean {
  return a ? (a.quarantined ?? a.anomalous) === true : false;
}

export interface GateContext {
  /** Engine time, UNIX seconds (the snapshot's createdS). */
  nowS: number;
  floor: number;
  /** Observed demand at this time of day a day and a week before, over the window the value covers (the highest
   *  usage then; 0 or NaN when unknown). A raise up to it is demand the tenant has shown at this hour, so neither the
   *  step limit nor the cooldown holds it back: a daily batch job's burst is in force when it starts. */
  recurring?: number;
  usage: number;
  /** When `usage` was sampled, UNIX seconds (absent: nowS). The low-usage run is timed from its first sample, as the
   *  allocation policy times it (src/logic/reclaim.ts): timed from the cycles that saw them, a run needed one
   *  interval more than reclaimAfterS. */
  usageS?: number;
  /** The tenant's demand is held as anomalous (heldAsAnomalous: quarantined, not only reported). */
  anomalous: boolean;
  stale: boolean;
}

/** Why the gate kept the value in force instead of the desired one (foresight_actuator_holds_total{reason}). */
export type GateHold = 'anomaly' | 'stale' | 'no_usage' | 'reclaim' | 'budget' | 'cooldown';

export interface GateResult {
  value: number;
  /** What shaped the value ('' when the desired value passed unchanged). */
  reason: string;
  /** Set when the value in force was kept (a cooldown may still have raised it to the recent peak). */
  hold?: GateHold;
}

interface KeyState {
  lastChangeS?: number;
  /** Start of the ongoing run of low usage (NaN: none), as src/logic/reclaim.ts tracks it. */
  lowSinceS: number;
  anomalySinceS?: number;
  /** The change budget's tokens at `tokensAtS` (NaN before the first change: a full bucket). */
  tokens: number;
  tokensAtS: number;
  /** The last shape had no value in force: what is committed next is a first value, which costs no token (as the
   *  allocation policy's first decision costs none). */
  initial: boolean;
}

export type GateOptions = Pick<ActuatorOptions, 'maxStepRatio' | 'cooldownS' | 'maxChangesPerHour' | 'reclaimBelowRatio' | 'reclaimAfterS' | 'reclaimHysteresis' | 'anomalyConfirmS'>;

export class SafetyGate {
  private readonly state = new Map<string, KeyState>();
  private readonly reclaim: ReclaimConfig;
  private readonly budget: RateLimitConfig;

  constructor(private readonly opts: GateOptions) {
    // Reclamation is the allocation policy's own rule (src/logic/reclaim.ts), applied to the value in force; so is
    // the change budget (src/logic/rate-limit.ts), applied to what is written: the policy's bucket bounds its
    // recommendations, but the floor at the recent peak and a shrink continued past the maximum step are writes of the
    // gate's own, and on bursty series they took the writes over the bound (0.111 a step against 0.1 on Azure VM CPU
    // peaks in the backtest; 0.090 with this budget).
    this.reclaim = reclaimConfig(opts);
    this.budget = rateLimitConfig(opts);
  }

  #newState(): KeyState {
    return { lowSinceS: NaN, tokens: NaN, tokensAtS: NaN, initial: false };
  }

  /**
   * The value to apply for `key` given the desired value and the one in force (undefined when none yet).
   * Updates the low-usage and anomaly timers; call `committed` once the value is written (or planned in dry-run).
   */
  shape(key: string, desired: number, current: number | undefined, ctx: GateContext): GateResult {
    const o = this.opts;
    const st = this.state.get(key) ?? this.#newState();
    this.state.set(key, st);
    if (ctx.anomalous) st.anomalySinceS ??= ctx.nowS;
    else st.anomalySinceS = undefined;
    if (current !== undefined) st.lowSinceS = trackLowUsage(st.lowSinceS, Number.isFinite(ctx.usageS) ? ctx.usageS! : ctx.nowS, ctx.usage, current, this.reclaim);
    const floored = Math.max(desired, ctx.floor);
    const reasons: string[] = floored > desired ? ['recent peak'] : [];
    st.initial = current === undefined || !Number.isFinite(current);
    if (current === undefined || st.initial) return { value: floored, reason: reasons.join(', ') };
    let v = floored;
    // Flagged demand moves nothing of the forecast's until confirmed, in either direction: an anomalous dip is no more
    // a reason to shrink than a spike is to grow (anomalyConfirmS = 0: never act while flagged). The recent peak is
    // demand the tenant already has, not a forecast of it: a raise to it still passes (as under a cooldown), so that a
    // genuine surge that was flagged is not held below what it uses until it is confirmed.
    const budgetHeld = (): GateResult => ({ value: current, reason: `change budget: ${this.budget.maxChangesPerHour} changes an hour`, hold: 'budget' });
    const confirmed = o.anomalyConfirmS > 0 && st.anomalySinceS !== undefined && ctx.nowS - st.anomalySinceS >= o.anomalyConfirmS;
    if (v !== current && ctx.anomalous && !confirmed) {
      if (!(ctx.floor > current)) return { value: current, reason: 'anomalous demand not yet confirmed', hold: 'anomaly' };
      v = ctx.floor;
      reasons.push('anomalous demand not yet confirmed: raised to the recent peak only');
      if (!mayChange(st.tokens, st.tokensAtS, ctx.nowS, true, this.budget)) return budgetHeld();
      return { value: v, reason: reasons.join(', '), hold: 'anomaly' };
    }
    // what the forecast asks for up to the demand observed at this time of day: never capped or held below
    const recurs = ctx.recurring !== undefined && ctx.recurring > current ? Math.min(v, ctx.recurring) : 0;
    if (v > current) {
      // the step limit bounds what the forecast adds; the recent peak is observed demand and is never capped below
      const cap = Math.max(current * (1 + o.maxStepRatio), ctx.floor, recurs);
      if (v > cap && current > 0) {
        v = cap;
        reasons.push('max step');
      }
    } else if (v < current) {
      if (ctx.stale) return { value: current, reason: 'stale data: never shrink', hold: 'stale' };
      if (!Number.isFinite(ctx.usage)) return { value: current, reason: 'no usage data: never shrink', hold: 'no_usage' };
      if (!mayReclaim(current, v, st.lowSinceS, ctx.nowS, this.reclaim)) {
        return { value: current, reason: `reclamation: usage not below ${o.reclaimBelowRatio} of the allocation for ${o.reclaimAfterS}s (or within the hysteresis band)`, hold: 'reclaim' };
      }
      const cap = current * (1 - Math.min(o.maxStepRatio, 1));
      if (v < cap) {
        v = cap;
        reasons.push('max step');
      }
      v = Math.max(v, ctx.floor);
    }
    if (v !== current && !mayChange(st.tokens, st.tokensAtS, ctx.nowS, v > current, this.budget)) {
      // the budget binds every write, the floor's included: a burst of changes has spent it
      return budgetHeld();
    }
    if (v !== current && st.lastChangeS !== undefined && ctx.nowS - st.lastChangeS < o.cooldownS) {
      // The cooldown holds the forecast's moves, never the recent peak: observed demand above the value in force is
      // still met (the same exception the step limit makes).
      const held = Math.max(current, ctx.floor, recurs);
      const why = held <= current ? 'cooldown' : held > ctx.floor ? 'cooldown, raised to the demand of this time of day' : 'cooldown, raised to the recent peak';
      return { value: held, reason: why, hold: 'cooldown' };
    }
    return { value: v, reason: reasons.join(', ') };
  }

  /** Records that `key` changed at `nowS`: starts its cooldown and restarts the low-usage timer (usage proves itself
   *  low against the value now in force, as the allocation policy's decide does). */
  committed(key: string, nowS: number): void {
    const st = this.state.get(key) ?? this.#newState();
    st.lastChangeS = nowS;
    st.lowSinceS = NaN;
    // A write the gate did not pass (the VPA's minAllowed/maxAllowed, a quota's status.used) spends what is left but
    // leaves no debt: a bucket below zero would hold the next raise to the recent peak for hours.
    if (!st.initial) {
      st.tokens = Math.max(0, tokensAt(st.tokens, st.tokensAtS, nowS, this.budget) - 1);
      st.tokensAtS = nowS;
    }
    st.initial = false;
    this.state.set(key, st);
  }

  /**
   * Records a change of `key` at `atS` that this gate did not see: one written before a restart, or by the leader
   * before this replica took over. Its cooldown runs from then, and its budget is taken as spent then down to the
   * reserve for increases (refilled at the configured rate since): after that change the real bucket held between none
   * and burst - 1 tokens. The reserve keeps what the budget is for (running short costs more than slack): a raise to
   * observed demand is not held by a restart, while a shrink and the forecast's moves wait (the cooldown holds those),
   * so a crash loop or a run of failovers can only follow demand up. What the gate already knows wins where it is
   * stricter (a later change, fewer tokens). A time after `nowS` (the API server's clock ahead of ours) is taken as
   * `nowS`.
   */
  seed(key: string, atS: number, nowS: number): void {
    if (!Number.isFinite(atS)) return;
    const st = this.state.get(key) ?? this.#newState();
    const at = Math.min(atS, nowS);
    st.lastChangeS = Math.max(st.lastChangeS ?? -Infinity, at);
    const t = Number.isFinite(st.tokensAtS) ? Math.max(st.tokensAtS, at) : at;
    st.tokens = Math.min(tokensAt(st.tokens, st.tokensAtS, t, this.budget), tokensAt(this.budget.reservedForIncrease, at, t, this.budget));
    st.tokensAtS = t;
    this.state.set(key, st);
  }

  forget(prefix: string): void {
    for (const k of this.state.keys()) if (k.startsWith(prefix)) this.state.delete(k);
  }
}
