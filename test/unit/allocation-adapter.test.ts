// The loop's binding of the allocation policy: quarantine holds the allocation and keeps the bounds around it.
import { describe, expect, it } from 'vitest';
import { createAllocationDecider } from '../../src/loop/allocation-adapter.js';
import type { DecideInput } from '../../src/loop/types.js';
import { FORECAST_LEVELS } from '../../src/logic/allocation.js';

function input(level: number, quarantined: boolean, nowS: number, observed = level): DecideInput {
  const quantiles = FORECAST_LEVELS;
  const horizonsS = [300, 900, 1800];
  const q = new Float64Array(quantiles.length * horizonsS.length);
  // Quantiles spread around the level, the same at every horizon.
  for (let h = 0; h < horizonsS.length; h++) for (let k = 0; k < quantiles.length; k++) q[h * quantiles.length + k] = level * (0.9 + 0.2 * quantiles[k]);
  return {
    tenant: 't',
    resource: 'cpu',
    forecast: { key: 't', status: 'ok', point: new Float64Array(horizonsS.length).fill(level), quantiles: q, models: ['holt-winters'] },
    horizonsS,
    quantiles,
    usage: observed,
    recentPeak: observed,
    quarantined,
    nowS,
  };
}

describe('createAllocationDecider', () => {
  it('holds the allocation of a quarantined tenant whose forecast rises, with bounds that still bracket the target', () => {
    const decider = createAllocationDecider();
    const first = decider.decide(input(1, false, 0))!;
    const held = decider.decide(input(10, true, 300, 1))!;
    expect(held.target).toBeLessThan(first.target * 1.5);
    expect(held.lowerBound).toBeLessThanOrEqual(held.target);
    expect(held.upperBound).toBeGreaterThanOrEqual(held.target);
    const free = createAllocationDecider();
    free.decide(input(1, false, 0));
    expect(free.decide(input(10, false, 300, 1))!.target).toBeGreaterThan(held.target);
  });

  it('decides nothing on a forecast with a non-finite quantile (read as 0, it had shrunk the allocation)', () => {
    const decider = createAllocationDecider();
    const first = decider.decide(input(10, false, 0))!;
    const bad = input(10, false, 300);
    bad.forecast.quantiles[0] = NaN;
    expect(decider.decide(bad)).toBeUndefined();
    expect(decider.decide(input(10, false, 600))!.target).toBe(first.target);
  });
});
