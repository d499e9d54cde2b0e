// The actuator of one shard count beside a live Lease of another (a change of the shard count under way), on a fake
// wire: the count that does not write holds off, says so once and resumes by itself; the one that writes never sweeps
// up the other count's placeholders as orphans; a cycle already writing when the other count takes over stops at the
// renew timer's next look at the Leases. Only the Actuator's public surface is used, so these run against the code
// before the fence (and before the timer's look) too, where they fail.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Registry } from 'prom-client';
import { Actuator } from '../../src/actuator/actuator.js';
import { createActuatorMetrics } from '../../src/actuator/metrics.js';
import { shardOfTenant, type Shard } from '../../src/model/shard.js';
import type { Snapshot } from '../../src/model/snapshot.js';
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
  /** Lease reads and lists still to answer 500 (an API server blip). */
  const fail = { leaseGets: 0, leaseLists: 0 };
  /** How long the next Lease lists take (ms, on the timers' clock), and how long the n-th write (from 0) does. */
  const slow = { leaseListMs: 0, writeMs: (_n: number) => 0 };
  let sent = 0;
  const ok = (o: unknown): Sent => ({ status: 200, text: JSON.stringify(o) });
  const wire = a.api as unknown as { send: (url: URL, method: string, h: unknown, body?: Buffer) => Promise<Sent>; watch: (...args: unknown[]) => Promise<void> };
  // the VPA watch of a started actuator waits for its stop
  wire.watch = (...args) => new Promise<void>((r) => (args[4] as AbortSignal).addEventListener('abort', () => r()));
  wire.send = async (url, method, _h, body) => {
    const p = url.pathname;
    const b = body ? (JSON.parse(body.toString()) as Obj) : undefined;
    const last = p.split('/').pop()!;
    if (p.includes('/leases')) {
      if (method === 'GET' && last === 'leases') {
        if (slow.leaseListMs) await new Promise((r) => setTimeout(r, slow.leaseListMs));
        if (fail.leaseLists > 0) {
          fail.leaseLists--;
          return { status: 500, text: '{"message":"etcdserver: request timed out"}' };
        }
        return seed.leaseListStatus ? { status: seed.leaseListStatus, text: '{"message":"forbidden"}' } : ok({ items: [...leases.values()] });
      }
      if (method === 'GET' && fail.leaseGets > 0) {
        fail.leaseGets--;
        return { status: 500, text: '{"message":"etcdserver: request timed out"}' };
      }
      if (method === 'GET') return leases.has(last) ? ok(leases.get(last)) : { status: 404, text: '{}' };
      const l = { ...b!, metadata: { ...b!.metadata, resourceVersion: String(rv++) } };
      leases.set(l.metadata.name, l);
      return ok(l);
    }
    if (p.endsWith('/verticalpodautoscalers') && method === 'GET') {
      const ns = /\/namespaces\/([^/]+)\//.exec(p)?.[1];
      return ok({ metadata: { resourceVersion: '1' }, items: [...vpas.values()].filter((v) => ns === undefined || v.metadata.namespace === ns) });
    }
    if (p.endsWith('/pods') && method === 'GET') return ok({ items: [...pods.values()] });
    if (method !== 'GET') {
      const ms = slow.writeMs(sent++);
      if (ms) await new Promise((r) => setTimeout(r, ms));
      writes.push(`${method} ${p.replace(/^.*\/namespaces\//, '')}`); // once answered
    }
    if (p.endsWith('/pods') && method === 'POST') pods.set(b!.metadata.name, b as never);
    if (method === 'DELETE') pods.delete(last);
    return ok({});
  };
  return {
    writes,
    fail,
    slow,
    /** Another replica creates its Lease. */
    add(l: Obj) {
      leases.set(l.metadata.name, { ...l, metadata: { ...l.metadata, resourceVersion: String(rv++) } });
    },
    /** Another replica renews its Lease: the record changes (a new resourceVersion). */
    renew(name: string) {
      const l = leases.get(name)!;
      leases.set(name, { ...l, metadata: { ...l.metadata, resourceVersion: String(rv++) } });
    },
    /** Another replica releases its Lease on shutdown (no holder: not live at once). */
    release(name: string) {
      const l = leases.get(name)!;
      leases.set(name, { ...l, metadata: { ...l.metadata, resourceVersion: String(rv++) }, spec: { ...l.spec, holderIdentity: '' } });
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
    // (besides the start's word that quotas are off)
    expect(lines.filter((l) => !l.includes('quotaEnabled=false'))).toEqual(['error actuator step failed']);
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

describe('an actuator whose cycle is writing when another shard count takes over', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /**
   * Shard 1 of 2 following a source, started at t = 0 on fake timers: `n` VPAs of its tenants whose status writes take
   * `c.slow.writeMs` each; a 15 s Lease, so the renew timer runs at 5, 10, 15 s... and a write needs a fence verdict
   * less than 10 s old (the renew deadline).
   */
  function writing(n: number) {
    // setImmediate stays real: prom-client's registry reads the metrics through it
    vi.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const tenants = Array.from({ length: 400 }, (_, i) => `team-${i}`).filter((x) => shardOfTenant(x, 2) === 1).slice(0, n);
    const { lines, log } = logs();
    const registry = new Registry();
    const a = new Actuator({
      connection: { server: 'https://127.0.0.1:1' },
      options: { dryRun: false, quotaEnabled: false, shadowEnabled: false, identity: 'me-1', namespaces: tenants, minCpuCores: 0, minMemoryBytes: 0 },
      shard: { index: 1, total: 2 },
      log,
      metrics: createActuatorMetrics(registry),
    });
    const vpa = (ns: string): Obj => ({ metadata: { name: 'web', namespace: ns, resourceVersion: '1' }, spec: { recommenders: [{ name: 'foresight' }], resourcePolicy: { containerPolicies: [{ containerName: 'app', controlledResources: ['cpu'] }] } } });
    const c = cluster(a, { leases: [], vpas: tenants.map(vpa), pods: [] });
    const snap = (cycle: number) => snapshot(cycle, cycle * 60, tenants.map((tenant) => state({ tenant, resource: 'cpu', usage: 1, quantiles: [[1, 2, 3, 4]] })));
    let latest = snap(1);
    let sink: { publish(s: Snapshot): void | Promise<void> } | undefined;
    return {
      a,
      c,
      lines,
      start: () => a.start({ latest: () => latest, subscribe: (s) => ((sink = s), () => undefined) }),
      /** Runs the timers up to `s` seconds after the start. */
      at: (s: number) => vi.advanceTimersByTimeAsync(1_000_000 + s * 1000 - Date.now()),
      publish(cycle: number) {
        latest = snap(cycle);
        void sink!.publish(latest);
      },
      patched: () => c.writes.filter((w) => w.startsWith('PATCH')).map((w) => w.split('/')[0]),
      seeded: () => lines.filter((l) => /VPA targets seeded/.test(l)).length,
      /** Stops it, running the timers meanwhile (a write still out would otherwise never be answered). */
      async stop() {
        const stopped = a.stop();
        await vi.advanceTimersByTimeAsync(120_000);
        await stopped;
      },
      fenced: async () => (await registry.getSingleMetricAsString('foresight_actuator_fenced')).match(/^foresight_actuator_fenced (\S+)$/m)?.[1],
    };
  }

  it('refuses the writes that follow a renew timer check finding the other count writing, without a back-off, and seeds its change budget again when it writes again', async () => {
    const w = writing(8);
    w.c.slow.writeMs = () => 2_000; // the i-th write goes out at 2i s
    w.start();
    try {
      await w.at(1);
      expect(w.patched()).toEqual([]);
      w.c.add(leaseOf({ index: 0, total: 4 }, 'old-0')); // old shard 0 of 4 (before: on this replica's clock)
      await w.at(5.5); // the renew timer at 5 s lists the Leases
      expect(await w.fenced()).toBe('1');
      expect(w.lines.filter((l) => /holds off/.test(l))).toHaveLength(1);
      await w.at(8);
      // the writes sent at 0, 2 and 4 s went through; the one due at 6 s was refused, and with it the rest of the cycle
      expect(w.patched()).toHaveLength(3);
      const r = w.a.lastReport!;
      expect(r.errors).toHaveLength(1);
      expect(r.errors[0]).toMatch(/^vpa: Not writing patch verticalpodautoscalers\/status .*: held off by the shard fence \(Lease foresight-actuator-shard-0 records 4 shards/);
      expect(r.fenced).toEqual({ lease: 'foresight-actuator-shard-0', shard: 0, totalShards: 4 });
      expect(r.backoffS).toBe(0); // not an unavailable API server
      expect(w.seeded()).toBe(1);

      // old shard 0 is gone (released); the timer at 10 s sees it, and the next cycle writes after seeding again
      w.c.release('foresight-actuator-shard-0');
      await w.at(10.5);
      expect(await w.fenced()).toBe('0');
      expect(w.lines.filter((l) => /writing as usual/.test(l))).toHaveLength(1);
      w.publish(2);
      await w.at(40);
      expect(w.a.lastReport!).toMatchObject({ cycle: 2, errors: [], backoffS: 0 });
      expect(w.a.lastReport!.fenced).toBeUndefined();
      expect(w.seeded()).toBe(2);
      expect(new Set(w.patched()).size).toBe(8);
    } finally {
      await w.stop();
    }
  });

  it('writes no more in that cycle after a hold even when a later check finds that count gone (it may have written meanwhile), and seeds again in the next', async () => {
    const w = writing(8);
    // the third write (out at 4 s) takes 8 s: the timer checks twice while it is out, at 5 s and 10 s
    w.c.slow.writeMs = (n) => (n === 2 ? 8_000 : 2_000);
    w.start();
    try {
      await w.at(1);
      w.c.add(leaseOf({ index: 0, total: 4 }, 'old-0'));
      await w.at(7);
      expect(await w.fenced()).toBe('1');
      w.c.release('foresight-actuator-shard-0');
      await w.at(11);
      expect(await w.fenced()).toBe('0'); // the fence is open again...
      await w.at(16);
      // ...but the write due at 12 s, on a change budget the other count may have made stale, was refused
      expect(w.patched()).toHaveLength(3);
      expect(w.a.lastReport!.errors).toEqual([expect.stringMatching(/held off by the shard fence \(Lease foresight-actuator-shard-0 records 4 shards, and that count writes when checked during this cycle; the next cycle checks again\)/)]);
      expect(w.a.lastReport!.backoffS).toBe(0);
      w.publish(2);
      await w.at(40);
      expect(w.a.lastReport!).toMatchObject({ cycle: 2, errors: [] });
      expect(w.seeded()).toBe(2);
    } finally {
      await w.stop();
    }
  });

  it('refuses writes after its renew timer fails to list the Leases, until a check succeeds', async () => {
    const w = writing(8);
    w.c.slow.writeMs = () => 2_000;
    w.start();
    try {
      await w.at(1);
      w.c.fail.leaseLists = 1; // the renew timer's list at 5 s answers 500
      await w.at(8);
      expect(w.patched()).toHaveLength(3);
      const r = w.a.lastReport!;
      expect(r.errors).toEqual([expect.stringMatching(/^vpa: Not writing .*held off by the shard fence \(its last check could not list the Leases of the installation\)/)]);
      expect(r.backoffS).toBe(0);
      expect(r.fenced).toBeUndefined();
      expect(await w.fenced()).toBe('0'); // it cannot tell: no other count is known to write
      expect(w.lines.filter((l) => /could not be listed between cycles/.test(l))).toHaveLength(1);
      // the next cycle's own check lists them again, and it writes
      w.publish(2);
      await w.at(40);
      expect(w.a.lastReport!).toMatchObject({ cycle: 2, errors: [] });
      expect(new Set(w.patched()).size).toBe(8);
    } finally {
      await w.stop();
    }
  });

  it('stops writing once its last fence verdict is older than the renew deadline (the timer\'s Lease lists do not answer)', async () => {
    const w = writing(8);
    w.c.slow.writeMs = () => 3_000; // out at 0, 3, 6, 9, 12 s
    w.start();
    try {
      await w.at(1);
      w.c.slow.leaseListMs = 60_000; // the renews go on; the lists of the timer at 5 and 10 s hang
      await w.at(17);
      // the cycle's own verdict, taken at 0 s, allows writes until 10 s: the one due at 12 s is refused
      expect(w.patched()).toHaveLength(4);
      expect(w.a.lastReport!.errors).toEqual([expect.stringMatching(/held off by the shard fence \(its last check was 12\.0 s ago, past the renew deadline \(10 s\)\)/)]);
      expect(w.a.lastReport!.backoffS).toBe(0);
    } finally {
      await w.stop();
    }
  });
});
