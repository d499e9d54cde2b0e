// Shared building blocks for Foresight's Grafana dashboards (grafana-foundation-sdk): datasource and query variables,
// panels that always carry a unit, per-resource units, and stable panel ids.
import { ReduceDataOptionsBuilder, VizLegendOptionsBuilder, LegendDisplayMode, LegendPlacement, BigValueGraphMode, BigValueColorMode, StackingConfigBuilder, StackingMode, VizOrientation } from '@grafana/grafana-foundation-sdk/common';
import type { Dashboard, DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { DatasourceVariableBuilder, QueryVariableBuilder, VariableRefresh, VariableSort } from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as TimeseriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import { PanelBuilder as StatBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as BarGaugeBuilder } from '@grafana/grafana-foundation-sdk/bargauge';

/** Every panel and variable queries the Prometheus chosen in the `datasource` variable. */
export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

/** Scrape job of the sidecar, as the alerts assume it (alerts/foresight.rules.yaml). */
export const JOB_SELECTOR = 'job="$job"';

/**
 * Target labels that tell replicas apart: `instance`, and `pod` where the Prometheus Operator scrapes (deploy/monitoring/).
 * Replicas of one Foresight (the two of deploy/deployment.yaml, or the replicas of one shard) each export every tenant
 * series of their shard, so a sum, count or top-k over raw tenant series counts each tenant once per replica.
 */
export const REPLICA_LABELS = 'instance, pod';

/**
 * One series per tenant series, whatever the number of replicas: replicas of a shard forecast the same tenants from
 * the same data, so `max` keeps their (equal) value; shards own disjoint tenants, so no two shards' series merge.
 */
export function oneReplica(expr: string): string {
  return `max without (${REPLICA_LABELS}) (${expr})`;
}

/**
 * A per-replica series that is not per tenant (the pooled reserve, exhaustion counts, series per model), once per
 * shard: the replicas of a shard report the same figure for the same tenants, while different shards each report their
 * own share, so replicas collapse by `shard` (joined from foresight_shard_info, "0" when unsharded) and the caller sums
 * over shards. `labels` are the labels to keep.
 */
export function onePerShard(expr: string, labels: string): string {
  return `max by (job, shard, ${labels}) (${expr} * on (job, instance) group_left (shard) foresight_shard_info{${JOB_SELECTOR}})`;
}

/**
 * Grafana unit of each resource Foresight forecasts (src/sources/default-signals.ts): the base unit of its metrics.
 * CPU is in cores; Grafana has no "cores" unit, so it is `short` with the axis labelled.
 */
export const RESOURCE_UNITS: Readonly<Record<string, string>> = {
  cpu: 'short',
  memory: 'bytes',
  pods: 'short',
  ephemeral_storage: 'bytes',
  disk_read: 'Bps',
  disk_write: 'Bps',
  network_rx: 'Bps',
  network_tx: 'Bps',
  threads: 'short',
  fds: 'short',
  api_calls: 'reqps',
  file_ops: 'iops',
  db_queries: 'ops',
};

export interface Query {
  expr: string;
  legend: string;
  /** Instant query (stat and bar gauge panels). */
  instant?: boolean;
}

export interface PanelOpts {
  description?: string;
  /** Width in grid columns (24 = full width). */
  span?: number;
  height?: number;
  min?: number;
  max?: number;
  /** Series whose legend starts with a resource name get that resource's unit (panels mixing resources). */
  perResourceUnits?: boolean;
  axisLabel?: string;
  stack?: boolean;
}

function target(q: Query, i: number): DataqueryBuilder {
  const b = new DataqueryBuilder().expr(q.expr).legendFormat(q.legend).refId(String.fromCharCode(65 + i)).datasource(DATASOURCE);
  return q.instant ? b.instant() : b.range();
}

/** Field overrides giving each resource's series its unit, matched on the legend ("<resource> ..."). */
function withResourceUnits<T extends { overrideByRegexp(re: string, props: Array<{ id: string; value?: unknown }>): T }>(p: T): T {
  const byUnit = new Map<string, string[]>();
  for (const [res, unit] of Object.entries(RESOURCE_UNITS)) {
    if (unit === 'short') continue; // the panel default
    byUnit.set(unit, [...(byUnit.get(unit) ?? []), res]);
  }
  let out = p;
  for (const [unit, resources] of byUnit) out = out.overrideByRegexp(`^(${resources.join('|')})\\b.*`, [{ id: 'unit', value: unit }]);
  return out;
}

export function timeseries(title: string, unit: string, queries: Query[], o: PanelOpts = {}): TimeseriesBuilder {
  let p = new TimeseriesBuilder()
    .title(title)
    .datasource(DATASOURCE)
    .unit(unit)
    .span(o.span ?? 12)
    .height(o.height ?? 8)
    .lineWidth(1)
    .fillOpacity(o.stack ? 30 : 5)
    .legend(new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom).calcs([]));
  if (o.description) p = p.description(o.description);
  if (o.min !== undefined) p = p.min(o.min);
  if (o.max !== undefined) p = p.max(o.max);
  if (o.axisLabel) p = p.axisLabel(o.axisLabel);
  if (o.stack) p = p.stacking(new StackingConfigBuilder().mode(StackingMode.Normal));
  if (o.perResourceUnits) p = withResourceUnits(p);
  queries.forEach((q, i) => {
    p = p.withTarget(target(q, i));
  });
  return p;
}

export function stat(title: string, unit: string, query: Query | Query[], o: PanelOpts = {}): StatBuilder {
  let p = new StatBuilder()
    .title(title)
    .datasource(DATASOURCE)
    .unit(unit)
    .span(o.span ?? 4)
    .height(o.height ?? 4)
    .graphMode(BigValueGraphMode.None)
    .colorMode(BigValueColorMode.Value)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false));
  (Array.isArray(query) ? query : [query]).forEach((q, i) => (p = p.withTarget(target({ ...q, instant: true }, i))));
  if (o.description) p = p.description(o.description);
  if (o.min !== undefined) p = p.min(o.min);
  if (o.max !== undefined) p = p.max(o.max);
  return p;
}

/** Horizontal bars of the latest value per series (top-k lists). */
export function bars(title: string, unit: string, query: Query, o: PanelOpts = {}): BarGaugeBuilder {
  let p = new BarGaugeBuilder()
    .title(title)
    .datasource(DATASOURCE)
    .unit(unit)
    .span(o.span ?? 12)
    .height(o.height ?? 8)
    .orientation(VizOrientation.Horizontal)
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .withTarget(target({ ...query, instant: true }, 0));
  if (o.description) p = p.description(o.description);
  if (o.min !== undefined) p = p.min(o.min);
  if (o.max !== undefined) p = p.max(o.max);
  if (o.perResourceUnits) p = withResourceUnits(p);
  return p;
}

export function datasourceVariable(): DatasourceVariableBuilder {
  return new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus');
}

/** A single-valued variable from `label_values(<selector>, <label>)`, refreshed with the time range. */
export function labelVariable(name: string, label: string, metricSelector: string, labelName: string): QueryVariableBuilder {
  const q = `label_values(${metricSelector}, ${labelName})`;
  return new QueryVariableBuilder(name)
    .label(label)
    .datasource(DATASOURCE)
    .query({ query: q, refId: `${name}-variable` })
    .definition(q)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(false)
    .includeAll(false);
}

export function jobVariable(): QueryVariableBuilder {
  return labelVariable('job', 'Job', 'foresight_tenants', 'job');
}

/** Builds the dashboard and numbers its panels 1..n in layout order, so that panel ids (and links to them) are stable. */
export function finish(b: DashboardBuilder): Dashboard {
  const d = b.build();
  let id = 1;
  for (const p of d.panels ?? []) {
    p.id = id++;
    if ('panels' in p && Array.isArray(p.panels)) for (const inner of p.panels) inner.id = id++;
  }
  return d;
}
