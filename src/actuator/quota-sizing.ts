// What Foresight's namespace quota should hold (src/actuator/quota.ts applies it): each hard limit from the forecast of
// the tenant's total, and never below what the namespace's pods already use plus room for a rollout.
import type { ResourceState, Snapshot } from '../model/snapshot.js';
import { seriesKey } from '../model/series.js';
import type { ActuatorOptions } from './config.js';
import type { ManagedFieldsEntry } from './last-write.js';
import { formatCpu, formatMemory, parseQuantity } from './quantity.js';
import { tenantRecommendation } from './vpa-logic.js';

export type QuotaKey = 'requests.cpu' | 'limits.cpu' | 'requests.memory' | 'limits.memory' | 'requests.ephemeral-storage' | 'count/pods';

export interface ResourceQuota {
  metadata: { name: string; namespace: string; uid?: string; resourceVersion?: string; labels?: Record<string, string>; managedFields?: ManagedFieldsEntry[] };
  spec?: { hard?: Record<string, string> };
  status?: { hard?: Record<string, string>; used?: Record<string, string> };
}

/** A hard limit as the API server writes it: millicores, bytes, a whole number of pods. */
export const formatHard = (k: QuotaKey, v: number): string => (k.endsWith('cpu') ? formatCpu(v) : k === 'count/pods' ? String(Math.ceil(v - 1e-9)) : formatMemory(v));

export interface QuotaWant {
  /** Desired hard limit, base units. */
  value: number;
  /** Never below: the tenant's recent peak (scaled like the value). */
  floor: number;
  /** The tenant's demand at this time of day (recurringPeak), scaled like the value. */
  recurring: number;
  /** Usage scaled like the value (for the reclamation rule). */
  usage: number;
  st: ResourceState;
}

/**
 * Desired hard limits for one tenant: requests.* = the target quantile of the tenant total over the horizon;
 * limits.* = the upper-bound quantile times quotaLimitsRatio; count/pods = the upper-bound quantile of the pod count.
 * (The quota manager keeps each at least `withRoom` above what the namespace uses.)
 */
export function desiredQuota(snapshot: Snapshot, tenant: string, opts: ActuatorOptions): Map<QuotaKey, QuotaWant> {
  const out = new Map<QuotaKey, QuotaWant>();
  const add = (resource: string, key: QuotaKey, bound: 'target' | 'upperBound', ratio: number): void => {
    const st = snapshot.resources.get(seriesKey(tenant, resource));
    if (!st) return;
    const rec = tenantRecommendation(st, snapshot.quantiles, opts.targetQuantile);
    if (!rec) return;
    const floor = Number.isFinite(st.recentPeak) ? st.recentPeak : 0;
    const recurring = st.recurringPeak !== undefined && Number.isFinite(st.recurringPeak) ? st.recurringPeak : 0;
    out.set(key, { value: Math.max(rec[bound], rec.target) * ratio, floor: floor * ratio, recurring: recurring * ratio, usage: st.usage * ratio, st });
  };
  add(opts.cpuResource, 'requests.cpu', 'target', 1);
  add(opts.cpuResource, 'limits.cpu', 'upperBound', opts.quotaLimitsRatio);
  add(opts.memoryResource, 'requests.memory', 'target', 1);
  add(opts.memoryResource, 'limits.memory', 'upperBound', opts.quotaLimitsRatio);
  add(opts.ephemeralStorageResource, 'requests.ephemeral-storage', 'target', 1);
  add(opts.podsResource, 'count/pods', 'upperBound', 1);
  return out;
}

/**
 * The least a hard limit may be, given what the namespace uses of it: `used` plus quotaSurgeRatio of it (count/pods:
 * plus at least one pod). A quota at exactly what is used refuses every new pod, a rollout's surge pods included.
 */
export function withRoom(key: QuotaKey, used: number, surgeRatio: number): number {
  if (key === 'count/pods') return used + (surgeRatio > 0 ? Math.max(1, Math.ceil(used * surgeRatio)) : 0);
  return used * (1 + surgeRatio);
}

/**
 * What the forecast expects the namespace to request of `key` beyond what it uses, under the quota's hard limit (the
 * rollout room above it is not reserved: surge pods are brief, and would preempt placeholders anyway).
 */
export function expectedHeadroom(key: QuotaKey, hard: Record<string, string>, used: Record<string, string>, want: ReadonlyMap<QuotaKey, QuotaWant>): number {
  return Math.max(0, Math.min(parseQuantity(hard[key]) || 0, want.get(key)?.value ?? 0) - (parseQuantity(used[key]) || 0));
}
