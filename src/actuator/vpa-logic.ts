// Pure VPA recommendation logic: tenant forecast -> per-container recommendation, shaped by the VPA's resourcePolicy
// and the global bounds, and the status body written through the status subresource. No I/O.
import { ownsTenant, type Shard } from '../model/shard.js';
import type { Recommendation, ResourceState, Snapshot } from '../model/snapshot.js';
import { seriesKey } from '../model/series.js';
import type { ActuatorOptions } from './config.js';
import { formatResource, parseQuantity } from './quantity.js';
import { heldAsAnomalous } from './safety.js';
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
  /** The container's share of the tenant's demand at this time of day (recurringPeak), capped at maxAllowed. */
  recurring: number;
  /** The container's share of the latest usage (NaN if none), and when it was sampled. */
  usage: number;
  usageS: number;
  anomalous: boolean;
  stale: boolean;
  /** The allowed range (resourcePolicy minAllowed/maxAllowed within the global bounds): applied again after the gate. */
  min: number;
  max: number;
}

export interface DesiredContainer {
  container: string;
  /** What one pod's container gets of the tenant's total: its share of the usage over the tenant's running pods. */
  share: number;
  resources: Partial<Record<VpaResource, Bounds>>;
  gate: Partial<Record<VpaResource, GateInput>>;
}

export interface DesiredVpa {
  tenant: string;
  containers: DesiredContainer[];
  lowConfidence: boolean;
  /**
   * Per resource, the containers this cycle's snapshot speaks for: 'all' when the split comes from the VPA (shares
   * annotation or named policies), the containers with usage series when it comes from them; absent when the snapshot
   * has no usable forecast of the resource. A status entry outside it is missing data, and is carried over (carryOver).
   */
  covered: Partial<Record<VpaResource, 'all' | readonly string[]>>;
  /** Why nothing can be recommended (no data, no container names); undefined when containers is usable. */
  skipped?: string;
  /** Per resource, how one pod's share of the tenant's forecast was found (for the journal), e.g.
   *  "cpu: workload web, 25% of tenant shop, over 5 pods". */
  basis: string[];
  /** The reason of the RecommendationProvided=False condition a skipped VPA gets (CamelCase, as Kubernetes reasons). */
  skipReason?: 'NoPodCount' | 'NoForecastOrContainers';
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
 * Each container's share of the tenant's usage of `resource`: the shares annotation when the VPA has a valid one (the
 * operator's word wins, as where the target workload is known), else per-container series in the snapshot (tenant
 * `<tenant>/<container>`), else the tenant's measured split by container (snapshot.containerShares, narrowed to the
 * containers the VPA's resourcePolicy names, if it names any), else an equal split over the named container policies.
 * `fromUsage` says which: only then can a container be missing from the snapshot rather than from the VPA.
 */
export function containerShares(vpa: Vpa, snapshot: Snapshot, tenant: string, resource: string, opts: ActuatorOptions): { shares: ContainerShare[]; fromUsage: boolean } | undefined {
  const annotated = annotatedShares(vpa, opts);
  if (annotated) return annotated;
  const prefix = `${tenant}/`;
  const fromUsage: ContainerShare[] = [];
  for (const st of snapshot.resources.values()) {
    if (st.resource === resource && st.tenant.startsWith(prefix) && Number.isFinite(st.usage) && st.usage >= 0) {
      fromUsage.push({ container: st.tenant.slice(prefix.length), share: st.usage });
    }
  }
  const byUsage = normalise(fromUsage);
  if (byUsage) return { shares: byUsage.sort((a, b) => a.container.localeCompare(b.container)), fromUsage: true };
  const named = namedContainers(vpa);
  // the tenant's measured split by container (cAdvisor, the last hour), narrowed to the containers the VPA names
  const measured = measuredSplit(snapshot.containerShares?.get(resource)?.get(tenant), named);
  if (measured) return { shares: measured, fromUsage: true };
  const equal = normalise(named.map((container) => ({ container, share: 1 })));
  return equal && { shares: equal, fromUsage: false };
}

/** The split the VPA's shares annotation gives (the operator's word wins over any measurement), if it has a valid one. */
function annotatedShares(vpa: Vpa, opts: ActuatorOptions): { shares: ContainerShare[]; fromUsage: false } | undefined {
  const ann = vpa.metadata.annotations?.[opts.containerSharesAnnotation];
  const parsed = ann ? parseShares(ann) : undefined;
  return parsed && { shares: parsed, fromUsage: false };
}

function podsText(n: number): string {
  return `${n} pod${n === 1 ? '' : 's'}`;
}

function pct(x: number): string {
  return `${Math.round(x * 1000) / 10}%`;
}

/** A measured split by container, narrowed to `named` when it names any, as shares in container order; undefined when
 *  nothing is left. */
function measuredSplit(byContainer: Readonly<Record<string, number>> | undefined, named: readonly string[]): ContainerShare[] | undefined {
  const picked = Object.entries(byContainer ?? {}).filter(([c, v]) => v > 0 && (named.length === 0 || named.includes(c)));
  return normalise(picked.map(([container, share]) => ({ container, share })))?.sort((a, b) => a.container.localeCompare(b.container));
}

/** The containers the VPA's resourcePolicy names (not "*"). */
function namedContainers(vpa: Vpa): string[] {
  return [...new Set((vpa.spec.resourcePolicy?.containerPolicies ?? []).map((p) => p.containerName).filter((n): n is string => !!n && n !== '*'))];
}

function levelIndex(levels: readonly number[], q: number): number {
  const i = levels.findIndex((l) => l >= q - 1e-9);
  return i < 0 ? levels.length - 1 : i;
}

/**
 * The tenant-level recommendation: the snapshot's own when the policy made one, else from the forecast quantiles:
 * target = the highest `targetQuantile` over the horizons (so it moves before demand), lowerBound = the highest
 * lowest-level quantile, upperBound = the highest top-level quantile. A non-finite quantile is skipped for a bound (a
 * bound no horizon gives is NaN for lowerBound, which toContainerRecommendations leaves out, and the target for
 * upperBound); a non-finite target quantile at any horizon gives no recommendation, since the peak may be the one missing.
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
  const finiteMax = (m: number, v: number): number => (Number.isFinite(v) ? Math.max(m, v) : m);
  for (let h = 0; h < nh; h++) {
    target = Math.max(target, f.quantiles[h * nq + ti]);
    lower = finiteMax(lower, f.quantiles[h * nq]);
    upper = finiteMax(upper, f.quantiles[h * nq + nq - 1]);
  }
  if (!Number.isFinite(target)) return undefined;
  target = Math.max(0, target);
  lower = Number.isFinite(lower) ? Math.min(Math.max(0, lower), target) : NaN;
  upper = Math.max(upper, target);
  return { target, lowerBound: lower, upperBound: upper, uncappedTarget: target };
}

function policyFor(vpa: Vpa, container: string): ContainerResourcePolicy | undefined {
  const ps = vpa.spec.resourcePolicy?.containerPolicies ?? [];
  return ps.find((p) => p.containerName === container) ?? ps.find((p) => p.containerName === '*');
}

/** Whether the VPA lets Foresight recommend `r` for `container` (not mode Off, and among controlledResources). */
function controls(vpa: Vpa, container: string, r: VpaResource): boolean {
  const pol = policyFor(vpa, container);
  return pol?.mode !== 'Off' && (!pol?.controlledResources || pol.controlledResources.includes(r));
}

/** [min, max] for one container resource: the global bounds narrowed by the container's minAllowed/maxAllowed. */
function allowedRange(vpa: Vpa, container: string, r: VpaResource, opts: ActuatorOptions): [number, number] {
  const pol = policyFor(vpa, container);
  const global: Record<VpaResource, [number, number]> = {
    cpu: [opts.minCpuCores, opts.maxCpuCores],
    memory: [opts.minMemoryBytes, opts.maxMemoryBytes],
  };
  // an absent or unparsable bound does not bind; 0 is a bound (`|| Infinity` made maxAllowed 0 no maximum at all)
  const min = parseQuantity(pol?.minAllowed?.[r]);
  const max = parseQuantity(pol?.maxAllowed?.[r]);
  return [Math.max(global[r][0], Number.isFinite(min) ? min : 0), Math.min(global[r][1], Number.isFinite(max) ? max : Infinity)];
}

/** `v` within [min, max]; a non-finite bound does not bind. */
export function clamp(v: number, min: number, max: number): number {
  return Math.min(Math.max(v, Number.isFinite(min) ? min : -Infinity), Number.isFinite(max) ? max : Infinity);
}

/**
 * The bounds once the safety gate chose `gated` for the target: target and both bounds clamped into the allowed range
 * again, so that a resourcePolicy change wins over every hold (cooldown, step, reclamation, stale data, anomaly), and
 * the bounds widened to contain the target.
 */
export function withGatedTarget(b: Bounds, gated: number, g: Pick<GateInput, 'min' | 'max'>): Bounds {
  const target = clamp(gated, g.min, g.max);
  return {
    target,
    lowerBound: clamp(Math.min(b.lowerBound, target), g.min, g.max),
    upperBound: clamp(Math.max(b.upperBound, target), g.min, g.max),
    uncappedTarget: b.uncappedTarget,
  };
}

/** One container resource's recommendation in force (the VPA's status), in base units; undefined without a target. */
export function boundsIn(recs: readonly RecommendedContainerResources[] | undefined, container: string, r: VpaResource): Bounds | undefined {
  const c = recs?.find((x) => x.containerName === container);
  const v = (f: (typeof REC_FIELDS)[number]) => (c?.[f]?.[r] !== undefined ? parseQuantity(c[f]![r]) : NaN);
  const target = v('target');
  return Number.isFinite(target) ? { target, lowerBound: v('lowerBound'), upperBound: v('upperBound'), uncappedTarget: v('uncappedTarget') } : undefined;
}

/**
 * The tenant's running pods (the latest sample of its pods signal, opts.podsResource, at least 1), or undefined when the
 * snapshot has no such sample. A VPA recommendation is per pod, and the tenant's forecasts are its pods' sum.
 */
export function runningPods(snapshot: Snapshot, tenant: string, opts: Pick<ActuatorOptions, 'podsResource'>): number | undefined {
  const st = snapshot.resources.get(seriesKey(tenant, opts.podsResource));
  return st && Number.isFinite(st.usage) && st.usage >= 0 ? Math.max(1, Math.round(st.usage)) : undefined;
}

/**
 * The VPA's target among the tenant's measured workloads (snapshot.workloadUsage, by the targetRef's name): its share of
 * the tenant's usage of `resource`, its running pods, and its containers' split, narrowed to the containers the VPA
 * names if it names any. Undefined when the snapshot does not know the workload.
 */
export function targetWorkload(vpa: Vpa, snapshot: Snapshot, tenant: string, resource: string): { share: number; pods: number; shares: ContainerShare[] } | undefined {
  const name = vpa.spec.targetRef?.name;
  const w = name === undefined ? undefined : snapshot.workloadUsage?.get(resource)?.get(tenant)?.[name];
  if (!w || !(w.pods >= 1) || !(w.share > 0)) return undefined;
  const shares = measuredSplit(w.containers, namedContainers(vpa));
  return shares && { share: w.share, pods: w.pods, shares };
}

/**
 * What the VPA should recommend, per container and resource, before the safety gate. The tenant's forecast is the sum
 * over its pods, and a recommendation is per pod:
 * - when the snapshot knows the VPA's target workload (targetWorkload), the forecast times the workload's share of the
 *   tenant's usage, over the workload's running pods, split over its containers (by the shares annotation if the VPA
 *   has one, else by their measured usage);
 * - otherwise the forecast over the tenant's running pods, split over the containers (containerShares). With one
 *   workload per tenant that is the workload's per-pod demand; with several, each gets the tenant's average pod.
 */
export function desiredForVpa(vpa: Vpa, snapshot: Snapshot, opts: ActuatorOptions): DesiredVpa {
  const tenant = tenantOf(vpa, opts);
  const snapName: Record<VpaResource, string> = { cpu: opts.cpuResource, memory: opts.memoryResource };
  const perContainer = new Map<string, DesiredContainer>();
  const covered: DesiredVpa['covered'] = {};
  let lowConfidence = false;
  let shares: ContainerShare[] | undefined;
  let noPodCount = false;
  const basis: string[] = [];
  const pods = runningPods(snapshot, tenant, opts);
  for (const r of VPA_RESOURCES) {
    const st = snapshot.resources.get(seriesKey(tenant, snapName[r]));
    if (!st) continue;
    const rec = tenantRecommendation(st, snapshot.quantiles, opts.targetQuantile);
    if (!rec) continue;
    if (st.historyPoints < opts.lowConfidencePoints || st.forecast?.status === 'nonseasonal-fallback') lowConfidence = true;
    const workload = targetWorkload(vpa, snapshot, tenant, snapName[r]);
    if (!workload && pods === undefined) {
      noPodCount = true;
      continue;
    }
    const split = workload ? (annotatedShares(vpa, opts) ?? { shares: workload.shares, fromUsage: true }) : containerShares(vpa, snapshot, tenant, snapName[r], opts);
    if (!split) continue;
    // of the tenant's total, what one pod of the target gets
    const perPod = workload ? workload.share / workload.pods : 1 / pods!;
    basis.push(workload ? `${r}: workload ${vpa.spec.targetRef?.name}, ${pct(workload.share)} of tenant ${tenant}, over ${podsText(workload.pods)}` : `${r}: tenant ${tenant} over its ${podsText(pods!)} running`);
    shares ??= split.shares;
    covered[r] = split.fromUsage ? split.shares.map((c) => c.container) : 'all';
    for (const { container, share: ofPod } of split.shares) {
      if (!controls(vpa, container, r)) continue;
      const share = ofPod * perPod; // of the tenant's total: this container in one pod
      const [lo, hi] = allowedRange(vpa, container, r, opts);
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
        recurring: st.recurringPeak !== undefined && Number.isFinite(st.recurringPeak) ? clamp(st.recurringPeak * share, lo, hi) : 0,
        usage: st.usage * share,
        usageS: st.lastSampleS,
        anomalous: heldAsAnomalous(st.anomaly),
        stale: st.stale || snapshot.stale,
        min: lo,
        max: hi,
      };
      perContainer.set(container, dc);
    }
  }
  const containers = [...perContainer.values()].sort((a, b) => a.container.localeCompare(b.container));
  if (containers.length === 0 && noPodCount) {
    const skipped = `no running-pod count for tenant ${tenant} (signal ${opts.podsResource}, from kube-state-metrics) nor for the VPA's target workload: a VPA recommendation is per pod, and the tenant's forecast is the sum over its pods`;
    return { tenant, containers, lowConfidence, covered, basis, skipped, skipReason: 'NoPodCount' };
  }
  let skipped: string | undefined;
  if (containers.length === 0) {
    skipped = shares === undefined && VPA_RESOURCES.some((r) => snapshot.resources.has(seriesKey(tenant, snapName[r])))
      ? `no container names or shares for tenant ${tenant} (no measured split by container; annotate the VPA with ${opts.containerSharesAnnotation} or name containers in resourcePolicy)`
      : `no forecast for tenant ${tenant} (or every container is mode Off / not controlled)`;
  }
  return { tenant, containers, lowConfidence, covered, basis, skipped, ...(skipped ? { skipReason: 'NoForecastOrContainers' as const } : {}) };
}

/** The recommendation in the VPA's own shape (quantities as strings); a non-finite value is left out, never "NaN". */
export function toContainerRecommendations(containers: readonly DesiredContainer[]): RecommendedContainerResources[] {
  return containers
    .filter((c) => Object.keys(c.resources).length > 0)
    .map((c) => {
      const pick = (k: keyof Bounds): Record<string, string> =>
        Object.fromEntries(
          Object.entries(c.resources)
            .filter(([, b]) => Number.isFinite((b as Bounds)[k]))
            .map(([r, b]) => [r, formatResource(r as VpaResource, (b as Bounds)[k])]),
        );
      return { containerName: c.container, target: pick('target'), lowerBound: pick('lowerBound'), upperBound: pick('upperBound'), uncappedTarget: pick('uncappedTarget') };
    });
}

const REC_FIELDS = ['target', 'lowerBound', 'upperBound', 'uncappedTarget'] as const;

/**
 * `next` plus every entry of `current` (container and resource) the snapshot had no data for this cycle, carried
 * over unchanged: never shrink on missing data, and dropping a recommendation is the deepest shrink. An entry the VPA
 * no longer lets Foresight recommend (mode Off, controlledResources) is dropped; a carried value outside the allowed
 * range is clamped into it, as resourcePolicy wins over every hold.
 */
export function carryOver(vpa: Vpa, desired: DesiredVpa, current: readonly RecommendedContainerResources[] | undefined, next: readonly RecommendedContainerResources[], opts: ActuatorOptions): RecommendedContainerResources[] {
  const out = new Map(next.map((c) => [c.containerName, c]));
  for (const c of current ?? []) {
    for (const r of VPA_RESOURCES) {
      if (c.target?.[r] === undefined || out.get(c.containerName)?.target[r] !== undefined) continue;
      const cov = desired.covered[r];
      if (cov === 'all' || cov?.includes(c.containerName)) continue; // data this cycle: the entry's absence is the VPA's wish
      if (!controls(vpa, c.containerName, r)) continue;
      const [lo, hi] = allowedRange(vpa, c.containerName, r, opts);
      const n = structuredClone(out.get(c.containerName) ?? { containerName: c.containerName, target: {} });
      for (const k of REC_FIELDS) {
        const q = c[k]?.[r];
        if (q === undefined) continue;
        const v = parseQuantity(q);
        const inRange = k === 'uncappedTarget' || !Number.isFinite(v) || clamp(v, lo, hi) === v;
        n[k] = { ...n[k], [r]: inRange ? q : formatResource(r, clamp(v, lo, hi)) };
      }
      out.set(c.containerName, n);
    }
  }
  return [...out.values()].sort((a, b) => a.containerName.localeCompare(b.containerName));
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

/** Our conditions whose status differs between `before` and `after` ("LowConfidence: True -> False"): each is worth a write. */
export function conditionFlips(before: readonly VpaCondition[] | undefined, after: readonly VpaCondition[]): string[] {
  const out: string[] = [];
  for (const a of after) {
    if (a.type !== 'RecommendationProvided' && a.type !== 'LowConfidence') continue;
    const b = (before ?? []).find((c) => c.type === a.type);
    if (b?.status !== a.status) out.push(`${a.type}: ${b?.status ?? 'none'} -> ${a.status}`);
  }
  return out;
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
