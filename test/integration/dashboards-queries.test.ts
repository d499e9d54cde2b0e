// Runs every dashboard query against a real Prometheus that scrapes the project's workload exporter and the real
// Foresight sidecar (pulling its histories from that same Prometheus, its actuator in dry-run against a real
// kube-apiserver): each query, with its template variables resolved from Prometheus as Grafana would, must parse and
// return data. The same Prometheus loads the alert rules, which must all evaluate without error.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithBinaries } from '../helpers/binaries.js';
import { startKubeEnv, type KubeEnv, type KubeEnvBinaries } from '../helpers/kube-env.js';
import { pino } from 'pino';
import { freePort, startPrometheus, type PrometheusInstance } from '../helpers/prometheus.js';
import { startWorkloadExporter, type WorkloadExporter } from '../helpers/workload-exporter.js';
import { loadConfig } from '../../src/config/load.js';
import { startSidecar, type Sidecar } from '../../src/main.js';
import {
  allPanels,
  dashboardFiles,
  loadAlertRules,
  loadDashboard,
  metricNames,
  parseLabelValues,
  ROOT,
  RULES_FILE,
  substitute,
  usedVariables,
  variableQuery,
  type GrafanaDashboard,
} from '../artifacts/promql.js';
import { FAST_GRID_ENV } from '../helpers/sidecar-env.js';

const SCRAPE_S = 1;
/** Grafana's built-ins for a 1 s scrape interval: $__rate_interval = max(4 x scrape, interval + scrape), rounded up. */
const BUILTINS = { __rate_interval: '10s', __interval: '2s', __range: '5m', __range_s: '300' };

/**
 * Metrics the dashboards chart that no component exports in this environment, each with the reason. Their queries
 * must still parse; "returns data" is reported as skipped for them, and a test fails once a series appears, so that
 * the entry is removed.
 */
const NOT_EXPORTED_HERE: Readonly<Record<string, string>> = {
  foresight_profile_seasonality_ratio: 'absent until the profile window holds a day (src/model/profile.ts); the test runs for minutes',
};

/** The sidecar on a fast grid: 1 s samples, horizons of 5/15/30 s, frequent refits and profiles, every default signal. */
const SIDECAR_ENV = {
  ...FAST_GRID_ENV,
  FORESIGHT_STALE_AFTER: '10',
  FORESIGHT_RETRAIN_EVERY: '20',
  FORESIGHT_LOG_LEVEL: 'silent',
  // limits of resources without a knob, so that foresight_resource_limit has series
  FORESIGHT_LIMIT_FDS: '100000',
  FORESIGHT_LIMIT_THREADS: '10000',
  FORESIGHT_LIMIT_DISK_READ: '1e9',
  FORESIGHT_LIMIT_DISK_WRITE: '1e9',
  // the actuator, dry-run, against the test's kube-apiserver as the ServiceAccount of deploy/ (KUBECONFIG set below)
  FORESIGHT_KUBERNETES: 'true',
  FORESIGHT_ACTUATOR_DRY_RUN: 'true',
  FORESIGHT_ACTUATOR_IDENTITY: 'dashboards-test',
};

const TENANTS = ['shop', 'payments', 'search', 'batch-etl'];

/** A kubeconfig for the actuator's ServiceAccount token (what an in-cluster pod would have). */
function writeKubeconfig(dir: string, env: KubeEnv): string {
  const conn = env.actuatorConnection;
  const path = join(dir, 'kubeconfig');
  const caData = (typeof conn.ca === 'object' ? conn.ca : Buffer.from(conn.ca ?? env.ca)).toString('base64');
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: test\n  cluster:\n    server: ${JSON.stringify(conn.server)}\n    certificate-authority-data: ${caData}`,
      'users:',
      `- name: foresight\n  user:\n    token: ${JSON.stringify(conn.token ?? '')}`,
      'contexts:',
      '- name: test\n  context:\n    cluster: test\n    user: foresight',
      'current-context: test',
      '',
    ].join('\n'),
  );
  return path;
}

/** One VPA served by Foresight per tenant namespace, so that the dry-run actuator plans (and counts) changes. */
function vpaYaml(ns: string): string {
  return [
    'apiVersion: autoscaling.k8s.io/v1',
    'kind: VerticalPodAutoscaler',
    `metadata: { name: app, namespace: ${JSON.stringify(ns)} }`,
    'spec:',
    '  targetRef: { apiVersion: apps/v1, kind: Deployment, name: app }',
    '  recommenders: [{ name: foresight }]',
    '  resourcePolicy: { containerPolicies: [{ containerName: app }] }',
    '',
  ].join('\n');
}

/** Series that must exist before the queries run (each a separate wait, so that a timeout names what is missing). */
const READY_WHEN = [
  'foresight_usage{job="foresight"}',
  'foresight_recommendation{job="foresight", bound="target"}',
  // the shortest horizon's `offset` reaches back to forecasts made 5 s ago
  'foresight_forecast{job="foresight", horizon="5s"} offset 5s',
  'foresight_forecast_error{job="foresight"}',
  'foresight_forecast_coverage_ratio{job="foresight"}',
  'foresight_model_chosen{job="foresight"}',
  'foresight_profile_level{job="foresight"}',
  'foresight_profile_api_call_ratio{job="foresight"}',
  'foresight_anomaly_score{job="foresight"}',
  'foresight_tenant_anomalous{job="foresight"}',
  // the loop's pooled reserve (state="desired"); the dry-run actuator reserves nothing, so there is no state="reserved"
  'foresight_shadow_capacity{job="foresight", state="desired"}',
  'foresight_leader{job="foresight"} == 1',
  'foresight_actions_total{job="foresight", kind="vpa"}',
  // the first `get` of the leader Lease answers 404 before the actuator creates it, and the actuator counts it
  'foresight_kube_errors_total{job="foresight", operation="get leases", code="404"}',
  // two scrapes of the loop's counters and histogram inside the 10 s rate window (the rate may be 0 on a loaded
  // machine where a cycle takes longer than 10 s; the panels only need the series)
  'rate(foresight_cycles_total{job="foresight", outcome="success"}[10s])',
  'rate(foresight_loop_step_duration_seconds_count{job="foresight"}[10s])',
];

interface PromResult {
  status: string;
  error?: string;
  data?: { resultType: string; result: unknown[] };
}

async function api(prom: PrometheusInstance, path: string, params: Record<string, string>): Promise<PromResult> {
  const res = await fetch(`${prom.url}${path}`, { method: 'POST', body: new URLSearchParams(params) });
  return (await res.json()) as PromResult;
}

/** Values Grafana would offer for `label_values(selector, label)`, sorted; variables already substituted. */
async function labelValues(prom: PrometheusInstance, selector: string, label: string): Promise<string[]> {
  const r = await api(prom, '/api/v1/series', { 'match[]': selector, start: String(Date.now() / 1000 - 600) });
  if (r.status !== 'success') throw new Error(`series ${selector}: ${r.error}`);
  const vals = new Set<string>();
  for (const s of r.data as unknown as Array<Record<string, string>>) if (s[label] !== undefined) vals.add(s[label]);
  return [...vals].sort();
}

/** Preferred value per variable when Prometheus offers several (the first otherwise). */
const PREFERRED: Record<string, (vals: string[]) => string | undefined> = {
  job: (v) => v.find((x) => x === 'foresight'),
  resource: (v) => v.find((x) => x === 'cpu'),
  // the shortest horizon: its `offset` reaches back least far, so the forecast already existed then
  horizon: (v) => [...v].sort((a, b) => durationS(a) - durationS(b))[0],
};

function durationS(d: string): number {
  const m = /^(\d+)(s|m|h)$/.exec(d);
  return m ? Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'] : Number.POSITIVE_INFINITY;
}

/** Resolves a dashboard's query variables in order, each from the values of those before it. */
async function resolveVariables(prom: PrometheusInstance, d: GrafanaDashboard): Promise<Record<string, string>> {
  const values: Record<string, string> = {};
  for (const v of d.templating.list) {
    if (v.type !== 'query') continue;
    const lv = parseLabelValues(variableQuery(v) ?? '');
    if (!lv) throw new Error(`variable ${v.name}: not label_values(...)`);
    const options = await labelValues(prom, substitute(lv.selector, values, BUILTINS), lv.label);
    if (options.length === 0) throw new Error(`variable ${v.name}: label_values(${lv.selector}, ${lv.label}) offers nothing`);
    values[v.name] = PREFERRED[v.name]?.(options) ?? options[0];
  }
  return values;
}

describeWithBinaries('dashboard queries against a real Prometheus fed by Foresight and the workload exporter', ['prometheus', 'kube-apiserver', 'etcd', 'openssl'], (bins) => {
  let prom: PrometheusInstance;
  let workload: WorkloadExporter;
  let sidecar: Sidecar;
  let kube: KubeEnv;
  const dir = mkdtempSync(join(tmpdir(), 'foresight-dashboards-'));

  beforeAll(async () => {
    const started = Date.now();
    kube = await startKubeEnv(bins as unknown as KubeEnvBinaries);
    for (const ns of TENANTS) {
      await kube.createNamespace(ns);
      await kube.apply(vpaYaml(ns));
    }
    process.env.KUBECONFIG = writeKubeconfig(dir, kube);
    workload = await startWorkloadExporter({ tenants: TENANTS.map((namespace, i) => ({ namespace, cpuCores: 0.25 * (i + 1), memoryBytes: (128 + 64 * i) * 1024 * 1024, requestsPerS: 10 * (i + 1) })), speed: 1440 });
    prom = await startPrometheus({
      scrapeIntervalS: SCRAPE_S,
      targets: [{ job: 'workload', address: workload.address }],
      ruleFiles: [fileURLToPath(new URL(RULES_FILE, ROOT))],
    });
    await prom.waitForTargetsUp();
    await prom.waitFor('rate(container_cpu_usage_seconds_total[4s])'); // samples for rate() before the first pull
    const port = await freePort();
    const config = loadConfig({ env: { ...SIDECAR_ENV, FORESIGHT_PORT: String(port), FORESIGHT_PROMETHEUS_URL: prom.url } });
    // a container's memory limit (this machine runs the test outside one), so that foresight_memory_limit_bytes is set
    sidecar = await startSidecar(config, { logger: pino({ level: 'silent' }), memoryLimit: () => 64 * 2 ** 30 });
    await prom.addTarget({ job: 'foresight', address: `127.0.0.1:${port}` });
    await prom.waitForTargetsUp();
    for (const expr of READY_WHEN) await prom.waitFor(expr, (r) => r.length > 0, 150_000);
    console.info(`dashboards-queries: workload exporter, Prometheus and Foresight have data after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 480_000);

  afterAll(async () => {
    await sidecar?.close();
    await prom?.destroy();
    await workload?.stop();
    await kube?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('warns at start-up when the actuator runs without the signal of running pods its VPA recommendations divide by', async () => {
    const said: string[] = [];
    const capture = pino({ level: 'warn' }, { write: (line: string) => void said.push(JSON.parse(line).msg) });
    for (const signals of ['cpu,memory', 'cpu,memory,pods']) {
      said.length = 0;
      const env: Record<string, string> = { ...SIDECAR_ENV, FORESIGHT_PROMETHEUS_URL: prom.url, FORESIGHT_SIGNALS: signals };
      for (const k of Object.keys(env)) if (k.startsWith('FORESIGHT_LIMIT_')) delete env[k]; // limits of signals left out
      const config = loadConfig({ env });
      const s = await startSidecar(config, { logger: capture, noListen: true, noSchedule: true });
      await s.close();
      const warned = said.some((m) => /the signal pods is not pulled: VPA recommendations are per pod/.test(m));
      expect(warned, `${signals}: ${said.join(' | ')}`).toBe(signals === 'cpu,memory');
    }
  });

  it('loads every alert rule and evaluates each without error', async () => {
    const r = (await (await fetch(`${prom.url}/api/v1/rules`)).json()) as {
      data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string; lastEvaluation: string; state?: string }> }> };
    };
    const rules = r.data.groups.flatMap((g) => g.rules);
    expect(rules.map((x) => x.name).sort()).toEqual(loadAlertRules().map((x) => x.alert).sort());
    for (const rule of rules) {
      expect(rule.health, `${rule.name}: ${rule.lastError ?? ''}`).toBe('ok');
      expect(Date.parse(rule.lastEvaluation), `${rule.name} evaluated`).toBeGreaterThan(Date.parse('2020-01-01'));
    }
    // For the record (not asserted: real data decides): which alerts the live sidecar's metrics trigger.
    console.info(`dashboards-queries: alert states ${rules.map((x) => `${x.name}=${x.state ?? '?'}`).join(', ')}`);
  });

  it('lists as not exported only metrics that indeed have no series here', async () => {
    for (const m of Object.keys(NOT_EXPORTED_HERE)) {
      const r = await prom.query(`count(${m})`);
      expect(r, `${m} now has series: remove it from NOT_EXPORTED_HERE`).toEqual([]);
    }
  });

  for (const file of dashboardFiles()) {
    const d = loadDashboard(file);
    it(`${file}: resolves every template variable from Prometheus`, async () => {
      const values = await resolveVariables(prom, d);
      for (const v of d.templating.list.filter((x) => x.type === 'query')) expect(values[v.name], v.name).toMatch(/\S/);
    });

    for (const p of allPanels(d)) {
      for (const t of p.targets ?? []) {
        const expr = t.expr ?? '';
        const missing = metricNames(expr).filter((m) => m in NOT_EXPORTED_HERE);
        const title = `${file}: "${p.title}" ${t.refId} parses${missing.length ? '' : ' and returns data'}`;
        it(title, async () => {
          const values = await resolveVariables(prom, d);
          for (const n of usedVariables(expr)) expect(values[n], `$${n}`).toBeDefined();
          const q = substitute(expr, values, BUILTINS);
          const now = Date.now() / 1000;
          const instant = await api(prom, '/api/v1/query', { query: q, time: String(now) });
          expect(instant.status, `${q}: ${instant.error ?? ''}`).toBe('success');
          const range = await api(prom, '/api/v1/query_range', { query: q, start: String(now - 60), end: String(now), step: '2' });
          expect(range.status, `${q}: ${range.error ?? ''}`).toBe('success');
          if (missing.length) {
            console.warn(`dashboards-queries: ${p.title} ${t.refId} not checked for data (${missing.map((m) => `${m}: ${NOT_EXPORTED_HERE[m]}`).join('; ')})`);
            return;
          }
          expect(instant.data!.result.length, `no data now: ${q}`).toBeGreaterThan(0);
          expect(range.data!.result.length, `no data over the last minute: ${q}`).toBeGreaterThan(0);
        });
      }
    }
  }
});
