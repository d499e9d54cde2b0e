// The life of Foresight's namespace quota: sized against what the namespace's pods already request as soon as the
// quota controller reports it (not one cycle later), and deleted once the namespace no longer opts in.
import { describe, expect, it } from 'vitest';
import { actuatorOptions, type ActuatorOptions } from '../../src/actuator/config.js';
import { Actuator } from '../../src/actuator/actuator.js';
import { ActionJournal } from '../../src/actuator/journal.js';
import { KubeHttpError, type KubeApi, type KubeOp, type RequestInit } from '../../src/actuator/kube-api.js';
import { silentLog } from '../../src/actuator/log.js';
import type { ActuatorLog } from '../../src/actuator/log.js';
import { noopActuatorMetrics } from '../../src/actuator/metrics.js';
import { CREATED_SYNC } from '../../src/actuator/quota-client.js';
import { QuotaManager } from '../../src/actuator/quota.js';
import { SafetyGate } from '../../src/actuator/safety.js';
import { snapshot, state } from '../helpers/kube-snapshot.js';

interface Quota {
  metadata: { name: string; namespace: string; uid: string; resourceVersion: string; labels?: Record<string, string> };
  spec: { hard: Record<string, string> };
  status?: { hard?: Record<string, string>; used?: Record<string, string> };
}

/**
 * Namespaces (with their labels) and ResourceQuotas, as the API server keeps them. `controller` stands for the quota
 * controller: what the namespace's pods request, put in status.used at the `syncAfterGets`-th read after a create.
 */
class QuotaServer {
  readonly namespaces = new Map<string, Record<string, string>>();
  readonly quotas = new Map<string, Quota>();
  readonly calls: string[] = [];
  readonly podsRequest = new Map<string, Record<string, string>>();
  syncAfterGets = 1;
  #getsSinceCreate = new Map<string, number>();
  #rv = 0;

  async request<T>(op: KubeOp, _path: string, init: RequestInit = {}): Promise<T> {
    this.calls.push(`${op.verb} ${op.resource}${op.namespace ? ` ${op.namespace}` : ''}`);
    const key = `${op.namespace}/${op.name ?? (init.body as Quota | undefined)?.metadata?.name}`;
    const q = this.quotas.get(key);
    const notFound = (): never => {
      throw new KubeHttpError(404, 'NotFound', op, 'not found');
    };
    switch (op.verb) {
      case 'list': {
        const sel = (init.query as Record<string, string> | undefined)?.labelSelector;
        const [k, v] = sel ? sel.split('=') : [];
        return { items: [...this.namespaces].filter(([, labels]) => !sel || labels[k] === v).map(([name]) => ({ metadata: { name } })) } as T;
      }
      case 'get': {
        if (!q) return notFound();
        const n = (this.#getsSinceCreate.get(key) ?? 0) + 1;
        this.#getsSinceCreate.set(key, n);
        if (n >= this.syncAfterGets && !q.status?.used && this.podsRequest.has(op.namespace!)) {
          const pods = this.podsRequest.get(op.namespace!)!;
          q.status = { hard: q.spec.hard, used: Object.fromEntries(Object.keys(q.spec.hard).map((r) => [r, pods[r] ?? '0'])) };
        }
        return structuredClone(q) as T;
      }
      case 'create': {
        if (q) throw new KubeHttpError(409, 'AlreadyExists', op, 'exists');
        const body = init.body as Quota;
        this.#getsSinceCreate.set(key, 0);
        this.quotas.set(key, { ...body, metadata: { ...body.metadata, namespace: op.namespace!, uid: `uid-${++this.#rv}`, resourceVersion: String(this.#rv) } });
        return structuredClone(this.quotas.get(key)) as T;
      }
      case 'patch': {
        if (!q) return notFound();
        const body = init.body as { metadata: { resourceVersion?: string }; spec: { hard: Record<string, string> } };
        if (body.metadata.resourceVersion !== q.metadata.resourceVersion) throw new KubeHttpError(409, 'Conflict', op, 'changed');
        q.spec.hard = { ...q.spec.hard, ...body.spec.hard };
        q.metadata.resourceVersion = String(++this.#rv);
        return structuredClone(q) as T;
      }
      case 'delete': {
        if (!q) return notFound();
        const pre = (init.body as { preconditions?: { uid?: string; resourceVersion?: string } }).preconditions;
        if ((pre?.uid && pre.uid !== q.metadata.uid) || (pre?.resourceVersion && pre.resourceVersion !== q.metadata.resourceVersion)) throw new KubeHttpError(409, 'Conflict', op, 'precondition failed');
        this.quotas.delete(key);
        return {} as T;
      }
      default:
        throw new Error(`unexpected ${op.verb}`);
    }
  }

  /** A quota as someone else (or an earlier run) left it. */
  put(ns: string, name: string, hard: Record<string, string>, labels?: Record<string, string>): void {
    this.quotas.set(`${ns}/${name}`, { metadata: { name, namespace: ns, uid: `uid-${++this.#rv}`, resourceVersion: String(this.#rv), labels }, spec: { hard } });
  }
}

const OPT_IN = { 'foresight.io/quota': 'true' };
const OURS = { 'app.kubernetes.io/managed-by': 'foresight' };
const G = 2 ** 30;

function setup(over: Partial<ActuatorOptions> = {}) {
  const server = new QuotaServer();
  const opts = actuatorOptions({ dryRun: false, ...over });
  const journal = new ActionJournal();
  const waits: number[] = [];
  const quotas = new QuotaManager(server as unknown as KubeApi, opts, new SafetyGate(opts), journal, noopActuatorMetrics, silentLog, undefined, async (ms) => {
    waits.push(ms);
  });
  return { server, quotas, journal, waits };
}

/** team-a's forecast: 2 cores and 3.5 GiB requested at the target quantile; its pods run at 1.5 cores and 3 GiB. */
const snap = (t: number, cores = 2) =>
  snapshot(t, t * 300, [
    state({ tenant: 'team-a', resource: 'cpu', usage: 1.5, quantiles: [[1.5, cores, cores * 1.1, cores * 1.25]] }),
    state({ tenant: 'team-a', resource: 'memory', usage: 3 * G, quantiles: [[3 * G, 3.5 * G, 3.6 * G, 4 * G]] }),
  ]);

describe('quota manager: a quota it creates', () => {
  it('is sized in the same cycle against what the namespace\'s pods already request, once the controller reports it', async () => {
    const { server, quotas, journal } = setup();
    server.namespaces.set('team-a', OPT_IN);
    // ten pods that request more than the forecast of what they use
    server.podsRequest.set('team-a', { 'requests.cpu': '10', 'limits.cpu': '20', 'requests.memory': '10Gi', 'limits.memory': '20Gi', 'count/pods': '10' });
    server.syncAfterGets = 2; // status.used appears at the second read after the create
    const res = await quotas.reconcile(snap(1));
    expect(res).toMatchObject({ created: 1, patched: 0, failed: 0 });
    const hard = server.quotas.get('team-a/foresight')!.spec.hard;
    // at least what is requested and a quarter more for a rollout (quotaSurgeRatio 0.25), never refusing the pods
    // that already run or their next one
    expect(hard['requests.cpu']).toBe('12500m');
    expect(hard['limits.cpu']).toBe('25');
    expect(Number(hard['requests.memory'])).toBe(12.5 * G);
    expect(hard['count/pods']).toBe('13');
    expect(journal.list().map((e) => [e.action, e.outcome])).toEqual([['create', 'applied'], ['set-hard', 'applied']]);
    expect(journal.list()[1].reason).toMatch(/requests\.cpu: what the namespace's pods request \(status\.used\) and room for a rollout/);
  });

  it('is left to the next cycle when the controller has not reported status.used within the wait', async () => {
    const { server, quotas, waits } = setup();
    server.namespaces.set('team-a', OPT_IN);
    server.podsRequest.set('team-a', { 'requests.cpu': '10' });
    server.syncAfterGets = Infinity;
    expect(await quotas.reconcile(snap(1))).toMatchObject({ created: 1, patched: 0 });
    expect(waits).toEqual(Array.from({ length: CREATED_SYNC.attempts }, () => CREATED_SYNC.delayMs));
    expect(server.quotas.get('team-a/foresight')!.spec.hard['requests.cpu']).toBe('2');
    server.quotas.get('team-a/foresight')!.status = { used: { 'requests.cpu': '10', 'limits.cpu': '10', 'requests.memory': '0', 'limits.memory': '0', 'count/pods': '10' } };
    expect(await quotas.reconcile(snap(2))).toMatchObject({ patched: 1 });
    expect(server.quotas.get('team-a/foresight')!.spec.hard['requests.cpu']).toBe('12500m');
  });

  it('waits for a slow or absent controller once a pass, however many quotas the pass creates', async () => {
    const { server, quotas, waits } = setup();
    const team = (ns: string, t: number) =>
      snapshot(t, t * 300, [
        state({ tenant: ns, resource: 'cpu', usage: 1.5, quantiles: [[1.5, 2, 2.2, 2.5]] }),
        state({ tenant: ns, resource: 'memory', usage: 3 * G, quantiles: [[3 * G, 3.5 * G, 3.6 * G, 4 * G]] }),
      ]).resources;
    const both = (t: number) => ({ ...snap(t), resources: new Map([...team('team-a', t), ...team('team-b', t)]) });
    for (const ns of ['team-a', 'team-b']) {
      server.namespaces.set(ns, OPT_IN);
      server.podsRequest.set(ns, { 'requests.cpu': '10' });
    }
    server.syncAfterGets = Infinity;
    expect(await quotas.reconcile(both(1))).toMatchObject({ created: 2, failed: 0 });
    // 8 x 250 ms in all (16 before: each created quota waited its own 2 s)
    expect(waits).toEqual(Array.from({ length: CREATED_SYNC.attempts }, () => CREATED_SYNC.delayMs));
    // the next pass has its own time: a namespace opting in then still gets sized in its pass
    server.namespaces.set('team-c', OPT_IN);
    server.podsRequest.set('team-c', { 'requests.cpu': '10', 'limits.cpu': '10', 'requests.memory': '0', 'limits.memory': '0', 'count/pods': '1' });
    server.syncAfterGets = 1;
    const three = { ...both(2), resources: new Map([...both(2).resources, ...team('team-c', 2)]) };
    expect(await quotas.reconcile(three)).toMatchObject({ created: 1 });
    expect(server.quotas.get('team-c/foresight')!.spec.hard['requests.cpu']).toBe('12500m');
  });

  it('keeps the forecast\'s size when the pods request less than it', async () => {
    const { server, quotas, journal } = setup();
    server.namespaces.set('team-a', OPT_IN);
    server.podsRequest.set('team-a', { 'requests.cpu': '1', 'limits.cpu': '1', 'requests.memory': '1Gi', 'limits.memory': '1Gi', 'count/pods': '0' });
    expect(await quotas.reconcile(snap(1))).toMatchObject({ created: 1 });
    expect(server.quotas.get('team-a/foresight')!.spec.hard['requests.cpu']).toBe('2');
    expect(journal.list().map((e) => e.action)).toEqual(['create']);
  });
});

describe('quota manager: a namespace that no longer opts in', () => {
  it('gets its Foresight quota deleted, and nothing else touched', async () => {
    const { server, quotas, journal } = setup();
    server.namespaces.set('team-a', OPT_IN);
    server.put('team-a', 'team-limits', { 'requests.cpu': '100' });
    await quotas.reconcile(snap(1));
    expect(server.quotas.has('team-a/foresight')).toBe(true);
    server.namespaces.set('team-a', {}); // the label removed
    const res = await quotas.reconcile(snap(2, 8));
    expect(res).toMatchObject({ namespaces: 0, deleted: 1, failed: 0 });
    expect(server.quotas.has('team-a/foresight')).toBe(false);
    expect(server.quotas.has('team-a/team-limits')).toBe(true);
    expect(journal.list().at(-1)).toMatchObject({ kind: 'quota', action: 'delete', target: 'team-a/foresight', outcome: 'applied', after: null });
    // gone: not looked at again
    server.calls.length = 0;
    expect(await quotas.reconcile(snap(3, 8))).toMatchObject({ deleted: 0 });
    expect(server.calls).toEqual(['list namespaces']);
  });

  it('finds after a restart the quotas of namespaces that opted out meanwhile, and leaves a quota of that name not its own', async () => {
    const { server, quotas, journal } = setup();
    server.namespaces.set('team-a', {});
    server.namespaces.set('team-b', {});
    server.namespaces.set('team-c', OPT_IN);
    server.put('team-a', 'foresight', { 'requests.cpu': '4' }, OURS); // ours, from before the restart
    server.put('team-b', 'foresight', { 'requests.cpu': '50' }); // the name, not the label: someone else's
    await quotas.reconcile(snap(1));
    expect(server.quotas.has('team-a/foresight')).toBe(false);
    expect(server.quotas.get('team-b/foresight')!.spec.hard['requests.cpu']).toBe('50');
    expect(journal.list({ kind: 'quota' }).filter((e) => e.action === 'delete').map((e) => e.target)).toEqual(['team-a/foresight']);
    // the sweep is once a term: the next pass looks only at namespaces that opted in
    server.calls.length = 0;
    await quotas.reconcile(snap(2));
    expect(server.calls.filter((c) => c.startsWith('get')).sort()).toEqual(['get resourcequotas team-c']);
  });

  it('in dry-run journals the deletion once and deletes nothing', async () => {
    const { server, quotas, journal } = setup({ dryRun: true });
    server.namespaces.set('team-a', {});
    server.put('team-a', 'foresight', { 'requests.cpu': '4' }, OURS);
    expect(await quotas.reconcile(snap(1))).toMatchObject({ deleted: 1 });
    await quotas.reconcile(snap(2));
    quotas.newTerm();
    await quotas.reconcile(snap(3));
    expect(server.quotas.has('team-a/foresight')).toBe(true);
    expect(journal.list().map((e) => [e.action, e.outcome, e.dryRun])).toEqual([['delete', 'planned', true]]);
  });

  it('tries a deletion refused by a precondition (the quota changed meanwhile) again at the next pass', async () => {
    const { server, quotas } = setup();
    server.namespaces.set('team-a', {});
    server.put('team-a', 'foresight', { 'requests.cpu': '4' }, OURS);
    const request = server.request.bind(server);
    let changeOnce = true;
    server.request = async <T,>(op: KubeOp, path: string, init?: RequestInit): Promise<T> => {
      if (op.verb === 'delete' && changeOnce) {
        changeOnce = false;
        server.quotas.get('team-a/foresight')!.metadata.resourceVersion = 'changed';
      }
      return request<T>(op, path, init);
    };
    expect(await quotas.reconcile(snap(1))).toMatchObject({ deleted: 0, failed: 1 });
    expect(await quotas.reconcile(snap(2))).toMatchObject({ deleted: 1, failed: 0 });
    expect(server.quotas.has('team-a/foresight')).toBe(false);
  });
});

describe('quota manager: quotas turned off', () => {
  it('says once at start that the quotas an earlier run created are left as they are, and how to remove them', () => {
    const said: string[] = [];
    const log = { ...silentLog, info: (_o: unknown, m?: string) => said.push(m ?? '') } as ActuatorLog;
    new Actuator({ connection: { server: 'https://127.0.0.1:1' }, options: { quotaEnabled: false, identity: 'me' }, log });
    expect(said.filter((m) => /quotaEnabled=false/.test(m))).toEqual([expect.stringMatching(/left as it is.*kubectl delete resourcequota --all-namespaces -l app\.kubernetes\.io\/managed-by=foresight/)]);
    said.length = 0;
    new Actuator({ connection: { server: 'https://127.0.0.1:1' }, options: { identity: 'me' }, log });
    expect(said.filter((m) => /quotaEnabled=false/.test(m))).toEqual([]);
  });
});
