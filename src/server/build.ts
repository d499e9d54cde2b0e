// Builds the Fastify instance: OpenAPI document (@fastify/swagger), the Foresight plugin, and optional extra plugins
// (the actuator's /api/v1/actions). Listening is left to the caller (main.ts) so that tests use app.inject().
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync, type HTTPMethods } from 'fastify';
import swagger from '@fastify/swagger';
import { MethodNotAllowedError } from '../errors.js';
import { foresightApp, type AppOptions } from './app.js';
import { ErrorBody, TENANT_MAX_LENGTH } from './schemas.js';

export interface BuildOptions extends AppOptions {
  /** A pino logger to share with the rest of the process (default: no request logs). */
  loggerInstance?: FastifyBaseLogger;
  version?: string;
  /** Extra route plugins with their options. */
  plugins?: Array<{ plugin: FastifyPluginAsync<never>; options: unknown }>;
}

/**
 * Longest path parameter the router accepts. Fastify's default (100) answered tenant names of 101-253 characters with
 * a 414 that the OpenAPI document does not list. find-my-way 9 measures the decoded value (up to 2 UTF-16 units per
 * character); measured on the URL-encoded text, a character takes up to 12 (4 UTF-8 bytes as %XX). 12 per character
 * covers both, so every name the schema admits reaches the handler and a longer one gets the schema's 400.
 */
export const MAX_PARAM_LENGTH = TENANT_MAX_LENGTH * 12;

export async function buildServer(opts: BuildOptions): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({
    ...(opts.loggerInstance ? { loggerInstance: opts.loggerInstance } : { logger: false }),
    return503OnClosing: true,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    ajv: { customOptions: { coerceTypes: true, removeAdditional: false } },
    // Ajv's words, plus the name of a parameter the schema does not know ("querystring must NOT have additional
    // properties" alone does not say which)
    schemaErrorFormatter: (errors, dataVar) => {
      const text = errors.map((e) => {
        const extra = (e.params as { additionalProperty?: string } | undefined)?.additionalProperty;
        return `${dataVar}${e.instancePath.replaceAll('/', '.')} ${e.message ?? 'is invalid'}${extra ? ` ("${extra}" is not one)` : ''}`;
      });
      return new Error(text.join(', '));
    },
  });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Foresight sidecar API', description: 'Forecasts, recommendations and behavioural profiles per tenant.', version: opts.version ?? '0.1.0' },
      tags: [{ name: 'tenants' }, { name: 'probes' }, { name: 'actuator' }],
    },
  });
  // the error body every plugin's routes answer with (the actuator's /api/v1/actions too), shared from the root
  app.addSchema(ErrorBody);
  await app.register(foresightApp, { exporter: opts.exporter, snapshot: opts.snapshot, ready: opts.ready, stuck: opts.stuck, resourceLimits: opts.resourceLimits, shard: opts.shard });
  for (const p of opts.plugins ?? []) await app.register(p.plugin, p.options as never);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0];
    // a path that exists under other methods: 405 with the methods it has (RFC 9110 section 15.5.6), not "No route"
    const allow = app.supportedMethods.filter((m) => m !== req.method && app.findRoute({ method: m as HTTPMethods, url: path }) !== null);
    if (allow.length) {
      const e = new MethodNotAllowedError(req.method, path, allow.join(', '));
      void reply.code(405).header('allow', allow.join(', ')).send({ statusCode: 405, code: e.code, error: 'Method Not Allowed', message: e.message });
      return;
    }
    void reply.code(404).send({ statusCode: 404, code: 'FST_ERR_NOT_FOUND', error: 'Not Found', message: `No route ${req.method} ${path} (see /openapi.json)` });
  });
  return app;
}
