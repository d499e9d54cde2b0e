// The replay's common grid: where each series' samples land on it (src/backtest/grid.ts).
import { describe, expect, it } from 'vitest';
import { buildGrid } from '../../src/backtest/grid.js';
import { visibleCount } from '../../src/backtest/policy.js';
import type { SeriesSet } from '../../src/model/series.js';

const set = (series: { tenant: string; startS: number; values: number[]; intervalS?: number }[]): SeriesSet => ({
  origin: 'test',
  intervalS: 300,
  units: {},
  series: series.map((s) => ({ tenant: s.tenant, resource: 'cpu', startS: s.startS, intervalS: s.intervalS ?? 300, values: Float64Array.from(s.values) })),
});

describe('buildGrid', () => {
  it('puts series on the grid at their own slots, with gaps where they have none', () => {
    const g = buildGrid(set([{ tenant: 'a', startS: 1000, values: [1, 2, 3] }, { tenant: 'b', startS: 1600, values: [7, 8] }]), 'cpu');
    expect(g.startS).toBe(1000);
    expect(g.nSteps).toBe(4);
    expect([...g.usage[0]]).toEqual([1, 2, 3, NaN]);
    expect([...g.usage[1]]).toEqual([NaN, NaN, 7, 8]);
    expect([...g.firstSample]).toEqual([0, 2]);
  });

  it('puts a sample stamped between two slots in the later one, so no decision reads it before it is complete', () => {
    // b is measured over [100 + 300 j, 400 + 300 j): nearest-slot rounding put j = 8 (complete at 2,800 s) in slot 8,
    // which a decision at 2,700 s (step 10, lead 300 s) reads
    const g = buildGrid(set([{ tenant: 'a', startS: 0, values: Array.from({ length: 20 }, () => 1) }, { tenant: 'b', startS: 100, values: Array.from({ length: 20 }, (_, j) => j) }]), 'cpu');
    expect(g.nSteps).toBe(21);
    const b = g.usage[1];
    expect(b[0]).toBeNaN();
    for (let j = 0; j < 20; j++) expect(b[j + 1]).toBe(j);
    const leadS = 300;
    for (let i = 0; i < g.nSteps; i++) {
      const decisionS = g.startS + i * g.intervalS - leadS;
      const newest = visibleCount(i, leadS, g.intervalS) - 1;
      if (newest >= 1 && b[newest] === b[newest]) expect(100 + 300 * b[newest] + 300, `step ${i}`).toBeLessThanOrEqual(decisionS);
    }
  });

  it('keeps stamps that are on the grid up to float error on their own slot', () => {
    const g = buildGrid(set([{ tenant: 'a', startS: 0, values: [1, 2] }, { tenant: 'b', startS: 300.0000001, values: [5] }]), 'cpu');
    expect([...g.usage[1]]).toEqual([NaN, 5]);
  });
});
