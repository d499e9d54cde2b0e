// Pooled shadow reserve: the quantile of the TOTAL expected excess of usage over allocations across tenants.

import { valueAtLevel } from './quantile-grid.js';

export interface ReserveTenant {
  /** Forecast quantile levels, ascending, and the matching values of the tenant's usage at the covered step. */
  levels: readonly number[];
  values: ArrayLike<number>;
  /** The tenant's allocation at that step. */
  allocation: number;
}

export interface ReserveOptions {
  /** Level of the quantile of the total excess the reserve covers (0.99). */
  level: number;
  /** Monte Carlo draws (deterministic, stratified). */
  draws: number;
  seed: number;
}

export const DEFAULT_RESERVE: Readonly<ReserveOptions> = Object.freeze({ level: 0.99, draws: 400, seed: 42 });

/** One step of a small deterministic PRNG (mulberry32) from state `a` (uint32): the next state is a + 0x6d2b79f5, and
 *  the draw in [0, 1) a function of it. Written out as two functions of plain numbers, not a closure, so the draw
 *  loops allocate nothing: the same inputs always give the same reserve. */
function mulberryNext(a: number): number {
  return (a + 0x6d2b79f5) >>> 0;
}

function mulberryDraw(a: number): number {
  let t = a;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/**
 * Size of the pooled reserve: the `level` quantile of S = sum_k max(0, U_k - a_k), with U_k drawn from tenant k's
 * forecast distribution (quantile grid, interpolated; tails extrapolated) independently across tenants. Summing
 * per-tenant upper quantiles instead would assume every tenant bursts at once; pooling is what makes a shared reserve
 * cheaper than per-tenant headroom. Independence is an assumption: correlated bursts show up as reserve exhaustion,
 * which the simulator counts and ReserveCalibration (below) corrects, in the loop and the backtest alike. Tenants
 * whose highest forecast quantile is within their allocation are skipped. Draws are stratified per tenant (one draw
 * in each of `draws` equal slices of [0, 1], shuffled), which lowers the Monte Carlo error of each margin.
 */
export function shadowReserve(tenants: readonly ReserveTenant[], opts: Partial<ReserveOptions> = {}): number {
  const acc = new ReserveAccumulator(opts);
  for (const t of tenants) acc.add(t);
  return acc.size();
}

/**
 * shadowReserve built one tenant at a time, so that a caller can spread the work over time slices (the live loop):
 * add() every tenant in order, then size(). The same tenants in the same order give exactly shadowReserve's result.
 */
export class ReserveAccumulator {
  readonly #o: ReserveOptions;
  /** PRNG state (mulberryNext). */
  #seed: number;
  readonly #totals: Float64Array;
  /** The draw slots, in the order the last tenant's partial shuffle left them. */
  readonly #slots: Uint32Array;
  #any = false;

  constructor(opts: Partial<ReserveOptions> = {}) {
    this.#o = { ...DEFAULT_RESERVE, ...opts };
    this.#seed = this.#o.seed >>> 0;
    this.#totals = new Float64Array(this.#o.draws);
    this.#slots = Uint32Array.from({ length: this.#o.draws }, (_, i) => i);
  }

  add(t: ReserveTenant): void {
    const n = t.levels.length;
    if (n === 0 || !Number.isFinite(t.allocation)) return;
    const draws = this.#o.draws;
    const totals = this.#totals;
    // The 0.99999 quantile within the allocation means a negligible contribution.
    const hiU = 0.99999;
    if (valueAtLevel(t.levels, t.values, hiU) <= t.allocation) return;
    this.#any = true;
    // Level at which the tenant's quantile crosses its allocation (bisection on the monotone quantile function):
    // draws below it add nothing, so only the tail is evaluated.
    let lo = 1e-5;
    let hi = hiU;
    if (valueAtLevel(t.levels, t.values, lo) <= t.allocation) {
      for (let it = 0; it < 30; it++) {
        const mid = 0.5 * (lo + hi);
        if (valueAtLevel(t.levels, t.values, mid) <= t.allocation) lo = mid;
        else hi = mid;
      }
    } else lo = 0;
    // Strata below k0 lie wholly at or under lo. Each tenant's draws are its own random permutation of the strata over
    // the slots, but only the tail strata k0..draws-1 can add anything, so only their slots are drawn: a partial
    // Fisher-Yates over #slots (a permutation of the slots left by the tenant before; any permutation will do) picks
    // them uniformly at random, distinct, in the same distribution as a whole shuffle, at the cost of the tail alone.
    const k0 = Math.min(draws, Math.floor(lo * draws));
    const slots = this.#slots;
    let seed = this.#seed;
    for (let s = 0; s < draws - k0; s++) {
      seed = mulberryNext(seed);
      const j = s + Math.floor(mulberryDraw(seed) * (draws - s));
      const slot = slots[j];
      slots[j] = slots[s];
      slots[s] = slot;
      seed = mulberryNext(seed);
      const u = (k0 + s + mulberryDraw(seed)) / draws;
      if (u <= lo) continue;
      const excess = valueAtLevel(t.levels, t.values, Math.min(hiU, Math.max(1e-5, u))) - t.allocation;
      if (excess > 0) totals[slot] += excess;
    }
    this.#seed = seed;
  }

  /** The reserve over the tenants added so far (0 when none can exceed its allocation). */
  size(): number {
    if (!this.#any) return 0;
    const sorted = this.#totals.slice().sort();
    return sorted[Math.min(this.#o.draws - 1, Math.ceil(this.#o.level * this.#o.draws) - 1)];
  }
}

/** Step of the reserve's calibration, on the log of its scale: an exhaustion raises the scale by about 10%, and the
 *  level's complement of that per plan that holds (0.1% at 0.99) brings it back, so the scale settles where the plans
 *  are exhausted at the rate the level names. */
export const RESERVE_CALIBRATION_RATE = 0.1;
/** Bounds of the calibration's scale: a quarter to four times the Monte Carlo size. */
export const RESERVE_SCALE_MIN = 0.25;
export const RESERVE_SCALE_MAX = 4;

/**
 * Calibrates a pooled reserve on its own outcomes, as adaptive conformal inference calibrates a quantile (Gibbs &
 * Candes 2021): the reserve planned is the Monte Carlo size times `scale`, and each plan checked against the demand
 * that came moves log(scale) by rate x (exhausted - (1 - level)). The Monte Carlo assumes the tenants' excesses are
 * independent and their forecast tails right; bursts that come together, or tails a forecast reads too light or too
 * heavy, show up as a rate of exhaustion other than 1 - level, which the scale corrects. A reserve the Monte Carlo
 * sizes at 0 (no tenant's forecast reaches past its allocation) stays 0 at any scale, so its outcome says nothing of
 * the scale and does not move it (else every increase while the forecasts see none would push the scale to its
 * bound, to multiply the next positive reserve by 4).
 */
export class ReserveCalibration {
  #logScale = 0;

  constructor(
    readonly level: number = DEFAULT_RESERVE.level,
    readonly rate: number = RESERVE_CALIBRATION_RATE,
  ) {}

  /** What the Monte Carlo size is multiplied by. */
  get scale(): number {
    return Math.exp(this.#logScale);
  }

  /** One plan checked: its planned `size` against the `demand` its step brought (the sum of the planned tenants'
   *  usage over the allocations it was sized against). Returns whether it was exhausted, a plan of size 0 included. */
  observe(size: number, demand: number): boolean {
    const exhausted = demand > size * (1 + 1e-9);
    if (size > 0) {
      const next = this.#logScale + this.rate * ((exhausted ? 1 : 0) - (1 - this.level));
      this.#logScale = Math.min(Math.log(RESERVE_SCALE_MAX), Math.max(Math.log(RESERVE_SCALE_MIN), next));
    }
    return exhausted;
  }
}
