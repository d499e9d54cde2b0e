// Series and fits whose Holt-Winters results are pinned to the bit in test/fixtures/core/hw-fit.json
// (scripts/golden/hw-fit.ts writes it; test/core/hw-fit-golden.test.ts checks it).
import { fitHoltWinters, type HwFitSpec } from '../../src/core/holt-winters.js';
import type { Core } from '../../src/core/wasm.js';
import { uniform } from './random.js';

/** One season, none, and two (the objective's four-state loops, its one-state loop). */
export const GOLDEN_SPECS: Readonly<Record<string, Pick<HwFitSpec, 'm1' | 'm2' | 'damped'>>> = {
  daily: { m1: 24, m2: 0, damped: true },
  holt: { m1: 0, m2: 0, damped: true },
  undamped: { m1: 24, m2: 0, damped: false },
  'daily-weekly': { m1: 24, m2: 168, damped: true },
};

/** Twelve series of 14 days at an hour: levels, seasons, trends, noise, gaps, spikes and a flat start. */
export function goldenSeries(): Float64Array[] {
  const rnd = uniform(20261130);
  return Array.from({ length: 12 }, (_, k) => {
    const level = 1 + 100 * rnd();
    const amp = k % 3 === 0 ? 0 : rnd();
    const trend = (rnd() - 0.5) * 0.004;
    const y = Float64Array.from({ length: 24 * 14 }, (_, i) => {
      if (rnd() < 0.03) return NaN;
      const weekend = Math.floor(i / 24) % 7 >= 5 && k % 2 === 0 ? 0.6 : 1;
      const spike = k % 4 === 1 && i % 53 === 0 ? 4 : 1;
      return level * weekend * spike * (1 + amp * Math.sin((2 * Math.PI * i) / 24) + trend * i) * (0.9 + 0.2 * rnd());
    });
    if (k % 5 === 4) y.fill(0, 0, 30);
    return y;
  });
}

/** Each fit's parameters and state header (alpha .. mse) as the hex of their float64 bits, cold (250 evaluations)
 *  then warm from it (12, as the hourly refit). */
export function goldenFits(core: Core): Record<string, string[][]> {
  const hex = (x: number) => Buffer.from(new Float64Array([x]).buffer).toString('hex');
  const ys = goldenSeries();
  const out: Record<string, string[][]> = {};
  for (const [name, spec] of Object.entries(GOLDEN_SPECS)) {
    const cold = fitHoltWinters(core, ys, { ...spec, maxEvals: 250, replay: false }, [1]);
    const warm = fitHoltWinters(core, ys, { ...spec, maxEvals: 12, previous: cold.states, replay: false }, [1]);
    out[`${name}/cold`] = cold.states.map((s) => Array.from(s.subarray(0, 12), hex));
    out[`${name}/warm`] = warm.states.map((s) => Array.from(s.subarray(0, 12), hex));
  }
  return out;
}
