// Host API of the VPA decaying histogram (assembly/forecast/histogram.ts): many histograms, state in host memory.
//
// Usage (one histogram per key; times in seconds; VPA's CPU options):
//   const h = new DecayingHistograms(VPA_CPU_HISTOGRAM);
//   h.add('tenant-a', 0.25, 1_700_000_000);           // or addMany([{ key, value, timeS, weight }])
//   h.percentile('tenant-a', 0.9);                     // end of the bucket holding the 90th percentile
//   h.percentiles(['tenant-a', 'tenant-b'], [0.5, 0.9, 0.95]);
// Semantics are the VPA recommender's (k8s.io/autoscaler vertical-pod-autoscaler/pkg/recommender/util/histogram.go,
// decaying_histogram.go, histogram_options.go): buckets grow by `ratio`, the first is [0, firstBucket); a sample's
// weight is multiplied by 2^((t - ref)/halfLife) with the reference time shifted (and weights rescaled) whenever the
// exponent would pass 100; buckets below `epsilon` weight count as empty; Percentile returns the END of the bucket
// where the cumulative weight reaches p * total (0 for an empty histogram).
import { fx } from './forecast-exports.js';
import { Status, statusName } from './status.js';
import { Core, sharedCore } from './wasm.js';
import { CoreBadParamError } from '../errors.js';

export interface HistogramOptions {
  /** Values at or above this land in the last bucket (VPA: 1000 cores, 1e12 bytes). */
  maxValue: number;
  /** Width of the first bucket [0, firstBucket) in the value's unit (VPA: 0.01 cores, 1e7 bytes). */
  firstBucket: number;
  /** Growth of each bucket over the previous one (VPA: 1.05, i.e. DefaultHistogramBucketSizeGrowth 0.05). */
  ratio: number;
  /** Minimum weight of a non-empty bucket (VPA: 0.001 * minSampleWeight 0.1 = 1e-4). */
  epsilon: number;
  /** Half-life of a sample's weight in seconds (VPA: 24 h); 0 disables decay. */
  halfLifeS: number;
}

/** VPA's CPU histogram (cores). Recent VPA releases use a first bucket of 0.001 cores; pass that to match them. */
export const VPA_CPU_HISTOGRAM: Readonly<HistogramOptions> = Object.freeze({
  maxValue: 1000,
  firstBucket: 0.01,
  ratio: 1.05,
  epsilon: 1e-4,
  halfLifeS: 86_400,
});

/** VPA's memory histogram (bytes). */
export const VPA_MEMORY_HISTOGRAM: Readonly<HistogramOptions> = Object.freeze({
  maxValue: 1e12,
  firstBucket: 1e7,
  ratio: 1.05,
  epsilon: 1e-4,
  halfLifeS: 86_400,
});

export interface HistogramSample {
  key: string;
  value: number;
  /** Sample time, seconds (any epoch; the decay only uses differences). */
  timeS: number;
  /** Sample weight (default 1; VPA uses the CPU request, at least 0.1). */
  weight?: number;
}

/** A set of decaying histograms keyed by string, all sharing one set of options. */
export class DecayingHistograms {
  readonly options: Readonly<HistogramOptions>;
  readonly numBuckets: number;
  readonly stride: number;
  readonly #core: Core;
  readonly #states = new Map<string, Float64Array>();
  /** Status name of the last add call ('ok', 'non-finite', 'negative', 'bad-param'): skipped samples are counted. */
  lastStatus = 'ok';

  constructor(options: Readonly<HistogramOptions>, core: Core = sharedCore()) {
    const { maxValue, firstBucket, ratio, epsilon, halfLifeS } = options;
    if (!(maxValue > 0) || !(firstBucket > 0) || !(ratio > 1) || !(epsilon > 0) || !(halfLifeS >= 0)) {
      throw new CoreBadParamError(`histogram options ${JSON.stringify(options)} (need maxValue, firstBucket, epsilon > 0, ratio > 1, halfLifeS >= 0)`);
    }
    this.options = Object.freeze({ ...options });
    this.#core = core;
    const [nb, header] = core.call((x) => [fx(x).fc_hist_num_buckets(maxValue, firstBucket, ratio), fx(x).fc_hist_header()]);
    this.numBuckets = nb;
    this.stride = header + nb;
  }

  has(key: string): boolean {
    return this.#states.has(key);
  }

  keys(): string[] {
    return [...this.#states.keys()];
  }

  remove(key: string): void {
    this.#states.delete(key);
  }

  /** Start of bucket b (0 for bucket 0). */
  bucketStart(b: number): number {
    return this.#core.call((x) => fx(x).fc_hist_bucket_start(b, this.options.firstBucket, this.options.ratio));
  }

  /** The raw state of a key (header then bucket weights), e.g. to checkpoint it; a copy. */
  state(key: string): Float64Array | undefined {
    const s = this.#states.get(key);
    return s ? s.slice() : undefined;
  }

  /** Total (decayed) weight of a key's histogram, relative to its current reference time. */
  totalWeight(key: string): number {
    return this.#states.get(key)?.[1] ?? 0;
  }

  #stateFor(key: string): Float64Array {
    let s = this.#states.get(key);
    if (!s) {
      s = new Float64Array(this.stride);
      s[0] = NaN;
      s[2] = this.numBuckets - 1;
      this.#states.set(key, s);
    }
    return s;
  }

  /** Adds one sample; returns the status name ('ok', or why the sample was skipped or noted). */
  add(key: string, value: number, timeS: number, weight = 1): string {
    return this.addMany([{ key, value, timeS, weight }]);
  }

  /**
   * Adds many samples in one WASM call. Non-finite values/times and negative weights are skipped (status
   * 'non-finite' / 'bad-param'); negative values go to bucket 0 as in VPA (status 'negative'). Never throws on data.
   */
  addMany(samples: readonly HistogramSample[]): string {
    if (samples.length === 0) return (this.lastStatus = 'ok');
    const keys: string[] = [];
    const slot = new Map<string, number>();
    const idx = new Float64Array(samples.length);
    const vals = new Float64Array(samples.length);
    const times = new Float64Array(samples.length);
    const weights = new Float64Array(samples.length);
    samples.forEach((s, j) => {
      let k = slot.get(s.key);
      if (k === undefined) {
        k = keys.length;
        slot.set(s.key, k);
        keys.push(s.key);
      }
      idx[j] = k;
      vals[j] = s.value;
      times[j] = s.timeS;
      weights[j] = s.weight ?? 1;
    });
    const states = keys.map((k) => this.#stateFor(k));
    const { firstBucket, ratio, epsilon, halfLifeS } = this.options;
    const n = samples.length;
    const code = this.#core.call((x) => {
      const e = fx(x);
      const sp = x.alloc(states.length * this.stride * 8);
      const ip = this.#core.putF64(idx);
      const vp = this.#core.putF64(vals);
      const tp = this.#core.putF64(times);
      const wp = this.#core.putF64(weights);
      try {
        const view = this.#core.f64(sp, states.length * this.stride);
        states.forEach((s, i) => view.set(s, i * this.stride));
        const c = e.fc_hist_add(sp, states.length, this.numBuckets, firstBucket, ratio, epsilon, halfLifeS, ip, vp, tp, wp, n);
        const out = this.#core.f64(sp, states.length * this.stride);
        states.forEach((s, i) => s.set(out.subarray(i * this.stride, (i + 1) * this.stride)));
        return c;
      } finally {
        for (const p of [sp, ip, vp, tp, wp]) x.free(p);
      }
    });
    this.lastStatus = statusName(code);
    return this.lastStatus;
  }

  /** VPA Percentile(p) of one key (0 when the key is unknown or empty). p must be in [0, 1]. */
  percentile(key: string, p: number): number {
    return this.percentiles([key], [p])[0];
  }

  /** Percentiles of many keys in one call: out[i * levels.length + l]. */
  percentiles(keys: readonly string[], levels: readonly number[]): Float64Array {
    for (const p of levels) {
      if (!(p >= 0 && p <= 1)) throw new CoreBadParamError(`percentile level ${p} (must be in [0, 1])`);
    }
    const out = new Float64Array(keys.length * levels.length);
    const present = keys.map((k) => this.#states.get(k));
    const used = present.filter((s): s is Float64Array => s !== undefined);
    if (used.length === 0 || levels.length === 0) return out;
    const { firstBucket, ratio, epsilon } = this.options;
    const res = this.#core.call((x) => {
      const sp = x.alloc(used.length * this.stride * 8);
      const lp = this.#core.putF64(levels);
      const op = x.alloc(used.length * levels.length * 8);
      try {
        const view = this.#core.f64(sp, used.length * this.stride);
        used.forEach((s, i) => view.set(s, i * this.stride));
        const c = fx(x).fc_hist_percentiles(sp, used.length, this.numBuckets, firstBucket, ratio, epsilon, lp, levels.length, op);
        if (c !== Status.Ok) throw new CoreBadParamError(`histogram percentiles: ${statusName(c)}`);
        return this.#core.f64(op, used.length * levels.length).slice();
      } finally {
        for (const p of [sp, lp, op]) x.free(p);
      }
    });
    let u = 0;
    present.forEach((s, i) => {
      if (s) out.set(res.subarray(u * levels.length, ++u * levels.length), i * levels.length);
    });
    return out;
  }
}
