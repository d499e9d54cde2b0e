// The fake source of the sidecar benchmarks (bench/fake-source.ts): without churn every tenant sends from the start
// (bench:sidecar's data), with churn the oldest leave and new ones arrive with no history before them (bench:soak,
// whose anomaly counts group tenants by arrival).
import { describe, expect, it } from 'vitest';
import { FakeSource, SIGNALS, START, STEP, tenantName } from '../../bench/fake-source.js';

describe('the benchmarks\' fake source', () => {
  it('without churn: every tenant sends at every time, six signals each', async () => {
    const src = new FakeSource(3);
    const r = await src.pull({ startS: START - 10 * STEP, endS: START, stepS: STEP });
    expect(r.set.series).toHaveLength(3 * SIGNALS.length);
    for (const s of r.set.series) {
      expect(s.values).toHaveLength(11);
      expect([...s.values].every((v) => Number.isFinite(v) && v > 0)).toBe(true);
    }
    expect(src.arrivalS(0)).toBe(-Infinity);
    expect(src.firstAlive(START + 100 * 3600)).toBe(0);
  });

  it('with churn: the oldest leave and new ones arrive, each sending only while alive', async () => {
    // 4 tenants alive at a time, 2 leave and 2 arrive an hour from START
    const src = new FakeSource(4, undefined, { perHour: 2, fromS: START });
    expect([src.firstAlive(START - STEP), src.firstAlive(START), src.firstAlive(START + 1800), src.firstAlive(START + 3600)]).toEqual([0, 0, 1, 2]);
    // tenant 4 (the first to arrive) arrives half an hour in, tenant 5 an hour in; the first four were always there
    expect([src.arrivalS(3), src.arrivalS(4), src.arrivalS(5)]).toEqual([-Infinity, START + 1800, START + 3600]);
    expect(src.value(4, 0, START + 1800 - STEP)).toBeNaN();
    expect(src.value(4, 0, START + 1800)).toBeGreaterThan(0);
    expect(src.value(0, 0, START + 1800 - STEP)).toBeGreaterThan(0);
    expect(src.value(0, 0, START + 1800)).toBeNaN();
    // a pull over the first hour names every tenant alive at some time of it, NaN where it was not
    const r = await src.pull({ startS: START, endS: START + 3600, stepS: STEP });
    const tenants = [...new Set(r.set.series.map((s) => s.tenant))];
    expect(tenants).toEqual([0, 1, 2, 3, 4, 5].map(tenantName));
    const cpu = (t: number) => r.set.series.find((s) => s.tenant === tenantName(t) && s.resource === 'cpu')!.values;
    expect(cpu(4).findIndex((v) => Number.isFinite(v))).toBe(1800 / STEP);
    expect(cpu(0).findIndex((v) => Number.isNaN(v))).toBe(1800 / STEP);
  });
});
