// The narrow interface the engine loop pulls histories through (Prometheus in a cluster, a trace replay in the demo).
import type { SeriesSet } from '../model/series.js';

/** One signal Foresight tracks per tenant: a resource with a PromQL expression returning one series per tenant. */
export interface SignalSpec {
  /** Resource name used in metrics and the API (cpu, memory, ...). */
  resource: string;
  /** Base unit of the values (cores, bytes, bytes_per_second, ...). */
  unit: string;
  /**
   * PromQL template. `{{tenant}}` is replaced by the tenant label name, `{{window}}` by the rate window,
   * `{{filter}}` by extra matchers (", ns!~\"...\"", already escaped) or nothing.
   */
  query: string;
  /** Extra labels breaking a signal down (e.g. method, route for API calls); the series carry them in `breakdown`. */
  breakdownBy?: readonly string[];
}

/** A breakdown series (e.g. API calls of one method and route) kept aside for the profile's mix. */
export interface BreakdownSeries {
  tenant: string;
  resource: string;
  /** Breakdown key, e.g. "GET /api/items". */
  type: string;
  startS: number;
  intervalS: number;
  values: Float64Array;
}

export interface PullRange {
  /** Inclusive start and end, UNIX seconds, aligned to stepS by the caller. */
  startS: number;
  endS: number;
  stepS: number;
  /** Only these signals (by resource name; absent: every signal). The loop names the signals that fell behind when
   *  it catches them up; a source may return others too (the loop ignores what it did not ask for). */
  resources?: readonly string[];
}

/** What one signal's query returned in a pull, for the operator: a signal no tenant has is said so, with why. */
export interface SignalCoverage {
  resource: string;
  /** Tenants the signal has series for (those this source keeps). */
  tenants: number;
  /** Series the query returned, kept or not (absent: not reported). */
  series?: number;
  /** With no tenant: why, in words (no series at all, series without the tenant label, or only other tenants). */
  why?: string;
}

export interface PullResult {
  set: SeriesSet;
  breakdown: BreakdownSeries[];
  /** Signals that failed (the others are still returned). */
  failures: Array<{ resource: string; error: Error }>;
  /** Per signal pulled without failure, its tenants (sources that can tell; absent: not reported). */
  coverage?: SignalCoverage[];
}

/** Per tenant, each container's share of the tenant's usage of one resource (shares of a tenant sum to 1). */
export type ContainerShares = Map<string, Record<string, number>>;

/** One workload of a tenant (the owner of its pods: a Deployment through its ReplicaSet, a StatefulSet, ...). */
export interface WorkloadPart {
  /** Its share of the tenant's usage of the resource. */
  share: number;
  /** Its running pods. */
  pods: number;
  /** Each container's share of the workload's usage. */
  containers: Record<string, number>;
}

/** Per tenant, per workload name: what the VPA recommender needs to size one workload's pods. */
export type WorkloadUsage = Map<string, Record<string, WorkloadPart>>;

/** How the tenants' usage of one resource splits, over the hour before a time. */
export interface UsageSplit {
  /** By container name, over every pod of the tenant. */
  containers: ContainerShares;
  /** By workload, with each one's running pods (empty where the source cannot map pods to their owners). */
  workloads: WorkloadUsage;
}

export interface HistorySource {
  /** Human-readable origin for logs (URL or file). */
  readonly origin: string;
  readonly signals: readonly SignalSpec[];
  /** How each tenant's usage of each of `resources` splits by container and workload over the hour before atS, for
   *  the resources the source can split (cpu and memory for Prometheus); the others are left out of the map. */
  usageSplit?(resources: readonly string[], atS: number): Promise<Map<string, UsageSplit>>;
  /** Samples in [startS, endS] at stepS, for every tenant and signal. Rejects only when nothing could be pulled. */
  pull(range: PullRange): Promise<PullResult>;
  /** Releases connections/timers. */
  close?(): Promise<void>;
}
