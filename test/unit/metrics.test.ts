import { gunzipSync, inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createExporter } from '../../src/metrics/exporter.js';
import { catalogue } from '../../src/metrics/catalogue.js';
import { EngineLoop } from '../../src/loop/engine-loop.js';
import type { AnomalyState, Snapshot } from '../../src/model/snapshot.js';
import { withoutProcessMetrics } from '../helpers/exposition.js';
import { FakeEngine, FakeSource, manualClock } from './loop-fakes.js';

async function loopWith(tenants: string[]) {
  const engine = new FakeEngine({ intervalS: 60 });
  const source = new FakeSource(tenants, ['cpu', 'memory']);
  const clock = manualClock(1_700_000_000);
  const loop = new EngineLoop({ source, engine, clock }, { intervalS: 60, historyPoints: 600 });
  return { loop, source, clock, engine };
}

/** The snapshot with every tenant flagged anomalous: cpu spiking, memory calm, a behaviour change. */
function withAnomalies(s: Snapshot): Snapshot {
  const anomaly: AnomalyState = {
    score: 0.9,
    kind: 'spike',
    anomalous: true,
    signal: 'cpu',
    sinceS: 1_700_000_000,
    signals: [
      { signal: 'behaviour', score: 0.4, kind: 'behaviour-change' },
      { signal: 'cpu', score: 0.9, kind: 'spike' },
      { signal: 'memory', score: 0.1, kind: 'none' },
    ],
  };
  return { ...s, resources: new Map([...s.resources].map(([k, r]) => [k, { ...r, anomaly }])) };
}

function lines(body: string, name: string): string[] {
  return body.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
}

describe('exporter', () => {
  it('exposes forecasts in base units with tenant, resource, horizon and quantile labels', async () => {
    const { loop } = await loopWith(['shop', 'we"ird\\ns']);
    const ex = createExporter({ snapshot: () => loop.latest() });
    await loop.runOnce();
    const r = await ex.render();
    const body = r.body.toString();
    const contentType = r.contentType;
    expect(contentType).toMatch(/text\/plain/);
    const f = lines(body, catalogue.forecast.name);
    expect(f.length).toBe(2 * 2 * 3 * 3);
    expect(body).toContain('foresight_forecast{tenant="shop",resource="cpu",horizon="5m",quantile="0.9"}');
    expect(body).toContain('tenant="we\\"ird\\\\ns"');
    expect(lines(body, catalogue.forecastStale.name)).toEqual(['foresight_forecast_stale 0']);
    expect(body).toMatch(/foresight_profile_level\{tenant="shop",signal="cpu"\} [0-9.]+/);
    expect(body).toMatch(/foresight_forecast_error\{model="persistence",horizon="15m"\} 0.1/);
    expect(body).toMatch(/foresight_model_chosen\{model="persistence",horizon="30m"\} 4/);
    expect(body).toContain('foresight_tenants 2');
    expect(body).toContain('foresight_series_pending_fit 0');
    // a snapshot published while the first fit is spread over cycles
    const pending = createExporter({ snapshot: () => ({ ...loop.latest()!, pendingFit: 7 }) });
    expect((await pending.render()).body.toString()).toContain('foresight_series_pending_fit 7');
    // tenants per signal, where the source reports them (0: the signal's query finds no tenant)
    const cov = createExporter({ snapshot: () => ({ ...loop.latest()!, signalTenants: new Map([['cpu', 2], ['api_calls', 0]]) }) });
    const covBody = (await cov.render()).body.toString();
    expect(lines(covBody, catalogue.signalTenants.name).sort()).toEqual(['foresight_signal_tenants{signal="api_calls"} 0', 'foresight_signal_tenants{signal="cpu"} 2']);
  });

  it('exports the configured limit of a resource without a knob for every tracked tenant of that signal', async () => {
    const engine = new FakeEngine({ intervalS: 60 });
    const source = new FakeSource(['shop', 'web', 'db'], ['cpu', 'fds', 'threads']);
    const loop = new EngineLoop({ source, engine, clock: manualClock(1_700_000_000) }, { intervalS: 60, historyPoints: 600 });
    const resourceLimits = { fds: { default: 1024, tenants: { db: 65536 } }, threads: { tenants: { web: 300 } } };
    const ex = createExporter({ snapshot: () => loop.latest(), resourceLimits });
    await loop.runOnce();
    const body = (await ex.render()).body.toString();
    expect(lines(body, catalogue.resourceLimit.name).sort()).toEqual([
      'foresight_resource_limit{tenant="db",resource="fds"} 65536',
      'foresight_resource_limit{tenant="shop",resource="fds"} 1024',
      'foresight_resource_limit{tenant="web",resource="fds"} 1024',
      'foresight_resource_limit{tenant="web",resource="threads"} 300',
    ]);
    // unset: not exported
    const none = (await createExporter({ snapshot: () => loop.latest() }).render()).body.toString();
    expect(lines(none, catalogue.resourceLimit.name)).toEqual([]);
  });

  it('marks forecasts stale when the last cycle failed to pull, keeping the values', async () => {
    const { source, clock } = await loopWith(['shop']);
    const ex = createExporter({ snapshot: () => undefined });
    const metricsLoop = new EngineLoop({ source, engine: new FakeEngine({ intervalS: 60 }), clock, metrics: ex.loop }, { intervalS: 60, historyPoints: 600 });
    const ex2 = createExporter({ snapshot: () => metricsLoop.latest() });
    await metricsLoop.runOnce();
    source.fail = true;
    clock.advance(60);
    await metricsLoop.runOnce();
    const body = (await ex2.render()).body.toString();
    expect(body).toContain('foresight_forecast_stale 1');
    expect(lines(body, catalogue.forecast.name).length).toBe(2 * 3 * 3);
    const loopBody = (await ex.render()).body.toString();
    expect(loopBody).toContain('foresight_errors_total{stage="pull"} 1');
    expect(loopBody).toContain('foresight_cycles_total{outcome="failure"} 1');
    expect(loopBody).toMatch(/foresight_loop_step_duration_seconds_count\{step="pull"\} 2/);
  });

  it('buckets step durations up to 300 s, so that a 75-second retrain falls below a finite bucket', async () => {
    const ex = createExporter({ snapshot: () => undefined });
    ex.loop.stepDuration('train', 75);
    const body = (await ex.render()).body.toString();
    expect(body).toContain('foresight_loop_step_duration_seconds_bucket{le="60",step="train"} 0');
    expect(body).toContain('foresight_loop_step_duration_seconds_bucket{le="120",step="train"} 1');
    expect(body).toContain('foresight_loop_step_duration_seconds_bucket{le="300",step="train"} 1');
  });

  it('leaves out the usage, forecasts and recommendation of a series gone quiet while Prometheus answers, and counts it', async () => {
    const { loop } = await loopWith(['shop', 'gone']);
    await loop.runOnce();
    const s = loop.latest()!;
    const recommendation = { target: 2, lowerBound: 1, upperBound: 3, uncappedTarget: 2 };
    const quiet: Snapshot = { ...s, resources: new Map([...s.resources].map(([k, r]) => [k, { ...r, recommendation, stale: r.tenant === 'gone' }])) };
    const body = (await createExporter({ snapshot: () => quiet }).render()).body.toString();
    for (const family of [catalogue.usage.name, catalogue.forecast.name, catalogue.recommendation.name]) {
      expect(lines(body, family).some((l) => l.includes('tenant="shop"')), family).toBe(true);
      expect(lines(body, family).filter((l) => l.includes('tenant="gone"')), family).toEqual([]);
    }
    expect(body).toContain('foresight_series_stale 2');
    expect(body).toContain('foresight_forecast_stale 0');
    expect((await createExporter({ snapshot: () => s }).render()).body.toString()).toContain('foresight_series_stale 0');
  });

  it('leaves out the anomaly flag and profile of a tenant all of whose series are stale, not of one with a live series', async () => {
    const { loop } = await loopWith(['shop', 'gone']);
    await loop.runOnce();
    const s = withAnomalies(loop.latest()!);
    // gone: every series stale (no sample for staleAfter); shop: its cpu stale, its memory live
    const stale = (r: { tenant: string; resource: string }) => r.tenant === 'gone' || r.resource === 'cpu';
    const quiet: Snapshot = { ...s, resources: new Map([...s.resources].map(([k, r]) => [k, { ...r, stale: stale(r) }])) };
    const body = (await createExporter({ snapshot: () => quiet }).render()).body.toString();
    const families = [
      catalogue.anomalous.name,
      catalogue.anomalyInfo.name,
      catalogue.anomalousSince.name,
      catalogue.anomalyScore.name,
      catalogue.profileLevel.name,
      catalogue.profileVolatility.name,
      catalogue.profileBurstiness.name,
    ];
    for (const family of families) {
      expect(lines(body, family).some((l) => l.includes('tenant="shop"')), family).toBe(true);
      expect(lines(body, family).filter((l) => l.includes('tenant="gone"')), family).toEqual([]);
    }
    expect(body).toContain('foresight_tenant_anomalous{tenant="shop"} 1');
    expect(body).toContain('foresight_series_stale 3');
    // still tracked (and in the API) until vanishAfter
    expect(body).toContain('foresight_tenants 2');
  });

  it('exports as foresight_allocation the recommendation target, and its help says so rather than the allocation in force', async () => {
    const { loop } = await loopWith(['shop']);
    await loop.runOnce();
    const s = loop.latest()!;
    const recommendation = { target: 2, lowerBound: 1, upperBound: 3, uncappedTarget: 2 };
    const decided: Snapshot = { ...s, resources: new Map([...s.resources].map(([k, r]) => [k, { ...r, recommendation }])) };
    const body = (await createExporter({ snapshot: () => decided }).render()).body.toString();
    expect(lines(body, catalogue.allocation.name).sort()).toEqual(['foresight_allocation{tenant="shop",resource="cpu"} 2', 'foresight_allocation{tenant="shop",resource="memory"} 2']);
    // the actuator's gate may hold another value: the help must not claim the value in force
    expect(catalogue.allocation.help).not.toMatch(/^Allocation in force/);
    expect(catalogue.allocation.help).toContain('target');
  });

  it('bounds cardinality and counts what was left out, once per snapshot', async () => {
    const { loop, clock } = await loopWith(['a', 'b', 'c']);
    const ex = createExporter({ snapshot: () => loop.latest(), limits: { maxTenants: 2, maxForecastSeries: 27 } });
    await loop.runOnce();
    let body = (await ex.render()).body.toString();
    body = (await ex.render()).body.toString(); // a second scrape of the same snapshot must not count again
    // whole tenants in name order: a's 18 forecasts (2 resources x 3 horizons x 3 quantiles) fit under 27, b's do not,
    // and none of b's is exported in part
    const forecasts = lines(body, catalogue.forecast.name);
    expect(forecasts.length).toBe(18);
    expect(forecasts.every((l) => l.includes('tenant="a"'))).toBe(true);
    expect(body).not.toContain('tenant="c"');
    // tenant c's series, not its 2 resources: per resource, usage (1), forecasts (3 horizons x 3 quantiles) and the
    // profile's level, volatility and burstiness (3; no seasonality from ten hours of history): 13 x 2
    expect(body).toContain('foresight_series_dropped_total{reason="tenant_limit"} 26');
    expect(body).toContain('foresight_series_dropped_total{reason="series_limit"} 18');
    clock.advance(60);
    await loop.runOnce();
    body = (await ex.render()).body.toString();
    expect(body).toContain('foresight_series_dropped_total{reason="tenant_limit"} 52');
    // the same series counted again with each snapshot: the help (and README table) must say so
    expect(catalogue.seriesDropped.help).toMatch(/counted again with every snapshot/);
  });

  it('counts every series of a tenant past the limit as dropped: what the tenant would have exported', async () => {
    const { loop } = await loopWith(['a', 'b']);
    await loop.runOnce();
    const s = withAnomalies(loop.latest()!);
    const all = (await createExporter({ snapshot: () => s }).render()).body.toString();
    const ofB = all.split('\n').filter((l) => l.startsWith('foresight_') && l.includes('tenant="b"')).length;
    expect(ofB).toBeGreaterThan(26); // anomaly and profile series included
    const one = (await createExporter({ snapshot: () => s, limits: { maxTenants: 1 } }).render()).body.toString();
    expect(one).not.toContain('tenant="b"');
    expect(one).toContain(`foresight_series_dropped_total{reason="tenant_limit"} ${ofB}`);
  });

  it('exports an anomaly score per tenant and signal, with each signal kind, and behaviour for the multivariate one', async () => {
    const { loop } = await loopWith(['shop']);
    await loop.runOnce();
    const s = withAnomalies(loop.latest()!);
    const body = (await createExporter({ snapshot: () => s }).render()).body.toString();
    expect(lines(body, catalogue.anomalyScore.name).sort()).toEqual([
      'foresight_anomaly_score{tenant="shop",signal="behaviour",kind="behaviour-change"} 0.4',
      'foresight_anomaly_score{tenant="shop",signal="cpu",kind="spike"} 0.9',
      'foresight_anomaly_score{tenant="shop",signal="memory",kind="none"} 0.1',
    ]);
    expect(lines(body, catalogue.anomalous.name)).toEqual(['foresight_tenant_anomalous{tenant="shop"} 1']);
    // why and since when: the signal that opened the episode and its kind, and the time of that evidence
    expect(lines(body, catalogue.anomalyInfo.name)).toEqual(['foresight_tenant_anomaly_info{tenant="shop",signal="cpu",kind="spike"} 1']);
    expect(lines(body, catalogue.anomalousSince.name)).toEqual(['foresight_tenant_anomalous_since_timestamp_seconds{tenant="shop"} 1700000000']);
    // a calm tenant has neither
    const calm: Snapshot = { ...s, resources: new Map([...s.resources].map(([k, r]) => [k, { ...r, anomaly: { score: 0.1, kind: 'none' as const, anomalous: false } }])) };
    const calmBody = (await createExporter({ snapshot: () => calm }).render()).body.toString();
    expect([...lines(calmBody, catalogue.anomalyInfo.name), ...lines(calmBody, catalogue.anomalousSince.name)]).toEqual([]);
  });

  it('leaves out a seasonality the profile window is too short to tell, instead of exporting 0', async () => {
    const { loop } = await loopWith(['shop']);
    await loop.runOnce();
    const s0 = loop.latest()!;
    const p = s0.profiles!.get('shop')!;
    const cpu = { ...p.signals.cpu, dailySeasonality: 0.7, weeklySeasonality: NaN };
    const s: Snapshot = { ...s0, profiles: new Map([['shop', { ...p, signals: { cpu } }]]) };
    const body = (await createExporter({ snapshot: () => s }).render()).body.toString();
    expect(lines(body, catalogue.profileSeasonality.name)).toEqual(['foresight_profile_seasonality_ratio{tenant="shop",signal="cpu",season="daily"} 0.7']);
  });

  it('serves the previous snapshot whole while the next one is built, and gzip as one member', async () => {
    const { loop } = await loopWith(['shop']);
    await loop.runOnce();
    const s1 = loop.latest()!;
    let current: Snapshot = s1;
    const ex = createExporter({ snapshot: () => current });
    await ex.publish(s1);
    const s2: Snapshot = { ...s1, stale: true };
    current = s2;
    const building = ex.publish(s2);
    // the build of s2 is under way (its compression runs in the zlib thread pool): a scrape now gets s1
    expect((await ex.render()).body.toString()).toContain('foresight_forecast_stale 0');
    await building;
    const plain = (await ex.render()).body.toString();
    expect(plain).toContain('foresight_forecast_stale 1');
    expect(lines(plain, catalogue.forecast.name).length).toBe(2 * 3 * 3);
    const gz = await ex.render({ gzip: true });
    expect(gz.contentEncoding).toBe('gzip');
    expect(withoutProcessMetrics(gunzipSync(gz.body).toString())).toBe(withoutProcessMetrics(plain));
    // a single gzip member (curl and browsers read only the first): header, one deflate stream, trailer
    expect(withoutProcessMetrics(inflateRawSync(gz.body.subarray(10, gz.body.length - 8)).toString())).toBe(withoutProcessMetrics(plain));
  });

  it('writes each snapshot into the buffers of the text before, once deflated, and serves that one whole meanwhile', async () => {
    // 300 tenants: each build's forecast family spans several of the text's 64 KB buffers
    const { loop } = await loopWith(Array.from({ length: 300 }, (_, i) => `tenant-${i}`));
    await loop.runOnce();
    const base = loop.latest()!;
    const scaled = (k: number): Snapshot => ({
      ...base,
      cycle: base.cycle + k,
      resources: new Map(
        [...base.resources].map(([key, r]) => [key, { ...r, usage: r.usage * (k + 1), forecast: r.forecast && { ...r.forecast, quantiles: r.forecast.quantiles.map((v) => v * (k + 1) + k / 7) } }]),
      ),
    });
    const snaps = [0, 1, 2, 3, 4].map(scaled);
    /** Each snapshot's text from an exporter of its own. */
    const textOf = async (s: Snapshot) => withoutProcessMetrics((await createExporter({ snapshot: () => s }).render()).body.toString());
    const expected = await Promise.all(snaps.map(textOf));
    expect(new Set(expected).size).toBe(snaps.length);
    let current = snaps[0];
    const ex = createExporter({ snapshot: () => current });
    await ex.publish(current);
    let midBuild = 0;
    for (let k = 1; k < snaps.length; k++) {
      current = snaps[k];
      let done = false;
      const building = ex.publish(current).then(() => (done = true));
      while (!done) {
        // scrapes while the next text is written (into the buffers of the served text's plain copy, given back once
        // deflated): plain scrapes inflate the served text
        const [plain, gz] = [await ex.render(), await ex.render({ gzip: true })];
        if (done) break;
        midBuild++;
        expect(withoutProcessMetrics(plain.body.toString())).toBe(expected[k - 1]);
        expect(withoutProcessMetrics(gunzipSync(gz.body).toString())).toBe(expected[k - 1]);
        await new Promise((r) => setImmediate(r));
      }
      await building;
      expect(withoutProcessMetrics((await ex.render()).body.toString())).toBe(expected[k]);
      expect(withoutProcessMetrics(gunzipSync((await ex.render({ gzip: true })).body).toString())).toBe(expected[k]);
    }
    expect(midBuild).toBeGreaterThan(0);
  });

  it('labels each snapshot\'s series with their own tenant and resource as tenants come and go (label texts kept between builds)', async () => {
    const names = ['shop', 'we"ird\\ns', 'a\u0000cpu', 'a', 'tenant-x', 'ünï'];
    const { loop } = await loopWith(names);
    await loop.runOnce();
    const base = loop.latest()!;
    /** The snapshot with only `keep`'s tenants, one of them renamed to `rename`. */
    const only = (keep: string[], rename?: [string, string]): Snapshot => ({
      ...base,
      resources: new Map([...base.resources].filter(([, r]) => keep.includes(r.tenant)).map(([k, r]) => {
        if (!rename || r.tenant !== rename[0]) return [k, r];
        return [`${rename[1]}\u0000${r.resource}`, { ...r, tenant: rename[1] }];
      })),
    });
    const snaps = [only(names), only(['a', 'tenant-x']), only(['a\u0000cpu', 'a', 'shop'], ['shop', 'we"ird\\ns']), only(names)];
    const textOf = async (s: Snapshot) => withoutProcessMetrics((await createExporter({ snapshot: () => s }).render()).body.toString());
    let current = snaps[0];
    const ex = createExporter({ snapshot: () => current });
    for (const s of snaps) {
      current = s;
      await ex.publish(s);
      const body = withoutProcessMetrics((await ex.render()).body.toString());
      expect(body).toBe(await textOf(s));
      // the forecasts of each tenant of the snapshot, and of no other
      const tenants = new Set(lines(body, catalogue.forecast.name).map((l) => l.slice(l.indexOf('tenant="'), l.indexOf('",resource='))));
      expect(tenants.size).toBe(new Set([...s.resources.values()].map((r) => r.tenant)).size);
    }
  });

  it('exposes nothing snapshot-derived before the first cycle', async () => {
    const ex = createExporter({ snapshot: () => undefined as Snapshot | undefined });
    const body = (await ex.render()).body.toString();
    expect(lines(body, catalogue.forecast.name)).toEqual([]);
    expect(body).toContain('foresight_errors_total{stage="pull"} 0');
  });

  it('exposes the process memory beside the container limit and the need of the snapshot\'s series', async () => {
    const { loop } = await loopWith(['a']);
    await loop.runOnce();
    const snap: Snapshot = { ...loop.latest()!, memoryNeedBytes: 123_456_789 };
    let limit: number | undefined = 2 ** 31;
    const ex = createExporter({ snapshot: () => snap, memoryLimit: () => limit });
    const body = (await ex.render()).body.toString();
    const rss = /^process_resident_memory_bytes (\d+)$/m.exec(body);
    expect(Number(rss?.[1])).toBeGreaterThan(10 * 2 ** 20);
    expect(body).toMatch(/^nodejs_heap_size_used_bytes \d+/m);
    expect(lines(body, catalogue.memoryLimit.name)).toEqual([`${catalogue.memoryLimit.name} 2147483648`]);
    expect(lines(body, catalogue.memoryNeed.name)).toEqual([`${catalogue.memoryNeed.name} 123456789`]);
    // no limit (a process outside a container, or a container without one): 0, which the alert and the panel skip
    limit = undefined;
    expect(lines((await ex.render()).body.toString(), catalogue.memoryLimit.name)).toEqual([`${catalogue.memoryLimit.name} 0`]);
  });
});
