// Tenant-quota mode: the tenant total (sum over a quota tenant's series) is what the policies allocate and are scored on.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Grid } from '../../src/backtest/grid.js';
import { POLICY_NAMES } from '../../src/backtest/policy.js';
import { runBacktest } from '../../src/backtest/run.js';
import { scoredFrom } from '../../src/backtest/scoring.js';
import { groupByRegex, groupTenants, quotaTenantOf, tenantQuotaGrid } from '../../src/backtest/tenant-quota.js';
import { syntheticGrid } from './backtest-synthetic.js';
import { tempDir } from '../helpers/temp.js';

/** Series x-a and x-b sum to exactly 30 at every step; y-a is alone in its quota tenant. */
function twoSeriesGrid(steps: number): Grid {
  const a = Float64Array.from({ length: steps }, (_, i) => 10 + (i % 7));
  const b = Float64Array.from({ length: steps }, (_, i) => 20 - (i % 7));
  const c = Float64Array.from({ length: steps }, (_, i) => 5 + ((i * 3) % 11));
  return { resource: 'cpu', unit: 'cores', origin: 'synthetic', startS: 0, intervalS: 300, nSteps: steps, tenants: ['x-a', 'y-a', 'x-b'], usage: [a, c, b], firstSample: new Int32Array(3) };
}

describe('tenant grouping', () => {
  it('maps by the first capture group, the whole match without one, and keeps unmatched names', () => {
    expect(quotaTenantOf('team1-web', groupByRegex('^([^-]+)-'))).toBe('team1');
    expect(quotaTenantOf('abcdef', groupByRegex('^.{3}'))).toBe('abc');
    expect(quotaTenantOf('solo', groupByRegex('^([^-]+)-'))).toBe('solo');
    expect(quotaTenantOf('team1-web', undefined)).toBe('team1-web');
    expect(() => groupByRegex('([')).toThrow(/--group-by/);
    const g = groupTenants(['x-a', 'y-a', 'x-b'], groupByRegex('^(.)-'));
    expect(g).toEqual({ tenants: ['x', 'y'], members: [[0, 2], [1]] });
    expect(groupTenants(['x-a', 'x-b'], undefined).members).toEqual([[0], [1]]);
  });

  it('sums the members; a member not yet started counts 0, a missing started member makes the total unknown', () => {
    const g = twoSeriesGrid(10);
    g.usage[2][3] = NaN;
    g.usage[1] = g.usage[1].map((x, i) => (i < 4 ? NaN : x));
    g.firstSample[1] = 4;
    const q = tenantQuotaGrid(g, groupTenants(g.tenants, groupByRegex('^(.)-')));
    expect(q.tenants).toEqual(['x', 'y']);
    expect(Array.from(q.usage[0])).toEqual([30, 30, 30, NaN, 30, 30, 30, 30, 30, 30]);
    expect(Array.from(q.usage[1].subarray(0, 4)).every((x) => Number.isNaN(x))).toBe(true);
    expect(q.usage[1][4]).toBe(g.usage[1][4]);
    expect(Array.from(q.firstSample)).toEqual([0, 4]);
  });
});

describe('tenant-quota scoring', () => {
  const series = twoSeriesGrid(700);
  const grid = tenantQuotaGrid(series, groupTenants(series.tenants, groupByRegex('^(.)-')));
  const r = runBacktest(grid, { policies: ['vpa', 'oracle', 'foresight'], targetShortage: 0.05, leadS: 300, sweep: false, provisioningDelayS: 180 });

  it('the oracle allocates exactly the known total (30) to the grouped tenant: no slack, no shortage', () => {
    const o = r.results.find((x) => x.main && x.name === 'oracle')!;
    expect(o.score.perTenant).toHaveLength(2);
    expect(o.score.perTenant[0].slack).toBe(0);
    expect(o.score.perTenant[0].shortage_steps).toBe(0);
    expect(o.score.perTenant[0].steps).toBe(700 - scoredFrom(grid, 0, r.warmupSteps));
    // Per series the oracle would allocate each series' own 30-minute max, which sums to more than 30.
    expect(Math.max(...o.allocations[0])).toBe(30);
  });

  for (const name of ['vpa', 'foresight'] as const) {
    it(`${name}: slack and shortage are measured against the total, recomputed by hand`, () => {
      const p = r.results.find((x) => x.main && x.name === name)!;
      const from = Math.max(1, scoredFrom(grid, 0, r.warmupSteps));
      let slack = 0;
      let short = 0;
      let vol = 0;
      let n = 0;
      for (let i = from; i < grid.nSteps; i++) {
        const al = p.allocations[0][i];
        n++;
        if (al >= 30) slack += al - 30;
        else {
          short++;
          vol += 30 - al;
        }
      }
      const s = p.score.perTenant[0];
      expect(s.steps).toBe(n);
      expect(s.slack).toBeCloseTo(slack / (30 * n), 12);
      expect(s.shortage_steps).toBeCloseTo(short / n, 12);
      expect(s.shortage_volume).toBeCloseTo(vol / (30 * n), 12);
      // The policy saw the total: its allocations track 30, not a single series (at most 16 or 20).
      expect(p.allocations[0][grid.nSteps - 1]).toBeGreaterThan(25);
    });
  }
});

describe('tenant-quota no look-ahead', () => {
  const leadS = 600;
  const base = syntheticGrid(4, 700);
  base.tenants = ['a-0', 'a-1', 'b-0', 'b-1'];
  const groups = groupTenants(base.tenants, groupByRegex('^(.)-'));
  const T = base.startS + 450 * base.intervalS;
  const perturbed: Grid = { ...base, usage: base.usage.map((u) => u.map((x, i) => (base.startS + i * base.intervalS > T ? x * 3 + 7 : x))) };
  const opts = { policies: POLICY_NAMES, targetShortage: 0.05, leadS, sweep: false, provisioningDelayS: 180 };
  const a = runBacktest(tenantQuotaGrid(base, groups), opts);
  const b = runBacktest(tenantQuotaGrid(perturbed, groups), opts);

  for (const name of POLICY_NAMES.filter((p) => p !== 'oracle')) {
    it(`${name}: tenant-total allocations up to T + lead are unchanged when a member's usage after T changes`, () => {
      const ra = a.results.find((x) => x.main && x.name === name)!;
      const rb = b.results.find((x) => x.main && x.name === name)!;
      expect(ra.allocations).toHaveLength(2);
      let compared = 0;
      let changedLater = 0;
      for (let k = 0; k < 2; k++) {
        for (let i = 0; i < base.nSteps; i++) {
          const x = ra.allocations[k][i];
          const y = rb.allocations[k][i];
          if (base.startS + i * base.intervalS <= T + leadS) {
            expect(Object.is(x, y), `${name} quota tenant ${k} step ${i}: ${x} vs ${y}`).toBe(true);
            compared++;
          } else if (!Object.is(x, y)) changedLater++;
        }
      }
      expect(compared).toBeGreaterThan(800);
      if (name !== 'static') expect(changedLater).toBeGreaterThan(0);
    });
  }
});

describe('backtest --tenant-quota CLI', () => {
  it('writes the three files with mode "tenant-quota" and each quota tenant\'s series', () => {
    const root = resolve(import.meta.dirname, '../..');
    const dir = tempDir('bt-quota-');
    const rows = ['timestamp,tenant,resource,value'];
    for (let i = 0; i < 40; i++) rows.push(`${i * 300},team1-web,cpu,${1 + (i % 3)}`, `${i * 300},team1-db,cpu,${4 - (i % 3)}`, `${i * 300},team2-web,cpu,2`);
    const file = join(dir, 't.csv');
    writeFileSync(file, `${rows.join('\n')}\n`);
    const out = join(dir, 'out');
    const args = ['--import', 'tsx', join(root, 'src/cli.ts'), 'backtest', '--trace', file, '--resource', 'cpu', '--policies', 'vpa,oracle', '--tenant-quota', '--group-by', '^([^-]+)-', '--out', out, '--quiet'];
    const res = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(res.status, res.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['allocations.csv.gz', 'report.html', 'summary.json']);
    const sum = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(sum.mode).toBe('tenant-quota');
    expect(sum.group_by).toBe('^([^-]+)-');
    expect({ team1: [...sum.members.team1].sort(), team2: sum.members.team2 }).toEqual({ team1: ['team1-db', 'team1-web'], team2: ['team2-web'] });
    expect(sum.tenants).toBe(2);
    expect(sum.policies.oracle.per_tenant.team1.slack).toBe(0);
    // --group-by alone is refused.
    const bad = spawnSync(process.execPath, args.filter((x) => x !== '--tenant-quota'), { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/--group-by needs --tenant-quota/);
  }, 120_000);
});
