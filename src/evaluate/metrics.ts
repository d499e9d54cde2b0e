// Accuracy accumulators shared by `foresight evaluate` and the core benchmark: MAE of the median, mean pinball
// loss over the quantile levels, empirical coverage per level, and MASE against seasonal naive on the same targets.
import { pinball } from '../core/conformal.js';

export class QuantileScore {
  readonly levels: readonly number[];
  n = 0;
  absErr = 0;
  pinSum = 0;
  readonly hits: number[];

  constructor(levels: readonly number[]) {
    this.levels = levels;
    this.hits = levels.map(() => 0);
  }

  /** Adds one matured forecast: `point` (the median) and the quantiles at `levels` (same order). */
  add(actual: number, point: number, quantiles: ArrayLike<number>, offset = 0): void {
    if (!Number.isFinite(actual)) return;
    this.n++;
    this.absErr += Math.abs(actual - point);
    let p = 0;
    for (let l = 0; l < this.levels.length; l++) {
      const q = quantiles[offset + l];
      p += pinball(actual, q, this.levels[l]);
      if (actual <= q) this.hits[l]++;
    }
    this.pinSum += this.levels.length ? p / this.levels.length : 0;
  }

  /** Adds a point-only forecast (no quantiles: pinball and coverage are left to the quantile forecasts). */
  addPoint(actual: number, point: number): void {
    if (!Number.isFinite(actual) || !Number.isFinite(point)) return;
    this.n++;
    this.absErr += Math.abs(actual - point);
  }

  get mae(): number {
    return this.n ? this.absErr / this.n : NaN;
  }

  get pinballMean(): number {
    return this.n ? this.pinSum / this.n : NaN;
  }

  coverage(level: number): number {
    const i = this.levels.indexOf(level);
    return i >= 0 && this.n ? this.hits[i] / this.n : NaN;
  }

  /** JSON summary; `scale` is the seasonal-naive MAE on the same targets (MASE denominator). */
  toJSON(scale?: number): Record<string, number | Record<string, number> | null> {
    const cov: Record<string, number> = {};
    this.levels.forEach((l) => (cov[String(l)] = round(this.coverage(l))));
    return {
      n: this.n,
      mae: round(this.mae),
      mase: scale && scale > 0 ? round(this.mae / scale) : null,
      pinball: this.levels.length ? round(this.pinballMean) : null,
      coverage: this.levels.length ? cov : null,
    };
  }
}

export function round(v: number, digits = 5): number {
  if (!Number.isFinite(v)) return v;
  const a = Math.abs(v);
  if (a === 0) return 0;
  const d = Math.max(0, digits - Math.floor(Math.log10(a)) - 1);
  return Number(v.toFixed(Math.min(d, 12)));
}
