// Range pulls from Prometheus with prometheus-query: one query for all tenants, split into chunks of at most 11,000
// points per series (Prometheus' limit) and of a bounded number of samples (the memory of parsing a response), placed
// on a regular grid (NaN = no sample) and returned as a SeriesSet.
import type { AxiosResponse } from 'axios';
import { PrometheusDriver, type QueryResult } from 'prometheus-query';
import { PromQueryError, PromTimeoutError } from '../errors.js';
import type { Series, SeriesSet } from '../model/series.js';
import type { BreakdownSeries } from './history-source.js';
import { connectionInterceptor, type PrometheusConnection } from './prometheus-connection.js';
import { checkLabelName } from './promql-escape.js';

/** Prometheus refuses range queries returning more than 11,000 points per series. */
export const MAX_POINTS_PER_SERIES = 11_000;

/** A driver for loopback/in-cluster links: gzip off (STACK-NOTES: identity encoding pulled ~2.5x faster), with the
 *  connection's credentials, headers and TLS (prometheus-connection.ts), and HTTP errors that say what answered. */
export function createPrometheusDriver(conn: PrometheusConnection): PrometheusDriver {
  const onFulfilled = connectionInterceptor(conn);
  return new PrometheusDriver({
    endpoint: conn.url.replace(/\/+$/, ''),
    baseURL: '/api/v1',
    timeout: conn.timeoutMs ?? 10_000,
    headers: { ...(conn.headers ?? {}), 'Accept-Encoding': 'identity' },
    requestInterceptor: onFulfilled ? { onFulfilled } : undefined,
    responseInterceptor: { onFulfilled: (r) => prometheusJson(r, conn), onRejected: (e: unknown) => Promise.reject(httpError(e, conn)) },
  });
}

/** The start of a body that is not Prometheus' JSON, on one line, for an error message. */
function bodyStart(data: unknown): string {
  const text = typeof data === 'string' ? data : data === undefined || data === null ? '' : (JSON.stringify(data) ?? '');
  return text.trim().replace(/\s+/g, ' ').slice(0, 200);
}

/**
 * A 2xx answer is Prometheus' JSON (an object with a status), or an error saying what came instead: an auth proxy's
 * or single sign-on's login page (HTML with 200), a truncated body. prometheus-query had reported those as
 * "network_error: unexpected network error".
 */
function prometheusJson(r: AxiosResponse, conn: PrometheusConnection): AxiosResponse {
  const d: unknown = r.data;
  if (d !== null && typeof d === 'object' && !Array.isArray(d) && 'status' in d) return r;
  const type = String(r.headers?.['content-type'] ?? '') || 'none';
  const body = bodyStart(d);
  throw new PromQueryError(
    `HTTP ${r.status}${r.statusText ? ` ${r.statusText}` : ''} from ${conn.url} is not Prometheus' JSON (content-type ${type}): ` +
      `a login page of a proxy in front of it, or a prometheusUrl that is not Prometheus' (its API answers under <url>/api/v1)${body ? `; body: ${body}` : '; empty body'}`,
  );
}

/** Prometheus' own errors are JSON, which prometheus-query reads; anything else (an auth proxy's or a gateway's
 *  page) is reported here with its status and the start of its body, which prometheus-query would drop. */
function httpError(e: unknown, conn: PrometheusConnection): unknown {
  const res = (e as { response?: { status?: number; statusText?: string; data?: unknown } }).response;
  if (!res?.status || (res.data && typeof res.data === 'object' && 'status' in res.data)) return e;
  const body = typeof res.data === 'string' ? res.data.trim().replace(/\s+/g, ' ').slice(0, 200) : '';
  const hint =
    res.status === 401
      ? conn.bearerTokenFile || conn.basicAuth
        ? ': the credentials were refused (check prometheusBearerTokenFile or the basic auth user and password file)'
        : ': it asks for credentials (set prometheusBearerTokenFile, or prometheusBasicAuthUser and prometheusBasicAuthPasswordFile)'
      : res.status === 403
        ? ': the credentials lack permission (an OpenShift or kube-rbac-proxy token needs to be allowed to get namespaces or the metrics API)'
        : '';
  return new PromQueryError(`HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''} from ${conn.url}${hint}${body ? `; body: ${body}` : ''}`, { cause: e });
}

export interface RangeQueryOptions {
  query: string;
  /** Inclusive, UNIX seconds. */
  startS: number;
  endS: number;
  stepS: number;
  /** Label naming the tenant in the result (default namespace). */
  tenantLabel?: string;
  /** Resource name given to the series. */
  resource: string;
  /** Labels of a breakdown (e.g. method, route): series are returned in `breakdown`, not `set`. */
  breakdownBy?: readonly string[];
  /** At most this many points per series per request (default and maximum 11,000). */
  maxPointsPerRequest?: number;
  /**
   * At most about this many samples (series x points) per request (default 500,000). prometheus-query holds a whole
   * response as objects, about 320 bytes a sample with the response text and its JSON (measured on Node 20), so a week
   * of 5-minute points for 10,000 tenants in one request would take 6 GB. Chunks are sized from the series count of
   * the previous response (or `seriesHint`); without either, the first request is a probe of 12 points.
   */
  maxSamplesPerRequest?: number;
  /** Series the query is expected to return (e.g. the count of the previous pull), to size the first chunk. */
  seriesHint?: number;
  /** Only the tenants this returns true for are kept (a shard's own): the others are dropped as each response is
   *  read, before any grid is allocated for them. */
  keepTenant?: (tenant: string) => boolean;
  /** Used in error messages (the driver enforces it). */
  timeoutMs?: number;
}

export interface RangeQueryResult {
  set: SeriesSet;
  breakdown: BreakdownSeries[];
  /** Most series without the tenant label one response carried (left out). */
  unlabelled: number;
  /** Requests made (chunks). */
  requests: number;
  /** Most series one response carried (every tenant's, kept or not): the hint for the next pull. */
  seriesSeen: number;
}

/** The largest finite float32 ((2 - 2^-23) * 2^127): larger values cannot be stored in the Float32Array history. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** Default sample budget of one range request (about 160 MB while prometheus-query parses it). */
export const MAX_SAMPLES_PER_REQUEST = 500_000;
/** Points of the probe request that learns the series count when there is no hint. */
const PROBE_POINTS = 12;

/** Minimal surface used here, so that tests can inject a fake. */
export interface RangeQuerier {
  rangeQuery(query: string, start: Date, end: Date, step: number): Promise<QueryResult>;
}

function describe(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (e && typeof e === 'object') {
    const o = e as { errorType?: string; error?: string; httpStatus?: number };
    return [o.httpStatus ? `HTTP ${o.httpStatus}` : '', o.errorType ?? '', o.error ?? ''].filter(Boolean).join(': ') || JSON.stringify(e).slice(0, 300);
  }
  return String(e);
}

/** Certificate errors of Node's TLS that a setting mends, by their code. */
const UNTRUSTED = new Set(['SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT']);

/** A TLS failure said in the terms of the settings that mend it (OpenSSL's own words are a line of internals). */
function tlsProblem(o: { code?: string; error?: string }): string | undefined {
  const msg = o.error ?? '';
  if (o.code && UNTRUSTED.has(o.code)) return `TLS: the server's certificate is not signed by a CA this process trusts (${o.code}): set prometheusCaFile to the CA that signed it`;
  if (o.code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `TLS: the server's certificate does not name the host of prometheusUrl (${msg})`;
  if (o.code === 'CERT_HAS_EXPIRED' || o.code === 'CERT_NOT_YET_VALID') return `TLS: the server's certificate is not valid now (${o.code})`;
  const alert = /alert ([a-z ]+?)(?::|$)/.exec(msg)?.[1] ?? /SSL alert number (\d+)/.exec(msg)?.[0];
  if (alert) {
    return `TLS: the server ended the handshake (alert: ${alert}), most often because it wants a client certificate it trusts: set prometheusCertFile and prometheusKeyFile to one its client CA signed`;
  }
  return undefined;
}

/** Turns whatever prometheus-query threw (plain objects, not Errors) into a coded Foresight error. */
export function wrapPromError(e: unknown, query: string, timeoutMs = 10_000): Error {
  if (e instanceof PromQueryError || e instanceof PromTimeoutError) return e as Error;
  const o = (e && typeof e === 'object' ? e : {}) as { errorType?: string; code?: string; original?: unknown };
  const short = query.length > 200 ? `${query.slice(0, 200)}…` : query;
  // ours, from the connection's interceptors (an HTTP error prometheus-query cannot read, a secret file unreadable)
  if (o.original instanceof PromQueryError) return new PromQueryError(`${o.original.message.replace(/^PromQL query failed: /, '')} (query: ${short})`, { cause: o.original });
  if (o.errorType === 'timeout_error' || o.code === 'ECONNABORTED' || o.code === 'ETIMEDOUT' || o.errorType === 'timeout') {
    return new PromTimeoutError(timeoutMs, short, { cause: e });
  }
  const tls = tlsProblem(o as { code?: string; error?: string });
  if (tls) return new PromQueryError(`${tls} (query: ${short})`, { cause: e });
  return new PromQueryError(`${describe(e)} (query: ${short})`, { cause: e instanceof Error ? e : o.original ?? e });
}

interface Acc {
  tenant: string;
  type?: string;
  values: Float64Array;
}

/**
 * Pulls one PromQL expression over [startS, endS] at stepS. Series sharing a tenant (and breakdown key) are summed,
 * so a query without `sum by` still gives one series per tenant. Samples land on the grid startS + i * stepS.
 */
export async function queryRangeSeries(q: RangeQuerier, o: RangeQueryOptions): Promise<RangeQueryResult> {
  const tenantLabel = checkLabelName(o.tenantLabel ?? 'namespace');
  const by = (o.breakdownBy ?? []).map(checkLabelName);
  const step = o.stepS;
  if (!(step > 0) || !(o.endS >= o.startS)) throw new PromQueryError(`bad range ${o.startS}..${o.endS} step ${step}`);
  const n = Math.floor((o.endS - o.startS) / step) + 1;
  const maxPoints = Math.max(1, Math.min(MAX_POINTS_PER_SERIES, Math.floor(o.maxPointsPerRequest ?? MAX_POINTS_PER_SERIES)));
  const budget = Math.max(1, o.maxSamplesPerRequest ?? MAX_SAMPLES_PER_REQUEST);
  let seen = o.seriesHint !== undefined && o.seriesHint > 0 ? o.seriesHint : 0;
  const chunk = (): number => (seen > 0 ? Math.max(1, Math.min(maxPoints, Math.floor(budget / seen))) : Math.min(maxPoints, PROBE_POINTS));
  const acc = new Map<string, Acc>();
  let unlabelled = 0;
  let requests = 0;
  let seriesSeen = 0;
  for (let first = 0, perReq = chunk(); first < n; first += perReq, perReq = chunk()) {
    const last = Math.min(n - 1, first + perReq - 1);
    const cs = o.startS + first * step;
    const ce = o.startS + last * step;
    let res: QueryResult;
    try {
      requests++;
      // Dates, not numbers: prometheus-query treats a numeric 0 as "no time given".
      res = await q.rangeQuery(o.query, new Date(cs * 1000), new Date(ce * 1000), step);
    } catch (e) {
      throw wrapPromError(e, o.query, o.timeoutMs);
    }
    if (!res || res.resultType !== 'matrix' || !Array.isArray(res.result)) {
      throw new PromQueryError(`expected a matrix result, got ${res ? String(res.resultType) : 'nothing'} (query: ${o.query.slice(0, 200)})`);
    }
    seriesSeen = Math.max(seriesSeen, res.result.length);
    seen = Math.max(seen, res.result.length);
    let withoutLabel = 0;
    for (const rv of res.result as Array<{ metric: { labels: Record<string, string> }; values: Array<{ time: Date; value: number }> }>) {
      const labels = rv.metric?.labels ?? {};
      const tenant = labels[tenantLabel];
      if (tenant === undefined || tenant === '') {
        withoutLabel++;
        continue;
      }
      if (o.keepTenant && !o.keepTenant(tenant)) continue;
      // a series with none of the breakdown labels (an overridden query that sums them away) is the tenant's total
      const type = by.some((l) => labels[l]) ? by.map((l) => labels[l] ?? '').join(' ') : undefined;
      const key = type === undefined ? tenant : `${tenant}\u0000${type}`;
      let a = acc.get(key);
      if (!a) {
        a = { tenant, type, values: new Float64Array(n).fill(NaN) };
        acc.set(key, a);
      }
      for (const s of rv.values) {
        const t = s.time.getTime() / 1000;
        const i = Math.round((t - o.startS) / step);
        if (i < 0 || i >= n) continue;
        const v = s.value;
        // Prometheus encodes NaN/Inf as strings; a non-finite or negative usage is treated as missing, and so is one
        // beyond float32 (the history store's type), where it would become +Inf and the profile's level with it.
        if (!Number.isFinite(v) || v < 0 || v > FLOAT32_MAX) continue;
        a.values[i] = Number.isNaN(a.values[i]) ? v : a.values[i] + v;
      }
    }
    unlabelled = Math.max(unlabelled, withoutLabel);
  }
  const series: Series[] = [];
  const breakdown: BreakdownSeries[] = [];
  for (const a of acc.values()) {
    // a sum of series beyond float32 is missing too, as its parts would be
    for (let i = 0; i < n; i++) if (a.values[i] > FLOAT32_MAX) a.values[i] = NaN;
    if (a.type === undefined) series.push({ tenant: a.tenant, resource: o.resource, startS: o.startS, intervalS: step, values: a.values });
    else breakdown.push({ tenant: a.tenant, resource: o.resource, type: a.type, startS: o.startS, intervalS: step, values: a.values });
  }
  series.sort((x, y) => x.tenant.localeCompare(y.tenant));
  return { set: { origin: o.query, intervalS: step, series, units: {} }, breakdown, unlabelled, requests, seriesSeen };
}
