// GET /api/v1/actions: the actuator's journal (dry-run plans and applied changes), as a Fastify plugin for the server.
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { ActionJournal, ActionKind } from './journal.js';

export interface ActionsRouteOptions {
  journal: ActionJournal;
}

const KINDS = new Set<ActionKind>(['vpa', 'placeholder', 'quota']);

/** Mount with `app.register(actionsRoute, { journal: actuator.journal })`. Query: limit, kind, sinceCycle. */
export const actionsRoute: FastifyPluginAsync<ActionsRouteOptions> = async (app: FastifyInstance, opts) => {
  app.get('/api/v1/actions', {
    schema: {
      querystring: {
        type: 'object',
        properties: {
          limit: { type: 'integer', minimum: 0, maximum: 100000 },
          kind: { type: 'string', enum: [...KINDS] },
          sinceCycle: { type: 'integer', minimum: 0 },
        },
        additionalProperties: false,
      },
    },
  }, async (req) => {
    const q = req.query as { limit?: number; kind?: ActionKind; sinceCycle?: number };
    const actions = opts.journal.list({ limit: q.limit ?? 100, kind: q.kind, sinceCycle: q.sinceCycle });
    return { total: opts.journal.recorded, actions };
  });
};
