// The actuator against a real kube-apiserver + etcd with real RBAC: every write goes through the ServiceAccount token
// and the rules of deploy/base/rbac.yaml. One API server for the whole file; each test uses its own namespace.
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify from 'fastify';
import { Registry } from 'prom-client';
import { Actuator, type ActuatorDeps } from '../../src/actuator/actuator.js';
import { actionsRoute } from '../../src/actuator/actions-route.js';
import { actuatorOptions } from '../../src/actuator/config.js';
import { silentLog } from '../../src/actuator/log.js';
import { startActuator } from '../../src/actuator/wire.js';
import { KubeApi, connectionFromKubeConfig } from '../../src/actuator/kube-api.js';
import { FIELD_MANAGER, lastWriteS } from '../../src/actuator/last-write.js';
import { createActuatorMetrics } from '../../src/actuator/metrics.js';
import { parseQuantity } from '../../src/actuator/quantity.js';
import type { Vpa } from '../../src/actuator/vpa-types.js';
import type { ShadowPlan } from '../../src/model/snapshot.js';
import { readTrace } from '../../src/sources/trace-file.js';
import { createForecastEngine } from '../../src/core/engine.js';
import { SnapshotHub, publishSnapshot } from '../../src/loop/snapshot-hub.js';
import { describeWithBinaries } from '../helpers/binaries.js';
import { type KubeEnv, type KubeEnvBinaries, startKubeEnv } from '../helpers/kube-env.js';
import { snapshot, state } from '../helpers/kube-snapshot.js';
import { shardOfTenant } from '../../src/model/shard.js';
import { repoPath } from '../helpers/paths.js';
import { tracesDir } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';

const GiB = 2 ** 30;
const VPAS = '/apis/autoscaling.k8s.io/v1';

describeWithBinaries('actuator on a real kube-apiserver', ['kube-apiserver', 'etcd', 'openssl'], (bins) => {
  let env: KubeEnv;
  let n = 0;
  beforeAll(async () => {
    env = await startKubeEnv(bins as unknown as KubeEnvBinaries);
  });
  afterAll(async () => {
    await env?.stop();
  });

  async function namespace(labels: Record<string, string> = {}): Promise<string> {
    const ns = `t${++n}-${Math.random().toString(36).slice(2, 7)}`;
    await env.createNamespace(ns, labels);
    return ns;
  }
  const OPT_IN = { 'foresight.io/quota': 'true' };

  interface Quota {
    metadata: { name: string; resourceVersion: string; labels?: Record<string, string> };
    spec: { hard: Record<string, string> };
    status?: { used?: Record<string, string> };
  }
  async function quotas(ns: string): Promise<Quota[]> {
    return (await env.admin.request<{ items: Quota[] }>({ verb: 'list', resource: 'resourcequotas', namespace: ns }, `/api/v1/namespaces/${ns}/resourcequotas`)).items;
  }

  function vpaObject(ns: string, name: string, recommender: string | undefined, annotations: Record<string, string> = {}, containers = ['app']): Vpa & { apiVersion: string; kind: string } {
    return {
      apiVersion: 'autoscaling.k8s.io/v1',
      kind: 'VerticalPodAutoscaler',
      metadata: { name, namespace: ns, annotations },
      spec: {
        targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
        ...(recommender ? { recommenders: [{ name: recommender }] } : {}),
        resourcePolicy: { containerPolicies: containers.map((containerName) => ({ containerName })) },
      },
    };
  }

  async function createVpa(v: Vpa & { apiVersion: string; kind: string }): Promise<Vpa> {
    return env.admin.request<Vpa>({ verb: 'create', resource: 'verticalpodautoscalers', namespace: v.metadata.namespace }, `${VPAS}/namespaces/${v.metadata.namespace}/verticalpodautoscalers`, { method: 'POST', body: v });
  }

  async function getVpa(ns: string, name: string): Promise<Vpa> {
    return env.admin.request<Vpa>({ verb: 'get', resource: 'verticalpodautoscalers', namespace: ns, name }, `${VPAS}/namespaces/${ns}/verticalpodautoscalers/${name}`);
  }

  interface PodLite {
    metadata: { name: string; uid: string; labels?: Record<string, string>; annotations?: Record<string, string> };
    spec: { priority?: number; priorityClassName?: string; containers: { resources: { requests: Record<string, string> } }[] };
  }
  async function pods(ns: string, selector?: string): Promise<PodLite[]> {
    const l = await env.admin.request<{ items: PodLite[] }>({ verb: 'list', resource: 'pods', namespace: ns }, `/api/v1/namespaces/${ns}/pods`, { query: { labelSelector: selector } });
    return l.items.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  }
  /** A pod spec that foresight-system admits: deploy/base/namespace.yaml enforces the "restricted" Pod Security profile. */
  const restrictedSpec = (name: string): Record<string, unknown> => ({
    securityContext: { runAsNonRoot: true, runAsUser: 65535, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [{ name, image: 'registry.k8s.io/pause:3.10', securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } }],
  });

  // Every actuator a test makes is stopped after it (releasing the Lease), even when the test failed half-way.
  const live: Actuator[] = [];
  afterEach(async () => {
    for (const a of live.splice(0)) await a.stop();
  });

  function actuator(over: Partial<ActuatorDeps> & { options?: ActuatorDeps['options'] } = {}): Actuator {
    return track(new Actuator({
      connection: env.actuatorConnection,
      ...over,
      options: { identity: 'test-actuator', dryRun: false, minCpuCores: 0, minMemoryBytes: 0, ...over.options },
    }));
  }
  function track(a: Actuator): Actuator {
    live.push(a);
    return a;
  }

  function targetCpu(v: Vpa, container = 'app'): number {
    const c = v.status?.recommendation?.containerRecommendations?.find((x) => x.containerName === container);
    return parseQuantity(c?.target.cpu);
  }

  it('raises a VPA recommendation and the opted-in namespace quota before the daily peak of a replayed trace (NASA HTTP 1995 through the forecast engine)', async () => {
    const ns = await namespace(OPT_IN);
    await createVpa(vpaObject(ns, 'web', 'foresight', { 'foresight.io/container-shares': 'app=3,sidecar=1' }, ['app', 'sidecar']));
    // requests per minute of a real web server, read at 5-minute spacing, as cores at 0.02 core per request/min
    const trace = await readTrace(tracesDir('canonical', 'nasa-http-1995.csv.gz'), { intervalS: 300 });
    const cpu = trace.series[0].values.map((x) => x * 0.02);
    const start = 4 * 288 + 24; // 02:00 on Wednesday 5 July 1995, after four days of history
    const engine = createForecastEngine({ intervalS: 300, seasonsS: [86_400] });
    engine.fit([ns], [cpu.slice(0, start)]);
    const a = actuator({ options: { namespaces: [ns] } });
    const meanHour = (i: number): number => {
      let s = 0;
      for (let j = i - 6; j <= i; j++) s += cpu[j];
      return s / 7;
    };
    let peak = 0;
    for (let i = start; i < start + 240; i++) peak = Math.max(peak, meanHour(i));
    const mid = (meanHour(start) + peak) / 2;
    let usageAt = -1;
    let targetAt = -1;
    let quotaAt = -1;
    let first = NaN;
    let firstQuota = NaN;
    let writes = 0;
    for (let i = start; i < start + 130 && usageAt < 0; i++) {
      engine.update([ns], [cpu.slice(i, i + 1)]);
      let recentPeak = 0;
      for (let j = i - 11; j <= i; j++) recentPeak = Math.max(recentPeak, cpu[j]);
      const st = { ...state({ tenant: ns, resource: 'cpu', usage: cpu[i], quantiles: [[0, 0, 0, 0]], recentPeak, historyPoints: i + 1 }), forecast: engine.forecast([ns])[0] };
      const rep = await a.runOnce(snapshot(i, i * 300, [st]));
      expect(rep.errors).toEqual([]);
      writes += rep.vpa?.written ?? 0;
      const v = await getVpa(ns, 'web');
      const total = targetCpu(v, 'app') + targetCpu(v, 'sidecar');
      if (Number.isNaN(first)) first = total;
      if (targetAt < 0 && total >= mid) targetAt = i - start;
      const q = parseQuantity((await quotas(ns)).find((x) => x.metadata.name === 'foresight')?.spec.hard['requests.cpu']);
      if (Number.isNaN(firstQuota)) firstQuota = q;
      if (quotaAt < 0 && q >= mid) quotaAt = i - start;
      if (usageAt < 0 && meanHour(i) >= mid) usageAt = i - start;
    }
    const v = await getVpa(ns, 'web');
    // split 3:1 by the shares annotation, bounds around the target
    expect(targetCpu(v, 'app') / targetCpu(v, 'sidecar')).toBeCloseTo(3, 1);
    for (const r of v.status!.recommendation!.containerRecommendations!) {
      expect(parseQuantity(r.lowerBound!.cpu)).toBeLessThanOrEqual(parseQuantity(r.target.cpu));
      expect(parseQuantity(r.upperBound!.cpu)).toBeGreaterThanOrEqual(parseQuantity(r.target.cpu));
    }
    expect(v.status!.conditions!.find((c) => c.type === 'RecommendationProvided')?.status).toBe('True');
    expect(v.status!.conditions!.find((c) => c.type === 'LowConfidence')?.status).toBe('True'); // 4 days < a week of 5-min samples
    expect(first).toBeLessThan(mid); // it started at the night level...
    expect(usageAt).toBeGreaterThan(0);
    expect(targetAt).toBeGreaterThan(0); // ...rose in the morning...
    expect(targetAt).toBeLessThan(usageAt); // ...before the demand did
    expect(writes).toBeGreaterThan(2);
    // the namespace quota (requests.cpu = the tenant total) moves the same way, with limits above requests
    expect(firstQuota).toBeLessThan(mid);
    expect(quotaAt).toBeGreaterThan(0);
    expect(quotaAt).toBeLessThan(usageAt);
    const quota = (await quotas(ns)).find((x) => x.metadata.name === 'foresight')!;
    expect(quota.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('foresight');
    expect(parseQuantity(quota.spec.hard['limits.cpu'])).toBeGreaterThan(parseQuantity(quota.spec.hard['requests.cpu']));
    console.log(`recommendation crossed the night-to-peak midpoint ${(usageAt - targetAt) * 5} min, the quota ${(usageAt - quotaAt) * 5} min, before the 35-min mean usage did (${writes} VPA writes)`);
    await a.stop();
  }, 120_000); // ~13 s alone; the whole suite shares two cores

  it('never touches a VPA that names another recommender or none', async () => {
    const ns = await namespace();
    const other = await createVpa(vpaObject(ns, 'other', 'some-other-recommender'));
    const dflt = await createVpa(vpaObject(ns, 'default-rec', undefined));
    const ours = await createVpa(vpaObject(ns, 'ours', 'foresight'));
    await createVpa(vpaObject(ns, 'nameless', 'foresight', {}, [])); // no container names, no shares: cannot be split
    const a = actuator(); // cluster-wide
    const snap = snapshot(1, 1000, [state({ tenant: ns, resource: 'cpu', usage: 1, quantiles: [[1, 2, 3, 4]] })]);
    const rep = await a.runOnce(snap);
    expect(rep.errors).toEqual([]);
    expect(targetCpu(await getVpa(ns, 'ours'))).toBe(2);
    const nameless = await getVpa(ns, 'nameless');
    expect(nameless.status?.recommendation).toBeUndefined();
    expect(nameless.status?.conditions?.find((c) => c.type === 'RecommendationProvided')).toMatchObject({ status: 'False', message: expect.stringMatching(/container-shares/) });
    for (const [name, before] of [['other', other], ['default-rec', dflt]] as const) {
      const after = await getVpa(ns, name);
      expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
      expect(after.status?.recommendation).toBeUndefined();
    }
    expect(ours.status?.recommendation).toBeUndefined();
    await a.stop();
  });

  it('recommends per pod (the tenant forecast over its running pods), and nothing without a pod count', async () => {
    const four = await namespace();
    const unknown = await namespace();
    await createVpa(vpaObject(four, 'web', 'foresight'));
    await createVpa(vpaObject(unknown, 'web', 'foresight'));
    const a = actuator();
    const rep = await a.runOnce(
      snapshot(1, 1000, [
        state({ tenant: four, resource: 'cpu', usage: 1, quantiles: [[1, 2, 3, 4]] }),
        state({ tenant: four, resource: 'pods', usage: 4, quantiles: [[4, 4, 4, 4]] }),
        state({ tenant: unknown, resource: 'cpu', usage: 1, quantiles: [[1, 2, 3, 4]] }),
      ], [], false, false),
    );
    expect(rep.errors).toEqual([]);
    expect(targetCpu(await getVpa(four, 'web'))).toBe(0.5); // q90 of the tenant, 2 cores, over 4 pods
    const none = await getVpa(unknown, 'web');
    expect(none.status?.recommendation).toBeUndefined();
    expect(none.status?.conditions?.find((c) => c.type === 'RecommendationProvided')).toMatchObject({ status: 'False', reason: 'NoPodCount', message: expect.stringMatching(/no running-pod count/) });
    await a.stop();
  });

  it('sizes each VPA of a namespace from its own workload: its share of the tenant over its own pods', async () => {
    const ns = await namespace();
    await createVpa(vpaObject(ns, 'web', 'foresight'));
    await createVpa(vpaObject(ns, 'db', 'foresight'));
    const a = actuator();
    const snap = snapshot(1, 1000, [
      state({ tenant: ns, resource: 'cpu', usage: 1, quantiles: [[1, 2, 3, 4]] }),
      state({ tenant: ns, resource: 'pods', usage: 6, quantiles: [[6, 6, 6, 6]] }),
    ]);
    const workloads = { web: { share: 0.25, pods: 5, containers: { app: 1 } }, db: { share: 0.75, pods: 1, containers: { app: 1 } } };
    const rep = await a.runOnce({ ...snap, workloadUsage: new Map([['cpu', new Map([[ns, workloads]])]]) });
    expect(rep.errors).toEqual([]);
    // q90 of the tenant, 2 cores: web a quarter over 5 pods, db three quarters in its one pod (not 2/6 each)
    expect(targetCpu(await getVpa(ns, 'web'))).toBe(0.1);
    expect(targetCpu(await getVpa(ns, 'db'))).toBe(1.5);
    await a.stop();
  });

  it('creates, resizes and removes placeholder pods and never touches pods without its labels', async () => {
    const sys = 'foresight-system';
    const foreign = [
      { name: 'foreign-plain', labels: {} },
      { name: 'foreign-half', labels: { 'app.kubernetes.io/managed-by': 'foresight' } },
    ];
    for (const f of foreign) {
      await env.admin.request({ verb: 'create', resource: 'pods', namespace: sys }, `/api/v1/namespaces/${sys}/pods`, {
        method: 'POST',
        body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: f.name, labels: f.labels }, spec: restrictedSpec('c') },
      });
    }
    // Pod Security admission is in force there, so the placeholders created below meet "restricted"
    const bare = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'not-restricted' }, spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] } };
    const psa = await env.admin.request({ verb: 'create', resource: 'pods', namespace: sys }, `/api/v1/namespaces/${sys}/pods`, { method: 'POST', body: bare }).then(() => 'admitted', (err: Error) => err.message);
    // and the actuator's client says that it was Pod Security, not RBAC
    expect(psa).toMatch(/\(403\): Pod Security admission refused it \(the namespace's pod-security.kubernetes.io labels\): .*violates PodSecurity "restricted/);
    const foreignUids = (await pods(sys)).filter((p) => p.metadata.name.startsWith('foreign-')).map((p) => p.metadata.uid);
    expect(foreignUids).toHaveLength(2);
    const registry = new Registry();
    const a = actuator({ metrics: createActuatorMetrics(registry), options: { namespaces: ['none'], maxPodCpuCores: 2, maxPodMemoryBytes: 4 * GiB } });
    const plan = (cpu: number, mem: number): ShadowPlan[] => [
      { pool: 'pool-a', resource: 'cpu', size: cpu },
      { pool: 'pool-a', resource: 'memory', size: mem },
      { pool: 'pool-a', resource: 'network', size: 1_250_000 }, // no reservation: the scheduler counts no bandwidth
    ];
    const sel = 'app.kubernetes.io/managed-by=foresight,foresight.io/role=shadow';

    let rep = await a.runOnce(snapshot(1, 1000, [], plan(3, 2 * GiB)));
    expect(rep.errors).toEqual([]);
    expect(rep.shadow).toMatchObject({ created: 2, deleted: 0 });
    let ph = await pods(sys, sel);
    expect(ph.map((p) => [p.metadata.name, p.spec.containers[0].resources.requests.cpu, p.spec.priorityClassName, p.spec.priority])).toEqual([
      ['foresight-shadow-pool-a-0', '1500m', 'foresight-shadow', -10],
      ['foresight-shadow-pool-a-1', '1500m', 'foresight-shadow', -10],
    ]);
    const uid0 = ph[0].metadata.uid;
    expect(ph.map((p) => p.metadata.annotations?.['kubernetes.io/egress-bandwidth'])).toEqual([undefined, undefined]);
    // bare pods: cluster-autoscaler drains their nodes only with this annotation
    expect(ph.map((p) => p.metadata.annotations?.['cluster-autoscaler.kubernetes.io/safe-to-evict'])).toEqual(['true', 'true']);

    rep = await a.runOnce(snapshot(2, 1300, [], plan(3, 2 * GiB))); // idempotent
    expect(rep.shadow).toMatchObject({ created: 0, replaced: 0, deleted: 0, kept: 2 });

    rep = await a.runOnce(snapshot(3, 1600, [], plan(1, GiB))); // shrink to one pod of 1 core
    expect(rep.shadow).toMatchObject({ replaced: 1, deleted: 1 });
    ph = await pods(sys, sel);
    expect(ph.map((p) => [p.metadata.name, p.spec.containers[0].resources.requests.cpu])).toEqual([['foresight-shadow-pool-a-0', '1']]);
    expect(ph[0].metadata.uid).not.toBe(uid0);
    // no scheduler runs here: an unscheduled placeholder reserves nothing, a bound one reserves its requests
    expect(await registry.getSingleMetricAsString('foresight_shadow_capacity')).toMatch(/pool="pool-a",resource="cpu",state="reserved"} 0\n/);
    await env.admin.request({ verb: 'create', resource: 'pods/binding', namespace: sys }, `/api/v1/namespaces/${sys}/pods/foresight-shadow-pool-a-0/binding`, {
      method: 'POST',
      body: { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'foresight-shadow-pool-a-0' }, target: { apiVersion: 'v1', kind: 'Node', name: 'node-a' } },
    });
    rep = await a.runOnce(snapshot(4, 1750, [], plan(1, GiB)));
    expect(rep.shadow).toMatchObject({ created: 0, replaced: 0, deleted: 0, kept: 1 });
    expect(await registry.getSingleMetricAsString('foresight_shadow_capacity')).toMatch(/pool="pool-a",resource="cpu",state="reserved"} 1\n/);
    // the kubelet evicts it (node pressure): the pod stays, bound, phase Failed, and holds nothing; it is replaced
    const bound = (await pods(sys, sel))[0].metadata.uid;
    await env.admin.request({ verb: 'patch', resource: 'pods/status', namespace: sys }, `/api/v1/namespaces/${sys}/pods/foresight-shadow-pool-a-0/status`, {
      method: 'PATCH',
      contentType: 'application/merge-patch+json',
      body: { status: { phase: 'Failed', reason: 'Evicted' } },
    });
    rep = await a.runOnce(snapshot(4, 1800, [], plan(1, GiB)));
    expect(rep.shadow).toMatchObject({ replaced: 1, kept: 0 });
    expect((await pods(sys, sel)).map((p) => p.metadata.uid)).not.toContain(bound);
    expect(await registry.getSingleMetricAsString('foresight_shadow_capacity')).toMatch(/pool="pool-a",resource="cpu",state="reserved"} 0\n/);

    rep = await a.runOnce(snapshot(5, 1900, [], []));
    expect(rep.shadow).toMatchObject({ deleted: 1 });
    expect(await pods(sys, sel)).toEqual([]);
    const left = (await pods(sys)).filter((p) => p.metadata.name.startsWith('foreign-')).map((p) => p.metadata.uid);
    expect(left.sort()).toEqual(foreignUids.sort());
    await a.stop();
  });

  it('in dry-run changes nothing on the server and journals every intended change', async () => {
    const ns = await namespace(OPT_IN);
    const before = await createVpa(vpaObject(ns, 'web', 'foresight'));
    const journalPath = join(tempDir('foresight-journal-'), 'actions.jsonl');
    const a = actuator({ options: { dryRun: true, namespaces: [ns], journalPath } });
    const snap = snapshot(1, 1000, [state({ tenant: ns, resource: 'cpu', usage: 1, quantiles: [[1, 2, 3, 4]] })], [{ pool: 'dry', resource: 'cpu', size: 1 }]);
    const rep = await a.runOnce(snap);
    expect(rep.errors).toEqual([]);
    expect(rep.vpa).toMatchObject({ planned: 1, written: 0 });
    expect(rep.quota).toMatchObject({ planned: 1, created: 0 });
    // Two placeholders: the snapshot's "dry" pool, and the default pool reserving the planned quota's headroom.
    expect(rep.shadow).toMatchObject({ created: 2 });
    expect(await quotas(ns)).toEqual([]);
    const after = await getVpa(ns, 'web');
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(await pods('foresight-system', 'foresight.io/pool=dry')).toEqual([]);
    expect(await pods('foresight-system', 'foresight.io/pool=default')).toEqual([]);
    const lines = readFileSync(journalPath, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; target: string; outcome: string; dryRun: boolean });
    expect(lines.map((l) => [l.kind, l.target, l.outcome, l.dryRun])).toEqual([
      ['vpa', `${ns}/web`, 'planned', true],
      ['quota', `${ns}/foresight`, 'planned', true],
      ['placeholder', 'foresight-system/foresight-shadow-default-0', 'planned', true],
      ['placeholder', 'foresight-system/foresight-shadow-dry-0', 'planned', true],
    ]);
    // the next cycle with the same forecast plans nothing new: dry-run remembers what it would have written
    const again = await a.runOnce(snapshot(2, 1300, [...snap.resources.values()], snap.shadow));
    expect(again.vpa).toMatchObject({ planned: 0, unchanged: 1 });
    expect(again.quota).toMatchObject({ planned: 0, unchanged: 1 });
    const app = Fastify();
    await app.register(actionsRoute, { journal: a.journal });
    const res = await app.inject({ method: 'GET', url: '/api/v1/actions?kind=vpa' });
    expect(res.statusCode).toBe(200);
    expect((res.json() as { actions: { target: string }[] }).actions.map((x) => x.target)).toEqual([`${ns}/web`]);
    await app.close();
    await a.stop();
  });

  it('recovers and converges when the API server restarts in the middle of a cycle', async () => {
    const ns = await namespace();
    for (const name of ['a', 'b', 'c']) await createVpa(vpaObject(ns, name, 'foresight'));
    let patches = 0;
    let killed = false;
    const a = actuator({
      options: { namespaces: [ns], requestTimeoutMs: 2000 },
      beforeRequest: async (_op, method) => {
        if (method === 'PATCH' && ++patches === 2 && !killed) {
          killed = true;
          await env.stopApiServer(); // the first VPA is written, the rest of the cycle hits a dead server
        }
      },
    });
    const snap = snapshot(1, 1000, [state({ tenant: ns, resource: 'cpu', usage: 1, quantiles: [[1, 2, 3, 4]] })], [{ pool: 'restart', resource: 'cpu', size: 1 }]);
    const broken = await a.runOnce(snap);
    expect(killed).toBe(true);
    expect(broken.errors.join('\n')).toMatch(/Kubernetes API unavailable/);
    expect(broken.backoffS).toBeGreaterThan(0);
    await env.startApiServer();
    // Right after /readyz the restarted server may still be syncing CRDs and RBAC: the actuator retries each cycle
    // (as it does after its back-off in production) until a cycle is clean.
    const seen: string[] = [];
    let healed = await a.runOnce(snapshot(2, 1300, [...snap.resources.values()], snap.shadow));
    for (let c = 3; healed.errors.length > 0 && c < 20; c++) {
      seen.push(...healed.errors);
      await new Promise((r) => setTimeout(r, 250));
      healed = await a.runOnce(snapshot(c, 1000 + 300 * c, [...snap.resources.values()], snap.shadow));
    }
    if (seen.length) console.log(`after the restart, ${seen.length} transient errors before convergence: ${seen[0]}`);
    expect(healed.errors).toEqual([]);
    expect(healed.backoffS).toBe(0);
    for (const name of ['a', 'b', 'c']) expect(targetCpu(await getVpa(ns, name))).toBe(2);
    expect((await pods('foresight-system', 'foresight.io/pool=restart')).map((p) => p.metadata.name)).toEqual(['foresight-shadow-restart-0']);
    await a.runOnce(snapshot(100, 100_000, [], []));
    await a.stop();
  }, 90_000);

  it('retries with a fresh object when another client writes the VPA first (409)', async () => {
    const ns = await namespace();
    await createVpa(vpaObject(ns, 'web', 'foresight'));
    const registry = new Registry();
    let interfered = false;
    const a = actuator({
      metrics: createActuatorMetrics(registry),
      options: { namespaces: [ns] },
      beforeRequest: async (_op, method) => {
        if (method === 'PATCH' && !interfered) {
          interfered = true;
          await env.admin.request({ verb: 'patch', resource: 'verticalpodautoscalers', namespace: ns, name: 'web' }, `${VPAS}/namespaces/${ns}/verticalpodautoscalers/web`, {
            method: 'PATCH',
            contentType: 'application/merge-patch+json',
            body: { metadata: { labels: { touched: 'by-someone-else' } } },
          });
        }
      },
    });
    const rep = await a.runOnce(snapshot(1, 1000, [state({ tenant: ns, resource: 'cpu', usage: 1, quantiles: [[1, 2, 3, 4]] })]));
    expect(rep.errors).toEqual([]);
    expect(rep.vpa).toMatchObject({ written: 1, conflicts: 1, failed: 0 });
    const v = await getVpa(ns, 'web');
    expect(targetCpu(v)).toBe(2);
    expect(v.metadata.labels?.touched).toBe('by-someone-else');
    expect(await registry.getSingleMetricAsString('foresight_kube_errors_total')).toMatch(/operation="patch verticalpodautoscalers\/status",code="409"} 1/);
    await a.stop();
  });

  it('reports a clear 403 naming the missing permission, and counts it, with a token that lacks it', async () => {
    const ns = await namespace();
    const token = await env.tokenFor(ns, 'powerless');
    const registry = new Registry();
    const a = actuator({ connection: { server: env.server, ca: env.ca, token }, metrics: createActuatorMetrics(registry) });
    const rep = await a.runOnce(snapshot(1, 1000, []));
    expect(rep.leader).toBe(false);
    expect(rep.errors.join('\n')).toMatch(/Kubernetes refused get leases "foresight-actuator" in namespace foresight-system \(403\): the ServiceAccount lacks this permission/);
    expect(await registry.getSingleMetricAsString('foresight_kube_errors_total')).toMatch(/operation="get leases",code="403"} 1/);
  });

  it('holds exactly the rights it needs: 403 on a VPA spec update, on pods it does not own, and on secrets', async () => {
    const ns = await namespace();
    const v = await createVpa(vpaObject(ns, 'web', 'foresight'));
    const me = new KubeApi(env.actuatorConnection, 5000);
    const refused = async (fn: () => Promise<unknown>): Promise<string> => {
      try {
        await fn();
      } catch (err) {
        return (err as { code?: string }).code ?? String(err);
      }
      return 'allowed';
    };
    const vpaPath = `${VPAS}/namespaces/${ns}/verticalpodautoscalers/web`;
    expect(await refused(() => me.request({ verb: 'update', resource: 'verticalpodautoscalers', namespace: ns }, vpaPath, { method: 'PUT', body: { ...v, spec: { ...v.spec, updatePolicy: { updateMode: 'Off' } } } }))).toBe('FORESIGHT_ERR_KUBE_FORBIDDEN');
    expect(await refused(() => me.request({ verb: 'patch', resource: 'verticalpodautoscalers', namespace: ns }, vpaPath, { method: 'PATCH', contentType: 'application/merge-patch+json', body: { spec: { updatePolicy: { updateMode: 'Off' } } } }))).toBe('FORESIGHT_ERR_KUBE_FORBIDDEN');
    await env.admin.request({ verb: 'create', resource: 'pods', namespace: ns }, `/api/v1/namespaces/${ns}/pods`, {
      method: 'POST',
      body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'tenant-pod' }, spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] } },
    });
    expect(await refused(() => me.request({ verb: 'delete', resource: 'pods', namespace: ns }, `/api/v1/namespaces/${ns}/pods/tenant-pod`, { method: 'DELETE' }))).toBe('FORESIGHT_ERR_KUBE_FORBIDDEN');
    expect(await refused(() => me.request({ verb: 'create', resource: 'pods', namespace: ns }, `/api/v1/namespaces/${ns}/pods`, { method: 'POST', body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' }, spec: { containers: [{ name: 'c', image: 'i' }] } } }))).toBe('FORESIGHT_ERR_KUBE_FORBIDDEN');
    expect(await refused(() => me.request({ verb: 'list', resource: 'secrets', namespace: 'foresight-system' }, '/api/v1/namespaces/foresight-system/secrets'))).toBe('FORESIGHT_ERR_KUBE_FORBIDDEN');
    // even in its own namespace, placeholders are only listed, created and deleted: no update or patch of any pod
    expect(await refused(() => me.request({ verb: 'patch', resource: 'pods', namespace: 'foresight-system' }, '/api/v1/namespaces/foresight-system/pods/anything', { method: 'PATCH', contentType: 'application/merge-patch+json', body: { metadata: { labels: { a: 'b' } } } }))).toBe('FORESIGHT_ERR_KUBE_FORBIDDEN');
    expect(await refused(() => me.request({ verb: 'list', resource: 'secrets' }, '/api/v1/secrets'))).toBe('FORESIGHT_ERR_KUBE_FORBIDDEN');
    expect(await refused(() => me.request({ verb: 'update', resource: 'leases', namespace: 'foresight-system' }, '/apis/coordination.k8s.io/v1/namespaces/foresight-system/leases/someone-else', { method: 'PUT', body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'someone-else' }, spec: {} } }))).toBe('FORESIGHT_ERR_KUBE_FORBIDDEN');
    // deploy/ applied cleanly, the Deployment runs as that ServiceAccount, and the PriorityClass is -10
    const dep = await env.admin.request<{ spec: { template: { spec: { serviceAccountName: string } } } }>({ verb: 'get', resource: 'deployments', namespace: 'foresight-system' }, '/apis/apps/v1/namespaces/foresight-system/deployments/foresight');
    expect(dep.spec.template.spec.serviceAccountName).toBe('foresight');
    const pc = await env.admin.request<{ value: number }>({ verb: 'get', resource: 'priorityclasses' }, '/apis/scheduling.k8s.io/v1/priorityclasses/foresight-shadow');
    expect(pc.value).toBe(-10);
    // ...while the status subresource it does need is allowed
    expect(await refused(() => me.request({ verb: 'patch', resource: 'verticalpodautoscalers/status', namespace: ns }, `${vpaPath}/status`, { method: 'PATCH', contentType: 'application/merge-patch+json', body: { status: {} } }))).toBe('allowed');
  });

  it('follows the loop\'s SnapshotHub, and serves a VPA created later through its watch', async () => {
    const ns = await namespace();
    await createVpa(vpaObject(ns, 'web', 'foresight'));
    const hub = new SnapshotHub();
    const a = actuator({ options: { namespaces: [ns] } });
    a.start(hub);
    const errors = await publishSnapshot(hub, snapshot(1, 1000, [state({ tenant: ns, resource: 'cpu', usage: 1, quantiles: [[1, 2, 3, 4]] })]), true);
    expect(errors).toEqual([]);
    expect(a.lastReport).toBeUndefined(); // publish returned before the cycle (which needs the network) could finish
    const until = async (want: number): Promise<void> => {
      for (let k = 0; k < 100 && !(Math.abs(targetCpu(await getVpa(ns, 'web')) - want) <= 1e-6); k++) await new Promise((r) => setTimeout(r, 50));
      expect(targetCpu(await getVpa(ns, 'web'))).toBeCloseTo(want, 6);
    };
    await until(2);
    await publishSnapshot(hub, snapshot(2, 1400, [state({ tenant: ns, resource: 'cpu', usage: 2.5, quantiles: [[2, 2.8, 3, 4]] })]), true);
    await until(2.8);
    for (let k = 0; k < 100 && a.lastReport?.cycle !== 2; k++) await new Promise((r) => setTimeout(r, 20)); // the report lands after the cycle's last step
    expect(a.lastReport?.cycle).toBe(2);
    // a VPA created later gets its recommendation from the watch, without a new snapshot
    await createVpa({ ...vpaObject(ns, 'late', 'foresight') });
    const t1 = Date.now();
    for (let k = 0; k < 100 && Number.isNaN(targetCpu(await getVpa(ns, 'late'))); k++) await new Promise((r) => setTimeout(r, 50));
    expect(targetCpu(await getVpa(ns, 'late'))).toBeCloseTo(2.8, 6);
    expect(a.lastReport?.cycle).toBe(2);
    console.log(`watch: new VPA served ${Date.now() - t1} ms after creation`);
    await a.stop();
    expect(hub.subscribers).toBe(0);
  });

  it('manages only its own quota in opted-in namespaces and never lowers it below status.used and room for a rollout, or on stale data', async () => {
    const optedIn = await namespace(OPT_IN);
    const notOptedIn = await namespace();
    const squatted = await namespace(OPT_IN);
    const create = (ns: string, name: string, hard: Record<string, string>): Promise<Quota> =>
      env.admin.request<Quota>({ verb: 'create', resource: 'resourcequotas', namespace: ns }, `/api/v1/namespaces/${ns}/resourcequotas`, {
        method: 'POST',
        body: { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name }, spec: { hard } },
      });
    const foreign = await create(optedIn, 'team-limits', { 'requests.cpu': '100' });
    const sameName = await create(squatted, 'foresight', { 'requests.cpu': '50' }); // Foresight's name, not its label
    const a = actuator({ options: { namespaces: [optedIn, notOptedIn, squatted], reclaimAfterS: 600, quotaShadowPool: 'quota-pool' } });
    const cpuAt = (t: number, q: number, usage: number, stale = false): ReturnType<typeof snapshot> =>
      snapshot(t, t * 300, [optedIn, notOptedIn, squatted].map((tenant) => state({ tenant, resource: 'cpu', usage, quantiles: [[q * 0.8, q, q * 1.1, q * 1.2]], recentPeak: usage, stale })), [], stale);
    let rep = await a.runOnce(cpuAt(1, 4, 2));
    expect(rep.errors).toEqual([]);
    expect(rep.quota).toMatchObject({ namespaces: 2, created: 1, skipped: 1 });
    const ours = (): Promise<Quota> => quotas(optedIn).then((l) => l.find((q) => q.metadata.name === 'foresight')!);
    expect(parseQuantity((await ours()).spec.hard['requests.cpu'])).toBe(4);
    expect(await quotas(notOptedIn)).toEqual([]);
    expect((await quotas(squatted))[0].metadata.resourceVersion).toBe(sameName.metadata.resourceVersion);
    // shadow capacity agrees with the quota: nothing is used yet, so the whole 4 cores are reserved by placeholders
    const reserve = async (): Promise<string[]> => (await pods('foresight-system', 'foresight.io/pool=quota-pool')).map((p) => p.spec.containers[0].resources.requests.cpu);
    expect(await reserve()).toEqual(['4']);
    // No controller-manager runs: set status.used as the quota controller would (2.4 cores requested by 3 pods).
    const q0 = await ours();
    await env.admin.request({ verb: 'patch', resource: 'resourcequotas/status', namespace: optedIn }, `/api/v1/namespaces/${optedIn}/resourcequotas/foresight/status`, {
      method: 'PATCH',
      contentType: 'application/merge-patch+json',
      body: { status: { hard: q0.spec.hard, used: { 'requests.cpu': '2400m', 'limits.cpu': '2400m', 'count/pods': '3' } } },
    });
    // Demand falls to 1 core with usage 0.5: stale data first (no shrink), then fresh data past the reclaim time.
    rep = await a.runOnce(cpuAt(2, 1, 0.5, true));
    expect(parseQuantity((await ours()).spec.hard['requests.cpu'])).toBe(4);
    for (let t = 3; t <= 8; t++) await a.runOnce(cpuAt(t, 1, 0.5));
    const hard = (await ours()).spec.hard;
    // lowered from 4, but not below the 2.4 cores in use and a quarter of them for a rollout's surge pods
    expect(parseQuantity(hard['requests.cpu'])).toBe(3);
    expect(parseQuantity(hard['limits.cpu'])).toBe(3);
    expect(hard['count/pods']).toBe('4'); // 3 pods in use, and one more
    expect(await reserve()).toEqual([]); // the forecast (1 core) expects no more than the 2.4 used: nothing to reserve
    // the API server's quota admission (status as the controller would sync it) admits a surge pod, and refuses more
    await env.admin.request({ verb: 'patch', resource: 'resourcequotas/status', namespace: optedIn }, `/api/v1/namespaces/${optedIn}/resourcequotas/foresight/status`, {
      method: 'PATCH',
      contentType: 'application/merge-patch+json',
      body: { status: { hard, used: { ...Object.fromEntries(Object.keys(hard).map((k) => [k, '0'])), 'requests.cpu': '2400m', 'limits.cpu': '2400m', 'count/pods': '3' } } },
    });
    const podOf = async (name: string, cpu: string, limits = true): Promise<string> =>
      env.admin
        .request({ verb: 'create', resource: 'pods', namespace: optedIn }, `/api/v1/namespaces/${optedIn}/pods`, {
          method: 'POST',
          body: { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu, memory: '64Mi' }, ...(limits ? { limits: { cpu, memory: '64Mi' } } : {}) } }] } },
        })
        .then(() => 'admitted', (err: Error) => err.message);
    expect(await podOf('surge', '500m')).toBe('admitted');
    expect(await podOf('too-big', '1')).toMatch(/\(403\): a ResourceQuota refused it: .*exceeded quota/);
    // what opting in asks of the namespace (README): containers without limits are refused under a quota on limits
    expect(await podOf('no-limits', '100m', false)).toMatch(/must specify limits/);
    expect(a.journal.list({ kind: 'quota' }).some((e) => e.action === 'set-hard' && e.outcome === 'applied')).toBe(true);
    const foreignAfter = (await quotas(optedIn)).find((q) => q.metadata.name === 'team-limits')!;
    expect(foreignAfter.metadata.resourceVersion).toBe(foreign.metadata.resourceVersion);
  });

  it('has only the quota rights it needs: 403 on deleting another quota, on replacing quotas, on quota status and on changing namespaces', async () => {
    const ns = await namespace(OPT_IN);
    await env.admin.request({ verb: 'create', resource: 'resourcequotas', namespace: ns }, `/api/v1/namespaces/${ns}/resourcequotas`, {
      method: 'POST',
      body: { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'team-limits' }, spec: { hard: { 'requests.cpu': '100' } } },
    });
    const a = actuator({ options: { namespaces: [ns] } });
    await a.runOnce(snapshot(1, 1000, [state({ tenant: ns, resource: 'cpu', usage: 1, quantiles: [[1, 2, 3, 4]] })]));
    const me = new KubeApi(env.actuatorConnection, 5000);
    const code = async (fn: () => Promise<unknown>): Promise<string> => fn().then(() => 'allowed', (err: { code?: string }) => err.code ?? String(err));
    const qPath = `/api/v1/namespaces/${ns}/resourcequotas/foresight`;
    const q = await me.request<Quota>({ verb: 'get', resource: 'resourcequotas', namespace: ns }, qPath);
    expect(q.spec.hard['requests.cpu']).toBe('2');
    expect(await code(() => me.request({ verb: 'delete', resource: 'resourcequotas', namespace: ns }, `/api/v1/namespaces/${ns}/resourcequotas/team-limits`, { method: 'DELETE' }))).toBe('FORESIGHT_ERR_KUBE_FORBIDDEN');
    expect(await code(() => me.request({ verb: 'list', resource: 'resourcequotas', namespace: ns }, `/api/v1/namespaces/${ns}/resourcequotas`))).toBe('FORESIGHT_ERR_KUBE_FORBIDDEN');
    expect(await code(() => me.request({ verb: 'update', resource: 'resourcequotas', namespace: ns }, qPath, { method: 'PUT', body: q }))).toBe('FORESIGHT_ERR_KUBE_FORBIDDEN');
    expect(await code(() => me.request({ verb: 'patch', resource: 'resourcequotas/status', namespace: ns }, `${qPath}/status`, { method: 'PATCH', contentType: 'application/merge-patch+json', body: { status: { used: {} } } }))).toBe('FORESIGHT_ERR_KUBE_FORBIDDEN');
    expect(await code(() => me.request({ verb: 'patch', resource: 'namespaces' }, `/api/v1/namespaces/${ns}`, { method: 'PATCH', contentType: 'application/merge-patch+json', body: { metadata: { labels: { x: 'y' } } } }))).toBe('FORESIGHT_ERR_KUBE_FORBIDDEN');
    expect(await code(() => me.request({ verb: 'create', resource: 'namespaces' }, '/api/v1/namespaces', { method: 'POST', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `${ns}-x` } } }))).toBe('FORESIGHT_ERR_KUBE_FORBIDDEN');
    expect(await code(() => me.request({ verb: 'patch', resource: 'resourcequotas', namespace: ns }, qPath, { method: 'PATCH', contentType: 'application/merge-patch+json', body: { spec: { hard: { 'requests.cpu': '2' } } } }))).toBe('allowed');
  });

  it('deletes its own quota, and only it, once the namespace no longer opts in', async () => {
    const ns = await namespace(OPT_IN);
    await env.admin.request({ verb: 'create', resource: 'resourcequotas', namespace: ns }, `/api/v1/namespaces/${ns}/resourcequotas`, {
      method: 'POST',
      body: { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'team-limits' }, spec: { hard: { 'requests.cpu': '100' } } },
    });
    const a = actuator({ options: { namespaces: [ns] } });
    const snap = (t: number) => snapshot(t, t * 300, [state({ tenant: ns, resource: 'cpu', usage: 1, quantiles: [[1, 2, 3, 4]] })]);
    expect((await a.runOnce(snap(1))).quota).toMatchObject({ created: 1 });
    expect((await quotas(ns)).map((q) => q.metadata.name).sort()).toEqual(['foresight', 'team-limits']);
    await env.admin.request({ verb: 'patch', resource: 'namespaces' }, `/api/v1/namespaces/${ns}`, { method: 'PATCH', contentType: 'application/merge-patch+json', body: { metadata: { labels: { 'foresight.io/quota': null } } } });
    const rep = await a.runOnce(snap(2));
    expect(rep.errors).toEqual([]);
    expect(rep.quota).toMatchObject({ namespaces: 0, deleted: 1 });
    expect((await quotas(ns)).map((q) => q.metadata.name)).toEqual(['team-limits']);
  });

  it('starts from the composition root\'s one call and serves its journal at /api/v1/actions', async () => {
    const ns = await namespace();
    await createVpa(vpaObject(ns, 'web', 'foresight'));
    const hub = new SnapshotHub();
    const registry = new Registry();
    const wired = await startActuator({
      enabled: true,
      connection: env.actuatorConnection,
      source: hub,
      registry,
      log: silentLog,
      options: actuatorOptions({ identity: 'test-actuator', dryRun: false, namespaces: [ns] }),
    });
    try {
      await publishSnapshot(hub, snapshot(1, 1000, [state({ tenant: ns, resource: 'cpu', usage: 1, quantiles: [[1, 2, 3, 4]] })]), true);
      for (let k = 0; k < 100 && Number.isNaN(targetCpu(await getVpa(ns, 'web'))); k++) await new Promise((r) => setTimeout(r, 50));
      expect(targetCpu(await getVpa(ns, 'web'))).toBe(2);
      const app = Fastify();
      await app.register(wired.route.plugin, wired.route.options);
      const body = (await app.inject({ method: 'GET', url: '/api/v1/actions' })).json() as { total: number; actions: { target: string; outcome: string }[] };
      expect(body.actions).toContainEqual(expect.objectContaining({ target: `${ns}/web`, outcome: 'applied' }));
      await app.close();
      expect(await registry.getSingleMetricAsString('foresight_leader')).toMatch(/foresight_leader 1/);
    } finally {
      await wired.close();
    }
    const off = await startActuator({ enabled: false, source: hub, registry: new Registry(), log: silentLog, options: actuatorOptions() });
    expect(off.actuator).toBeUndefined();
    expect(off.journal.list()).toEqual([]);
  });

  it('connects through a kubeconfig as main.ts does (client-node KubeConfig, token user)', async () => {
    const dir = tempDir('foresight-kubeconfig-');
    const file = join(dir, 'config');
    writeFileSync(join(dir, 'ca.crt'), env.ca);
    writeFileSync(file, [
      'apiVersion: v1', 'kind: Config', 'current-context: t',
      'clusters:', `- name: t`, `  cluster: { server: "${env.server}", certificate-authority: "${join(dir, 'ca.crt')}" }`,
      'users:', `- name: foresight`, `  user: { token: "${env.actuatorConnection.token}" }`,
      'contexts:', '- name: t', '  context: { cluster: t, user: foresight }', '',
    ].join('\n'));
    const saved = process.env.KUBECONFIG;
    process.env.KUBECONFIG = file;
    try {
      const api = new KubeApi(await connectionFromKubeConfig(), 5000);
      const l = await api.request<{ items: unknown[] }>({ verb: 'list', resource: 'verticalpodautoscalers' }, `${VPAS}/verticalpodautoscalers`);
      expect(Array.isArray(l.items)).toBe(true);
      const denied = await api.request({ verb: 'list', resource: 'secrets' }, '/api/v1/secrets').then(() => 'allowed', (e: { code?: string }) => e.code);
      expect(denied).toBe('FORESIGHT_ERR_KUBE_FORBIDDEN'); // the token, not some admin credential, was used
    } finally {
      if (saved === undefined) delete process.env.KUBECONFIG;
      else process.env.KUBECONFIG = saved;
    }
  });

  it('backs off exponentially, up to the maximum, while the API server cannot be reached', async () => {
    const a = actuator({ connection: { server: 'https://127.0.0.1:1', ca: env.ca, token: 'x' }, options: { backoffMinS: 1, backoffMaxS: 4, requestTimeoutMs: 500 } });
    const backoffs: number[] = [];
    for (let c = 1; c <= 4; c++) {
      const rep = await a.runOnce(snapshot(c, c * 300, []));
      expect(rep.leader).toBe(false);
      expect(rep.errors.join()).toMatch(/Kubernetes API unavailable for get leases/);
      backoffs.push(rep.backoffS);
    }
    expect(backoffs).toEqual([1, 2, 4, 4]);
  });

  it('records our last write of a VPA status in managedFields: a patch that changes a value moves its time, one of the same values or another manager\'s write does not', async () => {
    const ns = await namespace();
    await createVpa(vpaObject(ns, 'web', 'foresight'));
    const a = actuator({ options: { namespaces: [ns] } });
    expect((await a.runOnce(snapshot(1, Math.floor(Date.now() / 1000), [state({ tenant: ns, resource: 'cpu', usage: 1, quantiles: [[1, 2, 3, 4]] })]))).vpa).toMatchObject({ written: 1 });
    const ours = (v: Vpa) => v.metadata.managedFields?.filter((e) => e.manager === FIELD_MANAGER) ?? [];
    const written = await getVpa(ns, 'web');
    expect(ours(written)).toEqual([expect.objectContaining({ operation: 'Update', subresource: 'status' })]);
    const first = lastWriteS(written.metadata.managedFields, FIELD_MANAGER, 'status')!;
    expect(Math.abs(first - Date.now() / 1000)).toBeLessThan(30);
    // the time is kept to the second: wait for the next one, so that a moved time shows
    const nextSecond = () => new Promise((r) => setTimeout(r, 1100));
    const api = new KubeApi(env.actuatorConnection, 5000);
    const patchStatus = (status: Vpa['status']) =>
      api.request({ verb: 'patch', resource: 'verticalpodautoscalers/status', namespace: ns, name: 'web' }, `${VPAS}/namespaces/${ns}/verticalpodautoscalers/web/status`, {
        method: 'PATCH',
        contentType: 'application/merge-patch+json',
        body: { status },
        query: { fieldManager: FIELD_MANAGER },
      });
    await nextSecond();
    await patchStatus(structuredClone(written.status)); // the same values, as our own manager
    // another manager changes the main resource
    await env.admin.request({ verb: 'patch', resource: 'verticalpodautoscalers', namespace: ns, name: 'web' }, `${VPAS}/namespaces/${ns}/verticalpodautoscalers/web`, {
      method: 'PATCH',
      contentType: 'application/merge-patch+json',
      body: { metadata: { labels: { touched: 'by-someone-else' } } },
      query: { fieldManager: 'someone-else' },
    });
    const same = await getVpa(ns, 'web');
    expect(lastWriteS(same.metadata.managedFields, FIELD_MANAGER, 'status')).toBe(first);
    await nextSecond();
    const changed = structuredClone(same.status)!;
    changed.recommendation!.containerRecommendations![0].target.cpu = '2500m';
    await patchStatus(changed);
    const moved = lastWriteS((await getVpa(ns, 'web')).metadata.managedFields, FIELD_MANAGER, 'status')!;
    expect(moved).toBeGreaterThanOrEqual(first + 2);
    // a bound alone moves it too: the time is our last write of any value, not only of a target
    await nextSecond();
    changed.recommendation!.containerRecommendations![0].upperBound = { cpu: '9' };
    await patchStatus(changed);
    expect(lastWriteS((await getVpa(ns, 'web')).metadata.managedFields, FIELD_MANAGER, 'status')).toBeGreaterThanOrEqual(moved + 1);
  });

  it('after a restart, holds a change of a VPA and of a quota for the cooldown since its last write before it, read from managedFields, and the next for the change budget', async () => {
    const ns = await namespace(OPT_IN);
    await createVpa(vpaObject(ns, 'web', 'foresight'));
    const cpu = (q: number) => [state({ tenant: ns, resource: 'cpu', usage: 1, quantiles: [[1, q, q + 1, q + 2]] })];
    const t0 = Math.floor(Date.now() / 1000);
    const before = actuator({ options: { namespaces: [ns] } });
    const requestsCpu = async () => parseQuantity((await quotas(ns))[0]?.spec.hard['requests.cpu']);
    await before.runOnce(snapshot(1, t0, cpu(2)));
    expect(targetCpu(await getVpa(ns, 'web'))).toBe(2);
    expect(await requestsCpu()).toBe(2);
    await before.stop();
    // the process restarts a minute later (same identity: it takes the Lease its predecessor released) and the forecast
    // asks for more; a fresh gate would have written it at once
    const said: object[] = [];
    const after = actuator({ options: { namespaces: [ns] }, log: { ...silentLog, info: (o) => said.push(o) } });
    const r = await after.runOnce(snapshot(2, t0 + 60, cpu(2.6)));
    expect(r).toMatchObject({ leader: true, errors: [] });
    expect(targetCpu(await getVpa(ns, 'web'))).toBe(2);
    expect(await requestsCpu()).toBe(2);
    expect(said).toContainEqual({ vpas: 1, seededVpas: 1, targets: 1 });
    expect(said).toContainEqual(expect.objectContaining({ namespaces: 1, seededQuotas: 1 }));
    // past the cooldown (300 s) the seed's reserve for increases lets one raise through
    await after.runOnce(snapshot(3, t0 + 400, cpu(2.6)));
    expect(targetCpu(await getVpa(ns, 'web'))).toBeCloseTo(2.6, 3);
    expect(await requestsCpu()).toBeCloseTo(2.6, 3);
    // and the next waits for a token (about 2,700 s after it at 1.2 an hour)
    await after.runOnce(snapshot(4, t0 + 1000, cpu(3)));
    expect(targetCpu(await getVpa(ns, 'web'))).toBeCloseTo(2.6, 3);
    await after.runOnce(snapshot(5, t0 + 3300, cpu(3)));
    expect(targetCpu(await getVpa(ns, 'web'))).toBeCloseTo(3, 3);
  });

  it('lets only the Lease holder write; another replica takes over once it is released, within the change budget its predecessor left', async () => {
    const ns = await namespace();
    await createVpa(vpaObject(ns, 'web', 'foresight'));
    const registry = new Registry();
    const one = actuator({ metrics: createActuatorMetrics(registry), options: { identity: 'replica-1', namespaces: [ns] } });
    const two = actuator({ options: { identity: 'replica-2', namespaces: [ns] } });
    // engine time is wall time here, as in the sidecar: the new leader reads replica-1's write from the server's clock
    const t0 = Math.floor(Date.now() / 1000);
    const s1 = snapshot(1, t0, [state({ tenant: ns, resource: 'cpu', usage: 1, quantiles: [[1, 2, 3, 4]] })], [{ pool: 'lead', resource: 'cpu', size: 0.5 }]);
    // a previous test's holder released the Lease on stop(); replica-1 takes it
    const r1 = await one.runOnce(s1);
    const r2 = await two.runOnce(s1);
    expect([r1.leader, r2.leader]).toEqual([true, false]);
    expect(r2.vpa).toBeUndefined();
    await one.stop();
    const raised = [state({ tenant: ns, resource: 'cpu', usage: 2.5, quantiles: [[2, 2.6, 3, 4]] })];
    // right after the failover replica-1's write runs the cooldown: the forecast's 2.6 waits, the recent peak (2.5),
    // observed demand, is met with the reserve for increases the seed leaves
    const held = await two.runOnce(snapshot(2, t0 + 60, raised));
    expect(held.leader).toBe(true);
    expect(targetCpu(await getVpa(ns, 'web'))).toBeCloseTo(2.5, 3);
    // that spent the reserve: the next change waits for a token, 3000 s (an hour's 1.2) later
    const r25 = await two.runOnce(snapshot(3, t0 + 2000, raised));
    expect(r25.vpa).toMatchObject({ written: 0 });
    expect(targetCpu(await getVpa(ns, 'web'))).toBeCloseTo(2.5, 3);
    const r3 = await two.runOnce(snapshot(4, t0 + 3100, raised));
    expect(r3.leader).toBe(true);
    expect(r3.vpa).toMatchObject({ written: 1 });
    expect(targetCpu(await getVpa(ns, 'web'))).toBeCloseTo(2.6, 3);
    // replica-1, no longer the holder, stops exporting what it held (ForesightShadowCapacityExhausted compares it)
    expect(await registry.getSingleMetricAsString('foresight_shadow_capacity')).toMatch(/pool="lead",resource="cpu",state="target"} 0.5\n/);
    expect((await one.runOnce(snapshot(5, t0 + 3200, [], [{ pool: 'lead', resource: 'cpu', size: 0.5 }]))).leader).toBe(false);
    expect(await registry.getSingleMetricAsString('foresight_shadow_capacity')).not.toMatch(/state="(target|reserved)"/);
    await two.stop();
  });

  it('splits tenants between two shards: each writes only its own VPAs and quotas, leads on its own Lease and keeps its own placeholders; shard 0 removes an orphan', async () => {
    // the sharded overlay's Lease rules and workload, as deploy/sharded/ ships them (the apiserver validates them)
    for (const f of ['lease-rbac.yaml', 'service.yaml', 'statefulset.yaml']) await env.apply(readFileSync(repoPath('deploy', 'sharded', f), 'utf8'));
    // one namespace (tenant) per shard, chosen by the same hash the replicas use
    const ns: string[] = [];
    for (let i = 0; ns.length < 2; i++) {
      const name = `shard-${++n}-${i}`;
      if (shardOfTenant(name, 2) === ns.length) {
        await env.createNamespace(name, OPT_IN);
        ns.push(name);
      }
    }
    for (const x of ns) await createVpa(vpaObject(x, 'web', 'foresight'));
    const sys = 'foresight-system';
    const sel = 'app.kubernetes.io/managed-by=foresight,foresight.io/role=shadow';
    await env.admin.request({ verb: 'create', resource: 'pods', namespace: sys }, `/api/v1/namespaces/${sys}/pods`, {
      method: 'POST',
      body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'foresight-shadow-orphan-0', labels: { 'app.kubernetes.io/managed-by': 'foresight', 'foresight.io/role': 'shadow' } }, spec: restrictedSpec('pause') },
    });
    const options = { namespaces: ns, maxPodCpuCores: 4, quotaShadowPool: '' };
    const shards = [0, 1].map((index) => actuator({ shard: { index, total: 2 }, options: { ...options, identity: `shard-${index}` } }));
    const snap = (cycle: number, plan: ShadowPlan[]) =>
      snapshot(cycle, 1000 * cycle, ns.flatMap((t, i) => [
        state({ tenant: t, resource: 'cpu', usage: 1, quantiles: [[1, 2 + i, 3 + i, 4 + i]] }),
        state({ tenant: t, resource: 'memory', usage: GiB, quantiles: [[GiB, 2 * GiB, 3 * GiB, 4 * GiB]] }),
      ]), plan);
    // RBAC for the shard Leases reaches the authorizer through informers: wait until shard 0 can lead
    let r0 = await shards[0].runOnce(snap(1, [{ pool: 'pool-a', resource: 'cpu', size: 2 }]));
    for (let t = 0; !r0.leader && t < 60; t++) {
      await new Promise((r) => setTimeout(r, 500));
      r0 = await shards[0].runOnce(snap(1, [{ pool: 'pool-a', resource: 'cpu', size: 2 }]));
    }
    expect(r0.errors).toEqual([]);
    expect(r0.leader).toBe(true);
    // shard 0 served its tenant alone
    expect(r0.vpa).toMatchObject({ served: 1, written: 1 });
    expect(targetCpu(await getVpa(ns[0], 'web'))).toBe(2);
    expect((await getVpa(ns[1], 'web')).status?.recommendation).toBeUndefined();
    expect(await quotas(ns[0])).toHaveLength(1);
    expect(await quotas(ns[1])).toHaveLength(0);
    // its placeholder is labelled and named for shard 0; the unlabelled orphan is gone
    let ph = await pods(sys, sel);
    expect(ph.map((p) => [p.metadata.name, p.metadata.labels?.['foresight.io/shard']])).toEqual([['foresight-shadow-s0-pool-a-0', '0']]);
    const uid0 = ph[0].metadata.uid;

    const r1 = await shards[1].runOnce(snap(2, [{ pool: 'pool-a', resource: 'cpu', size: 1 }]));
    expect(r1.errors).toEqual([]);
    expect(r1.leader).toBe(true); // its own Lease: both shards lead at once
    expect(r1.vpa).toMatchObject({ served: 1, written: 1 });
    expect(targetCpu(await getVpa(ns[1], 'web'))).toBe(3);
    expect(targetCpu(await getVpa(ns[0], 'web'))).toBe(2);
    expect(await quotas(ns[1])).toHaveLength(1);
    ph = await pods(sys, sel);
    expect(ph.map((p) => [p.metadata.name, p.metadata.labels?.['foresight.io/shard'], p.spec.containers[0].resources.requests.cpu])).toEqual([
      ['foresight-shadow-s0-pool-a-0', '0', '2'],
      ['foresight-shadow-s1-pool-a-0', '1', '1'],
    ]);
    expect(ph[0].metadata.uid).toBe(uid0); // shard 1 never touched shard 0's placeholder
    const leases = await env.admin.request<{ items: { metadata: { name: string }; spec: { holderIdentity?: string } }[] }>({ verb: 'list', resource: 'leases', namespace: sys }, `/apis/coordination.k8s.io/v1/namespaces/${sys}/leases`);
    const holders = Object.fromEntries(leases.items.map((l) => [l.metadata.name, l.spec.holderIdentity]));
    expect(holders).toMatchObject({ 'foresight-actuator-shard-0': 'shard-0', 'foresight-actuator-shard-1': 'shard-1' });

    // with no shadow wanted, each removes its own
    for (const [i, a] of shards.entries()) expect((await a.runOnce(snap(3 + i, []))).shadow).toMatchObject({ deleted: 1 });
    expect(await pods(sys, sel)).toEqual([]);
  });

  it('fences two shard counts: a new shard 3 of 4 holds its Lease but writes nothing while old shard 0 of 2 leads, shard 0 leaves its placeholder, and the new count writes once shard 0 is gone', async () => {
    for (const f of ['lease-rbac.yaml', 'service.yaml', 'statefulset.yaml']) await env.apply(readFileSync(repoPath('deploy', 'sharded', f), 'utf8'));
    // a tenant of old shard 0 of 2, and one of new shard 3 of 4
    const ns: string[] = [];
    for (let i = 0; ns.length < 2; i++) {
      const name = `fence-${++n}-${i}`;
      if (ns.length === 0 ? shardOfTenant(name, 2) === 0 : shardOfTenant(name, 4) === 3) {
        await env.createNamespace(name);
        ns.push(name);
      }
    }
    for (const x of ns) await createVpa(vpaObject(x, 'web', 'foresight'));
    const sys = 'foresight-system';
    const sel = 'app.kubernetes.io/managed-by=foresight,foresight.io/role=shadow,foresight.io/pool=fence';
    const lines: string[] = [];
    const log = { info: (_o: object, m?: string) => lines.push(`info ${m}`), warn: (_o: object, m?: string) => lines.push(`warn ${m}`), error: (_o: object, m?: string) => lines.push(`error ${m}`) };
    const options = { namespaces: ns, maxPodCpuCores: 4, quotaShadowPool: '' };
    const registry = new Registry();
    const new3 = actuator({ shard: { index: 3, total: 4 }, options: { ...options, identity: 'new-3' }, log, metrics: createActuatorMetrics(registry) });
    const old0 = actuator({ shard: { index: 0, total: 2 }, options: { ...options, identity: 'old-0' } });
    // engine time is wall time, as in the sidecar: a leader that resumes reads the VPAs' last writes from the server
    const t0 = Math.floor(Date.now() / 1000);
    const snap = (cycle: number, cpu: number) =>
      snapshot(cycle, t0 + 1000 * cycle, ns.map((t) => state({ tenant: t, resource: 'cpu', usage: 1, quantiles: [[1, cpu, cpu + 1, cpu + 2]] })), [{ pool: 'fence', resource: 'cpu', size: cpu }]);

    // alone, the new shard writes (Leases that earlier tests left behind are released, or expire on its clock)
    let r = await new3.runOnce(snap(1, 2));
    for (let t = 0; !(r.leader && r.vpa) && t < 60; t++) {
      await new Promise((res) => setTimeout(res, 500));
      r = await new3.runOnce(snap(1, 2));
    }
    expect(r.errors).toEqual([]);
    expect(r.vpa).toMatchObject({ served: 1, written: 1 });
    expect(targetCpu(await getVpa(ns[1], 'web'))).toBe(2);
    const s3 = (await pods(sys, sel)).map((p) => p.metadata.uid);
    expect(s3).toHaveLength(1);

    // old shard 0 of 2 leads on shard 0's Lease: its count writes, and the new shard's placeholder (index 3, an
    // orphan under 2 shards) is left alone while shard 3's Lease is live under 4
    const r0 = await old0.runOnce(snap(2, 3));
    expect(r0.errors).toEqual([]);
    expect(r0.leader).toBe(true);
    expect(r0.fenced).toBeUndefined();
    expect(r0.vpa).toMatchObject({ served: 1, written: 1 });
    expect(r0.shadow).toMatchObject({ created: 1, deleted: 0 });
    expect(targetCpu(await getVpa(ns[0], 'web'))).toBe(3);
    let ph = await pods(sys, sel);
    expect(ph.map((p) => [p.metadata.name, p.metadata.labels?.['foresight.io/shard']])).toEqual([['foresight-shadow-s0-fence-0', '0'], ['foresight-shadow-s3-fence-0', '3']]);
    expect(ph[1].metadata.uid).toBe(s3[0]);

    // the new shard keeps its Lease but writes nothing, and says so once
    for (const cycle of [3, 4]) {
      r = await new3.runOnce(snap(cycle, 3));
      expect(r.errors).toEqual([]);
      expect(r.leader).toBe(true);
      expect(r.fenced).toEqual({ lease: 'foresight-actuator-shard-0', shard: 0, totalShards: 2 });
      expect(r.vpa).toBeUndefined();
    }
    expect(targetCpu(await getVpa(ns[1], 'web'))).toBe(2);
    expect((await pods(sys, sel)).map((p) => p.spec.containers[0].resources.requests.cpu)).toEqual(['3', '2']);
    expect(lines.filter((l) => /holds off/.test(l))).toHaveLength(1);
    expect(await registry.getSingleMetricAsString('foresight_actuator_fenced')).toMatch(/^foresight_actuator_fenced 1$/m);
    const leases = await env.admin.request<{ items: { metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> } }[] }>({ verb: 'list', resource: 'leases', namespace: sys }, `/apis/coordination.k8s.io/v1/namespaces/${sys}/leases`, { query: { labelSelector: 'foresight.io/lease-group=foresight-actuator' } });
    const recorded = Object.fromEntries(leases.items.map((l) => [l.metadata.name, `${l.metadata.annotations?.['foresight.io/shard']}/${l.metadata.annotations?.['foresight.io/shards']}`]));
    expect(recorded).toMatchObject({ 'foresight-actuator-shard-0': '0/2', 'foresight-actuator-shard-3': '3/4' });

    // old shard 0 stops (releasing its Lease): the new count writes at its next cycle
    await old0.stop();
    r = await new3.runOnce(snap(5, 3));
    expect(r.errors).toEqual([]);
    expect(r.fenced).toBeUndefined();
    expect(r.vpa).toMatchObject({ served: 1, written: 1 });
    expect(targetCpu(await getVpa(ns[1], 'web'))).toBe(3);
    expect(await registry.getSingleMetricAsString('foresight_actuator_fenced')).toMatch(/^foresight_actuator_fenced 0$/m);
    ph = await pods(sys, sel);
    expect(ph.map((p) => [p.metadata.name, p.spec.containers[0].resources.requests.cpu])).toEqual([['foresight-shadow-s0-fence-0', '3'], ['foresight-shadow-s3-fence-0', '3']]);
    // with no shadow wanted, the new shard removes its own; old shard 0's is for the new shard 0 to sweep
    expect((await new3.runOnce(snapshot(6, t0 + 6000, [], []))).shadow).toMatchObject({ deleted: 1 });
    expect((await pods(sys, sel)).map((p) => p.metadata.name)).toEqual(['foresight-shadow-s0-fence-0']);
  });
});
