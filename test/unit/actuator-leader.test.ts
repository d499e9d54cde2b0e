// Leader election judged on this replica's clock (client-go's rule), writes refused past the renew deadline, and a
// journal whose file cannot be written that never turns an applied change into a failed one.
import { describe, expect, it, vi } from 'vitest';
import { Actuator, guardWrite } from '../../src/actuator/actuator.js';
import { ActionJournal } from '../../src/actuator/journal.js';
import { KubeHttpError, type KubeApi, isUnavailable, stopsCycle } from '../../src/actuator/kube-api.js';
import { LeaderElector } from '../../src/actuator/leader.js';
import { snapshot, state } from '../helpers/kube-snapshot.js';
import { tempDir } from '../helpers/temp.js';

/** One Lease in memory with resourceVersion checks (409 on a stale update, 404 before it exists). */
function fakeLeaseApi() {
  let lease: { metadata: Record<string, unknown>; spec: Record<string, unknown> } | undefined;
  let rv = 0;
  const err = (status: number) => new KubeHttpError(status, '', { verb: 'get', resource: 'leases' }, `HTTP ${status}`);
  const api = {
    async request(op: { verb: string }, _path: string, init: { body?: { metadata: Record<string, unknown>; spec: Record<string, unknown> } } = {}) {
      if (op.verb === 'get') {
        if (!lease) throw err(404);
        return structuredClone(lease);
      }
      if (op.verb === 'create') {
        if (lease) throw err(409);
        lease = { metadata: { ...init.body!.metadata, resourceVersion: String(++rv) }, spec: init.body!.spec };
        return lease;
      }
      if (op.verb === 'update') {
        if (!lease || init.body!.metadata.resourceVersion !== lease.metadata.resourceVersion) throw err(409);
        lease = { metadata: { ...init.body!.metadata, resourceVersion: String(++rv) }, spec: init.body!.spec };
        return lease;
      }
      throw new Error(`unexpected ${op.verb}`);
    },
  };
  return { api: api as unknown as KubeApi, holder: () => lease?.spec.holderIdentity };
}

describe('LeaderElector', () => {
  it('does not take a live Lease from a holder whose clock is behind, and takes it once the record stops changing', async () => {
    const { api, holder } = fakeLeaseApi();
    let t = 1_000_000;
    const a = new LeaderElector(api, 'ns', 'l', 'a', 15, () => t);
    const b = new LeaderElector(api, 'ns', 'l', 'b', 15, () => t + 20_000); // b's clock is 20 s ahead
    expect(await a.tryAcquireOrRenew()).toBe(true);
    for (let i = 0; i < 6; i++) {
      t += 5_000;
      expect(await a.tryAcquireOrRenew()).toBe(true);
      expect(await b.tryAcquireOrRenew()).toBe(false);
      expect(holder()).toBe('a');
    }
    // a stops renewing: b takes over once the record has been still for a Lease duration on b's clock
    t += 10_000;
    expect(await b.tryAcquireOrRenew()).toBe(false);
    t += 6_000;
    expect(await b.tryAcquireOrRenew()).toBe(true);
    expect(holder()).toBe('b');
    expect(await a.tryAcquireOrRenew()).toBe(false);
  });

  it('may write only within the renew deadline (two thirds of the Lease duration) after its last renew', async () => {
    const { api } = fakeLeaseApi();
    let t = 0;
    const a = new LeaderElector(api, 'ns', 'l', 'a', 15, () => t);
    expect(a.holds()).toBe(false);
    await a.tryAcquireOrRenew();
    t += 9_000;
    expect(a.holds()).toBe(true);
    t += 2_000;
    expect(a.isLeader).toBe(true);
    expect(a.holds()).toBe(false);
    await a.tryAcquireOrRenew();
    expect(a.holds()).toBe(true);
  });

  it('serialises concurrent renewals instead of failing one of them with a 409', async () => {
    const { api } = fakeLeaseApi();
    const a = new LeaderElector(api, 'ns', 'l', 'a', 15, () => 0);
    expect(await Promise.all([a.tryAcquireOrRenew(), a.tryAcquireOrRenew(), a.tryAcquireOrRenew()])).toEqual([true, true, true]);
    expect(a.isLeader).toBe(true);
  });
});

describe('guardWrite', () => {
  const op = (verb: string, resource: string) => ({ verb, resource, namespace: 'foresight-system', name: 'p' });
  it('refuses writes past the renew deadline, naming them, and lets reads and the Lease itself through', () => {
    expect(() => guardWrite(op('create', 'pods'), () => false)).toThrow(/FORESIGHT_ERR_LEADERSHIP_LOST|Not writing create pods foresight-system\/p/);
    expect(() => guardWrite(op('patch', 'verticalpodautoscalers'), () => false)).toThrow(/renew deadline/);
    expect(() => guardWrite(op('get', 'pods'), () => false)).not.toThrow();
    expect(() => guardWrite(op('update', 'leases'), () => false)).not.toThrow();
    expect(() => guardWrite(op('create', 'pods'), () => true)).not.toThrow();
  });

  it('refuses writes while the shard fence gives a reason, saying it, as an error that stops the cycle without a back-off', () => {
    const fenced = () => 'Lease foresight-actuator-shard-0 records 4 shards, and that count writes';
    let err: unknown;
    try {
      guardWrite(op('patch', 'verticalpodautoscalers/status'), () => true, fenced);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'FORESIGHT_ERR_SHARD_FENCED', message: 'Not writing patch verticalpodautoscalers/status foresight-system/p: held off by the shard fence (Lease foresight-actuator-shard-0 records 4 shards, and that count writes)' });
    expect(stopsCycle(err)).toBe(true);
    expect(isUnavailable(err)).toBe(false);
    // reads and the Lease itself go through; a lost Lease is said first
    expect(() => guardWrite(op('get', 'pods'), () => true, fenced)).not.toThrow();
    expect(() => guardWrite(op('update', 'leases'), () => false, fenced)).not.toThrow();
    expect(() => guardWrite(op('create', 'pods'), () => false, fenced)).toThrow(/renew deadline/);
    expect(() => guardWrite(op('create', 'pods'), () => true, () => undefined)).not.toThrow();
  });
});

describe('ActionJournal', () => {
  it('keeps an entry and counts the failure when its file cannot be written, without throwing', () => {
    const dir = tempDir('journal-');
    const j = new ActionJournal(dir, 10); // a directory: appendFileSync fails with EISDIR
    const e = j.record({ cycle: 1, kind: 'shadow', action: 'create', target: 'foresight-system/p', outcome: 'applied' } as never);
    expect(j.list()).toEqual([e]);
    expect(j.fileErrors).toBe(1);
    expect(j.lastFileError?.message).toMatch(/EISDIR/);
  });
});

describe('the Lease while a retried cycle runs', () => {
  type Sent = { status: number; text: string };
  /** An Actuator on a fake wire: one Lease, `n` VPAs whose status writes take a second each, the first write a 503. */
  async function run(n: number) {
    vi.useFakeTimers({ now: 1_000_000 });
    const t = (): number => (Date.now() - 1_000_000) / 1000;
    let lease: Record<string, unknown> | undefined;
    let rv = 1;
    let writes = 0;
    const tenants = Array.from({ length: n }, (_, i) => `t${i}`);
    const vpas = new Map(tenants.map((ns) => [ns, { metadata: { name: 'web', namespace: ns, resourceVersion: String(rv++) }, spec: { recommenders: [{ name: 'foresight' }], resourcePolicy: { containerPolicies: [{ containerName: 'app', controlledResources: ['cpu'] }] } }, status: undefined as unknown }]));
    const renews: number[] = [];
    const errors: string[] = [];
    const log = { info() {}, warn() {}, error: (o: { part?: string; err?: Error }) => errors.push(`${t()}s ${o.part}: ${o.err?.message}`) };
    const a = new Actuator({ connection: { server: 'https://127.0.0.1:1' }, options: { dryRun: false, shadowEnabled: false, quotaEnabled: false, identity: 'me' }, log });
    const wire = a.api as unknown as { send: (url: URL, method: string, h: unknown, body?: Buffer) => Promise<Sent>; watch: (...args: unknown[]) => Promise<void> };
    wire.watch = (...args: unknown[]) => new Promise<void>((r) => (args[4] as AbortSignal).addEventListener('abort', () => r()));
    wire.send = async (url, method, _h, body) => {
      const p = url.pathname;
      const b = body ? (JSON.parse(body.toString()) as { metadata: Record<string, unknown>; status?: unknown }) : undefined;
      const ok = (o: unknown): Sent => ({ status: 200, text: JSON.stringify(o) });
      if (p.includes('/leases')) {
        if (method === 'GET' && p.endsWith('/leases')) return ok({ items: lease ? [lease] : [] }); // the shard fence's list
        if (method === 'GET') return lease ? ok(lease) : { status: 404, text: '{}' };
        lease = { ...b, metadata: { ...b!.metadata, resourceVersion: String(rv++) } };
        if (method !== 'POST') renews.push(t());
        return ok(lease);
      }
      if (p.endsWith('/verticalpodautoscalers') && method === 'GET') return ok({ items: [...vpas.values()] });
      if (p.endsWith('/status') && method === 'PATCH') {
        if (writes++ === 0) return { status: 503, text: '{"message":"apiserver restarting"}' };
        await new Promise((r) => setTimeout(r, 1000)); // a slow API server
        const v = vpas.get(p.split('/')[5])!;
        v.status = b!.status;
        v.metadata.resourceVersion = String(rv++);
        return ok({});
      }
      return ok({ items: [] });
    };
    const snap = snapshot(1, 0, tenants.map((tenant) => state({ tenant, resource: 'cpu', usage: 1, quantiles: [[1, 1, 1, 1]] })));
    a.start({ latest: () => snap, subscribe: () => () => {} });
    await vi.advanceTimersByTimeAsync(60_000);
    await a.stop();
    vi.useRealTimers();
    return { written: [...vpas.values()].filter((v) => v.status).length, renews, errors };
  }

  it('keeps renewing it, so that a cycle retried after a 503 that outlasts the renew deadline keeps its right to write', async () => {
    // 20 writes of a second each: the retried cycle runs 20 s, twice the renew deadline (2/3 of the 15 s Lease)
    const r = await run(20);
    expect(r.errors.filter((e) => /Lease|leadership/i.test(e))).toEqual([]);
    expect(r.errors).toHaveLength(1); // the 503 alone
    expect(r.written).toBe(20);
    // a renew at least every 5 s (a third of the Lease) through the whole minute
    const gaps = r.renews.slice(1).map((x, i) => x - r.renews[i]);
    expect(r.renews[0]).toBeLessThanOrEqual(5);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(5);
  });
});
