// TypeBox schemas of the HTTP API: inputs are validated with them, and the OpenAPI document is generated from them.
import { Type } from 'typebox';

export const ErrorBody = Type.Object(
  {
    statusCode: Type.Integer(),
    code: Type.Optional(Type.String()),
    error: Type.String(),
    message: Type.String(),
  },
  { $id: 'Error' },
);

export const Health = Type.Object({ status: Type.Literal('ok') }, { description: 'The process serves requests.' });

export const Readiness = Type.Object(
  {
    status: Type.Literal('ready'),
    cycle: Type.Integer({ description: 'Number of the latest cycle (successful or not).' }),
    stale: Type.Boolean({ description: 'The latest cycle failed to pull: the forecasts served are from an older snapshot.' }),
  },
  { description: 'At least one cycle has succeeded: the API and /metrics serve forecasts.' },
);

/** Longest tenant name the API accepts: a DNS subdomain name (253 characters; a namespace has at most 63). */
export const TENANT_MAX_LENGTH = 253;

export const TenantParams = Type.Object({
  tenant: Type.String({ minLength: 1, maxLength: TENANT_MAX_LENGTH, description: 'Tenant name (the namespace by default), URL-encoded.' }),
});

export const ListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 1000, description: 'Tenants per page.' })),
    offset: Type.Optional(Type.Integer({ minimum: 0, default: 0, description: 'Tenants to skip (sorted by name).' })),
  },
  { additionalProperties: false },
);

export const ForecastQuery = Type.Object(
  {
    resource: Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$', description: 'Only this resource (e.g. cpu, memory).' })),
  },
  { additionalProperties: false },
);

const Num = Type.Union([Type.Number(), Type.Null()], { description: 'null when unknown' });

export const TenantSummary = Type.Object({
  tenant: Type.String(),
  resources: Type.Array(Type.String()),
  stale: Type.Boolean(),
  anomalous: Type.Boolean(),
});

export const TenantList = Type.Object({
  cycle: Type.Integer(),
  createdS: Type.Number(),
  stale: Type.Boolean(),
  total: Type.Integer(),
  tenants: Type.Array(TenantSummary),
});

const SignalProfileBody = Type.Object({
  resource: Type.String(),
  level: Num,
  volatility: Num,
  burstiness: Num,
  dailyShape: Type.Array(Num),
  weeklyShape: Type.Array(Num),
  dailySeasonality: Num,
  weeklySeasonality: Num,
  samples: Type.Integer(),
});

const Actuation = Type.Object(
  {
    resource: Type.String({ description: 'The resource whose knob applies (disk_read -> disk_io, network_rx -> network).' }),
    enforcement: Type.Union([Type.Literal('enforced'), Type.Literal('advisory'), Type.Literal('none')], {
      description: 'enforced: Foresight sets it; advisory: it publishes a value others may apply; none: no per-tenant knob exists.',
    }),
    knobs: Type.Array(Type.String(), { description: 'The Kubernetes mechanisms Foresight drives (empty when none exists).' }),
    action: Type.String({ description: 'What Foresight does for this resource, including when no knob exists.' }),
    limit: Type.Union([Type.Number(), Type.Null()], { description: 'Configured limit (limits.<signal>), base unit; null when not configured.' }),
    bandwidth: Type.Union(
      [
        Type.Object({
          annotation: Type.String({ description: 'kubernetes.io/ingress-bandwidth (network_rx) or kubernetes.io/egress-bandwidth (network_tx).' }),
          value: Type.String({ description: 'Recommended annotation value, bits per second.' }),
          bytesPerS: Type.Number({ description: 'The same recommendation in bytes per second (the target allocation).' }),
        }),
        Type.Null(),
      ],
      { description: 'Network signals: the bandwidth annotation value recommended from the forecast; null otherwise.' },
    ),
  },
  { description: 'Which actuation applies to this resource of the tenant, and what Foresight does when none exists.' },
);

export const TenantDetail = Type.Object({
  tenant: Type.String(),
  cycle: Type.Integer(),
  stale: Type.Boolean(),
  profiledAtS: Num,
  signals: Type.Record(Type.String(), SignalProfileBody),
  apiMix: Type.Record(Type.String(), Type.Number()),
  resources: Type.Array(
    Type.Object({
      resource: Type.String(),
      usage: Num,
      lastSampleS: Num,
      recentPeak: Num,
      recurringPeak: Num,
      historyPoints: Type.Integer(),
      stale: Type.Boolean(),
      recommendation: Type.Union([
        Type.Object({ target: Num, lowerBound: Num, upperBound: Num, uncappedTarget: Num }),
        Type.Null(),
      ]),
      actuation: Actuation,
    }),
  ),
  anomaly: Type.Union([Type.Object({ score: Num, kind: Type.String(), anomalous: Type.Boolean(), quarantined: Type.Boolean({ description: 'anomalyMode quarantine: no proactive scale-up, not learnt, targets held until confirmed' }), signal: Type.Union([Type.String(), Type.Null()], { description: 'while anomalous: the signal whose evidence opened the episode' }), sinceS: Type.Union([Type.Number(), Type.Null()], { description: 'while anomalous: when that evidence was sampled, UNIX seconds' }) }), Type.Null()]),
});

export const TenantForecast = Type.Object({
  tenant: Type.String(),
  cycle: Type.Integer(),
  createdS: Type.Number(),
  stale: Type.Boolean(),
  horizonsS: Type.Array(Type.Number()),
  quantiles: Type.Array(Type.Number()),
  forecasts: Type.Array(
    Type.Object({
      resource: Type.String(),
      status: Type.String(),
      models: Type.Array(Type.String()),
      point: Type.Array(Num),
      /** quantiles[h][q] */
      values: Type.Array(Type.Array(Num)),
      stale: Type.Boolean(),
      actuation: Actuation,
    }),
  ),
});
