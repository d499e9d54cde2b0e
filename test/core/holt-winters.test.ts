// Holt-Winters kernels vs R's forecast package with fixed parameters (fixtures from scripts/golden/holt-winters.R,
// R 4.2.2, forecast 8.20; the fixture records the exact calls). Tolerance: 1e-9 relative (the filters are the same
// recursions; only floating-point summation order could differ).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fx } from '../../src/core/forecast-exports.js';
import { fitHoltWinters, HW, updateHoltWinters } from '../../src/core/holt-winters.js';
import { Core } from '../../src/core/wasm.js';
import { uniform } from '../helpers/random.js';

interface Case {
  name: string;
  call: string;
  m: number;
  alpha: number;
  beta: number;
  gamma: number;
  phi: number;
  x: number[];
  l0: number;
  b0: number;
  s0: number[];
  fitted: number[];
  mean: number[];
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/r/holt-winters.json', import.meta.url), 'utf8')) as { source: string; cases: Case[] };
const core = new Core('debug');
const REL = 1e-9;

/** State in error-correction form from forecast:::zzhw parameters: beta = a*b*; its seasonal update
 * s + g*(y - l - phi*b - s) is already s + g*e, so gamma = g (stats::HoltWinters would need g*(1 - a)). */
function stateFrom(c: Case): Float64Array {
  const header = core.call((x) => fx(x).fc_hw_header());
  const s = new Float64Array(header + c.m);
  s[HW.alpha] = c.alpha;
  s[HW.beta] = c.alpha * c.beta;
  s[HW.gamma1] = c.gamma;
  s[HW.phi] = c.phi;
  s[HW.level] = c.l0;
  s[HW.trend] = c.b0;
  s[HW.m1] = c.m;
  s.set(c.s0, header);
  return s;
}

function forecastFrom(state: Float64Array, hs: number[]): Float64Array {
  return core.call((x) => {
    const sp = core.putF64(state);
    const hp = core.putF64(hs);
    const op = x.alloc(hs.length * 8);
    try {
      fx(x).fc_hw_forecast_batch(sp, state.length, 1, hp, hs.length, op);
      return core.f64(op, hs.length).slice();
    } finally {
      for (const p of [sp, hp, op]) x.free(p);
    }
  });
}

function expectClose(got: ArrayLike<number>, want: number[]): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThanOrEqual(REL * Math.max(1, Math.abs(want[i])));
}

describe(`Holt-Winters vs R (${fixture.source})`, () => {
  it.each(fixture.cases.map((c) => [c.name, c] as const))('matches fitted values and forecasts of %s', (_n, c) => {
    const state = stateFrom(c);
    const first = forecastFrom(state, [1])[0];
    const [after] = updateHoltWinters(core, [state], [Float64Array.from(c.x)], [1]);
    // fitted[i] is the one-step forecast made after point i-1
    expectClose([first, ...Array.from(after.subarray(0, c.x.length - 1))], c.fitted);
    const hs = c.mean.map((_, i) => i + 1);
    expectClose(forecastFrom(state, hs), c.mean);
  });
});

describe('fitHoltWinters', () => {
  it('recovers a seasonal pattern: the fitted model beats the R fixture parameters on its own series', () => {
    const c = fixture.cases.find((k) => k.name === 'synthetic-daily-damped')!;
    const { states, status } = fitHoltWinters(core, [Float64Array.from(c.x)], { m1: 24, m2: 0, damped: true, maxEvals: 400 }, [1]);
    expect(status[0]).toBe(0);
    const mse = states[0][HW.mse];
    const ref = c.fitted.reduce((a, f, i) => a + (c.x[i] - f) ** 2, 0) / c.x.length;
    expect(mse).toBeLessThan(ref);
    expect(states[0][HW.alpha]).toBeGreaterThan(0);
    expect(states[0][HW.phi]).toBeGreaterThanOrEqual(0.8);
    expect(states[0][HW.phi]).toBeLessThanOrEqual(0.98);
  });

  it('refits warm: from the previous parameters, 40 evaluations reach a cold 400-evaluation fit (within 0.1%)', () => {
    // a wandering level under a daily season: an interior optimum (the R fixtures sit on a corner of the box)
    let seed = 5;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5;
    let level = 100;
    const x = Float64Array.from({ length: 24 * 30 }, (_, i) => (level += 0.8 * rnd()) + 10 * Math.sin((2 * Math.PI * i) / 24) + 3 * rnd());
    const spec = { m1: 24, m2: 0, damped: true };
    const first = fitHoltWinters(core, [x.subarray(0, x.length - 24)], { ...spec, maxEvals: 400 }, [1]);
    const cold = fitHoltWinters(core, [x], { ...spec, maxEvals: 400 }, [1]);
    const coldShort = fitHoltWinters(core, [x], { ...spec, maxEvals: 40 }, [1]);
    const warm = fitHoltWinters(core, [x], { ...spec, maxEvals: 40, previous: first.states, replay: false }, [1]);
    expect(warm.status[0]).toBe(0);
    expect(warm.origins[0].length).toBe(0);
    // the state after the refit has consumed the whole history
    expect(warm.states[0][HW.t]).toBe(x.length);
    expect(warm.states[0][HW.mse]).toBeLessThan(cold.states[0][HW.mse] * 1.001);
    // and the warm start is what makes 40 evaluations enough
    expect(warm.states[0][HW.mse]).toBeLessThan(coldShort.states[0][HW.mse]);
  });

  it('costs O(new points) online: updating with k points advances t by k', () => {
    const c = fixture.cases[0];
    const { states } = fitHoltWinters(core, [Float64Array.from(c.x)], { m1: 12, m2: 0, damped: false, maxEvals: 200 }, [1]);
    const t0 = states[0][HW.t];
    updateHoltWinters(core, states, [Float64Array.of(400, NaN, 410)], [1]);
    expect(states[0][HW.t]).toBe(t0 + 3);
    expect(Number.isFinite(states[0][HW.level])).toBe(true);
  });

  it('fits two seasons (a day and a week) and beats the daily-only model on a series that has both', () => {
    const y = Float64Array.from({ length: 168 * 4 }, (_, i) => 100 + 10 * Math.sin((2 * Math.PI * i) / 24) + (Math.floor(i / 24) % 7 >= 5 ? -15 : 0) + ((i * 37) % 11) / 11);
    const both = fitHoltWinters(core, [y], { m1: 24, m2: 168, damped: true, maxEvals: 400 }, [1]);
    const daily = fitHoltWinters(core, [y], { m1: 24, m2: 0, damped: true, maxEvals: 400 }, [1]);
    expect(both.status[0]).toBe(0);
    expect(both.states[0][HW.m1]).toBe(24);
    expect(both.states[0][HW.m2]).toBe(168);
    expect(both.states[0][HW.mse]).toBeLessThan(daily.states[0][HW.mse]);
  });

  it('runs its objective through loops for one season and none that give the general filter\'s state to the bit', () => {
    // the fit's last run (replay: false) takes the objective's loop; the replay re-runs the same parameters from the
    // same start through the general filter, which also writes forecasts
    const rnd = uniform(3);
    const ys = Array.from({ length: 6 }, (_, k) => Float64Array.from({ length: 24 * 20 }, (_, i) => (rnd() < 0.05 ? NaN : 50 + k * 10 * Math.sin((2 * Math.PI * i) / 24) + 0.05 * i + 5 * rnd())));
    for (const spec of [
      { m1: 24, m2: 0, damped: true },
      { m1: 0, m2: 0, damped: true },
      { m1: 0, m2: 0, damped: false },
      { m1: 24, m2: 168, damped: true },
    ]) {
      const fast = fitHoltWinters(core, ys, { ...spec, maxEvals: 60, replay: false }, [1]);
      const general = fitHoltWinters(core, ys, { ...spec, maxEvals: 60 }, [1, 6]);
      expect(general.origins[0].length).toBe(ys[0].length * 2);
      ys.forEach((_, i) => expect([...fast.states[i]], JSON.stringify(spec)).toEqual([...general.states[i]]));
    }
  });

  it('reports a non-seasonal fallback for a series shorter than two seasons', () => {
    const { status, states } = fitHoltWinters(core, [Float64Array.from({ length: 30 }, (_, i) => i % 7)], { m1: 24, m2: 0, damped: true, maxEvals: 100 }, [1]);
    expect(status[0]).toBe(4);
    expect(states[0][HW.m1]).toBe(0);
    // the state keeps no room for the dropped season: the header only
    expect(states[0].length).toBe(core.call((x) => fx(x).fc_hw_header()));
  });
});
