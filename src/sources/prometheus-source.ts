// HistorySource backed by Prometheus: renders each signal's PromQL template, pulls it for all tenants in chunks, and
// returns the per-tenant series (breakdown signals also give a per-tenant total to forecast).
import type { PrometheusDriver } from 'prometheus-query';
import type { Series } from '../model/series.js';
import type { BreakdownSeries, HistorySource, PullRange, PullResult, SignalCoverage, SignalSpec, UsageSplit, WorkloadPart, WorkloadUsage } from './history-source.js';
import { kubeStateMetrics, perContainer } from './default-signals.js';
import type { PrometheusConnection } from './prometheus-connection.js';
import { createPrometheusDriver, queryRangeSeries, type RangeQuerier } from './prometheus-range.js';
import { checkLabelName, isLabelName, labelSetMatcher } from './promql-escape.js';
import { promDurationSeconds } from './promql-duration.js';

export interface PrometheusSourceOptions {
  url: string;
  signals: readonly SignalSpec[];
  tenantLabel: string;
  /** Rate window in PromQL duration syntax (e.g. 5m). */
  rateWindow: string;
  /** Tenants to leave out (exact names), e.g. kube-system. */
  excludeTenants?: readonly string[];
  /** When non-empty, only these tenants. */
  includeTenants?: readonly string[];
  timeoutMs?: number;
  maxPointsPerRequest?: number;
  /** Samples (series x points) per request at most (prometheus-range.ts MAX_SAMPLES_PER_REQUEST by default). */
  maxSamplesPerRequest?: number;
  /** Only these tenants are kept (a shard's own: src/model/shard.ts); the others are dropped while parsing. */
  keepTenant?: (tenant: string) => boolean;
  /** Credentials, headers and TLS of the link (prometheus-connection.ts). */
  connection?: Omit<PrometheusConnection, 'url' | 'timeoutMs'>;
  /** Injected querier (tests); default a prometheus-query driver. */
  querier?: RangeQuerier;
}

/**
 * Each tenant's usage split by container over the last hour (cAdvisor), for the VPA recommender's container split:
 * one sample per tenant and container, asked for once per profile period. Pod-cgroup and pause-container series are
 * left out, and a container scraped twice counted once, as in the signals (default-signals.ts).
 */
const USAGE_LAST_HOUR: Readonly<Record<string, string>> = {
  cpu: perContainer('container_cpu_usage_seconds_total', (sel) => `rate(${sel}[1h])`),
  memory: perContainer('container_memory_working_set_bytes', (sel) => `avg_over_time(${sel}[1h])`),
};

/**
 * Each pod's workload (kube-state-metrics): the owner of a pod, and for a ReplicaSet its name without the pod-template
 * hash (the Deployment's name); one workload per pod.
 */
export const POD_WORKLOAD = `topk by (namespace, pod) (1, max by (namespace, pod, workload) (label_replace(${kubeStateMetrics('kube_pod_owner{owner_kind="ReplicaSet"}')}, "workload", "$1", "owner_name", "(.*)-[^-]+") or label_replace(${kubeStateMetrics('kube_pod_owner{owner_kind!="ReplicaSet"}')}, "workload", "$1", "owner_name", "(.*)")))`;

export const CONTAINER_SHARE_QUERIES: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(USAGE_LAST_HOUR).map(([r, usage]) => [r, `sum by ({{tenant}}, container) (${usage})`]),
);

/** By workload and container, and each workload's running pods (joined on POD_WORKLOAD). */
export const WORKLOAD_QUERIES: Readonly<Record<string, string>> = {
  ...Object.fromEntries(Object.entries(USAGE_LAST_HOUR).map(([r, usage]) => [r, `sum by ({{tenant}}, workload, container) (${usage} * on (namespace, pod) group_left (workload) ${POD_WORKLOAD})`])),
  pods: `sum by ({{tenant}}, workload) (max by ({{tenant}}, namespace, pod) (${kubeStateMetrics('kube_pod_status_phase{phase="Running"}')}) * on (namespace, pod) group_left (workload) ${POD_WORKLOAD})`,
};

/** Renders a signal template: tenant label, rate window and the escaped include/exclude matchers. */
export function renderQuery(template: string, o: Pick<PrometheusSourceOptions, 'tenantLabel' | 'rateWindow' | 'excludeTenants' | 'includeTenants'>): string {
  const label = checkLabelName(o.tenantLabel);
  if (!(promDurationSeconds(o.rateWindow) > 0)) throw new Error(`invalid rate window "${o.rateWindow}"`);
  const matchers = [labelSetMatcher(label, o.includeTenants ?? [], '=~'), labelSetMatcher(label, o.excludeTenants ?? [], '!~')].filter(Boolean);
  const filter = matchers.map((m) => `,${m}`).join('');
  // each grouping label once: `by ({{tenant}}, namespace, pod)` with the tenant label namespace (PromQL takes the
  // label twice, but a logged query would read as a mistake); before the filter, whose tenant names are never touched
  const grouped = template.replaceAll('{{tenant}}', () => label).replace(/\b(by|without)\s*\(([^()]*)\)/g, (m, kw: string, list: string) => {
    const names = list.split(',').map((t) => t.trim());
    return names.every(isLabelName) && new Set(names).size < names.length ? `${kw} (${[...new Set(names)].join(', ')})` : m;
  });
  // replacer functions: a replacement string would expand $`, $' and $& found in an escaped tenant name
  return grouped.replaceAll('{{window}}', () => o.rateWindow).replaceAll('{{filter}}', () => filter);
}

/**
 * Which tenants a source keeps: those in `includeTenants` (when given), not in `excludeTenants`, and kept by the
 * shard's `keepTenant`. The rendered `{{filter}}` asks Prometheus for the same tenants; this is the guarantee for a
 * query (e.g. an override) that does not use it.
 */
export function tenantFilter(o: Pick<PrometheusSourceOptions, 'includeTenants' | 'excludeTenants' | 'keepTenant'>): (tenant: string) => boolean {
  const include = o.includeTenants?.length ? new Set(o.includeTenants) : undefined;
  const exclude = new Set(o.excludeTenants ?? []);
  const shard = o.keepTenant;
  return (t) => (!include || include.has(t)) && !exclude.has(t) && (!shard || shard(t));
}

export class PrometheusSource implements HistorySource {
  readonly origin: string;
  readonly signals: readonly SignalSpec[];
  readonly #q: RangeQuerier;
  readonly #o: PrometheusSourceOptions;
  readonly #queries: Map<string, string>;
  /** The include/exclude lists and the shard's filter, applied while parsing (an overridden query may lack {{filter}}). */
  readonly #keep: (tenant: string) => boolean;
  /** Series each signal's query returned last time: sizes the next pull's chunks without a probe. */
  readonly #seen = new Map<string, number>();
  /** Aborted by close(): a pull in flight at shutdown ends at once instead of after its timeout. */
  readonly #closed = new AbortController();

  constructor(o: PrometheusSourceOptions) {
    this.origin = o.url;
    this.signals = o.signals;
    this.#o = o;
    this.#q = o.querier ?? (createPrometheusDriver({ ...o.connection, url: o.url, timeoutMs: o.timeoutMs, signal: this.#closed.signal }) as PrometheusDriver as unknown as RangeQuerier);
    this.#queries = new Map(o.signals.map((s) => [s.resource, renderQuery(s.query, o)]));
    this.#keep = tenantFilter(o);
  }

  /** Aborts the requests in flight; later pulls fail at once. */
  close(): Promise<void> {
    this.#closed.abort();
    return Promise.resolve();
  }

  /** Per resource, one query by container and one by workload and container, and one of the workloads' running pods
   *  for all of them. */
  async usageSplit(resources: readonly string[], atS: number): Promise<Map<string, UsageSplit>> {
    const out = new Map<string, UsageSplit>();
    let pods: Map<string, Record<string, number>> | undefined;
    for (const resource of resources) {
      if (!CONTAINER_SHARE_QUERIES[resource]) continue;
      const byContainer = await this.#instant(CONTAINER_SHARE_QUERIES[resource], resource, atS, ['container']);
      const byWorkload = await this.#instant(WORKLOAD_QUERIES[resource], resource, atS, ['workload', 'container']);
      pods ??= await this.#instant(WORKLOAD_QUERIES.pods, 'pods', atS, ['workload']);
      const containers = new Map([...byContainer].map(([tenant, parts]) => [tenant, shares(parts)]));
      out.set(resource, { containers, workloads: workloadUsage(byWorkload, byContainer, pods) });
    }
    return out;
  }

  /** One instant of a query broken down by `by`: per tenant, each breakdown key's positive value. */
  async #instant(template: string, resource: string, atS: number, by: readonly string[]): Promise<Map<string, Record<string, number>>> {
    const t = Math.floor(atS);
    const r = await queryRangeSeries(this.#q, {
      query: renderQuery(template, this.#o),
      startS: t,
      endS: t,
      stepS: 60,
      tenantLabel: this.#o.tenantLabel,
      resource,
      breakdownBy: by,
      keepTenant: this.#keep,
      timeoutMs: this.#o.timeoutMs,
    });
    const out = new Map<string, Record<string, number>>();
    for (const b of r.breakdown) {
      const v = b.values[0];
      if (!(v > 0) || !Number.isFinite(v) || b.type.split(' ').some((part) => part === '')) continue;
      const m = out.get(b.tenant) ?? {};
      m[b.type] = v;
      out.set(b.tenant, m);
    }
    return out;
  }

  /** The rendered PromQL of a signal (for logs and the API). */
  queryOf(resource: string): string | undefined {
    return this.#queries.get(resource);
  }

  async pull(range: PullRange): Promise<PullResult> {
    const series: Series[] = [];
    const breakdown: BreakdownSeries[] = [];
    const failures: PullResult['failures'] = [];
    const coverage: SignalCoverage[] = [];
    const units: Record<string, string> = {};
    const wanted = range.resources ? new Set(range.resources) : undefined;
    const signals = wanted ? this.signals.filter((s) => wanted.has(s.resource)) : this.signals;
    for (const sig of signals) {
      units[sig.resource] = sig.unit;
      try {
        const r = await queryRangeSeries(this.#q, {
          query: this.#queries.get(sig.resource)!,
          startS: range.startS,
          endS: range.endS,
          stepS: range.stepS,
          tenantLabel: this.#o.tenantLabel,
          resource: sig.resource,
          breakdownBy: sig.breakdownBy,
          maxPointsPerRequest: this.#o.maxPointsPerRequest,
          maxSamplesPerRequest: this.#o.maxSamplesPerRequest,
          seriesHint: this.#seen.get(sig.resource),
          keepTenant: this.#keep,
          timeoutMs: this.#o.timeoutMs,
        });
        if (r.seriesSeen > 0) this.#seen.set(sig.resource, r.seriesSeen);
        let tenants = r.set.series.length;
        if (r.breakdown.length) {
          // one total per tenant: its series by type, and a series that lacks the breakdown labels (a client
          // library that sets no route) counts in its tenant's total, not beside it as a second series of the
          // same tenant that the store would write over the first
          breakdown.push(...r.breakdown);
          const t = totals([...r.breakdown, ...r.set.series]);
          series.push(...t);
          tenants = t.length;
        } else series.push(...r.set.series);
        coverage.push(tenants > 0 ? { resource: sig.resource, tenants, series: r.seriesSeen } : { resource: sig.resource, tenants, series: r.seriesSeen, why: this.#whyNoTenant(r.seriesSeen, r.unlabelled) });
      } catch (e) {
        failures.push({ resource: sig.resource, error: e as Error });
      }
    }
    if (failures.length === signals.length && failures.length > 0) throw failures[0].error;
    return { set: { origin: this.origin, intervalS: range.stepS, series, units }, breakdown, failures, coverage };
  }

  #whyNoTenant(seriesSeen: number, unlabelled: number): string {
    if (seriesSeen === 0) return 'the query returned no series (is the metric scraped? FORESIGHT_QUERY_<SIGNAL> overrides the query, FORESIGHT_SIGNALS leaves a signal out)';
    if (unlabelled >= seriesSeen) return `the query returned ${seriesSeen} series without a "${this.#o.tenantLabel}" label (the tenant label: FORESIGHT_TENANT_LABEL; the query must keep it, e.g. sum by (${this.#o.tenantLabel}))`;
    return `the query returned ${seriesSeen} series, none of a tenant this replica keeps (includeTenants, excludeTenants, shard)`;
  }
}

/** Sums breakdown series into one series per tenant (NaN only where every part is NaN). */
export function totals(parts: ReadonlyArray<Omit<BreakdownSeries, 'type'>>): Series[] {
  const by = new Map<string, Series>();
  for (const p of parts) {
    let s = by.get(p.tenant);
    if (!s) {
      s = { tenant: p.tenant, resource: p.resource, startS: p.startS, intervalS: p.intervalS, values: new Float64Array(p.values.length).fill(NaN) };
      by.set(p.tenant, s);
    }
    for (let i = 0; i < p.values.length; i++) {
      const v = p.values[i];
      if (!Number.isNaN(v)) s.values[i] = Number.isNaN(s.values[i]) ? v : s.values[i] + v;
    }
  }
  return [...by.values()];
}

/**
 * Each tenant's workloads from the usage by "workload container", with their share of the tenant's usage (its sum by
 * container) and their running pods; a workload without a running pod or without usage is left out.
 */
function workloadUsage(byWorkload: Map<string, Record<string, number>>, byContainer: Map<string, Record<string, number>>, pods: Map<string, Record<string, number>>): WorkloadUsage {
  const out: WorkloadUsage = new Map();
  for (const [tenant, parts] of byWorkload) {
    const total = Object.values(byContainer.get(tenant) ?? {}).reduce((s, v) => s + v, 0);
    if (!(total > 0)) continue;
    const perWorkload = new Map<string, Record<string, number>>();
    for (const [key, v] of Object.entries(parts)) {
      const cut = key.indexOf(' ');
      const m = perWorkload.get(key.slice(0, cut)) ?? {};
      m[key.slice(cut + 1)] = v;
      perWorkload.set(key.slice(0, cut), m);
    }
    const rec: Record<string, WorkloadPart> = {};
    for (const [workload, containers] of perWorkload) {
      const n = pods.get(tenant)?.[workload] ?? 0;
      const sum = Object.values(containers).reduce((s, v) => s + v, 0);
      if (n >= 1 && sum > 0) rec[workload] = { share: Math.min(1, sum / total), pods: Math.round(n), containers: shares(containers) };
    }
    if (Object.keys(rec).length) out.set(tenant, rec);
  }
  return out;
}

/** Values as shares of their sum. */
function shares(parts: Record<string, number>): Record<string, number> {
  const total = Object.values(parts).reduce((s, v) => s + v, 0);
  return Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, v / total]));
}
