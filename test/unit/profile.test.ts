import { describe, expect, it } from 'vitest';
import { profileSignal, selectBucketed, selectKth, WEEKLY_MIN_DAYS } from '../../src/model/profile.js';
import { HistoryStore } from '../../src/model/history-store.js';
import { uniform } from '../helpers/random.js';

const DAY = 86_400;

describe('profileSignal', () => {
  it('finds a strong daily shape, its peak hour, level and volatility', () => {
    const step = 300;
    const n = (7 * DAY) / step;
    const v = new Float64Array(n);
    for (let i = 0; i < n; i++) v[i] = 10 + 5 * Math.cos((2 * Math.PI * ((i * step) % DAY - 14 * 3600)) / DAY);
    const p = profileSignal('cpu', v, 0, step);
    expect(p.level).toBeCloseTo(10, 1);
    expect(p.dailySeasonality).toBeGreaterThan(0.95);
    const peakHour = p.dailyShape.indexOf(Math.max(...p.dailyShape));
    expect(peakHour).toBe(14);
    expect(p.volatility).toBeGreaterThan(0.3);
    // one week: too short to tell a weekly shape, so unknown rather than 0
    expect(p.weeklySeasonality).toBeNaN();
  });

  it('leaves the weekly seasonality unknown under two weeks and measures it from two weeks on', () => {
    const step = 300;
    // weekdays at 10, weekends at 1 (day 0 = 1970-01-01, a Thursday: days 2 and 3 of each week are the weekend)
    const weekend = (i: number) => [2, 3].includes(Math.floor((i * step) / DAY) % 7);
    const series = (days: number) => Float64Array.from({ length: (days * DAY) / step }, (_, i) => (weekend(i) ? 1 : 10));
    const week = profileSignal('cpu', series(7), 0, step);
    expect(week.weeklySeasonality).toBeNaN();
    expect(week.weeklyShape.filter((v) => v === 1)).toHaveLength(2); // the shape itself is still reported
    const two = profileSignal('cpu', series(WEEKLY_MIN_DAYS), 0, step);
    expect(two.weeklySeasonality).toBeGreaterThan(0.99);
    // and the daily share under a day: unknown too
    expect(profileSignal('cpu', series(1).subarray(0, 100), 0, step).dailySeasonality).toBeNaN();
  });

  it('gives zero volatility and burstiness 1 for a constant series, and survives gaps and empty input', () => {
    const c = profileSignal('mem', new Float64Array(100).fill(4), 0, 60);
    expect(c.volatility).toBe(0);
    expect(c.burstiness).toBe(1);
    const g = profileSignal('mem', Float64Array.from([NaN, 1, NaN, 1]), 0, 60);
    expect(g.samples).toBe(2);
    const e = profileSignal('mem', new Float64Array(3).fill(NaN), 0, 60);
    expect(e.samples).toBe(0);
    expect(Number.isNaN(e.level)).toBe(true);
  });

  it('skips infinite values as missing: the level, volatility and shapes stay finite', () => {
    // a float32 store turns a value beyond 3.4e38 into +Inf
    const values = Float32Array.from({ length: 48 }, (_, i) => (i === 5 ? Infinity : i === 7 ? -Infinity : 1 + (i % 3)));
    const p = profileSignal('disk_write', values, 0, 3600);
    expect(p.samples).toBe(46);
    for (const x of [p.level, p.volatility, p.burstiness, ...p.dailyShape]) expect(Number.isFinite(x)).toBe(true);
    expect(p.dailyShape[5]).toBe(3); // hour 5 has only the next day's sample (29 % 3 + 1)
  });

  it('gives the same profile whatever windows it profiled before (the working buffer is reused)', () => {
    const long = Float64Array.from({ length: 4000 }, (_, i) => 100 + (i % 97));
    const short = Float64Array.from({ length: 500 }, (_, i) => (i % 13 === 0 ? NaN : 1 + ((i * 7919) % 101) / 10));
    const fresh = profileSignal('cpu', short, 3600, 300);
    profileSignal('cpu', long, 0, 300);
    expect(profileSignal('cpu', short, 3600, 300)).toEqual(fresh);
    // median and p99 by nearest rank, as a full sort gives them
    const sorted = [...short].filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.round((sorted.length - 1) * q)];
    expect(fresh.burstiness).toBe(at(0.99) / at(0.5));
  });

  it('measures burstiness as p99 over median', () => {
    const v = new Float64Array(1000).fill(1);
    for (let i = 0; i < 20; i++) v[i * 50] = 10;
    expect(profileSignal('cpu', v, 0, 60).burstiness).toBeGreaterThan(5);
  });

  it('keeps burstiness a unitless ratio when the median is 0: p99 over mean, 1 when all zero', () => {
    // idle network most of the time, 50 MB/s bursts 2.5% of the time: median 0, p99 50e6, mean 1.25e6
    const v = new Float64Array(2000);
    for (let i = 0; i < v.length; i += 40) v[i] = 50e6;
    const b = profileSignal('network_rx', v, 0, 300).burstiness;
    expect(b).toBeCloseTo(40, 9);
    // the same shape in other units gives the same ratio
    expect(profileSignal('network_rx', v.map((x) => x / 1e6), 0, 300).burstiness).toBeCloseTo(40, 9);
    expect(profileSignal('network_rx', new Float64Array(100), 0, 300).burstiness).toBe(1);
    // bursts in under 1% of the points (p99 0 too): the largest over the mean, not 1 ("no bursts")
    const rare = new Float64Array(2016);
    for (let i = 0; i < 10; i++) rare[i * 200] = 50;
    expect(profileSignal('file_ops', rare, 0, 300).burstiness).toBeCloseTo(50 / (500 / 2016), 9);
  });

  it('tells a daily shape only from every hour seen on two dates or more: not from one day of growth', () => {
    const step = 300;
    const ramp = (days: number) => Float64Array.from({ length: (days * DAY) / step }, (_, i) => i); // no daily cycle
    expect(profileSignal('memory', ramp(1), 0, step).dailySeasonality).toBeNaN(); // was 0.98 from one day
    expect(profileSignal('memory', ramp(1), 12 * 3600, step).dailySeasonality).toBeNaN(); // a day across midnight
    const two = profileSignal('memory', ramp(2), 0, step).dailySeasonality;
    expect(two).toBeLessThan(0.3); // a trend over two days is mostly not explained by the hour
    // two hours of samples in a two-day window: most hours never seen
    const sparse = new Float64Array((2 * DAY) / step).fill(NaN);
    sparse.fill(5, 0, 24);
    expect(profileSignal('memory', sparse, 0, step).dailySeasonality).toBeNaN();
    // a real daily cycle over two days is still seen
    const cycle = Float64Array.from({ length: (2 * DAY) / step }, (_, i) => 10 + 5 * Math.sin((2 * Math.PI * i * step) / DAY));
    expect(profileSignal('cpu', cycle, 0, step).dailySeasonality).toBeGreaterThan(0.95);
  });
});

/** The hour-of-day and day-of-week groups point by point, as the definition reads: the oracle of the hour blocks. */
function groupsByPoint(values: Float64Array, startS: number, intervalS: number) {
  const hour = new Map<number, { sum: number; n: number; dates: Set<number> }>();
  const weekday = new Map<number, { sum: number; n: number; dates: Set<number> }>();
  const add = (m: typeof hour, g: number, v: number, date: number) => {
    const e = m.get(g) ?? { sum: 0, n: 0, dates: new Set<number>() };
    e.sum += v;
    e.n++;
    e.dates.add(date);
    m.set(g, e);
  };
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) return;
    const t = startS + i * intervalS;
    const date = Math.floor(t / DAY);
    add(hour, Math.floor((t - date * DAY) / 3600), v, date);
    add(weekday, (date + 3) % 7, v, date);
  });
  const shape = (m: typeof hour, groups: number) => Array.from({ length: groups }, (_, g) => (m.has(g) ? m.get(g)!.sum / m.get(g)!.n : NaN));
  const twice = (m: typeof hour, groups: number) => Array.from({ length: groups }, (_, g) => m.get(g)?.dates.size ?? 0).every((d) => d >= 2);
  return { daily: shape(hour, 24), weekly: shape(weekday, 7), dailyTwice: twice(hour, 24), weeklyTwice: twice(weekday, 7) };
}

describe('profileSignal groups by hour and weekday', () => {
  it('as point by point, whatever the interval (dividing the hour or not, over an hour) and the start (off the hour)', () => {
    const rnd = uniform(7);
    for (const intervalS of [60, 300, 420, 900, 3600, 5400, 7200]) {
      for (let trial = 0; trial < 6; trial++) {
        const n = Math.ceil((15 * DAY) / intervalS) + Math.floor(rnd() * 50);
        const startS = 1_704_067_200 + Math.floor(rnd() * 7 * DAY);
        const values = Float64Array.from({ length: n }, () => (rnd() < 0.1 ? NaN : rnd() < 0.02 ? Infinity : 1 + 10 * rnd()));
        const p = profileSignal('cpu', values, startS, intervalS);
        const ref = groupsByPoint(values, startS, intervalS);
        const what = `interval ${intervalS}, start ${startS}`;
        ref.daily.forEach((m, h) => (Number.isNaN(m) ? expect(p.dailyShape[h], what).toBeNaN() : expect(p.dailyShape[h], what).toBeCloseTo(m, 9)));
        ref.weekly.forEach((m, d) => (Number.isNaN(m) ? expect(p.weeklyShape[d], what).toBeNaN() : expect(p.weeklyShape[d], what).toBeCloseTo(m, 9)));
        expect(Number.isNaN(p.dailySeasonality), what).toBe(!ref.dailyTwice);
        expect(Number.isNaN(p.weeklySeasonality), what).toBe(!ref.weeklyTwice);
        const present = [...values].filter(Number.isFinite);
        expect(p.samples, what).toBe(present.length);
        expect(p.level, what).toBeCloseTo(present.reduce((a, b) => a + b, 0) / present.length, 9);
      }
    }
  });
});

describe('selectKth', () => {
  it('selects within a sub-range and leaves it partitioned around the k-th', () => {
    const v = Float64Array.from({ length: 301 }, (_, i) => (i * 7919) % 301);
    const a = Float64Array.from(v);
    const k = 150;
    expect(selectKth(a, k)).toBe(150);
    for (let i = 0; i < k; i++) expect(a[i]).toBeLessThanOrEqual(150);
    for (let i = k + 1; i < a.length; i++) expect(a[i]).toBeGreaterThanOrEqual(150);
    // the 290th smallest overall, selected among the values right of k only
    expect(selectKth(a, 290, k + 1, a.length - 1)).toBe(290);
  });
});

describe('selectBucketed', () => {
  it('gives the two ranks sorting gives, for ties, skewed and ascending values, huge and tiny ranges', () => {
    const rand = uniform(3);
    const wrong: string[] = [];
    const out = new Float64Array(2);
    for (let t = 0; t < 3000; t++) {
      const n = 1 + Math.floor(rand() * (t % 3 ? 3000 : 80));
      // distinct; five values (ties); ascending; mostly zeros with bursts; spanning the doubles (a range too wide for
      // one bucket width); subnormal (too narrow)
      const value = (i: number) => [rand(), Math.floor(rand() * 5), i, i % 7 ? 0 : 1e6 * rand(), (rand() - 0.5) * 2 * Number.MAX_VALUE, Number.MIN_VALUE * Math.floor(rand() * 9)][t % 6];
      const a = Float64Array.from({ length: n }, (_, i) => value(i));
      const k1 = Math.floor(rand() * n);
      const k2 = k1 + Math.floor(rand() * (n - k1));
      const sorted = a.slice().sort();
      selectBucketed(a, n, k1, k2, sorted[0], sorted[n - 1], out);
      if (out[0] !== sorted[k1] || out[1] !== sorted[k2]) wrong.push(`case ${t} n ${n} ranks ${k1}, ${k2}: ${out[0]}, ${out[1]}, not ${sorted[k1]}, ${sorted[k2]}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe('HistoryStore', () => {
  it('appends on the grid, fills gaps with NaN, wraps the ring and overwrites revised samples', () => {
    const s = new HistoryStore(60, 5);
    s.write('k', 't', 'cpu', 0, [1, 2, 3]);
    s.write('k', 't', 'cpu', 240, [6]); // slot 180 missing
    expect([...s.window('k')!.values]).toEqual([1, 2, 3, NaN, 6]);
    s.write('k', 't', 'cpu', 300, [7, 8]);
    const w = s.window('k')!;
    expect([...w.values]).toEqual([3, NaN, 6, 7, 8]);
    expect(w.startS).toBe(120);
    s.write('k', 't', 'cpu', 180, [4]);
    expect([...s.window('k')!.values]).toEqual([3, 4, 6, 7, 8]);
    expect([...s.since('k', 300)!.values]).toEqual([8]);
    expect(s.get('k')!.lastValue).toBe(8);
  });

  it('gives the peak of the last n slots across the ring wrap, ignoring gaps', () => {
    const s = new HistoryStore(60, 5);
    s.write('k', 't', 'cpu', 0, [9, 2, 3]);
    s.write('k', 't', 'cpu', 240, [1, 4, NaN]); // wraps: [2, 3, NaN, 1, 4] then [3, NaN, 1, 4, NaN]
    expect(s.peak('k', 1)).toBeNaN();
    expect(s.peak('k', 3)).toBe(4);
    expect(s.peak('k', 100)).toBe(4);
    s.write('k', 't', 'cpu', 120, [7]);
    expect(s.peak('k', 5)).toBe(7);
    expect(s.peak('k', 3)).toBe(4);
    expect(s.peak('nope', 3)).toBeNaN();
  });

  it('writes a window into a caller buffer when it is large enough, and allocates otherwise', () => {
    const s = new HistoryStore(60, 5);
    s.write('k', 't', 'cpu', 0, [1, 2, 3]);
    const buf = new Float64Array(5).fill(-1);
    const w = s.window('k', undefined, buf)!;
    expect(w.values.buffer).toBe(buf.buffer);
    expect([...w.values]).toEqual([1, 2, 3]);
    expect([...buf]).toEqual([1, 2, 3, -1, -1]);
    const small = new Float64Array(2);
    const v = s.window('k', undefined, small)!;
    expect(v.values.buffer).not.toBe(small.buffer);
    expect([...v.values]).toEqual([1, 2, 3]);
  });

  it('does not create a series from missing samples only', () => {
    const s = new HistoryStore(60, 5);
    s.write('k', 't', 'cpu', 0, [NaN, NaN]);
    expect(s.size).toBe(0);
  });

  it('changes its version when a series is added or deleted, not when one is written', () => {
    const s = new HistoryStore(60, 5);
    const v0 = s.version;
    s.write('k', 't', 'cpu', 0, [NaN]);
    expect(s.version).toBe(v0);
    s.write('k', 't', 'cpu', 0, [1, 2]);
    const v1 = s.version;
    expect(v1).not.toBe(v0);
    s.write('k', 't', 'cpu', 120, [3]);
    s.write('k', 't', 'cpu', 60, [5]);
    expect(s.version).toBe(v1);
    expect(s.delete('nope')).toBe(false);
    expect(s.version).toBe(v1);
    expect(s.delete('k')).toBe(true);
    const v2 = s.version;
    expect(v2).not.toBe(v1);
    s.write('k', 't', 'cpu', 0, [1]);
    expect(s.version).not.toBe(v2);
  });
});

describe('HistoryStore fast path', () => {
  it('gives the same ring whether a series arrives at once or in overlapping chunks with gaps', () => {
    const n = 1000;
    const v = Float64Array.from({ length: n }, (_, i) => (i % 37 === 0 ? NaN : Math.sin(i) + 2));
    const whole = new HistoryStore(60, 300);
    whole.write('k', 't', 'cpu', 0, v);
    const chunked = new HistoryStore(60, 300);
    for (let start = 0; start < n; start += 45) {
      const from = Math.max(0, start - 2); // two points of overlap, as the loop re-pulls
      chunked.write('k', 't', 'cpu', from * 60, v.subarray(from, Math.min(n, start + 45)));
    }
    expect([...chunked.window('k')!.values]).toEqual([...whole.window('k')!.values].map((x) => (Number.isNaN(x) ? NaN : Math.fround(x))));
    expect(chunked.get('k')!.lastSampleS).toBe(whole.get('k')!.lastSampleS);
    expect(chunked.get('k')!.lastValue).toBe(whole.get('k')!.lastValue);
  });
});
