// The embedded demo: with no Prometheus configured the sidecar replays the example trace through the real engine and,
// well within a minute, /metrics shows foresight_forecast for every demo tenant and the log says where to look.
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { freePort } from '../helpers/prometheus.js';
import { loadConfig } from '../../src/config/load.js';
import { DEMO_TRACE, startSidecar, type Sidecar } from '../../src/main.js';
import { readTrace } from '../../src/sources/trace-file.js';
import { shardOfTenant } from '../../src/model/shard.js';

describe('embedded demo', () => {
  let sidecar: Sidecar | undefined;
  let port = 0;
  afterAll(() => sidecar?.close());

  it('serves forecasts for every demo tenant on /metrics within a minute, and logs where to look', async () => {
    const tenants = [...new Set((await readTrace(DEMO_TRACE)).series.map((s) => s.tenant))].sort();
    expect(tenants.length).toBeGreaterThanOrEqual(5);
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
    port = await freePort();
    const t0 = Date.now();
    sidecar = await startSidecar(loadConfig({ env: { FORESIGHT_PORT: String(port), FORESIGHT_HOST: '127.0.0.1' } }), { logger: pino({ level: 'info' }, sink) });
    expect(sidecar.demo).toBe(true);
    let body = '';
    while (Date.now() - t0 < 60_000) {
      body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      if (tenants.every((t) => body.includes(`foresight_forecast{tenant="${t}",resource="cpu"`) && body.includes(`foresight_forecast{tenant="${t}",resource="memory"`))) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const elapsed = Date.now() - t0;
    for (const t of tenants) {
      const m = new RegExp(`^foresight_forecast\\{tenant="${t}",resource="cpu",horizon="30m",quantile="0.9"\\} ([0-9.e+-]+)$`, 'm').exec(body);
      expect(m, `cpu forecast of ${t}`).not.toBeNull();
      // Demo CPU is in cores (job % x 8 / 100): a forecast outside (0, 8] cores is wrong.
      expect(Number(m![1])).toBeGreaterThan(0);
      expect(Number(m![1])).toBeLessThanOrEqual(8);
    }
    expect(elapsed).toBeLessThan(60_000);
    const log = lines.join('');
    expect(log).toMatch(/demo mode/);
    expect(log).toContain(`http://127.0.0.1:${port}/metrics`);
    console.log(`demo: forecasts for ${tenants.length} tenants after ${elapsed} ms`);
  }, 70_000);

  it('exports the live forecast error of each model, and coverage for the issued (ensemble) quantiles', async () => {
    expect(sidecar).toBeDefined();
    const errorOf = (body: string, model: string, h: string): number | undefined => {
      const m = new RegExp(`^foresight_forecast_error\\{model="${model}",horizon="${h}"\\} ([0-9.e+-]+)$`, 'm').exec(body);
      return m ? Number(m[1]) : undefined;
    };
    const models = ['ensemble', 'holt-winters', 'holt', 'persistence', 'seasonal-naive', 'histogram'];
    const t0 = Date.now();
    let body = '';
    while (Date.now() - t0 < 60_000) {
      body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      if (models.every((m) => errorOf(body, m, '30m') !== undefined)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    for (const h of ['5m', '15m', '30m']) {
      for (const m of models) {
        const e = errorOf(body, m, h);
        expect(e, `${m} at ${h}`).toBeDefined();
        // relative MAE on the demo's real CPU and memory series: positive, and far from 100% of usage
        expect(e!).toBeGreaterThan(0);
        expect(e!).toBeLessThan(1);
      }
      expect(body).toMatch(new RegExp(`^foresight_forecast_coverage_ratio\\{model="ensemble",horizon="${h}",quantile="0.9"\\} `, 'm'));
    }
    // base models' quantiles are not issued in the sidecar: no coverage series for them
    expect(body).not.toMatch(/^foresight_forecast_coverage_ratio\{model="holt-winters"/m);
  }, 70_000);
});

describe('embedded demo and the actuator', () => {
  it('refuses to start with a live actuator: it would write what the bundled trace asks for to a real cluster', async () => {
    const config = loadConfig({ env: { FORESIGHT_HOST: '127.0.0.1', FORESIGHT_KUBERNETES: 'true', FORESIGHT_ACTUATOR_DRY_RUN: 'false' } });
    await expect(startSidecar(config, { logger: pino({ level: 'silent' }), noListen: true })).rejects.toMatchObject({
      code: 'FORESIGHT_ERR_CONFIG_INVALID',
      message: expect.stringMatching(/actuator\.dryRun is false but prometheusUrl is empty.*FORESIGHT_PROMETHEUS_URL/),
    });
  });
});

describe('embedded demo and the exported quantiles', () => {
  it('warns at start-up that exportQuantiles without 0.9 silences ForesightResourceForecastExceedsLimit, and starts', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
    const env = { FORESIGHT_HOST: '127.0.0.1', FORESIGHT_EXPORT_QUANTILES: '0.5,0.95' };
    const s = await startSidecar(loadConfig({ env }), { logger: pino({ level: 'warn' }, sink), noListen: true, noSchedule: true });
    await s.close();
    const warnings = lines.map((l) => JSON.parse(l) as { level: number; msg: string; exportQuantiles?: number[] }).filter((l) => /exportQuantiles/.test(l.msg));
    expect(warnings).toEqual([expect.objectContaining({ level: 40, exportQuantiles: [0.5, 0.95], msg: expect.stringMatching(/leaves out 0\.9.*ForesightResourceForecastExceedsLimit never fires/) })]);
  });
});

describe('embedded demo and the configured horizons', () => {
  it('names the trace interval when no horizon is a multiple of it, and warns of those that are not', async () => {
    const env = { FORESIGHT_HOST: '127.0.0.1', FORESIGHT_INTERVAL: '150', FORESIGHT_RATE_WINDOW: '5m' };
    const interval = (await readTrace(DEMO_TRACE)).intervalS;
    await expect(startSidecar(loadConfig({ env: { ...env, FORESIGHT_HORIZONS: String(interval * 1.5) } }), { logger: pino({ level: 'silent' }), noListen: true, noSchedule: true })).rejects.toMatchObject({
      code: 'FORESIGHT_ERR_CONFIG_INVALID',
      message: expect.stringContaining(`none is a multiple of the ${interval} s interval of`),
    });
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
    const s = await startSidecar(loadConfig({ env: { ...env, FORESIGHT_HORIZONS: `${interval},${interval * 1.5}` } }), { logger: pino({ level: 'warn' }, sink), noListen: true, noSchedule: true });
    await s.close();
    expect(lines.join('')).toContain(`horizons ${interval * 1.5} s are not multiples of the ${interval} s interval`);
  });
});

describe('embedded demo, sharded', () => {
  const sidecars: Sidecar[] = [];
  afterAll(async () => {
    for (const s of sidecars) await s.close();
  });

  it('two shards serve disjoint sets of the demo tenants, together all of them, each labelled with its shard', async () => {
    const tenants = [...new Set((await readTrace(DEMO_TRACE)).series.map((s) => s.tenant))].sort();
    const ports: number[] = [];
    for (const shard of [0, 1]) {
      const port = await freePort();
      ports.push(port);
      const env = { FORESIGHT_PORT: String(port), FORESIGHT_HOST: '127.0.0.1', FORESIGHT_SHARD: String(shard), FORESIGHT_TOTAL_SHARDS: '2' };
      sidecars.push(await startSidecar(loadConfig({ env }), { logger: pino({ level: 'silent' }) }));
    }
    const served = async (port: number): Promise<{ tenants: string[]; body: string }> => {
      const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return { body, tenants: tenants.filter((t) => body.includes(`foresight_forecast{tenant="${t}",resource="cpu"`)) };
    };
    const mine = [0, 1].map((shard) => tenants.filter((t) => shardOfTenant(t, 2) === shard));
    // the hash splits the six demo tenants between both shards (so this checks a real split)
    expect(mine[0].length).toBeGreaterThan(0);
    expect(mine[1].length).toBeGreaterThan(0);
    const t0 = Date.now();
    let got = await Promise.all(ports.map(served));
    while (Date.now() - t0 < 60_000 && got.some((g, i) => g.tenants.length < mine[i].length)) {
      await new Promise((r) => setTimeout(r, 250));
      got = await Promise.all(ports.map(served));
    }
    for (const i of [0, 1]) {
      expect(got[i].tenants).toEqual(mine[i]);
      expect(got[i].body).toContain(`foresight_shard_info{shard="${i}",total_shards="2"} 1`);
      expect(got[i].body).toMatch(new RegExp(`^foresight_tenants ${mine[i].length}$`, 'm'));
    }
  }, 70_000);
});

describe('embedded demo with tenant lists', () => {
  it('applies FORESIGHT_INCLUDE_TENANTS and FORESIGHT_EXCLUDE_TENANTS to the demo trace as to Prometheus', async () => {
    const tenants = [...new Set((await readTrace(DEMO_TRACE)).series.map((s) => s.tenant))].sort();
    const include = tenants.slice(0, 3);
    const port = await freePort();
    const sidecar = await startSidecar(
      loadConfig({ env: { FORESIGHT_PORT: String(port), FORESIGHT_HOST: '127.0.0.1', FORESIGHT_INCLUDE_TENANTS: include.join(','), FORESIGHT_EXCLUDE_TENANTS: include[0] } }),
      { logger: pino({ level: 'silent' }) },
    );
    try {
      const t0 = Date.now();
      let listed: string[] = [];
      while (Date.now() - t0 < 30_000) {
        const r = await fetch(`http://127.0.0.1:${port}/api/v1/tenants`);
        if (r.status === 200) {
          listed = ((await r.json()) as { tenants: Array<{ tenant: string }> }).tenants.map((t) => t.tenant).sort();
          if (listed.length) break;
        }
        await new Promise((res) => setTimeout(res, 250));
      }
      expect(listed).toEqual(include.slice(1));
    } finally {
      await sidecar.close();
    }
  }, 40_000);
});

describe('embedded demo with anomaly thresholds', () => {
  it('passes the configuration\'s anomalyEnterLikelihood and anomalyExitLikelihood to the sidecar\'s scorer', async () => {
    const tenants = [...new Set((await readTrace(DEMO_TRACE)).series.map((s) => s.tenant))].sort();
    /** Tenants flagged on /metrics at some time over 8 s of replay after every tenant has a verdict. */
    const flagged = async (env: Record<string, string>): Promise<number> => {
      const port = await freePort();
      const sidecar = await startSidecar(loadConfig({ env: { FORESIGHT_PORT: String(port), FORESIGHT_HOST: '127.0.0.1', FORESIGHT_ANOMALY_MODE: 'alert-only', ...env } }), { logger: pino({ level: 'silent' }) });
      try {
        const seen = new Set<string>();
        const t0 = Date.now();
        let since = 0;
        while (Date.now() - t0 < 60_000 && (since === 0 || Date.now() - since < 8000)) {
          const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
          if (since === 0 && tenants.every((t) => body.includes(`foresight_tenant_anomalous{tenant="${t}"}`))) since = Date.now();
          for (const t of tenants) if (body.includes(`foresight_tenant_anomalous{tenant="${t}"} 1`)) seen.add(t);
          await new Promise((r) => setTimeout(r, 200));
        }
        return seen.size;
      } finally {
        await sidecar.close();
      }
    };
    // a threshold almost any evidence reaches flags (nearly) every demo tenant; the default flags few if any
    const lax = await flagged({ FORESIGHT_ANOMALY_ENTER_LIKELIHOOD: '0.001', FORESIGHT_ANOMALY_EXIT_LIKELIHOOD: '0.001' });
    const usual = await flagged({});
    expect(lax).toBeGreaterThanOrEqual(tenants.length / 2);
    expect(lax).toBeGreaterThan(usual);
  }, 150_000);
});
