// The change budget and cooldown after a restart or a change of leader: seeded from the API server's record of our
// last write of each VPA's status (metadata.managedFields), not started afresh.
import { describe, expect, it } from 'vitest';
import { Actuator } from '../../src/actuator/actuator.js';
import { actuatorOptions } from '../../src/actuator/config.js';
import { ActionJournal } from '../../src/actuator/journal.js';
import type { KubeApi, KubeOp } from '../../src/actuator/kube-api.js';
import { FIELD_MANAGER, lastWriteS, type ManagedFieldsEntry } from '../../src/actuator/last-write.js';
import { silentLog, type ActuatorLog } from '../../src/actuator/log.js';
import { noopActuatorMetrics } from '../../src/actuator/metrics.js';
import { parseQuantity } from '../../src/actuator/quantity.js';
import { QuotaManager } from '../../src/actuator/quota.js';
import { MANAGED_BY } from '../../src/actuator/shadow-plan.js';
import { SafetyGate, type GateContext } from '../../src/actuator/safety.js';
import { VpaRecommender } from '../../src/actuator/vpa-recommender.js';
import type { ResourceState } from '../../src/model/snapshot.js';
import { snapshot, state } from '../helpers/kube-snapshot.js';
import { VpaServer } from '../helpers/vpa-server.js';

const iso = (s: number): string => new Date(s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');

describe('the last write recorded in managedFields', () => {
  const entry = (over: Partial<ManagedFieldsEntry>): ManagedFieldsEntry => ({ manager: FIELD_MANAGER, operation: 'Update', subresource: 'status', time: iso(1_000_000), ...over });

  it('reads the time of our Update of the status, as the end of its second', () => {
    expect(lastWriteS([entry({})], FIELD_MANAGER, 'status')).toBe(1_000_001);
  });

  it('ignores other managers, the main resource, server-side apply and unreadable times; undefined without a record', () => {
    const others = [
      entry({ manager: 'kubectl-edit', time: iso(2_000_000) }),
      entry({ subresource: undefined, time: iso(2_000_000) }),
      entry({ operation: 'Apply', time: iso(2_000_000) }),
      entry({ time: 'yesterday' }),
      entry({ time: undefined }),
    ];
    expect(lastWriteS(others, FIELD_MANAGER, 'status')).toBeUndefined();
    expect(lastWriteS([...others, entry({})], FIELD_MANAGER, 'status')).toBe(1_000_001);
    expect(lastWriteS(undefined, FIELD_MANAGER, 'status')).toBeUndefined();
    // the main resource is '' whether the field is absent or empty (a quota's spec)
    expect(lastWriteS([entry({ subresource: '' })])).toBe(1_000_001);
  });
});

describe('SafetyGate.seed', () => {
  const opts = actuatorOptions();
  const ctx = (nowS: number, more: Partial<GateContext> = {}): GateContext => ({ nowS, floor: 0, usage: 0.1, anomalous: false, stale: false, ...more });
  const T = 1_000_000;
  // an hour of 1.2 changes refills one token in 3000 s
  const refillS = 3600 / opts.maxChangesPerHour;

  it('runs the cooldown from a seeded change and leaves the reserve for increases: one raise, then the budget', () => {
    const seeded = new SafetyGate(opts);
    seeded.seed('k', T, T + 60);
    // the forecast's raise waits for the cooldown; observed demand (the recent peak) is met at once
    expect(seeded.shape('k', 1.4, 1, ctx(T + 60))).toMatchObject({ value: 1, hold: 'cooldown' });
    expect(seeded.shape('k', 1.4, 1, ctx(T + 60, { floor: 1.2 }))).toMatchObject({ value: 1.2, hold: 'cooldown' });
    const after = T + opts.cooldownS + 1;
    expect(seeded.shape('k', 1.4, 1, ctx(after)).value).toBe(1.4);
    seeded.committed('k', after);
    // that raise spent the reserve: the next change waits until a token has refilled
    expect(seeded.shape('k', 1.8, 1.4, ctx(after + opts.cooldownS + 1))).toMatchObject({ value: 1.4, hold: 'budget' });
    expect(seeded.shape('k', 1.8, 1.4, ctx(after + refillS + 1)).value).toBe(1.8);
    // a gate without the record passed the first raise at once
    expect(new SafetyGate(opts).shape('k', 1.4, 1, ctx(T + 60)).value).toBe(1.4);
  });

  it('holds a shrink until a token beyond the reserve for increases has refilled', () => {
    const g = new SafetyGate({ ...opts, reclaimAfterS: 0 });
    g.seed('k', T, T);
    const shrink = (at: number) => g.shape('k', 0.8, 1, ctx(at, { usage: 0.1 }));
    // the first call starts the low-usage run; reclamation then needs none (reclaimAfterS 0)
    expect(shrink(T + refillS - 10)).toMatchObject({ value: 1, hold: 'budget' });
    expect(shrink(T + refillS + 1).value).toBe(0.8);
  });

  it('runs the cooldown from the seeded change when the budget refills faster than the cooldown', () => {
    const g = new SafetyGate({ ...opts, maxChangesPerHour: 60, cooldownS: 600 });
    g.seed('k', T, T);
    expect(g.shape('k', 1.4, 1, ctx(T + 120))).toMatchObject({ value: 1, hold: 'cooldown' });
    expect(g.shape('k', 1.4, 1, ctx(T + 601)).value).toBe(1.4);
  });

  it('takes a time after now (the API server\'s clock ahead of ours) as now', () => {
    const g = new SafetyGate({ ...opts, reclaimAfterS: 0 });
    g.seed('k', T + 86_400, T);
    // seeded at T, not a day later: the token a shrink needs beyond the reserve is back after refillS
    expect(g.shape('k', 0.8, 1, ctx(T + refillS + 1)).value).toBe(0.8);
  });

  it('keeps what the gate knows when it is stricter: a later change it committed, or fewer tokens', () => {
    const g = new SafetyGate(opts);
    g.shape('k', 1, undefined, ctx(T)); // a first value
    g.committed('k', T);
    g.shape('k', 1.4, 1, ctx(T + 2000));
    g.committed('k', T + 2000);
    // the server recorded an older write: the change at T + 2000 still runs the cooldown
    g.seed('k', T, T + 2100);
    expect(g.shape('k', 1.9, 1.4, ctx(T + 2100))).toMatchObject({ value: 1.4, hold: 'cooldown' });
    expect(g.shape('k', 1.9, 1.4, ctx(T + 2000 + opts.cooldownS + 1)).value).toBe(1.9);
    // the bucket it kept (two tokens left at T + 2000) and the seeded one (the reserve from T): the smaller holds a
    // shrink, which needs two
    const kept = new SafetyGate({ ...opts, reclaimAfterS: 0 });
    kept.shape('k', 1, undefined, ctx(T));
    kept.committed('k', T);
    kept.shape('k', 1.4, 1, ctx(T + 2000));
    kept.committed('k', T + 2000);
    const unseeded = new SafetyGate({ ...opts, reclaimAfterS: 0 });
    unseeded.shape('k', 1, undefined, ctx(T));
    unseeded.committed('k', T);
    unseeded.shape('k', 1.4, 1, ctx(T + 2000));
    unseeded.committed('k', T + 2000);
    kept.seed('k', T, T + 2400);
    expect(kept.shape('k', 1.2, 1.4, ctx(T + 2400, { usage: 0.1 }))).toMatchObject({ value: 1.4, hold: 'budget' });
    expect(unseeded.shape('k', 1.2, 1.4, ctx(T + 2400, { usage: 0.1 })).value).toBeCloseTo(1.2, 9);
  });
});

describe('VPA recommender after a restart', () => {
  const opts = actuatorOptions({ dryRun: false });
  const T = 1_000_000;
  const cpu = (q: number): ResourceState => state({ tenant: 'team-a', resource: 'cpu', usage: 0.5, quantiles: [[q, q, q, q]] });
  const at = (server: VpaServer, s: number, q: number) => {
    server.nowS = s;
    return snapshot(s, s, [cpu(q)]);
  };
  const target = (server: VpaServer): number => parseQuantity(server.vpas.get('team-a/web')!.status!.recommendation!.containerRecommendations![0].target.cpu);
  function served(): VpaServer {
    const server = new VpaServer();
    server.put({ metadata: { name: 'web', namespace: 'team-a' }, spec: { recommenders: [{ name: 'foresight' }], resourcePolicy: { containerPolicies: [{ containerName: 'app', controlledResources: ['cpu'] }] } } });
    return server;
  }
  const recommender = (server: VpaServer, log: ActuatorLog = silentLog) => new VpaRecommender(server as unknown as KubeApi, opts, new SafetyGate(opts), new ActionJournal(), noopActuatorMetrics, log);

  it('holds a change right after a restart until the cooldown since the last write has run, then the next until the budget has refilled, where it used to write at once', async () => {
    const server = served();
    const before = recommender(server);
    await before.reconcile(at(server, T, 1)); // a first value
    expect(await before.reconcile(at(server, T + 600, 1.4))).toMatchObject({ written: 1 }); // a change at T + 600
    // the process restarts one minute later and the forecast asks for more
    const lines: object[] = [];
    const after = recommender(server, { ...silentLog, info: (o) => lines.push(o) });
    // (the bounds follow the forecast and are written: only the target is held)
    await after.reconcile(at(server, T + 660, 1.8));
    expect(target(server)).toBeCloseTo(1.4, 6);
    expect(lines).toContainEqual({ vpas: 1, seededVpas: 1, targets: 1 });
    await after.reconcile(at(server, T + 600 + opts.cooldownS - 10, 1.8));
    expect(target(server)).toBeCloseTo(1.4, 6);
    const raised = T + 600 + opts.cooldownS + 10;
    await after.reconcile(at(server, raised, 1.8));
    expect(target(server)).toBeCloseTo(1.8, 6);
    // that raise spent the reserve the seed left (1 token at T + 601, 1.1 by then): the next waits until a token has
    // refilled, 2,690 s later at 1.2 an hour
    await after.reconcile(at(server, raised + 2600, 2.2));
    expect(target(server)).toBeCloseTo(1.8, 6);
    await after.reconcile(at(server, raised + 2800, 2.2));
    expect(target(server)).toBeCloseTo(2.2, 6);
  });

  it('starts as before for a VPA the server holds no write of ours for', async () => {
    const server = served();
    const other = server.vpas.get('team-a/web')!;
    other.status = { recommendation: { containerRecommendations: [{ containerName: 'app', target: { cpu: '1' } }] } };
    other.metadata.managedFields = [{ manager: 'vpa-recommender', operation: 'Update', subresource: 'status', time: iso(T) }];
    expect(await recommender(server).reconcile(at(server, T + 60, 1.4))).toMatchObject({ written: 1 });
  });

  it('seeds again in a new term: a write by the leader it replaced is not forgotten', async () => {
    const server = served();
    const rec = recommender(server);
    await rec.reconcile(at(server, T, 1));
    await rec.reconcile(at(server, T + 600, 1.4)); // its change at T + 600; two tokens left
    // it stops leading; the other replica, seeded from T + 600, writes at T + 1000 (past the cooldown); it leads again
    // at T + 1200
    const other = recommender(server);
    await other.reconcile(at(server, T + 1000, 1.6));
    expect(target(server)).toBeCloseTo(1.6, 6);
    expect(lastWriteS(server.vpas.get('team-a/web')!.metadata.managedFields, FIELD_MANAGER, 'status')).toBe(T + 1001);
    rec.newTerm();
    // seeded from the other's write, its cooldown holds; without the new term its own state (a change at T + 600,
    // two tokens left) would let 2 through
    await rec.reconcile(at(server, T + 1200, 2));
    expect(target(server)).toBeCloseTo(1.6, 6);
  });
});

describe('quota manager after a restart', () => {
  const T = 1_000_000;
  /** One opted-in namespace with Foresight's quota, last written at T (or never by us: no managedFields entry). */
  const api = (written: boolean) => ({
    request: async <T>(op: KubeOp): Promise<T> => {
      if (op.verb === 'list') return { items: [{ metadata: { name: 'team-a' } }] } as T;
      if (op.verb === 'get') {
        return {
          metadata: { name: 'foresight', namespace: 'team-a', labels: { [MANAGED_BY]: 'foresight' }, managedFields: written ? [{ manager: FIELD_MANAGER, operation: 'Update', time: iso(T) }] : [] },
          spec: { hard: { 'requests.cpu': '2', 'limits.cpu': '3' } },
        } as T;
      }
      throw new Error(`unexpected ${op.verb}`);
    },
  }) as unknown as KubeApi;

  it('holds a raise of the limits right after a restart, in the cooldown of our write of the quota a minute before', async () => {
    const opts = actuatorOptions({ dryRun: true });
    const raise = snapshot(1, T + 60, [state({ tenant: 'team-a', resource: 'cpu', usage: 1, quantiles: [[2.6, 2.6, 2.6, 2.6]] })], [], false, false);
    const held: string[] = [];
    const said: object[] = [];
    const seeded = new QuotaManager(api(true), opts, new SafetyGate(opts), new ActionJournal(), { ...noopActuatorMetrics, held: (kind, reason) => held.push(`${kind}:${reason}`) }, { ...silentLog, info: (o) => said.push(o) });
    expect(await seeded.reconcile(raise)).toMatchObject({ planned: 0, unchanged: 1 });
    expect(held).toEqual(['quota:cooldown', 'quota:cooldown']);
    expect(said).toEqual([{ namespaces: 1, seededQuotas: 1, limits: 2 }]);
    const fresh = new QuotaManager(api(false), opts, new SafetyGate(opts), new ActionJournal(), noopActuatorMetrics, silentLog);
    expect(await fresh.reconcile(raise)).toMatchObject({ planned: 1 });
  });
});

describe('Actuator: a term as leader', () => {
  type Sent = { status: number; text: string };
  /** An Actuator on a fake wire (one Lease, one VPA) and its own clock; `say` collects the seeding log lines. */
  function fake() {
    let nowMs = 0;
    let lease: Record<string, unknown> | undefined;
    let rv = 1;
    let other = false;
    let down = false;
    const said: number[] = [];
    const log = { ...silentLog, info: (o: object) => ('seededVpas' in o ? said.push(nowMs / 1000) : undefined) };
    const a = new Actuator({ connection: { server: 'https://127.0.0.1:1' }, options: { dryRun: false, shadowEnabled: false, quotaEnabled: false, identity: 'me' }, log, nowMs: () => nowMs });
    const wire = a.api as unknown as { send: (url: URL, method: string, h: unknown, body?: Buffer) => Promise<Sent> };
    wire.send = async (url, method, _h, body) => {
      const ok = (o: unknown): Sent => ({ status: 200, text: JSON.stringify(o) });
      if (down) return { status: 503, text: '{"message":"unavailable"}' };
      if (url.pathname.includes('/leases')) {
        // another holder renewing all along (a new resourceVersion at every read: never expired)
        if (other) return ok({ metadata: { name: 'l', namespace: 'n', resourceVersion: String(rv++) }, spec: { holderIdentity: 'other', leaseDurationSeconds: 15 } });
        if (method === 'GET') return lease ? ok(lease) : { status: 404, text: '{}' };
        const b = JSON.parse(body!.toString()) as { metadata: Record<string, unknown> };
        lease = { ...b, metadata: { ...b.metadata, resourceVersion: String(rv++) } };
        return ok(lease);
      }
      return ok({ items: [{ metadata: { name: 'web', namespace: 'team-a', resourceVersion: '1' }, spec: { recommenders: [{ name: 'foresight' }] } }] });
    };
    const cycle = async (atS: number, o: { other?: boolean; down?: boolean } = {}) => {
      nowMs = atS * 1000;
      other = o.other ?? false;
      down = o.down ?? false;
      if (other) lease = undefined; // the other replica took it
      return (await a.runOnce(snapshot(atS, atS, []))).leader;
    };
    return { cycle, said };
  }

  it('seeds at its first cycle as leader and again when it leads after more than the Lease duration without, not after one failed renew', async () => {
    const { cycle, said } = fake();
    expect(await cycle(0)).toBe(true);
    expect(await cycle(5)).toBe(true);
    expect(await cycle(10, { down: true })).toBe(false); // one failed renew: nobody else can have led meanwhile
    expect(await cycle(12)).toBe(true);
    expect(said).toEqual([0]);
    expect(await cycle(20, { other: true })).toBe(false);
    expect(await cycle(40, { other: true })).toBe(false);
    expect(await cycle(45)).toBe(true); // 33 s without: another replica led and may have written
    expect(await cycle(50)).toBe(true);
    expect(said).toEqual([0, 45]);
  });
});
