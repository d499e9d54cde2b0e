// The allocation policy's post-processors: quantile choice, calibration, reclamation, rate limit, bounds, reserve.
import { describe, expect, it } from 'vitest';
import { allocationConfig, decide, newAllocationState, observe, type AllocationState } from '../../src/logic/allocation.js';
import { calibrateLevel } from '../../src/logic/calibration.js';
import { valueAtLevel, normalQuantile } from '../../src/logic/quantile-grid.js';
import { shadowReserve } from '../../src/logic/shadow-reserve.js';
import { DecayedPercentile, valueUniverse } from '../../src/logic/decayed-percentile.js';
import { applyBounds, recentPeak } from '../../src/logic/bounds.js';

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
