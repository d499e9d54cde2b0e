// The backtest's Foresight policy calibrates its pooled shadow reserve on the plans' outcomes, as the live loop's
// ShadowPlanner does: a plan is exhausted when the usage that came at its step exceeds the planned tenants'
// allocations by more than the reserve.
import { describe, expect, it } from 'vitest';
import type { ForecastFeed } from '../../src/backtest/forecast-feed.js';
import type { PolicyContext } from '../../src/backtest/policy.js';
import { ForesightPolicy } from '../../src/backtest/policies/foresight.js';
import { FORECAST_LEVELS } from '../../src/logic/allocation.js';

/** Four tenants at 10, forecast a little above 10; every `every`-th step (none at 0) each bursts to 30. */
function run(every: number): { policy: ForesightPolicy; first: number } {
  const n = 400, tenants = ['a', 'b', 'c', 'd'];
  const ctx: PolicyContext = { tenants, resource: 'cpu', startS: 0, intervalS: 300, nSteps: n, leadS: 300, stepsPerDay: 288 };
  const fc = Float64Array.from(FORECAST_LEVELS, (l) => 10 * (0.95 + 0.1 * l));
  const ok = tenants.map(() => true), no = tenants.map(() => false);
  const feed = { options: { levels: FORECAST_LEVELS }, at: () => ({ ok, next: tenants.map(() => fc), window: tenants.map(() => fc), anomalous: no, quarantined: no }) } as unknown as ForecastFeed;
  const policy = new ForesightPolicy(ctx, feed, { sizeReserve: true });
  const usage = tenants.map(() => Float64Array.from({ length: n }, (_, i) => (every > 0 && i % every === every - 1 ? 30 : 10)));
  const out = new Float64Array(tenants.length);
  let first = NaN;
  for (let i = 0; i < n; i++) {
    policy.step(i, usage.map((u) => u.subarray(0, Math.max(0, i - 1))), out);
    if (i === 0) first = policy.reserve[0];
  }
  return { policy, first };
}

describe('ForesightPolicy shadow reserve calibration', () => {
  it('raises the reserve where bursts exceed it far more often than 1% of the plans, and lowers it where none do', () => {
    const calm = run(0);
    expect(calm.policy.reserveScale).toBeLessThan(1);
    expect(calm.policy.reserveScale).toBeCloseTo(Math.exp(-0.1 * 0.01 * 398), 9);
    const bursty = run(10);
    // a tenth of the plans exhausted: the scale climbs (plans the Monte Carlo sizes at 0, after the policy has raised
    // its allocations on the bursts, do not move it)
    expect(bursty.policy.reserveScale).toBeGreaterThan(1.5);
    expect(bursty.policy.reserveScale).toBeLessThanOrEqual(4);
    // the Monte Carlo sizes a reserve the scale acts on (one of 0 stays 0)
    expect(bursty.first).toBeGreaterThan(0);
  });
});
