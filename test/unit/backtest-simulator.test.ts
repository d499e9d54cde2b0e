// The simulated cluster: shortages wait for provisioning unless the pooled reserve covers them.
import { describe, expect, it } from 'vitest';
import type { Grid } from '../../src/backtest/grid.js';
import { simulateShadow, defaultCapacity } from '../../src/backtest/simulator.js';

const grid: Grid = {
  resource: 'cpu',
  origin: 'hand',
  startS: 0,
  intervalS: 300,
  nSteps: 4,
  tenants: ['a', 'b', 'c'],
  usage: [Float64Array.from([1, 5, 1, 1]), Float64Array.from([1, 3, 1, 4]), Float64Array.from([1, 1, 1, 1])],
  firstSample: Int32Array.from([0, 0, 0]),
};
// Allocations 2 everywhere: step 1 has excesses 3 (a) and 1 (b); step 3 has 2 (b).
const alloc = [new Float64Array(4).fill(2), new Float64Array(4).fill(2), new Float64Array(4).fill(2)];

describe('simulateShadow', () => {
  it('without a reserve, every short tenant waits min(delay, interval)', () => {
    const r = simulateShadow(grid, alloc, undefined, 0, { capacity: 100, provisioningDelayS: 180 });
    expect(r.short_tenant_minutes).toBe(3 * 3);
    expect(r.short_time_share).toBeCloseTo((3 * 180) / (4 * 3 * 300), 12);
    expect(r.exhausted_steps).toBe(0);
  });

  it('with a reserve, covers the smallest excesses first and counts exhaustion', () => {
    // Reserve 2 at every step: step 1 covers b (1) but not a (3) -> exhausted; step 3 covers b (2).
    const r = simulateShadow(grid, alloc, new Float64Array(4).fill(2), 0, { capacity: 100, provisioningDelayS: 180 });
    expect(r.short_tenant_minutes).toBe(3);
    expect(r.exhausted_steps).toBe(1);
    expect(r.reserve_avg).toBe(2);
    expect(r.reserve_avg_share_of_usage).toBeCloseTo(2 / ((3 + 9 + 3 + 6) / 4), 12);
  });

  it('caps the reserve by the capacity left over by allocations', () => {
    // Capacity 7 with allocations 6: only 1 of the reserve fits; step 3's excess of 2 is no longer covered.
    const r = simulateShadow(grid, alloc, new Float64Array(4).fill(2), 0, { capacity: 7, provisioningDelayS: 600 });
    expect(r.reserve_avg).toBe(1);
    expect(r.short_tenant_minutes).toBe(5 + 5);
    expect(r.exhausted_steps).toBe(2);
    expect(defaultCapacity(grid)).toBeCloseTo(1.25 * 9, 12);
  });
});
