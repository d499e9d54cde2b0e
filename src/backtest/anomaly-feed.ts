// Replays the sidecar's anomaly verdicts in the backtest: the live scorer (src/loop/anomaly-adapter.ts: per-series
// detectors and the tenant policy) is fed each tenant's newly visible samples step by step, as the engine loop feeds
// each cycle's new samples before it trains and decides. A tenant without new samples keeps its last verdict, as in
// the loop. One verdict per step serves every Foresight variant of a run.
//
// What differs from the sidecar: the backtest replays one resource, so a verdict combines that signal alone; the
// sidecar also combines the tenant's other signals and their behaviour vector (src/loop/anomaly-adapter.ts).
import { sharedCore } from '../core/wasm.js';
import { ANOMALY_WARMUP_POINTS, evidenceStart, type AnomalyMode } from '../logic/anomaly.js';
import { weekAgoWithin } from '../logic/recurrence.js';
import { createAnomalyScorer } from '../loop/anomaly-adapter.js';
import type { AnomalyScorer, AnomalySeriesInput } from '../loop/types.js';
import { seriesKey } from '../model/series.js';
import { stepTime, type PolicyContext } from './policy.js';

export interface StepVerdicts {
  /** Per tenant: demand flagged anomalous (the actuator's gate holds increases until confirmed). */
  anomalous: boolean[];
  /** Per tenant: quarantined (mode "quarantine"): new samples are not learnt, no proactive scale-up, no retraining. */
  quarantined: boolean[];
}

/** Tenant-steps under each verdict (from the first step a tenant was scored). */
export interface AnomalyCounts {
  mode: AnomalyMode;
  scored: number;
  anomalous: number;
  quarantined: number;
}

export class AnomalyFeed {
  readonly mode: AnomalyMode;
  readonly #ctx: PolicyContext;
  readonly #scorer: AnomalyScorer;
  readonly #keys: string[];
  /** Samples fed per tenant (-1: no finite sample seen yet). */
  readonly #fed: Int32Array;
  /** Per tenant, the index of its first finite sample (where its series starts). */
  readonly #first: Int32Array;
  readonly #verdicts: StepVerdicts;
  readonly #scored: boolean[];
  #step = -1;
  readonly counts: AnomalyCounts;

  constructor(ctx: PolicyContext, mode: AnomalyMode, scorer: AnomalyScorer = createAnomalyScorer(sharedCore(), mode)) {
    this.mode = mode;
    this.#ctx = ctx;
    this.#scorer = scorer;
    this.#keys = ctx.tenants.map((t) => seriesKey(t, ctx.resource));
    this.#fed = new Int32Array(ctx.tenants.length).fill(-1);
    this.#first = new Int32Array(ctx.tenants.length);
    this.#verdicts = { anomalous: ctx.tenants.map(() => false), quarantined: ctx.tenants.map(() => false) };
    this.#scored = ctx.tenants.map(() => false);
    this.counts = { mode, scored: 0, anomalous: 0, quarantined: 0 };
  }

  /** The verdicts in force at step i, after scoring the samples `visible` adds (call with increasing i). */
  at(i: number, visible: readonly Float64Array[]): StepVerdicts {
    if (i !== this.#step) this.#score(i, visible);
    return { anomalous: this.#verdicts.anomalous.slice(), quarantined: this.#verdicts.quarantined.slice() };
  }

  #score(i: number, visible: readonly Float64Array[]): void {
    this.#step = i;
    const inputs: AnomalySeriesInput[] = [];
    const index = new Map<string, number>();
    for (let k = 0; k < visible.length; k++) {
      const v = visible[k];
      let from = this.#fed[k];
      const first = from < 0;
      // a series starts at its first finite sample, as the sidecar's history of it does
      if (first) for (let j = 0; j < v.length && from < 0; j++) if (v[j] === v[j]) from = j;
      if (first && from >= 0) this.#first[k] = from;
      if (from < 0 || v.length <= from) continue;
      this.#fed[k] = v.length;
      const tenant = this.#ctx.tenants[k];
      index.set(tenant, k);
      // as the loop's warm-up: the first samples train the detectors, only the newest is evidence; and a series with
      // fewer points than the warm-up (every series at the trace's start) trains them until it has them
      const n = v.length - from;
      const evidenceFrom = evidenceStart(n, v.length - this.#first[k], ANOMALY_WARMUP_POINTS, first ? n - 1 : 0);
      inputs.push({ key: this.#keys[k], tenant, resource: this.#ctx.resource, startS: stepTime(this.#ctx, from), values: v.slice(from), evidenceFrom, weekAgo: weekAgoWithin(v, from, n, this.#ctx.intervalS) });
    }
    if (inputs.length) {
      for (const [tenant, verdict] of this.#scorer.score(inputs, this.#ctx.intervalS)) {
        const k = index.get(tenant);
        if (k === undefined) continue;
        this.#verdicts.anomalous[k] = verdict.anomalous;
        this.#verdicts.quarantined[k] = verdict.excludeFromTraining;
        this.#scored[k] = true;
      }
    }
    for (let k = 0; k < visible.length; k++) {
      if (!this.#scored[k]) continue;
      this.counts.scored++;
      if (this.#verdicts.anomalous[k]) this.counts.anomalous++;
      if (this.#verdicts.quarantined[k]) this.counts.quarantined++;
    }
  }
}
