// Exact exponentially decayed percentiles (no buckets), for Autopilot's moving-window recommenders.
//
// Rzadca et al., "Autopilot: workload autoscaling at Google", EuroSys 2020, section 3.2 ("Moving window
// recommenders"): the usage samples s[tau] are combined into a histogram weighted by w[tau] = 2^(-(t - tau)/t_half),
// and the recommenders read percentiles of it; for CPU the histogram is "load-adjusted" (each bucket's weight is
// multiplied by its value, so the percentile is over CPU-seconds rather than over time). Autopilot keeps fine
// histograms; here the percentile is exact over the samples themselves.
// Because every weight decays by the same factor, weights are stored relative to a reference time
// (w = 2^((tau - ref)/t_half), growing) and the percentile is unchanged; the reference moves forward (and every
// stored weight is scaled down) before the exponent could overflow, as VPA's decaying histogram does.

/** Fenwick tree over a fixed, sorted value universe: O(log n) add, prefix sums and percentile search. */
class Fenwick {
  readonly tree: Float64Array;
  constructor(n: number) {
    this.tree = new Float64Array(n + 1);
  }
  add(i: number, w: number): void {
    for (let k = i + 1; k < this.tree.length; k += k & -k) this.tree[k] += w;
  }
  total(): number {
    let s = 0;
    for (let k = this.tree.length - 1; k > 0; k -= k & -k) s += this.tree[k];
    return s;
  }
  /** Smallest index whose prefix sum (inclusive) is >= target. */
  search(target: number): number {
    let pos = 0;
    let rem = target;
    let step = 1;
    while (step * 2 < this.tree.length) step *= 2;
    for (; step > 0; step >>= 1) {
      const next = pos + step;
      if (next < this.tree.length && this.tree[next] < rem) {
        pos = next;
        rem -= this.tree[next];
      }
    }
    return Math.min(pos, this.tree.length - 2);
  }
  scale(f: number): void {
    for (let k = 1; k < this.tree.length; k++) this.tree[k] *= f;
  }
}

export class DecayedPercentile {
  readonly #universe: Float64Array;
  readonly #halfLifeS: number;
  readonly #plain: Fenwick;
  readonly #load: Fenwick;
  #refS = NaN;
  #count = 0;

  /**
   * @param universe every value that may be added, sorted ascending without duplicates (only an index space: the
   *   results depend only on the values actually added).
   * @param halfLifeS the decay half-life in seconds.
   */
  constructor(universe: Float64Array, halfLifeS: number) {
    this.#universe = universe;
    this.#halfLifeS = halfLifeS;
    this.#plain = new Fenwick(universe.length);
    this.#load = new Fenwick(universe.length);
  }

  get count(): number {
    return this.#count;
  }

  /** Adds a sample observed at `timeS` with a base weight (1 by default). */
  add(value: number, timeS: number, weight = 1): void {
    if (!Number.isFinite(value)) return;
    const i = indexOf(this.#universe, value);
    if (i < 0) throw new RangeError(`value ${value} is not in the universe`);
    if (!Number.isFinite(this.#refS)) this.#refS = timeS;
    let e = (timeS - this.#refS) / this.#halfLifeS;
    if (e > 500) {
      // Move the reference forward: every stored weight shrinks by the same factor, percentiles are unchanged.
      const f = Math.pow(2, -e);
      this.#plain.scale(f);
      this.#load.scale(f);
      this.#refS = timeS;
      e = 0;
    }
    const w = weight * Math.pow(2, e);
    this.#plain.add(i, w);
    this.#load.add(i, w * value);
    this.#count++;
  }

  /**
   * The smallest added value v such that the decayed weight of samples <= v is at least p of the total (the inverse
   * of the weighted empirical CDF). With `loadAdjusted`, weights are multiplied by the value (section 3.2's
   * load-adjusted histogram). NaN when empty.
   * Example (no decay in effect, equal times): samples 1, 2, 3, 4: p 0.5 gives 2; load-adjusted p 0.5: weights 1..4,
   * total 10, cumulative 1, 3, 6 >= 5 at value 3, gives 3.
   */
  percentile(p: number, loadAdjusted = false): number {
    if (this.#count === 0) return NaN;
    const tree = loadAdjusted ? this.#load : this.#plain;
    const total = tree.total();
    if (!(total > 0)) return 0;
    // A relative epsilon keeps p = 1 from running past the last populated index through rounding.
    return this.#universe[tree.search(p * total * (1 - 1e-12))];
  }
}

function indexOf(sorted: Float64Array, v: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const m = sorted[mid];
    if (m === v) return mid;
    if (m < v) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Sorted distinct finite values of some arrays: the universe for a DecayedPercentile. */
export function valueUniverse(arrays: readonly ArrayLike<number>[]): Float64Array {
  let n = 0;
  for (const a of arrays) n += a.length;
  const all = new Float64Array(n);
  let k = 0;
  for (const a of arrays) for (let i = 0; i < a.length; i++) if (Number.isFinite(a[i])) all[k++] = a[i];
  const sorted = all.subarray(0, k).sort();
  let m = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) sorted[m++] = sorted[i];
  return sorted.slice(0, m);
}
