// Builds the Fastify instance: OpenAPI document (@fastify/swagger), the Foresight plugin, and optional extra plugins
// (the actuator's /api/v1/actions). Listening is left to the caller (main.ts) so that tests use app.inject().
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import swagger from '@fastify/swagger';
import { foresightApp, type AppOptions } from './app.js';

export interface BuildOptions extends AppOptions {
  /** A pino logger to share with the rest of the process (default: no request logs). */
  loggerInstance?: FastifyBaseLogger;
  version?: string;
  /** Extra route plugins with their options. */
  plugins?: Array<{ plugin: FastifyPluginAsync<never>; options: unknown }>;
}

export async function buildServer(opts: BuildOptions): Promise<FastifyInstance> {
  const app: FastifyInstance = Fastify({ ...(opts.loggerInstance ? { loggerInstance: opts.loggerInstance } : { logger: false }), return503OnClosing: true, ajv: { customOptions: { coerceTypes: true, removeAdditional: false } } });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Foresight sidecar API', description: 'Forecasts, recommendations and behavioural profiles per tenant.', version: opts.version ?? '0.1.0' },
      tags: [{ name: 'tenants' }, { name: 'probes' }],
    },
  });
  await app.register(foresightApp, { exporter: opts.exporter, snapshot: opts.snapshot, ready: opts.ready, resourceLimits: opts.resourceLimits, shard: opts.shard });
  for (const p of opts.plugins ?? []) await app.register(p.plugin, p.options as never);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ statusCode: 404, code: 'FST_ERR_NOT_FOUND', error: 'Not Found', message: `No route ${req.method} ${req.url.split('?')[0]} (see /openapi.json)` });
  });
  return app;
}
