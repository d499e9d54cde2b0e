// Issue 7: every resource in the API says which actuation applies, and network gets a bandwidth recommendation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/server/build.js';
import { createExporter } from '../../src/metrics/exporter.js';
import { EngineLoop } from '../../src/loop/engine-loop.js';
import { createAllocationDecider } from '../../src/loop/allocation-adapter.js';
import { seriesKey } from '../../src/model/series.js';
import { FakeEngine, FakeSource, manualClock } from './loop-fakes.js';

interface Actuation {
  resource: string;
  enforcement: string;
  knobs: string[];
  action: string;
  limit: number | null;
  bandwidth: { annotation: string; value: string; bytesPerS: number } | null;
}

describe('API actuation field', () => {
  let app: FastifyInstance;
  let loop: EngineLoop;

  beforeAll(async () => {
    // network in bytes/s around 1e6, fds around 2-4
    const source = new FakeSource(['shop'], ['cpu', 'network_rx', 'network_tx', 'fds', 'disk_read'], (_t, r, t) =>
      (r.startsWith('network') ? 1e6 : 1) * (3 + Math.sin((2 * Math.PI * t) / 86_400)),
    );
    const decider = createAllocationDecider();
    loop = new EngineLoop({ source, engine: new FakeEngine({ intervalS: 60 }), clock: manualClock(1_700_000_000), decide: decider.decide }, { intervalS: 60, historyPoints: 600 });
    const exporter = createExporter({ snapshot: () => loop.latest() });
    app = await buildServer({ exporter, snapshot: () => loop.latest(), ready: () => loop.ready, resourceLimits: { fds: { default: 1024, tenants: {} } } });
    await loop.runOnce();
  });
  afterAll(() => app.close());

  it('gives every resource of the profile its knob, enforcement and action', async () => {
    const r = await app.inject('/api/v1/tenants/shop');
    expect(r.statusCode).toBe(200);
    const by = new Map<string, Actuation>(r.json().resources.map((x: { resource: string; actuation: Actuation }) => [x.resource, x.actuation]));
    expect([...by.keys()].sort()).toEqual(['cpu', 'disk_read', 'fds', 'network_rx', 'network_tx']);
    expect(by.get('cpu')).toMatchObject({ resource: 'cpu', enforcement: 'enforced', limit: null, bandwidth: null });
    expect(by.get('cpu')!.knobs.join(' ')).toContain('VPA');
    expect(by.get('fds')).toMatchObject({ resource: 'fds', enforcement: 'none', knobs: [], limit: 1024, bandwidth: null });
    expect(by.get('fds')!.action).toMatch(/No per-tenant Kubernetes knob/);
    expect(by.get('disk_read')).toMatchObject({ resource: 'disk_io', enforcement: 'none', limit: null });
    expect(by.get('network_rx')).toMatchObject({ resource: 'network', enforcement: 'advisory' });
  });

  it('recommends the bandwidth annotations from the network forecast, in the API and as foresight_recommendation', async () => {
    const f = await app.inject('/api/v1/tenants/shop/forecast?resource=network_tx');
    expect(f.statusCode).toBe(200);
    const [fc] = f.json().forecasts as Array<{ resource: string; actuation: Actuation }>;
    expect(fc.resource).toBe('network_tx');
    const target = loop.latest()!.resources.get(seriesKey('shop', 'network_tx'))!.recommendation!.target;
    // the target allocation of the network forecast, at or above current usage (~1e6 bytes/s)
    expect(target).toBeGreaterThan(1e6);
    expect(fc.actuation.bandwidth).toEqual({ annotation: 'kubernetes.io/egress-bandwidth', value: String(Math.ceil(target * 8)), bytesPerS: target });
    const rx = (await app.inject('/api/v1/tenants/shop/forecast?resource=network_rx')).json().forecasts[0].actuation as Actuation;
    expect(rx.bandwidth!.annotation).toBe('kubernetes.io/ingress-bandwidth');
    const metrics = (await app.inject('/metrics')).body;
    const line = metrics.split('\n').find((l) => l.startsWith('foresight_recommendation{tenant="shop",resource="network_tx",bound="target"}'));
    expect(line).toBeDefined();
    // /metrics writes values to 7 significant digits (text-gauge.ts)
    expect(Math.abs(Number(line!.split(' ').pop()) / target - 1)).toBeLessThanOrEqual(5e-7);
    // the OpenAPI document describes the field
    const doc = (await app.inject('/openapi.json')).json();
    expect(JSON.stringify(doc)).toContain('kubernetes.io/ingress-bandwidth (network_rx)');
  });
});
