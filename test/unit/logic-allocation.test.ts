// The allocation policy's post-processors: quantile choice, calibration, reclamation, rate limit, bounds, reserve.
import { describe, expect, it } from 'vitest';
import { allocationConfig, decide, forecastBand, newAllocationState, observe, type AllocationState } from '../../src/logic/allocation.js';
import { calibrateLevel } from '../../src/logic/calibration.js';
import { valueAtLevel, normalQuantile } from '../../src/logic/quantile-grid.js';
import { RESERVE_SCALE_MAX, RESERVE_SCALE_MIN, ReserveAccumulator, ReserveCalibration, shadowReserve } from '../../src/logic/shadow-reserve.js';
import { DecayedPercentile, valueUniverse } from '../../src/logic/decayed-percentile.js';
import { applyBounds, recentPeak, recurringPeak } from '../../src/logic/bounds.js';
import { uniform } from '../helpers/random.js';

const levels = [0.5, 0.9, 0.99];

describe('quantile grid', () => {
  it('interpolates linearly between levels and extrapolates the tail on the normal scale', () => {
    expect(valueAtLevel([0.5, 0.9], [10, 14], 0.7)).toBeCloseTo(12, 12);
    const z95 = normalQuantile(0.95);
    expect(z95).toBeCloseTo(1.644854, 5);
    expect(valueAtLevel([0.5, 0.9], [10, 14], 0.95)).toBeCloseTo(14 + (4 * (z95 - normalQuantile(0.9))) / normalQuantile(0.9), 9);
    expect(valueAtLevel([0.5, 0.9], [10, 14], 0.3)).toBeLessThan(10);
  });
});

describe('adaptive conformal calibration', () => {
  it('raises the level after a shortage and lowers it slowly otherwise (worked example)', () => {
    const cfg = allocationConfig({ targetShortage: 0.02, gain: 0.005 });
    const afterShort = calibrateLevel(0.98, true, cfg);
    expect(afterShort).toBeCloseTo(1 - 0.0151, 12);
    expect(calibrateLevel(afterShort, false, cfg)).toBeCloseTo(1 - 0.0152, 12);
  });

  it('keeps the realised shortage rate near the target on a stationary stream', () => {
    const cfg = allocationConfig({ targetShortage: 0.05, gain: 0.01, rateLimit: { maxChangesPerHour: 1e9, burst: 1e9 }, bounds: { safetyWindowS: 0 } });
    let s: AllocationState = newAllocationState(cfg);
    // Usage uniform on [0, 100] (deterministic low-discrepancy stream); forecast quantiles exact.
    const lv = [0.5, 0.8, 0.9, 0.95, 0.99, 0.999];
    const q = lv.map((l) => 100 * l);
    let short = 0;
    const n = 20000;
    for (let t = 0; t < n; t++) {
      const d = decide(s, { nowS: t * 60, levels: lv, next: q, window: q, recentPeak: NaN }, cfg);
      const usage = ((t * 0.6180339887) % 1) * 100;
      if (usage > d.allocation) short++;
      s = observe(d.state, { timeS: t * 60, usage, allocation: d.allocation }, cfg);
      // Force a re-decision every step: the test is about calibration, not holding.
      s = { ...s, allocation: NaN };
    }
    expect(short / n).toBeGreaterThan(0.04);
    expect(short / n).toBeLessThan(0.06);
  });
});

describe('decide', () => {
  const cfg = allocationConfig({ targetShortage: 0.01, increaseTo: 1, reclaim: { afterS: 1800, hysteresis: 0.1 }, rateLimit: { maxChangesPerHour: 2, burst: 2, reservedForIncrease: 1 } });
  const start = (): AllocationState => ({ ...newAllocationState(cfg), level: 0.9 });

  it('starts at the window quantile and holds while the next-step quantile fits', () => {
    let d = decide(start(), { nowS: 0, levels, next: [5, 8, 9], window: [6, 10, 12], recentPeak: 7 }, cfg);
    expect(d.reason).toBe('initial');
    expect(d.allocation).toBe(10);
    d = decide(d.state, { nowS: 300, levels, next: [5, 9.5, 11], window: [6, 10.5, 12], recentPeak: 7 }, cfg);
    expect(d.reason).toBe('hold');
    expect(d.allocation).toBe(10);
  });

  it('increases at once to the window quantile when the next step needs more, and never below the recent peak', () => {
    const s = { ...start(), allocation: 10 };
    const d = decide(s, { nowS: 0, levels, next: [9, 11, 12], window: [9, 13, 15], recentPeak: 14 }, cfg);
    expect(d.reason).toBe('increase');
    expect(d.allocation).toBe(14);
  });

  it('reclaims only after usage stayed below 75% for the configured time, beyond the hysteresis band', () => {
    let s: AllocationState = { ...start(), allocation: 100 };
    for (let t = 0; t <= 1500; t += 300) s = observe(s, { timeS: t, usage: 50, allocation: 100 }, cfg);
    const input = { levels, next: [40, 60, 70], window: [45, 65, 80], recentPeak: 55 };
    expect(decide(s, { nowS: 1700, ...input }, cfg).reason).toBe('hold');
    const d = decide(s, { nowS: 1800, ...input }, cfg);
    expect(d.reason).toBe('reclaim');
    expect(d.allocation).toBeCloseTo(65, 1);
    // A shrink inside the hysteresis band (10%) is refused.
    expect(decide(s, { nowS: 1800, ...input, window: [45, 92, 95] }, cfg).reason).toBe('hold');
    // A sample at or above 75% breaks the run.
    const broken = observe(s, { timeS: 1800, usage: 80, allocation: 100 }, cfg);
    expect(decide(broken, { nowS: 1800, ...input }, cfg).reason).toBe('hold');
  });

  it('does not withdraw a raise before usage was low against it: a raise restarts the low-usage run', () => {
    let s: AllocationState = { ...start(), allocation: 10 };
    for (let t = 0; t <= 1800; t += 300) s = observe(s, { timeS: t, usage: 4, allocation: 10 }, cfg);
    // a one-step blip in the forecast raises it; the low usage it had against 10 no longer counts
    const up = decide(s, { nowS: 1900, levels, next: [9, 14, 15], window: [9, 14, 15], recentPeak: 4 }, cfg);
    expect(up.reason).toBe('increase');
    let t = up.state;
    t = observe(t, { timeS: 2100, usage: 4, allocation: up.allocation }, cfg);
    const quiet = { levels, next: [3, 4.4, 5], window: [4, 5, 6], recentPeak: 4 };
    expect(decide(t, { nowS: 2200, ...quiet }, cfg).reason).toBe('hold');
    // and once usage has been low against the raise for the reclaim time, it goes
    for (let x = 2400; x <= 3900; x += 300) t = observe(t, { timeS: x, usage: 4, allocation: up.allocation }, cfg);
    expect(decide(t, { nowS: 3900, ...quiet }, cfg).reason).toBe('reclaim');
  });

  it('leaves the level as it is for outcomes observed while quarantined', () => {
    const s: AllocationState = { ...start(), allocation: 10 };
    expect(observe(s, { timeS: 0, usage: 20, allocation: 10 }, cfg).level).toBeGreaterThan(0.9);
    const held = observe(s, { timeS: 0, usage: 20, allocation: 10 }, cfg, false);
    expect(held.level).toBe(0.9);
    expect(held.shortages).toBe(1);
  });

  it('reclaims no lower than the window\'s quantile, so that a peak the forecast expects does not undo the shrink', () => {
    const half = allocationConfig({ targetShortage: 0.01, increaseTo: 0.5, reclaim: { afterS: 1800, hysteresis: 0.1 }, rateLimit: { maxChangesPerHour: 2, burst: 3, reservedForIncrease: 1 } });
    let s: AllocationState = { ...newAllocationState(half), level: 0.9, allocation: 10 };
    for (let t = 0; t <= 1800; t += 300) s = observe(s, { timeS: t, usage: 4, allocation: 10 }, half);
    // quiet now (4.4 at 0.9 for the next step), a peak of 8 within the next 30 minutes
    const d = decide(s, { nowS: 1800, levels, next: [3, 4.4, 5], window: [6, 8, 9], recentPeak: 4 }, half);
    expect(d.reason).toBe('reclaim');
    expect(d.allocation).toBeCloseTo(8, 1); // not 6.2, halfway between 4.4 and 8, from which the peak would raise it again
    const after = decide(d.state, { nowS: 2100, levels, next: [6, 7.9, 8.5], window: [6, 8, 9], recentPeak: 5 }, half);
    expect(after.reason).toBe('hold');
  });

  it('bounds changes with a token bucket and keeps the last token for an increase', () => {
    // Bucket of 2, refilled at 2 per hour, one token reserved for increases.
    const up = { levels, next: [9, 20, 21], window: [9, 22, 23], recentPeak: 5 };
    const down = { levels, next: [9, 10, 11], window: [9, 12, 13], recentPeak: 5 };
    // One change just made: one token left. A decrease (needs 2) is refused, an increase (needs 1) allowed.
    let s: AllocationState = { ...start(), allocation: 100, lowSinceS: -10000, tokens: 1, tokensAtS: 0 };
    expect(decide(s, { nowS: 0, ...down }, cfg).reason).toBe('rate-limited');
    s = { ...s, allocation: 10 };
    const d = decide(s, { nowS: 0, ...up }, cfg);
    expect(d.reason).toBe('increase');
    expect(d.state.tokens).toBeCloseTo(0, 12);
    // Empty bucket: the next increase waits until a token has refilled (30 minutes at 2 per hour).
    expect(decide({ ...d.state, allocation: 10 }, { nowS: 1700, ...up }, cfg).reason).toBe('rate-limited');
    expect(decide({ ...d.state, allocation: 10 }, { nowS: 1800, ...up }, cfg).reason).toBe('increase');
  });

  it('keeps the long-run change rate under the hourly bound', () => {
    const c = allocationConfig({ targetShortage: 0.01, rateLimit: { maxChangesPerHour: 1, burst: 2 } });
    let s: AllocationState = { ...newAllocationState(c), allocation: 1 };
    let changes = 0;
    // Every step asks for an increase (the next quantile keeps growing): 24 hours of 5-minute steps.
    for (let i = 0; i < 288; i++) {
      const d = decide(s, { nowS: i * 300, levels, next: [i + 2, i + 3, i + 4], window: [i + 2, i + 3, i + 4], recentPeak: NaN }, c);
      if (d.reason === 'increase') changes++;
      s = d.state;
    }
    expect(changes).toBeLessThanOrEqual(24 + 2);
    expect(changes).toBeGreaterThanOrEqual(24);
  });
});

describe('bounds', () => {
  it('applies min, max and the recent-peak floor', () => {
    expect(applyBounds(5, 7, { min: 0, max: 100, safetyWindowS: 1 })).toBe(7);
    expect(applyBounds(5, 700, { min: 0, max: 100, safetyWindowS: 1 })).toBe(100);
    expect(applyBounds(NaN, NaN, { min: 2, max: 100, safetyWindowS: 1 })).toBe(2);
    expect(recentPeak([1, 9, NaN, 3, 4], 3)).toBe(4);
    expect(recentPeak([NaN, NaN], 2)).toBeNaN();
  });

  it('reads the demand of this time of day: the peak of each lag\'s window, within what the values hold', () => {
    //          0  1  2  3  4  5  6  7  8  9
    const v = [5, 1, 2, 8, 3, NaN, 4, 0, 1, 2];
    // the allocation covers steps 10 and 11: a lag of 7 reads 3..4, a lag of 10 reads 0..1
    expect(recurringPeak(v, 10, 2, [7])).toBe(8);
    expect(recurringPeak(v, 10, 2, [10])).toBe(5);
    expect(recurringPeak(v, 10, 2, [7, 10])).toBe(8);
    expect(recurringPeak(v, 10, 1, [5])).toBeNaN(); // a gap
    expect(recurringPeak(v, 10, 3, [2])).toBe(2); // steps 8..10: 10 is not held yet
    expect(recurringPeak(v, 3, 2, [7])).toBeNaN(); // before the start
    expect(recurringPeak(v, 10, 2, [])).toBeNaN();
  });
});

describe('pooled shadow reserve', () => {
  it('covers the quantile of the total excess, well below the sum of per-tenant upper quantiles', () => {
    // 50 tenants, usage uniform on [0, 10] each, allocation 9: each exceeds it 10% of the time by up to 1.
    const lv = [0.001, 0.5, 0.9, 0.99, 0.999];
    const tenants = Array.from({ length: 50 }, () => ({ levels: lv, values: lv.map((l) => 10 * l), allocation: 9 }));
    const r = shadowReserve(tenants, { level: 0.99, draws: 2000 });
    const sumOfUpper = 50 * (9.99 - 9);
    // Sum of 50 iid excesses: mean 50 * 0.1 * 0.5 = 2.5, sd about sqrt(50 * (0.1/3 - 0.0025)) = 1.24: q99 about 5.6.
    expect(r).toBeGreaterThan(4.5);
    expect(r).toBeLessThan(7);
    expect(r).toBeLessThan(sumOfUpper / 5);
    expect(shadowReserve(tenants.map((t) => ({ ...t, allocation: 20 })))).toBe(0);
  });

  it('matches plain Monte Carlo of the total excess when the tenants cross their allocations at different levels', () => {
    // Each tenant's draws fill only its tail strata (above the level where it crosses its allocation), at slots chosen
    // afresh per tenant: the total must be that of independent tenants, not of tenants bursting together.
    const lv = [0.01, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999];
    const tenants = Array.from({ length: 60 }, (_, i) => {
      const scale = 1 + (i % 7);
      return { levels: lv, values: lv.map((l) => scale * (l + 2 * l ** 4)), allocation: scale * [0.3, 0.8, 1.1, 1.6][i % 4] };
    });
    const rand = uniform(7);
    const n = 100_000;
    const totals = new Float64Array(n);
    for (let d = 0; d < n; d++) {
      for (const t of tenants) totals[d] += Math.max(0, valueAtLevel(t.levels, t.values, Math.min(0.99999, Math.max(1e-5, rand()))) - t.allocation);
    }
    totals.sort();
    const reference = totals[Math.ceil(0.99 * n) - 1];
    const r = shadowReserve(tenants, { level: 0.99, draws: 4000 });
    expect(Math.abs(r / reference - 1)).toBeLessThan(0.05);
    // tenants that all burst together (their excesses summed at the same level) would need far more
    const together = new Float64Array(n);
    for (let d = 0; d < n; d++) {
      const u = Math.min(0.99999, Math.max(1e-5, (d + 0.5) / n));
      for (const t of tenants) together[d] += Math.max(0, valueAtLevel(t.levels, t.values, u) - t.allocation);
    }
    expect(r).toBeLessThan(0.8 * together[Math.ceil(0.99 * n) - 1]);
  });

  it('gives the same size built tenant by tenant (as the loop does between time slices)', () => {
    const lv = [0.5, 0.9, 0.99];
    const tenants = Array.from({ length: 30 }, (_, i) => ({ levels: lv, values: [i % 5, 3 + (i % 7), 6 + (i % 4)], allocation: 4 + (i % 3) }));
    const acc = new ReserveAccumulator({ draws: 500 });
    expect(acc.size()).toBe(0);
    tenants.forEach((t, i) => {
      acc.add(t);
      // size() reads without consuming: the partial pool equals a one-call reserve over the same prefix
      if (i % 10 === 9) expect(acc.size()).toBe(shadowReserve(tenants.slice(0, i + 1), { draws: 500 }));
    });
    expect(acc.size()).toBeGreaterThan(0);
  });
});

describe('reserve calibration on its own outcomes', () => {
  it('scales a reserve sized too small until plans are exhausted at the rate the level names', () => {
    // the Monte Carlo says 1 (its tenants assumed independent); the demand that comes is exponential with mean 0.5,
    // exceeding 1 on 13.5% of the steps: its 0.99 quantile is 0.5 ln 100 = 2.30
    const rand = uniform(11);
    const cal = new ReserveCalibration(0.99);
    expect(cal.scale).toBe(1);
    let exhausted = 0;
    const n = 40_000;
    for (let i = 0; i < n; i++) {
      const demand = -0.5 * Math.log(1 - rand());
      const hit = cal.observe(1 * cal.scale, demand);
      if (i >= n / 2 && hit) exhausted++;
    }
    expect(exhausted / (n / 2)).toBeGreaterThan(0.007);
    expect(exhausted / (n / 2)).toBeLessThan(0.014);
    expect(cal.scale).toBeGreaterThan(1.9);
    expect(cal.scale).toBeLessThan(2.8);
  });

  it('moves the log of its scale by rate x (exhausted - (1 - level)) and stays within its bounds', () => {
    const cal = new ReserveCalibration(0.99, 0.1);
    expect(cal.observe(1, 2)).toBe(true);
    expect(Math.log(cal.scale)).toBeCloseTo(0.1 * 0.99, 12);
    expect(cal.observe(1, 1)).toBe(false);
    expect(Math.log(cal.scale)).toBeCloseTo(0.1 * 0.99 - 0.1 * 0.01, 12);
    // a plan of size 0 is exhausted by any demand but leaves the scale as it is
    expect(cal.observe(0, 5)).toBe(true);
    expect(Math.log(cal.scale)).toBeCloseTo(0.1 * 0.99 - 0.1 * 0.01, 12);
    for (let i = 0; i < 100; i++) cal.observe(1, 2);
    expect(cal.scale).toBeCloseTo(RESERVE_SCALE_MAX, 12);
    for (let i = 0; i < 100_000; i++) cal.observe(1, 0);
    expect(cal.scale).toBeCloseTo(RESERVE_SCALE_MIN, 12);
  });
});

describe('decayed percentile (Autopilot)', () => {
  it('matches hand-computed plain and load-adjusted percentiles', () => {
    const dp = new DecayedPercentile(valueUniverse([[1, 2, 3, 4]]), 3600);
    for (const v of [1, 2, 3, 4]) dp.add(v, 0);
    expect(dp.percentile(0.5)).toBe(2);
    expect(dp.percentile(0.51)).toBe(3);
    expect(dp.percentile(0.5, true)).toBe(3);
    expect(dp.percentile(1)).toBe(4);
  });

  it('halves the weight of a sample every half-life', () => {
    const dp = new DecayedPercentile(valueUniverse([[10, 20]]), 3600);
    dp.add(20, 0);
    dp.add(10, 3600);
    // Weights: 20 -> 1, 10 -> 2; total 3: p 0.66 is reached at 10, p 0.67 needs 20.
    expect(dp.percentile(0.66)).toBe(10);
    expect(dp.percentile(0.67)).toBe(20);
  });

  it('keeps percentiles when the reference time moves forward', () => {
    const dp = new DecayedPercentile(valueUniverse([[1, 2]]), 1);
    dp.add(1, 0);
    dp.add(2, 600);
    dp.add(1, 601);
    expect(dp.percentile(0.5)).toBe(1);
    expect(dp.percentile(0.7)).toBe(2);
  });
});

describe('recommendation bounds', () => {
  const lv = [0.5, 0.9, 0.99];
  const inOrder = (r: { lowerBound: number; target: number; upperBound: number }): void => {
    expect(r.lowerBound).toBeLessThanOrEqual(r.target);
    expect(r.target).toBeLessThanOrEqual(r.upperBound);
  };

  it('brackets a target the reclamation hold keeps above a falling upper quantile (seen live: 2.41 vs 2.19)', () => {
    const cfg = allocationConfig({ targetShortage: 0.02 });
    // Allocation 2.41 in force, usage not yet low for long enough: the policy holds while the forecast has fallen.
    const s: AllocationState = { ...newAllocationState(cfg), allocation: 2.41, level: 0.98 };
    const d = decide(s, { nowS: 0, levels: lv, next: [1.2, 1.5, 1.7], window: [1.3, 1.7, 1.9], recentPeak: 1.4 }, cfg);
    expect(d.reason).toBe('hold');
    expect(d.recommendation.target).toBe(2.41);
    // The forecast band alone tops out below the target (the bug reported the band's top as the upper bound).
    expect(forecastBand({ nowS: 0, levels: lv, next: [1.2, 1.5, 1.7], window: [1.3, 1.7, 1.9], recentPeak: 1.4 }, cfg).high).toBeLessThan(2.41);
    inOrder(d.recommendation);
    expect(d.recommendation.upperBound).toBe(2.41);
    expect(d.recommendation.lowerBound).toBeCloseTo(1.2, 12);
  });

  it('brackets a target the change budget keeps below a rising median', () => {
    const cfg = allocationConfig({ targetShortage: 0.02, rateLimit: { maxChangesPerHour: 1, burst: 1 } });
    const s: AllocationState = { ...newAllocationState(cfg), allocation: 1, level: 0.98, tokens: 0, tokensAtS: 0 };
    const d = decide(s, { nowS: 60, levels: lv, next: [3, 4, 5], window: [3.5, 4.5, 6], recentPeak: 0.9 }, cfg);
    expect(d.reason).toBe('rate-limited');
    expect(d.recommendation.target).toBe(1);
    inOrder(d.recommendation);
    expect(d.recommendation.lowerBound).toBe(1);
    expect(d.recommendation.upperBound).toBeGreaterThanOrEqual(6);
  });

  it('keeps lower <= target <= upper over random inputs and histories (property)', () => {
    // Deterministic PRNG (mulberry32) so a failure reproduces.
    let seed = 12345;
    const rnd = (): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    let checked = 0;
    for (let run = 0; run < 200; run++) {
      const cfg = allocationConfig({
        targetShortage: 0.005 + rnd() * 0.2,
        increaseTo: rnd(),
        reclaim: { afterS: rnd() * 3600, hysteresis: rnd() * 0.3 },
        rateLimit: { maxChangesPerHour: 0.5 + rnd() * 4, burst: 1 + Math.floor(rnd() * 3) },
        bounds: { min: rnd() < 0.3 ? rnd() : 0, max: rnd() < 0.3 ? 2 + rnd() * 5 : Infinity, safetyWindowS: 600 },
      });
      let s = newAllocationState(cfg);
      let scale = 1 + rnd() * 3;
      for (let step = 0; step < 100; step++) {
        const nowS = step * 300;
        if (rnd() < 0.1) scale *= 0.3 + rnd() * 2; // regime shifts: sudden falls and rises
        const usage = scale * rnd();
        s = observe(s, { timeS: nowS, usage, allocation: s.allocation }, cfg);
        // Random, possibly crossing quantiles; the window is not always above the next step.
        const next = lv.map((l) => scale * (l + (rnd() - 0.5) * 0.4));
        const window = next.map((v) => v * (0.8 + rnd() * 0.6));
        const d = decide(s, { nowS, levels: lv, next, window, recentPeak: rnd() < 0.5 ? usage : NaN }, cfg);
        inOrder(d.recommendation);
        expect(d.recommendation.target).toBe(d.allocation);
        s = d.state;
        checked++;
      }
    }
    expect(checked).toBe(20000);
  });
});
