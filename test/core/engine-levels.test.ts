// A forecast at levels other than the configured ones (forecast(keys, [0.5, 0.8])) must not touch the calibration of
// the configured levels: ACI scores every configured level, so every forecast issues them all.
import { describe, expect, it } from 'vitest';
import { createForecastEngine } from '../../src/core/engine.js';
import { Core } from '../../src/core/wasm.js';

const DAY = 288;

function noisySeasonal(n: number, seed: number): Float64Array {
  let s = seed;
  const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647;
  return Float64Array.from({ length: n }, (_, i) => 100 + 30 * Math.sin((2 * Math.PI * i) / DAY) + 8 * (rnd() - 0.5));
}

describe('engine forecasts at requested levels', () => {
  it('keeps the configured levels calibrated when every forecast asks for a subset of other levels', () => {
    const y = noisySeasonal(4 * DAY, 21);
    const all = createForecastEngine({ intervalS: 300 }, new Core('debug')); // the configured levels each step
    const subset = createForecastEngine({ intervalS: 300 }, new Core('debug')); // [0.5, 0.8] each step
    const models = createForecastEngine({ intervalS: 300 }, new Core('debug')); // per-model forecasts at [0.8]
    for (const e of [all, subset, models]) e.fit(['s'], [y.slice(0, 3 * DAY)]);
    for (let t = 3 * DAY; t < 4 * DAY; t++) {
      for (const e of [all, subset, models]) e.update(['s'], [y.subarray(t, t + 1)]);
      all.forecast(['s']);
      all.forecastModels(['s']);
      const [f] = subset.forecast(['s'], [0.5, 0.8]);
      expect(f.quantiles).toHaveLength(2 * 3);
      subset.forecastModels(['s'], [0.8, 0.999]);
      models.forecast(['s']);
      models.forecastModels(['s'], [0.8]);
    }
    const [fa] = all.forecast(['s']);
    for (const e of [subset, models]) {
      expect(Array.from(e.forecast(['s'])[0].quantiles)).toEqual(Array.from(fa.quantiles));
      expect(e.accuracy()).toEqual(all.accuracy());
    }
    // the subset's own quantiles are read with the same calibration
    expect(Array.from(subset.forecast(['s'], [0.5, 0.8])[0].quantiles)).toEqual(Array.from(all.forecast(['s'], [0.5, 0.8])[0].quantiles));
    const cov = all.accuracy().find((a) => a.model === 'ensemble' && a.horizonS === 1800)!.coverage;
    for (const c of cov) expect(c).toBeGreaterThan(0.3);
  });
});
