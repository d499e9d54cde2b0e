// The single list of every metric Foresight exports: name, type, help, labels. The README's metrics table, the
// alerts and the dashboards are checked against it. Units are base units (cores, bytes, seconds) in the name suffix.

export type MetricType = 'gauge' | 'counter' | 'histogram';

export interface MetricDef<L extends string = string> {
  name: string;
  type: MetricType;
  help: string;
  labels: readonly L[];
  buckets?: readonly number[];
}

function def<L extends string>(d: MetricDef<L>): MetricDef<L> {
  return d;
}

export const catalogue = {
  // Forecasts and recommendations (bounded by tenants x resources x horizons x quantiles; see config limits)
  forecast: def({
    name: 'foresight_forecast',
    type: 'gauge',
    help: 'Forecast of a tenant resource usage in the resource base unit, per horizon and quantile.',
    labels: ['tenant', 'resource', 'horizon', 'quantile'],
  }),
  usage: def({
    name: 'foresight_usage',
    type: 'gauge',
    help: 'Latest observed usage of a tenant resource in the resource base unit, as Foresight saw it.',
    labels: ['tenant', 'resource'],
  }),
  recommendation: def({
    name: 'foresight_recommendation',
    type: 'gauge',
    help: 'Recommended allocation of a tenant resource in its base unit (bound: target, lower, upper).',
    labels: ['tenant', 'resource', 'bound'],
  }),
  forecastStale: def({
    name: 'foresight_forecast_stale',
    type: 'gauge',
    help: '1 when the forecasts served are from the last successful cycle because the latest one failed to pull data.',
    labels: [],
  }),
  forecastError: def({
    name: 'foresight_forecast_error',
    type: 'gauge',
    help: "Live mean absolute error of each model's point forecast (the issued median for the served ensemble), relative to mean usage, per model and horizon; recent: each outcome's weight halves every 288 outcomes scored after it (a day at 5-minute steps).",
    labels: ['model', 'horizon'],
  }),
  forecastCoverage: def({
    name: 'foresight_forecast_coverage_ratio',
    type: 'gauge',
    help: 'Live empirical coverage of a forecast quantile (share of actuals at or below it), per model and horizon, for the models whose quantiles are issued (the ensemble in the sidecar); recent: each outcome\'s weight halves every 288 outcomes scored after it (a day at 5-minute steps).',
    labels: ['model', 'horizon', 'quantile'],
  }),
  modelChosen: def({
    name: 'foresight_model_chosen',
    type: 'gauge',
    help: 'Number of series whose forecast at a horizon uses a model, after the latest rolling-origin backtest.',
    labels: ['model', 'horizon'],
  }),
  // Behavioural profile
  profileLevel: def({
    name: 'foresight_profile_level',
    type: 'gauge',
    help: 'Mean level of a tenant signal over the profile window, in the signal base unit.',
    labels: ['tenant', 'signal'],
  }),
  profileVolatility: def({
    name: 'foresight_profile_volatility_ratio',
    type: 'gauge',
    help: 'Coefficient of variation of a tenant signal over the profile window.',
    labels: ['tenant', 'signal'],
  }),
  profileBurstiness: def({
    name: 'foresight_profile_burstiness_ratio',
    type: 'gauge',
    help: 'Burstiness of a tenant signal: p99 over median of the profile window (p99 over mean when the median is 0, the largest value over the mean when the p99 is 0 too, 1 when the signal is all zero).',
    labels: ['tenant', 'signal'],
  }),
  profileSeasonality: def({
    name: 'foresight_profile_seasonality_ratio',
    type: 'gauge',
    help: 'Share of a tenant signal variance explained by its daily or weekly shape; absent while the profile window is too short to tell (daily: until every hour of the day has samples on two dates; weekly: under 14 days or a weekday seen on one date, so never with the default one-week history).',
    labels: ['tenant', 'signal', 'season'],
  }),
  profileApiMix: def({
    name: 'foresight_profile_api_call_ratio',
    type: 'gauge',
    help: 'Share of a tenant API calls by type over the profile window (calls of the type over calls of every type): its apiMixMaxTypes busiest types apart, the others together as type "(other)"; types without calls in the window are absent.',
    labels: ['tenant', 'type'],
  }),
  // Anomalies
  anomalyScore: def({
    name: 'foresight_anomaly_score',
    type: 'gauge',
    help: 'Anomaly score in [0, 1] of each tenant signal (signal: the resource, or "behaviour" for the multivariate score), with the kind its detector saw.',
    labels: ['tenant', 'signal', 'kind'],
  }),
  anomalous: def({
    name: 'foresight_tenant_anomalous',
    type: 'gauge',
    help: '1 while a tenant is flagged anomalous (quarantined from proactive scale-up when configured).',
    labels: ['tenant'],
  }),
  anomalyInfo: def({
    name: 'foresight_tenant_anomaly_info',
    type: 'gauge',
    help: '1 while a tenant is flagged anomalous, naming the signal whose evidence opened the episode (a resource, or "behaviour") and the kind of the episode (spike, level-shift, behaviour-change, ramp); absent otherwise.',
    labels: ['tenant', 'signal', 'kind'],
  }),
  anomalousSince: def({
    name: 'foresight_tenant_anomalous_since_timestamp_seconds',
    type: 'gauge',
    help: 'While a tenant is flagged anomalous: the time of the sample whose evidence opened the episode, UNIX seconds.',
    labels: ['tenant'],
  }),
  // Allocation and shadow capacity
  allocation: def({
    name: 'foresight_allocation',
    type: 'gauge',
    help: 'Allocation the policy decided for a tenant resource in its base unit: always the recommendation\'s target (foresight_recommendation{bound="target"}), not necessarily what the actuator wrote, since its safety gate may keep another value in force (foresight_actuator_holds_total).',
    labels: ['tenant', 'resource'],
  }),
  shadowCapacity: def({
    name: 'foresight_shadow_capacity',
    type: 'gauge',
    help: 'Shadow capacity of placeholder pods, in the resource base unit. state=desired: the pooled reserve the forecast asks for (times its calibration, foresight_shadow_reserve_scale), before any cap; state=target: what the actuator sizes the placeholders to hold (cpu and memory: desired, raised to the quotas\' headroom in the quota pool, scaled down under maxShadowCpuCores and maxShadowMemoryBytes shared over the shards; on the shard\'s leader, in dry-run too); state=reserved: requests of Foresight\'s placeholder pods that exist and are scheduled (spec.nodeName set or phase Running), 0 while none is (always where no scheduler runs); in dry-run, where no placeholder is created, a reserved series only for a pool where placeholders of an earlier live run remain (what they still hold).',
    labels: ['pool', 'resource', 'state'],
  }),
  shadowReserveScale: def({
    name: 'foresight_shadow_reserve_scale',
    type: 'gauge',
    help: 'What the pooled shadow reserve (state="desired" of foresight_shadow_capacity) is its Monte Carlo quantile times: the calibration on its own outcomes, raised about 10% by each plan the demand exceeded and lowered by the level\'s complement of that per plan that held, so that plans are exhausted at the rate the level names (1% at 0.99); between 0.25 and 4, 1 after a restart.',
    labels: ['pool', 'resource'],
  }),
  shadowExhausted: def({
    name: 'foresight_shadow_exhausted_total',
    type: 'counter',
    help: 'Times the pooled shadow reserve was not enough for the increase that materialised.',
    labels: ['pool'],
  }),
  resourceLimit: def({
    name: 'foresight_resource_limit',
    type: 'gauge',
    help: 'Configured limit for a resource without a Kubernetes knob (disk I/O, fds, threads), in its base unit.',
    labels: ['tenant', 'resource'],
  }),
  // Actuator
  actions: def({
    name: 'foresight_actions_total',
    type: 'counter',
    help: 'Changes the actuator made or, in dry-run, would have made (kind: vpa, placeholder, quota).',
    labels: ['kind', 'outcome'],
  }),
  gateHolds: def({
    name: 'foresight_actuator_holds_total',
    type: 'counter',
    help: 'Changes of a target the actuator\'s safety gate held back, keeping the value in force (kind: vpa, quota; reason: anomaly, stale, no_usage, reclaim, budget, cooldown).',
    labels: ['kind', 'reason'],
  }),
  kubeErrors: def({
    name: 'foresight_kube_errors_total',
    type: 'counter',
    help: 'Kubernetes API errors by operation and code: the HTTP status (403, 409, 422, ...; 5xx for any server error), timeout or network.',
    labels: ['operation', 'code'],
  }),
  leader: def({
    name: 'foresight_leader',
    type: 'gauge',
    help: '1 on the replica that holds the actuator Lease.',
    labels: [],
  }),
  actuatorFenced: def({
    name: 'foresight_actuator_fenced',
    type: 'gauge',
    help: '1 while this replica holds its shard\'s Lease but writes nothing (VPA status, quotas, placeholders) because a live Lease of the same installation records another shard count and that count writes (a change of the shard count under way); 0 otherwise.',
    labels: [],
  }),
  // Loop health
  loopStepDuration: def({
    name: 'foresight_loop_step_duration_seconds',
    type: 'histogram',
    help: 'Duration of each step of a cycle (pull, store, profile, anomaly, update, train, forecast, decide, publish).',
    labels: ['step'],
    // up to 300 s: the train step of a retrain cycle at full scale takes about a minute (35-75 s in the README's
    // runs of the sidecar at scale), beyond a 60 s top bucket
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
  }),
  lastSuccess: def({
    name: 'foresight_last_successful_cycle_timestamp_seconds',
    type: 'gauge',
    help: 'UNIX time of the last cycle that completed and published a snapshot.',
    labels: [],
  }),
  cycles: def({
    name: 'foresight_cycles_total',
    type: 'counter',
    help: 'Cycles run, by outcome (success, failure).',
    labels: ['outcome'],
  }),
  errors: def({
    name: 'foresight_errors_total',
    type: 'counter',
    help: 'Errors by stage; the loop logs, counts and skips the affected tenant or step.',
    labels: ['stage'],
  }),
  seriesDropped: def({
    name: 'foresight_series_dropped_total',
    type: 'counter',
    help: 'Series left out of exposition because a cardinality limit was reached (reason: tenant_limit, series_limit), counted again with every snapshot that leaves them out: a tenant past the limit for 10 snapshots adds its series 10 times, so the increase is series times snapshots, not distinct series.',
    labels: ['reason'],
  }),
  pendingFit: def({
    name: 'foresight_series_pending_fit',
    type: 'gauge',
    help: 'Series without a model yet, left to the next cycles by the first-fit budget (firstFitBudget): above 0 for a few cycles after a start, or when many tenants appear at once.',
    labels: [],
  }),
  staleSeries: def({
    name: 'foresight_series_stale',
    type: 'gauge',
    help: 'Series with no sample for staleAfter while Prometheus answers (a tenant gone, its metrics no longer scraped): their usage, forecasts and recommendations are left out of /metrics until samples return or the series vanishes (vanishAfter), and so are the anomaly and profile families of a tenant all of whose series are stale; the API still shows them, marked stale.',
    labels: [],
  }),
  signalTenants: def({
    name: 'foresight_signal_tenants',
    type: 'gauge',
    help: 'Tenants a signal query found in its latest pull (the tenants this replica keeps). 0: the query returns no series, or none with the tenant label; the log says which.',
    labels: ['signal'],
  }),
  tenants: def({
    name: 'foresight_tenants',
    type: 'gauge',
    help: 'Tenants currently tracked.',
    labels: [],
  }),
  shard: def({
    name: 'foresight_shard_info',
    type: 'gauge',
    help: 'Always 1: the shard of tenants this replica owns (shard in [0, total_shards); total_shards 1 = unsharded).',
    labels: ['shard', 'total_shards'],
  }),
  shardCount: def({
    name: 'foresight_shard_count',
    type: 'gauge',
    help: 'Shards the tenants are split over (FORESIGHT_TOTAL_SHARDS; 1 = unsharded), to compare with the distinct shards reporting (ForesightShardMissing).',
    labels: [],
  }),
  coreRestarts: def({
    name: 'foresight_core_restarts_total',
    type: 'counter',
    help: 'Times the WASM core instance was re-created after a trap.',
    labels: [],
  }),
  // Memory: the process' own figures are prom-client's default metrics (process_resident_memory_bytes, nodejs_*)
  memoryLimit: def({
    name: 'foresight_memory_limit_bytes',
    type: 'gauge',
    help: 'Memory limit of this replica\'s container (its cgroup\'s memory.max, as Node.js reads it); 0 where there is none. Compare process_resident_memory_bytes (ForesightMemoryNearLimit).',
    labels: [],
  }),
  memoryNeed: def({
    name: 'foresight_memory_need_bytes',
    type: 'gauge',
    help: 'Memory this replica needs at its peak (a first fit) for the series it holds, by the rule of the README\'s "Sharding tenants across replicas": 150 MiB, the history store and 54 KiB a series; 0 before the first pull. Above foresight_memory_limit_bytes, the replica logs that it is at risk of OOM kills, with the limit or the shard count that would hold its series.',
    labels: [],
  }),
} as const;

export type Catalogue = typeof catalogue;
