// The "Foresight / Tenant" drill-down: one tenant's usage against forecast, recommendation and allocation per resource,
// its limits for resources without a Kubernetes knob, its anomaly scores and its behavioural profile.
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { DashboardBuilder, DashboardLinkBuilder, DashboardLinkType, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { datasourceVariable, finish, JOB_SELECTOR as J, jobVariable, labelVariable, oneReplica as one, REPLICA_LABELS, stat, timeseries, type Query } from './common.js';
import { TENANT_UID } from './overview.js';

const T = 'tenant="$tenant"';

// Every query collapses replicas first (`one`, common.ts oneReplica): the shipped Deployment runs two replicas that
// both export the tenant's series, which would otherwise be counted twice and drawn twice.

interface ResourceGroup {
  title: string;
  /** Regex over the `resource` label (names of src/sources/default-signals.ts). */
  resources: string;
  unit: string;
  axisLabel?: string;
  /** No per-tenant Kubernetes knob: show the configured limit instead of claiming an allocation. */
  knobless?: boolean;
}

export const RESOURCE_GROUPS: readonly ResourceGroup[] = [
  { title: 'CPU', resources: 'cpu', unit: 'short', axisLabel: 'cores' },
  { title: 'Memory', resources: 'memory', unit: 'bytes' },
  { title: 'Pods', resources: 'pods', unit: 'short', axisLabel: 'pods' },
  { title: 'Ephemeral storage', resources: 'ephemeral_storage', unit: 'bytes' },
  { title: 'Network', resources: 'network_rx|network_tx', unit: 'Bps' },
  { title: 'Disk I/O', resources: 'disk_read|disk_write', unit: 'Bps', knobless: true },
  { title: 'File descriptors', resources: 'fds', unit: 'short', axisLabel: 'descriptors', knobless: true },
  { title: 'Threads', resources: 'threads', unit: 'short', axisLabel: 'threads', knobless: true },
  { title: 'API calls', resources: 'api_calls', unit: 'reqps' },
  { title: 'File operations', resources: 'file_ops', unit: 'iops' },
  { title: 'Database queries', resources: 'db_queries', unit: 'ops' },
];

function resourceQueries(g: ResourceGroup): Query[] {
  const sel = `${J}, ${T}, resource=~"${g.resources}"`;
  const q: Query[] = [
    { expr: one(`foresight_usage{${sel}}`), legend: '{{resource}} usage' },
    // Drawn at the time it was made for: `offset` by the horizon label, a duration such as 5m.
    { expr: one(`foresight_forecast{${sel}, horizon="$horizon", quantile="0.5"} offset $horizon`), legend: '{{resource}} forecast p50' },
    { expr: one(`foresight_forecast{${sel}, horizon="$horizon", quantile="0.9"} offset $horizon`), legend: '{{resource}} forecast p90' },
    { expr: one(`foresight_recommendation{${sel}, bound="target"}`), legend: '{{resource}} recommended target' },
  ];
  if (g.knobless) q.push({ expr: one(`foresight_resource_limit{${sel}}`), legend: '{{resource}} configured limit' });
  else q.push({ expr: one(`foresight_allocation{${sel}}`), legend: '{{resource}} allocation decided' });
  return q;
}

export function tenantDashboard(): Dashboard {
  let b = new DashboardBuilder('Foresight / Tenant')
    .uid(TENANT_UID)
    .description("One tenant: usage against forecast, recommendation and allocation (or the configured limit where Kubernetes has no knob) per resource, anomaly scores and the behavioural profile.")
    .tags(['foresight'])
    .editable()
    .refresh('30s')
    .time({ from: 'now-6h', to: 'now' })
    .timezone('utc')
    .link(new DashboardLinkBuilder('Overview').type(DashboardLinkType.Dashboards).tags(['foresight']).asDropdown(false).includeVars(true).keepTime(true))
    .withVariable(datasourceVariable())
    .withVariable(jobVariable())
    .withVariable(labelVariable('tenant', 'Tenant', `foresight_usage{${J}}`, 'tenant'))
    .withVariable(labelVariable('horizon', 'Horizon', `foresight_forecast{${J}, ${T}}`, 'horizon'))

    .withRow(new RowBuilder('Status'))
    .withPanel(stat('Anomalous', 'bool', { expr: `max(foresight_tenant_anomalous{${J}, ${T}})`, legend: 'anomalous' }, { description: 'While true and quarantine is on, the tenant is not scaled up proactively.' }))
    .withPanel(stat('Highest anomaly score', 'percentunit', { expr: `max(foresight_anomaly_score{${J}, ${T}})`, legend: 'score' }, { min: 0, max: 1 }))
    .withPanel(stat('Resources forecast', 'short', { expr: `count(${one(`foresight_usage{${J}, ${T}}`)})`, legend: 'resources' }))
    .withPanel(
      stat('Above recommended target', 'short', {
        // Resources whose usage exceeds the target right now (ForesightAllocationShortage fires after 15 minutes).
        expr: `count(${one(`foresight_usage{${J}, ${T}}`)} > ignoring (bound) ${one(`foresight_recommendation{${J}, ${T}, bound="target"}`)}) or vector(0)`,
        legend: 'resources',
      }, { span: 6, description: 'A count of resources: 0 is the healthy state, hence the `or vector(0)`.' }),
    )
    .withPanel(
      stat('Forecast p90 above limit', 'short', {
        expr: `count(max without (${REPLICA_LABELS}, horizon, quantile) (foresight_forecast{${J}, ${T}, quantile="0.9"}) > on (job, tenant, resource) (${one(`foresight_resource_limit{${J}, ${T}}`)} > 0)) or vector(0)`,
        legend: 'resources',
      }, { span: 6, description: 'Resources without a Kubernetes knob whose forecast exceeds the configured limit (ForesightResourceForecastExceedsLimit).' }),
    )
    .withRow(new RowBuilder('Resources (horizon $horizon)'));

  for (const g of RESOURCE_GROUPS) {
    b = b.withPanel(
      timeseries(`${g.title}${g.knobless ? ' (no Kubernetes knob: limit shown)' : ''}`, g.unit, resourceQueries(g), {
        axisLabel: g.axisLabel,
        description: g.knobless
          ? 'Kubernetes has no per-tenant limit for this resource: Foresight forecasts it and alerts against the configured limit instead of enforcing.'
          : undefined,
      }),
    );
  }

  b = b
    .withRow(new RowBuilder('Anomalies'))
    .withPanel(timeseries('Anomaly score by signal', 'percentunit', [{ expr: one(`foresight_anomaly_score{${J}, ${T}}`), legend: '{{signal}} ({{kind}})' }], { min: 0, max: 1, span: 16 }))
    .withPanel(timeseries('Flagged anomalous', 'bool', [{ expr: `max(foresight_tenant_anomalous{${J}, ${T}})`, legend: 'anomalous' }], { min: 0, max: 1, span: 8 }))

    .withRow(new RowBuilder('Behavioural profile'))
    .withPanel(timeseries('Mean level per signal', 'short', [{ expr: one(`foresight_profile_level{${J}, ${T}}`), legend: '{{signal}}' }], { perResourceUnits: true, span: 24 }))
    .withPanel(timeseries('Volatility (coefficient of variation)', 'short', [{ expr: one(`foresight_profile_volatility_ratio{${J}, ${T}}`), legend: '{{signal}}' }], { span: 8, min: 0 }))
    .withPanel(timeseries('Burstiness (p99 / median)', 'short', [{ expr: one(`foresight_profile_burstiness_ratio{${J}, ${T}}`), legend: '{{signal}}' }], { span: 8, min: 0 }))
    .withPanel(timeseries('Seasonality (variance explained)', 'percentunit', [{ expr: one(`foresight_profile_seasonality_ratio{${J}, ${T}}`), legend: '{{signal}} {{season}}' }], { span: 8, min: 0, max: 1 }))
    .withPanel(timeseries('API call mix', 'percentunit', [{ expr: one(`foresight_profile_api_call_ratio{${J}, ${T}}`), legend: '{{type}}' }], { span: 24, min: 0, max: 1, stack: true }));
  return finish(b);
}
