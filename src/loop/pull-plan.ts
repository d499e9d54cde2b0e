// How the loop plans its pulls: each signal's own start (a signal whose query failed is pulled again from where it
// stopped), signals with the same start grouped into one pull, and the API-call breakdown kept across pulls.
import type { BreakdownSeries } from '../sources/history-source.js';

/** Stands for every signal of a source that declares none (its pulls cannot be narrowed). */
export const ALL_SIGNALS = '\u0000all';

/** Signals that are pulled from the same time this cycle. */
export interface PullGroup {
  fromS: number;
  resources: string[];
}

/**
 * Where each signal's pull starts this cycle: the history window's start for a signal never pulled, else its own
 * pulled-until time less the overlap (late scrapes, rate windows), never before the window nor after `endS`.
 * Signals with the same start form one group; the freshest group (in steady state the only one) comes first.
 */
export function pullGroups(resources: readonly string[], pulledUntil: ReadonlyMap<string, number>, windowStartS: number, endS: number, overlapS: number): PullGroup[] {
  const by = new Map<number, string[]>();
  for (const r of resources) {
    const until = pulledUntil.get(r);
    const fromS = until === undefined ? windowStartS : Math.max(windowStartS, Math.min(endS, until - overlapS));
    const l = by.get(fromS);
    if (l) l.push(r);
    else by.set(fromS, [r]);
  }
  return [...by].map(([fromS, rs]) => ({ fromS, resources: rs })).sort((a, b) => b.fromS - a.fromS);
}

/** Merges a breakdown pull into what is kept of that type (same grid; the pull wins where it has a sample), keeping
 *  at most the newest `cap` points. A pull may start before or end before what is kept (a signal caught up). */
export function mergeBreakdown(prev: BreakdownSeries, next: BreakdownSeries, cap: number): BreakdownSeries {
  const step = next.intervalS;
  const start = Math.min(prev.startS, next.startS);
  const end = Math.max(prev.startS + (prev.values.length - 1) * step, next.startS + (next.values.length - 1) * step);
  const n = Math.round((end - start) / step) + 1;
  const all = new Float64Array(n).fill(NaN);
  all.set(prev.values, Math.round((prev.startS - start) / step));
  const off = Math.round((next.startS - start) / step);
  for (let i = 0; i < next.values.length; i++) if (!Number.isNaN(next.values[i])) all[off + i] = next.values[i];
  const keep = Math.min(n, cap);
  return { ...next, startS: end - (keep - 1) * step, values: all.slice(n - keep) };
}

/** Time of the newest sample of a breakdown series (-Infinity when it has none). */
export function lastCallS(b: BreakdownSeries): number {
  for (let i = b.values.length - 1; i >= 0; i--) if (!Number.isNaN(b.values[i])) return b.startS + i * b.intervalS;
  return -Infinity;
}
