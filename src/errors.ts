// Every error code Foresight raises, in one place (fastify style). The README's errors table is checked against this file.
import createError from '@fastify/error';

export { createError };

// Configuration and input
export const ConfigInvalidError = createError('FORESIGHT_ERR_CONFIG_INVALID', 'Invalid configuration:\n%s', 500);
export const TraceInvalidError = createError('FORESIGHT_ERR_TRACE_INVALID', '%s', 400);
export const ArgumentInvalidError = createError('FORESIGHT_ERR_ARGUMENT_INVALID', '%s', 400);

// WASM core (status codes from assembly/status.ts)
export const CoreAbortError = createError('FORESIGHT_ERR_CORE_ABORT', 'WASM core aborted (instance discarded and re-created): %s', 500);
export const CoreLoadError = createError('FORESIGHT_ERR_CORE_LOAD', 'Cannot load the WASM core from %s', 500);
export const CoreTooFewPointsError = createError('FORESIGHT_ERR_CORE_TOO_FEW_POINTS', 'Too few points: %s', 422);
export const CoreNonFiniteError = createError('FORESIGHT_ERR_CORE_NON_FINITE', 'Non-finite value: %s', 422);
export const CoreBadParamError = createError('FORESIGHT_ERR_CORE_BAD_PARAM', 'Parameter out of range: %s', 422);
export const CoreBufferTooSmallError = createError('FORESIGHT_ERR_CORE_BUFFER_TOO_SMALL', 'Output buffer too small: %s', 500);
export const CoreNegativeError = createError('FORESIGHT_ERR_CORE_NEGATIVE', 'Negative value where none is allowed: %s', 422);

// Sources
export const PromQueryError = createError('FORESIGHT_ERR_PROM_QUERY', 'PromQL query failed: %s', 502);
export const PromTimeoutError = createError('FORESIGHT_ERR_PROM_TIMEOUT', 'PromQL query timed out after %s ms: %s', 504);

// Server
export const TenantNotFoundError = createError('FORESIGHT_ERR_TENANT_NOT_FOUND', 'Unknown tenant: %s', 404);
export const ResourceNotFoundError = createError('FORESIGHT_ERR_RESOURCE_NOT_FOUND', 'Tenant %s has no resource %s', 404);
export const NotReadyError = createError('FORESIGHT_ERR_NOT_READY', 'No successful cycle yet: %s', 503);
export const LoopStuckError = createError('FORESIGHT_ERR_LOOP_STUCK', 'The engine loop\'s cycle due %s s ago has not finished, past livenessTimeout (%s s)', 503);
export const MethodNotAllowedError = createError('FORESIGHT_ERR_METHOD_NOT_ALLOWED', '%s is not allowed on %s: it takes %s (see /openapi.json)', 405);

/** Codes of the HTTP API's answers that Fastify and its router give (same body: statusCode, code, error, message),
 *  listed here for the README's errors table; test/unit/server.test.ts checks the API gives each of them. */
export const FRAMEWORK_ERRORS: ReadonlyArray<{ code: string; statusCode: number; message: string }> = [
  { code: 'FST_ERR_VALIDATION', statusCode: 400, message: '… (a query or path parameter the route\'s schema refuses, e.g. querystring.limit must be >= 1)' },
  { code: 'FST_ERR_BAD_URL', statusCode: 400, message: "'…' is not a valid url component (a malformed percent-encoding, e.g. /api/v1/tenants/%ZZ)" },
  { code: 'FST_ERR_NOT_FOUND', statusCode: 404, message: 'No route … (see /openapi.json)' },
];

// Kubernetes actuator
export const KubeForbiddenError = createError('FORESIGHT_ERR_KUBE_FORBIDDEN', 'Kubernetes refused %s (403): %s', 403);
export const KubeConflictError = createError('FORESIGHT_ERR_KUBE_CONFLICT', 'Conflict writing %s (409) after %s retries', 409);
export const KubeUnavailableError = createError('FORESIGHT_ERR_KUBE_UNAVAILABLE', 'Kubernetes API unavailable for %s: %s', 503);
export const LeadershipLostError = createError('FORESIGHT_ERR_LEADERSHIP_LOST', 'Not writing %s: this replica has not renewed the Lease within its renew deadline (another replica may lead now)', 409);
export const ShardFencedError = createError('FORESIGHT_ERR_SHARD_FENCED', 'Not writing %s: held off by the shard fence (%s)', 409);
