// The dashboards count each tenant once however many replicas export it: a real Prometheus scrapes the same tenant
// series from one replica (job "single") and from two (job "double", as deploy/deployment.yaml runs them: both export
// every tenant, only the leader the reserved shadow capacity), and every panel query must give the same answer for
// both jobs.
import { createServer, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { catalogue, type MetricDef } from '../../src/metrics/catalogue.js';
import { DEFAULT_SIGNALS } from '../../src/sources/default-signals.js';
import { describeWithBinaries } from '../helpers/binaries.js';
import { freePort, startPrometheus, type PrometheusInstance, type PromVectorSample } from '../helpers/prometheus.js';
import { allPanels, dashboardFiles, loadDashboard, substitute } from '../artifacts/promql.js';

/** Label values per label, as the sidecar exports them (horizons of a 1 s grid, so that `offset $horizon` has data). */
const LABEL_VALUES: Readonly<Record<string, readonly string[]>> = {
  tenant: ['shop', 'search'],
  resource: DEFAULT_SIGNALS.map((x) => x.resource),
  horizon: ['5s', '15s'],
  quantile: ['0.5', '0.9'],
  bound: ['target', 'lower', 'upper'],
  model: ['ensemble', 'holt-winters'],
  signal: ['cpu', 'memory'],
  season: ['daily'],
  type: ['read', 'write'],
  pool: ['default'],
  step: ['pull'],
  stage: ['pull'],
  reason: ['tenant_limit'],
  operation: ['get leases'],
  code: ['404'],
  shard: ['0'],
  total_shards: ['1'],
};

/** Per-metric label values where a label name means different things in different metrics. */
const METRIC_LABEL_VALUES: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = {
  foresight_anomaly_score: { kind: ['spike'] },
  foresight_actions_total: { kind: ['vpa'], outcome: ['planned'] },
  foresight_actuator_holds_total: { kind: ['vpa'], reason: ['budget', 'reclaim'] },
  foresight_cycles_total: { outcome: ['success'] },
  // every replica plans the reserve of its shard; only the leader's actuator sizes and holds it (target, reserved)
  foresight_shadow_capacity: { state: ['desired', 'target', 'reserved'] },
};

/** Series a follower replica does not export. */
const LEADER_ONLY = (name: string, labels: Record<string, string>): boolean => name === 'foresight_shadow_capacity' && (labels.state === 'reserved' || labels.state === 'target');

/** Panels (or "<panel> <refId>" queries) that show each replica's own figures by design (not tenant series), with
 *  the reason. */
const PER_REPLICA: Readonly<Record<string, string>> = {
  'Targets up': 'counts the replicas Prometheus scrapes',
  Cycles: "every replica runs its own loop: the total work of the replicas",
  'Errors by stage': "every replica runs its own loop: the total work of the replicas",
  'Kubernetes API errors': "each replica's own calls (Lease renewals of the follower included)",
  'Changes made (or, in dry-run, planned)': 'counted by the replica that made them',
  'Changes held back by the safety gate': "counted by the replica whose actuator's gate held them",
  'Core restarts and dropped series A': "each replica's own WASM core",
  'Relative error of the median (MAE / mean usage)': "each replica's own engine statistics, one line per replica",
  'Coverage of the quantiles': "each replica's own engine statistics, one line per replica",
  'Memory per replica': "each replica's own process memory, limit and need, one line per replica",
  'Reserve calibration': "each replica's own calibration of the reserve it plans, one line per replica",
};

function product(labels: readonly string[], values: (l: string) => readonly string[]): Array<Record<string, string>> {
  let out: Array<Record<string, string>> = [{}];
  for (const l of labels) out = out.flatMap((o) => values(l).map((v) => ({ ...o, [l]: v })));
  return out;
}

/** A stable value per series (equal on every replica), positive and varied so that sums, differences and top-k differ. */
function valueOf(key: string): number {
  let h = 2166136261;
  for (const c of key) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return 1 + (h % 997) / 10;
}

/** Counters grow at a steady rate per series from here (both replicas alike, whenever each is scraped). */
const COUNTERS_FROM_S = Date.now() / 1000 - 60;

/** Both replicas completed their last cycle at the same second (the value must not depend on when each is scraped). */
const LAST_CYCLE_S = Math.floor(Date.now() / 1000);

/** The exposition of one replica: every catalogue metric, over the label values above. */
function exposition(leader: boolean): string {
  const lines: string[] = [];
  for (const def of Object.values(catalogue) as MetricDef[]) {
    const values = (l: string) => METRIC_LABEL_VALUES[def.name]?.[l] ?? LABEL_VALUES[l] ?? ['x'];
    lines.push(`# TYPE ${def.name} ${def.type}`);
    for (const labels of product(def.labels, values)) {
      if (!leader && LEADER_ONLY(def.name, labels)) continue;
      const text = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',');
      const key = `${def.name}{${text}}`;
      if (def.type === 'histogram') {
        for (const le of ['0.1', '1', '+Inf']) lines.push(`${def.name}_bucket{${text ? `${text},` : ''}le="${le}"} ${le === '0.1' ? 1 : 3}`);
        lines.push(`${def.name}_sum{${text}} 1.5`, `${def.name}_count{${text}} 3`);
        continue;
      }
      let v = valueOf(key);
      if (def.type === 'counter') v *= Date.now() / 1000 - COUNTERS_FROM_S;
      if (def.name === 'foresight_leader') v = leader ? 1 : 0;
      // only a leader can be held off by the shard fence; a follower exports 0
      if (def.name === 'foresight_actuator_fenced') v = leader ? 1 : 0;
      if (def.name === 'foresight_last_successful_cycle_timestamp_seconds') v = LAST_CYCLE_S;
      if (def.name === 'foresight_forecast_stale' || def.name === 'foresight_tenant_anomalous') v = labels.tenant === 'search' ? 1 : 0;
      if (def.name === 'foresight_shard_info' || def.name === 'foresight_shard_count') v = 1;
      lines.push(`${key} ${v}`);
    }
  }
  return lines.join('\n') + '\n';
}

async function serve(body: () => string): Promise<{ server: Server; address: string }> {
  const port = await freePort();
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(body());
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { server, address: `127.0.0.1:${port}` };
}

/** A result as (labels, value) pairs sorted by labels, replica and job labels dropped; a repeated key is kept twice. */
function normalise(r: PromVectorSample[]): Array<{ labels: string; value: number }> {
  return r
    .map((s) => {
      const { job: _j, instance: _i, pod: _p, __name__: _n, ...rest } = s.metric;
      return { labels: JSON.stringify(Object.entries(rest).sort()), value: Number(s.value[1]) };
    })
    .sort((a, b) => (a.labels < b.labels ? -1 : a.labels > b.labels ? 1 : a.value - b.value));
}

/** Same series and values. Rates and increases of counters agree to 1%: they are extrapolated from samples scraped at
 *  slightly different instants, and `max by` over two replicas takes the larger of two jittered values (0.17% apart
 *  in one CI run on a loaded machine); counting a replica twice would be 100% off. Everything else to 0.1%. */
function expectSameAnswer(double: PromVectorSample[], single: PromVectorSample[], what: string): void {
  const d = normalise(double), s = normalise(single);
  const tolerance = /\b(rate|irate|increase)\(/.test(what) ? 1e-2 : 1e-3;
  expect(d.map((x) => x.labels), what).toEqual(s.map((x) => x.labels));
  d.forEach((x, i) => {
    const y = s[i].value;
    if (Number.isNaN(y)) expect(x.value, `${what} ${x.labels}`).toBeNaN();
    else expect(Math.abs(x.value - y), `${what} ${x.labels}: ${x.value} for two replicas, ${y} for one`).toBeLessThanOrEqual(tolerance * Math.abs(y) + 1e-9);
  });
}

const BUILTINS = { __rate_interval: '10s', __interval: '2s', __range: '5m', __range_s: '300' };

describeWithBinaries('dashboard queries with two replicas of Foresight', ['prometheus'], () => {
  let prom: PrometheusInstance;
  const servers: Server[] = [];
  let atS = 0;

  beforeAll(async () => {
    const leader = await serve(() => exposition(true));
    const follower = await serve(() => exposition(false));
    servers.push(leader.server, follower.server);
    prom = await startPrometheus({ scrapeIntervalS: 1 });
    // one job scraping the leader alone, one scraping both replicas (the helper's targets are one address per job)
    writeFileSync(
      prom.configPath,
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        'scrape_configs:',
        `  - { job_name: single, static_configs: [{ targets: ["${leader.address}"] }] }`,
        `  - { job_name: double, static_configs: [{ targets: ["${leader.address}", "${follower.address}"] }] }`,
        '',
      ].join('\n'),
    );
    await prom.reload();
    // `offset $horizon` (5 s) and the 10 s rate window need that much history
    await prom.waitFor('count(up{job="double"} == 1) == 2 and count(up{job="double"} offset 12s) == 2', (r) => r.length > 0, 60_000);
    atS = Date.now() / 1000;
  }, 90_000);

  afterAll(async () => {
    await prom?.destroy();
    for (const s of servers) await new Promise<void>((resolve) => s.close(() => resolve()));
  });

  for (const file of dashboardFiles()) {
    for (const p of allPanels(loadDashboard(file))) {
      for (const t of p.targets ?? []) {
        const title = p.title ?? '';
        if (title in PER_REPLICA || `${title} ${t.refId}` in PER_REPLICA) continue;
        it(`${file}: "${title}" ${t.refId} gives the same answer for two replicas as for one`, async () => {
          const vars = { resource: 'cpu', horizon: '5s', tenant: 'search' };
          const single = await prom.query(substitute(t.expr ?? '', { ...vars, job: 'single' }, BUILTINS), atS);
          const double = await prom.query(substitute(t.expr ?? '', { ...vars, job: 'double' }, BUILTINS), atS);
          expect(single.length, `no data: ${t.expr}`).toBeGreaterThan(0);
          expectSameAnswer(double, single, t.expr ?? '');
        });
      }
    }
  }

  it('lists as per-replica only panels that exist', () => {
    const titles = new Set(dashboardFiles().flatMap((f) => allPanels(loadDashboard(f)).flatMap((p) => [p.title, ...(p.targets ?? []).map((t) => `${p.title} ${t.refId}`)])));
    for (const t of Object.keys(PER_REPLICA)) expect(titles.has(t), t).toBe(true);
  });
});
