// The simulated cluster: capacity, node-provisioning delay, and the pooled shadow reserve that bridges the delay.
import type { Grid } from './grid.js';
import { scoredFrom } from './scoring.js';

export interface ClusterOptions {
  /** Cluster capacity in the resource's unit (allocations plus reserve cannot exceed it). */
  capacity: number;
  /** Time for capacity outside the reserve to come up, seconds (3 minutes). */
  provisioningDelayS: number;
}

export interface ShadowOutcome {
  /** Tenant-minutes spent short of demand. */
  short_tenant_minutes: number;
  /** Share of scored tenant-time spent short. */
  short_time_share: number;
  /** Average reserve size, in the resource's unit, and relative to average total usage. */
  reserve_avg: number;
  reserve_avg_share_of_usage: number;
  /** Steps where demand beyond allocations exceeded the reserve (and some tenant went short). */
  exhausted_steps: number;
  /** Steps where allocations alone exceeded the capacity. */
  over_capacity_steps: number;
}

/**
 * At every scored step, a tenant whose usage exceeds its allocation needs the excess at once. Without a reserve the
 * excess waits for new capacity: the tenant is short for min(delay, interval). With a reserve of size R (capped by
 * capacity minus allocations), the excess is served instantly while the reserve lasts (smallest excesses first,
 * which covers the most tenants); tenants it cannot cover wait for provisioning like before, and the step counts as
 * an exhaustion.
 */
export function simulateShadow(grid: Grid, allocations: readonly Float64Array[], reserve: Float64Array | undefined, warmupSteps: number, o: ClusterOptions): ShadowOutcome {
  const iv = grid.intervalS;
  const shortS = Math.min(o.provisioningDelayS, iv);
  let shortTenantS = 0;
  let scoredTenantS = 0;
  let reserveSum = 0;
  let usageSum = 0;
  let steps = 0;
  let exhausted = 0;
  let overCap = 0;
  const starts = grid.tenants.map((_, k) => scoredFrom(grid, k, warmupSteps));
  const firstScored = Math.min(...starts);
  const excess: number[] = [];
  for (let i = Math.max(0, firstScored); i < grid.nSteps; i++) {
    excess.length = 0;
    let allocSum = 0;
    let usage = 0;
    let active = 0;
    for (let k = 0; k < grid.tenants.length; k++) {
      if (i < starts[k]) continue;
      const u = grid.usage[k][i];
      if (u !== u) continue;
      const a = allocations[k][i] === allocations[k][i] ? allocations[k][i] : 0;
      active++;
      allocSum += a;
      usage += u;
      if (u > a) excess.push(u - a);
    }
    if (active === 0) continue;
    steps++;
    scoredTenantS += active * iv;
    usageSum += usage;
    if (allocSum > o.capacity) overCap++;
    let r = reserve ? Math.max(0, Math.min(reserve[i] || 0, o.capacity - allocSum)) : 0;
    reserveSum += r;
    if (excess.length === 0) continue;
    excess.sort((x, y) => x - y);
    let uncovered = 0;
    for (const e of excess) {
      if (e <= r) r -= e;
      else uncovered++;
    }
    if (uncovered > 0 && reserve) exhausted++;
    shortTenantS += uncovered * shortS;
  }
  const avgUsage = steps ? usageSum / steps : 0;
  const reserveAvg = steps ? reserveSum / steps : 0;
  return {
    short_tenant_minutes: shortTenantS / 60,
    short_time_share: scoredTenantS ? shortTenantS / scoredTenantS : 0,
    reserve_avg: reserveAvg,
    reserve_avg_share_of_usage: avgUsage > 0 ? reserveAvg / avgUsage : 0,
    exhausted_steps: exhausted,
    over_capacity_steps: overCap,
  };
}

/**
 * Default capacity: a cluster sized for its own peak with 25% headroom, and never smaller than the policy's largest
 * total allocation plus 10% (otherwise a generous policy would leave no room for any reserve at all).
 */
export function defaultCapacity(grid: Grid, allocations?: readonly Float64Array[]): number {
  let peak = 0;
  let allocPeak = 0;
  for (let i = 0; i < grid.nSteps; i++) {
    let s = 0;
    let a = 0;
    for (const u of grid.usage) if (u[i] === u[i]) s += u[i];
    if (allocations) for (const al of allocations) if (al[i] === al[i]) a += al[i];
    peak = Math.max(peak, s);
    allocPeak = Math.max(allocPeak, a);
  }
  return Math.max(1.25 * peak, 1.1 * allocPeak);
}
