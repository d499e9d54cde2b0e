// Prometheus as it is often reached in a cluster: over TLS signed by a private CA, asking for a client certificate and
// basic auth (its own --web.config.file), or behind a proxy that takes a bearer token and a tenant header (as
// OpenShift's thanos-querier, a kube-rbac-proxy or a Mimir gateway do). Foresight pulls through each with the settings
// of its configuration, picks up a rotated token without a restart, and says what is wrong when a setting is.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithBinaries } from '../helpers/binaries.js';
import { freePort, startPrometheus, type PrometheusInstance } from '../helpers/prometheus.js';
import { makeTestPki, type TestPki } from '../helpers/tls.js';
import { startWorkloadExporter, type WorkloadExporter } from '../helpers/workload-exporter.js';
import { FAST_GRID_ENV } from '../helpers/sidecar-env.js';
import { loadConfig } from '../../src/config/load.js';
import { startSidecar, type Sidecar } from '../../src/main.js';
import { DEFAULT_SIGNALS } from '../../src/sources/default-signals.js';
import { PrometheusSource } from '../../src/sources/prometheus-source.js';
import { connectionOf, type PrometheusConnection } from '../../src/sources/prometheus-connection.js';

const USER = 'foresight';
const PASSWORD = 'foresight-test-password';
// bcrypt of PASSWORD (cost 4), as Prometheus' basic_auth_users takes it
const PASSWORD_HASH = '$2b$04$yJPBbPRYgQs09tIKjBGwl.8LlD/JasTrWeVBPzA5f3XmuctpQ4hAu';
const ORG = 'team-a';
const MEMORY = DEFAULT_SIGNALS.find((s) => s.resource === 'memory')!;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** GET over https with the given TLS material and headers: the status and the body. */
function httpsGet(url: string, o: RequestOptions): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ...o, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

describeWithBinaries('pulling from a Prometheus behind TLS, client certificates, basic auth and a bearer-token proxy', ['prometheus', 'openssl'], (bins) => {
  let pki: TestPki;
  let exporter: WorkloadExporter;
  let prom: PrometheusInstance;
  let proxy: Server;
  let proxyUrl = '';
  let token = 'first-token';
  let passwordFile = '';
  let tokenFile = '';
  let tls: RequestOptions;
  const proxied: string[] = [];

  beforeAll(async () => {
    pki = makeTestPki(bins.openssl);
    passwordFile = join(pki.dir, 'password');
    tokenFile = join(pki.dir, 'token');
    writeFileSync(passwordFile, `${PASSWORD}\n`);
    writeFileSync(tokenFile, token);
    const webConfig = join(pki.dir, 'web.yml');
    writeFileSync(
      webConfig,
      [
        'tls_server_config:',
        `  cert_file: ${JSON.stringify(pki.serverCert)}`,
        `  key_file: ${JSON.stringify(pki.serverKey)}`,
        '  client_auth_type: RequireAndVerifyClientCert',
        `  client_ca_file: ${JSON.stringify(pki.caCert)}`,
        'basic_auth_users:',
        `  ${USER}: ${JSON.stringify(PASSWORD_HASH)}`,
        '',
      ].join('\n'),
    );
    tls = { ca: readFileSync(pki.caCert), cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey), auth: `${USER}:${PASSWORD}` };
    exporter = await startWorkloadExporter({ tenantCount: 3, speed: 600 });
    prom = await startPrometheus({
      binary: bins.prometheus,
      scrapeIntervalS: 1,
      targets: [{ job: 'workload', address: exporter.address }],
      web: { configFile: webConfig, tls: true, ready: async (url) => (await httpsGet(`${url}/-/ready`, tls)).status === 200 },
    });
    // A kube-rbac-proxy-like gateway: the current bearer token and the tenant header, else 401/403; then the request
    // goes on to Prometheus with the proxy's own client certificate and basic auth.
    proxy = createServer((req, res) => {
      const auth = req.headers.authorization ?? '';
      proxied.push(`${auth} ${String(req.headers['x-scope-orgid'])}`);
      if (auth !== `Bearer ${token}`) return void res.writeHead(401, { 'content-type': 'text/plain' }).end('Unauthorized\n');
      if (req.headers['x-scope-orgid'] !== ORG) return void res.writeHead(403, { 'content-type': 'text/plain' }).end(`no org "${String(req.headers['x-scope-orgid'])}"\n`);
      const up = httpsRequest(`${prom.url}${req.url ?? '/'}`, { ...tls, method: req.method, headers: { 'content-type': req.headers['content-type'] ?? '' } }, (r) => {
        res.writeHead(r.statusCode ?? 502, { 'content-type': r.headers['content-type'] ?? 'application/json' });
        r.pipe(res);
      });
      up.on('error', (e) => res.writeHead(502).end(String(e)));
      req.pipe(up);
    });
    const port = await freePort();
    await new Promise<void>((r) => proxy.listen(port, '127.0.0.1', () => r()));
    proxyUrl = `http://127.0.0.1:${port}`;
  }, 60_000);

  afterAll(async () => {
    proxy?.closeAllConnections();
    await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
    await prom?.destroy();
    await exporter?.stop();
    if (pki) rmSync(pki.dir, { recursive: true, force: true });
  });

  const settings = (over: Record<string, unknown>) => ({
    prometheusUrl: prom.url,
    prometheusTimeout: 5,
    prometheusBearerTokenFile: '',
    prometheusBasicAuthUser: USER,
    prometheusBasicAuthPasswordFile: passwordFile,
    prometheusHeaders: [] as string[],
    prometheusCaFile: pki.caCert,
    prometheusCertFile: pki.clientCert,
    prometheusKeyFile: pki.clientKey,
    prometheusInsecureSkipVerify: false,
    ...over,
  });
  const source = (conn: PrometheusConnection) => new PrometheusSource({ url: conn.url, connection: conn, timeoutMs: 5_000, signals: [MEMORY], tenantLabel: 'namespace', rateWindow: '5m' });
  const lastMinute = () => {
    const endS = Math.floor(Date.now() / 1000);
    return { startS: endS - 60, endS, stepS: 1 };
  };
  const failure = async (conn: PrometheusConnection) => (await source(conn).pull(lastMinute()).catch((e: unknown) => e)) as Error & { code?: string };

  /** Pulls until the exporter's tenants have memory samples (Prometheus scrapes once a second). */
  async function pullTenants(conn: PrometheusConnection): Promise<string[]> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const r = await source(conn).pull(lastMinute());
      const tenants = r.set.series.filter((s) => s.values.some(Number.isFinite)).map((s) => s.tenant);
      if (tenants.length >= 3 || Date.now() > deadline) return tenants.sort();
      await sleep(500);
    }
  }

  it('pulls over TLS with the private CA, a client certificate and basic auth', async () => {
    expect(await pullTenants(connectionOf(settings({})))).toEqual([...exporter.tenants].sort());
  }, 30_000);

  it('says which setting is wrong: the password, the client certificate, the CA', async () => {
    const wrong = join(pki.dir, 'wrong-password');
    writeFileSync(wrong, 'not-it');
    const refused = await failure(connectionOf(settings({ prometheusBasicAuthPasswordFile: wrong })));
    expect(refused.code).toBe('FORESIGHT_ERR_PROM_QUERY');
    expect(refused.message).toMatch(/HTTP 401 Unauthorized from https:\/\/127\.0\.0\.1:\d+: the credentials were refused/);
    expect(refused.message).toContain('container_memory_working_set_bytes');

    const noCert = await failure(connectionOf(settings({ prometheusCertFile: '', prometheusKeyFile: '' })));
    expect(noCert.code).toBe('FORESIGHT_ERR_PROM_QUERY');
    expect(noCert.message).toMatch(/TLS: the server ended the handshake \(alert: bad certificate\).*client certificate.*prometheusCertFile and prometheusKeyFile/);

    const noCa = await failure(connectionOf(settings({ prometheusCaFile: '' })));
    expect(noCa.code).toBe('FORESIGHT_ERR_PROM_QUERY');
    expect(noCa.message).toMatch(/not signed by a CA this process trusts.*prometheusCaFile/);

    const skip = connectionOf(settings({ prometheusCaFile: '', prometheusInsecureSkipVerify: true }));
    expect((await source(skip).pull(lastMinute())).set.series.length).toBeGreaterThan(0);
  }, 30_000);

  it('sends the bearer token and the tenant header through a proxy, and reads a rotated token without a restart', async () => {
    const conn = connectionOf(settings({ prometheusUrl: proxyUrl, prometheusBasicAuthUser: '', prometheusBasicAuthPasswordFile: '', prometheusCaFile: '', prometheusCertFile: '', prometheusKeyFile: '', prometheusBearerTokenFile: tokenFile, prometheusHeaders: [`X-Scope-OrgID=${ORG}`] }));
    const src = source(conn);
    expect((await src.pull(lastMinute())).set.series.length).toBe(3);
    expect(proxied.at(-1)).toBe(`Bearer first-token ${ORG}`);

    // the kubelet rotates the projected token: the proxy takes only the new one from now on
    token = 'second-token';
    const stale = (await src.pull(lastMinute()).catch((e: unknown) => e)) as Error;
    expect(stale.message).toMatch(/HTTP 401 Unauthorized from http:\/\/127\.0\.0\.1:\d+: the credentials were refused.*body: Unauthorized/);
    writeFileSync(`${tokenFile}.new`, token);
    rmSync(tokenFile);
    writeFileSync(tokenFile, readFileSync(`${tokenFile}.new`));
    expect((await src.pull(lastMinute())).set.series.length).toBe(3);
    expect(proxied.at(-1)).toBe(`Bearer second-token ${ORG}`);

    const otherOrg = await failure(connectionOf({ ...settings({}), prometheusUrl: proxyUrl, prometheusBasicAuthUser: '', prometheusBasicAuthPasswordFile: '', prometheusCaFile: '', prometheusCertFile: '', prometheusKeyFile: '', prometheusBearerTokenFile: tokenFile }));
    expect(otherOrg.message).toMatch(/HTTP 403 Forbidden .*lack permission.*body: no org "undefined"/);

    const noToken = await failure(connectionOf({ ...settings({}), prometheusUrl: proxyUrl, prometheusBasicAuthUser: '', prometheusBasicAuthPasswordFile: '', prometheusCaFile: '', prometheusCertFile: '', prometheusKeyFile: '' }));
    expect(noToken.message).toMatch(/HTTP 401 .*asks for credentials \(set prometheusBearerTokenFile/);

    rmSync(tokenFile);
    const gone = (await src.pull(lastMinute()).catch((e: unknown) => e)) as Error & { code?: string };
    expect(gone.code).toBe('FORESIGHT_ERR_PROM_QUERY');
    expect(gone.message).toContain(`cannot read ${tokenFile} (ENOENT)`);
    writeFileSync(tokenFile, token);
  }, 30_000);

  it('runs the sidecar from its environment variables against the TLS Prometheus', async () => {
    let sidecar: Sidecar | undefined;
    try {
      const config = loadConfig({
        env: {
          ...FAST_GRID_ENV,
          FORESIGHT_PORT: String(await freePort()),
          FORESIGHT_STALE_AFTER: '5',
          FORESIGHT_PROMETHEUS_URL: prom.url,
          FORESIGHT_PROMETHEUS_BASIC_AUTH_USER: USER,
          FORESIGHT_PROMETHEUS_BASIC_AUTH_PASSWORD_FILE: passwordFile,
          FORESIGHT_PROMETHEUS_CA_FILE: pki.caCert,
          FORESIGHT_PROMETHEUS_CERT_FILE: pki.clientCert,
          FORESIGHT_PROMETHEUS_KEY_FILE: pki.clientKey,
          FORESIGHT_SIGNALS: 'memory',
        },
      });
      sidecar = await startSidecar(config, { logger: pino({ level: 'silent' }) });
      const deadline = Date.now() + 20_000;
      let tenants = 0;
      while (Date.now() < deadline && tenants < 3) {
        const body = await (await fetch(`${sidecar.url}/metrics`)).text();
        tenants = Number(/^foresight_signal_tenants\{signal="memory"\} (\d+)/m.exec(body)?.[1] ?? 0);
        await sleep(300);
      }
      expect(tenants).toBe(3);
      expect(sidecar.loop.latest()?.lastError).toBeUndefined();
    } finally {
      await sidecar?.close();
    }
  }, 40_000);
});
