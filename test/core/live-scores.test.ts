// The engine's live scores (what foresight_forecast_error and foresight_forecast_coverage_ratio export, verbatim from
// accuracy(): src/metrics/exporter.ts) describe recent behaviour: a collapse after a long good run shows within a
// bounded number of steps, whatever the length of that run.
import { describe, expect, it } from 'vitest';
import { allocatorTuning, createForecastEngine } from '../../src/core/engine.js';
import { Core } from '../../src/core/wasm.js';

const core = new Core('debug');

/** Daily-seasonal usage with +-2 of noise, 5-minute steps. */
function seasonal(n: number, seed: number): Float64Array {
  let s = seed;
  const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = 50 + 20 * Math.sin((2 * Math.PI * i) / 288) + 4 * (rnd() - 0.5);
  return y;
}

/** The served (ensemble) coverage of the 0.9 quantile at 5 minutes, as the exporter publishes it. */
function servedCoverage90(eng: ReturnType<typeof createForecastEngine>): number {
  return eng.accuracy().find((a) => a.model === 'ensemble' && a.horizonS === 300)!.coverage[1];
}

/**
 * Runs the sidecar's engine (allocatorTuning: quantiles issued for the ensemble alone) over `goodDays` of ordinary
 * usage, one update and forecast per step as the loop does, then lets demand run away faster than any member
 * extrapolates (every actual above every issued quantile) and returns the coverage before the collapse and the
 * number of steps until the 0.9 quantile's coverage leaves ForesightForecastErrorHigh's band (below 0.85).
 */
function stepsToSeeCollapse(goodDays: number): { before: number; steps: number } {
  const eng = createForecastEngine({ intervalS: 300 }, core, allocatorTuning(300));
  const y = seasonal(288 * (2 + goodDays), 31);
  eng.fit(['a'], [y.subarray(0, 288 * 2)]);
  eng.forecast(['a']);
  for (let i = 288 * 2; i < y.length; i++) {
    eng.update(['a'], [y.subarray(i, i + 1)]);
    eng.forecast(['a']);
  }
  const before = servedCoverage90(eng);
  const last = y[y.length - 1];
  for (let t = 1; t <= 60; t++) {
    eng.update(['a'], [Float64Array.of(last * Math.exp(0.01 * t * t))]);
    eng.forecast(['a']);
    if (servedCoverage90(eng) < 0.85) return { before, steps: t };
  }
  return { before, steps: Infinity };
}

describe('live scores', () => {
  it('show a collapse of the served coverage within 30 steps, after 3 days of good forecasts as after 14', () => {
    const short = stepsToSeeCollapse(3);
    const long = stepsToSeeCollapse(14);
    for (const r of [short, long]) {
      expect(r.before).toBeGreaterThan(0.85);
      expect(r.before).toBeLessThan(0.95);
    }
    // a half-life of 288 outcomes: 0.9 * 2^(-n/288) < 0.85 after 24 misses (plus the first steps the ensemble still
    // covers); totals since start-up needed about 240 after 14 days, and more the longer the sidecar had run
    expect(long.steps).toBeLessThanOrEqual(30);
    expect(short.steps).toBeLessThanOrEqual(30);
    // the same few steps either way (they differ only by where each run's coverage stood and when misses began)
    expect(Math.abs(long.steps - short.steps)).toBeLessThanOrEqual(5);
  });
});
