// The loop's binding of the allocation policy: quarantine holds the allocation and keeps the bounds around it.
import { describe, expect, it } from 'vitest';
import { createAllocationDecider } from '../../src/loop/allocation-adapter.js';
import type { DecideInput } from '../../src/loop/types.js';
import { allocationConfig, decide, FORECAST_LEVELS, holdScaleUp, newAllocationState, observe, type AllocationState } from '../../src/logic/allocation.js';
import type { Recommendation } from '../../src/model/snapshot.js';

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

  it('decides as the shared policy run with a new state per step does, though it keeps one state object per series', () => {
    // two series over 300 steps: demand that rises, falls and runs short, so that calibration, reclamation,
    // the rate limit and quarantine all change the state
    const cfg = allocationConfig();
    const decider = createAllocationDecider();
    const ref = new Map<string, AllocationState>();
    const level = (r: string, t: number) => (r === 'cpu' ? 5 + 4 * Math.sin(t / 17) : 2 + (t % 90 < 30 ? 6 : 0));
    let changes = 0;
    for (let t = 0; t < 300; t++) {
      for (const resource of ['cpu', 'memory']) {
        const d = { ...input(level(resource, t), t % 50 >= 40, t * 300, level(resource, t) * (t % 7 === 0 ? 1.6 : 1)), resource };
        // the observation of the step before (a shortage every seventh step), as the loop feeds it
        if (t > 0) d.newPoints = { startS: t * 300, intervalS: 300, values: new Float64Array([d.usage]) };
        const got = decider.decide(d);
        // the reference: the policy's functions, a new state each time (src/logic/allocation.ts's own usage)
        let st = ref.get(resource) ?? newAllocationState(cfg);
        for (const v of d.newPoints?.values ?? []) st = observe(st, { timeS: d.newPoints!.startS, usage: v, allocation: st.allocation }, cfg, !d.quarantined);
        const q = d.forecast.quantiles;
        const nq = d.quantiles.length;
        const window = new Float64Array(nq).fill(-Infinity);
        for (let h = 0; h < d.horizonsS.length; h++) for (let k = 0; k < nq; k++) window[k] = Math.max(window[k], q[h * nq + k]);
        let out = decide(st, { nowS: d.nowS, levels: d.quantiles, next: q.subarray(0, nq), window, recentPeak: d.recentPeak }, cfg);
        if (d.quarantined) out = holdScaleUp(st, out, d.recentPeak, cfg);
        if (out.state.allocation !== st.allocation) changes++;
        ref.set(resource, out.state);
        expect(got).toEqual<Recommendation>(out.recommendation);
      }
    }
    expect(changes).toBeGreaterThan(20);
  });
});
