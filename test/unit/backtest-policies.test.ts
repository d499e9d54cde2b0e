// The baselines reproduce their definitions on small cases worked out by hand.
import { describe, expect, it } from 'vitest';
import type { Grid } from '../../src/backtest/grid.js';
import type { Policy, PolicyContext } from '../../src/backtest/policy.js';
import { replay } from '../../src/backtest/replay.js';
import { PersistencePolicy } from '../../src/backtest/policies/persistence.js';
import { vpaUnitFactor, VpaPolicy } from '../../src/backtest/policies/vpa.js';
import { AutopilotPolicy } from '../../src/backtest/policies/autopilot.js';
import { StaticPolicy } from '../../src/backtest/policies/static.js';
import { OraclePolicy } from '../../src/backtest/policies/oracle.js';
import { ReactivePolicy } from '../../src/backtest/policies/reactive.js';
import { quantileType1 } from '../../src/backtest/stats.js';
import { score } from '../../src/backtest/scoring.js';

function grid(values: number[][], intervalS = 300, resource = 'cpu', unit = 'cores'): Grid {
  return {
    resource,
    unit,
    origin: 'hand',
    startS: 0,
    intervalS,
    nSteps: values[0].length,
    tenants: values.map((_, k) => `t${k}`),
    usage: values.map((v) => Float64Array.from(v)),
    firstSample: Int32Array.from(values, () => 0),
  };
}

function ctxOf(g: Grid, leadS: number): PolicyContext {
  return { tenants: g.tenants, resource: g.resource, unit: g.unit, startS: 0, intervalS: g.intervalS, nSteps: g.nSteps, leadS, stepsPerDay: 86_400 / g.intervalS };
}

function run(g: Grid, leadS: number, p: Policy): Float64Array {
  return replay(g, leadS, 1, [{ policy: p, keep: true }])[0].allocations[0];
}

describe('quantileType1', () => {
  it('is the smallest value with at least p of the sample at or below it', () => {
    expect(quantileType1([4, 1, 3, 2], 0.5)).toBe(2);
    expect(quantileType1([4, 1, 3, 2], 0.51)).toBe(3);
    expect(quantileType1([4, 1, 3, 2], 1)).toBe(4);
    expect(quantileType1([4, 1, 3, 2], 0)).toBe(1);
  });
});

describe('persistence', () => {
  it('adds the p-quantile of past increases to the last value, every 30 minutes', () => {
    // Lead 0, cover one step: increase at j = x[j+1] - x[j]. x = 10 12 11 15 15 14 20 ...
    const x = [10, 12, 11, 15, 15, 14, 20, 20, 20, 20, 20, 20, 20];
    const g = grid([x]);
    const a = run(g, 0, new PersistencePolicy(ctxOf(g, 0), { p: 0.5, coverS: 300 }));
    // Step 0: nothing visible. Step 6 (next decision): increases of origins 0..4 = 2, -1, 4, 0, -1 -> type-1 median 0.
    expect(a[0]).toBeNaN();
    expect(Array.from(a.slice(1, 6)).every((v) => Number.isNaN(v))).toBe(true);
    expect(a[6]).toBe(14 + 0);
    // Held until the next decision at step 12: origins 0..10: 2,-1,4,0,-1,6,0,0,0,0,0 -> sorted median (6th of 11) = 0.
    expect(a[11]).toBe(14);
    expect(a[12]).toBe(20 + 0);
    const b = run(g, 0, new PersistencePolicy(ctxOf(g, 0), { p: 0.8, coverS: 300 }));
    // p 0.8 of [-1,-1,0,2,4]: ceil(4) - 1 = index 3 -> 2.
    expect(b[6]).toBe(16);
  });

  it('covers the window after the lead: max over the covered steps minus the origin value', () => {
    // Linear ramp x_j = j + 1, lead 300 s (1 step): increases = max(x[j+2 .. j+7]) - x[j] = (j + 8) - (j + 1) = 7.
    const x = Array.from({ length: 30 }, (_, j) => j + 1);
    const g = grid([x]);
    const a = run(g, 300, new PersistencePolicy(ctxOf(g, 300), { p: 0.9 }));
    // Decision at step 12: visible 0..10 (last x = 11), origins with j + 7 <= 10: j = 0..3, all 7 -> 18.
    expect(a[12]).toBe(18);
    expect(a[17]).toBe(18);
    // Next decision at step 18: visible 0..16, last x = 17 -> 24.
    expect(a[18]).toBe(24);
  });
});

describe('vpa', () => {
  // CPU histogram in cores: first bucket 0.001, growth 5%: bucket b starts at 0.02 * (1.05^b - 1).
  const start = (b: number): number => 0.02 * (Math.pow(1.05, b) - 1);
  const bucketEnd = (v: number): number => {
    let b = 0;
    while (start(b + 1) <= v) b++;
    return start(b + 1);
  };

  it('recommends p90 x 1.15 of the histogram bucket end and keeps it while inside [lower, upper]', () => {
    const g = grid([Array.from({ length: 400 }, () => 1.0)]);
    const a = run(g, 300, new VpaPolicy(ctxOf(g, 300)));
    // 1.0 lies in bucket 80 ([0.9712, 1.0208)): the percentile is its end, 1.0208.
    expect(bucketEnd(1.0)).toBeCloseTo(0.02 * (Math.pow(1.05, 81) - 1), 12);
    const target = bucketEnd(1.0) * 1.15;
    // Samples become visible from step 2 (lead 5 min + one interval).
    expect(a[1]).toBeNaN();
    expect(a[2]).toBeCloseTo(target, 9);
    for (let i = 2; i < 400; i++) expect(a[i]).toBeCloseTo(target, 9);
  });

  it('updates when the allocation falls below the lower bound (p50 x 1.15 x confidence factor)', () => {
    const n = 700;
    const x = Array.from({ length: n }, (_, j) => (j < 300 ? 1.0 : 3.0));
    const g = grid([x]);
    const a = run(g, 300, new VpaPolicy(ctxOf(g, 300)));
    const first = bucketEnd(1.0) * 1.15;
    // By hand: every CPU sample weighs max(request, 0.1) x 2^(t / 24 h); the request is constant until the change,
    // so p50 moves to 3.0's bucket at the first step where the samples at 3.0 outweigh those at 1.0.
    let expectChange = -1;
    for (let i = 2; i < n && expectChange < 0; i++) {
      let wOld = 0;
      let wNew = 0;
      for (let j = 0; j < i - 1; j++) {
        if (x[j] === 1) wOld += Math.pow(2, (j * 300) / 86_400);
        else wNew += Math.pow(2, (j * 300) / 86_400);
      }
      if (wOld < 0.5 * (wOld + wNew)) expectChange = i;
    }
    expect(expectChange).toBeGreaterThan(300);
    for (let i = 2; i < expectChange; i++) expect(a[i]).toBeCloseTo(first, 9);
    expect(a[expectChange]).toBeCloseTo(bucketEnd(3.0) * 1.15, 9);
  });

  it('applies the target once when a tenant\'s scoring starts, as on a pod created then', () => {
    // a first sample of 1.8 cores, then 1 core: the first allocation (from one sample) stays inside the wide bounds of
    // a day's confidence (upper = p95 x 1.15 x (1 + 1/confidence)); when scoring starts (warmupSteps after the first
    // sample) the target of the history applies
    const x = Array.from({ length: 400 }, (_, j) => (j === 0 ? 1.8 : 1));
    const g = grid([x]);
    const warm = 288;
    const a = run(g, 300, new VpaPolicy({ ...ctxOf(g, 300), warmupSteps: warm }));
    const b = run(g, 300, new VpaPolicy(ctxOf(g, 300)));
    expect(a[2]).toBeCloseTo(bucketEnd(1.8) * 1.15, 9);
    expect(a[warm - 1]).toBe(a[2]);
    expect(a[warm]).toBeCloseTo(bucketEnd(1.0) * 1.15, 9);
    // without a known scoring start the first allocation lasts as long as it stays inside [lower, upper]
    expect(b[warm]).toBe(b[2]);
  });

  it('memory: one sample per 24 h interval, its peak', () => {
    // Two days in bytes: day 1 peaks at 2 GB once, else 1 GB; the histogram holds one sample (2 GB) for day 1.
    const GB = 1e9;
    const x = Array.from({ length: 400 }, (_, j) => (j === 100 ? 2 * GB : 1 * GB));
    const g = grid([x], 300, 'memory', 'bytes');
    const a = run(g, 300, new VpaPolicy(ctxOf(g, 300)));
    const mstart = (b: number): number => (1e7 * (Math.pow(1.05, b) - 1)) / 0.05;
    const end = (v: number): number => {
      let b = 0;
      while (mstart(b + 1) <= v) b++;
      return mstart(b + 1);
    };
    // Before the peak is visible: target = end(1 GB) * 1.15; after it (step 102): the day's only sample is 2 GB.
    expect(a[50]).toBeCloseTo(end(GB) * 1.15, 0);
    expect(a[102]).toBeCloseTo(end(2 * GB) * 1.15, 0);
  });
});

describe('vpa units', () => {
  // the same workload in two units: VPA's constants (histogram, minimum, CPU sample weight) are in cores and bytes,
  // so the allocation in MiB or millicores must be the allocation in bytes or cores, converted
  const wave = (scale: number, base: number) => Array.from({ length: 700 }, (_, j) => scale * (base * (1 + 0.5 * Math.sin(j / 40)) + (j % 97 === 0 ? 2 * base : 0)));
  const cases = [
    { resource: 'memory', unit: 'MiB', per: 2 ** 20, base: 300 * 2 ** 20 },
    { resource: 'memory', unit: 'GB', per: 1e9, base: 0.2e9 },
    { resource: 'cpu', unit: 'millicores', per: 1e-3, base: 0.05 },
    { resource: 'cpu', unit: 'm', per: 1e-3, base: 2 },
  ];
  for (const c of cases) {
    it(`${c.resource} in ${c.unit}: the allocations in ${c.resource === 'memory' ? 'bytes' : 'cores'}, converted`, () => {
      const inBase = grid([wave(1, c.base)], 300, c.resource, c.resource === 'memory' ? 'bytes' : 'cores');
      const inUnit = grid([wave(1 / c.per, c.base)], 300, c.resource, c.unit);
      const a = run(inBase, 300, new VpaPolicy({ ...ctxOf(inBase, 300), warmupSteps: 288 }));
      const b = run(inUnit, 300, new VpaPolicy({ ...ctxOf(inUnit, 300), warmupSteps: 288 }));
      let changes = 0;
      for (let i = 2; i < 700; i++) {
        expect(b[i] * c.per, `step ${i}`).toBeCloseTo(a[i], c.resource === 'memory' ? -2 : 9);
        if (a[i] !== a[i - 1]) changes++;
      }
      expect(changes).toBeGreaterThan(0);
    });
  }

  it('knows the multiples of cores and bytes by their leading word, and no others', () => {
    expect(vpaUnitFactor('memory', 'bytes (working set)')).toBe(1);
    expect(vpaUnitFactor('memory', 'KiB')).toBe(1024);
    expect(vpaUnitFactor('memory', 'm')).toBeUndefined();
    expect(vpaUnitFactor('cpu', 'cores')).toBe(1);
    expect(vpaUnitFactor('cpu', 'mCPU')).toBe(1e-3);
    expect(vpaUnitFactor('cpu', 'percent')).toBeUndefined();
    expect(vpaUnitFactor('cpu', undefined)).toBeUndefined();
    expect(vpaUnitFactor('cpu', 'constructor')).toBeUndefined();
  });
});

describe('autopilot', () => {
  it('CPU: 95th percentile of the load-adjusted decayed histogram, +10%, maximum over the last hour', () => {
    // 2.0 for 100 samples, one sample at 10.0 (sample 100), then 2.0. Lead 0: sample j is visible from step j + 1.
    const x = Array.from({ length: 200 }, (_, j) => (j === 100 ? 10 : 2));
    const g = grid([x]);
    const a = run(g, 0, new AutopilotPolicy(ctxOf(g, 0), g.usage));
    expect(a[50]).toBeCloseTo(2.2, 12);
    // By hand: load weight of the spike 10 * 2^(t/12h) against 2 * 2^(t_j/12h) for the others; the spike is the
    // p95 while its share of the load-adjusted total exceeds 5%.
    const share = (i: number): number => {
      let tot = 0;
      for (let j = 0; j < i; j++) tot += x[j] * Math.pow(2, (j * 300) / 43_200);
      return (10 * Math.pow(2, (100 * 300) / 43_200)) / tot;
    };
    expect(share(101)).toBeGreaterThan(0.05);
    expect(a[101]).toBeCloseTo(11, 12);
    let lastSpike = 101;
    while (share(lastSpike + 1) > 0.05) lastSpike++;
    // Raw recommendation 11 through lastSpike, then 2.2; the applied value is the max over the last hour (12 steps).
    expect(a[lastSpike + 11]).toBeCloseTo(11, 12);
    expect(a[lastSpike + 12]).toBeCloseTo(2.2, 12);
  });

  it('memory: max(P60, half the peak) + 10%', () => {
    const x = Array.from({ length: 100 }, (_, j) => (j === 10 ? 8 : 1));
    const g = grid([x], 300, 'memory', 'bytes');
    const a = run(g, 0, new AutopilotPolicy(ctxOf(g, 0), g.usage));
    expect(a[5]).toBeCloseTo(1.1, 12);
    // P60 stays 1; half the peak = 4 -> 4.4 while the peak is in its 96 h window.
    expect(a[11]).toBeCloseTo(4.4, 12);
    expect(a[99]).toBeCloseTo(4.4, 12);
  });
});

describe('static, oracle, reactive and scoring', () => {
  it('static holds the first day peak; oracle takes the max of the next 30 minutes', () => {
    const x = Array.from({ length: 600 }, (_, j) => (j === 5 ? 9 : j === 400 ? 50 : 1 + (j % 3)));
    const g = grid([x]);
    const s = run(g, 0, new StaticPolicy(ctxOf(g, 0)));
    expect(s[300]).toBe(9);
    expect(s[599]).toBe(9);
    const o = run(g, 0, new OraclePolicy(ctxOf(g, 0), g.usage));
    expect(o[395]).toBe(50);
    expect(o[394]).toBe(3);
    expect(o[401]).toBe(3);
  });

  it('static does not change once scoring starts, on a trace whose warm-up is shorter than a day', () => {
    // a 2-day trace is scored from a third of it (192 steps at 5 minutes); a peak at step 250 is in the first day
    const x = Array.from({ length: 576 }, (_, j) => (j === 5 ? 9 : j === 250 ? 50 : 1 + (j % 3)));
    const g = grid([x]);
    const s = run(g, 0, new StaticPolicy({ ...ctxOf(g, 0), warmupSteps: 192 }));
    for (let i = 192; i < 576; i++) expect(s[i], `step ${i}`).toBe(9);
    // without a known warm-up it is the first day's peak
    expect(run(g, 0, new StaticPolicy(ctxOf(g, 0)))[575]).toBe(50);
  });

  it('reactive scales to usage / 0.7 outside the 10% tolerance', () => {
    const x = [7, 7, 7, 14, 14, 7.5, 7.5, 7.5];
    const g = grid([x]);
    const r = run(g, 0, new ReactivePolicy(ctxOf(g, 0)));
    expect(r[1]).toBeCloseTo(10, 12);
    expect(r[4]).toBeCloseTo(20, 12);
    // Step 6 sees 7.5: 7.5 / 20 / 0.7 is far below 1, so it scales down to the highest desired value over the
    // 5-minute stabilisation window, which still holds the recommendation of the sample before (14 / 0.7): it stays.
    // Step 7 sees the second 7.5, and both recommendations in the window are 7.5 / 0.7.
    expect(r[5]).toBeCloseTo(20, 12);
    expect(r[6]).toBeCloseTo(20, 12);
    expect(r[7]).toBeCloseTo(7.5 / 0.7, 12);
  });

  it('scores slack, shortage steps and volume, and changes after the warm-up', () => {
    const g = grid([[1, 1, 2, 4, 2, 2]]);
    const alloc = [Float64Array.from([9, 3, 3, 3, 3, 2])];
    const s = score(g, alloc, 2).total;
    // Scored steps 2..5: usage 2 4 2 2 (sum 10); slack 1 + 0 + 1 + 0 = 2; short at step 3 by 1; change at step 5.
    expect(s.steps).toBe(4);
    expect(s.slack).toBeCloseTo(0.2, 12);
    expect(s.shortage_steps).toBeCloseTo(0.25, 12);
    expect(s.shortage_volume).toBeCloseTo(0.1, 12);
    expect(s.changes_per_step).toBeCloseTo(0.25, 12);
  });
});
