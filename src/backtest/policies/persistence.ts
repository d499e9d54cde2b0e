// `persistence`: every 30 minutes, the last value plus the p-quantile of past increases (7 days, per tenant).
import { lastFinite, type Policy, type PolicyContext } from '../policy.js';
import { quantileType1 } from '../stats.js';

export interface PersistenceOptions {
  /** Quantile of past increases added to the last value (the sweep knob). */
  p: number;
  /** Decision period, seconds (30 min). */
  periodS: number;
  /** Window the allocation covers after the lead, seconds (30 min): "the maximum over the next 30 minutes". */
  coverS: number;
  /** History of increases, seconds (7 days). */
  historyS: number;
}

export const PERSISTENCE_DEFAULTS: Readonly<PersistenceOptions> = Object.freeze({ p: 0.95, periodS: 1800, coverS: 1800, historyS: 7 * 86_400 });

/**
 * Increase at origin j: max(x[j + a .. j + a + w - 1]) - x[j], where a = lead steps + 1 is how far after the last
 * known sample the allocation starts and w the steps it covers: exactly what an allocation made from x[j] had to
 * cover. With a zero lead this is the "maximum over the next 30 minutes minus the value before them".
 * The allocation = last finite value + quantileType1(increases of the last 7 days, p), recomputed every periodS.
 */
export class PersistencePolicy implements Policy {
  readonly name = 'persistence' as const;
  readonly label: string;
  readonly knob: { name: string; value: number };
  readonly #o: PersistenceOptions;
  readonly #ahead: number;
  readonly #cover: number;
  readonly #period: number;
  readonly #hist: number;
  readonly #inc: number[][];
  readonly #incOrigin: number[][];
  readonly #next: Int32Array;
  readonly #alloc: Float64Array;
  #lastDecision = -Infinity;

  constructor(ctx: PolicyContext, opts: Partial<PersistenceOptions> = {}, label?: string) {
    this.#o = { ...PERSISTENCE_DEFAULTS, ...opts };
    this.label = label ?? 'persistence';
    this.knob = { name: 'p', value: this.#o.p };
    const iv = ctx.intervalS;
    this.#ahead = Math.ceil(ctx.leadS / iv - 1e-9) + 1;
    this.#cover = Math.max(1, Math.round(this.#o.coverS / iv));
    this.#period = Math.max(1, Math.round(this.#o.periodS / iv));
    this.#hist = Math.max(1, Math.round(this.#o.historyS / iv));
    this.#inc = ctx.tenants.map(() => []);
    this.#incOrigin = ctx.tenants.map(() => []);
    this.#next = new Int32Array(ctx.tenants.length);
    this.#alloc = new Float64Array(ctx.tenants.length).fill(NaN);
  }

  step(i: number, visible: readonly Float64Array[], out: Float64Array): void {
    const decide = i - this.#lastDecision >= this.#period;
    if (decide) this.#lastDecision = i;
    for (let k = 0; k < visible.length; k++) {
      const v = visible[k];
      // Increases whose whole window is visible: origin j needs samples up to j + ahead + cover - 1 < v.length.
      const inc = this.#inc[k];
      const org = this.#incOrigin[k];
      for (let j = this.#next[k]; j + this.#ahead + this.#cover - 1 < v.length; j++) {
        this.#next[k] = j + 1;
        const x = v[j];
        if (x !== x) continue;
        let m = NaN;
        for (let h = j + this.#ahead; h < j + this.#ahead + this.#cover; h++) if (v[h] === v[h] && !(v[h] <= m)) m = v[h];
        if (m !== m) continue;
        inc.push(m - x);
        org.push(j);
      }
      if (decide) {
        // Keep the last 7 days of origins.
        let drop = 0;
        while (drop < org.length && org[drop] < v.length - this.#hist) drop++;
        if (drop > 0) {
          inc.splice(0, drop);
          org.splice(0, drop);
        }
        const last = lastFinite(v);
        if (last === last) this.#alloc[k] = Math.max(0, last + (inc.length ? quantileType1(inc, this.#o.p) : 0));
      }
      out[k] = this.#alloc[k];
    }
  }
}
