// No policy sees the future: changing usage after T leaves every allocation up to T + lead unchanged.
import { describe, expect, it } from 'vitest';
import { runBacktest } from '../../src/backtest/run.js';
import { POLICY_NAMES } from '../../src/backtest/policy.js';
import type { Grid } from '../../src/backtest/grid.js';
import { syntheticGrid } from './backtest-synthetic.js';

function perturbAfter(g: Grid, T: number): Grid {
  return { ...g, usage: g.usage.map((u) => u.map((x, i) => (g.startS + i * g.intervalS > T ? x * 3 + 7 : x))) };
}

// The first changed sample is the one at T + interval; it is complete (and may be seen) at T + 2 x interval. An
// allocation decided before that, at t - lead, must not change. Leads that are not a whole number of steps are where
// a sample still being measured at the decision time could slip in.
for (const leadS of [600, 420, 60]) {
  describe(`no look-ahead (lead ${leadS} s)`, () => {
    const base = syntheticGrid(3, 700);
    const T = base.startS + 450 * base.intervalS;
    const firstComplete = T + 2 * base.intervalS;
    const opts = { policies: POLICY_NAMES, targetShortage: 0.05, leadS, sweep: false, provisioningDelayS: 180 };
    const a = runBacktest(base, opts);
    const b = runBacktest(perturbAfter(base, T), opts);

    for (const name of POLICY_NAMES.filter((p) => p !== 'oracle')) {
      it(`${name}: allocations decided before the first changed sample is complete are unchanged`, () => {
        const ra = a.results.find((r) => r.main && r.name === name)!;
        const rb = b.results.find((r) => r.main && r.name === name)!;
        let compared = 0;
        let changedLater = 0;
        for (let k = 0; k < base.tenants.length; k++) {
          for (let i = 0; i < base.nSteps; i++) {
            const t = base.startS + i * base.intervalS;
            const x = ra.allocations[k][i];
            const y = rb.allocations[k][i];
            if (t - leadS < firstComplete) {
              expect(Object.is(x, y), `${name} tenant ${k} step ${i}: ${x} vs ${y}`).toBe(true);
              compared++;
            } else if (!Object.is(x, y)) changedLater++;
          }
        }
        expect(compared).toBeGreaterThan(1000);
        // The perturbation is visible to the policy afterwards (so the comparison above could have failed).
        if (name !== 'static') expect(changedLater).toBeGreaterThan(0);
      });
    }
  });
}

describe('no look-ahead (engine and oracle)', () => {
  const leadS = 600;
  const base = syntheticGrid(3, 700);
  const T = base.startS + 450 * base.intervalS;
  const opts = { policies: POLICY_NAMES, targetShortage: 0.05, leadS, sweep: false, provisioningDelayS: 180 };
  const a = runBacktest(base, opts);
  const b = runBacktest(perturbAfter(base, T), opts);

  it('runs foresight through the engine (not only its warm-up fallback)', () => {
    const d = a.engine?.decisions ?? {};
    expect((d.hold ?? 0) + (d.increase ?? 0) + (d.reclaim ?? 0)).toBeGreaterThan(500);
  });

  it('oracle, the only policy given the future, does change before T + lead (the test detects look-ahead)', () => {
    const ra = a.results.find((r) => r.name === 'oracle')!;
    const rb = b.results.find((r) => r.name === 'oracle')!;
    let changed = 0;
    for (let k = 0; k < base.tenants.length; k++) {
      for (let i = 0; base.startS + i * base.intervalS <= T + leadS; i++) if (!Object.is(ra.allocations[k][i], rb.allocations[k][i])) changed++;
    }
    expect(changed).toBeGreaterThan(0);
  });
});
