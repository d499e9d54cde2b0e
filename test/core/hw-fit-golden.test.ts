// The Holt-Winters fit (Nelder-Mead over the filter's one-step error) gives the same parameters and states, to the
// bit, as the build that evaluated one point at a time (test/fixtures/core/hw-fit.json, scripts/golden/hw-fit.ts):
// the objective's four-state loops and the minimiser's batches of points change its speed, not its path.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Core } from '../../src/core/wasm.js';
import { fitHoltWinters, HW } from '../../src/core/holt-winters.js';
import { GOLDEN_SPECS, goldenFits, goldenSeries } from '../helpers/hw-fit-golden.js';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/core/hw-fit.json', import.meta.url), 'utf8')) as { fits: Record<string, string[][]> };

describe('Holt-Winters fit, pinned to the bit', () => {
  const fits = goldenFits(new Core());
  for (const name of Object.keys(fixture.fits)) {
    it(`${name}: every series' parameters and state as recorded`, () => {
      expect(fits[name]).toEqual(fixture.fits[name]);
    });
  }
  it('reaches, by the objective\'s four-state loops, the sums the one-state filter gives at the same parameters', () => {
    // the minimiser's best value (HW.fitSse) came from whichever loop evaluated that point, most often the four-state
    // one; the fit's last run (HW.mse times the points present) is the one-state filter's, on the same parameters
    const core = new Core();
    const ys = goldenSeries();
    const present = ys.map((y) => y.filter(Number.isFinite).length);
    let checked = 0;
    for (const spec of Object.values(GOLDEN_SPECS)) {
      for (const maxEvals of [250, 12, 7]) {
        const { states, status } = fitHoltWinters(core, ys, { ...spec, maxEvals, replay: false }, [1]);
        states.forEach((st, i) => {
          if (status[i] !== 0) return;
          expect(st[HW.fitSse] / present[i], `${JSON.stringify(spec)} series ${i}`).toBe(st[HW.mse]);
          checked++;
        });
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('covers every fit the helper makes', () => {
    expect(Object.keys(fits).sort()).toEqual(Object.keys(fixture.fits).sort());
  });
});
