// The point baselines of `foresight evaluate`: persistence and seasonal naive read no sample after the origin.
import { describe, expect, it } from 'vitest';
import { lastValue, seasonalNaive } from '../../src/evaluate/baselines.js';

describe('evaluate baselines', () => {
  it('persistence is the last finite value at or before the origin, NaN before any', () => {
    const y = [NaN, 2, 3, NaN, NaN, 6];
    expect(lastValue(y, 0)).toBeNaN();
    expect(lastValue(y, 2)).toBe(3);
    expect(lastValue(y, 4)).toBe(3);
    expect(lastValue(y, 9)).toBe(6);
  });

  it('seasonal naive reads the same phase in the latest season observed by the origin, for any horizon', () => {
    // y[i] = i: the forecast's value is the index it read
    const season = 4;
    const y = Array.from({ length: 40 }, (_, i) => i);
    const t = 20;
    expect(seasonalNaive(y, t, 1, season)).toBe(17); // t + 1 - 4
    expect(seasonalNaive(y, t, 4, season)).toBe(20); // one whole season: the origin
    expect(seasonalNaive(y, t, 5, season)).toBe(17); // t + 5 - 8
    expect(seasonalNaive(y, t, 8, season)).toBe(20);
    expect(seasonalNaive(y, t, 11, season)).toBe(19); // t + 11 - 12
    for (let h = 1; h <= 5 * season; h++) {
      const at = seasonalNaive(y, t, h, season);
      expect(at).toBeLessThanOrEqual(t);
      expect((t + h - at) % season).toBe(0);
    }
  });

  it('seasonal naive falls back to the last value where that sample is missing or before the start', () => {
    const y = [1, NaN, 3, 4, 5, 6];
    expect(seasonalNaive(y, 5, 4, 4)).toBe(6); // one whole season: the origin, y[5]
    expect(seasonalNaive(y, 4, 1, 4)).toBe(5); // y[1] is a gap: last value
    expect(seasonalNaive(y, 1, 1, 4)).toBe(1); // before the start: last value (y[0])
    expect(seasonalNaive([NaN, NaN], 1, 1, 4)).toBeNaN();
  });
});
