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

/** Counts per bucket of selectBucketed (reused), and the values of the upper rank's bucket when the two ranks' buckets
 *  differ (grown as needed). */
const bucketCounts = new Int32Array(256);
let upperBucket = new Float64Array(0);

/** Bucket of v among B of equal width from lo, `scale` = B / (hi - lo): monotone in v, the largest value in the last. */
function bucketOf(v: number, lo: number, scale: number, B: number): number {
  const b = ((v - lo) * scale) | 0;
  return b < B ? b : B - 1;
}

/**
 * The k1-th and k2-th smallest (k1 <= k2) of a[0..n), whose least and largest values are lo and hi, into out[0] and
 * out[1] (a[0..n) is overwritten): the values are counted into 256 buckets of equal width between lo and hi; the
 * bucket that holds a rank is kept and split again, until its values are all equal or few enough for selectKth.
 * A bucket is floor((v - lo) * 256 / (hi - lo)), monotone in v, so a bucket's values are exactly those of its ranks.
 * The same values as selectKth, for a pass or two of counting instead of a quickselect's unpredictable comparisons
 * and swaps (a week at 5 minutes, in a micro-benchmark: a whole profile 26 us, against 34 us with the median by
 * selectKth and the p99 by a pass keeping the largest few; about 12 us of the 26 are these two ranks).
 */
export function selectBucketed(a: Float64Array, n: number, k1: number, k2: number, lo: number, hi: number, out: Float64Array): void {
  const B = bucketCounts.length;
  const counts = bucketCounts;
  const scale = B / (hi - lo);
  if (!(lo < hi)) {
    out[0] = out[1] = lo;
    return;
  }
  if (n <= 64 || !(scale > 0 && scale < Infinity)) {
    out[0] = selectKth(a, k1, 0, n - 1);
    // selectKth leaves a[k1 + 1..] at or above out[0]: the k2-th is there
    out[1] = k2 > k1 ? selectKth(a, k2, k1 + 1, n - 1) : out[0];
    return;
  }
  counts.fill(0);
  for (let i = 0; i < n; i++) counts[bucketOf(a[i], lo, scale, B)]++;
  let acc1 = 0;
  let t1 = 0;
  while (acc1 + counts[t1] <= k1) acc1 += counts[t1++];
  let acc2 = acc1;
  let t2 = t1;
  while (acc2 + counts[t2] <= k2) acc2 += counts[t2++];
  // the lower rank's bucket to the front of a (a[m1] is read before it is written: m1 <= i), the upper's apart
  const m2 = t2 === t1 ? 0 : counts[t2];
  if (upperBucket.length < m2) upperBucket = new Float64Array(Math.max(m2, 2 * upperBucket.length));
  const up = upperBucket;
  let m1 = 0, j = 0;
  let lo1 = Infinity, hi1 = -Infinity, lo2 = Infinity, hi2 = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = a[i];
    const b = bucketOf(v, lo, scale, B);
    if (b === t1) {
      a[m1++] = v;
      if (v < lo1) lo1 = v;
      if (v > hi1) hi1 = v;
    } else if (b === t2) {
      up[j++] = v;
      if (v < lo2) lo2 = v;
      if (v > hi2) hi2 = v;
    }
  }
  if (t2 === t1) {
    selectBucketed(a, m1, k1 - acc1, k2 - acc1, lo1, hi1, out);
    return;
  }
  // each rank in its own bucket: the upper first (its values are in the shared array the lower's call may reuse)
  selectBucketed(up, m2, k2 - acc2, k2 - acc2, lo2, hi2, out);
  const upper = out[1];
  selectBucketed(a, m1, k1 - acc1, k1 - acc1, lo1, hi1, out);
  out[1] = upper;
}

/** Nearest-rank index of quantile q among n values. */
function rankOf(n: number, q: number): number {
  return Math.round((n - 1) * q);
}

/** The present values of the window being profiled: reused across calls (a week is 16 KB a signal, and the loop
 *  profiles thousands of signals a cycle). */
let scratch = new Float64Array(0);
/** The median and p99 of the window being profiled. */
const ranked = new Float64Array(2);

/** Fraction of variance explained by group means (eta squared, Cohen 1988): SS_between / SS_total. */
function etaSquared(sum: Float64Array, cnt: Float64Array, ssTot: number, mean: number): { share: number; means: number[] } {
  // kept with the profile for its period: an array of its own length (pushed one by one, 24 values took room for 41)
  const means = new Array<number>(sum.length);
  let ssB = 0;
  let seen = 0;
  for (let g = 0; g < sum.length; g++) {
    if (cnt[g] === 0) {
      means[g] = NaN;
      continue;
    }
    seen++;
    const m = sum[g] / cnt[g];
    means[g] = m;
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

/** profileSignal's sums and counts by hour of day and by weekday, reset by each call (it keeps no reference to them). */
const groups = {
  hSum: new Float64Array(24),
  hCnt: new Float64Array(24),
  dSum: new Float64Array(7),
  dCnt: new Float64Array(7),
  hDates: new Int32Array(24),
  hLast: new Int32Array(24),
  dDates: new Int32Array(7),
  dLast: new Int32Array(7),
};

/** Profiles one signal window starting at `startS` with spacing `intervalS`; NaN and infinite values are missing (an
 *  infinity would make the level, volatility and shape Infinity or NaN). */
export function profileSignal(resource: string, values: ArrayLike<number>, startS: number, intervalS: number): SignalProfile {
  // One pass for the count, sum and maximum and the hour-of-day and day-of-week sums (0 = Monday: 1970-01-01 was a
  // Thursday), an hour's points at a time, and on how many dates each hour and each weekday had a sample: a shape seen
  // once cannot be told from a trend or a single event (one day of steady growth explains nearly all of its variance
  // by the hour), so a seasonality needs every group seen on two dates or more.
  const { hSum, hCnt, dSum, dCnt, hDates, hLast, dDates, dLast } = groups;
  hSum.fill(0);
  hCnt.fill(0);
  dSum.fill(0);
  dCnt.fill(0);
  hDates.fill(0);
  hLast.fill(-1);
  dDates.fill(0);
  dLast.fill(-1);
  // the present values are gathered in the same pass (the median and p99 are selected among them)
  if (scratch.length < values.length) scratch = new Float64Array(Math.max(values.length, 2 * scratch.length));
  const present = scratch;
  let n = 0;
  let sum = 0;
  let max = -Infinity;
  let min = Infinity;
  let sod = ((startS % 86_400) + 86_400) % 86_400;
  let date = 0;
  let dow = (Math.floor(startS / 86_400) + 3) % 7;
  for (let i = 0; i < values.length; ) {
    const h = (sod / 3600) | 0;
    const end = Math.min(values.length, i + Math.max(1, Math.ceil(((h + 1) * 3600 - sod) / intervalS)));
    const steps = end - i;
    const n0 = n;
    let s = 0;
    for (; i < end; i++) {
      const v = values[i];
      // finite: NaN - NaN and Infinity - Infinity are NaN
      if (v - v === 0) {
        s += v;
        present[n++] = v;
        if (v > max) max = v;
        if (v < min) min = v;
      }
    }
    const c = n - n0;
    if (c > 0) {
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
  if (n === 0) return { resource, level: NaN, volatility: 0, burstiness: 1, dailyShape: new Array<number>(24).fill(NaN), weeklyShape: new Array<number>(7).fill(NaN), dailySeasonality: NaN, weeklySeasonality: NaN, samples: 0 };
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (present[i] - mean) ** 2;
  const std = Math.sqrt(ss / n);
  selectBucketed(present, n, rankOf(n, 0.5), rankOf(n, 0.99), min, max, ranked);
  const median = ranked[0], p99 = ranked[1];
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
