// Scores allocations against usage: slack, shortage steps and volume, changes per step, after a day of warm-up.
import type { Grid } from './grid.js';

export interface Score {
  /** sum(max(allocation - usage, 0)) / sum(usage); Infinity for an allocation held while usage was all zero */
  slack: number;
  /** share of scored (tenant, step) with usage > allocation */
  shortage_steps: number;
  /** sum(max(usage - allocation, 0)) / sum(usage) */
  shortage_volume: number;
  /** share of scored steps where the allocation changed from the step before */
  changes_per_step: number;
  /** scored (tenant, step) pairs */
  steps: number;
}

interface Acc {
  usage: number;
  slack: number;
  short: number;
  shortVol: number;
  changes: number;
  n: number;
}

const zero = (): Acc => ({ usage: 0, slack: 0, short: 0, shortVol: 0, changes: 0, n: 0 });

function finish(a: Acc): Score {
  return {
    slack: a.usage > 0 ? a.slack / a.usage : a.slack > 0 ? Infinity : 0,
    shortage_steps: a.n ? a.short / a.n : 0,
    shortage_volume: a.usage > 0 ? a.shortVol / a.usage : 0,
    changes_per_step: a.n ? a.changes / a.n : 0,
    steps: a.n,
  };
}

/** First scored step of tenant k: one day after its first sample. */
export function scoredFrom(grid: Grid, k: number, warmupSteps: number): number {
  return grid.firstSample[k] + warmupSteps;
}

/** Steps the scores will count (as ScoreAccumulator picks them), and the known usage values of the grid in all. */
export function scorableSteps(grid: Grid, warmupSteps: number): { scorable: number; present: number } {
  let scorable = 0;
  let present = 0;
  grid.usage.forEach((u, k) => {
    const from = Math.max(1, scoredFrom(grid, k, warmupSteps));
    for (let i = 0; i < u.length; i++) {
      if (u[i] !== u[i]) continue;
      present++;
      if (i >= from) scorable++;
    }
  });
  return { scorable, present };
}

/**
 * Scores one policy step by step (so a sweep need not keep every allocation). A step is scored when it is at least
 * `warmupSteps` after the tenant's first sample and the usage is known; a missing allocation (NaN) counts as zero. A
 * change is counted when the allocation differs from the previous step's (both treated the same way).
 */
export class ScoreAccumulator {
  readonly #grid: Grid;
  readonly #from: Int32Array;
  readonly #acc: Acc[];
  readonly #prev: Float64Array;

  constructor(grid: Grid, warmupSteps: number) {
    this.#grid = grid;
    this.#from = Int32Array.from(grid.tenants, (_, k) => Math.max(1, scoredFrom(grid, k, warmupSteps)));
    this.#acc = grid.tenants.map(zero);
    this.#prev = new Float64Array(grid.tenants.length);
  }

  /** Adds step i (steps in increasing order, each once): `alloc[k]` is tenant k's allocation at step i. */
  add(i: number, alloc: ArrayLike<number>): void {
    const usage = this.#grid.usage;
    for (let k = 0; k < alloc.length; k++) {
      const al = alloc[k] === alloc[k] ? alloc[k] : 0;
      const prev = this.#prev[k];
      this.#prev[k] = al;
      const x = usage[k][i];
      if (i < this.#from[k] || x !== x) continue;
      const acc = this.#acc[k];
      acc.n++;
      acc.usage += x;
      if (al >= x) acc.slack += al - x;
      else {
        acc.short++;
        acc.shortVol += x - al;
      }
      if (al !== prev) acc.changes++;
    }
  }

  result(): { total: Score; perTenant: Score[] } {
    const total = zero();
    for (const a of this.#acc) {
      total.usage += a.usage;
      total.slack += a.slack;
      total.short += a.short;
      total.shortVol += a.shortVol;
      total.changes += a.changes;
      total.n += a.n;
    }
    return { total: finish(total), perTenant: this.#acc.map(finish) };
  }
}

/** Scores stored allocations (allocations[k][i]) with the same rules as ScoreAccumulator. */
export function score(grid: Grid, allocations: readonly Float64Array[], warmupSteps: number): { total: Score; perTenant: Score[] } {
  const acc = new ScoreAccumulator(grid, warmupSteps);
  const col = new Float64Array(allocations.length);
  for (let i = 0; i < grid.nSteps; i++) {
    for (let k = 0; k < allocations.length; k++) col[k] = allocations[k][i];
    acc.add(i, col);
  }
  return acc.result();
}
