// A Prometheus that answers slowly or with garbage: the pull times out or fails with a clear coded error, the loop
// counts it (foresight_errors_total{stage="pull"}), stays unready, and keeps running.
import { createServer, type Server } from 'node:http';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { freePort } from '../helpers/prometheus.js';
import { loadConfig } from '../../src/config/load.js';
import { startSidecar, type Sidecar } from '../../src/main.js';
import { PrometheusSource } from '../../src/sources/prometheus-source.js';
import { DEFAULT_SIGNALS } from '../../src/sources/default-signals.js';

type Mode = 'slow' | 'malformed' | 'html' | 'login' | 'error' | 'hang';

describe('pulling from a misbehaving Prometheus', () => {
  let server: Server;
  let url = '';
  let mode: Mode = 'slow';
  let asked = 0;
  const pending = new Set<NodeJS.Timeout>();

  beforeAll(async () => {
    server = createServer((req, res) => {
      asked++;
      if (mode === 'hang') return; // never answers: only the client's timeout or abort ends the request
      if (mode === 'slow') {
        const t = setTimeout(() => res.end('{"status":"success","data":{"resultType":"matrix","result":[]}}'), 3_000);
        pending.add(t);
        req.on('close', () => clearTimeout(t));
        return;
      }
      if (mode === 'malformed') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"success","data":{"resultType":"matr');
        return;
      }
      if (mode === 'login') {
        // an auth proxy's login page, answered with 200
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<html>\n  <title>Sign in</title> proxy login</html>');
        return;
      }
      if (mode === 'html') {
        res.writeHead(502, { 'content-type': 'text/html' }).end('<html>Bad gateway</html>');
        return;
      }
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected end of input"}');
    });
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    for (const t of pending) clearTimeout(t);
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  const src = () => new PrometheusSource({ url, signals: [DEFAULT_SIGNALS[0]], tenantLabel: 'namespace', rateWindow: '5m', timeoutMs: 300 });

  it('times out a slow response with FORESIGHT_ERR_PROM_TIMEOUT naming the limit and the query', async () => {
    mode = 'slow';
    const t0 = Date.now();
    await expect(src().pull({ startS: 1_700_000_000, endS: 1_700_000_600, stepS: 60 })).rejects.toMatchObject({
      code: 'FORESIGHT_ERR_PROM_TIMEOUT',
      message: expect.stringMatching(/300 ms.*container_cpu_usage_seconds_total/),
    });
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it.each<[Mode, RegExp]>([
    ['malformed', /HTTP 200 OK from http:\/\/127\.0\.0\.1:\d+ is not Prometheus' JSON \(content-type application\/json\).*; body: \{"status":"success","data":\{"resultType":"matr/],
    ['login', /HTTP 200 OK from http:\/\/127\.0\.0\.1:\d+ is not Prometheus' JSON \(content-type text\/html; charset=utf-8\): a login page .*; body: <html> <title>Sign in<\/title> proxy login<\/html> \(query: /],
    ['html', /HTTP 502 Bad Gateway from http:\/\/127\.0\.0\.1:\d+; body: <html>Bad gateway<\/html>/],
    ['error', /HTTP 400.*parse error/],
  ])('turns a %s answer into FORESIGHT_ERR_PROM_QUERY with a readable message', async (m, msg) => {
    mode = m;
    const err = (await src().pull({ startS: 1_700_000_000, endS: 1_700_000_600, stepS: 60 }).catch((e: unknown) => e)) as Error & { code: string };
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('FORESIGHT_ERR_PROM_QUERY');
    expect(err.message).toMatch(msg);
  });

  it('closes a sidecar at once while a pull waits on a Prometheus that never answers', async () => {
    mode = 'hang';
    const config = loadConfig({
      env: { FORESIGHT_PORT: String(await freePort()), FORESIGHT_HOST: '127.0.0.1', FORESIGHT_PROMETHEUS_URL: url, FORESIGHT_PROMETHEUS_TIMEOUT: '60', FORESIGHT_SIGNALS: 'cpu' },
    });
    const before = asked;
    const lines: Array<{ level: number; msg: string }> = [];
    const sink = new Writable({ write(chunk, _enc, cb) { lines.push(JSON.parse(String(chunk))); cb(); } });
    const sidecar = await startSidecar(config, { logger: pino({ level: 'info' }, sink) });
    const deadline = Date.now() + 5_000;
    while (asked === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(asked).toBeGreaterThan(before);
    const t0 = Date.now();
    await sidecar.close();
    // without aborting the pull, close() waited for the cycle, i.e. for the 60 s timeout
    expect(Date.now() - t0).toBeLessThan(2_000);
    // and the aborted pull is no failure to report
    expect(lines.filter((l) => l.level >= 40).map((l) => l.msg)).toEqual([]);
    expect(lines.map((l) => l.msg)).toContain('pull stopped: shutting down');
  }, 20_000);

  describe('in the running sidecar', () => {
    let sidecar: Sidecar;
    beforeAll(async () => {
      mode = 'slow';
      const config = loadConfig({
        env: {
          FORESIGHT_PORT: String(await freePort()),
          FORESIGHT_HOST: '127.0.0.1',
          FORESIGHT_PROMETHEUS_URL: url,
          FORESIGHT_PROMETHEUS_TIMEOUT: '0.3',
          FORESIGHT_INTERVAL: '1',
          FORESIGHT_CYCLE: '0.2',
          FORESIGHT_HISTORY: '60',
          FORESIGHT_HORIZONS: '5',
          FORESIGHT_SIGNALS: 'cpu',
        },
      });
      sidecar = await startSidecar(config, { logger: pino({ level: 'silent' }) });
    });
    afterAll(() => sidecar?.close());

    it('counts every failed pull, stays unready and keeps cycling', async () => {
      const deadline = Date.now() + 10_000;
      let failures = 0;
      while (Date.now() < deadline && failures < 3) {
        const body = await (await fetch(`${sidecar.url}/metrics`)).text();
        failures = Number(/^foresight_errors_total\{stage="pull"\} (\d+)/m.exec(body)?.[1] ?? 0);
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(failures).toBeGreaterThanOrEqual(3);
      const body = await (await fetch(`${sidecar.url}/metrics`)).text();
      expect(body).toMatch(/^foresight_cycles_total\{outcome="failure"\} [3-9]/m);
      expect(body).toMatch(/^foresight_cycles_total\{outcome="success"\} 0/m);
      const ready = await fetch(`${sidecar.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(sidecar.loop.latest()?.lastError).toMatch(/timed out after 300 ms/);
      mode = 'malformed';
      await new Promise((r) => setTimeout(r, 1_000));
      expect(sidecar.loop.latest()?.lastError).toMatch(/PromQL query failed/);
    }, 20_000);
  });
});
