// Placeholder pods reconciled on an in-memory API: caps on stale data and during a first fit, names per pool, 409 on
// create, reserved capacity, ended placeholders, the pod count's hysteresis, options changed since, a lost Lease, the
// annotation cluster-autoscaler needs.
import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { actuatorOptions, type ActuatorOptions } from '../../src/actuator/config.js';
import { ActionJournal } from '../../src/actuator/journal.js';
import { LeadershipLostError } from '../../src/errors.js';
import { catalogue } from '../../src/metrics/catalogue.js';
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
  spec: { nodeName?: string; priorityClassName?: string; nodeSelector?: Record<string, string>; containers: { image?: string; resources?: { requests?: Record<string, string> } }[] };
  status?: { phase?: string };
}

/** Pods of one namespace: list (every pod; ShadowPods filters by its labels), create (409 when the name is taken), delete. */
class PodServer {
  readonly pods = new Map<string, FakePod>();
  /** Creates of these pool names fail with 422. */
  readonly refuse = new Set<string>();
  /** Every write, in order ("create <name>", "delete <name>"). */
  readonly writes: string[] = [];
  /** Thrown by every write when set (a lost Lease refuses writes before they are sent). */
  writeError: Error | undefined;
  private uid = 0;

  readonly request = async <T>(op: KubeOp, _path: string, init: { body?: unknown } = {}): Promise<T> => {
    if (op.verb !== 'list') {
      if (this.writeError) throw this.writeError;
      this.writes.push(`${op.verb} ${op.name}`);
    }
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

  it('in dry-run, exports what placeholders of a live run still hold, and warns once that they are left in place', async () => {
    const { server, sp, registry } = setup({ dryRun: true });
    await sp.reconcile(snapshot(1, 60, [], [{ pool: 'a', resource: 'cpu', size: 1 }]));
    expect(await reserved(registry)).toEqual([]); // nothing was ever created: no series to compare with the target
    // a live run made three 4-core placeholders, all scheduled; then dry-run was switched back on
    const live = setup({ maxPodCpuCores: 4 }, undefined, server);
    await live.sp.reconcile(snapshot(2, 120, [], [{ pool: 'a', resource: 'cpu', size: 12 }]));
    for (const p of server.pods.values()) p.spec.nodeName = 'node-1';
    const warnings: string[] = [];
    const after = new Registry();
    const dry = new ShadowPods(server as unknown as KubeApi, actuatorOptions({ dryRun: true }), new ActionJournal(), createActuatorMetrics(after), { ...silentLog, warn: (_o, m) => warnings.push(m ?? '') });
    for (let c = 3; c <= 4; c++) await dry.reconcile(snapshot(c, c * 60, [], [{ pool: 'a', resource: 'cpu', size: 1 }]));
    expect(server.pods.size).toBe(3); // dry-run changes nothing
    expect(await reserved(after)).toContain('foresight_shadow_capacity{pool="a",resource="cpu"} 12');
    expect(warnings).toEqual([expect.stringMatching(/dry-run, but placeholders of a live run are still in place/)]);
    // and the metric's help (the README table) says so rather than "no reserved series in dry-run"
    expect(catalogue.shadowCapacity.help).not.toContain('no reserved series in dry-run');
    expect(catalogue.shadowCapacity.help).toMatch(/in dry-run, .*reserved series only for a pool where placeholders of an earlier live run remain/);
  });

  it('replaces a placeholder that ended (evicted, its node shut down) and does not count it as reserved', async () => {
    const { server, sp, registry } = setup({ maxPodCpuCores: 2 });
    const plans: ShadowPlan[] = [{ pool: 'a', resource: 'cpu', size: 2 }];
    await sp.reconcile(snapshot(1, 60, [], plans));
    const pod = server.pods.get('foresight-shadow-a-0')!;
    pod.spec.nodeName = 'node-1';
    pod.status = { phase: 'Failed' };
    const uid = pod.metadata.uid;
    // the ended pod is still in the API, bound to its node, the same size: replaced all the same
    expect(await sp.reconcile(snapshot(2, 120, [], plans))).toMatchObject({ replaced: 1, kept: 0 });
    expect(server.pods.get('foresight-shadow-a-0')!.metadata.uid).not.toBe(uid);
    expect(await reserved(registry)).toContain('foresight_shadow_capacity{pool="a",resource="cpu"} 0');
    // on stale data too (it is kept at its size, but brought back)
    server.pods.get('foresight-shadow-a-0')!.status = { phase: 'Succeeded' };
    expect(await sp.reconcile(snapshot(3, 180, [], plans, true))).toMatchObject({ held: 1, replaced: 1 });
  });
});

describe('placeholder churn', () => {
  it('does not shrink while a first fit is spread over cycles: the plan covers only the tenants fitted so far', async () => {
    const { server, sp } = setup({ maxPodCpuCores: 4 });
    await sp.reconcile(snapshot(1, 60, [], [{ pool: 'default', resource: 'cpu', size: 16 }]));
    const before = new Map([...server.pods].map(([n, p]) => [n, p.metadata.uid]));
    const partial = { ...snapshot(2, 120, [], [{ pool: 'default', resource: 'cpu', size: 6 }]), pendingFit: 900 };
    expect(await sp.reconcile(partial)).toMatchObject({ held: 4, replaced: 0, deleted: 0 });
    expect(new Map([...server.pods].map(([n, p]) => [n, p.metadata.uid]))).toEqual(before);
    // once every series is fitted the plan is whole again, and a smaller one shrinks
    expect(await sp.reconcile(snapshot(3, 180, [], [{ pool: 'default', resource: 'cpu', size: 6 }]))).toMatchObject({ deleted: 2, replaced: 2 });
  });

  it('keeps one more placeholder while the reserve stays within tolerance of needing it, and deletes before it creates', async () => {
    const { server, sp } = setup({ maxPodCpuCores: 4, maxShadowCpuCores: 64 });
    const at = (c: number, cores: number) => sp.reconcile(snapshot(c, c * 60, [], [{ pool: 'p', resource: 'cpu', size: cores }]));
    await at(1, 15.9);
    expect(server.pods.size).toBe(4);
    // up across 16 cores: a fifth pod is needed (no pod may exceed 4 cores), so the four are resized
    expect(await at(2, 16.1)).toMatchObject({ created: 1, replaced: 4 });
    // wandering back and forth around 16 changes nothing now: 15.9 over 5 pods is within 10% of 16.1 over 5
    for (let c = 3; c <= 8; c++) expect(await at(c, c % 2 ? 15.9 : 16.1)).toMatchObject({ created: 0, replaced: 0, deleted: 0, kept: 5 });
    // a fall of more than the tolerance below 4 pods' worth gives up the fifth (the four left, 3.22 cores each, are
    // within 10% of 14.3 / 4)
    expect(await at(9, 14.3)).toMatchObject({ deleted: 1, replaced: 0, kept: 4 });
    expect(server.pods.size).toBe(4);
    // up to 20 cores: a fifth again, and the four resized; then down to 10: the pods no longer wanted go first
    expect(await at(10, 20)).toMatchObject({ created: 1, replaced: 4 });
    server.writes.length = 0;
    expect(await at(11, 10)).toMatchObject({ deleted: 2, replaced: 3 });
    expect(server.writes).toEqual(['delete foresight-shadow-p-3', 'delete foresight-shadow-p-4', ...[0, 1, 2].flatMap((i) => [`delete foresight-shadow-p-${i}`, `create foresight-shadow-p-${i}`])]);
    expect(server.cpu()).toBeCloseTo(10, 2);
  });

  it('replaces placeholders made under another PriorityClass, image or node selector, once', async () => {
    const server = new PodServer();
    const plans: ShadowPlan[] = [{ pool: 'a', resource: 'cpu', size: 2 }];
    await setup({}, undefined, server).sp.reconcile(snapshot(1, 60, [], plans));
    const changed = setup({ priorityClassName: 'spare', pauseImage: 'registry.example/pause:3.10', shadowNodeSelector: 'cloud.google.com/gke-nodepool=default-pool' }, undefined, server).sp;
    expect(await changed.reconcile(snapshot(2, 120, [], plans))).toMatchObject({ replaced: 1 });
    const pod = server.pods.get('foresight-shadow-a-0')!;
    expect([pod.spec.priorityClassName, pod.spec.containers[0].image, pod.spec.nodeSelector]).toEqual(['spare', 'registry.example/pause:3.10', { 'cloud.google.com/gke-nodepool': 'default-pool' }]);
    expect(await changed.reconcile(snapshot(3, 180, [], plans))).toMatchObject({ replaced: 0, kept: 1 });
  });

  it('stops at the first write a lost Lease refuses, instead of failing every placeholder in turn', async () => {
    const { server, sp, journal } = setup({ maxPodCpuCores: 1 });
    server.writeError = new LeadershipLostError('create pods');
    await expect(sp.reconcile(snapshot(1, 60, [], [{ pool: 'a', resource: 'cpu', size: 5 }]))).rejects.toThrow(/Lease/);
    expect(journal.list()).toEqual([]);
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

describe('placeholder count of a shard', () => {
  it('counts only its own placeholders for the hysteresis, not the orphans shard 0 removes', async () => {
    const server = new PodServer();
    const shard = { index: 0, total: 2 };
    const mk = (index: number, total: number) => new ShadowPods(server as unknown as KubeApi, actuatorOptions({ dryRun: false, maxPodCpuCores: 4, maxShadowCpuCores: 64 }), new ActionJournal(), createActuatorMetrics(new Registry()), silentLog, { index, total });
    const sp = mk(shard.index, shard.total);
    await sp.reconcile(snapshot(1, 60, [], [{ pool: 'p', resource: 'cpu', size: 16 }]));
    expect(server.pods.size).toBe(4);
    // an orphan of a former 4-shard deployment appears in the same pool
    await mk(3, 4).reconcile(snapshot(2, 120, [], [{ pool: 'p', resource: 'cpu', size: 4 }]));
    expect(server.pods.has('foresight-shadow-s3-p-0')).toBe(true);
    // 15.9 cores: four pods as before, the orphan deleted; counting it would have kept five and resized all four
    const r = await sp.reconcile(snapshot(3, 180, [], [{ pool: 'p', resource: 'cpu', size: 15.9 }]));
    expect(r).toMatchObject({ created: 0, replaced: 0, deleted: 1, kept: 4 });
    expect([...server.pods.keys()].sort()).toEqual([0, 1, 2, 3].map((i) => `foresight-shadow-s0-p-${i}`));
  });
});
