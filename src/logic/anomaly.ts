// Per-tenant anomaly policy: combines per-signal scores into one AnomalyState and decides alerting and quarantine.
//
// API (called by the loop once per tenant per cycle; pure, no I/O, no clock):
//
//   decideTenantAnomaly(signals: readonly SignalAnomaly[], policy: AnomalyPolicy, prev?: AnomalyMemory): AnomalyDecision
//
//   - `signals`: one entry per signal of the tenant (e.g. cpu, memory, and 'behaviour' for the multivariate score),
//     from src/core/anomaly.ts: from scoreSeries, {signal, score: r.score[i], likelihood: r.likelihood[i],
//     kind: r.kind[i]} for one new point; from scoreBehaviour the same with signal 'behaviour'. When a cycle brings
//     n new points (a warm-up feeds a day), the loop passes the strongest of them with its tail probability
//     multiplied by n (src/loop/anomaly-adapter.ts), so the thresholds below keep their meaning.
//   - `policy`: mode 'off' | 'alert-only' | 'quarantine', thresholds on the calibrated likelihood, hold time.
//     DEFAULT_ANOMALY_POLICY holds the defaults.
//   - `prev`: the `memory` returned for this tenant by the previous cycle (undefined on the first cycle).
//   Returns `state` (the snapshot's AnomalyState), `alert` (drives foresight_tenant_anomalous), `quarantined` (do not
//   scale this tenant up proactively: allocate from observed usage only), `excludeFromTraining` (drop this cycle's
//   points from model training), `signal` (the signal that decided) and `memory` (to pass back next cycle).
//
// Why these rules:
// - Likelihoods are calibrated per signal (a tail probability of the signal's own recent scores), so one threshold
//   means the same across tenants. With k signals the tenant-level tail probability is Bonferroni-corrected,
//   p = min(1, k * min_i p_i) with p_i = 1 - likelihood_i, so tenants with more signals are not flagged more often
//   by chance (Bonferroni; e.g. Dunn 1961, "Multiple comparisons among means", JASA 56(293)).
// - Hysteresis (enter above `enterLikelihood`, leave below `exitLikelihood`, then hold `holdCycles`) keeps a flapping
//   signal from toggling quarantine every cycle, as the VPA recommender's decaying histograms avoid step changes.
import type { AnomalyKind, AnomalyState } from '../model/snapshot.js';

/** The modes, in order of how much they do (the configuration's `anomalyMode` and the backtest's `--anomaly-mode`). */
export const ANOMALY_MODES = ['off', 'alert-only', 'quarantine'] as const;
export type AnomalyMode = (typeof ANOMALY_MODES)[number];

/** One signal's anomaly output for the current cycle. */
export interface SignalAnomaly {
  /** Signal name: a resource ('cpu', 'memory', ...) or 'behaviour' for the multivariate score. */
  signal: string;
  /** Anomaly score in [0, 1] (higher is more anomalous). */
  score: number;
  /** Calibrated likelihood in [0, 1]: 1 - the tail probability of the current score under the signal's history. */
  likelihood: number;
  /** What the detector saw ('none' when nothing stands out). */
  kind: AnomalyKind;
}

export interface AnomalyPolicy {
  mode: AnomalyMode;
  /**
   * Tenant likelihood at or above which the tenant becomes anomalous, in (0, 1). Default 0.9999, nominally 0.01% of
   * a stationary tenant's cycles. Measured by `npm run bench:calibration` (100 tenants: cpu, memory and behaviour,
   * one point per cycle for 3,000 cycles after 2,500 points): false episodes start on 0.011% of cycles with Gaussian
   * noise (one per ~33 days a tenant), 0.025% with Student t3 noise (~14 days) and 0.023% with lognormal noise
   * (~15 days); before the calibration fitted the tail's shape (assembly/anomaly/univariate.ts, step 9), 0.054% and
   * 0.047% (~6-7 days).
   */
  enterLikelihood: number;
  /** Tenant likelihood below which an anomalous tenant starts to recover, in (0, enterLikelihood]. Default 0.99. */
  exitLikelihood: number;
  /** Cycles a recovering tenant stays anomalous after the likelihood fell below `exitLikelihood`. Default 3. */
  holdCycles: number;
  /** A sample within what its series did a week earlier at that time is no evidence (src/logic/recurrence.ts: a
   *  weekly shape is not an anomaly; applied by the scorer, src/loop/anomaly-adapter.ts). Default true. */
  weekAgo: boolean;
}

export const DEFAULT_ANOMALY_POLICY: Readonly<AnomalyPolicy> = Object.freeze({
  mode: 'alert-only',
  enterLikelihood: 0.9999,
  exitLikelihood: 0.99,
  holdCycles: 3,
  weekAgo: true,
});

/** Points a series' detectors learn from before they speak for it (a day at 5 minutes): what the loop feeds a new
 *  detector from the store (EngineLoopOptions.anomalyWarmupPoints) and the least history a series' evidence needs
 *  (evidenceStart), the backtest's too. */
export const ANOMALY_WARMUP_POINTS = 288;

/**
 * Index of the first of a detector input's `n` values that is evidence for a verdict: the input is the newest `n`
 * points of a series that has `held` points since its first sample (these included), and a series' first `warmup`
 * points only train its detectors. A new tenant has no profile to deviate from yet: scored from its second hour on, its
 * behaviour detector flagged 13-25% of the cycles of its first hours (`bench:soak`'s synthetic tenants arriving without
 * history, before this rule). Never before `from` (a warm-up's own rule: only its newest point is evidence); `n` when
 * none is.
 */
export function evidenceStart(n: number, held: number, warmup: number, from = 0): number {
  return Math.min(n, Math.max(from, n - (held - warmup)));
}

/** What the policy remembers about a tenant between cycles. */
export interface AnomalyMemory {
  anomalous: boolean;
  /** Consecutive cycles below the exit threshold while anomalous. */
  calmCycles: number;
  /** Kind that opened the current episode (kept while it lasts). */
  kind: AnomalyKind;
  /** The same hysteresis on the evidence other than ramps, which alone quarantines (absent: not quarantined). */
  held?: { anomalous: boolean; calmCycles: number };
}

export interface AnomalyDecision {
  state: AnomalyState;
  /** Tenant-level calibrated likelihood in [0, 1] (Bonferroni-combined). */
  likelihood: number;
  alert: boolean;
  quarantined: boolean;
  excludeFromTraining: boolean;
  /** The signal with the strongest evidence ('' when there is none). */
  signal: string;
  memory: AnomalyMemory;
}

const KIND_RANK: Record<AnomalyKind, number> = { none: 0, spike: 1, 'level-shift': 2, 'behaviour-change': 3, ramp: 4 };

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : NaN;
}

/** Lists every problem of a policy (empty when valid). */
export function validateAnomalyPolicy(p: AnomalyPolicy): string[] {
  const problems: string[] = [];
  if (!(ANOMALY_MODES as readonly string[]).includes(p.mode)) problems.push(`mode must be off, alert-only or quarantine, got ${String(p.mode)}`);
  if (!(p.enterLikelihood > 0 && p.enterLikelihood < 1)) problems.push(`enterLikelihood must be in (0, 1), got ${p.enterLikelihood}`);
  if (!(p.exitLikelihood > 0 && p.exitLikelihood <= p.enterLikelihood)) {
    problems.push(`exitLikelihood must be in (0, enterLikelihood], got ${p.exitLikelihood}`);
  }
  if (!(Number.isInteger(p.holdCycles) && p.holdCycles >= 0)) problems.push(`holdCycles must be an integer >= 0, got ${p.holdCycles}`);
  if (typeof p.weekAgo !== 'boolean') problems.push(`weekAgo must be true or false, got ${String(p.weekAgo)}`);
  return problems;
}

/** Combines the tenant's signals and applies the policy (see the file header for the contract). */
export function decideTenantAnomaly(
  signals: readonly SignalAnomaly[],
  policy: AnomalyPolicy = DEFAULT_ANOMALY_POLICY,
  prev?: AnomalyMemory,
): AnomalyDecision {
  // Signals with non-finite numbers carry no evidence: they are skipped, never propagated as NaN.
  const usable = signals.filter((s) => Number.isFinite(clamp01(s.score)) && Number.isFinite(clamp01(s.likelihood)));
  const top = strongest(usable);
  let score = 0;
  for (const s of usable) score = Math.max(score, clamp01(s.score));
  const likelihood = combined(usable.length, top);
  const was = prev?.anomalous ?? false;
  const flag = hysteresis(likelihood, policy, prev);
  const anomalous = flag.anomalous;
  const kindNow: AnomalyKind = top && top.kind !== 'none' ? top.kind : 'none';
  const kind: AnomalyKind = anomalous ? (was && prev && prev.kind !== 'none' ? prev.kind : kindNow === 'none' ? 'spike' : kindNow) : 'none';
  // A ramp is reported, not quarantined: its demand is the tenant's own, climbing for hours, and holding its
  // scale-ups would only run it short sooner (a leak meets its limit either way). Quarantine runs the same hysteresis
  // on the evidence of the other kinds, Bonferroni-corrected for all the tenant's signals as the alert's is.
  const others = usable.filter((x) => x.kind !== 'ramp');
  const held = policy.mode === 'quarantine' ? hysteresis(combined(usable.length, strongest(others)), policy, prev?.held) : undefined;
  const quarantined = anomalous && held?.anomalous === true;
  return {
    state: { score, kind, anomalous },
    likelihood,
    alert: anomalous,
    quarantined,
    excludeFromTraining: quarantined,
    signal: top?.signal ?? '',
    memory: { anomalous, calmCycles: flag.calmCycles, kind, ...(held ? { held } : {}) },
  };
}

/** The strongest of the signals: highest likelihood, then the kind of highest rank. */
function strongest(signals: readonly SignalAnomaly[]): SignalAnomaly | undefined {
  let top: SignalAnomaly | undefined;
  for (const s of signals) {
    if (!top || s.likelihood > top.likelihood || (s.likelihood === top.likelihood && KIND_RANK[s.kind] > KIND_RANK[top.kind])) top = s;
  }
  return top;
}

/** The tenant's likelihood from the strongest of its `n` signals' evidence (Bonferroni): 0 without any. */
function combined(n: number, top: SignalAnomaly | undefined): number {
  return top && n > 0 ? 1 - Math.min(1, n * (1 - clamp01(top.likelihood))) : 0;
}

/** Enter at enterLikelihood, leave after holdCycles calm cycles below exitLikelihood (file header). */
function hysteresis(likelihood: number, policy: AnomalyPolicy, prev: { anomalous: boolean; calmCycles: number } | undefined): { anomalous: boolean; calmCycles: number } {
  if (policy.mode === 'off') return { anomalous: false, calmCycles: 0 };
  if (likelihood >= policy.enterLikelihood) return { anomalous: true, calmCycles: 0 };
  if (!prev?.anomalous) return { anomalous: false, calmCycles: 0 };
  const calmCycles = likelihood < policy.exitLikelihood ? prev.calmCycles + 1 : 0;
  return calmCycles <= policy.holdCycles ? { anomalous: true, calmCycles } : { anomalous: false, calmCycles: 0 };
}
