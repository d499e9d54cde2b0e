// Placeholder pods reconciled on an in-memory API: caps on stale data, names per pool, 409 on create, reserved capacity,
// the annotation cluster-autoscaler needs.
import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { actuatorOptions, type ActuatorOptions } from '../../src/actuator/config.js';
import { ActionJournal } from '../../src/actuator/journal.js';
import { KubeHttpError, type KubeApi, type KubeOp } from '../../src/actuator/kube-api.js';
import { silentLog } from '../../src/actuator/log.js';
import { createActuatorMetrics, type ActuatorMetrics } from '../../src/actuator/metrics.js';
import { parseQuantity } from '../../src/actuator/quantity.js';
import { ShadowPods } from '../../src/actuator/shadow-pods.js';
import { placeholderSpecs, poolReserves, poolSlug } from '../../src/actuator/shadow-plan.js';
import type { ShadowPlan } from '../../src/model/snapshot.js';
import { snapshot } from '../helpers/kube-snapshot.js';

const GiB = 2 ** 30;

interface FakePod {
  metadata: { name: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { nodeName?: string; containers: { resources?: { requests?: Record<string, string> } }[] };
  status?: { phase?: string };
}

/** Pods of one namespace: list (every pod; ShadowPods filters by its labels), create (409 when the name is taken), delete. */
class PodServer {
  readonly pods = new Map<string, FakePod>();
  /** Creates of these pool names fail with 422. */
  readonly refuse = new Set<string>();
  private uid = 0;

  readonly request = async <T>(op: KubeOp, _path: string, init: { body?: unknown } = {}): Promise<T> => {
    if (op.verb === 'list') return { items: [...this.pods.values()].map((p) => structuredClone(p)) } as T;
    if (op.verb === 'create') {
      const body = structuredClone(init.body) as FakePod;
      if (this.pods.has(op.name!)) throw new KubeHttpError(409, 'AlreadyExists', op, 'exists');
      if (this.refuse.has(body.metadata.annotations?.['foresight.io/pool-name'] ?? '')) throw new KubeHttpError(422, 'Invalid', op, 'refused');
      body.metadata.uid = String(++this.uid);
      this.pods.set(op.name!, body);
      return structuredClone(body) as T;
    }
    if (op.verb === 'delete') {
      this.pods.delete(op.name!);
      return {} as T;
    }
    throw new Error(`unexpected ${op.verb}`);
  };

  cpu(): number {
    return [...this.pods.values()].reduce((s, p) => s + parseQuantity(p.spec.containers[0].resources!.requests!.cpu), 0);
  }
}

function setup(over: Partial<ActuatorOptions> = {}, metrics?: ActuatorMetrics, server = new PodServer()) {
  const opts = actuatorOptions({ dryRun: false, ...over });
  const journal = new ActionJournal();
  const registry = new Registry();
  const m = metrics ?? createActuatorMetrics(registry);
  return { server, journal, registry, metrics: m, sp: new ShadowPods(server as unknown as KubeApi, opts, journal, m, silentLog) };
}

describe('placeholder pods on stale data', () => {
  it('keeps the placeholders in place and adds a new split only up to the cap', async () => {
    const { server, sp } = setup({ maxShadowCpuCores: 8, maxPodCpuCores: 4 });
    await sp.reconcile(snapshot(1, 60, [], [{ pool: 'a', resource: 'cpu', size: 8 }]));
    expect(server.cpu()).toBe(8);
    const r = await sp.reconcile(snapshot(2, 120, [], [{ pool: 'b', resource: 'cpu', size: 8 }], true));
    expect(r).toMatchObject({ held: 2, created: 0, deleted: 0 });
    expect([...server.pods.keys()].sort()).toEqual(['foresight-shadow-a-0', 'foresight-shadow-a-1']);
    expect(server.cpu()).toBeLessThanOrEqual(8);
  });

  it('does not stack a larger split of the same pool over the cap', async () => {
    const { server, sp } = setup({ maxShadowCpuCores: 8 });
    const plan = (memGiB: number): ShadowPlan[] => [{ pool: 'default', resource: 'cpu', size: 8 }, { pool: 'default', resource: 'memory', size: memGiB * GiB }];
    await sp.reconcile(snapshot(1, 60, [], plan(32)));
    const fresh = [...server.pods.keys()];
    await sp.reconcile(snapshot(2, 120, [], plan(48), true));
    expect([...server.pods.keys()]).toEqual(fresh);
    expect(server.cpu()).toBeLessThanOrEqual(8 + 1e-3 * fresh.length);
  });

  it('still adds a missing placeholder that fits beside the ones in place', async () => {
    const { server, sp } = setup({ maxShadowCpuCores: 8, maxPodCpuCores: 2 });
    await sp.reconcile(snapshot(1, 60, [], [{ pool: 'a', resource: 'cpu', size: 4 }]));
    server.pods.delete('foresight-shadow-a-1');
    const r = await sp.reconcile(snapshot(2, 120, [], [{ pool: 'a', resource: 'cpu', size: 4 }], true));
    expect(r).toMatchObject({ held: 1, created: 1 });
    expect(server.cpu()).toBe(4);
  });
});

describe('placeholder names', () => {
  const long = 'production-workloads-high-memory-nodepool-east';

  it('gives pools that share their first 40 characters, or differ only in case and punctuation, distinct names', () => {
    const opts = actuatorOptions({});
    const pools = [`${long}-1`, `${long}-2`, 'Pool_A', 'pool.a', 'pool-a'];
    const slugs = pools.map(poolSlug);
    expect(new Set(slugs).size).toBe(pools.length);
    for (const s of slugs) expect(s).toMatch(/^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/);
    expect(poolSlug('pool-a')).toBe('pool-a'); // already a label: unchanged, so existing placeholders keep their names
    const plans = pools.map((pool) => ({ pool, resource: 'cpu', size: 1 }));
    const names = placeholderSpecs(poolReserves(plans, opts).pools, opts).map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('converges on two long pool names instead of replacing the same pods every cycle', async () => {
    const { server, sp } = setup();
    const plans: ShadowPlan[] = [{ pool: `${long}-1`, resource: 'cpu', size: 2 }, { pool: `${long}-2`, resource: 'cpu', size: 3 }];
    await sp.reconcile(snapshot(1, 60, [], plans));
    expect(server.pods.size).toBe(2);
    for (let c = 2; c <= 3; c++) expect(await sp.reconcile(snapshot(c, c * 60, [], plans))).toMatchObject({ created: 0, replaced: 0, deleted: 0, kept: 2 });
  });

  it('journals a create answered 409 as "exists", not "applied"', async () => {
    const { server, sp, journal, registry } = setup();
    // a pod of the placeholder's name without Foresight's labels: never listed as ours, so the create collides
    server.pods.set('foresight-shadow-a-0', { metadata: { name: 'foresight-shadow-a-0' }, spec: { containers: [{}] } });
    const r = await sp.reconcile(snapshot(1, 60, [], [{ pool: 'a', resource: 'cpu', size: 1 }]));
    expect(r).toMatchObject({ created: 0, existed: 1, failed: 0 });
    expect(journal.list().map((e) => [e.action, e.outcome])).toEqual([['create', 'exists']]);
    expect(await registry.getSingleMetricAsString('foresight_actions_total')).toMatch(/kind="placeholder",outcome="exists"} 1/);
  });
});

describe('reserved shadow capacity', () => {
  const reserved = async (registry: Registry): Promise<string[]> =>
    (await registry.getSingleMetricAsString('foresight_shadow_capacity')).split('\n').filter((l) => l.includes('state="reserved"')).map((l) => l.replace(/,?state="reserved"/, ''));

  it('counts only placeholders that exist and are scheduled, shows a failed create as 0, and clears pools that are gone', async () => {
    const { server, sp, registry, metrics } = setup({ maxPodCpuCores: 2 });
    server.refuse.add('b');
    const plans: ShadowPlan[] = [{ pool: 'a', resource: 'cpu', size: 4 }, { pool: 'b', resource: 'cpu', size: 1 }];
    await sp.reconcile(snapshot(1, 60, [], plans));
    expect(await reserved(registry)).toEqual([
      'foresight_shadow_capacity{pool="a",resource="cpu"} 0',
      'foresight_shadow_capacity{pool="a",resource="memory"} 0',
      'foresight_shadow_capacity{pool="b",resource="cpu"} 0',
      'foresight_shadow_capacity{pool="b",resource="memory"} 0',
    ]);
    server.pods.get('foresight-shadow-a-0')!.spec.nodeName = 'node-1';
    await sp.reconcile(snapshot(2, 120, [], plans));
    expect(await reserved(registry)).toContain('foresight_shadow_capacity{pool="a",resource="cpu"} 2');
    server.pods.get('foresight-shadow-a-1')!.status = { phase: 'Running' };
    await sp.reconcile(snapshot(3, 180, [], plans));
    expect(await reserved(registry)).toContain('foresight_shadow_capacity{pool="a",resource="cpu"} 4');
    // shadow capacity switched off (same metrics): the placeholders are deleted and no pool keeps its last value
    const off = setup({ shadowEnabled: false }, metrics, server);
    await off.sp.reconcile(snapshot(4, 240, [], plans));
    expect(server.pods.size).toBe(0);
    expect(await reserved(registry)).toEqual([]);
  });

  it('exports no reserved series in dry-run', async () => {
    const { sp, registry } = setup({ dryRun: true });
    await sp.reconcile(snapshot(1, 60, [], [{ pool: 'a', resource: 'cpu', size: 1 }]));
    expect(await reserved(registry)).toEqual([]);
  });
});

describe('placeholder manifest', () => {
  it('marks every placeholder safe to evict, so that cluster-autoscaler can still remove its node (a bare pod has no controller)', async () => {
    const { server, sp } = setup({ maxPodCpuCores: 2 });
    await sp.reconcile(snapshot(1, 60, [], [{ pool: 'a', resource: 'cpu', size: 4 }]));
    expect(server.pods.size).toBe(2);
    for (const p of server.pods.values()) expect(p.metadata.annotations?.['cluster-autoscaler.kubernetes.io/safe-to-evict'], p.metadata.name).toBe('true');
  });
});
