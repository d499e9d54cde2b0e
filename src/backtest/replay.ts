// Steps the clock through a grid and asks every policy for its allocations, showing each only what it may see.
import type { Grid } from './grid.js';
import { visibleCount, type Policy } from './policy.js';
import { ScoreAccumulator, type Score } from './scoring.js';

export interface ReplayEntry {
  policy: Policy;
  /** Keep every allocation (for the CSV, the report and the simulator); otherwise only the score is kept. */
  keep: boolean;
}

export interface ReplayOutput {
  policy: Policy;
  /** allocations[k][i] (empty when not kept). */
  allocations: Float64Array[];
  score: { total: Score; perTenant: Score[] };
}

/**
 * For step i every policy gets, per tenant, a view of the samples taken before t_i - lead (visibleCount): a
 * subarray, so reading past it yields undefined; later samples are not reachable through it.
 */
export function replay(grid: Grid, leadS: number, warmupSteps: number, entries: readonly ReplayEntry[], onStep?: (i: number) => void): ReplayOutput[] {
  const kept = entries.map((e) => (e.keep ? grid.usage.map(() => new Float64Array(grid.nSteps).fill(NaN)) : []));
  const scorers = entries.map(() => new ScoreAccumulator(grid, warmupSteps));
  const out = new Float64Array(grid.tenants.length);
  for (let i = 0; i < grid.nSteps; i++) {
    const end = visibleCount(i, leadS, grid.intervalS);
    const visible = grid.usage.map((u) => u.subarray(0, Math.min(end, u.length)));
    entries.forEach((e, pi) => {
      out.fill(NaN);
      e.policy.step(i, visible, out);
      scorers[pi].add(i, out);
      if (e.keep) {
        const a = kept[pi];
        for (let k = 0; k < out.length; k++) a[k][i] = out[k];
      }
    });
    onStep?.(i);
  }
  return entries.map((e, pi) => ({ policy: e.policy, allocations: kept[pi], score: scorers[pi].result() }));
}
