// `oracle`: perfect foresight, the maximum of the actual usage over the next 30 minutes (a bound, not a policy).
import type { Policy, PolicyContext } from '../policy.js';

/** The only policy given the future: allocation at step i = max(usage[i .. i + 30 min)). */
export class OraclePolicy implements Policy {
  readonly name = 'oracle' as const;
  readonly label = 'oracle';
  readonly #future: readonly Float64Array[];
  readonly #w: number;

  constructor(ctx: PolicyContext, future: readonly Float64Array[], coverS = 1800) {
    this.#future = future;
    this.#w = Math.max(1, Math.round(coverS / ctx.intervalS));
  }

  step(i: number, _visible: readonly Float64Array[], out: Float64Array): void {
    for (let k = 0; k < this.#future.length; k++) {
      const u = this.#future[k];
      let m = NaN;
      for (let h = i; h < Math.min(u.length, i + this.#w); h++) if (u[h] === u[h] && !(u[h] <= m)) m = u[h];
      out[k] = m;
    }
  }
}
