// Weekly recurrence: a sample that lies within what the same series did at the same time one week earlier is not an
// anomaly of the tenant's behaviour, whatever its detectors say (pure, no I/O).
//
// The detectors (assembly/anomaly/) model a daily season and calibrate on about a week of their own scores, so a
// weekly shape reads to them as an anomaly: the Monday-morning rise after a quieter weekend becomes a level shift, and
// once the previous Monday has left the calibration window (2,000 points, just under a week at 5 minutes) it does so
// every week. Measured with the sidecar's scorer on 100 synthetic tenants (cpu and memory, a daily cycle, a weekend 30%
// lower, 4 weeks streamed one sample per cycle): 27 tenants flagged every Monday and 11-12 every Saturday, and 60 on
// the first Monday after a one-day warm-up. Under quarantine that holds back the very scale-up Foresight exists for.
//
// The rule: sample x at time t recurs when last week's values in [t - 1 week - margin, t - 1 week + margin] (margin
// 30 minutes, for schedules that drift) are at least half known and x lies in their range [lo, hi] widened by a
// quarter of its width on each side. Its score is then no evidence for the tenant's verdict (the detectors still learn
// from it). The history store keeps a week, so this works from the first cycle, not only after a week of scoring.
// What it cannot see: a repeat of last week's own anomaly at the same time (it recurs), and anything when the history
// is shorter than a week (no week-ago values: no sample recurs).

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
 * Per sample of `values` from index `from` on, 1 when it recurs (see the file header), else 0. `weekAgo[i + j]`,
 * j in [0, 2 * margin], is the window of sample i (NaN where unknown); a missing or short `weekAgo` recurs nothing.
 */
export function recurringSamples(values: ArrayLike<number>, weekAgo: ArrayLike<number> | undefined, margin: number, from = 0): Uint8Array {
  const out = new Uint8Array(values.length);
  if (!weekAgo) return out;
  const w = 2 * margin + 1;
  for (let i = Math.max(0, from); i < values.length; i++) {
    const x = values[i];
    if (!Number.isFinite(x) || i + w > weekAgo.length) continue;
    let lo = Infinity, hi = -Infinity, known = 0;
    for (let j = i; j < i + w; j++) {
      const v = weekAgo[j];
      if (!Number.isFinite(v)) continue;
      known++;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    if (2 * known < w) continue;
    const tol = RECURRENCE_WIDEN * (hi - lo);
    if (x >= lo - tol && x <= hi + tol) out[i] = 1;
  }
  return out;
}
