// How the loop plans its pulls: each signal's own start (a signal whose query failed is pulled again from where it
// stopped), and signals with the same start grouped into one pull.
import { groupBy } from '../model/group-by.js';

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
  const by = groupBy(resources, (r) => {
    const until = pulledUntil.get(r);
    return until === undefined ? windowStartS : Math.max(windowStartS, Math.min(endS, until - overlapS));
  });
  return [...by].map(([fromS, rs]) => ({ fromS, resources: rs })).sort((a, b) => b.fromS - a.fromS);
}
