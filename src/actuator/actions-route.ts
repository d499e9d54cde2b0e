// GET /api/v1/actions: the actuator's journal (dry-run plans and applied changes), as a Fastify plugin for the server.
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { ErrorBody } from '../server/schemas.js';
import type { ActionJournal, ActionKind } from './journal.js';

export interface ActionsRouteOptions {
  journal: ActionJournal;
}

const KINDS = new Set<ActionKind>(['vpa', 'placeholder', 'quota']);

/** One journal entry (src/actuator/journal.ts ActionEntry), for the OpenAPI document and the serializer. */
const ACTION_ENTRY = {
  type: 'object',
  properties: {
    time: { type: 'string', description: 'ISO time the entry was written.' },
    cycle: { type: 'integer', description: 'Snapshot cycle that drove the change.' },
    kind: { type: 'string', enum: [...KINDS] },
    action: { type: 'string', description: 'update-recommendation, create, replace or delete.' },
    target: { type: 'string', description: 'namespace/name of the object.' },
    dryRun: { type: 'boolean' },
    outcome: { type: 'string', enum: ['planned', 'applied', 'exists', 'failed'] },
    reason: { type: 'string' },
    before: { description: 'The value in force (a VPA recommendation, a quota, a placeholder), or null.' },
    after: { description: 'The value written, or that would have been.' },
  },
  required: ['time', 'cycle', 'kind', 'action', 'target', 'dryRun', 'outcome'],
} as const;

/** Mount with `app.register(actionsRoute, { journal: actuator.journal })`. Query: limit, kind, sinceCycle. */
export const actionsRoute: FastifyPluginAsync<ActionsRouteOptions> = async (app: FastifyInstance, opts) => {
  // the server's shared error body (buildServer adds it for every plugin); alone (tests), the route adds it itself
  if (!app.getSchema('Error')) app.addSchema(ErrorBody);
  app.get('/api/v1/actions', {
    schema: {
      summary: "The actuator's journal: every change it made or, in dry-run, would have made, newest last.",
      tags: ['actuator'],
      querystring: {
        type: 'object',
        properties: {
          limit: { type: 'integer', minimum: 1, maximum: 100000 },
          kind: { type: 'string', enum: [...KINDS] },
          sinceCycle: { type: 'integer', minimum: 0 },
        },
        additionalProperties: false,
      },
      response: {
        200: {
          type: 'object',
          properties: { total: { type: 'integer', description: 'Entries recorded since start.' }, actions: { type: 'array', items: ACTION_ENTRY } },
          required: ['total', 'actions'],
        },
        // a query parameter out of range or unknown (FST_ERR_VALIDATION)
        400: { $ref: 'Error#' },
      },
    },
  }, async (req) => {
    const q = req.query as { limit?: number; kind?: ActionKind; sinceCycle?: number };
    const actions = opts.journal.list({ limit: q.limit ?? 100, kind: q.kind, sinceCycle: q.sinceCycle });
    return { total: opts.journal.recorded, actions };
  });
};
