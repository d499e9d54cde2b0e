// bench/backtest.ts's "ahead of persistence": persistence run at Foresight's shortage rate (or interpolated) within
// its sweep, dominance outside it.
import { describe, expect, it } from 'vitest';
import { comparePersistence, matchShortage, slackAt, type RunPersistence, type SweepPoint } from '../../bench/persistence-compare.js';
import { PersistencePolicy } from '../../src/backtest/policies/persistence.js';
import { replay } from '../../src/backtest/replay.js';
import { warmupStepsOf } from '../../src/backtest/run.js';
import { syntheticGrid } from './backtest-synthetic.js';

// google2011-jobs97 `memory`'s persistence sweep in the README's run (shortage_steps, slack), out of order as the bench
// lists it (p = 0.95 first, then the sweep)
const sweep = [[0.0151, 0.043], [0.207, 0.012], [0.1049, 0.018], [0.0653, 0.023], [0.0305, 0.032], [0.0061, 0.077], [0.0033, 0.132], [0.0019, 0.185], [0.0011, 0.232]]
  .map(([shortage_steps, slack]) => ({ shortage_steps, slack }));

describe('comparePersistence', () => {
  it('interpolates the sweep at Foresight\'s shortage rate', () => {
    // halfway between (0.0011, 0.232) and (0.0019, 0.185)
    expect(slackAt(sweep, 0.0015)).toBeCloseTo(0.2085, 6);
    const c = comparePersistence(sweep, { shortage_steps: 0.0015, slack: 0.2 })!;
    expect(c).toMatchObject({ ahead: true, how: 'interpolated' });
    expect(c.ratio).toBeCloseTo(0.2 / 0.2085, 9);
    expect(comparePersistence(sweep, { shortage_steps: 0.0015, slack: 0.21 })!.ahead).toBe(false);
  });

  it('counts Foresight ahead below the sweep only when it also holds no more slack than the least-short point', () => {
    // the README's 0.3 x row: short less often than any p, and less slack than p = 0.999's
    const c = comparePersistence(sweep, { shortage_steps: 0.00108, slack: 0.1955 })!;
    expect(c).toMatchObject({ ahead: true, how: 'dominates' });
    expect(c.ratio).toBeCloseTo(0.1955 / 0.232, 9);
    // less shortage but more slack: a different trade-off, not ahead
    expect(comparePersistence(sweep, { shortage_steps: 0.0005, slack: 0.3 })).toMatchObject({ ahead: false, how: 'outside' });
  });

  it('never counts Foresight ahead above the sweep, and says when the sweep\'s end dominates it', () => {
    expect(comparePersistence(sweep, { shortage_steps: 0.3, slack: 0.02 })).toMatchObject({ ahead: false, how: 'dominated' });
    expect(comparePersistence(sweep, { shortage_steps: 0.3, slack: 0.005 })).toMatchObject({ ahead: false, how: 'outside' });
    expect(comparePersistence([], { shortage_steps: 0.01, slack: 0.1 })).toBeUndefined();
  });
});

describe('matchShortage', () => {
  const P = [0.95, 0.5, 0.7, 0.8, 0.9, 0.98, 0.99, 0.995, 0.999];
  // a convex curve with p as its knob: shortage 0.5 (1 - p), slack 0.03 / sqrt(shortage)
  const convex = (p: number) => ({ shortage_steps: 0.5 * (1 - p), slack: 0.03 / Math.sqrt(0.5 * (1 - p)) });
  const sweepOf = (f: (p: number) => { shortage_steps: number; slack: number }): SweepPoint[] => P.map((p) => ({ p, ...f(p) }));

  it('finds persistence\'s slack on a convex curve, where the chord between sweep points overstates it', () => {
    const ps: number[] = [];
    const run: RunPersistence = (q) => (ps.push(...q), q.map(convex));
    const s = 0.01414;
    const [m] = matchShortage(sweepOf(convex), [s], run);
    const truth = 0.03 / Math.sqrt(s);
    // the sweep points around it: p = 0.95 (0.025) and 0.98 (0.01); their chord is 2.2% above the curve
    expect(slackAt(sweepOf(convex), s)! - truth).toBeGreaterThan(0.005);
    expect(m!.slack).toBeCloseTo(truth, 4);
    expect(m!.p).toBeCloseTo(1 - 2 * s, 3);
    // a handful of runs, each between the two sweep points
    expect(m!.runs).toBe(ps.length);
    expect(ps.length).toBeLessThanOrEqual(8);
    for (const p of ps) expect(p > 0.95 && p < 0.98).toBe(true);
    const [lo, hi] = m!.bracket;
    expect(lo.shortage_steps <= s && s <= hi.shortage_steps).toBe(true);
    expect(hi.shortage_steps - lo.shortage_steps).toBeLessThanOrEqual(0.02 * s);
    // and the comparison uses it
    expect(comparePersistence(sweepOf(convex), { shortage_steps: s, slack: 0.99 * truth }, m!.slack)).toMatchObject({ ahead: true, how: 'matched' });
    expect(comparePersistence(sweepOf(convex), { shortage_steps: s, slack: 1.01 * truth }, m!.slack)).toMatchObject({ ahead: false, how: 'matched' });
    // 1.01 x the curve's slack is still below the chord: interpolation would have called it ahead
    expect(comparePersistence(sweepOf(convex), { shortage_steps: s, slack: 1.01 * truth })).toMatchObject({ ahead: true, how: 'interpolated' });
  });

  it('bisects every rate in one run per round, and runs nothing for a rate a sweep point realises or outside the sweep', () => {
    const calls: number[][] = [];
    const run: RunPersistence = (q) => (calls.push([...q]), q.map(convex));
    const sweep = sweepOf(convex);
    const [a, b, c, d] = matchShortage(sweep, [0.01414, 0.12, convex(0.99).shortage_steps, 1e-5], run);
    expect(a!.slack).toBeCloseTo(0.03 / Math.sqrt(0.01414), 4);
    expect(b!.slack).toBeCloseTo(0.03 / Math.sqrt(0.12), 4);
    expect(calls.length).toBeLessThanOrEqual(8);
    expect(calls[0]).toHaveLength(2);
    // p = 0.99's own rate: its slack, no run
    expect(c).toMatchObject({ slack: convex(0.99).slack, p: 0.99, runs: 0 });
    // below the least-short point (p = 0.999: 0.0005): left to comparePersistence's dominance rule
    expect(d).toBeUndefined();
  });

  it('on a tiny trace, matches persistence at a finer p grid where the sweep\'s chord misses it', () => {
    const g = syntheticGrid(3, 1500);
    const warmupSteps = warmupStepsOf(g);
    const ctx = { tenants: g.tenants, resource: g.resource, unit: g.unit, startS: 0, intervalS: 300, nSteps: g.nSteps, leadS: 300, stepsPerDay: 288, warmupSteps };
    const run: RunPersistence = (ps) => replay(g, 300, warmupSteps, ps.map((p) => ({ policy: new PersistencePolicy(ctx, { p }), keep: false }))).map((o) => o.score.total);
    const sweep = run(P).map((q, j) => ({ p: P[j], slack: q.slack, shortage_steps: q.shortage_steps }));
    const p90 = sweep.find((q) => q.p === 0.9)!;
    const p95 = sweep.find((q) => q.p === 0.95)!;
    // a rate between p = 0.9's and 0.95's that persistence realises (1.265% of the steps, at p = 0.9328)
    const s = (p90.shortage_steps + p95.shortage_steps) / 2;
    const [m] = matchShortage(sweep, [s], run);
    const fineP = Array.from({ length: 41 }, (_, j) => 0.9 + (0.05 * j) / 40);
    const fine = run(fineP).map((q, j) => ({ p: fineP[j], slack: q.slack, shortage_steps: q.shortage_steps }));
    const onFine = slackAt([...sweep, ...fine], s)!;
    expect(m!.p > 0.9 && m!.p < 0.95).toBe(true);
    expect(Math.abs(m!.slack / onFine - 1)).toBeLessThan(0.005);
    // here the curve bends the other way: the chord of the sweep is 10% below it
    expect(slackAt(sweep, s)! / onFine).toBeLessThan(0.93);
    // persistence at the p found realises the rate
    expect(run([m!.p])[0].shortage_steps).toBeCloseTo(s, 9);
  });
});
