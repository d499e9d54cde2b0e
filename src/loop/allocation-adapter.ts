// Binds the shared allocation policy (src/logic/allocation.ts, also used by the backtest) to the loop: keeps one
// policy state per series, feeds it the samples observed since the last decision, and turns the engine's quantiles
// into the policy's `next` and `window` inputs.
import { allocationConfig, copyAllocationState, decide, holdScaleUp, newAllocationState, observe, type AllocationConfigInput, type AllocationState } from '../logic/allocation.js';
import type { Recommendation } from '../model/snapshot.js';
import { seriesKey } from '../model/series.js';
import type { DecideFn, DecideInput } from './types.js';

export interface AllocationDecider {
  decide: DecideFn;
  /** Frees the state of a series that vanished. */
  forget(key: string): void;
  readonly size: number;
}

export function createAllocationDecider(input: AllocationConfigInput = {}): AllocationDecider {
  const cfg = allocationConfig(input);
  /** One state object per series for as long as it lives: each decision's state is copied into it (keep). */
  const states = new Map<string, AllocationState>();
  const keep = (key: string, st: AllocationState): void => {
    const held = states.get(key);
    if (held === undefined) states.set(key, st);
    else if (held !== st) copyAllocationState(held, st);
  };
  // per-level maximum over the horizons: read by decide() within the call only, so one array serves every series
  let window = new Float64Array(0);
  const fn: DecideFn = (d: DecideInput): Recommendation | undefined => {
    const key = seriesKey(d.tenant, d.resource);
    let st = states.get(key) ?? newAllocationState(cfg);
    if (d.newPoints) {
      const { startS, intervalS, values } = d.newPoints;
      // points of a quarantined tenant do not calibrate the level (observe): its scale-ups are held back
      for (let i = 0; i < values.length; i++) st = observe(st, { timeS: startS + i * intervalS, usage: values[i], allocation: st.allocation }, cfg, !d.quarantined);
      keep(key, st);
    }
    const nq = d.quantiles.length;
    const nh = d.horizonsS.length;
    const q = d.forecast.quantiles;
    if (q.length < nq * nh || nh === 0) return undefined;
    // the horizons in ascending order (the configuration sorts them): the first is the next step
    const next = q.subarray(0, nq);
    // a forecast with a non-finite quantile decides nothing (the engine promises none; read as 0, it would shrink)
    for (let i = 0; i < nq * nh; i++) if (!Number.isFinite(q[i])) return undefined;
    if (window.length !== nq) window = new Float64Array(nq);
    window.fill(-Infinity);
    for (let h = 0; h < nh; h++) for (let k = 0; k < nq; k++) window[k] = Math.max(window[k], q[h * nq + k]);
    let out = decide(st, { nowS: d.nowS, levels: d.quantiles, next, window, recentPeak: d.recentPeak }, cfg);
    // Quarantine: an anomalous tenant gets no proactive scale-up; it keeps its allocation (never below its recent peak).
    if (d.quarantined) out = holdScaleUp(st, out, d.recentPeak, cfg);
    keep(key, out.state);
    return out.recommendation;
  };
  return {
    decide: fn,
    forget: (key) => states.delete(key),
    get size() {
      return states.size;
    },
  };
}
