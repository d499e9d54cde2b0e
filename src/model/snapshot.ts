// The immutable result of one engine cycle: what /metrics, the API and the actuator read. Published whole, never mutated.
import type { AccuracyStat, SeriesForecast } from '../core/types.js';
import type { TenantProfile } from './profile.js';
import type { WorkloadUsage } from '../sources/history-source.js';

/** A recommendation in the VPA's shape, in the resource's base unit (cores, bytes, ...). */
export interface Recommendation {
  target: number;
  lowerBound: number;
  upperBound: number;
  /** The target before bounds and policies capped it. */
  uncappedTarget: number;
}

export type AnomalyKind = 'none' | 'spike' | 'level-shift' | 'behaviour-change' | 'ramp';

/** The latest anomaly score of one signal of a tenant. */
export interface SignalAnomalyScore {
  /** A resource (cpu, memory, ...) or 'behaviour' for the tenant's multivariate score. */
  signal: string;
  /** In [0, 1]. */
  score: number;
  /** What that signal's detector saw ('none' when nothing stands out). */
  kind: AnomalyKind;
}

export interface AnomalyState {
  /** In [0, 1]: the highest score among the tenant's signals. */
  score: number;
  kind: AnomalyKind;
  /** True while the tenant's demand is treated as anomalous (alerts; quarantine when configured). */
  anomalous: boolean;
  /** True while it is also quarantined (anomalyMode quarantine): no proactive scale-up, not learnt, and the actuator
   *  holds the tenant's targets until the demand is confirmed. Absent from producers that do not say (then
   *  `anomalous` stands for it); false in alert-only mode, which only reports. */
  quarantined?: boolean;
  /** While anomalous: the signal whose evidence opened the episode (a resource, or "behaviour"), and when (UNIX
   *  seconds of that sample). */
  signal?: string;
  sinceS?: number;
  /** Per signal, the latest score (sorted by signal; a signal keeps its last score in cycles without new samples).
   *  Absent from producers that score only the tenant. */
  signals?: readonly SignalAnomalyScore[];
}

/** Everything known about one tenant's use of one resource at the end of a cycle. */
export interface ResourceState {
  tenant: string;
  resource: string;
  /** Latest observed usage (NaN if none) and the time of that sample, UNIX seconds. */
  usage: number;
  lastSampleS: number;
  /** Recent peak usage over the safety window (never shrink below it). */
  recentPeak: number;
  /** Peak usage at this time of day a day and a week before, over the window the forecast covers (NaN: not held).
   *  The actuator's step limit and cooldown never hold a raise below it (src/actuator/safety.ts). */
  recurringPeak?: number;
  /** Number of samples of history behind the models. */
  historyPoints: number;
  forecast?: SeriesForecast;
  recommendation?: Recommendation;
  anomaly?: AnomalyState;
  /** True when the data behind this state is older than the staleness limit. */
  stale: boolean;
}

/** Shadow capacity the engine wants reserved, per pool (a node pool or tenant group). */
export interface ShadowPlan {
  pool: string;
  resource: string;
  /** Size of the pooled reserve: the quantile of the total expected increase over the horizon, times `scale`. */
  size: number;
  /** What the reserve's calibration on its own outcomes multiplied the quantile by (logic/shadow-reserve.ts
   *  ReserveCalibration; 1 until plans have been checked, and where absent). */
  scale?: number;
}

export interface Snapshot {
  /** Monotonic cycle number. */
  cycle: number;
  /** UNIX seconds at which the snapshot was published (the engine clock, accelerated in the demo). */
  createdS: number;
  /** True when the latest cycle failed to pull data and this snapshot repeats the last good one. */
  stale: boolean;
  horizonsS: readonly number[];
  quantiles: readonly number[];
  /** Keyed by seriesKey(tenant, resource). */
  resources: ReadonlyMap<string, ResourceState>;
  shadow: readonly ShadowPlan[];
  /**
   * Times per pool, since the loop started, that a planned shadow reserve was smaller than the excess of usage over
   * allocations that materialised at the step it covered (0 for every pool planned so far).
   */
  shadowExhausted?: ReadonlyMap<string, number>;
  /** Behavioural profile per tenant (added by the sidecar loop; optional for other producers). */
  profiles?: ReadonlyMap<string, TenantProfile>;
  /** Live accuracy per model and horizon, as the engine tracks it. */
  accuracy?: readonly AccuracyStat[];
  /** Series count per (model, horizon) of the latest model choice: key `${model}\u0000${horizonS}`. */
  modelsChosen?: ReadonlyMap<string, number>;
  /** Series still without a model, left to the next cycles by the first-fit budget (src/loop/engine-loop.ts). */
  pendingFit?: number;
  /** The memory this replica needs at its peak for the series it holds (src/model/memory-need.ts), bytes; set where
   *  the loop checks it against a limit (src/loop/memory-check.ts). */
  memoryNeedBytes?: number;
  /** Per resource (cpu, memory), each tenant's usage split by container over the last hour, where the source can
   *  tell (HistorySource.usageSplit): the VPA recommender's container split. */
  containerShares?: ReadonlyMap<string, ReadonlyMap<string, Readonly<Record<string, number>>>>;
  /** Per resource, the same by workload with each workload's running pods (HistorySource.usageSplit): a VPA whose
   *  target is one of them is sized from its share and its pods. */
  workloadUsage?: ReadonlyMap<string, WorkloadUsage>;
  /** Tenants each signal had in its latest pull, where the source reports it (0: the signal's query finds none). */
  signalTenants?: ReadonlyMap<string, number>;
  /** Last successful pull (UNIX seconds, engine clock) and the error of the latest failed one. */
  lastPullS?: number;
  lastError?: string;
}
