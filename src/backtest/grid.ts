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

/** Builds the grid of one resource. Series of other resources are ignored. */
export function buildGrid(set: SeriesSet, resource: string): Grid {
  const series = set.series.filter((s) => s.resource === resource);
  const iv = set.intervalS;
  let start = Infinity;
  let end = -Infinity;
  for (const s of series) {
    start = Math.min(start, s.startS);
    end = Math.max(end, s.startS + (s.values.length - 1) * s.intervalS);
  }
  const nSteps = series.length ? Math.round((end - start) / iv) + 1 : 0;
  const usage: Float64Array[] = [];
  const firstSample = new Int32Array(series.length).fill(nSteps);
  series.forEach((s, k) => {
    const u = new Float64Array(nSteps).fill(NaN);
    const off = Math.round((s.startS - start) / iv);
    const step = Math.max(1, Math.round(s.intervalS / iv));
    for (let j = 0; j < s.values.length; j++) {
      const i = off + j * step;
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
