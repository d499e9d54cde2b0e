// Foresight against persistence's sweep (slack against shortage_steps, one point per quantile p), for
// `npm run bench:backtest`'s "ahead of persistence" target: at Foresight's realised shortage rate, by linear
// interpolation of the sweep; outside the sweep's range, by dominance over its nearest end.

export interface CurvePoint {
  slack: number;
  shortage_steps: number;
}

/** Slack of a curve at a shortage rate, by linear interpolation (undefined outside the curve's range). */
export function slackAt(curve: readonly CurvePoint[], shortage: number): number | undefined {
  const pts = [...curve].sort((a, b) => a.shortage_steps - b.shortage_steps);
  for (let i = 1; i < pts.length; i++) {
    const a = pts[i - 1];
    const b = pts[i];
    if (shortage >= a.shortage_steps && shortage <= b.shortage_steps) {
      const w = b.shortage_steps > a.shortage_steps ? (shortage - a.shortage_steps) / (b.shortage_steps - a.shortage_steps) : 0;
      return a.slack + w * (b.slack - a.slack);
    }
  }
  return undefined;
}

export interface PersistenceComparison {
  /** Foresight is ahead: less slack than persistence at the same shortage rate, or it dominates the sweep's end. */
  ahead: boolean;
  /** Foresight's slack over persistence's at the same shortage rate; outside the sweep, over the slack of its end. */
  ratio: number;
  /** 'interpolated' within the sweep; 'dominates' when Foresight runs short less often than any point of the sweep
   *  with no more slack than the least-short point; 'outside' when no comparison holds (e.g. less shortage but more
   *  slack than that point: another trade-off, not better or worse). */
  how: 'interpolated' | 'dominates' | 'dominated' | 'outside';
}

/**
 * Foresight's point (slack, shortage_steps) against persistence's sweep. Within the sweep's range of shortage rates,
 * ahead when its slack is lower than the interpolated one. Below the range (Foresight short less often than any p),
 * ahead when its slack is also no higher than at the sweep's least-short point: every persistence setting then runs
 * short more often and the most cautious one also holds more, so Foresight is better on both counts (Pareto). Above
 * the range, behind when its slack is also no lower than at the sweep's most-short point.
 * Example: sweep (0.0011, 0.232) .. (0.207, 0.012); Foresight (0.00108, 0.1955): below the range with 0.84 x the
 * least-short point's slack: dominates, ahead.
 */
export function comparePersistence(curve: readonly CurvePoint[], f: CurvePoint): PersistenceComparison | undefined {
  if (curve.length === 0) return undefined;
  const at = slackAt(curve, f.shortage_steps);
  if (at !== undefined) return { ahead: f.slack < at, ratio: f.slack / at, how: 'interpolated' };
  const pts = [...curve].sort((a, b) => a.shortage_steps - b.shortage_steps);
  const least = pts[0], most = pts[pts.length - 1];
  if (f.shortage_steps < least.shortage_steps) {
    const ratio = f.slack / least.slack;
    return { ahead: ratio <= 1, ratio, how: ratio <= 1 ? 'dominates' : 'outside' };
  }
  const ratio = f.slack / most.slack;
  return { ahead: false, ratio, how: ratio >= 1 ? 'dominated' : 'outside' };
}
