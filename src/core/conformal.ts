// Adaptive conformal inference (Gibbs & Candes, "Adaptive Conformal Inference Under Distribution Shift",
// NeurIPS 2021, eq. 2) applied per quantile level: the level used to read the empirical error quantile moves by
// gamma * (miss - (1 - level)) after each matured forecast, so the long-run miss rate tracks 1 - level.
// Worked example: target 0.95, gamma 0.01: a miss moves the working level up by 0.0095, a hit down by 0.0005;
// 19 hits and one miss leave it where it was. The step runs in the core (assembly/forecast/ensemble.ts).
import { fx } from './forecast-exports.js';
import { Core, sharedCore } from './wasm.js';

/** Step size gamma (Gibbs & Candes use 0.005-0.01). */
export const ACI_GAMMA = 0.01;
/** Bound on the accumulated adjustment, so that a burst of misses cannot wind the level up indefinitely. */
export const ACI_MAX_SHIFT = 0.3;

/**
 * Runs ACI steps on one shift for target `level` over a sequence of outcomes (true = miss) in the core
 * (assembly/forecast/ensemble.ts aciStep, the same step the engine's per-point update applies); returns the new shift.
 */
export function aciRun(shift: number, level: number, misses: readonly boolean[], gamma = ACI_GAMMA, core: Core = sharedCore()): number {
  return core.call((x) => {
    const p = core.putF64(misses.map((m) => (m ? 1 : 0)));
    try {
      return fx(x).fc_ens_aci_run(shift, level, p, misses.length, gamma, ACI_MAX_SHIFT);
    } finally {
      x.free(p);
    }
  });
}

/** Working level: target plus shift, kept inside [0.001, 1]. */
export function workingLevel(level: number, shift: number): number {
  return Math.min(1, Math.max(0.001, level + shift));
}

/**
 * The shift for an arbitrary level from the shifts kept for the configured levels (linear interpolation in level,
 * constant beyond the ends), so that a caller's extra level also benefits from the calibration.
 */
export function interpolateShift(level: number, levels: readonly number[], shifts: ArrayLike<number>): number {
  if (levels.length === 0) return 0;
  if (level <= levels[0]) return shifts[0];
  for (let i = 1; i < levels.length; i++) {
    if (level <= levels[i]) {
      const w = (level - levels[i - 1]) / (levels[i] - levels[i - 1]);
      return shifts[i - 1] + w * (shifts[i] - shifts[i - 1]);
    }
  }
  return shifts[levels.length - 1];
}

/** Mean pinball loss of quantile q at level p for outcome y (Koenker & Bassett 1978). */
export function pinball(y: number, q: number, p: number): number {
  const d = y - q;
  return d >= 0 ? p * d : (p - 1) * d;
}

/** Indices of `levels` in ascending order of level (what makeMonotone walks; compute it once per set of levels). */
export function levelOrder(levels: readonly number[]): Int32Array {
  return Int32Array.from(levels.map((_, i) => i).sort((a, b) => levels[a] - levels[b]));
}

/** Makes values[at + i] non-decreasing in the order of `levels` (which may be unsorted), in place. */
export function makeMonotone(values: Float64Array, levels: readonly number[], at = 0, order: Int32Array = levelOrder(levels)): void {
  let prev = -Infinity;
  for (let j = 0; j < order.length; j++) {
    const i = at + order[j];
    if (values[i] < prev) values[i] = prev;
    prev = values[i];
  }
}
