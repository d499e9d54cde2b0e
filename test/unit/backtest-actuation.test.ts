// The backtest scores what the cluster gets: Foresight's recommendations through the actuator's safety gate and
// write rule (src/actuator/safety.ts, writesTarget in src/actuator/vpa-logic.ts), unless actuation is off.
import { describe, expect, it } from 'vitest';
import { defaultActuatorOptions } from '../../src/actuator/config.js';
import { visibleCount } from '../../src/backtest/policy.js';
import { runBacktest, type BacktestOptions } from '../../src/backtest/run.js';
import { DEFAULT_BOUNDS, RECURRING_LAGS_S, recentPeak, recurringPeak } from '../../src/logic/bounds.js';
import type { Grid } from '../../src/backtest/grid.js';
import { syntheticGrid } from './backtest-synthetic.js';

// a daily square wave (1 for half a day, then 10) under the synthetic load: once the engine has seen a few days it
// raises the allocation ahead of the jump, further than one step above what usage has shown so far
function squareWaveGrid(): Grid {
  const g = syntheticGrid(3, 5 * 288);
  const usage = g.usage.map((u) => u.map((x, i) => (x === x ? x / 10 + (Math.floor(i / 144) % 2 === 1 ? 10 : 1) : x)));
  return { ...g, usage };
}
const grid = squareWaveGrid();
const base: BacktestOptions = { policies: ['foresight'], targetShortage: 0.05, leadS: 300, sweep: false, provisioningDelayS: 180 };
const allocations = (o: Partial<BacktestOptions>) => runBacktest(grid, { ...base, ...o }).results.find((r) => r.main)!.allocations;

describe('backtest actuation', () => {
  const raw = allocations({ actuation: false });
  const gated = allocations({});
  const step = defaultActuatorOptions.maxStepRatio;
  const tol = defaultActuatorOptions.tolerance;

  it('moves each allocation at most one maximum step per decision (or up to the recent peak or the demand of this time of day) and writes no decrease within the tolerance', () => {
    let bound = 0;
    const lags = RECURRING_LAGS_S.map((s) => s / grid.intervalS);
    for (let k = 0; k < grid.tenants.length; k++) {
      const a = gated[k];
      // from the first step the gate shaped (before the first forecast both are the policy's warm-up value)
      const from = a.findIndex((v, i) => !Object.is(v, raw[k][i]));
      expect(from).toBeGreaterThan(0);
      for (let i = from; i < a.length; i++) {
        const prev = a[i - 1];
        if (!(prev > 0) || a[i] === prev) continue;
        // the step limit bounds what the forecast adds, not the recent peak of the samples the decision saw
        const seen = grid.usage[k].subarray(0, visibleCount(i, base.leadS, grid.intervalS));
        const peak = recentPeak(seen, DEFAULT_BOUNDS.safetyWindowS / grid.intervalS);
        // ... nor what the same 30 minutes held a day or a week before
        const recurring = recurringPeak(seen, i, 1800 / grid.intervalS, lags);
        expect(a[i]).toBeLessThanOrEqual(Math.max(prev * (1 + step), Number.isFinite(peak) ? peak : 0, Number.isFinite(recurring) ? recurring : 0) * (1 + 1e-12));
        expect(a[i]).toBeGreaterThanOrEqual(prev * (1 - step) * (1 - 1e-12));
        if (a[i] < prev) expect(prev - a[i]).toBeGreaterThan(tol * prev);
        // an increase the gate held below what the policy recommended
        if (a[i] > prev && raw[k][i] > a[i] * (1 + 1e-9)) bound++;
      }
    }
    // the synthetic bursts make the policy ask for more than one step at a time somewhere
    expect(bound).toBeGreaterThan(0);
  });

  it('provisions the daily jump before it comes, once a day has shown it, where the step limit alone would not', () => {
    // the square wave rises from about 1 to 10 at every odd half day; from the second rise on, yesterday's values
    // show it, so the gate passes the forecast's raise whole: in force at the rise itself, not steps later
    let ahead = 0, low = 0, rises = 0;
    for (let k = 0; k < grid.tenants.length; k++) {
      for (let rise = 144 + 2 * 288; rise < grid.nSteps; rise += 288) {
        rises++;
        if (gated[k][rise] >= 9) ahead++;
        // an hour before, the allocation was still near the low level (it did not just sit high all day)
        if (gated[k][rise - 12] < 5) low++;
      }
    }
    expect(rises).toBe(9);
    expect(ahead).toBeGreaterThanOrEqual(rises - 2);
    expect(low).toBeGreaterThanOrEqual(rises - 2);
  });

  it('scores the recommendations themselves with actuation off, and the actuator options reach the gate', () => {
    let differs = 0;
    for (let k = 0; k < grid.tenants.length; k++) for (let i = 0; i < raw[k].length; i++) if (!Object.is(raw[k][i], gated[k][i])) differs++;
    expect(differs).toBeGreaterThan(0);
    // a maximum step of 10 (x11 per decision) leaves increases unbounded on this grid: fewer steps differ from the policy
    const loose = allocations({ actuation: { maxStepRatio: 10 } });
    let loosened = 0;
    for (let k = 0; k < grid.tenants.length; k++) for (let i = 0; i < raw[k].length; i++) if (!Object.is(raw[k][i], loose[k][i])) loosened++;
    expect(loosened).toBeLessThan(differs);
  });
  it('with an evicting update mode holds the day\'s largest allocation: it stays up through the low half-days, and rarely decreases', () => {
    const held = allocations({ actuation: { stableWindowS: 86_400 } });
    let changesGated = 0, changesHeld = 0, lowGated = 0, lowHeld = 0;
    for (let k = 0; k < grid.tenants.length; k++) {
      for (let i = 1; i < grid.nSteps; i++) {
        const day = Math.floor(i / 288), inDay = i % 288;
        // decreases once the engine forecasts (the first day is the policy's warm-up value, not actuated): what evicts
        // a pod sized at the peak (an increase beyond its request evicts under any mode)
        if (day >= 1 && gated[k][i] < gated[k][i - 1]) changesGated++;
        if (day >= 1 && held[k][i] < held[k][i - 1]) changesHeld++;
        // the low half of days 3 and 4 (usage about 1), after a day that rose to 10
        if (day >= 2 && inDay < 144) {
          if (gated[k][i] < 5) lowGated++;
          if (held[k][i] < 5) lowHeld++;
        }
        expect(held[k][i] >= gated[k][i] - 1e-9 || day < 1).toBe(true);
      }
    }
    expect(lowGated).toBeGreaterThan(100);
    expect(lowHeld).toBe(0);
    expect(changesGated).toBeGreaterThan(10);
    expect(changesHeld).toBeLessThan(changesGated / 4);
  });
});
