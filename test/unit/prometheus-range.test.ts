import { describe, expect, it } from 'vitest';
import type { QueryResult } from 'prometheus-query';
import { queryRangeSeries, wrapPromError, type RangeQuerier } from '../../src/sources/prometheus-range.js';
import { PrometheusSource, renderQuery } from '../../src/sources/prometheus-source.js';
import { DEFAULT_SIGNALS } from '../../src/sources/default-signals.js';

type Sample = { time: Date; value: number };

/** A fake Prometheus: every tenant's value at t is f(tenant, t); it records the requests it got. */
function fakeQuerier(tenants: string[], f: (tenant: string, t: number) => number, extra: Record<string, string> = {}) {
  const calls: Array<{ start: number; end: number; step: number }> = [];
  const q: RangeQuerier = {
    async rangeQuery(_query, startD, endD, step) {
      const start = startD.getTime();
      const end = endD.getTime();
      calls.push({ start: start / 1000, end: end / 1000, step });
      const result = tenants.map((tenant) => {
        const values: Sample[] = [];
        for (let t = start / 1000; t <= end / 1000; t += step) {
          const v = f(tenant, t);
          if (!Number.isNaN(v)) values.push({ time: new Date(t * 1000), value: v });
        }
        return { metric: { name: '', labels: { namespace: tenant, ...extra } }, values };
      });
      return { resultType: 'matrix', result } as unknown as QueryResult;
    },
  };
  return { q, calls };
}

describe('queryRangeSeries', () => {
  it('takes series without any breakdown label as the tenant total (an override that sums method and route away)', async () => {
    const { q } = fakeQuerier(['a'], () => 3);
    const r = await queryRangeSeries(q, { query: 'sum by (namespace) (rate(http_requests_total[5m]))', startS: 0, endS: 600, stepS: 300, resource: 'api_calls', breakdownBy: ['method', 'route'], seriesHint: 1 });
    expect(r.breakdown).toEqual([]);
    expect(r.set.series.map((s) => [s.tenant, [...s.values]])).toEqual([['a', [3, 3, 3]]]);
    const { q: typed } = fakeQuerier(['a'], () => 3, { method: 'GET' });
    expect((await queryRangeSeries(typed, { query: 'x', startS: 0, endS: 600, stepS: 300, resource: 'api_calls', breakdownBy: ['method', 'route'], seriesHint: 1 })).breakdown.map((b) => b.type)).toEqual(['GET ']);
  });

  it('splits a long range into requests of at most 11,000 points and stitches them on one grid', async () => {
    const { q, calls } = fakeQuerier(['a', 'b'], (ten, t) => (ten === 'a' ? t : 2 * t));
    const r = await queryRangeSeries(q, { query: 'x', startS: 0, endS: 25_000 * 60, stepS: 60, resource: 'cpu', seriesHint: 2 });
    expect(calls.length).toBe(3);
    for (const c of calls) expect((c.end - c.start) / c.step + 1).toBeLessThanOrEqual(11_000);
    expect(calls[1].start).toBe(calls[0].end + 60);
    const a = r.set.series.find((s) => s.tenant === 'a')!;
    expect(a.values.length).toBe(25_001);
    expect(a.values[12_345]).toBe(12_345 * 60);
    expect(r.set.series.find((s) => s.tenant === 'b')!.values[25_000]).toBe(2 * 25_000 * 60);
  });

  it('keeps each request under the sample budget: a probe learns the series count, later chunks are sized from it', async () => {
    const tenants = Array.from({ length: 100 }, (_, i) => `t${i}`);
    const f = (ten: string, t: number) => Number(ten.slice(1)) * 1000 + t / 300;
    const { q, calls } = fakeQuerier(tenants, f);
    const week = { query: 'x', startS: 0, endS: 2015 * 300, stepS: 300, resource: 'cpu' };
    const r = await queryRangeSeries(q, { ...week, maxSamplesPerRequest: 10_000 });
    const points = calls.map((c) => (c.end - c.start) / c.step + 1);
    expect(points[0]).toBe(12); // the probe
    for (const p of points.slice(1)) expect(p * tenants.length).toBeLessThanOrEqual(10_000);
    expect(points.reduce((a, b) => a + b, 0)).toBe(2016);
    expect(calls.length).toBe(1 + Math.ceil((2016 - 12) / 100));
    expect(r.seriesSeen).toBe(100);
    // the stitched result is the one a single request gives
    const { q: q1, calls: one } = fakeQuerier(tenants, f);
    const whole = await queryRangeSeries(q1, { ...week, seriesHint: 100, maxSamplesPerRequest: 1e9 });
    expect(one.length).toBe(1);
    expect(r.set.series.map((x) => Array.from(x.values))).toEqual(whole.set.series.map((x) => Array.from(x.values)));
    // with a hint (the previous pull's count) there is no probe
    const { q: q2, calls: hinted } = fakeQuerier(tenants, f);
    await queryRangeSeries(q2, { ...week, maxSamplesPerRequest: 10_000, seriesHint: 100 });
    expect(hinted.length).toBe(Math.ceil(2016 / 100));
  });

  it('drops the tenants keepTenant rejects as responses are read, and still counts them for the next hint', async () => {
    const { q } = fakeQuerier(['a', 'b', 'c'], () => 1);
    const r = await queryRangeSeries(q, { query: 'x', startS: 0, endS: 600, stepS: 60, resource: 'cpu', keepTenant: (t) => t !== 'b' });
    expect(r.set.series.map((x) => x.tenant)).toEqual(['a', 'c']);
    expect(r.seriesSeen).toBe(3);
  });

  it('marks missing samples NaN (gaps) instead of zero', async () => {
    const { q } = fakeQuerier(['a'], (_t, t) => (t >= 600 && t < 1200 ? NaN : 1));
    const r = await queryRangeSeries(q, { query: 'x', startS: 0, endS: 1800, stepS: 60, resource: 'cpu' });
    const v = r.set.series[0].values;
    expect(v[0]).toBe(1);
    expect(Number.isNaN(v[10])).toBe(true);
    expect(v[20]).toBe(1);
  });

  it('takes a value beyond float32 (finite as a double) as missing, and a sum that goes beyond it too', async () => {
    const { q } = fakeQuerier(['a', 'b'], (tenant, t) => (t === 300 ? 1e39 : t === 600 ? 2e38 : tenant === 'a' ? 1 : 2), { pod: 'x' });
    // two series of one tenant are summed: 2e38 + 2e38 is beyond float32
    const { q: q2 } = fakeQuerier(['a'], (_t, t) => (t === 600 ? 2e38 : NaN));
    const both: RangeQuerier = {
      async rangeQuery(query, s, e, step) {
        const [r1, r2] = await Promise.all([q.rangeQuery(query, s, e, step), q2.rangeQuery(query, s, e, step)]);
        return { resultType: 'matrix', result: [...(r1.result as unknown[]), ...(r2.result as unknown[])] } as unknown as QueryResult;
      },
    };
    const r = await queryRangeSeries(both, { query: 'x', startS: 0, endS: 900, stepS: 300, resource: 'disk_write' });
    const [a, b] = r.set.series.map((s) => Array.from(s.values));
    expect(a).toEqual([1, NaN, NaN, 1]);
    expect(b).toEqual([2, NaN, 2e38, 2]);
    for (const v of [...a, ...b]) expect(Number.isNaN(v) || Math.fround(v) !== Infinity).toBe(true);
  });

  it('leaves out series without the tenant label and counts them', async () => {
    const q: RangeQuerier = {
      async rangeQuery() {
        return { resultType: 'matrix', result: [{ metric: { name: '', labels: { pod: 'x' } }, values: [{ time: new Date(0), value: 1 }] }] } as unknown as QueryResult;
      },
    };
    const r = await queryRangeSeries(q, { query: 'x', startS: 0, endS: 60, stepS: 60, resource: 'cpu' });
    expect(r.set.series.length).toBe(0);
    expect(r.unlabelled).toBe(1);
  });

  it('wraps the plain objects prometheus-query throws into coded errors', async () => {
    const timeout: RangeQuerier = { rangeQuery: () => Promise.reject({ status: 'error', errorType: 'timeout_error', error: 'timeout of 50ms exceeded', code: 'ECONNABORTED' }) };
    await expect(queryRangeSeries(timeout, { query: 'up', startS: 0, endS: 60, stepS: 60, resource: 'cpu', timeoutMs: 50 })).rejects.toMatchObject({
      code: 'FORESIGHT_ERR_PROM_TIMEOUT',
      message: expect.stringContaining('50 ms'),
    });
    const bad: RangeQuerier = { rangeQuery: () => Promise.reject({ status: 'error', errorType: 'http_error', httpStatus: 400, error: 'parse error at char 5' }) };
    await expect(queryRangeSeries(bad, { query: 'up{', startS: 0, endS: 60, stepS: 60, resource: 'cpu' })).rejects.toMatchObject({
      code: 'FORESIGHT_ERR_PROM_QUERY',
      message: expect.stringMatching(/HTTP 400.*parse error.*up\{/),
    });
    expect(wrapPromError({ errorType: 'client_error', error: 'unexpected client error' }, 'q').message).toMatch(/client_error/);
  });
});

describe('PrometheusSource', () => {
  it('renders templates with the tenant label and escaped exclusions', () => {
    const q = renderQuery(DEFAULT_SIGNALS[0].query, { tenantLabel: 'team', rateWindow: '5m', excludeTenants: ['kube-system', 'x"} or vector(1) #'] });
    expect(q).toBe('sum by (team) (max by (team, namespace, pod, container) (rate(container_cpu_usage_seconds_total{container!="",container!="POD",team!~"kube-system|x\\"\\\\} or vector\\\\(1\\\\) #"}[5m])))');
    expect(() => renderQuery('x', { tenantLabel: 'bad label', rateWindow: '5m' })).toThrow(/label name/);
    // the tenant label namespace: each grouping label once
    expect(renderQuery(DEFAULT_SIGNALS[0].query, { tenantLabel: 'namespace', rateWindow: '5m' })).toBe('sum by (namespace) (max by (namespace, pod, container) (rate(container_cpu_usage_seconds_total{container!="",container!="POD"}[5m])))');
    // $`, $' and $& in a tenant name stay literal (a replacement string would expand them into the template's text)
    const tricky = renderQuery('up{job!=""{{filter}}}', { tenantLabel: 'ns', rateWindow: '5m', excludeTenants: ['self$`', "sel$'f", 'a$&b'] });
    expect(tricky).toBe('up{job!="",ns!~"self\\\\$`|sel\\\\$\'f|a\\\\$&b"}');
    expect(() => renderQuery('x', { tenantLabel: 'ns', rateWindow: '5 minutes' })).toThrow(/rate window/);
  });

  it('returns per-tenant totals and the breakdown for a broken-down signal, and keeps going when one signal fails', async () => {
    const { q } = fakeQuerier(['a'], () => 2, { method: 'GET', route: '/x' });
    let n = 0;
    const flaky: RangeQuerier = {
      rangeQuery: (...args) => (n++ === 0 ? Promise.reject({ errorType: 'network_error', error: 'ECONNREFUSED' }) : q.rangeQuery(...args)),
    };
    const src = new PrometheusSource({
      url: 'http://x',
      tenantLabel: 'namespace',
      rateWindow: '1m',
      querier: flaky,
      signals: [DEFAULT_SIGNALS[0], DEFAULT_SIGNALS.find((s) => s.resource === 'api_calls')!],
    });
    const r = await src.pull({ startS: 0, endS: 120, stepS: 60 });
    expect(r.failures.map((f) => f.resource)).toEqual(['cpu']);
    expect(r.breakdown[0].type).toBe('GET /x');
    expect(r.set.series.find((s) => s.resource === 'api_calls')!.values[1]).toBe(2);
  });

  it('counts a tenant\'s series without method and route in its one api_calls total, beside its typed calls', async () => {
    // 20 req/s from a client library that sets no route, 5 req/s labelled: one series of 25, not two of 20 and 5
    const q: RangeQuerier = {
      async rangeQuery(_query, startD, endD, step) {
        const values = (v: number) => Array.from({ length: (endD.getTime() - startD.getTime()) / 1000 / step + 1 }, (_, i) => ({ time: new Date(startD.getTime() + i * step * 1000), value: v }));
        const result = [
          { metric: { name: '', labels: { namespace: 'shop' } }, values: values(20) },
          { metric: { name: '', labels: { namespace: 'shop', method: 'GET', route: '/x' } }, values: values(5) },
          { metric: { name: '', labels: { namespace: 'ads' } }, values: values(1) },
        ];
        return { resultType: 'matrix', result } as unknown as QueryResult;
      },
    };
    const src = new PrometheusSource({ url: 'http://x', tenantLabel: 'namespace', rateWindow: '1m', querier: q, signals: [DEFAULT_SIGNALS.find((s) => s.resource === 'api_calls')!] });
    const r = await src.pull({ startS: 0, endS: 120, stepS: 60 });
    expect(r.set.series.map((s) => [s.tenant, [...s.values]]).sort()).toEqual([['ads', [1, 1, 1]], ['shop', [25, 25, 25]]]);
    expect(r.breakdown.map((b) => [b.tenant, b.type])).toEqual([['shop', 'GET /x']]);
    expect(r.coverage).toEqual([expect.objectContaining({ resource: 'api_calls', tenants: 2 })]);
  });

  it('keeps only included, not excluded tenants even when an overridden query has no {{filter}}', async () => {
    const { q } = fakeQuerier(['kube-system', 'shop', 'pay', 'ads'], () => 1);
    const query = 'sum by ({{tenant}}) (rate(container_cpu_usage_seconds_total[{{window}}]))';
    const signals = [{ ...DEFAULT_SIGNALS[0], query }];
    const exclude = new PrometheusSource({ url: 'http://x', tenantLabel: 'namespace', rateWindow: '1m', querier: q, signals, excludeTenants: ['kube-system'] });
    expect((await exclude.pull({ startS: 0, endS: 600, stepS: 300 })).set.series.map((s) => s.tenant).sort()).toEqual(['ads', 'pay', 'shop']);
    const include = new PrometheusSource({ url: 'http://x', tenantLabel: 'namespace', rateWindow: '1m', querier: q, signals, includeTenants: ['shop', 'ads'], keepTenant: (t) => t !== 'ads' });
    expect((await include.pull({ startS: 0, endS: 600, stepS: 300 })).set.series.map((s) => s.tenant)).toEqual(['shop']);
  });

  it('reports per signal the tenants it found, and why a signal has none', async () => {
    const cpu = DEFAULT_SIGNALS[0];
    const mk = (q: RangeQuerier, extra: Partial<ConstructorParameters<typeof PrometheusSource>[0]> = {}) =>
      new PrometheusSource({ url: 'http://x', tenantLabel: 'team', rateWindow: '1m', querier: q, signals: [cpu, DEFAULT_SIGNALS.find((s) => s.resource === 'api_calls')!], ...extra });
    const range = { startS: 0, endS: 600, stepS: 300 };
    // series labelled by team: every tenant counted, breakdown totals too
    const labelled = fakeQuerier([], () => 1);
    labelled.q.rangeQuery = async (_q, a) => ({ resultType: 'matrix', result: ['x', 'y'].map((team) => ({ metric: { name: '', labels: { team, method: 'GET', route: '/' } }, values: [{ time: new Date(a.getTime()), value: 1 }] })) }) as unknown as QueryResult;
    expect((await mk(labelled.q).pull(range)).coverage).toEqual([{ resource: 'cpu', tenants: 2, series: 2 }, { resource: 'api_calls', tenants: 2, series: 2 }]);
    // no series at all: the metric is not scraped
    const none = fakeQuerier([], () => 1);
    const c0 = (await mk(none.q).pull(range)).coverage!;
    expect(c0.map((c) => c.tenants)).toEqual([0, 0]);
    expect(c0[0].why).toMatch(/returned no series/);
    // series, but with namespace where the tenant label is team: the label is named
    const wrongLabel = fakeQuerier(['shop', 'pay'], () => 1);
    const c1 = (await mk(wrongLabel.q).pull(range)).coverage!;
    expect(c1[0]).toMatchObject({ resource: 'cpu', tenants: 0 });
    expect(c1[0].why).toMatch(/2 series without a "team" label/);
    // labelled series of tenants this replica does not keep
    const c2 = (await mk(labelled.q, { includeTenants: ['z'] }).pull(range)).coverage!;
    expect(c2[0].why).toMatch(/none of a tenant this replica keeps/);
  });

  it('splits each tenant\'s cpu and memory by container for the VPA recommender, from one instant of a query', async () => {
    const asked: Array<{ query: string; start: number; end: number }> = [];
    const q: RangeQuerier = {
      async rangeQuery(query, a, b) {
        asked.push({ query, start: a.getTime() / 1000, end: b.getTime() / 1000 });
        const row = (team: string, container: string, value: number) => ({ metric: { name: '', labels: { team, container } }, values: [{ time: new Date(a.getTime()), value }] });
        return { resultType: 'matrix', result: [row('shop', 'app', 3), row('shop', 'istio-proxy', 1), row('shop', '', 9), row('pay', 'app', 0), row('pay', 'db', 2)] } as unknown as QueryResult;
      },
    };
    const src = new PrometheusSource({ url: 'http://x', tenantLabel: 'team', rateWindow: '5m', querier: q, signals: DEFAULT_SIGNALS.slice(0, 2), excludeTenants: ['kube-system'] });
    const split = await src.usageSplit(['cpu', 'memory', 'threads'], 1_700_000_123.7);
    const cpu = split.get('cpu')!.containers;
    expect(cpu.get('shop')).toEqual({ app: 0.75, 'istio-proxy': 0.25 }); // the unnamed (pod cgroup) series left out
    expect(cpu.get('pay')).toEqual({ db: 1 });
    expect(asked[0]).toMatchObject({ start: 1_700_000_123, end: 1_700_000_123 });
    expect(asked[0].query).toBe('sum by (team, container) (max by (team, namespace, pod, container) (rate(container_cpu_usage_seconds_total{container!="",container!="POD",team!~"kube-system"}[1h])))');
    expect(split.get('memory')!.containers.size).toBe(2);
    expect(split.has('threads')).toBe(false);
    // by container and by workload per resource, and the workloads' running pods once for both
    expect(asked).toHaveLength(5);
    expect(asked.filter((a) => a.query.includes('kube_pod_status_phase'))).toHaveLength(1);
  });

  it('splits each tenant\'s usage by workload (kube_pod_owner), with each workload\'s running pods', async () => {
    const asked: string[] = [];
    const row = (labels: Record<string, string>, value: number) => ({ metric: { name: '', labels: { namespace: 'shop', ...labels } }, values: [{ time: new Date(0), value }] });
    const q: RangeQuerier = {
      async rangeQuery(query, a) {
        asked.push(query);
        const at = (rows: ReturnType<typeof row>[]) => ({ resultType: 'matrix', result: rows.map((r) => ({ ...r, values: [{ time: new Date(a.getTime()), value: r.values[0].value }] })) }) as unknown as QueryResult;
        if (query.includes('kube_pod_status_phase')) return at([row({ workload: 'web' }, 5), row({ workload: 'db' }, 1)]);
        if (query.includes('workload, container')) return at([row({ workload: 'web', container: 'app' }, 0.9), row({ workload: 'web', container: 'istio-proxy' }, 0.1), row({ workload: 'db', container: 'postgres' }, 2.5), row({ workload: 'cron', container: 'job' }, 0.5)]);
        return at([row({ container: 'app' }, 0.9), row({ container: 'istio-proxy' }, 0.1), row({ container: 'postgres' }, 2.5), row({ container: 'job' }, 0.5)]);
      },
    };
    const src = new PrometheusSource({ url: 'http://x', tenantLabel: 'namespace', rateWindow: '5m', querier: q, signals: DEFAULT_SIGNALS.slice(0, 2) });
    const w = (await src.usageSplit(['cpu'], 1_700_000_000)).get('cpu')!.workloads.get('shop')!;
    expect(w.web.pods).toBe(5);
    expect(w.web.share).toBeCloseTo(1 / 4, 12);
    expect(w.web.containers).toEqual({ app: 0.9, 'istio-proxy': 0.1 });
    expect(w.db).toEqual({ share: 2.5 / 4, pods: 1, containers: { postgres: 1 } });
    expect(w.cron).toBeUndefined(); // no running pod
    expect(asked.find((x) => x.includes('workload, container'))).toContain('* on (namespace, pod) group_left (workload) topk by (namespace, pod) (1, max by (namespace, pod, workload)');
    expect((await src.usageSplit(['threads'], 1_700_000_000)).has('threads')).toBe(false);
  });

  it('queries only the signals a pull names (the loop catching up one signal)', async () => {
    const { q, calls } = fakeQuerier(['shop'], () => 1);
    const src = new PrometheusSource({ url: 'http://x', tenantLabel: 'namespace', rateWindow: '1m', querier: q, signals: DEFAULT_SIGNALS.slice(0, 3) });
    const all = await src.pull({ startS: 0, endS: 600, stepS: 300 });
    expect(new Set(all.set.series.map((s) => s.resource)).size).toBe(3);
    calls.length = 0;
    const one = await src.pull({ startS: 0, endS: 600, stepS: 300, resources: [DEFAULT_SIGNALS[1].resource] });
    expect(one.set.series.map((s) => s.resource)).toEqual([DEFAULT_SIGNALS[1].resource]);
    expect(calls).toHaveLength(1);
  });

  it('sizes a pull\'s chunks from the previous pull\'s series count (no probe after the first), and keeps only a shard\'s tenants', async () => {
    const tenants = Array.from({ length: 50 }, (_, i) => `t${i}`);
    const { q, calls } = fakeQuerier(tenants, () => 1);
    const src = new PrometheusSource({ url: 'http://x', tenantLabel: 'namespace', rateWindow: '1m', querier: q, signals: [DEFAULT_SIGNALS[0]], maxSamplesPerRequest: 5_000, keepTenant: (t) => t.endsWith('7') });
    const day = { startS: 0, endS: 287 * 300, stepS: 300 };
    const first = await src.pull(day);
    expect(calls[0].end - calls[0].start).toBe(11 * 300); // probe
    expect(first.set.series.map((s) => s.tenant)).toEqual(['t17', 't27', 't37', 't47', 't7']);
    calls.length = 0;
    await src.pull(day);
    expect(calls.map((c) => (c.end - c.start) / c.step + 1)).toEqual([100, 100, 88]);
  });
});
