// The "Foresight / Overview" dashboard: tenants, forecast against actual, recommendation, slack and shortage, shadow
// capacity, anomalies, forecast quality, resources without a knob, actuator and loop health.
import type { Dashboard, ValueMapping } from '@grafana/grafana-foundation-sdk/dashboard';
import { DashboardBuilder, DashboardLinkBuilder, DashboardLinkType, MappingType, RowBuilder, ThresholdsConfigBuilder, ThresholdsMode } from '@grafana/grafana-foundation-sdk/dashboard';
import { bars, datasourceVariable, finish, JOB_SELECTOR as J, jobVariable, labelVariable, onePerShard, oneReplica as one, REPLICA_LABELS, stat, timeseries } from './common.js';

export const OVERVIEW_UID = 'foresight-overview';
export const TENANT_UID = 'foresight-tenant';

const R = 'resource="$resource"';

/** ForesightStale's threshold (alerts/foresight.rules.yaml). */
const STALE_AFTER_S = 900;
/** The last-success gauge is 0 until a replica's first cycle, so its age is time() itself: decades, not a real age. */
const NO_CYCLE_YET: ValueMapping = { type: MappingType.RangeToText, options: { from: 1e9, to: null, result: { text: 'no cycle yet', color: 'red' } } };

// Every query over tenant series collapses replicas first (`one`, common.ts oneReplica): the shipped Deployment runs two
// replicas that both export every tenant, and a plain sum or count would report each tenant twice.

export function overviewDashboard(): Dashboard {
  const b = new DashboardBuilder('Foresight / Overview')
    .uid(OVERVIEW_UID)
    .description('Predictive allocation across tenants: forecasts against actuals, recommendations, slack and shortage, shadow capacity, anomalies and the health of the loop.')
    .tags(['foresight'])
    .editable()
    .refresh('30s')
    .time({ from: 'now-6h', to: 'now' })
    .timezone('utc')
    .link(new DashboardLinkBuilder('Tenant').type(DashboardLinkType.Dashboards).tags(['foresight']).asDropdown(false).includeVars(true).keepTime(true))
    .withVariable(datasourceVariable())
    .withVariable(jobVariable())
    .withVariable(labelVariable('resource', 'Resource', `foresight_usage{${J}}`, 'resource'))
    .withVariable(labelVariable('horizon', 'Horizon', `foresight_forecast{${J}}`, 'horizon'))

    // ---- Loop health first: everything below is only as good as the latest cycle.
    .withRow(new RowBuilder('Loop health'))
    .withPanel(stat('Targets up', 'short', { expr: `sum(up{${J}})`, legend: 'up' }, { span: 3, description: 'Foresight replicas Prometheus scrapes successfully (ForesightDown).' }))
    // replicas of one shard (or of an unsharded deployment) track the same tenants: count each shard once
    .withPanel(stat('Tenants tracked', 'short', { expr: `sum(max by (shard) (foresight_tenants{${J}} * on (job, instance) group_left (shard) foresight_shard_info{${J}}))`, legend: 'tenants' }, { span: 3, description: 'Tenants with series, each shard counted once (replicas of a shard track the same tenants).' }))
    .withPanel(stat('Since last successful cycle', 's', { expr: `time() - min(foresight_last_successful_cycle_timestamp_seconds{${J}})`, legend: 'age' }, { span: 3, description: 'Wall-clock age of the stalest replica\'s latest published snapshot: one replica or shard that stopped cycling shows here (ForesightStale fires above 15 minutes). A replica that has not finished a cycle since it started exports 0, shown as "no cycle yet".' })
      .mappings([NO_CYCLE_YET])
      .thresholds(new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([{ value: null, color: 'green' }, { value: STALE_AFTER_S, color: 'red' }])))
    .withPanel(stat('Serving stale forecasts', 'bool', { expr: `max(foresight_forecast_stale{${J}})`, legend: 'stale' }, { span: 3 }))
    .withPanel(stat('Leader replicas', 'short', [{ expr: `sum(foresight_leader{${J}})`, legend: 'leading' }, { expr: `sum(foresight_actuator_fenced{${J}})`, legend: 'holding off' }], { span: 3, description: 'Replicas holding an actuator Lease: exactly 1 per shard when the actuator runs (one Lease per shard). Holding off: leaders that write nothing while a live Lease of another shard count leads (a change of the shard count under way, ForesightShardCountMismatch); 0 otherwise.' }))
    .withPanel(stat('Series waiting for a first fit', 'short', { expr: `sum(max by (shard) (foresight_series_pending_fit{${J}} * on (job, instance) group_left (shard) foresight_shard_info{${J}}))`, legend: 'pending' }, { span: 3, description: 'Series without a model yet, left to the next cycles by firstFitBudget: above 0 for a few minutes after a start at scale, then 0.' }))
    .withPanel(stat('Series gone quiet', 'short', { expr: `sum(max by (shard) (foresight_series_stale{${J}} * on (job, instance) group_left (shard) foresight_shard_info{${J}}))`, legend: 'stale' }, { span: 3, description: 'Series with no sample for staleAfter while Prometheus answers (a tenant gone, its metrics no longer scraped), each shard counted once: left out of the forecast families until samples return or vanishAfter drops them.' }))
    .withPanel(stat('Anomalous tenants', 'short', { expr: `sum(${one(`foresight_tenant_anomalous{${J}}`)})`, legend: 'anomalous' }, { span: 3 }))
    .withPanel(timeseries('Cycles', 'cps', [{ expr: `sum by (outcome) (rate(foresight_cycles_total{${J}}[$__rate_interval]))`, legend: '{{outcome}}' }], { span: 6 }))
    .withPanel(timeseries('Step duration (p90)', 's', [{ expr: `histogram_quantile(0.9, sum by (le, step) (rate(foresight_loop_step_duration_seconds_bucket{${J}}[$__rate_interval])))`, legend: '{{step}}' }], { span: 6 }))
    .withPanel(timeseries('Errors by stage', 'cps', [{ expr: `sum by (stage) (rate(foresight_errors_total{${J}}[$__rate_interval]))`, legend: '{{stage}}' }], { span: 6, description: 'The loop logs, counts and skips: a stage that keeps erroring degrades forecasts without stopping the loop.' }))
    .withPanel(
      timeseries(
        'Memory per replica',
        'bytes',
        [
          { expr: `process_resident_memory_bytes{${J}}`, legend: '{{pod}} resident' },
          // replicas without a limit export 0: left out rather than drawn as a limit of nothing
          { expr: `foresight_memory_limit_bytes{${J}} > 0`, legend: '{{pod}} limit' },
          { expr: `foresight_memory_need_bytes{${J}} > 0`, legend: '{{pod}} need at peak' },
        ],
        { span: 6, min: 0, description: 'Resident memory of each replica, its container\'s memory limit, and what its series need at the peak of a fit by the README\'s rule (150 MiB, the history store, 54 KiB a series). ForesightMemoryNearLimit fires at 90% of the limit; a need above it is logged with the limit or shard count that would hold the series.' },
      ),
    )
    .withPanel(bars('Tenants per signal', 'short', { expr: `sum by (signal) (max by (shard, signal) (foresight_signal_tenants{${J}} * on (job, instance) group_left (shard) foresight_shard_info{${J}}))`, legend: '{{signal}}' }, { span: 24, height: 6, min: 0, description: 'Tenants each signal\'s query found in its latest pull, each shard counted once. A signal at 0 finds no tenant: its metric is not scraped, or its series lack the tenant label (the log says which, once).' }))

    // ---- Tenants
    .withRow(new RowBuilder('Tenants ($resource)'))
    .withPanel(bars('Top tenants by usage', 'short', { expr: `topk(10, ${one(`foresight_usage{${J}, ${R}}`)})`, legend: '{{resource}} {{tenant}}' }, { perResourceUnits: true }))
    .withPanel(bars('Top tenants by recommended target', 'short', { expr: `topk(10, ${one(`foresight_recommendation{${J}, ${R}, bound="target"}`)})`, legend: '{{resource}} {{tenant}}' }, { perResourceUnits: true }))

    // ---- Forecast against actual: the forecast made one horizon ago, shifted onto the time it was made for.
    .withRow(new RowBuilder('Forecast against actual ($resource, horizon $horizon)'))
    .withPanel(
      timeseries(
        'Total usage against its forecast',
        'short',
        [
          { expr: `sum by (resource) (${one(`foresight_usage{${J}, ${R}}`)})`, legend: '{{resource}} actual' },
          // `offset $horizon` (horizon labels are durations such as 5m) shows at time t what was forecast at t - horizon for t, so the lines are comparable.
          { expr: `sum by (resource) (${one(`foresight_forecast{${J}, ${R}, horizon="$horizon", quantile="0.5"} offset $horizon`)})`, legend: '{{resource}} forecast p50' },
          { expr: `sum by (resource) (${one(`foresight_forecast{${J}, ${R}, horizon="$horizon", quantile="0.9"} offset $horizon`)})`, legend: '{{resource}} forecast p90' },
        ],
        { perResourceUnits: true, description: 'Sum over tenants. Forecasts are drawn at the time they were made for (offset by the horizon).' },
      ),
    )
    .withPanel(
      timeseries(
        'Recommendation and allocation',
        'short',
        [
          { expr: `sum by (resource) (${one(`foresight_usage{${J}, ${R}}`)})`, legend: '{{resource}} usage' },
          { expr: `sum by (resource, bound) (${one(`foresight_recommendation{${J}, ${R}}`)})`, legend: '{{resource}} recommended {{bound}}' },
          { expr: `sum by (resource) (${one(`foresight_allocation{${J}, ${R}}`)})`, legend: '{{resource}} allocation decided' },
        ],
        { perResourceUnits: true, description: 'Allocation decided: the policy\'s allocation, the recommended target; the actuator\'s safety gate may keep another value in force (see Changes held back by the safety gate).' },
      ),
    )
    .withPanel(
      timeseries(
        'Slack and shortage',
        'short',
        [
          // clamp_min per tenant before summing, so that one tenant's slack does not hide another's shortage.
          { expr: `sum by (resource) (clamp_min(${one(`foresight_allocation{${J}, ${R}}`)} - ${one(`foresight_usage{${J}, ${R}}`)}, 0))`, legend: '{{resource}} slack' },
          { expr: `sum by (resource) (clamp_min(${one(`foresight_usage{${J}, ${R}}`)} - ${one(`foresight_allocation{${J}, ${R}}`)}, 0))`, legend: '{{resource}} shortage' },
        ],
        { perResourceUnits: true, description: 'Against the allocation the policy decided (the recommended target, foresight_allocation), not necessarily the value the actuator keeps in force. Slack: allocated but unused. Shortage: used beyond the allocation (ForesightAllocationShortage compares with the recommended target too).' },
      ),
    )
    .withPanel(
      timeseries(
        'Slack share of the allocation',
        'percentunit',
        [{ expr: `sum by (resource) (clamp_min(${one(`foresight_allocation{${J}, ${R}}`)} - ${one(`foresight_usage{${J}, ${R}}`)}, 0)) / sum by (resource) (${one(`foresight_allocation{${J}, ${R}}`)})`, legend: '{{resource}}' }],
        { min: 0 },
      ),
    )

    // ---- Shadow capacity
    .withRow(new RowBuilder('Shadow capacity'))
    .withPanel(
      // every replica exports the desired reserve of its shard, only the shard's leader the reserved one
      timeseries('Pooled reserve: desired, target and reserved', 'short', [{ expr: `sum by (pool, resource, state) (${onePerShard(`foresight_shadow_capacity{${J}}`, 'pool, resource, state')})`, legend: '{{resource}} {{pool}} {{state}}' }], {
        span: 8,
        perResourceUnits: true,
        description: 'Desired: the quantile of the pooled increase the forecast expects, times its calibration. Target: what the placeholders are sized to hold (desired within the configured caps, with the quotas\' headroom). Reserved: what placeholder pods hold (below target when they do not fit).',
      }),
    )
    .withPanel(timeseries('Reserve exhausted', 'short', [{ expr: `sum by (pool) (${onePerShard(`increase(foresight_shadow_exhausted_total{${J}}[$__rate_interval])`, 'pool')})`, legend: '{{pool}}' }], { span: 8, description: 'Materialised increases larger than the reserve (ForesightShadowCapacityExhausted).' }))
    .withPanel(timeseries('Reserve calibration', 'short', [{ expr: `foresight_shadow_reserve_scale{${J}}`, legend: '{{resource}} {{pool}} {{pod}}' }], { span: 8, min: 0, description: 'What each replica multiplies its reserve\'s Monte Carlo quantile by, calibrated on its own plans: above 1 when they were exhausted more often than the level allows (tenants bursting together, forecast tails too light), below 1 when less often. Between 0.25 and 4.' }))

    // ---- Anomalies
    .withRow(new RowBuilder('Anomalies'))
    .withPanel(bars('Highest anomaly scores', 'percentunit', { expr: `topk(10, max by (tenant) (foresight_anomaly_score{${J}}))`, legend: '{{tenant}}' }, { min: 0, max: 1 }))
    .withPanel(timeseries('Anomalous tenants', 'short', [{ expr: `sum(${one(`foresight_tenant_anomalous{${J}}`)})`, legend: 'anomalous' }], { min: 0 }))

    // ---- Forecast quality
    .withRow(new RowBuilder('Forecast quality'))
    .withPanel(timeseries('Relative error of the median (MAE / mean usage)', 'percentunit', [{ expr: `foresight_forecast_error{${J}}`, legend: '{{model}} {{horizon}} {{pod}}' }], { span: 8, min: 0, description: 'One line per replica (pod): each replica scores the forecasts it issued.' }))
    .withPanel(timeseries('Coverage of the quantiles', 'percentunit', [{ expr: `foresight_forecast_coverage_ratio{${J}, horizon="$horizon"}`, legend: '{{model}} q{{quantile}} {{pod}}' }], { span: 8, min: 0, max: 1, description: 'Share of actuals at or below each quantile: 0.9 should sit near 90%. One line per replica (pod).' }))
    .withPanel(timeseries('Series per chosen model', 'short', [{ expr: `sum by (model) (${onePerShard(`foresight_model_chosen{${J}, horizon="$horizon"}`, 'model')})`, legend: '{{model}}' }], { span: 8, stack: true }))

    // ---- Resources Kubernetes cannot limit per tenant (issue 7): forecast against the configured limit.
    .withRow(new RowBuilder('Resources without a Kubernetes knob'))
    .withPanel(
      bars(
        'Forecast p90 against the configured limit',
        'percentunit',
        { expr: `topk(10, max without (${REPLICA_LABELS}, horizon, quantile) (foresight_forecast{${J}, quantile="0.9"}) / on (job, tenant, resource) (${one(`foresight_resource_limit{${J}}`)} > 0))`, legend: '{{resource}} {{tenant}}' },
        { min: 0, description: 'Disk I/O, file descriptors, threads: Foresight forecasts and alerts (ForesightResourceForecastExceedsLimit) but cannot enforce.' },
      ),
    )

    // ---- Actuator
    .withRow(new RowBuilder('Actuator'))
    .withPanel(timeseries('Changes made (or, in dry-run, planned)', 'cps', [{ expr: `sum by (kind, outcome) (rate(foresight_actions_total{${J}}[$__rate_interval]))`, legend: '{{kind}} {{outcome}}' }]))
    .withPanel(timeseries('Kubernetes API errors', 'cps', [{ expr: `sum by (operation, code) (rate(foresight_kube_errors_total{${J}}[$__rate_interval]))`, legend: '{{operation}} {{code}}' }]))
    // what the safety gate held back (a change waiting for a token is held at every cycle): budget holds on raises
    // mean targets kept below their recent peak
    .withPanel(timeseries('Changes held back by the safety gate', 'cps', [{ expr: `sum by (kind, reason) (rate(foresight_actuator_holds_total{${J}}[$__rate_interval]))`, legend: '{{kind}} {{reason}}' }]))
    .withPanel(timeseries('Core restarts and dropped series', 'short', [
      { expr: `sum(increase(foresight_core_restarts_total{${J}}[$__rate_interval]))`, legend: 'WASM core restarts' },
      // every replica of a shard drops the same tenants' series: count them once per shard
      { expr: `sum by (reason) (${onePerShard(`increase(foresight_series_dropped_total{${J}}[$__rate_interval])`, 'reason')})`, legend: 'dropped: {{reason}}' },
    ]));
  return finish(b);
}
