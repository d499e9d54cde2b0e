// The Prometheus connection settings: headers, the rules between settings and the files they name (checked at
// start-up with the variable or key that set them), and secret files read again when they change.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { connectionInterceptor, connectionOf, connectionProblems, parseHeaders, WatchedFile, type ConnectionSettings } from '../../src/sources/prometheus-connection.js';
import { wrapPromError } from '../../src/sources/prometheus-range.js';

const dir = mkdtempSync(join(tmpdir(), 'foresight-conn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const base: ConnectionSettings = {
  prometheusUrl: 'https://thanos-querier.openshift-monitoring.svc:9091',
  prometheusTimeout: 10,
  prometheusBearerTokenFile: '',
  prometheusBasicAuthUser: '',
  prometheusBasicAuthPasswordFile: '',
  prometheusHeaders: [],
  prometheusCaFile: '',
  prometheusCertFile: '',
  prometheusKeyFile: '',
  prometheusInsecureSkipVerify: false,
};
const anyFile = () => undefined;

describe('parseHeaders', () => {
  it('takes Name=value items, values with = and spaces included', () => {
    expect(parseHeaders(['X-Scope-OrgID=team-a', 'X-Query= a=b c '])).toEqual({ headers: { 'X-Scope-OrgID': 'team-a', 'X-Query': 'a=b c' }, problems: [] });
  });

  it('refuses Authorization (secrets come from files), headers Foresight sets, bad names and line breaks', () => {
    const { headers, problems } = parseHeaders(['authorization=Bearer x', 'Host=evil', 'no-equals', 'bad name=x', '=x', 'X-A=a\r\nX-B: b']);
    expect(headers).toEqual({});
    expect(problems).toEqual([
      expect.stringMatching(/"authorization" is not set this way: use prometheusBearerTokenFile or prometheusBasicAuthUser/),
      '"Host" is set by Foresight and cannot be overridden',
      '"no-equals" is not Name=value with a header name',
      '"bad name=x" is not Name=value with a header name',
      '"=x" is not Name=value with a header name',
      'the value of "X-A" has a line break',
    ]);
  });
});

describe('connectionProblems', () => {
  it('has none for a bearer token over https with a CA', () => {
    expect(connectionProblems({ ...base, prometheusBearerTokenFile: '/t', prometheusCaFile: '/ca' }, anyFile)).toEqual([]);
  });

  it('names each rule a combination breaks', () => {
    const p = connectionProblems({ ...base, prometheusUrl: 'http://prometheus:9090', prometheusBearerTokenFile: '/t', prometheusBasicAuthUser: 'u', prometheusCertFile: '/c', prometheusInsecureSkipVerify: true }, anyFile);
    expect(p).toEqual([
      expect.stringMatching(/^prometheusBearerTokenFile and prometheusBasicAuthUser\/prometheusBasicAuthPasswordFile both set/),
      'prometheusBasicAuthUser and prometheusBasicAuthPasswordFile go together: set both or neither',
      'prometheusCertFile and prometheusKeyFile go together: set both or neither',
      'prometheusCertFile, prometheusInsecureSkipVerify set but prometheusUrl is not https:// (http://prometheus:9090)',
    ]);
  });

  it('does not check the scheme without a URL (the backtest checks its --prometheus URL itself)', () => {
    expect(connectionProblems({ ...base, prometheusUrl: '', prometheusCaFile: '/ca' }, anyFile)).toEqual([]);
  });

  it('reads every file it names: missing and empty files are problems', () => {
    const token = file('token-ok', 'abc\n');
    const empty = file('empty', '\n');
    expect(connectionProblems({ ...base, prometheusBearerTokenFile: token })).toEqual([]);
    expect(connectionProblems({ ...base, prometheusBearerTokenFile: empty, prometheusCaFile: join(dir, 'nope.pem') })).toEqual([`prometheusBearerTokenFile: ${empty} is empty`, `prometheusCaFile: cannot read ${join(dir, 'nope.pem')} (ENOENT)`]);
  });
});

describe('the configuration', () => {
  it('fails at start-up naming the variable that set a missing file and the broken header', () => {
    const env = { FORESIGHT_PROMETHEUS_URL: 'https://p:9091', FORESIGHT_PROMETHEUS_BEARER_TOKEN_FILE: join(dir, 'absent'), FORESIGHT_PROMETHEUS_HEADERS: 'X-Scope-OrgID=a,Authorization=Bearer x' };
    expect(() => loadConfig({ env })).toThrow(/prometheusBearerTokenFile \(FORESIGHT_PROMETHEUS_BEARER_TOKEN_FILE\): cannot read .*absent \(ENOENT\)/);
    expect(() => loadConfig({ env })).toThrow(/prometheusHeaders \(FORESIGHT_PROMETHEUS_HEADERS\) "Authorization" is not set this way/);
  });

  it('gives the source a connection from YAML and variables', () => {
    const token = file('token-yaml', 't0k3n');
    const c = loadConfig({ env: { FORESIGHT_PROMETHEUS_HEADERS: 'X-Scope-OrgID=team-a' }, yamlText: `prometheusUrl: https://p:9091\nprometheusBearerTokenFile: ${token}\nprometheusInsecureSkipVerify: true\n` });
    expect(connectionOf(c)).toEqual({ url: 'https://p:9091', timeoutMs: 10_000, bearerTokenFile: token, basicAuth: undefined, headers: { 'X-Scope-OrgID': 'team-a' }, tls: { caFile: undefined, certFile: undefined, keyFile: undefined, insecureSkipVerify: true } });
  });

  it('refuses a prometheusUrl that is no http(s) URL: unparsable, a port out of range, another scheme, a query', () => {
    const why = (url: string): string => {
      try {
        loadConfig({ env: { FORESIGHT_PROMETHEUS_URL: url } });
        return '';
      } catch (err) {
        return (err as Error).message;
      }
    };
    expect(why('http://[')).toContain('prometheusUrl (FORESIGHT_PROMETHEUS_URL) must be an http(s) URL or empty: it is not a URL');
    expect(why('http://localhost:99999')).toContain('it has port 99999, above 65535');
    expect(why('http://localhost:0')).toContain('it has port 0');
    expect(why('ftp://prometheus:9090')).toContain('it has the scheme ftp, not http or https');
    expect(why('http://prometheus:9090/?x=1')).toContain('it has a query or a fragment');
    expect(why('http://prometheus :9090')).toContain('it has white space');
    // a path prefix (a Prometheus behind a proxy's /prometheus), an IPv6 literal and a default port are fine
    for (const ok of ['http://prometheus:9090', 'https://thanos.example.com/prometheus/', 'http://[::1]:9090', 'https://p']) expect(why(ok)).toBe('');
  });

  it('adds nothing to a plain connection', () => {
    const c = loadConfig({ env: { FORESIGHT_PROMETHEUS_URL: 'http://p:9090' } });
    expect(connectionOf(c)).toEqual({ url: 'http://p:9090', timeoutMs: 10_000, bearerTokenFile: undefined, basicAuth: undefined, headers: undefined, tls: undefined });
    expect(connectionInterceptor(connectionOf(c))).toBeUndefined();
  });
});

describe('WatchedFile and the request interceptor', () => {
  it('reads a file again only once it changed, and names it when it is gone', () => {
    const p = file('rotating', 'one\n');
    const w = new WatchedFile(p);
    expect(w.read()).toBe('one');
    expect(w.changed()).toBe(false);
    rmSync(p);
    writeFileSync(p, 'two-longer');
    expect(w.changed()).toBe(true);
    expect(w.read()).toBe('two-longer');
    rmSync(p);
    expect(() => w.read()).toThrow(`cannot read ${p} (ENOENT)`);
  });

  const headers = () => {
    const h = new Map<string, string>();
    return { set: (k: string, v: string) => h.set(k, v), get: (k: string) => h.get(k) };
  };
  type Cfg = Parameters<NonNullable<ReturnType<typeof connectionInterceptor>>>[0];

  it('sets a basic auth header from the user and the password file as it is now', () => {
    const pw = file('pw', 's3cret\n');
    const intercept = connectionInterceptor({ url: 'http://p', basicAuth: { user: 'foresight', passwordFile: pw } })!;
    const h = headers();
    intercept({ headers: h } as unknown as Cfg);
    expect(h.get('Authorization')).toBe(`Basic ${Buffer.from('foresight:s3cret').toString('base64')}`);
    writeFileSync(pw, 'n3w-s3cret');
    intercept({ headers: h } as unknown as Cfg);
    expect(h.get('Authorization')).toBe(`Basic ${Buffer.from('foresight:n3w-s3cret').toString('base64')}`);
  });

  it('makes the TLS agent again only when a PEM file changed', () => {
    const ca = file('ca.pem', 'not really a pem, the agent takes it as given');
    const intercept = connectionInterceptor({ url: 'https://p', tls: { caFile: ca } })!;
    const first = intercept({ headers: headers() } as unknown as Cfg).httpsAgent as { options: { ca: string } };
    expect(intercept({ headers: headers() } as unknown as Cfg).httpsAgent).toBe(first);
    expect(first.options.ca).toContain('not really');
    rmSync(ca);
    writeFileSync(ca, 'renewed CA bundle');
    const second = intercept({ headers: headers() } as unknown as Cfg).httpsAgent as { options: { ca: string } };
    expect(second).not.toBe(first);
    expect(second.options.ca).toBe('renewed CA bundle');
  });
});

describe('wrapPromError on TLS failures', () => {
  it.each([
    [{ errorType: 'ssl_error', code: 'SELF_SIGNED_CERT_IN_CHAIN', error: 'self-signed certificate in certificate chain' }, /not signed by a CA this process trusts \(SELF_SIGNED_CERT_IN_CHAIN\): set prometheusCaFile/],
    [{ errorType: 'network_error', code: 'ERR_TLS_CERT_ALTNAME_INVALID', error: "Hostname/IP does not match certificate's altnames" }, /does not name the host of prometheusUrl/],
    [{ errorType: 'ssl_error', code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', error: 'ssl3_read_bytes:tlsv13 alert certificate required:../deps/x.c:1:SSL alert number 116' }, /ended the handshake \(alert: certificate required\).*prometheusCertFile/],
  ])('%o reads as the setting that mends it', (thrown, message) => {
    const e = wrapPromError(thrown, 'up') as Error & { code: string };
    expect(e.code).toBe('FORESIGHT_ERR_PROM_QUERY');
    expect(e.message).toMatch(message);
    expect(e.message).toContain('(query: up)');
  });
});
