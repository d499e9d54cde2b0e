// The quota manager reports what the safety gate held back, as the VPA recommender does
// (foresight_actuator_holds_total{kind="quota"}).
import { describe, expect, it } from 'vitest';
import { actuatorOptions } from '../../src/actuator/config.js';
import { ActionJournal } from '../../src/actuator/journal.js';
import { KubeHttpError, type KubeApi, type KubeOp } from '../../src/actuator/kube-api.js';
import { silentLog } from '../../src/actuator/log.js';
import { noopActuatorMetrics } from '../../src/actuator/metrics.js';
import { QuotaManager } from '../../src/actuator/quota.js';
import { SafetyGate } from '../../src/actuator/safety.js';
import { VpaRecommender } from '../../src/actuator/vpa-recommender.js';
import { snapshot, state } from '../helpers/kube-snapshot.js';

/** One opted-in namespace and no ResourceQuota yet (dry-run plans it). */
const api = {
  request: async <T>(op: KubeOp): Promise<T> => {
    if (op.verb === 'list') return { items: [{ metadata: { name: 'team-a' } }] } as T;
    if (op.verb === 'get') throw new KubeHttpError(404, 'Not Found', op, 'not found');
    throw new Error(`unexpected ${op.verb}`);
  },
} as unknown as KubeApi;

describe('quota manager: gate holds', () => {
  it('counts a raise held by the cooldown under kind "quota"', async () => {
    const held: string[] = [];
    const opts = actuatorOptions({ dryRun: true });
    const quotas = new QuotaManager(api, opts, new SafetyGate(opts), new ActionJournal(), { ...noopActuatorMetrics, held: (kind, reason) => held.push(`${kind}:${reason}`) }, silentLog);
    const cpu = (q: number) => state({ tenant: 'team-a', resource: 'cpu', usage: 1, quantiles: [[q, q, q, q]] });
    expect((await quotas.reconcile(snapshot(1, 0, [cpu(2)]))).planned).toBe(1);
    expect(held).toEqual([]);
    // 100 s later the forecast doubles: within the 300 s cooldown, every cpu key is held
    await quotas.reconcile(snapshot(2, 100, [cpu(4)]));
    expect(held.length).toBeGreaterThan(0);
    expect(new Set(held)).toEqual(new Set(['quota:cooldown']));
  });

  it('raises the quota through the cooldown to the demand of this time of day, as the VPA recommender does', async () => {
    const opts = actuatorOptions({ dryRun: true });
    const journal = new ActionJournal();
    const quotas = new QuotaManager(api, opts, new SafetyGate(opts), journal, noopActuatorMetrics, silentLog);
    const cpu = (q: number, recurringPeak?: number) => state({ tenant: 'team-a', resource: 'cpu', usage: 1, quantiles: [[q, q, q, q]], recurringPeak });
    const plannedCpu = (): string[] => journal.list().map((e) => (e.after as Record<string, string>)['requests.cpu']);
    await quotas.reconcile(snapshot(1, 0, [cpu(2)]));
    // 100 s later, within the cooldown, the forecast asks for 8: held at 2 (nothing planned) without the demand of this
    // time of day, raised to 6 with the same hour's 6
    await quotas.reconcile(snapshot(2, 100, [cpu(8)]));
    expect(plannedCpu()).toEqual(['2']);
    await quotas.reconcile(snapshot(3, 200, [cpu(8, 6)]));
    expect(plannedCpu()).toEqual(['2', '6']);
  });

  it('keeps a namespace\'s quota cooldown when a VPA named like it goes away in a namespace called "quota"', async () => {
    // the gate is shared: VPA targets and quota limits must not share a key prefix
    const planned = async (vpaGoes: boolean): Promise<string[]> => {
      const opts = actuatorOptions({ dryRun: true });
      const gate = new SafetyGate(opts);
      const journal = new ActionJournal();
      let vpas = [{ metadata: { name: 'team-a', namespace: 'quota' }, spec: { recommenders: [{ name: 'foresight' }] } }];
      const both = {
        request: async <T>(op: KubeOp): Promise<T> => {
          if (op.resource === 'verticalpodautoscalers') return { items: structuredClone(vpas) } as T;
          return api.request<T>(op, '');
        },
      } as unknown as KubeApi;
      const quotas = new QuotaManager(both, opts, gate, journal, noopActuatorMetrics, silentLog);
      const recommender = new VpaRecommender(both, opts, gate, new ActionJournal(), noopActuatorMetrics, silentLog);
      const cpu = (q: number) => state({ tenant: 'team-a', resource: 'cpu', usage: 1, quantiles: [[q, q, q, q]] });
      await recommender.reconcile(snapshot(1, 0, [cpu(2)]));
      await quotas.reconcile(snapshot(1, 0, [cpu(2)]));
      if (vpaGoes) vpas = [];
      await recommender.reconcile(snapshot(2, 100, [cpu(4)]));
      await quotas.reconcile(snapshot(2, 100, [cpu(4)])); // 100 s later: within the 300 s cooldown
      return journal.list().map((e) => (e.after as Record<string, string>)['requests.cpu']);
    };
    expect(await planned(false)).toEqual(['2']);
    expect(await planned(true)).toEqual(['2']);
  });
});
