// report.html's data (without a browser: test/integration/report-render.test.ts renders it in Chromium).
import { describe, expect, it } from 'vitest';
import { runBacktest } from '../../src/backtest/run.js';
import { buildSummary } from '../../src/backtest/summary.js';
import { renderReport } from '../../src/backtest/report.js';
import type { Grid } from '../../src/backtest/grid.js';

describe('renderReport', () => {
  it('leaves a policy whose slack is infinite off the chart and names it, instead of drawing it at 0', () => {
    // usage all zero: a policy holding any allocation has infinite slack; oracle allocates 0 (slack 0)
    const n = 700;
    const grid: Grid = { resource: 'cpu', unit: 'cores', origin: 'zeros', startS: 0, intervalS: 300, nSteps: n, tenants: ['idle'], usage: [new Float64Array(n)], firstSample: Int32Array.of(0) };
    const result = runBacktest(grid, { policies: ['vpa', 'static', 'oracle'], targetShortage: 0.02, leadS: 300, sweep: false, provisioningDelayS: 180 });
    const slack = Object.fromEntries(result.results.filter((r) => r.main).map((r) => [r.label, r.score.total.slack]));
    expect(slack.vpa).toBe(Infinity);
    expect(slack.oracle).toBe(0);
    const html = renderReport(grid, result.results, buildSummary(grid, result, 0.02));
    const data = JSON.parse(/<script type="application\/json" id="data">(.*?)<\/script>/s.exec(html)![1]) as { points: { label: string; slack: number | null }[] };
    expect(data.points.map((p) => p.label)).not.toContain('vpa');
    expect(data.points.every((p) => typeof p.slack === 'number')).toBe(true);
    expect(html).toMatch(/<p id="off-chart">[^<]*\bvpa\b/);
    expect(html).toMatch(/<td>vpa<\/td><td>Infinity<\/td>/);
  });
});
