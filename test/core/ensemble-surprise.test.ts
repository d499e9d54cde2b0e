// One point no member saw coming (a scrape glitch far above the level) leaves the ensemble's weights where they were:
// every member's loss takes it only up to SURPRISE times itself (assembly/forecast/ensemble.ts), and so do the error
// windows the quantiles read. A member that errs alone is still charged in full.
import { describe, expect, it } from 'vitest';
import { allocatorTuning, createForecastEngine, type ForesightEngine } from '../../src/core/engine.js';
import { Core } from '../../src/core/wasm.js';
import { gaussian } from '../helpers/random.js';

const DAY = 288;

/** A daily sine of level 10 with noise: Holt-Winters' series. */
function daily(n: number, from: number, seed: number): Float64Array {
  const g = gaussian(seed);
  return Float64Array.from({ length: n }, (_, i) => 10 + 4 * Math.sin((2 * Math.PI * (from + i)) / DAY) + 0.3 * g());
}

/** The weight of each model at the first horizon. */
function weights(e: ForesightEngine, key: string): Record<string, number> {
  const first = e.scores(key)[0].horizonS;
  return Object.fromEntries(e.scores(key).filter((s) => s.horizonS === first && s.model !== 'ensemble').map((s) => [s.model, s.weight]));
}

describe('the ensemble after a point no member saw coming', () => {
  it('keeps its weights through a glitch a million times the level, and its forecasts near the level for the day after', () => {
    const e = createForecastEngine({ intervalS: 300 }, new Core());
    e.fit(['s'], [daily(4 * DAY, 0, 1)]);
    e.update(['s'], [daily(DAY, 4 * DAY, 2)]);
    const before = weights(e, 's');
    e.update(['s'], [Float64Array.of(1e7)]);
    // every member's loss grew by the same factor: the weights are as they were (unclipped: all 1/7)
    const atGlitch = weights(e, 's');
    for (const [m, w] of Object.entries(before)) expect(atGlitch[m], m).toBeCloseTo(w, 9);
    // Holt-Winters and Holt took the glitch into their state and then err alone, persistence repeats it: at the next
    // point their errors at the shortest horizon charge their losses at every horizon (the longer horizons' own
    // errors of forecasts made after the glitch mature only h points later), and the members that did not take it in
    // carry the forecast at once: every horizon's median is near the level of 10 from the next point (the 15- and
    // 30-minute ones were 4.1e5 and 1.4e5 there, and the 30-minute one stayed above 7e4 for five points, before
    // chargeLongerHorizons). Then the quantiles stay near the level for the day (unclipped, with every member weighted
    // alike: the median 209 six points later, 200 four hours later, 79 twenty hours later)
    let t = 5 * DAY + 1;
    e.update(['s'], [daily(1, t, t)]);
    t++;
    const medians = e.forecast(['s'], [0.5])[0].quantiles;
    for (let k = 0; k < 3; k++) expect(medians[k], `horizon ${k}`).toBeLessThan(20);
    e.update(['s'], [daily(5, t, t)]);
    t += 5;
    for (let i = 6; i < 240; i++) {
      e.update(['s'], [daily(1, t, t)]);
      t++;
      const q = Array.from(e.forecast(['s'])[0].quantiles);
      if (i % 6 === 0) expect(Math.max(...q), `${i + 1} points after: ${q.map((x) => x.toFixed(1)).join(' ')}`).toBeLessThan(30);
    }
    const after = weights(e, 's');
    expect(after.persistence).toBeLessThan(0.01);
    expect(after['holt-winters']).toBeLessThan(0.01);
  });

  it('moves its longer horizons to a new level as soon as the shortest horizon has seen it', () => {
    // a step from 10 to 30 on the daily sine: the members that missed it (Holt-Winters, the medians, seasonal naive)
    // lose their weight at the shortest horizon within a few points, and now at the longer ones with it; before, the
    // 30-minute median stayed near the old level until its own errors of forecasts made after the step matured
    // (17.7 six points after the step, 28.2 after eight; now 27.1 after four, 31.3 after six)
    const e = createForecastEngine({ intervalS: 300 }, new Core(), allocatorTuning(300));
    e.fit(['s'], [daily(4 * DAY, 0, 1)]);
    e.update(['s'], [daily(DAY, 4 * DAY, 2)]);
    const up = daily(6, 5 * DAY, 3).map((v) => v + 20);
    e.update(['s'], [up]);
    // horizons 5, 15 and 30 minutes (the defaults)
    const medians = e.forecast(['s'], [0.5])[0].quantiles;
    expect(medians[2]).toBeGreaterThan(25);
  });

  it('takes the shortest horizon as the one that leads, whatever the order the horizons are given in', () => {
    // the engine takes horizons in any order: [30, 5, 15] minutes must forecast what [5, 15, 30] does, step included
    // (the kernel had read the first horizon as the shortest and matured them in the given order: the 15- and
    // 30-minute medians after the step differed by up to 2.3)
    const run = (horizonsS: number[]): Map<number, number[]> => {
      const e = createForecastEngine({ intervalS: 300, horizonsS }, new Core(), allocatorTuning(300));
      e.fit(['s'], [daily(4 * DAY, 0, 1)]);
      e.update(['s'], [daily(DAY, 4 * DAY, 2)]);
      const up = daily(8, 5 * DAY, 3).map((v) => v + 20);
      const medians = new Map<number, number[]>(horizonsS.map((h) => [h, []]));
      for (let i = 0; i < up.length; i++) {
        e.update(['s'], [up.subarray(i, i + 1)]);
        const q = e.forecast(['s'], [0.5])[0].quantiles;
        horizonsS.forEach((h, k) => medians.get(h)!.push(q[k]));
      }
      return medians;
    };
    const sorted = run([300, 900, 1800]);
    const shuffled = run([1800, 300, 900]);
    for (const h of [300, 900, 1800]) expect(shuffled.get(h), `${h / 60} minutes`).toEqual(sorted.get(h));
  });

  it('lets a run of surprises move its conformal calibration once, so the interval is back hours after a step', () => {
    // after a step from 10 to 30, the 30-minute forecasts made before it and while the weights move miss in a row;
    // each miss raised the 0.95 quantile's working level by 0.0095 (ACI steps at every issued forecast, so the loop's
    // forecast each cycle is what this does), and 4 hours after the step the interval was still 19.2 wide (its usual
    // width 0.53), 11.9 after 5 hours, 1.9 after 6. Now the first surprise of a run steps the calibration, the rest do
    // not: 0.91 after 4 hours
    const e = createForecastEngine({ intervalS: 300 }, new Core(), allocatorTuning(300));
    e.fit(['s'], [daily(4 * DAY, 0, 1)]);
    e.update(['s'], [daily(DAY, 4 * DAY, 2)]);
    const width30 = (): number => {
      // horizons 5, 15 and 30 minutes, levels 0.5, 0.9, 0.95, 0.99 (the defaults)
      const q = e.forecast(['s'])[0].quantiles;
      return q[10] - q[8];
    };
    const usual = width30();
    expect(usual).toBeLessThan(1);
    const up = daily(5 * 12, 5 * DAY, 3).map((v) => v + 20);
    const widths: number[] = [];
    for (let i = 0; i < up.length; i++) {
      e.update(['s'], [up.subarray(i, i + 1)]);
      widths.push(width30());
    }
    expect(widths[4 * 12 - 1], '4 hours after the step').toBeLessThan(2);
    expect(widths[5 * 12 - 1], '5 hours after the step').toBeLessThan(2);
  });

  it('keeps the glitch in its error windows at most ten times each loss', () => {
    const e = createForecastEngine({ intervalS: 300 }, new Core());
    e.fit(['s'], [daily(4 * DAY, 0, 1)]);
    e.update(['s'], [daily(DAY, 4 * DAY, 2)]);
    e.update(['s'], [Float64Array.of(1e7)]);
    // a level far in the tail reads the windows' largest errors (no quantiles issued meanwhile, so no conformal
    // shift moves it): within a few units of the median, where it stood 9e6 above it while the windows held the
    // glitch whole (the 3.5 days of 1,008 origins it stays in them)
    e.update(['s'], [daily(60, 5 * DAY + 1, 3)]);
    const far = e.forecast(['s'], [0.5, 0.9999])[0].quantiles;
    for (let k = 0; k < far.length; k += 2) expect(far[k + 1] - far[k], `horizon ${k / 2}`).toBeLessThan(10);
  });
});
