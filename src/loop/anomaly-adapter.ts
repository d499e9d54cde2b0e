// Binds the tenant anomaly policy (src/logic/anomaly.ts) to the loop: scores each signal's latest sample against its
// recent window, combines the signals per tenant with the policy, and keeps the policy's memory between cycles.
//
// Per-signal score (interim until the core's detectors are wired here): robust z-score of the newest sample against
// the window's median and MAD (Iglewicz & Hoaglin 1993, modified z = 0.6745 (x - median) / MAD), turned into a
// two-sided Gaussian tail likelihood. A window too short or constant gives likelihood 0 (no evidence).
import { decideTenantAnomaly, DEFAULT_ANOMALY_POLICY, type AnomalyMemory, type AnomalyMode, type SignalAnomaly } from '../logic/anomaly.js';
import type { AnomalyFn } from './types.js';

/** Standard normal CDF (Abramowitz & Stegun 7.1.26 erf approximation, |error| < 1.5e-7). */
function phi(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

function median(a: Float64Array): number {
  const s = a.slice().sort();
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Score of the newest non-NaN sample of `values` against the rest. */
export function robustSignalScore(signal: string, values: Float64Array): SignalAnomaly {
  let last = -1;
  for (let i = values.length - 1; i >= 0; i--) if (!Number.isNaN(values[i])) { last = i; break; }
  const hist = values.subarray(0, Math.max(0, last)).filter((v) => !Number.isNaN(v));
  if (last < 0 || hist.length < 12) return { signal, score: 0, likelihood: 0, kind: 'none' };
  const med = median(hist);
  const mad = median(hist.map((v) => Math.abs(v - med)));
  if (!(mad > 0)) return { signal, score: 0, likelihood: 0, kind: 'none' };
  const z = (0.6745 * (values[last] - med)) / mad;
  const likelihood = 1 - 2 * (1 - phi(Math.abs(z)));
  return { signal, score: Math.min(1, Math.abs(z) / 10), likelihood: Math.max(0, Math.min(1, likelihood)), kind: Math.abs(z) > 3.5 ? 'spike' : 'none' };
}

export function createAnomalyScorer(mode: AnomalyMode): AnomalyFn {
  const memory = new Map<string, AnomalyMemory>();
  const policy = { ...DEFAULT_ANOMALY_POLICY, mode };
  return ({ tenant, windows }) => {
    const signals: SignalAnomaly[] = [];
    for (const [resource, w] of windows) signals.push(robustSignalScore(resource, w.values));
    const d = decideTenantAnomaly(signals, policy, memory.get(tenant));
    memory.set(tenant, d.memory);
    return d.state;
  };
}
