// Places every series of a SeriesSet on one common time grid, the clock the replay steps through.
import type { SeriesSet } from '../model/series.js';

export interface Grid {
  resource: string;
  unit?: string;
  origin: string;
  startS: number;
  intervalS: number;
  nSteps: number;
  tenants: string[];
  /** usage[k][i]: tenant k at startS + i * intervalS (NaN: missing). */
  usage: Float64Array[];
  /** Index of each tenant's first finite sample (nSteps when none). */
  firstSample: Int32Array;
}

/**
 * Slot of a sample stamped `t` on a grid from `start` at `iv`: the first slot that starts at or after it. A sample
 * stamped between two slots (a series off the others' phase) ends after the slot it is nearest to ends, so it goes to
 * the next one: the replay then never reads it before it is complete (rounding to the nearest slot could move it up
 * to half an interval early). A thousandth of an interval absorbs the float error of stamps that are on the grid.
 */
function slotOf(t: number, start: number, iv: number): number {
  return Math.ceil((t - start) / iv - 1e-3);
}

/** Builds the grid of one resource. Series of other resources are ignored. */
export function buildGrid(set: SeriesSet, resource: string): Grid {
  const series = set.series.filter((s) => s.resource === resource);
  const iv = set.intervalS;
  let start = Infinity;
  for (const s of series) start = Math.min(start, s.startS);
  const step = (s: { intervalS: number }) => Math.max(1, Math.round(s.intervalS / iv));
  let nSteps = 0;
  for (const s of series) if (s.values.length) nSteps = Math.max(nSteps, slotOf(s.startS, start, iv) + (s.values.length - 1) * step(s) + 1);
  const usage: Float64Array[] = [];
  const firstSample = new Int32Array(series.length).fill(nSteps);
  series.forEach((s, k) => {
    const u = new Float64Array(nSteps).fill(NaN);
    const off = slotOf(s.startS, start, iv);
    const st = step(s);
    for (let j = 0; j < s.values.length; j++) {
      const i = off + j * st;
      if (i < nSteps) u[i] = s.values[j];
    }
    for (let i = 0; i < nSteps; i++) {
      if (u[i] === u[i]) {
        firstSample[k] = i;
        break;
      }
    }
    usage.push(u);
  });
  return { resource, unit: set.units[resource], origin: set.origin, startS: Number.isFinite(start) ? start : 0, intervalS: iv, nSteps, tenants: series.map((s) => s.tenant), usage, firstSample };
}
