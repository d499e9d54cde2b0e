// Builds summary.json from a backtest result (per policy, per tenant, the sweep points and the shadow simulation).
import type { Grid } from './grid.js';
import type { BacktestResult } from './run.js';
import type { Score } from './scoring.js';

export interface PolicySummary extends Omit<Score, 'steps'> {
  policy: string;
  knob?: { name: string; value: number };
  scored_steps: number;
  per_tenant: Record<string, Omit<Score, 'steps'> & { scored_steps: number }>;
}

export interface SweepPoint extends Omit<Score, 'steps'> {
  policy: string;
  label: string;
  knob?: string;
  value?: number;
}

export interface Summary {
  version: 1;
  /** "series": each series scored on its own; "tenant-quota": each quota tenant's total (tenant-quota.ts). */
  mode: 'series' | 'tenant-quota';
  /** tenant-quota mode: the --group-by regex (absent: every series its own tenant) and each quota tenant's series. */
  group_by?: string;
  members?: Record<string, string[]>;
  trace: string;
  resource: string;
  unit?: string;
  interval_s: number;
  lead_s: number;
  start_s: number;
  steps: number;
  tenants: number;
  warmup_steps: number;
  target_shortage: number;
  policies: Record<string, PolicySummary>;
  sweep: SweepPoint[];
  shadow?: BacktestResult['shadow'];
  engine?: BacktestResult['engine'];
  elapsed_ms: number;
}

const r6 = (x: number): number => Number(x.toPrecision(6));

/** A score for JSON: a tenant without a scored step (no data after the warm-up) has null scores, not zeros that
 *  read as perfect; an infinite slack (allocation over usage that was all zero) is null, as JSON has no Infinity. */
function clean(s: Score): Omit<Score, 'steps'> & { scored_steps: number } {
  const v = (x: number): number => (s.steps > 0 ? r6(x) : (null as unknown as number));
  return { slack: v(s.slack), shortage_steps: v(s.shortage_steps), shortage_volume: v(s.shortage_volume), changes_per_step: v(s.changes_per_step), scored_steps: s.steps };
}

export interface SummaryMode {
  mode: 'tenant-quota';
  groupBy?: string;
  members: Record<string, string[]>;
}

export function buildSummary(grid: Grid, r: BacktestResult, targetShortage: number, mode?: SummaryMode): Summary {
  const policies: Record<string, PolicySummary> = {};
  for (const p of r.results.filter((x) => x.main)) {
    const per: PolicySummary['per_tenant'] = {};
    p.score.perTenant.forEach((s, k) => (per[grid.tenants[k]] = clean(s)));
    const t = clean(p.score.total);
    policies[p.label] = { policy: p.name, knob: p.knob, ...t, per_tenant: per };
  }
  const sweep: SweepPoint[] = r.results.map((p) => {
    const { scored_steps: _s, ...t } = clean(p.score.total);
    return { policy: p.name, label: p.label, knob: p.knob?.name, value: p.knob?.value, ...t };
  });
  return {
    version: 1,
    mode: mode ? 'tenant-quota' : 'series',
    ...(mode ? { group_by: mode.groupBy, members: mode.members } : {}),
    trace: grid.origin,
    resource: grid.resource,
    unit: grid.unit,
    interval_s: grid.intervalS,
    lead_s: r.ctx.leadS,
    start_s: grid.startS,
    steps: grid.nSteps,
    tenants: grid.tenants.length,
    warmup_steps: r.warmupSteps,
    target_shortage: targetShortage,
    policies,
    sweep,
    shadow: r.shadow,
    engine: r.engine,
    elapsed_ms: Math.round(r.elapsedMs),
  };
}
