// report.html renders in headless Chromium: after its inline script runs, every chart has its plotted marks.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';
import { describeWithBinaries } from '../helpers/binaries.js';
import { runBacktest } from '../../src/backtest/run.js';
import { buildSummary } from '../../src/backtest/summary.js';
import { pickTenants, renderReport } from '../../src/backtest/report.js';
import { syntheticGrid } from '../unit/backtest-synthetic.js';
import { tempDir } from '../helpers/temp.js';

describeWithBinaries('report.html in headless Chromium', ['chromium'], (bins) => {
  it('draws one point per policy, one curve per swept policy and a line per series of each tenant chart', () => {
    const grid = syntheticGrid(8, 800);
    const policies = ['vpa', 'autopilot', 'persistence', 'reactive', 'static', 'oracle'] as const;
    const result = runBacktest(grid, { policies, targetShortage: 0.02, leadS: 300, sweep: true, provisioningDelayS: 180 });
    const summary = buildSummary(grid, result, 0.02);
    const html = renderReport(grid, result.results, summary);
    const dir = tempDir('bt-report-');
    const file = join(dir, 'report.html');
    writeFileSync(file, html);
    const profile = tempDir('bt-chromium-');
    const r = spawnSync(
      bins.chromium,
      ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`, '--dump-dom', pathToFileURL(file).href],
      { encoding: 'utf8', timeout: 90_000, maxBuffer: 64 * 1024 * 1024 },
    );
    expect(r.status, r.stderr).toBe(0);
    const dom = r.stdout;
    const count = (re: RegExp): number => (dom.match(re) ?? []).length;
    const tenants = pickTenants(grid, result.results).length;
    // The static HTML holds no <svg>: every mark below was created by the inline script.
    expect(html).not.toContain('<svg');
    expect(count(/<svg[^>]*id="tradeoff-chart"/g)).toBe(1);
    expect(count(/class="mark point"/g)).toBe(policies.length);
    // Swept: vpa, autopilot, persistence (reactive, static and oracle have no knob in the sweep).
    expect(count(/class="mark curve"/g)).toBe(3);
    expect(count(/<svg[^>]*class="tenant-chart"/g)).toBe(tenants);
    expect(count(/class="mark line allocation"/g)).toBe(tenants * policies.length);
    expect(count(/class="mark line usage"/g)).toBe(tenants);
    // Lines have real geometry (a move and many segments), not empty paths.
    const paths = [...dom.matchAll(/<path d="(M[^"]*)"[^>]*class="mark line usage"/g)].map((m) => m[1]);
    expect(paths.length).toBe(tenants);
    for (const p of paths) expect((p.match(/L/g) ?? []).length).toBeGreaterThan(100);
    expect(dom).toMatch(new RegExp(`data-rendered="${policies.length + 3 + tenants * (policies.length + 1)}"`));
  }, 120_000);
});
