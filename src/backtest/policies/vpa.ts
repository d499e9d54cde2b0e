// `vpa`: the VPA recommender at its defaults, applied as the updater does (change when outside [lower, upper]).
//
// Every default below is VPA's, from k8s.io/autoscaler vertical-pod-autoscaler/pkg/recommender:
//   logic/recommender.go   target-cpu-percentile / target-memory-percentile 0.9; recommendation-lower-bound-*-percentile
//                          0.5; recommendation-upper-bound-*-percentile 0.95; recommendation-margin-fraction 0.15
//                          (applied to target, lower and upper); upper bound x (1 + 1/confidence)^1, lower bound
//                          x (1 + 0.001/confidence)^-2; pod-recommendation-min-cpu-millicores 25,
//                          pod-recommendation-min-memory-mb 250.
//   logic/estimator.go     confidence = min(lifespan in days, samples / (60 * 24)) (samples at 1 per minute).
//   model/aggregations_config.go  DefaultHistogramBucketSizeGrowth 0.05 (5% buckets), CPU and memory half-life 24 h,
//                          MemoryAggregationInterval 24 h (one memory sample per interval: its peak), CPU histogram
//                          [0.001 .. 1000] cores, memory [1e7 .. 1e12] bytes, minSampleWeight 0.1.
//   model/aggregate_container_state.go  CPU samples weighted by the current CPU request (at least minSampleWeight);
//                          memory peaks weight 1; a higher peak in the same interval replaces the earlier one
//                          (SubtractSample then AddSample).
// Adaptations to traces, stated: samples arrive every interval (not every minute), so `samples / 1440` counts each
//   sample as interval/60 one-minute samples, keeping confidence = days of history as VPA intends; multiples of cores
//   or bytes (millicores, MiB) get VPA's constants converted; other units (percent, requests) get a first bucket of
//   0.01 of their unit and no minimum (25 millicores of an
//   unknown VM size has no meaning in percent); the updater's extra rules (evict only after 12 h if within bounds
//   but > 10% off) are left out as the issue asks: the allocation changes exactly when it leaves [lower, upper]
//   (`vpa-updater`, vpa-updater.ts, adds them).
//   A trace starts with no request to keep, so each tenant's first allocation is the target of its first sample; when
//   its scoring starts (a day later) the target in force then is applied once, as the admission controller sets it
//   on a pod created at that time (otherwise a request set from one five-minute sample could last the whole run,
//   inside bounds that are wide at a day's confidence).
import { DecayingHistograms, VPA_CPU_HISTOGRAM, VPA_MEMORY_HISTOGRAM, type HistogramOptions } from '../../core/histogram.js';
import type { Policy, PolicyContext } from '../policy.js';
import { stepTime } from '../policy.js';

export interface VpaOptions {
  targetPercentile: number;
  lowerPercentile: number;
  upperPercentile: number;
  margin: number;
  halfLifeS: number;
  /** Memory-style aggregation (one peak per interval) instead of CPU-style (every sample, request-weighted). */
  memoryPeaks: boolean;
  memoryIntervalS: number;
  histogram: HistogramOptions;
  /** Minimum recommendation in the trace's unit. */
  min: number;
  /** CPU: least weight of a sample, the request it is weighted by floored here (VPA: 0.1 cores), in the trace's unit. */
  minWeight: number;
}

/** One container's recommendation, in the trace's unit. */
export interface VpaRecommendation {
  lower: number;
  target: number;
  upper: number;
}

/** Multiples of VPA's CPU unit (cores), by the unit's leading word, lower-cased. */
const CPU_UNITS: Readonly<Record<string, number>> = { core: 1, cores: 1, cpu: 1, cpus: 1, vcpu: 1, vcpus: 1, m: 1e-3, millicore: 1e-3, millicores: 1e-3, millicpu: 1e-3, millicpus: 1e-3, mcpu: 1e-3 };
/** Multiples of VPA's memory unit (bytes). A bare "m" or "k" is left out: milli- or mega-, kilo- or kibi-? */
const MEMORY_UNITS: Readonly<Record<string, number>> = {
  b: 1, byte: 1, bytes: 1,
  kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12,
  ki: 2 ** 10, kib: 2 ** 10, mi: 2 ** 20, mib: 2 ** 20, gi: 2 ** 30, gib: 2 ** 30, ti: 2 ** 40, tib: 2 ** 40,
};

/**
 * How many of VPA's units (cores for CPU, bytes for memory) one of the trace's `unit` is, by its leading word
 * ("MiB", "millicores", "bytes (working set)"); undefined when the unit is neither a multiple of them nor known.
 */
export function vpaUnitFactor(resource: string, unit?: string): number | undefined {
  const word = /^[a-z]+/.exec((unit ?? '').trim().toLowerCase())?.[0];
  if (word === undefined) return undefined;
  const table = /mem/i.test(resource) ? MEMORY_UNITS : CPU_UNITS;
  return Object.hasOwn(table, word) ? table[word] : undefined;
}

/**
 * VPA's defaults for a resource, in the unit the trace declares: its histogram, minimum and (CPU) minimum sample
 * weight are in cores and bytes, so a trace in millicores or MiB gets them converted, and a trace in another unit
 * (percent, requests) a generic histogram.
 */
export function vpaDefaults(resource: string, unit?: string): VpaOptions {
  const memory = /mem/i.test(resource);
  const f = vpaUnitFactor(resource, unit);
  const inUnit = (h: HistogramOptions): HistogramOptions => ({ ...h, maxValue: h.maxValue / f!, firstBucket: h.firstBucket / f! });
  let histogram: HistogramOptions;
  let min = 0;
  let minWeight = 0.1;
  if (f !== undefined && memory) {
    histogram = inUnit(VPA_MEMORY_HISTOGRAM);
    min = (250 * 1024 * 1024) / f;
  } else if (f !== undefined) {
    histogram = inUnit({ ...VPA_CPU_HISTOGRAM, firstBucket: 0.001 });
    min = 0.025 / f;
    minWeight = 0.1 / f;
  } else {
    histogram = { ...VPA_CPU_HISTOGRAM, maxValue: 1e9, firstBucket: 0.01 };
  }
  return { targetPercentile: 0.9, lowerPercentile: 0.5, upperPercentile: 0.95, margin: 0.15, halfLifeS: 86_400, memoryPeaks: memory, memoryIntervalS: 86_400, histogram, min, minWeight };
}

export class VpaPolicy implements Policy {
  readonly name: 'vpa' | 'vpa-updater' = 'vpa';
  readonly label: string;
  readonly knob: { name: string; value: number };
  readonly #o: VpaOptions;
  readonly #ctx: PolicyContext;
  readonly #h: DecayingHistograms;
  readonly #keys: string[];
  readonly #seen: Int32Array;
  readonly #alloc: Float64Array;
  readonly #firstS: Float64Array;
  readonly #lastS: Float64Array;
  readonly #count: Float64Array;
  /** Step of each tenant's first sample (-1 before it). */
  readonly #firstStep: Int32Array;
  /** Memory: peaks of the intervals so far, per tenant (value, interval end time). */
  readonly #peaks: Array<Array<{ value: number; endS: number }>>;

  constructor(ctx: PolicyContext, opts: Partial<VpaOptions> = {}, label?: string) {
    this.#o = { ...vpaDefaults(ctx.resource, ctx.unit), ...opts };
    this.#ctx = ctx;
    this.label = label ?? 'vpa';
    this.knob = { name: 'target_percentile', value: this.#o.targetPercentile };
    this.#h = new DecayingHistograms({ ...this.#o.histogram, halfLifeS: this.#o.halfLifeS });
    this.#keys = ctx.tenants.map((t, k) => `${k}:${t}`);
    const n = ctx.tenants.length;
    this.#seen = new Int32Array(n);
    this.#alloc = new Float64Array(n).fill(NaN);
    this.#firstS = new Float64Array(n).fill(NaN);
    this.#lastS = new Float64Array(n).fill(NaN);
    this.#count = new Float64Array(n);
    this.#firstStep = new Int32Array(n).fill(-1);
    this.#peaks = ctx.tenants.map(() => []);
  }

  step(i: number, visible: readonly Float64Array[], out: Float64Array): void {
    const ctx = this.#ctx;
    const cpuSamples: Array<{ key: string; value: number; timeS: number; weight: number }> = [];
    const rebuild: number[] = [];
    for (let k = 0; k < visible.length; k++) {
      const v = visible[k];
      for (let j = this.#seen[k]; j < v.length; j++) {
        const x = v[j];
        if (x !== x) continue;
        const t = stepTime(ctx, j);
        if (this.#firstS[k] !== this.#firstS[k]) {
          this.#firstS[k] = t;
          this.#firstStep[k] = j;
        }
        this.#lastS[k] = t;
        this.#count[k] += ctx.intervalS / 60;
        if (this.#o.memoryPeaks) {
          // Intervals are aligned to the tenant's first sample; the peak sample is stamped with the interval's end.
          const idx = Math.floor((t - this.#firstS[k]) / this.#o.memoryIntervalS);
          const endS = this.#firstS[k] + (idx + 1) * this.#o.memoryIntervalS;
          const peaks = this.#peaks[k];
          const last = peaks[peaks.length - 1];
          if (!last || last.endS !== endS) {
            peaks.push({ value: x, endS });
            rebuild.push(k);
          } else if (x > last.value) {
            last.value = x;
            rebuild.push(k);
          }
        } else {
          const weight = Math.max(Number.isFinite(this.#alloc[k]) ? this.#alloc[k] : 0, this.#o.minWeight);
          cpuSamples.push({ key: this.#keys[k], value: x, timeS: t, weight });
        }
      }
      this.#seen[k] = v.length;
    }
    if (cpuSamples.length) this.#h.addMany(cpuSamples);
    if (rebuild.length) {
      // SubtractSample(old peak) + AddSample(new peak) leaves exactly one sample per interval: rebuild from the peaks.
      const samples: Array<{ key: string; value: number; timeS: number; weight: number }> = [];
      for (const k of new Set(rebuild)) {
        this.#h.remove(this.#keys[k]);
        for (const p of this.#peaks[k]) samples.push({ key: this.#keys[k], value: p.value, timeS: p.endS, weight: 1 });
      }
      this.#h.addMany(samples);
    }
    const o = this.#o;
    const pcts = this.#h.percentiles(this.#keys, [o.lowerPercentile, o.targetPercentile, o.upperPercentile]);
    for (let k = 0; k < visible.length; k++) {
      if (this.#count[k] > 0) {
        const r = this.recommend(pcts[3 * k], pcts[3 * k + 1], pcts[3 * k + 2], this.#confidence(k));
        const cur = this.#alloc[k];
        const scoringStarts = ctx.warmupSteps !== undefined && this.#firstStep[k] >= 0 && i === this.#firstStep[k] + ctx.warmupSteps;
        if (this.updates(k, stepTime(ctx, i), cur, r, scoringStarts)) this.#alloc[k] = r.target;
      }
      out[k] = this.#alloc[k];
    }
  }

  /**
   * Whether tenant k's request `current` is replaced by the target at time nowS: when it is outside [lower, upper]
   * (NaN, before the first sample, is outside), or when its scoring starts. `vpa-updater` adds the updater's
   * in-bounds rule (vpa-updater.ts).
   */
  protected updates(_k: number, _nowS: number, current: number, r: VpaRecommendation, scoringStarts: boolean): boolean {
    return scoringStarts || !(current >= r.lower && current <= r.upper);
  }

  #confidence(k: number): number {
    const lifespanDays = (this.#lastS[k] - this.#firstS[k]) / 86_400;
    return Math.min(lifespanDays, this.#count[k] / (60 * 24));
  }

  /** The recommender's chain for one container from its three percentiles and confidence (estimator.go). */
  recommend(p50: number, p90: number, p95: number, confidence: number): VpaRecommendation {
    const o = this.#o;
    const m = 1 + o.margin;
    const target = Math.max(p90 * m, o.min);
    const upper = Math.max(p95 * m * Math.pow(1 + 1 / confidence, 1), o.min);
    const lower = Math.max(p50 * m * Math.pow(1 + 0.001 / confidence, -2), o.min);
    return { lower, target, upper };
  }
}
