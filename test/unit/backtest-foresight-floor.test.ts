// The backtest's Foresight policy keeps the live loop's floor at the recent peak on any trace step: the last 10
// minutes' peak, and at least the newest sample where a step is longer than that (as src/loop/engine-loop.ts).
import { describe, expect, it } from 'vitest';
import type { ForecastFeed } from '../../src/backtest/forecast-feed.js';
import type { PolicyContext } from '../../src/backtest/policy.js';
import { ForesightPolicy } from '../../src/backtest/policies/foresight.js';
import { FORECAST_LEVELS } from '../../src/logic/allocation.js';

/** Allocations at steps 31-33 of a tenant at 10 with a burst to 40 at step 30, under a forecast of about 10. */
function afterBurst(intervalS: number): number[] {
  const n = 40;
  const ctx: PolicyContext = { tenants: ['t'], resource: 'cpu', startS: 0, intervalS, nSteps: n, leadS: intervalS, stepsPerDay: 86_400 / intervalS };
  const fc = Float64Array.from(FORECAST_LEVELS, (l) => 10 * (0.9 + 0.2 * l));
  const feed = { options: { levels: FORECAST_LEVELS }, at: () => ({ ok: [true], next: [fc], window: [fc], anomalous: [false], quarantined: [false] }) } as unknown as ForecastFeed;
  const policy = new ForesightPolicy(ctx, feed, {});
  const usage = new Float64Array(n).fill(10);
  usage[30] = 40;
  const out = new Float64Array(1);
  const seen: number[] = [];
  for (let i = 0; i < n; i++) {
    policy.step(i, [usage.subarray(0, Math.max(0, i - 1))], out);
    if (i >= 31 && i <= 33) seen.push(out[0]);
  }
  return seen;
}

describe('ForesightPolicy recent-peak floor', () => {
  it('meets a burst once it is visible, on 5-minute, 30-minute and hourly traces alike', () => {
    // the burst at step 30 is visible from step 32 (a lead of one step, the newest sample one step behind)
    for (const intervalS of [300, 1800, 3600]) {
      const [before, visible] = afterBurst(intervalS);
      expect(before, `${intervalS} s`).toBeLessThan(40);
      expect(visible, `${intervalS} s`).toBeGreaterThanOrEqual(40);
    }
  });
});
