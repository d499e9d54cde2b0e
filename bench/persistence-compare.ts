// Foresight against persistence's sweep (slack against shortage_steps, one point per quantile p), for
// `npm run bench:backtest`'s "ahead of persistence" target: at Foresight's realised shortage rate, by running
// persistence at the p that realises it (bisection on p within the sweep, matchShortage); outside the sweep's range,
// by dominance over its nearest end. The sweep's linear interpolation (slackAt) is kept for comparison: the curve is
// convex, so the chord between two sweep points lies above it and overstates persistence's slack (google `cpu` at
// 0.01414: 0.2547 on the chord, 0.2461 on the curve).

export interface CurvePoint {
  slack: number;
  shortage_steps: number;
}

/** A point of persistence's sweep: its quantile p and what it realised. */
export interface SweepPoint extends CurvePoint {
  p: number;
}

/** Runs persistence once at each p given (one replay), returning their points in the same order. */
export type RunPersistence = (ps: readonly number[]) => CurvePoint[];

export interface MatchOptions {
  /** Most rounds of bisection (each one persistence run per shortage rate still open). */
  maxRounds: number;
  /** Stop once the bracket's shortage rates are within this share of the one sought (0.02: 2%). */
  relTol: number;
}

export const MATCH_DEFAULTS: Readonly<MatchOptions> = Object.freeze({ maxRounds: 8, relTol: 0.02 });

export interface MatchedSlack {
  /** Persistence's slack at the shortage rate sought. */
  slack: number;
  /** The p that realises it (interpolated within the final bracket). */
  p: number;
  /** The final bracket: the runs (or sweep points) just above and below the shortage rate sought. */
  bracket: [SweepPoint, SweepPoint];
  /** Persistence runs it took beyond the sweep. */
  runs: number;
}

/** A point realises a shortage rate (to rounding: the same count of short steps). */
function realises(q: CurvePoint, shortage: number): boolean {
  return Math.abs(q.shortage_steps - shortage) <= 1e-9 * shortage;
}

/** Where shortage lies on a segment (0 at a, 1 at b); 0 when the segment is flat. */
function along(a: CurvePoint, b: CurvePoint, shortage: number): number {
  return b.shortage_steps !== a.shortage_steps ? (shortage - a.shortage_steps) / (b.shortage_steps - a.shortage_steps) : 0;
}

/**
 * Persistence's slack at each shortage rate given, on its real curve: between the two sweep points that bracket a
 * rate, bisection on p (persistence's allocation, hence its slack, grows with p and its shortage falls) runs
 * persistence at the midpoint and keeps the half that still brackets the rate, until a run realises it or the
 * bracket's shortage rates are within relTol of it; the slack is then the chord of that bracket, whose error shrinks
 * with the square of its width. All rates are bisected together, one `run` call (one replay) per round. A rate
 * outside the sweep's range is undefined (comparePersistence judges it by dominance); one that a sweep point realises
 * takes that point's slack (the least, if several do).
 * Example (google `cpu`): the rate 0.01414 lies between the sweep's p = 0.95 (shortage 0.0171, slack 0.229) and
 * p = 0.98 (0.0074, 0.313), whose chord gives 0.2547; runs at p = 0.965, 0.9575, 0.96125, 0.959375 and 0.9603125 close
 * the bracket to (0.014171, 0.24573) .. (0.013893, 0.24772): slack 0.2460 at p = 0.95948.
 */
export function matchShortage(sweep: readonly SweepPoint[], shortages: readonly number[], run: RunPersistence, opts: Partial<MatchOptions> = {}): Array<MatchedSlack | undefined> {
  const o = { ...MATCH_DEFAULTS, ...opts };
  const pts = [...sweep].sort((a, b) => a.shortage_steps - b.shortage_steps || a.slack - b.slack);
  const state = shortages.map((s) => {
    const exact = pts.find((q) => realises(q, s));
    if (exact) return { s, lo: exact, hi: exact, runs: 0, done: true };
    const i = pts.findIndex((q, j) => j > 0 && pts[j - 1].shortage_steps < s && s < q.shortage_steps);
    // lo: less short (the higher p), hi: more short
    return i < 0 ? undefined : { s, lo: pts[i - 1], hi: pts[i], runs: 0, done: false };
  });
  for (let round = 0; round < o.maxRounds; round++) {
    const open = state.filter((x) => x && !x.done && x.hi.shortage_steps - x.lo.shortage_steps > o.relTol * x.s) as Array<NonNullable<(typeof state)[number]>>;
    if (open.length === 0) break;
    const ps = open.map((x) => (x.lo.p + x.hi.p) / 2);
    const got = run(ps);
    open.forEach((x, j) => {
      const q: SweepPoint = { p: ps[j], slack: got[j].slack, shortage_steps: got[j].shortage_steps };
      x.runs++;
      if (realises(q, x.s)) {
        x.lo = x.hi = q;
        x.done = true;
      } else if (q.shortage_steps < x.s) x.lo = q;
      else x.hi = q;
    });
  }
  return state.map((x) => {
    if (!x) return undefined;
    const w = along(x.lo, x.hi, x.s);
    return { slack: x.lo.slack + w * (x.hi.slack - x.lo.slack), p: x.lo.p + w * (x.hi.p - x.lo.p), bracket: [x.lo, x.hi], runs: x.runs };
  });
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
  /** Within the sweep: 'matched' against persistence run at the p that realises Foresight's shortage rate (the slack
   *  given as `matched`), 'interpolated' against the sweep's chord; 'dominates' when Foresight runs short less often
   *  than any point of the sweep with no more slack than the least-short point; 'outside' when no comparison holds
   *  (e.g. less shortage but more slack than that point: another trade-off, not better or worse). */
  how: 'matched' | 'interpolated' | 'dominates' | 'dominated' | 'outside';
}

/**
 * Foresight's point (slack, shortage_steps) against persistence's sweep. Within the sweep's range of shortage rates,
 * ahead when its slack is lower than `matched` (persistence's slack at that rate, matchShortage), or without it the
 * interpolated one. Below the range (Foresight short less often than any p),
 * ahead when its slack is also no higher than at the sweep's least-short point: every persistence setting then runs
 * short more often and the most cautious one also holds more, so Foresight is better on both counts (Pareto). Above
 * the range, behind when its slack is also no lower than at the sweep's most-short point.
 * Example: sweep (0.0011, 0.232) .. (0.207, 0.012); Foresight (0.00108, 0.1955): below the range with 0.84 x the
 * least-short point's slack: dominates, ahead.
 */
export function comparePersistence(curve: readonly CurvePoint[], f: CurvePoint, matched?: number): PersistenceComparison | undefined {
  if (curve.length === 0) return undefined;
  const at = slackAt(curve, f.shortage_steps);
  if (at !== undefined && matched !== undefined) return { ahead: f.slack < matched, ratio: f.slack / matched, how: 'matched' };
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
