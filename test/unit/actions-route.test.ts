// GET /api/v1/actions: the journal through the route's response schema, whole (before and after included), and its
// query validated.
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { actionsRoute } from '../../src/actuator/actions-route.js';
import { ActionJournal } from '../../src/actuator/journal.js';

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
});
