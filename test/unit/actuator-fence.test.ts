// The actuator of one shard count beside a live Lease of another (a change of the shard count under way), on a fake
// wire: the count that does not write holds off, says so once and resumes by itself; the one that writes never sweeps
// up the other count's placeholders as orphans. Only the Actuator's public surface is used, so these run against the
// code before the fence too (where they fail).
import { describe, expect, it, vi } from 'vitest';
import { Registry } from 'prom-client';
import { Actuator } from '../../src/actuator/actuator.js';
import { createActuatorMetrics } from '../../src/actuator/metrics.js';
import { shardOfTenant, type Shard } from '../../src/model/shard.js';
import { snapshot, state } from '../helpers/kube-snapshot.js';

type Obj = { metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: Record<string, unknown> };
type Sent = { status: number; text: string };

/** A Lease as a leader of `shard` writes it (labels and annotations as src/actuator/shard-fence.ts stamps them). */
function leaseOf(shard: Shard, holder: string): Obj {
  const name = shard.total > 1 ? `foresight-actuator-shard-${shard.index}` : 'foresight-actuator';
  return {
    metadata: {
      name,
      namespace: 'foresight-system',
      labels: { 'app.kubernetes.io/managed-by': 'foresight', 'foresight.io/lease-group': 'foresight-actuator' },
      annotations: { 'foresight.io/shards': String(shard.total), 'foresight.io/shard': String(shard.index), 'foresight.io/shards-holder': holder },
    },
    spec: { holderIdentity: holder, leaseDurationSeconds: 15 },
  };
}

/** Leases, VPAs and pods in memory behind the actuator's own KubeApi; records every write. */
function cluster(a: Actuator, seed: { leases: Obj[]; vpas: Obj[]; pods: Obj[]; leaseListStatus?: number }) {
  let rv = 100;
  const leases = new Map(seed.leases.map((l) => [l.metadata.name, { ...l, metadata: { ...l.metadata, resourceVersion: String(rv++) } }]));
  const vpas = new Map(seed.vpas.map((v) => [v.metadata.namespace!, v]));
  const pods = new Map(seed.pods.map((p) => [p.metadata.name, { ...p, metadata: { ...p.metadata, uid: `uid-${p.metadata.name}` } }]));
  const writes: string[] = [];
  /** Lease reads still to answer 500 (an API server blip). */
  const fail = { leaseGets: 0 };
  const ok = (o: unknown): Sent => ({ status: 200, text: JSON.stringify(o) });
  const wire = a.api as unknown as { send: (url: URL, method: string, h: unknown, body?: Buffer) => Promise<Sent> };
  wire.send = async (url, method, _h, body) => {
    const p = url.pathname;
    const b = body ? (JSON.parse(body.toString()) as Obj) : undefined;
    const last = p.split('/').pop()!;
    if (p.includes('/leases')) {
      if (method === 'GET' && last === 'leases') return seed.leaseListStatus ? { status: seed.leaseListStatus, text: '{"message":"forbidden"}' } : ok({ items: [...leases.values()] });
      if (method === 'GET' && fail.leaseGets > 0) {
        fail.leaseGets--;
        return { status: 500, text: '{"message":"etcdserver: request timed out"}' };
      }
      if (method === 'GET') return leases.has(last) ? ok(leases.get(last)) : { status: 404, text: '{}' };
      const l = { ...b!, metadata: { ...b!.metadata, resourceVersion: String(rv++) } };
      leases.set(l.metadata.name, l);
      return ok(l);
    }
    if (p.endsWith('/verticalpodautoscalers') && method === 'GET') return ok({ items: [...vpas.values()] });
    if (p.endsWith('/pods') && method === 'GET') return ok({ items: [...pods.values()] });
    if (method !== 'GET') writes.push(`${method} ${p.replace(/^.*\/namespaces\//, '')}`);
    if (p.endsWith('/pods') && method === 'POST') pods.set(b!.metadata.name, b as never);
    if (method === 'DELETE') pods.delete(last);
    return ok({});
  };
  return {
    writes,
    fail,
    /** Another replica creates its Lease. */
    add(l: Obj) {
      leases.set(l.metadata.name, { ...l, metadata: { ...l.metadata, resourceVersion: String(rv++) } });
    },
    /** Another replica renews its Lease: the record changes (a new resourceVersion). */
    renew(name: string) {
      const l = leases.get(name)!;
      leases.set(name, { ...l, metadata: { ...l.metadata, resourceVersion: String(rv++) } });
    },
  };
}

function logs() {
  const lines: string[] = [];
  return { lines, log: { info: (_o: object, m?: string) => lines.push(`info ${m}`), warn: (_o: object, m?: string) => lines.push(`warn ${m}`), error: (_o: object, m?: string) => lines.push(`error ${m}`) } };
}

const placeholder = (name: string, shard: string): Obj => ({
  metadata: { name, namespace: 'foresight-system', labels: { 'app.kubernetes.io/managed-by': 'foresight', 'foresight.io/role': 'shadow', 'foresight.io/shard': shard }, annotations: { 'foresight.io/pool-name': 'p' } },
  spec: { containers: [{ resources: { requests: { cpu: '1', memory: '0' } } }] },
});

describe('an actuator beside a live Lease of another shard count', () => {
  it('holds off as a new shard 5 of 8 while old shard 0 of 4 renews its Lease, says so once, and writes once that Lease has expired on its clock', async () => {
    let t = 1_000_000;
    const tenant = Array.from({ length: 200 }, (_, i) => `team-${i}`).find((x) => shardOfTenant(x, 8) === 5)!;
    const { lines, log } = logs();
    const registry = new Registry();
    const a = new Actuator({
      connection: { server: 'https://127.0.0.1:1' },
      options: { dryRun: false, quotaEnabled: false, identity: 'new-5', namespaces: [tenant], minCpuCores: 0, minMemoryBytes: 0 },
      shard: { index: 5, total: 8 },
      nowMs: () => t,
      log,
      metrics: createActuatorMetrics(registry),
    });
    const vpa: Obj = { metadata: { name: 'web', namespace: tenant, resourceVersion: '1' }, spec: { recommenders: [{ name: 'foresight' }], resourcePolicy: { containerPolicies: [{ containerName: 'app', controlledResources: ['cpu'] }] } } };
    const c = cluster(a, { leases: [leaseOf({ index: 0, total: 4 }, 'old-0')], vpas: [vpa], pods: [] });
    const snap = (cycle: number) => snapshot(cycle, cycle * 60, [state({ tenant, resource: 'cpu', usage: 1, quantiles: [[1, 2, 3, 4]] })], [{ pool: 'p', resource: 'cpu', size: 1 }]);

    for (let cycle = 1; cycle <= 3; cycle++) {
      if (cycle > 1) {
        t += 10_000;
        c.renew('foresight-actuator-shard-0');
      }
      const r = await a.runOnce(snap(cycle));
      expect(r.leader).toBe(true); // it keeps its own Lease (and with it its count on record)
      expect(c.writes).toEqual([]);
      expect(r.vpa).toBeUndefined();
      expect(r.shadow).toBeUndefined();
      expect(r.fenced).toEqual({ lease: 'foresight-actuator-shard-0', shard: 0, totalShards: 4 });
    }
    expect(lines.filter((l) => /holds off/.test(l))).toHaveLength(1);
    expect(lines.find((l) => /holds off/.test(l))).toMatch(/shard 5 of 8 holds off.*here 4 \(Lease foresight-actuator-shard-0\)/);
    expect(await registry.getSingleMetricAsString('foresight_actuator_fenced')).toMatch(/^foresight_actuator_fenced 1$/m);

    // old shard 0 is gone without releasing its Lease: still live until its record has been still for 15 s here
    t += 14_000;
    expect((await a.runOnce(snap(4))).fenced).toBeDefined();
    t += 2_000;
    const r = await a.runOnce(snap(5));
    expect(r.fenced).toBeUndefined();
    expect(r.vpa).toMatchObject({ written: 1 });
    expect(c.writes).toEqual([`PATCH ${tenant}/verticalpodautoscalers/web/status`, 'POST foresight-system/pods']);
    expect(lines.filter((l) => /writing as usual/.test(l))).toHaveLength(1);
    expect(await registry.getSingleMetricAsString('foresight_actuator_fenced')).toMatch(/^foresight_actuator_fenced 0$/m);
  });

  for (const blip of [false, true]) {
    it(`seeds its change budget again when it writes again after holding off: the other count may have written meanwhile${blip ? ' (a failed Lease read in between)' : ''}`, async () => {
      let t = 1_000_000;
      const tenant = Array.from({ length: 200 }, (_, i) => `team-${i}`).find((x) => shardOfTenant(x, 2) === 1)!;
      const { lines, log } = logs();
      const a = new Actuator({
        connection: { server: 'https://127.0.0.1:1' },
        options: { dryRun: false, quotaEnabled: false, identity: 'me-1', namespaces: [tenant], minCpuCores: 0, minMemoryBytes: 0 },
        shard: { index: 1, total: 2 },
        nowMs: () => t,
        log,
      });
      const vpa: Obj = { metadata: { name: 'web', namespace: tenant, resourceVersion: '1' }, spec: { recommenders: [{ name: 'foresight' }], resourcePolicy: { containerPolicies: [{ containerName: 'app', controlledResources: ['cpu'] }] } } };
      const c = cluster(a, { leases: [], vpas: [vpa], pods: [] });
      const snap = (cycle: number) => snapshot(cycle, cycle * 60, [state({ tenant, resource: 'cpu', usage: 1, quantiles: [[1, 2, 3, 4]] })]);
      const seeded = () => lines.filter((l) => /VPA targets seeded/.test(l)).length;
      expect((await a.runOnce(snap(1))).vpa).toMatchObject({ written: 1 });
      expect(seeded()).toBe(1);
      // a replica of 4 shards takes shard 0's Lease: this count holds off
      c.add(leaseOf({ index: 0, total: 4 }, 'old-0'));
      t += 5_000;
      expect((await a.runOnce(snap(2))).fenced).toBeDefined();
      t += 10_000;
      expect((await a.runOnce(snap(3))).fenced).toBeDefined();
      // it stops renewing; once its Lease has expired on this clock (16 s after it was first seen) this replica writes
      // again, and reads the VPAs' last writes from the server first, as at the start of a term (its own Lease renewed
      // all along: no new term as leader)
      if (blip) {
        // the API server fails this replica's Lease read once: a cycle as no leader, between the last hold and the
        // first write (before, that cycle forgot the hold, and the first write went out on the gate's old state)
        c.fail.leaseGets = 1;
        t += 3_000;
        expect((await a.runOnce(snap(4))).leader).toBe(false);
        t += 3_000;
      } else t += 6_000;
      expect((await a.runOnce(snap(5))).fenced).toBeUndefined();
      expect(seeded()).toBe(2);
    });
  }

  it('exports foresight_actuator_fenced 0 once its renew timer finds it no longer leads, as foresight_leader', async () => {
    const registry = new Registry();
    const a = new Actuator({
      connection: { server: 'https://127.0.0.1:1' },
      options: { dryRun: false, quotaEnabled: false, identity: 'new-5', namespaces: ['nobody'], leaseDurationS: 1 },
      shard: { index: 5, total: 8 },
      log: logs().log,
      metrics: createActuatorMetrics(registry),
    });
    const c = cluster(a, { leases: [leaseOf({ index: 0, total: 4 }, 'old-0')], vpas: [], pods: [] });
    expect((await a.runOnce(snapshot(1, 60, []))).fenced).toBeDefined();
    const value = async (name: string) => (await registry.getSingleMetricAsString(name)).match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1];
    expect(await value('foresight_actuator_fenced')).toBe('1');
    // the API server stops answering its Lease reads; no snapshot comes (the renew timer runs on its own, every 1/3 s)
    c.fail.leaseGets = 1e9;
    a.start({ subscribe: () => () => undefined, latest: () => undefined });
    try {
      await vi.waitFor(async () => expect(await value('foresight_leader')).toBe('0'), { timeout: 5_000, interval: 50 });
      expect(await value('foresight_actuator_fenced')).toBe('0'); // before: 1 until the next cycle
    } finally {
      await a.stop();
    }
  });

  it('writes nothing while it cannot list the Leases (a Role without list on Leases), and says which step failed', async () => {
    const { lines, log } = logs();
    const a = new Actuator({ connection: { server: 'https://127.0.0.1:1' }, options: { dryRun: false, quotaEnabled: false, identity: 'me', namespaces: ['nobody'] }, shard: { index: 0, total: 2 }, log });
    const c = cluster(a, { leases: [], vpas: [], pods: [placeholder('foresight-shadow-s5-p-0', '5')], leaseListStatus: 403 });
    const r = await a.runOnce(snapshot(1, 60, [], [{ pool: 'p', resource: 'cpu', size: 1 }]));
    expect(r.leader).toBe(true);
    expect(r.errors.join('\n')).toMatch(/^shard fence: .*list leases.*403/);
    expect(r.shadow).toBeUndefined();
    expect(c.writes).toEqual([]);
    expect(lines).toEqual(['error actuator step failed']);
  });

  it('as old shard 0 of 4, writes on but leaves the placeholders of a shard live under 8 shards, and removes them once that Lease expires', async () => {
    let t = 1_000_000;
    const { lines, log } = logs();
    const a = new Actuator({
      connection: { server: 'https://127.0.0.1:1' },
      options: { dryRun: false, quotaEnabled: false, identity: 'old-0', namespaces: ['nobody'] },
      shard: { index: 0, total: 4 },
      nowMs: () => t,
      log,
    });
    const c = cluster(a, {
      leases: [leaseOf({ index: 5, total: 8 }, 'new-5')],
      vpas: [],
      // shard 5's (its Lease is live under 8 shards) and shard 6's (no Lease: an orphan under any count)
      pods: [placeholder('foresight-shadow-s5-p-0', '5'), placeholder('foresight-shadow-s6-p-0', '6')],
    });
    const r1 = await a.runOnce(snapshot(1, 60, []));
    expect(r1.fenced).toBeUndefined();
    expect(r1.shadow).toMatchObject({ deleted: 1 });
    expect(c.writes).toEqual(['DELETE foresight-system/pods/foresight-shadow-s6-p-0']);
    expect(lines.filter((l) => /writes on while live Leases record 8 shards/.test(l))).toHaveLength(1);
    t += 10_000;
    c.renew('foresight-actuator-shard-5');
    await a.runOnce(snapshot(2, 120, []));
    expect(c.writes).toHaveLength(1);
    // shard 5 of 8 stops renewing: an orphan again once its Lease has been still for a Lease duration
    t += 16_000;
    expect((await a.runOnce(snapshot(3, 180, []))).shadow).toMatchObject({ deleted: 1 });
    expect(c.writes).toEqual(['DELETE foresight-system/pods/foresight-shadow-s6-p-0', 'DELETE foresight-system/pods/foresight-shadow-s5-p-0']);
    expect(lines.filter((l) => /writes on/.test(l))).toHaveLength(1);
  });
});
