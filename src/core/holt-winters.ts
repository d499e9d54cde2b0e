// Host wrapper of the Holt-Winters kernels (assembly/forecast/holt-winters.ts): batch fit, replay and online update
// of many series per WASM call; every state is a host-owned Float64Array (header + m1 + m2 seasonal doubles).
import { fx } from './forecast-exports.js';
import { mapPacked } from './packed.js';
import type { Core } from './wasm.js';

/** Layout of the state header (assembly/forecast/holt-winters.ts). */
export const HW = { alpha: 0, beta: 1, gamma1: 2, gamma2: 3, phi: 4, level: 5, trend: 6, m1: 7, m2: 8, t: 9, status: 10, mse: 11, fitSse: 13 } as const;

export interface HwFitSpec {
  /** Seasonal periods in steps (0 = none); dropped inside WASM when the history is shorter than two of them. */
  m1: number;
  m2: number;
  damped: boolean;
  /** Nelder-Mead evaluation budget. */
  maxEvals: number;
  /** Previous states (one per history, same layout): their parameters start a local search (a warm refit). */
  previous?: readonly Float64Array[];
  /** Replay each history for the per-origin forecasts (default true; a refit needs only the final states). */
  replay?: boolean;
}

function offsets(parts: readonly Float64Array[]): { flat: Float64Array; off: Float64Array } {
  const off = new Float64Array(parts.length + 1);
  for (let i = 0; i < parts.length; i++) off[i + 1] = off[i] + parts[i].length;
  const flat = new Float64Array(off[parts.length]);
  parts.forEach((p, i) => flat.set(p, off[i]));
  return { flat, off };
}

/**
 * Fits one model per history (all with the same seasonal spec) in one call and replays each history so that
 * `origins[i][j*nH + k]` is the fitted model's forecast, made after point j, for horizon hs[k] steps (empty arrays
 * when spec.replay is false).
 * Returns the states (after the last point), their statuses and the per-origin forecasts.
 */
export function fitHoltWinters(
  core: Core,
  histories: readonly Float64Array[],
  spec: HwFitSpec,
  hs: readonly number[],
): { states: Float64Array[]; status: number[]; origins: Float64Array[] } {
  const count = histories.length;
  if (count === 0) return { states: [], status: [], origins: [] };
  const { flat, off } = offsets(histories);
  const header = core.call((x) => fx(x).fc_hw_header());
  const stride = header + spec.m1 + spec.m2;
  return core.call((x) => {
    const e = fx(x);
    const sp = x.alloc(count * stride * 8);
    const yp = core.putF64(flat);
    const op = core.putF64(off);
    const stp = x.alloc(count * 8);
    const hp = core.putF64(hs);
    const replay = spec.replay ?? true;
    const outp = x.alloc(Math.max(8, replay ? flat.length * hs.length * 8 : 8));
    try {
      const view = core.f64(sp, count * stride);
      view.fill(0);
      const prev = spec.previous;
      // only the header (parameters, seasons, status): the fit re-initialises the rest from the history
      if (prev) prev.forEach((p, i) => view.set(p.subarray(0, Math.min(p.length, header)), i * stride));
      e.fc_hw_fit_batch(sp, stride, yp, op, count, spec.m1, spec.m2, spec.damped ? 1 : 0, spec.maxEvals, stp, prev ? 1 : 0);
      const status = Array.from(core.f64(stp, count));
      if (replay) e.fc_hw_replay_batch(sp, stride, yp, op, count, hp, hs.length, outp);
      const all = core.f64(sp, count * stride);
      // each state keeps only the seasons its fit kept (a weekly season on a week of history is dropped: 16 KB)
      const states = histories.map((_, i) => all.slice(i * stride, i * stride + header + all[i * stride + HW.m1] + all[i * stride + HW.m2]));
      const outAll = core.f64(outp, replay ? flat.length * hs.length : 0);
      const origins = histories.map((_, i) => (replay ? outAll.slice(off[i] * hs.length, off[i + 1] * hs.length) : new Float64Array(0)));
      return { states, status, origins };
    } finally {
      for (const p of [sp, yp, op, stp, hp, outp]) x.free(p);
    }
  });
}

/**
 * Online update (O(new points)) of many states in one call; states are updated in place. Returns, per series,
 * the forecasts after each new point: out[i][j*nH + k].
 */
export function updateHoltWinters(
  core: Core,
  states: readonly Float64Array[],
  points: readonly Float64Array[],
  hs: readonly number[],
): Float64Array[] {
  const count = states.length;
  if (count === 0) return [];
  const stride = Math.max(...states.map((s) => s.length));
  const { flat, off } = offsets(points);
  return core.call((x) => {
    const sp = x.alloc(count * stride * 8);
    const yp = core.putF64(flat);
    const op = core.putF64(off);
    const hp = core.putF64(hs);
    const outp = x.alloc(Math.max(8, flat.length * hs.length * 8));
    try {
      const view = core.f64(sp, count * stride);
      states.forEach((s, i) => view.set(s, i * stride));
      fx(x).fc_hw_update_batch(sp, stride, yp, op, count, hp, hs.length, outp);
      const after = core.f64(sp, count * stride);
      states.forEach((s, i) => s.set(after.subarray(i * stride, i * stride + s.length)));
      const outAll = core.f64(outp, flat.length * hs.length);
      return mapPacked(points, (_, i) => outAll.slice(off[i] * hs.length, off[i + 1] * hs.length));
    } finally {
      for (const p of [sp, yp, op, hp, outp]) x.free(p);
    }
  });
}
