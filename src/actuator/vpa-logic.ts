// Pure VPA recommendation logic: tenant forecast -> per-container recommendation, shaped by the VPA's resourcePolicy
// and the global bounds, and the status body written through the status subresource. No I/O.
import { ownsTenant, type Shard } from '../model/shard.js';
import type { Recommendation, ResourceState, Snapshot } from '../model/snapshot.js';
import { seriesKey } from '../model/series.js';
import type { ActuatorOptions } from './config.js';
import { formatResource, parseQuantity } from './quantity.js';
import type { ContainerResourcePolicy, RecommendedContainerResources, Vpa, VpaCondition } from './vpa-types.js';

export type VpaResource = 'cpu' | 'memory';
export const VPA_RESOURCES: readonly VpaResource[] = ['cpu', 'memory'];

export interface ContainerShare {
  container: string;
  /** In (0, 1]; the shares of a VPA sum to 1. */
  share: number;
}

/** A bound-by-bound value in base units (cores or bytes). */
export type Bounds = Recommendation;

/** What the safety gate needs about one container resource: its share of the tenant's state. */
export interface GateInput {
  /** The container's share of the tenant's recent peak, capped at maxAllowed (never recommend below it). */
  floor: number;
  /** The container's share of the latest usage (NaN if none). */
  usage: number;
  anomalous: boolean;
  stale: boolean;
}

export interface DesiredContainer {
  container: string;
  share: number;
  resources: Partial<Record<VpaResource, Bounds>>;
  gate: Partial<Record<VpaResource, GateInput>>;
}

export interface DesiredVpa {
  tenant: string;
  containers: DesiredContainer[];
  lowConfidence: boolean;
  /** Why nothing can be recommended (no data, no container names); undefined when containers is usable. */
  skipped?: string;
}

export function servedBy(vpa: Vpa, recommender: string): boolean {
  return (vpa.spec.recommenders ?? []).some((r) => r.name === recommender);
}

export function tenantOf(vpa: Vpa, opts: Pick<ActuatorOptions, 'tenantAnnotation'>): string {
  return vpa.metadata.annotations?.[opts.tenantAnnotation] || vpa.metadata.namespace;
}

/** True when this replica serves the VPA: it names Foresight's recommender and its tenant belongs to this shard. */
export function servedHere(vpa: Vpa, opts: Pick<ActuatorOptions, 'recommenderName' | 'tenantAnnotation'>, shard: Shard): boolean {
  return servedBy(vpa, opts.recommenderName) && ownsTenant(shard, tenantOf(vpa, opts));
}

/** `app=0.7, sidecar=0.3` -> shares; undefined when malformed. */
export function parseShares(text: string): ContainerShare[] | undefined {
  const out: ContainerShare[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*([a-z0-9]([-a-z0-9]*[a-z0-9])?)\s*=\s*([0-9.eE+-]+)\s*$/.exec(part);
    if (!m) return undefined;
    const v = Number(m[3]);
    if (!Number.isFinite(v) || v < 0) return undefined;
    out.push({ container: m[1], share: v });
  }
  return normalise(out);
}

function normalise(shares: ContainerShare[]): ContainerShare[] | undefined {
  const total = shares.reduce((s, c) => s + c.share, 0);
  if (!(total > 0)) return undefined;
  return shares.map((c) => ({ container: c.container, share: c.share / total }));
}

/**
 * Each container's share of the tenant's usage of `resource`: per-container series in the snapshot (tenant
 * `<tenant>/<container>`), else the shares annotation, else an equal split over the named container policies.
 */
export function containerShares(vpa: Vpa, snapshot: Snapshot, tenant: string, resource: string, opts: ActuatorOptions): ContainerShare[] | undefined {
  const prefix = `${tenant}/`;
  const fromUsage: ContainerShare[] = [];
  for (const st of snapshot.resources.values()) {
    if (st.resource === resource && st.tenant.startsWith(prefix) && Number.isFinite(st.usage) && st.usage >= 0) {
      fromUsage.push({ container: st.tenant.slice(prefix.length), share: st.usage });
    }
  }
  const byUsage = normalise(fromUsage);
  if (byUsage) return byUsage.sort((a, b) => a.container.localeCompare(b.container));
  const ann = vpa.metadata.annotations?.[opts.containerSharesAnnotation];
  if (ann) {
    const parsed = parseShares(ann);
    if (parsed) return parsed;
  }
  const named = (vpa.spec.resourcePolicy?.containerPolicies ?? []).map((p) => p.containerName).filter((n): n is string => !!n && n !== '*');
  return normalise([...new Set(named)].map((container) => ({ container, share: 1 })));
}

function levelIndex(levels: readonly number[], q: number): number {
  const i = levels.findIndex((l) => l >= q - 1e-9);
  return i < 0 ? levels.length - 1 : i;
}

/**
 * The tenant-level recommendation: the snapshot's own when the policy made one, else from the forecast quantiles:
 * target = the highest `targetQuantile` over the horizons (so it moves before demand), lowerBound = the highest
 * lowest-level quantile, upperBound = the highest top-level quantile.
 */
export function tenantRecommendation(st: ResourceState, levels: readonly number[], targetQuantile: number): Bounds | undefined {
  if (st.recommendation && Number.isFinite(st.recommendation.target)) return st.recommendation;
  const f = st.forecast;
  if (!f || f.status === 'too-few-points' || levels.length === 0) return undefined;
  const nq = levels.length;
  const nh = f.quantiles.length / nq;
  const ti = levelIndex(levels, targetQuantile);
  let target = -Infinity;
  let lower = -Infinity;
  let upper = -Infinity;
  for (let h = 0; h < nh; h++) {
    target = Math.max(target, f.quantiles[h * nq + ti]);
    lower = Math.max(lower, f.quantiles[h * nq]);
    upper = Math.max(upper, f.quantiles[h * nq + nq - 1]);
  }
  if (!Number.isFinite(target)) return undefined;
  target = Math.max(0, target);
  lower = Math.min(Math.max(0, lower), target);
  upper = Math.max(upper, target);
  return { target, lowerBound: lower, upperBound: upper, uncappedTarget: target };
}

function policyFor(vpa: Vpa, container: string): ContainerResourcePolicy | undefined {
  const ps = vpa.spec.resourcePolicy?.containerPolicies ?? [];
  return ps.find((p) => p.containerName === container) ?? ps.find((p) => p.containerName === '*');
}

/** Clamps one bound into [min, max] (a missing or unparsable limit does not clamp). */
function clamp(v: number, min: number, max: number): number {
  return Math.min(Math.max(v, Number.isFinite(min) ? min : -Infinity), Number.isFinite(max) ? max : Infinity);
}

/** What the VPA should recommend, per container and resource, before the safety gate. */
export function desiredForVpa(vpa: Vpa, snapshot: Snapshot, opts: ActuatorOptions): DesiredVpa {
  const tenant = tenantOf(vpa, opts);
  const snapName: Record<VpaResource, string> = { cpu: opts.cpuResource, memory: opts.memoryResource };
  const global: Record<VpaResource, [number, number]> = {
    cpu: [opts.minCpuCores, opts.maxCpuCores],
    memory: [opts.minMemoryBytes, opts.maxMemoryBytes],
  };
  const perContainer = new Map<string, DesiredContainer>();
  let lowConfidence = false;
  let shares: ContainerShare[] | undefined;
  for (const r of VPA_RESOURCES) {
    const st = snapshot.resources.get(seriesKey(tenant, snapName[r]));
    if (!st) continue;
    const rec = tenantRecommendation(st, snapshot.quantiles, opts.targetQuantile);
    if (!rec) continue;
    if (st.historyPoints < opts.lowConfidencePoints || st.forecast?.status === 'nonseasonal-fallback') lowConfidence = true;
    const sh = containerShares(vpa, snapshot, tenant, snapName[r], opts);
    if (!sh) continue;
    shares ??= sh;
    for (const { container, share } of sh) {
      const pol = policyFor(vpa, container);
      if (pol?.mode === 'Off') continue;
      if (pol?.controlledResources && !pol.controlledResources.includes(r)) continue;
      const lo = Math.max(global[r][0], parseQuantity(pol?.minAllowed?.[r]) || 0);
      const hi = Math.min(global[r][1], parseQuantity(pol?.maxAllowed?.[r]) || Infinity);
      const scaled = { target: rec.target * share, lowerBound: rec.lowerBound * share, upperBound: rec.upperBound * share };
      const b: Bounds = {
        target: clamp(scaled.target, lo, hi),
        lowerBound: clamp(scaled.lowerBound, lo, hi),
        upperBound: clamp(scaled.upperBound, lo, hi),
        uncappedTarget: scaled.target,
      };
      const dc = perContainer.get(container) ?? { container, share, resources: {}, gate: {} };
      dc.resources[r] = b;
      dc.gate[r] = {
        floor: Number.isFinite(st.recentPeak) ? clamp(st.recentPeak * share, lo, hi) : 0,
        usage: st.usage * share,
        anomalous: st.anomaly?.anomalous === true,
        stale: st.stale || snapshot.stale,
      };
      perContainer.set(container, dc);
    }
  }
  const containers = [...perContainer.values()].sort((a, b) => a.container.localeCompare(b.container));
  let skipped: string | undefined;
  if (containers.length === 0) {
    skipped = shares === undefined && VPA_RESOURCES.some((r) => snapshot.resources.has(seriesKey(tenant, snapName[r])))
      ? `no container names or shares for tenant ${tenant} (annotate the VPA with ${opts.containerSharesAnnotation} or name containers in resourcePolicy)`
      : `no forecast for tenant ${tenant} (or every container is mode Off / not controlled)`;
  }
  return { tenant, containers, lowConfidence, skipped };
}

/** The recommendation in the VPA's own shape (quantities as strings). */
export function toContainerRecommendations(containers: readonly DesiredContainer[]): RecommendedContainerResources[] {
  return containers
    .filter((c) => Object.keys(c.resources).length > 0)
    .map((c) => {
      const pick = (k: keyof Bounds): Record<string, string> =>
        Object.fromEntries(Object.entries(c.resources).map(([r, b]) => [r, formatResource(r as VpaResource, (b as Bounds)[k])]));
      return { containerName: c.container, target: pick('target'), lowerBound: pick('lowerBound'), upperBound: pick('upperBound'), uncappedTarget: pick('uncappedTarget') };
    });
}

/** Current targets in base units, keyed `container/resource`. */
export function currentTargets(recs: readonly RecommendedContainerResources[] | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const c of recs ?? []) for (const [r, q] of Object.entries(c.target ?? {})) out.set(`${c.containerName}/${r}`, parseQuantity(q));
  return out;
}

/**
 * Whether a target moving from `before` to `after` is worth a write: every increase (the allocation policy raises
 * its target only when the forecast needs it, a few times an hour at most, and an increase held back is a shortage),
 * a decrease only beyond the tolerance.
 */
export function writesTarget(before: number, after: number, tolerance: number): boolean {
  return after > before || before - after > tolerance * Math.max(Math.abs(before), 1e-12);
}

/** True when `next` differs from `current` in shape, in a bound by more than `tolerance` (relative), or in a target
 *  as writesTarget says. */
export function changedBeyond(current: readonly RecommendedContainerResources[] | undefined, next: readonly RecommendedContainerResources[], tolerance: number): boolean {
  const cur = new Map((current ?? []).map((c) => [c.containerName, c]));
  if (cur.size !== next.length) return true;
  for (const n of next) {
    const c = cur.get(n.containerName);
    if (!c) return true;
    for (const k of ['target', 'lowerBound', 'upperBound'] as const) {
      const a = c[k] ?? {};
      const b = n[k] ?? {};
      if (Object.keys(a).length !== Object.keys(b).length) return true;
      for (const [r, q] of Object.entries(b)) {
        const x = parseQuantity(a[r]);
        const y = parseQuantity(q);
        if (!Number.isFinite(x)) return true;
        if (k === 'target' ? writesTarget(x, y, tolerance) : Math.abs(y - x) > tolerance * Math.max(Math.abs(x), 1e-12)) return true;
      }
    }
  }
  return false;
}

/** Conditions after a write: ours replaced (keeping lastTransitionTime when the status did not flip), others kept. */
export function nextConditions(current: readonly VpaCondition[] | undefined, lowConfidence: boolean, tenant: string, now: Date): VpaCondition[] {
  const keep = (current ?? []).filter((c) => c.type !== 'RecommendationProvided' && c.type !== 'LowConfidence');
  const make = (type: string, on: boolean, reason: string, message: string): VpaCondition => {
    const prev = (current ?? []).find((c) => c.type === type);
    const status = on ? 'True' : 'False';
    const lastTransitionTime = prev?.status === status && prev.lastTransitionTime ? prev.lastTransitionTime : now.toISOString().replace(/\.\d+Z$/, 'Z');
    return { type, status, lastTransitionTime, reason, message };
  };
  return [
    ...keep,
    make('RecommendationProvided', true, 'ForesightForecast', `Forecast of tenant ${tenant} over the coming horizon`),
    make('LowConfidence', lowConfidence, lowConfidence ? 'ShortHistory' : 'EnoughHistory', lowConfidence ? `History of tenant ${tenant} is shorter than its seasons` : `History of tenant ${tenant} covers its seasons`),
  ];
}
