// `autopilot`: Google Autopilot's moving-window recommender (Rzadca et al., EuroSys 2020, section 3.2).
//
// Section 3.2 ("Moving window recommenders"), with the defaults the issue names:
//   CPU:    the 95th percentile of the load-adjusted decayed histogram, half-life 12 h (serving jobs).
//   memory: max(P60 of the decayed histogram, 0.5 x the peak), half-life 48 h (jobs with moderate OOM tolerance).
//   Both:   + 10% safety margin; the recommendation applied is the maximum of the raw recommendations over the last
//           hour (the "stabilization" window that keeps limits from falling right after a peak).
// The paper's histograms are built from per-second samples inside each 5-minute window; a trace gives one value per
// interval, so each sample is one histogram entry. The paper's peak S_max is the maximum over a window of samples;
// its length is not fixed by the issue: we use 2 half-lives (96 h for memory), beyond which a sample's weight is
// under 1/4 in the percentile too. Percentiles are exact (DecayedPercentile), not bucketed.
import { DecayedPercentile, valueUniverse } from '../../logic/decayed-percentile.js';
import type { Policy, PolicyContext } from '../policy.js';
import { stepTime } from '../policy.js';

export interface AutopilotOptions {
  /** Percentile level: 0.95 for CPU (load-adjusted), 0.6 for memory (the sweep knob). */
  percentile: number;
  halfLifeS: number;
  loadAdjusted: boolean;
  /** Memory: weight of the peak in max(P, peakFactor x S_max); 0 disables. */
  peakFactor: number;
  peakWindowS: number;
  margin: number;
  stabilisationS: number;
}

export function autopilotDefaults(resource: string): AutopilotOptions {
  const memory = /mem/i.test(resource);
  return memory
    ? { percentile: 0.6, halfLifeS: 48 * 3600, loadAdjusted: false, peakFactor: 0.5, peakWindowS: 96 * 3600, margin: 0.1, stabilisationS: 3600 }
    : { percentile: 0.95, halfLifeS: 12 * 3600, loadAdjusted: true, peakFactor: 0, peakWindowS: 24 * 3600, margin: 0.1, stabilisationS: 3600 };
}

export class AutopilotPolicy implements Policy {
  readonly name = 'autopilot' as const;
  readonly label: string;
  readonly knob: { name: string; value: number };
  readonly #o: AutopilotOptions;
  readonly #ctx: PolicyContext;
  readonly #dp: DecayedPercentile[];
  readonly #seen: Int32Array;
  /** Monotonic deque of (index, value) for the windowed peak. */
  readonly #peakQ: Array<Array<[number, number]>>;
  /** Raw recommendations of the last hour (index, value), for the stabilisation maximum. */
  readonly #recent: Array<Array<[number, number]>>;

  /** @param universe all values of the trace for this resource: an index space only (see DecayedPercentile). */
  constructor(ctx: PolicyContext, universeOf: readonly Float64Array[], opts: Partial<AutopilotOptions> = {}, label?: string) {
    this.#o = { ...autopilotDefaults(ctx.resource), ...opts };
    this.#ctx = ctx;
    this.label = label ?? 'autopilot';
    this.knob = { name: 'percentile', value: this.#o.percentile };
    this.#dp = universeOf.map((u) => new DecayedPercentile(valueUniverse([u]), this.#o.halfLifeS));
    this.#seen = new Int32Array(ctx.tenants.length);
    this.#peakQ = ctx.tenants.map(() => []);
    this.#recent = ctx.tenants.map(() => []);
  }

  step(i: number, visible: readonly Float64Array[], out: Float64Array): void {
    const o = this.#o;
    const iv = this.#ctx.intervalS;
    const peakW = Math.max(1, Math.round(o.peakWindowS / iv));
    const stabW = Math.max(1, Math.round(o.stabilisationS / iv));
    for (let k = 0; k < visible.length; k++) {
      const v = visible[k];
      const q = this.#peakQ[k];
      for (let j = this.#seen[k]; j < v.length; j++) {
        const x = v[j];
        if (x !== x) continue;
        this.#dp[k].add(x, stepTime(this.#ctx, j));
        while (q.length && q[q.length - 1][1] <= x) q.pop();
        q.push([j, x]);
      }
      this.#seen[k] = v.length;
      while (q.length && q[0][0] < v.length - peakW) q.shift();
      const rec = this.#recent[k];
      if (this.#dp[k].count > 0) {
        let base = this.#dp[k].percentile(o.percentile, o.loadAdjusted);
        if (o.peakFactor > 0 && q.length) base = Math.max(base, o.peakFactor * q[0][1]);
        rec.push([i, base * (1 + o.margin)]);
      }
      while (rec.length && rec[0][0] <= i - stabW) rec.shift();
      let m = NaN;
      for (const [, r] of rec) if (!(r <= m)) m = r;
      out[k] = m;
    }
  }
}
