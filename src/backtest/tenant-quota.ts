// Tenant-quota mode: scores the tenant total (the sum over a quota tenant's series) instead of each series.
//
// A quota (a Kubernetes ResourceQuota) bounds a namespace's total, so the backtest replays the summed usage of the
// series that belong to one quota tenant, for the chosen resource, through the same policies (VPA-style, oracle,
// Foresight forecasting the summed series through the same engine) and the same scoring. Grouping rule (--group-by
// REGEX): a series' tenant name maps to the regex's first capture group, or to the whole match when the regex has no
// group; a name the regex does not match, or whose capture is empty, stays its own quota tenant. Without a rule every
// series is its own quota tenant. Examples: `^(.{4})` groups by the first 4 characters, `^([^-]+)-` by the text
// before the first dash.
//
// Missing samples: at a step, the total is the sum of the members' samples; members that have not started yet (before
// their first sample) count 0; if a started member's sample is missing, the total is unknown (NaN, not scored) rather
// than understated.
import { ArgumentInvalidError } from '../errors.js';
import type { Grid } from './grid.js';

export interface TenantGroups {
  /** Quota tenants in order of their first member. */
  tenants: string[];
  /** members[j]: indices into the series tenants of quota tenant j. */
  members: number[][];
}

/** Compiles a --group-by regex (an invalid one is an argument error). */
export function groupByRegex(source: string): RegExp {
  try {
    return new RegExp(source);
  } catch (err) {
    throw new ArgumentInvalidError(`--group-by: invalid regular expression "${source}": ${(err as Error).message}`, { cause: err });
  }
}

/** Quota tenant of one series tenant under the rule (see the top of this file). */
export function quotaTenantOf(tenant: string, rule: RegExp | undefined): string {
  if (!rule) return tenant;
  const m = rule.exec(tenant);
  if (!m) return tenant;
  const key = m.length > 1 ? m[1] : m[0];
  return key ? key : tenant;
}

export function groupTenants(tenants: readonly string[], rule: RegExp | undefined): TenantGroups {
  const index = new Map<string, number>();
  const out: TenantGroups = { tenants: [], members: [] };
  tenants.forEach((t, k) => {
    const q = quotaTenantOf(t, rule);
    let j = index.get(q);
    if (j === undefined) {
      j = out.tenants.length;
      index.set(q, j);
      out.tenants.push(q);
      out.members.push([]);
    }
    out.members[j].push(k);
  });
  return out;
}

/** The grid of tenant totals: one row per quota tenant, each the sum of its members' rows. */
export function tenantQuotaGrid(grid: Grid, groups: TenantGroups): Grid {
  const n = grid.nSteps;
  const usage: Float64Array[] = [];
  const firstSample = new Int32Array(groups.tenants.length).fill(n);
  groups.members.forEach((ks, j) => {
    const u = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let sum = 0;
      let started = false;
      for (const k of ks) {
        if (i < grid.firstSample[k]) continue;
        started = true;
        sum += grid.usage[k][i];
      }
      u[i] = started ? sum : NaN;
      if (u[i] === u[i] && firstSample[j] === n) firstSample[j] = i;
    }
    usage.push(u);
  });
  return { ...grid, tenants: [...groups.tenants], usage, firstSample };
}
