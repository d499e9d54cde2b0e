// The allocator's engine at coarse intervals: its quantiles can reach their levels (src/core/engine.ts allocatorTuning).
import { describe, expect, it } from 'vitest';
import { allocatorTuning, createForecastEngine } from '../../src/core/engine.js';
import { Core } from '../../src/core/wasm.js';
import { gaussian } from '../helpers/random.js';

describe('allocatorTuning at intervals of 30 minutes and an hour', () => {
  for (const iv of [1800, 3600]) {
    it(`covers q0.99 near 0.99 on stationary seasonal noise at ${iv} s`, () => {
      const g = gaussian(7);
      const P = Math.round(86_400 / iv);
      const fitN = 7 * P;
      const live = 14 * P;
      const ys = Array.from({ length: 40 }, () => Float64Array.from({ length: fitN + live + 6 }, (_, i) => 100 + 20 * Math.sin((2 * Math.PI * i) / P) + 5 * g()));
      const engine = createForecastEngine({ intervalS: iv, horizonsS: [iv, 3 * iv], quantiles: [0.5, 0.9, 0.95, 0.99] }, new Core('release'), allocatorTuning(iv));
      const keys = ys.map((_, k) => `s${k}`);
      engine.fit(keys, ys.map((y) => y.slice(0, fitN)));
      let hits = 0;
      let n = 0;
      for (let t = fitN; t < fitN + live; t++) {
        engine.forecast(keys).forEach((f, k) => {
          n++;
          if (ys[k][t] <= f.quantiles[3]) hits++; // q0.99 of the first horizon, for the value at t
        });
        engine.update(keys, ys.map((y) => y.subarray(t, t + 1)));
      }
      // a day of origins (24 at an hour) held it near 0.96: a quantile read from n errors is at most their largest
      expect(hits / n).toBeGreaterThan(0.982);
      expect(hits / n).toBeLessThan(0.996);
    });
  }
});
