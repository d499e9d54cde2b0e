// `static`: one fixed allocation per tenant, the peak of its first day.
import type { Policy, PolicyContext } from '../policy.js';

/**
 * The allocation is the highest usage seen during the tenant's first day (from its first sample). While the first
 * day is still being observed (warm-up, not scored) it is the running peak; it never changes once scoring starts, so
 * it is the peak of the first day's samples visible then: the first day less the lead's samples, or on a trace whose
 * warm-up is shorter than a day (a third of a trace under 3 days), the warm-up less them.
 */
export class StaticPolicy implements Policy {
  readonly name = 'static' as const;
  readonly label = 'static';
  readonly #ctx: PolicyContext;
  readonly #peak: Float64Array;
  readonly #first: Int32Array;
  readonly #seen: Int32Array;

  constructor(ctx: PolicyContext) {
    this.#ctx = ctx;
    this.#peak = new Float64Array(ctx.tenants.length).fill(NaN);
    this.#first = new Int32Array(ctx.tenants.length).fill(-1);
    this.#seen = new Int32Array(ctx.tenants.length);
  }

  step(i: number, visible: readonly Float64Array[], out: Float64Array): void {
    const warmup = this.#ctx.warmupSteps ?? Infinity;
    for (let k = 0; k < visible.length; k++) {
      const v = visible[k];
      // scoring starts warmupSteps after the first sample (src/backtest/scoring.ts scoredFrom): frozen from there
      if (this.#first[k] >= 0 && i >= this.#first[k] + warmup) {
        out[k] = this.#peak[k];
        continue;
      }
      for (let j = this.#seen[k]; j < v.length; j++) {
        if (this.#first[k] < 0 && v[j] === v[j]) this.#first[k] = j;
        if (this.#first[k] >= 0 && j < this.#first[k] + this.#ctx.stepsPerDay && v[j] === v[j] && !(v[j] <= this.#peak[k])) this.#peak[k] = v[j];
      }
      this.#seen[k] = v.length;
      out[k] = this.#peak[k];
    }
  }
}
