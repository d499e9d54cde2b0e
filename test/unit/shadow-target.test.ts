// state="target" of foresight_shadow_capacity: the capped plan the placeholders are sized for, beside the uncapped desired reserve.
import { describe, expect, it } from 'vitest';
import { actuatorOptions } from '../../src/actuator/config.js';
import { ActionJournal } from '../../src/actuator/journal.js';
import type { KubeApi, KubeOp } from '../../src/actuator/kube-api.js';
import { silentLog } from '../../src/actuator/log.js';
import { createActuatorMetrics } from '../../src/actuator/metrics.js';
import { ShadowPods } from '../../src/actuator/shadow-pods.js';
import { createExporter } from '../../src/metrics/exporter.js';
import type { Snapshot } from '../../src/model/snapshot.js';
import { snapshot } from '../helpers/kube-snapshot.js';

interface FakePod {
  spec: { nodeName?: string };
}

/** Pods of one namespace, each created already scheduled. */
const server = {
  pods: new Map<string, FakePod>(),
  request: async (op: KubeOp, _p: string, init: { body?: unknown } = {}): Promise<unknown> => {
    if (op.verb === 'list') return { items: [...server.pods.values()] };
    if (op.verb === 'create') {
      const b = structuredClone(init.body) as FakePod;
      b.spec.nodeName = 'node-1';
      server.pods.set(op.name!, b);
      return b;
    }
    if (op.verb === 'delete') {
      server.pods.delete(op.name!);
      return {};
    }
    throw new Error(`unexpected ${op.verb}`);
  },
};

describe('state="target"', () => {
  it('exports the capped plan next to the uncapped desired, across exporter resets, and clears it with shadow off', async () => {
    let snap: Snapshot | undefined = snapshot(1, 60, [], [{ pool: 'default', resource: 'cpu', size: 40 }]);
    const exporter = createExporter({ snapshot: () => snap });
    const m = createActuatorMetrics(exporter.registry);
    const sp = new ShadowPods(server as unknown as KubeApi, actuatorOptions({ dryRun: false, maxShadowCpuCores: 32 }), new ActionJournal(), m, silentLog);
    await sp.reconcile(snap!);
    let body = (await exporter.render()).body.toString();
    expect(body).toMatch(/pool="default",resource="cpu",state="desired"} 40\n/);
    expect(body).toMatch(/pool="default",resource="cpu",state="target"} 32\n/);
    expect(body).toMatch(/pool="default",resource="cpu",state="reserved"} 32\n/);
    snap = snapshot(2, 120, [], [{ pool: 'default', resource: 'cpu', size: 41 }]);
    body = (await exporter.render()).body.toString();
    expect(body).toMatch(/state="desired"} 41\n/);
    expect(body).toMatch(/resource="cpu",state="target"} 32\n/);
    const off = new ShadowPods(server as unknown as KubeApi, actuatorOptions({ dryRun: false, shadowEnabled: false }), new ActionJournal(), m, silentLog);
    await off.reconcile(snap!);
    snap = snapshot(3, 180, [], [{ pool: 'default', resource: 'cpu', size: 41 }]);
    body = (await exporter.render()).body.toString();
    expect(body).not.toMatch(/state="target"/);
  });
});
