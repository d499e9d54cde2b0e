import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/server/build.js';
import { loopStuck } from '../../src/main.js';
import { acceptsGzip } from '../../src/server/app.js';
import { createExporter } from '../../src/metrics/exporter.js';
import { EngineLoop } from '../../src/loop/engine-loop.js';
import { withoutProcessMetrics } from '../helpers/exposition.js';
import { FakeEngine, FakeSource, manualClock } from './loop-fakes.js';
import { shardOfTenant } from '../../src/model/shard.js';
import { ShardedSource } from '../../src/sources/sharded-source.js';
import { FRAMEWORK_ERRORS } from '../../src/errors.js';

const hostile = 'we"ird\\ns/} or vector(1) #';

describe('HTTP app', () => {
  let app: FastifyInstance;
  let loop: EngineLoop;
  let source: FakeSource;

  beforeAll(async () => {
    source = new FakeSource(['shop', 'payments', hostile], ['cpu', 'memory']);
    loop = new EngineLoop({ source, engine: new FakeEngine({ intervalS: 60 }), clock: manualClock(1_700_000_000) }, { intervalS: 60, historyPoints: 1440 });
    const exporter = createExporter({ snapshot: () => loop.latest() });
    app = await buildServer({ exporter, snapshot: () => loop.latest(), ready: () => loop.ready });
  });
  afterAll(() => app.close());

  it('is live at once but not ready before the first successful cycle, with a clear 503', async () => {
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    const r = await app.inject('/readyz');
    expect(r.statusCode).toBe(503);
    expect(r.json()).toMatchObject({ code: 'FORESIGHT_ERR_NOT_READY' });
    expect((await app.inject('/api/v1/tenants')).statusCode).toBe(503);
    await loop.runOnce();
    expect((await app.inject('/readyz')).json()).toMatchObject({ status: 'ready', cycle: 1 });
  });

  it('answers the API with 503 before the first cycle without logging an error per request; other errors still log', async () => {
    const lines: Array<{ level: number; msg?: string }> = [];
    const sink = new Writable({ write(chunk, _enc, cb) { lines.push(JSON.parse(String(chunk))); cb(); } });
    const fresh = new EngineLoop({ source: new FakeSource(['shop'], ['cpu']), engine: new FakeEngine({ intervalS: 60 }), clock: manualClock(1_700_000_000) }, { intervalS: 60, historyPoints: 1440 });
    const logged = await buildServer({ exporter: createExporter({ snapshot: () => fresh.latest() }), snapshot: () => fresh.latest(), ready: () => fresh.ready, loggerInstance: pino({ level: 'info' }, sink) });
    try {
      for (const path of ['/api/v1/tenants', '/api/v1/tenants/shop', '/api/v1/tenants/shop/forecast']) {
        const r = await logged.inject(path);
        expect(r.statusCode).toBe(503);
        expect(r.json()).toEqual({ statusCode: 503, code: 'FORESIGHT_ERR_NOT_READY', error: 'Service Unavailable', message: 'No successful cycle yet: the first cycle has not completed' });
      }
      expect(lines.filter((l) => l.level >= 40)).toEqual([]);
      await fresh.runOnce();
      expect((await logged.inject('/api/v1/tenants/nobody')).json()).toMatchObject({ code: 'FORESIGHT_ERR_TENANT_NOT_FOUND' });
    } finally {
      await logged.close();
    }
  });

  it('lists tenants with paging and validates the query', async () => {
    const r = await app.inject('/api/v1/tenants?limit=2');
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.total).toBe(3);
    expect(body.tenants.map((t: { tenant: string }) => t.tenant)).toEqual(['payments', 'shop']);
    expect(body.tenants[0].resources).toEqual(['cpu', 'memory']);
    const bad = await app.inject('/api/v1/tenants?limit=0');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/limit/);
    const extra = await app.inject('/api/v1/tenants?color=red');
    expect(extra.statusCode).toBe(400);
    expect(extra.json().message).toBe('querystring must NOT have additional properties ("color" is not one)');
  });

  it('serves a profile for a tenant with a hostile name, and 404 for an unknown tenant', async () => {
    const r = await app.inject(`/api/v1/tenants/${encodeURIComponent(hostile)}`);
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body.tenant).toBe(hostile);
    expect(body.signals.cpu.level).toBeGreaterThan(0);
    expect(body.signals.cpu.dailyShape).toHaveLength(24);
    const nf = await app.inject('/api/v1/tenants/nobody');
    expect(nf.statusCode).toBe(404);
    expect(nf.json()).toMatchObject({ code: 'FORESIGHT_ERR_TENANT_NOT_FOUND', message: expect.stringContaining('nobody') });
  });

  it('serves forecasts per resource, horizon and quantile, and rejects a bad resource', async () => {
    const r = await app.inject('/api/v1/tenants/shop/forecast?resource=cpu');
    expect(r.statusCode).toBe(200);
    const b = r.json();
    expect(b.horizonsS).toEqual([300, 900, 1800]);
    expect(b.forecasts).toHaveLength(1);
    expect(b.forecasts[0].values).toHaveLength(3);
    expect(b.forecasts[0].values[0]).toHaveLength(3);
    const gpu = await app.inject('/api/v1/tenants/shop/forecast?resource=gpu');
    expect(gpu.statusCode).toBe(404);
    expect(gpu.json()).toMatchObject({ code: 'FORESIGHT_ERR_RESOURCE_NOT_FOUND', message: 'Tenant "shop" has no resource "gpu" (it has: cpu, memory)' });
    expect((await app.inject('/api/v1/tenants/shop/forecast?resource=Bad%20One')).statusCode).toBe(400);
  });

  it('serves /metrics in the Prometheus text format and an OpenAPI document', async () => {
    const m = await app.inject('/metrics');
    expect(m.statusCode).toBe(200);
    expect(m.headers['content-type']).toMatch(/text\/plain/);
    expect(m.body).toContain('foresight_forecast{tenant="shop",resource="cpu",horizon="5m",quantile="0.5"}');
    expect(m.headers['content-encoding']).toBeUndefined();
    // as Prometheus asks for it: gzip, the same exposition once decoded
    const z = await app.inject({ url: '/metrics', headers: { 'accept-encoding': 'gzip' } });
    expect(z.headers['content-encoding']).toBe('gzip');
    expect(withoutProcessMetrics(gunzipSync(z.rawPayload).toString())).toBe(withoutProcessMetrics(m.body));
    const o = await app.inject('/openapi.json');
    const doc = o.json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/tenants', '/api/v1/tenants/{tenant}', '/api/v1/tenants/{tenant}/forecast', '/healthz', '/readyz']));
    expect((await app.inject('/nope')).json()).toMatchObject({ statusCode: 404, message: expect.stringContaining('/openapi.json') });
  });

  it('marks everything stale while the source is down', async () => {
    source.fail = true;
    await loop.runOnce();
    const b = (await app.inject('/api/v1/tenants/shop/forecast')).json();
    expect(b.stale).toBe(true);
    expect(b.forecasts.length).toBe(2);
    source.fail = false;
  });
});

describe('HTTP error answers', () => {
  it('answers a wrong method on an existing path with 405 and an Allow header, and an unknown path with 404', async () => {
    const loop = new EngineLoop({ source: new FakeSource(['shop'], ['cpu']), engine: new FakeEngine({ intervalS: 60 }), clock: manualClock(1_700_000_000) }, { intervalS: 60, historyPoints: 120 });
    const app = await buildServer({ exporter: createExporter({ snapshot: () => loop.latest() }), snapshot: () => loop.latest(), ready: () => loop.ready });
    try {
      for (const [method, url] of [['POST', '/api/v1/tenants'], ['DELETE', '/api/v1/tenants/shop/forecast?resource=cpu'], ['PUT', '/metrics']] as const) {
        const r = await app.inject({ method, url });
        expect(r.statusCode, `${method} ${url}`).toBe(405);
        expect(r.headers.allow).toBe('GET, HEAD');
        expect(r.json()).toEqual({ statusCode: 405, code: 'FORESIGHT_ERR_METHOD_NOT_ALLOWED', error: 'Method Not Allowed', message: `${method} is not allowed on ${url.split('?')[0]}: it takes GET, HEAD (see /openapi.json)` });
      }
      const nf = await app.inject({ method: 'POST', url: '/api/v1/nothing' });
      expect(nf.statusCode).toBe(404);
      expect(nf.headers.allow).toBeUndefined();
    } finally {
      await app.close();
    }
  });

  it('lists in the README errors table every code the API answers with, Fastify\'s own included', async () => {
    const loop = new EngineLoop({ source: new FakeSource(['shop'], ['cpu']), engine: new FakeEngine({ intervalS: 60 }), clock: manualClock(1_700_000_000) }, { intervalS: 60, historyPoints: 120 });
    const app = await buildServer({ exporter: createExporter({ snapshot: () => loop.latest() }), snapshot: () => loop.latest(), ready: () => loop.ready });
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('<!-- BEGIN errors -->'), readme.indexOf('<!-- END errors -->'));
    const documented = new Map([...table.matchAll(/^\| `([A-Z_]+)` \| (\d+) \|/gm)].map((m) => [m[1], Number(m[2])]));
    try {
      const answers = [await app.inject('/api/v1/tenants')];
      await loop.runOnce();
      for (const url of ['/api/v1/tenants?limit=0', '/api/v1/tenants/%ZZ', '/api/v1/tenants/nobody', '/api/v1/tenants/shop/forecast?resource=gpu', '/nope']) answers.push(await app.inject(url));
      answers.push(await app.inject({ method: 'POST', url: '/api/v1/tenants' }));
      const seen = new Map(answers.map((r) => [r.json().code as string, r.statusCode]));
      expect([...seen.keys()].sort()).toEqual([
        'FORESIGHT_ERR_METHOD_NOT_ALLOWED', 'FORESIGHT_ERR_NOT_READY', 'FORESIGHT_ERR_RESOURCE_NOT_FOUND', 'FORESIGHT_ERR_TENANT_NOT_FOUND', 'FST_ERR_BAD_URL', 'FST_ERR_NOT_FOUND', 'FST_ERR_VALIDATION',
      ]);
      for (const [code, status] of seen) expect(documented.get(code), code).toBe(status);
      // and each of Fastify's codes the table lists is one the API gives
      for (const e of FRAMEWORK_ERRORS) expect(seen.get(e.code), e.code).toBe(e.statusCode);
    } finally {
      await app.close();
    }
  });
});

describe('HTTP app of one shard', () => {
  it('answers a tenant owned by another shard with a 404 that names that shard', async () => {
    const shard = { index: 1, total: 3 };
    const tenants = Array.from({ length: 12 }, (_, i) => `team-${i}`);
    const mine = tenants.filter((t) => shardOfTenant(t, 3) === 1);
    const other = tenants.find((t) => shardOfTenant(t, 3) === 2)!;
    const loop = new EngineLoop({ source: new ShardedSource(new FakeSource(tenants, ['cpu']), shard), engine: new FakeEngine({ intervalS: 60 }), clock: manualClock(1_700_000_000) }, { intervalS: 60, historyPoints: 120 });
    const app = await buildServer({ exporter: createExporter({ snapshot: () => loop.latest(), shard }), snapshot: () => loop.latest(), ready: () => loop.ready, shard });
    try {
      await loop.runOnce();
      expect((await app.inject('/api/v1/tenants')).json().total).toBe(mine.length);
      expect((await app.inject(`/api/v1/tenants/${mine[0]}/forecast`)).statusCode).toBe(200);
      for (const path of [`/api/v1/tenants/${other}`, `/api/v1/tenants/${other}/forecast`]) {
        const r = await app.inject(path);
        expect(r.statusCode).toBe(404);
        expect(r.json()).toMatchObject({ code: 'FORESIGHT_ERR_TENANT_NOT_FOUND', message: `Unknown tenant: "${other}" is served by shard 2 of 3; this replica is shard 1` });
      }
      // an owned name with no series is simply unknown
      const ownedUnknown = Array.from({ length: 50 }, (_, i) => `ghost-${i}`).find((t) => shardOfTenant(t, 3) === 1)!;
      expect((await app.inject(`/api/v1/tenants/${ownedUnknown}`)).json().message).toBe(`Unknown tenant: "${ownedUnknown}"`);
    } finally {
      await app.close();
    }
  });
});

describe('HTTP app before its first successful cycle', () => {
  it('answers the JSON API with 503 FORESIGHT_ERR_NOT_READY after a failed first pull, not an empty list or a 404', async () => {
    const source = new FakeSource(['shop'], ['cpu']);
    const loop = new EngineLoop({ source, engine: new FakeEngine({ intervalS: 60 }), clock: manualClock(1_700_000_000) }, { intervalS: 60, historyPoints: 120 });
    const app = await buildServer({ exporter: createExporter({ snapshot: () => loop.latest() }), snapshot: () => loop.latest(), ready: () => loop.ready });
    try {
      source.fail = true;
      await loop.runOnce();
      expect(loop.latest()?.stale).toBe(true); // the loop did publish a (stale, empty) snapshot
      for (const path of ['/readyz', '/api/v1/tenants', '/api/v1/tenants/shop', '/api/v1/tenants/shop/forecast']) {
        const r = await app.inject(path);
        expect({ path, status: r.statusCode }).toEqual({ path, status: 503 });
        expect(r.json()).toMatchObject({ code: 'FORESIGHT_ERR_NOT_READY' });
      }
      source.fail = false;
      await loop.runOnce();
      expect((await app.inject('/api/v1/tenants')).json().tenants.map((t: { tenant: string }) => t.tenant)).toEqual(['shop']);
    } finally {
      await app.close();
    }
  });
});

describe('HTTP app with long tenant names', () => {
  // 120 characters (over Fastify's default maxParamLength of 100), and 253 four-byte characters (1,012 UTF-8 bytes,
  // 3,036 characters URL-encoded): both within the schema's 253 and served
  const long = `team-${'x'.repeat(115)}`;
  const wide = '\u{1F600}'.repeat(253);

  it('serves every name the schema admits and answers a longer one with the schema\'s 400', async () => {
    const loop = new EngineLoop({ source: new FakeSource([long, wide], ['cpu']), engine: new FakeEngine({ intervalS: 60 }), clock: manualClock(1_700_000_000) }, { intervalS: 60, historyPoints: 120 });
    const app = await buildServer({ exporter: createExporter({ snapshot: () => loop.latest() }), snapshot: () => loop.latest(), ready: () => loop.ready });
    try {
      await loop.runOnce();
      expect((await app.inject('/api/v1/tenants')).json().total).toBe(2);
      for (const name of [long, wide]) {
        for (const path of [`/api/v1/tenants/${encodeURIComponent(name)}`, `/api/v1/tenants/${encodeURIComponent(name)}/forecast`]) {
          const r = await app.inject(path);
          expect({ len: name.length, status: r.statusCode }).toEqual({ len: name.length, status: 200 });
          expect(r.json().tenant).toBe(name);
        }
      }
      for (const name of ['y'.repeat(300), '\u{1F600}'.repeat(254)]) {
        const r = await app.inject(`/api/v1/tenants/${encodeURIComponent(name)}/forecast`);
        expect(r.statusCode).toBe(400);
        expect(r.json().message).toMatch(/tenant must NOT have more than 253 characters/);
      }
    } finally {
      await app.close();
    }
  });
});

describe('HTTP probes and /metrics negotiation', () => {
  it('documents the probes\' success responses in the OpenAPI document, and answers with them', async () => {
    const loop = new EngineLoop({ source: new FakeSource(['shop'], ['cpu']), engine: new FakeEngine({ intervalS: 60 }), clock: manualClock(1_700_000_000) }, { intervalS: 60, historyPoints: 120 });
    const app = await buildServer({ exporter: createExporter({ snapshot: () => loop.latest() }), snapshot: () => loop.latest(), ready: () => loop.ready });
    try {
      const doc = (await app.inject('/openapi.json')).json();
      const schemaOf = (path: string, code: string) => doc.paths[path].get.responses[code]?.content?.['application/json']?.schema;
      expect(schemaOf('/healthz', '200')).toMatchObject({ type: 'object', properties: { status: { enum: ['ok'] } } });
      expect(schemaOf('/readyz', '200')).toMatchObject({ type: 'object', required: ['status', 'cycle', 'stale'], properties: { status: { enum: ['ready'] }, cycle: { type: 'integer' }, stale: { type: 'boolean' } } });
      expect(doc.paths['/readyz'].get.responses['503']).toBeDefined();
      await loop.runOnce();
      expect((await app.inject('/healthz')).json()).toEqual({ status: 'ok' });
      expect((await app.inject('/readyz')).json()).toEqual({ status: 'ready', cycle: 1, stale: false });
    } finally {
      await app.close();
    }
  });

  it('compresses /metrics only when Accept-Encoding allows gzip with a q-value above 0', async () => {
    const loop = new EngineLoop({ source: new FakeSource(['shop'], ['cpu']), engine: new FakeEngine({ intervalS: 60 }), clock: manualClock(1_700_000_000) }, { intervalS: 60, historyPoints: 120 });
    const app = await buildServer({ exporter: createExporter({ snapshot: () => loop.latest() }), snapshot: () => loop.latest(), ready: () => loop.ready });
    try {
      await loop.runOnce();
      const encodingFor = async (accept: string) => (await app.inject({ url: '/metrics', headers: { 'accept-encoding': accept } })).headers['content-encoding'];
      expect(await encodingFor('gzip;q=0')).toBeUndefined();
      expect(await encodingFor('identity, gzip;q=0.000')).toBeUndefined();
      expect(await encodingFor('gzip;q=0.5, identity')).toBe('gzip');
    } finally {
      await app.close();
    }
  });

  it('reads Accept-Encoding q-values as RFC 9110 says', () => {
    expect(acceptsGzip(undefined)).toBe(false);
    expect(acceptsGzip('')).toBe(false);
    expect(acceptsGzip('gzip')).toBe(true);
    expect(acceptsGzip('deflate, GZIP ; Q=0.8')).toBe(true);
    expect(acceptsGzip('x-gzip')).toBe(true);
    expect(acceptsGzip('gzip;q=0')).toBe(false);
    expect(acceptsGzip('gzip; q=0.0, deflate')).toBe(false);
    expect(acceptsGzip('*')).toBe(true);
    expect(acceptsGzip('*;q=0')).toBe(false);
    // an explicit entry beats the wildcard
    expect(acceptsGzip('gzip;q=0, *')).toBe(false);
    expect(acceptsGzip('gzip, *;q=0')).toBe(true);
    // "gzipped" is not gzip, and a malformed weight is ignored
    expect(acceptsGzip('gzipped')).toBe(false);
    expect(acceptsGzip('gzip;q=lots')).toBe(false);
  });
});

describe('/healthz', () => {
  // how overdue the loop's cycle is `ahead` ms in the future: what a probe would see then, without waiting for it
  let ahead = 0;
  const probe = async (loop: EngineLoop) => {
    const exporter = createExporter({ snapshot: () => loop.latest() });
    const app = await buildServer({ exporter, snapshot: () => loop.latest(), ready: () => loop.ready, stuck: () => loopStuck({ overdueS: () => loop.overdueS(performance.now() + ahead) }, 1800) });
    return { app, get: async () => (await app.inject('/healthz')).json() as { status?: string; code?: string } };
  };

  it('fails when a cycle has not finished livenessTimeout after it was due, and is live again once it has', async () => {
    const source = new FakeSource(['a'], ['cpu']);
    const pull = source.pull.bind(source);
    let release!: () => void;
    const hang = new Promise<void>((r) => (release = r));
    source.pull = async (range) => {
      await hang; // a request that never settles, until released
      return pull(range);
    };
    const loop = new EngineLoop({ source, engine: new FakeEngine({ intervalS: 60 }), clock: manualClock(1_700_000_000) }, { intervalS: 60, historyPoints: 60 });
    const { app, get } = await probe(loop);
    ahead = 3_600_000;
    expect(await get()).toEqual({ status: 'ok' }); // not started: nothing to judge
    loop.start(3_600_000);
    ahead = 1_700_000;
    expect(await get()).toEqual({ status: 'ok' });
    ahead = 1_801_000;
    expect(await get()).toMatchObject({ code: 'FORESIGHT_ERR_LOOP_STUCK', message: expect.stringMatching(/cycle due 1801 s ago has not finished, past livenessTimeout \(1800 s\)/) });
    release();
    await loop.runOnce(); // the cycle in flight ends; the next is due in an hour
    expect(await get()).toEqual({ status: 'ok' });
    ahead = 3_600_000 + 1_801_000;
    expect((await get()).code).toBe('FORESIGHT_ERR_LOOP_STUCK'); // had it not started and finished by then
    await loop.stop();
    await app.close();
  });

  it('counts a cycle whose pull failed as finished: Prometheus away is not a reason to restart', async () => {
    const source = new FakeSource(['a'], ['cpu']);
    source.fail = true;
    const loop = new EngineLoop({ source, engine: new FakeEngine({ intervalS: 60 }), clock: manualClock(1_700_000_000) }, { intervalS: 60, historyPoints: 60 });
    const { app, get } = await probe(loop);
    loop.start(3_600_000);
    await loop.runOnce();
    ahead = 3_600_000 + 1_700_000;
    expect(loop.ready).toBe(false);
    expect(await get()).toEqual({ status: 'ok' });
    await loop.stop();
    await app.close();
  });
});
