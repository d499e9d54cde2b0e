// GET /api/v1/actions: the journal through the route's response schema, whole (before and after included), and its
// query validated.
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { actionsRoute } from '../../src/actuator/actions-route.js';
import { ActionJournal } from '../../src/actuator/journal.js';
import { createExporter } from '../../src/metrics/exporter.js';
import { buildServer } from '../../src/server/build.js';

describe('/api/v1/actions', () => {
  it('serves every field of an entry, filters by kind and refuses a limit of 0', async () => {
    const journal = new ActionJournal();
    journal.record({ cycle: 3, kind: 'vpa', action: 'update-recommendation', target: 'shop/web', dryRun: true, outcome: 'planned', reason: 'cpu: tenant shop over its 2 pods running', before: null, after: [{ containerName: 'app', target: { cpu: '500m' } }] });
    journal.record({ cycle: 3, kind: 'quota', action: 'create', target: 'shop/foresight', dryRun: true, outcome: 'planned', after: { hard: { 'requests.cpu': '2' } } });
    const app = Fastify();
    await app.register(actionsRoute, { journal });
    try {
      const all = (await app.inject('/api/v1/actions')).json() as { total: number; actions: Array<Record<string, unknown>> };
      expect(all.total).toBe(2);
      expect(all.actions[0]).toEqual({ time: expect.any(String), cycle: 3, kind: 'vpa', action: 'update-recommendation', target: 'shop/web', dryRun: true, outcome: 'planned', reason: 'cpu: tenant shop over its 2 pods running', before: null, after: [{ containerName: 'app', target: { cpu: '500m' } }] });
      const quota = (await app.inject('/api/v1/actions?kind=quota')).json() as { actions: Array<{ after: unknown }> };
      expect(quota.actions.map((a) => a.after)).toEqual([{ hard: { 'requests.cpu': '2' } }]);
      const zero = await app.inject('/api/v1/actions?limit=0');
      expect(zero.statusCode).toBe(400);
      expect(zero.json().message).toMatch(/limit/);
    } finally {
      await app.close();
    }
  });

  it('documents its 400 (a bad query parameter) with the server\'s shared Error schema, and answers with that body', async () => {
    const journal = new ActionJournal();
    const app = await buildServer({ exporter: createExporter({ snapshot: () => undefined }), snapshot: () => undefined, ready: () => false, plugins: [{ plugin: actionsRoute as never, options: { journal } }] });
    try {
      const doc = (await app.inject('/openapi.json')).json();
      const responses = doc.paths['/api/v1/actions'].get.responses;
      expect(Object.keys(responses).sort()).toEqual(['200', '400']);
      const ref = responses['400'].content['application/json'].schema.$ref as string;
      // the same component as the tenants routes' errors
      expect(ref).toBe(doc.paths['/api/v1/tenants'].get.responses['400'].content['application/json'].schema.$ref);
      const errorSchema = doc.components.schemas[ref.replace('#/components/schemas/', '')];
      expect(errorSchema.required).toEqual(['statusCode', 'error', 'message']);
      for (const url of ['/api/v1/actions?limit=0', '/api/v1/actions?kind=pod', '/api/v1/actions?colour=red']) {
        const r = await app.inject(url);
        expect(r.statusCode, url).toBe(400);
        const body = r.json();
        expect(Object.keys(body).sort(), url).toEqual(['code', 'error', 'message', 'statusCode']);
        expect(body, url).toMatchObject({ statusCode: 400, code: 'FST_ERR_VALIDATION', error: 'Bad Request' });
      }
    } finally {
      await app.close();
    }
  });
});
