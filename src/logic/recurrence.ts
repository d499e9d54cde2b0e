// Weekly recurrence: a sample that lies within what the same series did at the same time one week earlier is not an
// anomaly of the tenant's behaviour, whatever its detectors say (pure, no I/O).
//
// The detectors (assembly/anomaly/) model a daily season and calibrate on about a week of their own scores, so a
// weekly shape reads to them as an anomaly: the Monday-morning rise after a quieter weekend becomes a level shift, and
// once the previous Monday has left the calibration window (2,000 points, just under a week at 5 minutes) it does so
// every week. Measured by `npm run bench:weekly` (the sidecar's scorer on 100 synthetic tenants with a daily cycle and
// a weekend 30% lower, 4 weeks streamed one sample per cycle after a day's warm-up ending on a Sunday): without this
// rule 68 tenants flagged on the first Monday, 33 on each later one and 10-13 on Saturdays. Under quarantine that
// holds back the very scale-up Foresight exists for.
//
// The rule: sample x at time t recurs when last week's values in [t - 1 week - margin, t - 1 week + margin] (margin
// 30 minutes, for schedules that drift) are at least half known and x lies in their range [lo, hi] widened by its own
// width on each side. Its score is then no evidence for the tenant's verdict (the detectors still learn from it).
// The loop reads the week-ago values from its history store (src/loop/engine-loop.ts sizes it and the first pull for
// them), so this works from the first cycle, not only after a week of scoring.
// What it cannot see: a repeat of last week's own anomaly at the same time (it recurs), a change of pattern that stays
// within last week's range (the price: see the README), and any sample whose week-ago values the store does not hold
// (a series younger than a week: nothing recurs).

/** The recurrence period, seconds. */
export const RECURRENCE_PERIOD_S = 7 * 86_400;
/** Half-width of the week-ago window, seconds. */
export const RECURRENCE_MARGIN_S = 1_800;
/** The range is widened by this share of its width on each side. */
export const RECURRENCE_WIDEN = 1;

/** Where the week-ago values of samples starting at `startS` come from, on a grid of `intervalS`. */
export interface WeekAgoSpan {
  /** Time of the first week-ago value: startS - period - margin. */
  startS: number;
  /** Values for n samples: n + 2 * margin slots. */
  length: number;
  /** Margin in slots. */
  margin: number;
}

/** Slots of margin on a grid of `intervalS` (at least 1). */
export function recurrenceMargin(intervalS: number): number {
  return Math.max(1, Math.round(RECURRENCE_MARGIN_S / intervalS));
}

/** The week-ago values to fetch for `n` samples starting at `startS`. */
export function weekAgoSpan(startS: number, n: number, intervalS: number): WeekAgoSpan {
  const margin = recurrenceMargin(intervalS);
  return { startS: startS - RECURRENCE_PERIOD_S - margin * intervalS, length: n + 2 * margin, margin };
}

/** The week-ago values (weekAgoSpan) of samples `values[from .. from + n)` of one array on a grid of `intervalS`, read
 *  from the same array: NaN before its start (the backtest's trace, which holds all that was seen). */
export function weekAgoWithin(values: ArrayLike<number>, from: number, n: number, intervalS: number): Float64Array {
  const margin = recurrenceMargin(intervalS);
  const at = from - Math.round(RECURRENCE_PERIOD_S / intervalS) - margin;
  const out = new Float64Array(n + 2 * margin).fill(NaN);
  for (let j = Math.max(0, -at); j < out.length && at + j < values.length; j++) out[j] = values[at + j];
  return out;
}

/**
 * Whether `x` recurs in the week-ago values `weekAgo[start .. end)`: finite, at least half of `expected` of them known,
 * and `x` within their range widened by RECURRENCE_WIDEN of its width on each side.
 */
export function recursIn(x: number, weekAgo: ArrayLike<number>, start: number, end: number, expected: number): boolean {
  if (!Number.isFinite(x)) return false;
  let lo = Infinity, hi = -Infinity, known = 0;
  for (let j = Math.max(0, start); j < end && j < weekAgo.length; j++) {
    const v = weekAgo[j];
    if (!Number.isFinite(v)) continue;
    known++;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (known === 0 || 2 * known < expected) return false;
  const tol = RECURRENCE_WIDEN * (hi - lo);
  return x >= lo - tol && x <= hi + tol;
}

/**
 * Per sample of `values` from index `from` on, 1 when it recurs (see the file header), else 0. `weekAgo[i + j]`,
 * j in [0, 2 * margin], is the window of sample i (NaN where unknown); a missing or short `weekAgo` recurs nothing.
 */
export function recurringSamples(values: ArrayLike<number>, weekAgo: ArrayLike<number> | undefined, margin: number, from = 0): Uint8Array {
  const out = new Uint8Array(values.length);
  if (!weekAgo) return out;
  const w = 2 * margin + 1;
  for (let i = Math.max(0, from); i < values.length; i++) {
    if (i + w <= weekAgo.length && recursIn(values[i], weekAgo, i, i + w, w)) out[i] = 1;
  }
  return out;
}
