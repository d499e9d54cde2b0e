// The sidecar's HTTP surface as a Fastify plugin: /metrics, /healthz, /readyz and the JSON API over the latest
// immutable snapshot, with TypeBox-validated inputs, clear 4xx errors and an OpenAPI document.
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { NotReadyError, ResourceNotFoundError, TenantNotFoundError } from '../errors.js';
import type { Exporter } from '../metrics/exporter.js';
import type { ResourceLimits } from '../config/limits.js';
import { ownsTenant, shardOfTenant, type Shard, UNSHARDED } from '../model/shard.js';
import { groupBy } from '../model/group-by.js';
import type { ResourceState, Snapshot } from '../model/snapshot.js';
import { actuationOf } from './actuation.js';
import { ErrorBody, ForecastQuery, Health, ListQuery, Readiness, TenantDetail, TenantForecast, TenantList, TenantParams } from './schemas.js';

export interface AppOptions {
  exporter: Exporter;
  snapshot: () => Snapshot | undefined;
  /** True after the first successful cycle. */
  ready: () => boolean;
  /** Why the process should be restarted (the engine loop is stuck), or undefined: /healthz answers 503 with it. */
  stuck?: () => Error | undefined;
  /** Configured limits of resources without a knob (shown in each resource's actuation field). */
  resourceLimits?: ResourceLimits;
  /** This replica's shard of the tenants: a tenant another shard owns is answered with a 404 that names its shard. */
  shard?: Shard;
}

const num = (v: number | undefined): number | null => (v === undefined || !Number.isFinite(v) ? null : v);

/**
 * Whether an Accept-Encoding header allows gzip (RFC 9110 section 12.5.3): an explicit gzip (or its alias x-gzip)
 * entry decides by its q-value, q=0 meaning "not acceptable"; without one, a "*" entry does. Absent: identity only.
 */
export function acceptsGzip(header: string | undefined): boolean {
  let gzip: number | undefined;
  let any: number | undefined;
  for (const part of (header ?? '').split(',')) {
    const [coding, ...params] = part.split(';').map((x) => x.trim().toLowerCase());
    const qp = params.find((x) => /^q\s*=/.test(x));
    const q = qp === undefined ? 1 : Number(qp.slice(qp.indexOf('=') + 1).trim());
    if (!Number.isFinite(q)) continue; // a malformed weight: ignore the entry rather than guess
    if (coding === 'gzip' || coding === 'x-gzip') gzip = Math.max(gzip ?? 0, q);
    else if (coding === '*') any = q;
  }
  return (gzip ?? any ?? 0) > 0;
}

interface TenantIndex {
  snap: Snapshot;
  names: string[];
  byTenant: Map<string, ResourceState[]>;
}

/** Groups a snapshot's resources by tenant, once per snapshot. */
function indexer(): (s: Snapshot) => TenantIndex {
  let last: TenantIndex | undefined;
  return (s) => {
    if (last?.snap === s) return last;
    const byTenant = groupBy(s.resources.values(), (r) => r.tenant);
    last = { snap: s, names: [...byTenant.keys()].sort(), byTenant };
    return last;
  };
}

export const foresightApp: FastifyPluginAsync<AppOptions> = async (fastify: FastifyInstance, opts) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const index = indexer();
  if (!app.getSchema('Error')) app.addSchema(ErrorBody);
  const errors = { 400: { $ref: 'Error#' }, 404: { $ref: 'Error#' }, 503: { $ref: 'Error#' } };

  const shard = opts.shard ?? UNSHARDED;
  /** The 404 for a tenant this replica does not serve: unknown, or (sharded) owned by another shard. */
  const unknownTenant = (tenant: string): Error =>
    new TenantNotFoundError(
      ownsTenant(shard, tenant)
        ? JSON.stringify(tenant)
        : `${JSON.stringify(tenant)} is served by shard ${shardOfTenant(tenant, shard.total)} of ${shard.total}; this replica is shard ${shard.index}`,
    );

  // "not ready" is an expected answer (start-up, Prometheus away): sent as any 503, without an error log and stack per
  // request; every other error goes on to Fastify's own handler
  const notReady = (e: Error) => ({ statusCode: 503, code: (e as Error & { code: string }).code, error: 'Service Unavailable', message: e.message });
  app.setErrorHandler((err, req, reply) => {
    if (!(err instanceof NotReadyError)) throw err;
    req.log.debug({ url: req.url }, err.message);
    return reply.code(503).send(notReady(err));
  });

  const current = (): Snapshot => {
    const s = opts.snapshot();
    // ready(), not only a snapshot: after a failed first pull the loop publishes an empty stale snapshot, which would
    // otherwise read as "no tenants" (200) or "unknown tenant" (404) instead of "not ready yet".
    if (!s || !opts.ready()) throw new NotReadyError('the first cycle has not completed');
    return s;
  };

  app.get('/metrics', { schema: { hide: true } }, async (req, reply) => {
    // Prometheus asks for gzip: the per-tenant part is compressed once per snapshot, only the live part per scrape
    const gzip = acceptsGzip(req.headers['accept-encoding']);
    const { body, contentType, contentEncoding } = await opts.exporter.render({ gzip });
    if (contentEncoding) reply.header('content-encoding', contentEncoding);
    return reply.type(contentType).header('vary', 'accept-encoding').send(body);
  });

  app.get('/healthz', { schema: { summary: 'Liveness: the process serves requests and its engine loop finishes cycles (a failed pull finishes one too).', tags: ['probes'], response: { 200: Health, 503: { $ref: 'Error#' } } } }, async (req, reply) => {
    const stuck = opts.stuck?.();
    if (!stuck) return { status: 'ok' as const };
    // a restart is what this answer asks for: said at error level, once per probe until it comes
    req.log.error({ code: (stuck as Error & { code?: string }).code }, stuck.message);
    return reply.code(503).send(notReady(stuck));
  });

  app.get('/readyz', { schema: { summary: 'Readiness: a cycle has completed successfully.', tags: ['probes'], response: { 200: Readiness, 503: { $ref: 'Error#' } } } }, async (_req, reply) => {
    if (!opts.ready()) {
      // Answered, not thrown: a probe hitting this during start-up is expected and must not log an error each time.
      return reply.code(503).send(notReady(new NotReadyError('the first cycle has not completed')));
    }
    const s = opts.snapshot();
    return { status: 'ready' as const, cycle: s?.cycle ?? 0, stale: s?.stale ?? false };
  });

  app.get(
    '/api/v1/tenants',
    { schema: { summary: 'Tenants with the resources tracked for each.', tags: ['tenants'], querystring: ListQuery, response: { 200: TenantList, ...errors } } },
    async (req) => {
      const s = current();
      const ix = index(s);
      const offset = req.query.offset ?? 0;
      const limit = req.query.limit ?? 1000;
      const tenants = ix.names.slice(offset, offset + limit).map((t) => {
        const rs = ix.byTenant.get(t)!;
        return {
          tenant: t,
          resources: rs.map((r) => r.resource).sort(),
          stale: s.stale || rs.every((r) => r.stale),
          anomalous: rs.some((r) => r.anomaly?.anomalous === true),
        };
      });
      return { cycle: s.cycle, createdS: s.createdS, stale: s.stale, total: ix.names.length, tenants };
    },
  );

  app.get(
    '/api/v1/tenants/:tenant',
    { schema: { summary: 'Behavioural profile and current state of one tenant.', tags: ['tenants'], params: TenantParams, response: { 200: TenantDetail, ...errors } } },
    async (req) => {
      const s = current();
      const rs = index(s).byTenant.get(req.params.tenant);
      if (!rs) throw unknownTenant(req.params.tenant);
      const p = s.profiles?.get(req.params.tenant);
      const anomaly = rs.find((r) => r.anomaly)?.anomaly;
      const signals: Record<string, unknown> = {};
      for (const [k, sp] of Object.entries(p?.signals ?? {})) {
        signals[k] = {
          ...sp,
          level: num(sp.level),
          volatility: num(sp.volatility),
          burstiness: num(sp.burstiness),
          dailyShape: sp.dailyShape.map(num),
          weeklyShape: sp.weeklyShape.map(num),
          dailySeasonality: num(sp.dailySeasonality),
          weeklySeasonality: num(sp.weeklySeasonality),
        };
      }
      return {
        tenant: req.params.tenant,
        cycle: s.cycle,
        stale: s.stale,
        profiledAtS: num(p?.atS),
        signals: signals as never,
        apiMix: p?.apiMix ?? {},
        resources: rs.map((r) => ({
          resource: r.resource,
          usage: num(r.usage),
          lastSampleS: num(r.lastSampleS),
          recentPeak: num(r.recentPeak),
          recurringPeak: num(r.recurringPeak),
          historyPoints: r.historyPoints,
          stale: r.stale || s.stale,
          recommendation: r.recommendation
            ? { target: num(r.recommendation.target), lowerBound: num(r.recommendation.lowerBound), upperBound: num(r.recommendation.upperBound), uncappedTarget: num(r.recommendation.uncappedTarget) }
            : null,
          actuation: actuationOf(r, opts.resourceLimits),
        })),
        anomaly: anomaly ? { score: num(anomaly.score), kind: anomaly.kind, anomalous: anomaly.anomalous, quarantined: anomaly.quarantined ?? anomaly.anomalous, signal: anomaly.signal ?? null, sinceS: anomaly.sinceS ?? null } : null,
      };
    },
  );

  app.get(
    '/api/v1/tenants/:tenant/forecast',
    {
      schema: {
        summary: 'Forecast quantiles per resource and horizon (base units).',
        tags: ['tenants'],
        params: TenantParams,
        querystring: ForecastQuery,
        response: { 200: TenantForecast, ...errors },
      },
    },
    async (req) => {
      const s = current();
      const rs = index(s).byTenant.get(req.params.tenant);
      if (!rs) throw unknownTenant(req.params.tenant);
      const want = req.query.resource;
      const chosen = want ? rs.filter((r) => r.resource === want) : rs;
      if (want && chosen.length === 0) {
        throw new ResourceNotFoundError(JSON.stringify(req.params.tenant), `"${want}" (it has: ${rs.map((r) => r.resource).sort().join(', ')})`);
      }
      const nq = s.quantiles.length;
      const forecasts = chosen
        .filter((r) => r.forecast)
        .map((r) => {
          const f = r.forecast!;
          return {
            resource: r.resource,
            status: f.status,
            models: f.models,
            point: Array.from(f.point, num),
            values: s.horizonsS.map((_h, h) => Array.from(f.quantiles.subarray(h * nq, (h + 1) * nq), num)),
            stale: r.stale || s.stale,
            actuation: actuationOf(r, opts.resourceLimits),
          };
        });
      return { tenant: req.params.tenant, cycle: s.cycle, createdS: s.createdS, stale: s.stale, horizonsS: [...s.horizonsS], quantiles: [...s.quantiles], forecasts };
    },
  );
};
