// Binds the tenant anomaly policy (src/logic/anomaly.ts) to the loop: scores each signal's newest sample against a
// per-signal baseline, combines the signals per tenant with the policy, and keeps the policy's memory between cycles.
//
// Per-signal score (interim until the core's detectors are wired here): robust z-score of the newest sample against
// the median and MAD of the last day (Iglewicz & Hoaglin 1993, modified z = 0.6745 (x - median) / MAD), turned into
// a two-sided Gaussian tail likelihood. The baseline is refreshed every `baselineEveryS` of engine time, so a cycle
// costs O(1) per series. A window too short or constant gives likelihood 0 (no evidence).
import { decideTenantAnomaly, DEFAULT_ANOMALY_POLICY, type AnomalyMemory, type AnomalyMode, type SignalAnomaly } from '../logic/anomaly.js';
import type { AnomalyFn } from './types.js';

/** Standard normal CDF (Abramowitz & Stegun 7.1.26 erf approximation, |error| < 1.5e-7). */
function phi(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

function medianSorted(s: Float64Array): number {
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export interface Baseline {
  median: number;
  mad: number;
  atS: number;
}

/** Median and MAD of the non-NaN values (NaN when fewer than 12). */
export function robustBaseline(values: Float64Array, atS: number): Baseline {
  const v = values.filter((x) => !Number.isNaN(x)).sort();
  if (v.length < 12) return { median: NaN, mad: NaN, atS };
  const median = medianSorted(v);
  const dev = v.map((x) => Math.abs(x - median)).sort();
  return { median, mad: medianSorted(dev), atS };
}

/** Score of `value` against a baseline. */
export function robustSignalScore(signal: string, value: number, b: Baseline): SignalAnomaly {
  if (!Number.isFinite(value) || !(b.mad > 0)) return { signal, score: 0, likelihood: 0, kind: 'none' };
  const z = (0.6745 * (value - b.median)) / b.mad;
  const likelihood = Math.max(0, Math.min(1, 1 - 2 * (1 - phi(Math.abs(z)))));
  return { signal, score: Math.min(1, Math.abs(z) / 10), likelihood, kind: Math.abs(z) > 3.5 ? 'spike' : 'none' };
}

export function createAnomalyScorer(mode: AnomalyMode, baselineEveryS = 3600): AnomalyFn {
  const memory = new Map<string, AnomalyMemory>();
  const baselines = new Map<string, Baseline>();
  const policy = { ...DEFAULT_ANOMALY_POLICY, mode };
  return ({ tenant, latest, window, intervalS, nowS }) => {
    const signals: SignalAnomaly[] = [];
    const dayPoints = Math.max(12, Math.round(86_400 / intervalS));
    for (const [resource, l] of latest) {
      const key = `${tenant}\u0000${resource}`;
      let b = baselines.get(key);
      if (!b || nowS - b.atS >= baselineEveryS) {
        const w = window(resource, dayPoints);
        // The newest sample is scored against the others, so it is left out of its own baseline.
        b = robustBaseline(w ? w.values.subarray(0, w.values.length - 1) : new Float64Array(0), nowS);
        baselines.set(key, b);
      }
      signals.push(robustSignalScore(resource, l.value, b));
    }
    const d = decideTenantAnomaly(signals, policy, memory.get(tenant));
    memory.set(tenant, d.memory);
    return d.state;
  };
}
