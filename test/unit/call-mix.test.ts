// The API call mix kept per tenant: shares over the profile window, the busiest types kept apart and the rest summed
// as "(other)", re-pulled slots counted once, and bounded state for a tenant with thousands of routes.
import { describe, expect, it } from 'vitest';
import { CallMix, OTHER_CALLS, SWAP_MARGIN, SWAP_MIN_AGE_S } from '../../src/model/call-mix.js';
import type { BreakdownSeries } from '../../src/sources/history-source.js';

const STEP = 60;
const sr = (type: string, startS: number, values: number[], tenant = 'a'): BreakdownSeries => ({ tenant, resource: 'api_calls', type, startS, intervalS: STEP, values: Float64Array.from(values) });
/** One bucket per slot, so that shares are exact sums of rate x slot. */
const exact = (maxTypes = 20, windowPoints = 10_000) => new CallMix({ intervalS: STEP, windowPoints, maxTypes, bucketPoints: 1 });

describe('CallMix shares', () => {
  it('returns shares of calls that sum to one, largest first, a missing point counting no calls', () => {
    const c = exact();
    c.add([sr('GET /a', 0, [3, 3]), sr('POST /b', 0, [1, NaN])]);
    const m = c.mix('a', 0, 60);
    expect(Object.keys(m)).toEqual(['GET /a', 'POST /b']);
    expect(m['GET /a']).toBeCloseTo(6 / 7, 6);
    expect(Object.values(m).reduce((a, b) => a + b)).toBeCloseTo(1, 12);
    expect(c.mix('nobody', 0, 60)).toEqual({});
  });

  it('does not over-weight a route hit in one hour of the week (default buckets of an hour)', () => {
    // GET /a at 10 req/s all week; POST /b at 100 req/s during one hour (no series the rest of the time)
    const step = 300;
    const c = new CallMix({ intervalS: step, windowPoints: 2016, maxTypes: 20 });
    expect(c.bucketS).toBe(3600);
    const get = new Array<number>(2016).fill(10);
    const post = new Array<number>(2016).fill(NaN);
    for (let i = 1008; i < 1020; i++) post[i] = 100;
    c.add([{ ...sr('GET /a', 0, get), intervalS: step }, { ...sr('POST /b', 0, post), intervalS: step }]);
    // 1,200 of the 21,360 (rate x slot) calls: 5.6%, not the 91% a mean over the points where it exists gives
    expect(c.mix('a', 0, 2015 * step)['POST /b']).toBeCloseTo(1200 / 21_360, 6);
  });

  it('reads every type over the window only: a type without calls in it is left out', () => {
    const c = exact();
    // DELETE /old stopped at t=120; the window is [180, 300]
    c.add([sr('GET /new', 0, [1, 1, 1, 1, 1, 1]), sr('DELETE /old', 0, [9, 9, 9])]);
    expect(c.mix('a', 180, 300)).toEqual({ 'GET /new': 1 });
    // windows that start before or end after a type's points
    const d = exact();
    d.add([sr('A', 120, [2, 2]), sr('B', 0, [1, 1, 1, 1, 1, 1, 1, 1])]);
    expect(d.mix('a', 60, 240).A).toBeCloseTo(4 / 8, 12);
    const z = exact();
    z.add([sr('A', 0, [0, NaN])]);
    expect(z.mix('a', 0, 60)).toEqual({});
  });

  it('counts a re-pulled slot once, and a slot missing from one pull when a later pull has it', () => {
    const c = exact();
    c.add([sr('GET /a', 0, [1, 1, 1]), sr('GET /b', 0, [1, 1, NaN])]);
    // the next pull overlaps two slots (late scrapes): GET /b's third slot arrived, the others are the same
    c.add([sr('GET /a', 60, [1, 1, 1]), sr('GET /b', 60, [1, 1, 1])]);
    const m = c.mix('a', 0, 180);
    expect(m['GET /a']).toBeCloseTo(0.5, 12);
    expect(m['GET /b']).toBeCloseTo(0.5, 12);
  });

  it('forgets a type with no sample in the window and a tenant no longer present', () => {
    const c = exact();
    c.add([sr('GET /a', 0, [1, 1, 1, 1]), sr('GET /old', 0, [5]), sr('GET /x', 0, [1], 'b')]);
    c.retain(new Set(['a']), 60);
    expect(c.counts('a')).toEqual({ kept: 1, candidates: 0 });
    expect(c.counts('b')).toEqual({ kept: 0, candidates: 0 });
    expect(c.mix('b', 0, 60)).toEqual({});
  });
});

describe('CallMix bounds', () => {
  it('keeps the busiest types apart and sums the rest as "(other)", with the same total', () => {
    const c = exact(3);
    const types = Array.from({ length: 10 }, (_, k) => sr(`GET /r${k}`, 0, [10 - k, 10 - k]));
    c.add(types);
    const m = c.mix('a', 0, 60);
    // the seven others (7 + 6 + ... + 1 req/s) together outweigh each kept route
    expect(Object.keys(m)).toEqual([OTHER_CALLS, 'GET /r0', 'GET /r1', 'GET /r2']);
    const total = 2 * (10 + 9 + 8 + 7 + 6 + 5 + 4 + 3 + 2 + 1);
    expect(m['GET /r0']).toBeCloseTo(20 / total, 6);
    expect(m[OTHER_CALLS]).toBeCloseTo((total - 2 * 27) / total, 6);
    expect(c.counts('a')).toEqual({ kept: 3, candidates: 7 });
  });

  it('lets a new route in once it ranks SWAP_MARGIN times above the least busy kept one, not before', () => {
    const c = new CallMix({ intervalS: STEP, windowPoints: 10_000, maxTypes: 2, bucketPoints: 1, rateHalfLifeS: 600 });
    const pull = (t0: number, rates: Record<string, number>) => c.add(Object.entries(rates).map(([type, r]) => sr(type, t0, [r])));
    let t = 0;
    for (; t < 3600; t += STEP) pull(t, { A: 10, B: 2 });
    // C at 3 req/s: above B, but not SWAP_MARGIN times above it, for an hour: it stays in "(other)"
    for (; t < 7200; t += STEP) pull(t, { A: 10, B: 2, C: 3 });
    expect(Object.keys(c.mix('a', 0, t))).toEqual(['A', 'B', OTHER_CALLS]);
    expect(SWAP_MARGIN * 2).toBeGreaterThan(3);
    // C at 8 req/s: it takes B's place; B's counted calls move to "(other)", nothing is lost
    const before = c.mix('a', 0, t);
    pull(t, { A: 10, B: 2, C: 8 });
    for (let i = 0; i < 30; i++) pull((t += STEP), { A: 10, B: 2, C: 8 });
    const m = c.mix('a', 0, t);
    expect(Object.keys(m).sort()).toEqual(['A', 'C', OTHER_CALLS].sort());
    expect(c.counts('a')).toEqual({ kept: 2, candidates: 1 });
    const callsA = 10 * (t / STEP + 1), callsB = 2 * (t / STEP + 1), callsC = 3 * 60 + 8 * 31;
    const total = callsA + callsB + callsC;
    expect(m.A).toBeCloseTo(callsA / total, 5);
    // what C did before it was kept apart, and all of B, are in "(other)"
    expect(m[OTHER_CALLS] + m.C).toBeCloseTo((callsB + callsC) / total, 5);
    expect(before.B).toBeGreaterThan(0);
  });

  it('bounds what a tenant with thousands of un-templated routes holds, and what its mix lists', () => {
    const c = new CallMix({ intervalS: 300, windowPoints: 2016, maxTypes: 20 });
    for (let cycle = 0; cycle < 12; cycle++) {
      const t0 = cycle * 300;
      // 5,000 new paths a cycle, each hit once, plus two steady routes
      const paths = Array.from({ length: 5000 }, (_, k) => ({ ...sr(`GET /items/${cycle * 5000 + k}`, t0, [0.01]), intervalS: 300 }));
      c.add([...paths, { ...sr('GET /health', t0, [1]), intervalS: 300 }, { ...sr('POST /orders', t0, [5]), intervalS: 300 }]);
    }
    const n = c.counts('a');
    expect(n.kept).toBe(20);
    expect(n.candidates).toBeLessThanOrEqual(c.maxCandidates);
    const m = c.mix('a', 0, 11 * 300);
    expect(Object.keys(m)).toHaveLength(21);
    expect(Object.keys(m).slice(0, 3)).toEqual([OTHER_CALLS, 'POST /orders', 'GET /health']);
    // every call is counted once: 60,000 paths x 0.01 + 12 x 1 + 12 x 5 (rate x 300 s each)
    expect(m['POST /orders']).toBeCloseTo(60 / (600 + 12 + 60), 4);
  });

  it('counts the long tail once though it is forgotten and seen again at every overlapping pull', () => {
    // 500 routes, the k-th at 100 / k req/s: 20 kept apart, 200 remembered, 280 forgotten and seen again each pull
    const step = 300;
    const c = new CallMix({ intervalS: step, windowPoints: 2016, maxTypes: 20 });
    const pull = (startS: number, n: number) => c.add(Array.from({ length: 500 }, (_, k) => ({ ...sr(`GET /r${k + 1}`, startS, new Array<number>(n).fill(100 / (k + 1))), intervalS: step })));
    pull(0, 1000);
    for (let i = 0; i < 24; i++) pull((997 + i) * step, 3); // two points of overlap, one new, as the loop pulls
    const m = c.mix('a', 0, 1022 * step);
    let h = 0;
    for (let k = 1; k <= 500; k++) h += 1 / k;
    // exact shares: the k-th route's is (1 / k) / H(500); "(other)" holds routes 21..500
    expect(m['GET /r1']).toBeCloseTo(1 / h, 4);
    let tail = 0;
    for (let k = 21; k <= 500; k++) tail += 1 / k;
    expect(m[OTHER_CALLS]).toBeCloseTo(tail / h, 4);
  });

  it('keeps apart a busy new route that appears among a long tail of remembered and forgotten ones', () => {
    const step = 300;
    const c = new CallMix({ intervalS: step, windowPoints: 2016, maxTypes: 20 });
    const tail = (startS: number, n: number) => Array.from({ length: 500 }, (_, k) => ({ ...sr(`GET /r${k + 1}`, startS, new Array<number>(n).fill(100 / (k + 1))), intervalS: step }));
    c.add(tail(0, 2016));
    let t = 2016;
    // a new route at 20 req/s (as busy as the fifth): kept apart once seen for SWAP_MIN_AGE_S, in place of the least
    // busy kept one
    for (; t < 2016 + 288; t++) {
      c.add([...tail((t - 2) * step, 3), { ...sr('POST /new', (t - 2) * step, [NaN, NaN, 20]), intervalS: step }]);
      if (c.mix('a', (t - 12) * step, t * step)['POST /new'] !== undefined) break;
    }
    expect((t - 2016) * step).toBe(SWAP_MIN_AGE_S);
    expect(c.counts('a').kept).toBe(20);
    expect(Object.keys(c.mix('a', (t - 2015) * step, t * step))).not.toContain('GET /r20');
  });

  it('chooses the types of a pull delivered in chunks on all its chunks, with the same shares as in one piece', () => {
    // 300 routes (beyond the 20 kept and 200 remembered): the k-th at 100 / k req/s; POST /late, idle for the first
    // day, at 60 req/s after it (the busiest over the week); a week at 5 minutes in chunks of 96 points
    const step = 300;
    const week = 2016;
    const value = (k: number, i: number) => (k === 0 ? (i < 288 ? 0 : 60) : 100 / k);
    const name = (k: number) => (k === 0 ? 'POST /late' : `GET /r${k}`);
    const chunk = (startI: number, n: number) => Array.from({ length: 301 }, (_, k) => ({ ...sr(name(k), startI * step, Array.from({ length: n }, (_, i) => value(k, startI + i))), intervalS: step }));
    const whole = new CallMix({ intervalS: step, windowPoints: week, maxTypes: 20 });
    whole.add(chunk(0, week));
    const chunked = new CallMix({ intervalS: step, windowPoints: week, maxTypes: 20 });
    for (let i = 0; i < week; i += 96) {
      chunked.add(chunk(i, Math.min(96, week - i)), { more: true });
      // the remembered types stay bounded while the choice waits
      expect(chunked.counts('a').kept + chunked.counts('a').candidates).toBeLessThanOrEqual(chunked.maxTypes + chunked.maxCandidates);
    }
    chunked.choose();
    expect(chunked.counts('a')).toEqual(whole.counts('a'));
    const w = whole.mix('a', 0, (week - 1) * step);
    const m = chunked.mix('a', 0, (week - 1) * step);
    expect(Object.keys(m)).toEqual(Object.keys(w));
    expect(Object.keys(m)).toContain('POST /late');
    for (const k of Object.keys(w)) expect(m[k]).toBeCloseTo(w[k], 5);
  });

  it('lets a catch-up in chunks keep the calls of a type it lets in', () => {
    // A and B kept; C, new in a catch-up of four chunks, is busier than both from its start
    const c = new CallMix({ intervalS: STEP, windowPoints: 10_000, maxTypes: 2, bucketPoints: 1, rateHalfLifeS: 600 });
    c.add([sr('A', 0, new Array<number>(60).fill(10)), sr('B', 0, new Array<number>(60).fill(1))]);
    for (let q = 0; q < 4; q++) {
      const t0 = (60 + 30 * q) * STEP;
      c.add([sr('A', t0, new Array<number>(30).fill(10)), sr('B', t0, new Array<number>(30).fill(1)), sr('C', t0, new Array<number>(30).fill(30))], { more: q < 3 });
    }
    const m = c.mix('a', 0, 179 * STEP);
    expect(Object.keys(m)).toEqual(['C', 'A', OTHER_CALLS]);
    const total = 10 * 180 + 180 + 30 * 120;
    expect(m.C).toBeCloseTo((30 * 120) / total, 5);
    expect(m[OTHER_CALLS]).toBeCloseTo(180 / total, 5);
  });

  it('refuses a bound below one', () => {
    expect(() => new CallMix({ intervalS: STEP, windowPoints: 10, maxTypes: 0 })).toThrow(RangeError);
  });
});
