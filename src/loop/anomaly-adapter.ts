// Binds the anomaly core (src/core/anomaly.ts: streaming per-series detectors, their states in the core's memory, and
// the per-tenant behaviour score, state in host memory) and the tenant policy (src/logic/anomaly.ts) to the loop:
// each cycle feeds every series' new samples in batched WASM calls, then combines a tenant's signals (and its
// behaviour vector) into one verdict that also carries each signal's own score (foresight_anomaly_score{signal}).
import { BehaviourState, periodSamples, ResidentDetectors, scoreBehaviour } from '../core/anomaly.js';
import type { Core } from '../core/wasm.js';
import { groupBy } from '../model/group-by.js';
import { ANOMALY_WARMUP_POINTS, decideTenantAnomaly, DEFAULT_ANOMALY_POLICY, evidenceStart, type AnomalyMemory, type AnomalyMode, type AnomalyPolicy, type SignalAnomaly } from '../logic/anomaly.js';
import { recurrenceMargin, recurringSamples } from '../logic/recurrence.js';
import type { AnomalyKind, SignalAnomalyScore } from '../model/snapshot.js';
import type { AnomalyScorer, AnomalySeriesInput, AnomalyVerdict } from './types.js';

const BATCH_POINTS = 1_000_000;
const BATCH_SERIES = 1_000;

/**
 * A series' evidence over the samples of one call from index `from` on (the others only trained the detector): the
 * strongest sample (highest likelihood, then score), its tail probability Bonferroni-corrected for the number of
 * samples that count, p = min(1, n * min_i p_i) with p_i = 1 - L_i. Without it the highest of several likelihoods
 * reads as a rarer event than it is. One sample per call (the steady state) is unchanged. Samples that recur from last
 * week (`recurring`, src/logic/recurrence.ts) are neither evidence nor counted.
 */
function strongest(signal: string, score: Float64Array, likelihood: Float64Array, kind: AnomalyKind[], from = 0, recurring?: Uint8Array): SignalAnomaly {
  let best = -1;
  let n = 0;
  for (let i = Math.max(0, from); i < score.length; i++) {
    if (!Number.isFinite(likelihood[i]) || recurring?.[i]) continue;
    n++;
    if (best < 0 || likelihood[i] > likelihood[best] || (likelihood[i] === likelihood[best] && score[i] > score[best])) best = i;
  }
  if (best < 0) return { signal, score: 0, likelihood: 0, kind: 'none' };
  const p = Math.min(1, n * (1 - likelihood[best]));
  return { signal, score: score[best], likelihood: 1 - p, kind: kind[best] };
}

/** A score in [0, 1]; non-finite scores (no evidence) are 0. */
function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}

/** Calls in a row (about one per interval: an hour at 5 minutes) a tenant's behaviour vector waits for a signal that
 *  has no new samples before its detector starts over without it. */
const BEHAVIOUR_MISSES = 12;

export function createAnomalyScorer(core: Core, mode: AnomalyMode, policy: Partial<AnomalyPolicy> = {}): AnomalyScorer & { states(): { series: number; behaviours: number } } {
  const pol: AnomalyPolicy = { ...DEFAULT_ANOMALY_POLICY, ...policy, mode };
  /** The series' detectors, their states in the core's memory (made at the first call, for its core and period). */
  let detectors: ResidentDetectors | undefined;
  /** Series that have had a detector (until forget; a core restart that loses the states does not change it). */
  const seen = new Set<string>();
  /** Per tenant, how many of `seen` are its series': its verdict's memory and episode outlive a vanished signal while it
   *  has others. */
  const tenantDetectors = new Map<string, number>();
  /** Per tenant, its behaviour detector and the signals of its vector (sorted names, comma-joined); `misses`: calls in a
   *  row that lacked some of them; `fed`: the vectors it has been fed. */
  const behaviours = new Map<string, { signals: string; st: BehaviourState; misses: number; fed: number }>();
  const memory = new Map<string, AnomalyMemory>();
  /** Per flagged tenant, its episode: the signal whose evidence opened it and the time of that evidence. */
  const episodes = new Map<string, { signal: string; sinceS: number }>();
  /** Per tenant, the latest score of each signal: a signal without new samples this call keeps its last one. */
  const lastScores = new Map<string, Map<string, SignalAnomalyScore>>();

  return {
    usesWeekAgo: pol.weekAgo,
    score(series: readonly AnomalySeriesInput[], intervalS: number): Map<string, AnomalyVerdict> {
      const period = periodSamples(intervalS);
      const margin = recurrenceMargin(intervalS);
      // per series, its samples that recur from last week: no evidence for the tenant's verdict, on its own signal or
      // (when all of the tenant's signals recur at that step) on its behaviour vector
      const recurring = new Map<AnomalySeriesInput, Uint8Array>();
      for (const s of series) recurring.set(s, recurringSamples(s.values, pol.weekAgo ? s.weekAgo : undefined, margin, s.evidenceFrom));
      const perTenant = new Map<string, SignalAnomaly[]>();
      // Per-series detectors: one WASM call per group of equal-length inputs (usually one group per cycle).
      // Batches of at most BATCH_POINTS samples bound the WASM buffers (a warm-up feeds a week per series).
      const batches: AnomalySeriesInput[][] = [];
      for (const same of groupBy(series, (s) => s.values.length).values()) {
        // ...and at most BATCH_SERIES series (the values and outputs of a call are copied in and out of WASM memory).
        const per = Math.max(1, Math.min(BATCH_SERIES, Math.floor(BATCH_POINTS / same[0].values.length)));
        for (let i = 0; i < same.length; i += per) batches.push(same.slice(i, i + per));
      }
      // states of another spacing are no use: start over
      if (!detectors || detectors.period !== period) detectors = new ResidentDetectors(core, period);
      for (const group of batches) {
        for (const s of group) {
          if (seen.has(s.key)) continue;
          seen.add(s.key);
          tenantDetectors.set(s.tenant, (tenantDetectors.get(s.tenant) ?? 0) + 1);
        }
        const res = detectors.score(group.map((s) => s.key), group.map((s) => s.values));
        group.forEach((s, k) => {
          let l = perTenant.get(s.tenant);
          if (!l) perTenant.set(s.tenant, (l = []));
          // A detector still warming up has no evidence yet (its outputs are placeholders).
          l.push(res[k].status === 'too-few-points' ? { signal: s.resource, score: 0, likelihood: 0, kind: 'none' } : strongest(s.resource, res[k].score, res[k].likelihood, res[k].kind, s.evidenceFrom, recurring.get(s)));
        });
      }
      // Behaviour: the tenant's signals as one vector per time step (resources sorted by name), batched by dimension.
      const vectors: Array<{ tenant: string; d: number; st: BehaviourState; rows: Float64Array; from: number; recurring: Uint8Array }> = [];
      for (const [tenant, list] of groupBy(series, (s) => s.tenant)) {
        if (list.length < 2) continue;
        const sorted = [...list].sort((a, b) => a.resource.localeCompare(b.resource));
        const signals = sorted.map((s) => s.resource).join(',');
        let b = behaviours.get(tenant);
        if (b && b.signals !== signals) {
          // Some of the vector's signals have no new sample in this call (a pull of that signal failed; a series absent
          // at this step): the vector waits for them, as a detector of the smaller vector would start cold and stay
          // behind as garbage. A set that changes for good (a signal added, or missing for BEHAVIOUR_MISSES calls in
          // a row) starts a new detector.
          const had = b.signals.split(',');
          if (sorted.every((s) => had.includes(s.resource)) && ++b.misses < BEHAVIOUR_MISSES) continue;
          b = undefined;
        }
        if (!b) behaviours.set(tenant, (b = { signals, st: new BehaviourState(sorted.length), misses: 0, fed: 0 }));
        b.misses = 0;
        const steps = Math.min(...sorted.map((s) => s.values.length));
        const d = sorted.length;
        const rows = new Float64Array(steps * d);
        const rowRecurs = new Uint8Array(steps);
        for (let t = 0; t < steps; t++) {
          let all = 1;
          for (let j = 0; j < d; j++) {
            const v = sorted[j].values;
            rows[t * d + j] = v[v.length - steps + t];
            all &= recurring.get(sorted[j])![v.length - steps + t];
          }
          rowRecurs[t] = all;
        }
        // the rows that count as evidence: the newest ones any of the tenant's series counts, and none before the
        // detector has a day of vectors (one that started over for a new set of signals learns the tenant's profile
        // anew: its first hours' distances are no evidence, as a new series' are not); a warm-up of a day or more in
        // one call keeps its newest row
        const counted = Math.min(steps, Math.max(...sorted.map((s) => s.values.length - (s.evidenceFrom ?? 0))));
        const from = evidenceStart(steps, b.fed + steps, ANOMALY_WARMUP_POINTS - 1, steps - counted);
        b.fed += steps;
        vectors.push({ tenant, d, st: b.st, rows, from, recurring: rowRecurs });
      }
      for (const group of groupBy(vectors, (v) => `${v.d}:${v.rows.length}`).values()) {
        const res = scoreBehaviour(core, group.map((v) => v.st), group.map((v) => v.rows));
        group.forEach((v, k) => {
          if (res[k].status !== 'too-few-points') perTenant.get(v.tenant)?.push(strongest('behaviour', res[k].score, res[k].likelihood, res[k].kind, v.from, v.recurring));
        });
      }
      // the newest sample time of each tenant's inputs: when an episode that begins in this call begins
      const newestS = new Map<string, number>();
      for (const s of series) newestS.set(s.tenant, Math.max(newestS.get(s.tenant) ?? -Infinity, s.startS + (s.values.length - 1) * intervalS));
      const out = new Map<string, AnomalyVerdict>();
      for (const [tenant, signals] of perTenant) {
        const d = decideTenantAnomaly(signals, pol, memory.get(tenant));
        memory.set(tenant, d.memory);
        // the episode: the signal whose evidence opened it and when, kept until it ends
        let ep = episodes.get(tenant);
        if (!d.state.anomalous) episodes.delete(tenant);
        else if (!ep) episodes.set(tenant, (ep = { signal: d.signal, sinceS: newestS.get(tenant) ?? NaN }));
        let last = lastScores.get(tenant);
        if (!last) lastScores.set(tenant, (last = new Map()));
        for (const x of signals) last.set(x.signal, { signal: x.signal, score: clamp01(x.score), kind: x.kind });
        const perSignal = Object.freeze([...last.values()].sort((a, b) => (a.signal < b.signal ? -1 : a.signal > b.signal ? 1 : 0)));
        out.set(tenant, { ...d.state, signals: perSignal, excludeFromTraining: d.excludeFromTraining, ...(d.state.anomalous && ep ? { signal: ep.signal, sinceS: ep.sinceS } : {}) });
      }
      return out;
    },
    /** Detector states held: one per series, one behaviour detector per tenant of two signals or more. */
    states() {
      return { series: detectors?.size ?? 0, behaviours: behaviours.size };
    },
    known(key: string) {
      return detectors?.has(key) ?? false;
    },
    forget(key: string, tenant: string) {
      detectors?.forget(key);
      if (seen.delete(key)) {
        const n = (tenantDetectors.get(tenant) ?? 1) - 1;
        if (n > 0) tenantDetectors.set(tenant, n);
        else tenantDetectors.delete(tenant);
      }
      // the behaviour detector starts over without the signal; the verdict's hysteresis, hold and episode stay while
      // the tenant has other series (a quarantine would otherwise end with any one vanished signal)
      behaviours.delete(tenant);
      if (!tenantDetectors.has(tenant)) {
        memory.delete(tenant);
        episodes.delete(tenant);
      }
      // the vanished signal's score goes, and the behaviour score (its vector had that signal); the others stay
      const last = lastScores.get(tenant);
      if (last) {
        if (key.startsWith(`${tenant}\u0000`)) last.delete(key.slice(tenant.length + 1));
        last.delete('behaviour');
        if (last.size === 0) lastScores.delete(tenant);
      }
    },
  };
}
