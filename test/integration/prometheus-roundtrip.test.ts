// Round trip with a real Prometheus: it scrapes the workload exporter, Foresight pulls the histories through PromQL,
// Prometheus scrapes Foresight, and a PromQL query returns foresight_forecast with the right labels and plausible
// values. Then Prometheus stops mid-run (forecasts kept, marked stale) and comes back (recovery).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithBinaries } from '../helpers/binaries.js';
import { freePort, startPrometheus, type PrometheusInstance } from '../helpers/prometheus.js';
import { WorkloadExporter } from '../helpers/workload-exporter.js';
import { loadConfig } from '../../src/config/load.js';
import { startSidecar, type Sidecar } from '../../src/main.js';
import { pino } from 'pino';
import { FAST_GRID_ENV } from '../helpers/sidecar-env.js';

const HOSTILE = 'we"ird\\ns} or vector(1) #';
const TENANTS = ['shop', 'payments', HOSTILE, 'xzy'];
// Excluded names that broke the queries before they were escaped as Go reads them: $` and $' (once expanded by the
// template's string replacement) and a C1 control character (once written as \x85, a byte that is not UTF-8).
const EXCLUDED = ['kube-system', 'x.y', 'self$`', "sel$'f", 'c1\u0085ctl'];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function scrape(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

function metricValue(body: string, line: RegExp): number | undefined {
  for (const l of body.split('\n')) if (line.test(l)) return Number(l.slice(l.lastIndexOf(' ') + 1));
  return undefined;
}

describeWithBinaries('sidecar against a real Prometheus', ['prometheus'], (bins) => {
  let prom: PrometheusInstance;
  let exporter: WorkloadExporter;
  let sidecar: Sidecar;

  beforeAll(async () => {
    exporter = new WorkloadExporter({
      speed: 1440, // a simulated day per real minute
      tenants: [...TENANTS, ...EXCLUDED].map((namespace, i) => ({ namespace, cpuCores: 0.5 * (i + 1), requestsPerS: 10 * (i + 1), burstProbability: 0 })),
    });
    await exporter.start();
    prom = await startPrometheus({ binary: bins.prometheus, scrapeIntervalS: 1, targets: [{ job: 'workload', address: exporter.address }] });
    await prom.waitForTargetsUp();
    await sleep(8_000); // a few samples for rate() before the first pull
    const port = await freePort();
    const config = loadConfig({
      env: {
        ...FAST_GRID_ENV,
        FORESIGHT_PORT: String(port),
        FORESIGHT_PROMETHEUS_URL: prom.url,
        FORESIGHT_STALE_AFTER: '5',
        FORESIGHT_RETRAIN_EVERY: '30',
        FORESIGHT_EXCLUDE_TENANTS: EXCLUDED.join(','),
        FORESIGHT_SIGNALS: 'cpu,memory,api_calls,db_queries',
      },
    });
    sidecar = await startSidecar(config, { logger: pino({ level: 'silent' }) });
    await prom.addTarget({ job: 'foresight', address: `127.0.0.1:${port}` });
  }, 60_000);

  afterAll(async () => {
    await sidecar?.close();
    await prom?.destroy();
    await exporter?.stop();
  });

  it('pulls every tenant through PromQL and its forecasts come back from Prometheus with the right labels', async () => {
    const res = await prom.waitFor(
      'foresight_forecast{job="foresight",resource="cpu",horizon="15s",quantile="0.5"}',
      (r) => TENANTS.every((t) => r.some((s) => s.metric.tenant === t)),
      40_000,
    );
    // Excluded tenants never reach Foresight; "xzy" is not excluded by the regex-escaped "x.y".
    expect(res.map((s) => s.metric.tenant).sort()).toEqual([...TENANTS].sort());
    for (const s of res) {
      expect(s.metric).toMatchObject({ job: 'foresight', resource: 'cpu', horizon: '15s', quantile: '0.5' });
      const i = [...TENANTS, ...EXCLUDED].indexOf(s.metric.tenant);
      const mean = 0.5 * (i + 1);
      const v = Number(s.value[1]);
      // The daily shape spans 0.5x-1.5x of the mean (x0.6 at weekends): a median forecast outside 0.2x-3x is wrong.
      expect(v).toBeGreaterThan(0.2 * mean);
      expect(v).toBeLessThan(3 * mean);
    }
    // Usage seen by Foresight matches what Prometheus computes from the raw counters.
    const usage = await prom.query('foresight_usage{resource="cpu",tenant="shop"}');
    const direct = await prom.query('sum by (namespace) (rate(container_cpu_usage_seconds_total{namespace="shop",container!=""}[4s]))');
    expect(Number(usage[0].value[1])).toBeGreaterThan(0.5 * Number(direct[0].value[1]));
    expect(Number(usage[0].value[1])).toBeLessThan(2 * Number(direct[0].value[1]));
    // Every quantile and horizon is there and monotone in the quantile.
    const all = await prom.query('foresight_forecast{tenant="payments",resource="memory",horizon="30s"}');
    const byQ = all.map((s) => [Number(s.metric.quantile), Number(s.value[1])]).sort((a, b) => a[0] - b[0]);
    expect(byQ.map((x) => x[0])).toEqual([0.5, 0.9, 0.95, 0.99]);
    for (let k = 1; k < byQ.length; k++) expect(byQ[k][1]).toBeGreaterThanOrEqual(byQ[k - 1][1]);
    // The API mix of the profile comes from the method/route breakdown.
    const detail = await sidecar.app.inject(`/api/v1/tenants/${encodeURIComponent(HOSTILE)}`);
    expect(detail.statusCode).toBe(200);
    expect(detail.json().apiMix['GET /api/items']).toBeCloseTo(0.55, 1);
    // The VPA recommender's container split, asked of Prometheus once per profile period: the exporter's one container.
    for (const r of ['cpu', 'memory']) expect(sidecar.loop.latest()!.containerShares?.get(r)?.get('payments'), r).toEqual({ app: 1 });
    // and by workload (kube_pod_owner: the ReplicaSet app-7c9b5d8f4d of the Deployment app), with its running pods
    const pods = Number((await prom.query('sum(kube_pod_status_phase{namespace="payments",phase="Running"})'))[0].value[1]);
    expect(pods).toBeGreaterThan(0);
    for (const r of ['cpu', 'memory']) expect(sidecar.loop.latest()!.workloadUsage?.get(r)?.get('payments'), r).toEqual({ app: { share: 1, pods, containers: { app: 1 } } });
  }, 60_000);

  it('rides through a counter reset (container restarts) without a negative or runaway usage', async () => {
    exporter.resetCounters('payments');
    await sleep(4_000);
    const mean = 0.5 * (TENANTS.indexOf('payments') + 1);
    const state = sidecar.loop.latest()!;
    const cpu = [...state.resources.values()].find((r) => r.tenant === 'payments' && r.resource === 'cpu')!;
    expect(cpu.usage).toBeGreaterThan(0.2 * mean);
    expect(cpu.usage).toBeLessThan(3 * mean);
    const w = sidecar.loop.store.window(`payments\u0000cpu`, 8)!;
    for (const v of w.values) if (!Number.isNaN(v)) expect(v).toBeLessThan(3 * mean);
  }, 20_000);

  it('keeps serving the last forecasts marked stale while Prometheus is down, and recovers when it returns', async () => {
    const url = sidecar.url!;
    const before = await scrape(url);
    expect(metricValue(before, /^foresight_forecast_stale /)).toBe(0);
    const pullErrors0 = metricValue(before, /^foresight_errors_total\{stage="pull"\}/) ?? 0;
    await prom.stop();
    let body = '';
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      body = await scrape(url);
      if (metricValue(body, /^foresight_forecast_stale /) === 1) break;
      await sleep(250);
    }
    expect(metricValue(body, /^foresight_forecast_stale /)).toBe(1);
    expect(metricValue(body, /^foresight_forecast\{tenant="shop",resource="cpu",horizon="5s",quantile="0.5"\}/)).toBeGreaterThan(0);
    expect(metricValue(body, /^foresight_errors_total\{stage="pull"\}/)).toBeGreaterThan(pullErrors0);
    const api = (await sidecar.app.inject('/api/v1/tenants/shop/forecast')).json();
    expect(api.stale).toBe(true);
    expect(api.forecasts.length).toBeGreaterThan(0);

    await prom.start();
    const back = Date.now() + 30_000;
    while (Date.now() < back) {
      body = await scrape(url);
      if (metricValue(body, /^foresight_forecast_stale /) === 0) break;
      await sleep(250);
    }
    expect(metricValue(body, /^foresight_forecast_stale /)).toBe(0);
    expect((await sidecar.app.inject('/readyz')).statusCode).toBe(200);
  }, 60_000);
});
