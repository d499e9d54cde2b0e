// Behavioural profile of a tenant: per signal its level, volatility, burstiness and daily/weekly shape, plus the mix
// of API call types (kept across pulls by src/model/call-mix.ts). Pure functions over a regular window (NaN =
// missing); no I/O.

export interface SignalProfile {
  resource: string;
  /** Mean over the window, base unit. */
  level: number;
  /** Coefficient of variation (std / mean); 0 for a constant or empty signal. */
  volatility: number;
  /**
   * p99 / median (1 = no bursts). When the median is 0 (a signal idle most of the time), p99 / mean instead, so that
   * it stays a unitless ratio; 1 when the mean is 0 too (an all-zero signal). Never NaN.
   */
  burstiness: number;
  /** Mean per hour of day (UTC), 24 values, NaN where no sample fell. */
  dailyShape: number[];
  /** Mean per day of week (0 = Monday, UTC), 7 values, NaN where no sample fell. */
  weeklyShape: number[];
  /** Share of variance explained by the hour-of-day means (0..1); NaN (unknown) for a window shorter than a day. */
  dailySeasonality: number;
  /**
   * Share of variance explained by the day-of-week means (0..1); NaN (unknown) for a window shorter than
   * WEEKLY_MIN_DAYS: with one week each weekday is seen once, so its mean cannot tell a weekly shape from noise or a
   * trend. The default history (one week) is too short: raise FORESIGHT_HISTORY to 14 days or more to get it.
   */
  weeklySeasonality: number;
  /** Samples that were present (finite). */
  samples: number;
}

export interface TenantProfile {
  tenant: string;
  /** Profile time (end of the window), UNIX seconds. */
  atS: number;
  signals: Record<string, SignalProfile>;
  /** Share of API calls by type ("GET /api/items" -> 0.55), summing to 1; empty when unknown. */
  apiMix: Record<string, number>;
}

/** Days of window below which the weekly seasonality is unknown (each weekday seen at least twice). */
export const WEEKLY_MIN_DAYS = 14;

/**
 * The k-th smallest of a[lo..hi] (reordered in place; the whole array by default): Hoare's quickselect (Hoare 1961,
 * "Algorithm 65: find"), O(n) on average; typed-array sort of a week at 5 minutes was ~270 us per series on Node 20,
 * this is ~20 us. After it, a[lo..k) <= a[k] <= a(k..hi].
 */
export function selectKth(a: Float64Array, k: number, lo = 0, hi = a.length - 1): number {
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k];
}

/** The largest values seen by kthLargest, in descending order (a few dozen at most). */
const top = new Float64Array(64);

/**
 * The m-th largest of a[lo..hi] (1 <= m <= hi - lo + 1): for a small m, one pass keeping the m largest in order, most
 * values rejected by one comparison; selectKth otherwise. The same value as selectKth(a, hi + 1 - m, lo, hi), without
 * its passes over a range whose order the selection before left (the p99 of a week's 2,016 points took a quickselect
 * 28 us in the upper half the median's selection left, this about 3).
 */
export function kthLargest(a: Float64Array, m: number, lo: number, hi: number): number {
  if (m > top.length) return selectKth(a, hi + 1 - m, lo, hi);
  let len = 0;
  for (let i = lo; i <= hi; i++) {
    const v = a[i];
    if (len === m && !(v > top[m - 1])) continue;
    let j = len < m ? len++ : m - 1;
    for (; j > 0 && top[j - 1] < v; j--) top[j] = top[j - 1];
    top[j] = v;
  }
  return top[m - 1];
}

/** Nearest-rank index of quantile q among n values. */
function rankOf(n: number, q: number): number {
  return Math.round((n - 1) * q);
}

/** The present values of the window being profiled: reused across calls (a week is 16 KB a signal, and the loop
 *  profiles thousands of signals a cycle). */
let scratch = new Float64Array(0);

/** Fraction of variance explained by group means (eta squared, Cohen 1988): SS_between / SS_total. */
function etaSquared(sum: Float64Array, cnt: Float64Array, ssTot: number, mean: number): { share: number; means: number[] } {
  const means: number[] = [];
  let ssB = 0;
  let seen = 0;
  for (let g = 0; g < sum.length; g++) {
    if (cnt[g] === 0) {
      means.push(NaN);
      continue;
    }
    seen++;
    const m = sum[g] / cnt[g];
    means.push(m);
    ssB += cnt[g] * (m - mean) ** 2;
  }
  return { share: ssTot > 0 && seen > 1 ? Math.min(1, ssB / ssTot) : 0, means };
}

/**
 * p99 over median; p99 over mean when the median is 0, and the largest value over the mean when even the p99 is 0 (a
 * signal idle but for under 1% of its points: its rare bursts are all there is to it); unitless either way; 1 when
 * there is nothing above 0.
 */
function burstiness(median: number, p99: number, max: number, mean: number): number {
  if (median > 0) return p99 / median;
  if (!(mean > 0)) return 1;
  return p99 > 0 ? p99 / mean : max / mean;
}

/** Profiles one signal window starting at `startS` with spacing `intervalS`; NaN and infinite values are missing (an
 *  infinity would make the level, volatility and shape Infinity or NaN). */
export function profileSignal(resource: string, values: ArrayLike<number>, startS: number, intervalS: number): SignalProfile {
  // One pass for the count, sum and maximum and the hour-of-day and day-of-week sums (0 = Monday: 1970-01-01 was a
  // Thursday), an hour's points at a time, and on how many dates each hour and each weekday had a sample: a shape seen
  // once cannot be told from a trend or a single event (one day of steady growth explains nearly all of its variance
  // by the hour), so a seasonality needs every group seen on two dates or more.
  const hSum = new Float64Array(24);
  const hCnt = new Float64Array(24);
  const dSum = new Float64Array(7);
  const dCnt = new Float64Array(7);
  const hDates = new Int32Array(24), hLast = new Int32Array(24).fill(-1);
  const dDates = new Int32Array(7), dLast = new Int32Array(7).fill(-1);
  let n = 0;
  let sum = 0;
  let max = -Infinity;
  let sod = ((startS % 86_400) + 86_400) % 86_400;
  let date = 0;
  let dow = (Math.floor(startS / 86_400) + 3) % 7;
  for (let i = 0; i < values.length; ) {
    const h = (sod / 3600) | 0;
    const end = Math.min(values.length, i + Math.max(1, Math.ceil(((h + 1) * 3600 - sod) / intervalS)));
    const steps = end - i;
    let s = 0;
    let c = 0;
    for (; i < end; i++) {
      const v = values[i];
      if (Number.isFinite(v)) {
        s += v;
        c++;
        if (v > max) max = v;
      }
    }
    if (c > 0) {
      n += c;
      sum += s;
      hSum[h] += s;
      hCnt[h] += c;
      dSum[dow] += s;
      dCnt[dow] += c;
      if (hLast[h] !== date) {
        hLast[h] = date;
        hDates[h]++;
      }
      if (dLast[dow] !== date) {
        dLast[dow] = date;
        dDates[dow]++;
      }
    }
    sod += steps * intervalS;
    while (sod >= 86_400) {
      sod -= 86_400;
      date++;
      dow = dow === 6 ? 0 : dow + 1;
    }
  }
  const empty = { resource, level: NaN, volatility: 0, burstiness: 1, dailyShape: new Array<number>(24).fill(NaN), weeklyShape: new Array<number>(7).fill(NaN), dailySeasonality: NaN, weeklySeasonality: NaN, samples: 0 };
  if (n === 0) return empty;
  const mean = sum / n;
  if (scratch.length < n) scratch = new Float64Array(Math.max(n, 2 * scratch.length));
  const present = scratch;
  let k = 0;
  let ss = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isFinite(v)) {
      present[k++] = v;
      ss += (v - mean) ** 2;
    }
  }
  const std = Math.sqrt(ss / n);
  // the median first: its selection leaves every value above it to its right, where the p99 then is
  const kMed = rankOf(n, 0.5);
  const median = selectKth(present, kMed, 0, n - 1);
  const kP99 = rankOf(n, 0.99);
  const p99 = kP99 > kMed ? kthLargest(present, n - kP99, kMed + 1, n - 1) : median;
  const daily = etaSquared(hSum, hCnt, ss, mean);
  const spanDays = (values.length * intervalS) / 86_400;
  const weekly = etaSquared(dSum, dCnt, ss, mean);
  const seenTwice = (dates: Int32Array): boolean => dates.every((d) => d >= 2);
  return {
    resource,
    level: mean,
    volatility: mean > 0 ? std / mean : 0,
    burstiness: burstiness(median, p99, max, mean),
    dailyShape: daily.means,
    weeklyShape: weekly.means,
    dailySeasonality: seenTwice(hDates) ? daily.share : NaN,
    weeklySeasonality: spanDays >= WEEKLY_MIN_DAYS && seenTwice(dDates) ? weekly.share : NaN,
    samples: n,
  };
}
