// The fence between shard counts: which count writes while Leases of two counts are live, which placeholders an orphan
// sweep must leave alone, and liveness judged on this replica's clock.
import { describe, expect, it } from 'vitest';
import { KubeHttpError, type KubeApi } from '../../src/actuator/kube-api.js';
import { LeaderElector } from '../../src/actuator/leader.js';
import { shardManages } from '../../src/actuator/shadow-plan.js';
import { type LeaseObject, type LeaseRecord, ShardFence, judgeFence, leaseGroup, leaseRecord, leaseStamp } from '../../src/actuator/shard-fence.js';
import type { Shard } from '../../src/model/shard.js';

const name = (s: Shard): string => (s.total > 1 ? `foresight-actuator-shard-${s.index}` : 'foresight-actuator');
const rec = (index: number, total: number): LeaseRecord => ({ name: name({ index, total }), holder: `pod-${index}-of-${total}`, index, total });
const shards = (total: number, indexes: number[]): Shard[] => indexes.map((index) => ({ index, total }));

/** Which of `replicas` write when exactly their Leases are live (each judges the others' Leases). */
function writers(replicas: Shard[]): string[] {
  const live = replicas.map((s) => rec(s.index, s.total));
  return replicas.filter((s) => judgeFence(s, name(s), live).act).map((s) => `${s.index}/${s.total}`);
}

describe('judgeFence', () => {
  it('lets every leader write while all live Leases record one count', () => {
    expect(writers(shards(4, [0, 1, 2, 3]))).toEqual(['0/4', '1/4', '2/4', '3/4']);
    expect(judgeFence({ index: 2, total: 4 }, name({ index: 2, total: 4 }), []).act).toBe(true);
  });

  it('keeps the old count writing through a rolling update from 4 to 8 shards until the new shard 0 takes shard 0\'s Lease', () => {
    // a StatefulSet scales up first (new pods 4-7), then replaces 3, 2, 1 and, last, 0
    const phases: [Shard[], string[]][] = [
      [[...shards(4, [0, 1, 2, 3]), ...shards(8, [4, 5, 6, 7])], ['0/4', '1/4', '2/4', '3/4']],
      [[...shards(4, [0, 1, 2]), ...shards(8, [3, 4, 5, 6, 7])], ['0/4', '1/4', '2/4']],
      [[...shards(4, [0]), ...shards(8, [1, 2, 3, 4, 5, 6, 7])], ['0/4']],
      // old pod 0 gone, its Lease released or expired: the new count alone
      [shards(8, [1, 2, 3, 4, 5, 6, 7]), ['1/8', '2/8', '3/8', '4/8', '5/8', '6/8', '7/8']],
      [shards(8, [0, 1, 2, 3, 4, 5, 6, 7]), ['0/8', '1/8', '2/8', '3/8', '4/8', '5/8', '6/8', '7/8']],
    ];
    for (const [live, expected] of phases) expect(writers(live)).toEqual(expected);
  });

  it('keeps the old count writing through a rolling update from 8 down to 4 shards, and never has both counts write or both hold', () => {
    // scale-down removes pods 7-4 first (the same count remains), then replaces 3, 2, 1, 0
    for (let replaced = 1; replaced <= 3; replaced++) {
      const live = [...shards(8, [0, 1, 2, 3].slice(0, 4 - replaced)), ...shards(4, [3, 2, 1].slice(0, replaced))];
      const w = writers(live);
      expect(w.length).toBeGreaterThan(0);
      expect(w.every((x) => x.endsWith('/8'))).toBe(true);
    }
  });

  it('lets the larger count write when an unsharded Lease and shard 0\'s are both live, and protects the unsharded placeholders', () => {
    // deploy/ and deploy/sharded/ running side by side (one was applied without deleting the other)
    const live = [rec(0, 1), rec(0, 3), rec(1, 3), rec(2, 3)];
    expect(writers([{ index: 0, total: 1 }, ...shards(3, [0, 1, 2])])).toEqual(['0/3', '1/3', '2/3']);
    const v = judgeFence({ index: 0, total: 3 }, name({ index: 0, total: 3 }), live);
    expect([...v.protectedShards]).toEqual(['']);
    expect(judgeFence({ index: 0, total: 1 }, 'foresight-actuator', live)).toMatchObject({ act: false, decider: { name: 'foresight-actuator-shard-0', total: 3 } });
  });

  it('names the Lease whose count writes and every live Lease of the other count, and protects their shards', () => {
    const live = [rec(0, 4), rec(1, 4), rec(4, 8), rec(5, 8)];
    const held = judgeFence({ index: 5, total: 8 }, name({ index: 5, total: 8 }), live);
    expect(held.act).toBe(false);
    expect(held.decider).toEqual(rec(0, 4));
    expect(held.others.map((l) => l.name)).toEqual(['foresight-actuator-shard-0', 'foresight-actuator-shard-1']);
    const writes = judgeFence({ index: 0, total: 4 }, name({ index: 0, total: 4 }), live);
    expect(writes.act).toBe(true);
    expect([...writes.protectedShards].sort()).toEqual(['4', '5']);
  });
});

describe('shardManages with shards live under another count', () => {
  const labels = (shard?: string) => ({ 'app.kubernetes.io/managed-by': 'foresight', 'foresight.io/role': 'shadow', ...(shard === undefined ? {} : { 'foresight.io/shard': shard }) });
  it('leaves shard 0 the orphans of indexes that no count holds, and never those of a shard live under another count', () => {
    const s0: Shard = { index: 0, total: 4 };
    const live = new Set(['5']);
    expect(shardManages(labels('5'), s0, live)).toBe(false);
    expect(shardManages(labels('6'), s0, live)).toBe(true);
    expect(shardManages(labels('5'), s0)).toBe(true); // once Lease 5 is no longer live it is an orphan again
    expect(shardManages(labels('0'), s0, live)).toBe(true);
    expect(shardManages(labels(), s0, new Set(['']))).toBe(false);
    expect(shardManages(labels(), s0)).toBe(true);
  });

  it('keeps an unsharded replica off the placeholders of shards live under a sharded count', () => {
    const one: Shard = { index: 0, total: 1 };
    expect(shardManages(labels('2'), one, new Set(['2']))).toBe(false);
    expect(shardManages(labels('3'), one, new Set(['2']))).toBe(true);
    expect(shardManages(labels(), one, new Set(['2']))).toBe(true);
  });
});

describe('leaseRecord and leaseStamp', () => {
  it('reads back what a leader stamps, and ignores a Lease that records no count or a wrong one', () => {
    const stamp = leaseStamp('foresight-actuator', { index: 3, total: 8 }, 'p');
    expect(stamp.labels).toEqual({ 'app.kubernetes.io/managed-by': 'foresight', 'foresight.io/lease-group': 'foresight-actuator' });
    const lease = (annotations?: Record<string, string>): LeaseObject => ({ metadata: { name: 'x', annotations }, spec: { holderIdentity: 'p' } });
    expect(leaseRecord(lease(stamp.annotations))).toEqual({ name: 'x', holder: 'p', index: 3, total: 8 });
    expect(leaseRecord(lease())).toBeUndefined(); // a Lease of a version before the fence
    expect(leaseRecord(lease({ 'foresight.io/shards': '4', 'foresight.io/shard': '4' }))).toBeUndefined();
    expect(leaseRecord(lease({ 'foresight.io/shards': '0', 'foresight.io/shard': '0' }))).toBeUndefined();
    expect(leaseRecord(lease({ 'foresight.io/shards': '4x', 'foresight.io/shard': '1' }))).toBeUndefined();
    // stamped by an earlier holder: a replica of a version before the fence renews it with what it found
    expect(leaseRecord({ ...lease(stamp.annotations), spec: { holderIdentity: 'pre-fence' } })).toBeUndefined();
  });

  it('keeps a long Lease name within the 63 characters of a label value, distinct from another with the same head', () => {
    const a = leaseGroup(`${'a'.repeat(60)}-one`), b = leaseGroup(`${'a'.repeat(60)}-two`);
    expect(a.length).toBeLessThanOrEqual(63);
    expect(a).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
    expect(a).not.toBe(b);
    expect(leaseGroup('foresight-actuator')).toBe('foresight-actuator');
  });
});

/** Leases in memory, listed by label selector (equality terms only), with resourceVersion checks. */
function fakeLeases() {
  const leases = new Map<string, LeaseObject & { metadata: { resourceVersion: string } }>();
  let rv = 0;
  const err = (status: number) => new KubeHttpError(status, '', { verb: 'get', resource: 'leases' }, `HTTP ${status}`);
  const api = {
    async request(op: { verb: string; name?: string }, path: string, init: { body?: LeaseObject; query?: Record<string, string> } = {}) {
      const n = op.name ?? path.split('/').pop()!;
      if (op.verb === 'list') {
        const terms = (init.query?.labelSelector ?? '').split(',').filter(Boolean).map((t) => t.split('='));
        return { items: [...leases.values()].filter((l) => terms.every(([k, v]) => l.metadata.labels?.[k] === v)).map((l) => structuredClone(l)) };
      }
      if (op.verb === 'get') {
        if (!leases.has(n)) throw err(404);
        return structuredClone(leases.get(n));
      }
      const body = init.body!;
      if (op.verb === 'create' && leases.has(body.metadata.name)) throw err(409);
      if (op.verb === 'update' && body.metadata.resourceVersion !== leases.get(n)?.metadata.resourceVersion) throw err(409);
      const stored = { metadata: { ...body.metadata, resourceVersion: String(++rv) }, spec: body.spec };
      leases.set(body.metadata.name, stored);
      return structuredClone(stored);
    },
  };
  return { api: api as unknown as KubeApi, leases };
}

describe('ShardFence', () => {
  function replica(api: KubeApi, shard: Shard, clock: () => number) {
    const lease = name(shard);
    return {
      elector: new LeaderElector(api, 'fs', lease, `pod-${shard.index}-of-${shard.total}`, 15, clock, leaseStamp('foresight-actuator', shard, `pod-${shard.index}-of-${shard.total}`)),
      fence: new ShardFence(api, 'fs', 'foresight-actuator', lease, shard, 15, clock),
    };
  }

  it('holds off while the other count\'s Lease keeps changing, even with its holder\'s clock far behind, and resumes a Lease duration after it stops', async () => {
    const { api } = fakeLeases();
    let t = 1_000_000;
    const old0 = replica(api, { index: 0, total: 4 }, () => t - 3_600_000); // an hour behind: its renewTime says nothing
    const new5 = replica(api, { index: 5, total: 8 }, () => t);
    expect(await old0.elector.tryAcquireOrRenew()).toBe(true);
    expect(await new5.elector.tryAcquireOrRenew()).toBe(true);
    for (let i = 0; i < 5; i++) {
      t += 10_000;
      // both keep renewing: a leader that holds off keeps its Lease, and with it its count on record
      await old0.elector.tryAcquireOrRenew();
      await new5.elector.tryAcquireOrRenew();
      expect(await new5.fence.check()).toMatchObject({ act: false, decider: { name: 'foresight-actuator-shard-0', total: 4 } });
      expect(await old0.fence.check()).toMatchObject({ act: true, protectedShards: new Set(['5']) });
    }
    // old shard 0 stops renewing (its pod is gone without releasing): live for one more Lease duration on new5's clock
    t += 14_000;
    expect((await new5.fence.check()).act).toBe(false);
    t += 2_000;
    expect(await new5.fence.check()).toMatchObject({ act: true, others: [] });
  });

  it('answers one check at a time: one asked for while another waits for its list lists after it (the renew timer\'s and a cycle\'s)', async () => {
    const { api } = fakeLeases();
    const answer: (() => void)[] = [];
    const slow = {
      async request(op: { verb: string }, path: string, init?: unknown) {
        if (op.verb === 'list') await new Promise<void>((r) => answer.push(r));
        return (api.request as (...a: unknown[]) => Promise<unknown>)(op, path, init);
      },
    } as unknown as KubeApi;
    const shard = { index: 1, total: 2 };
    const fence = new ShardFence(slow, 'fs', 'foresight-actuator', name(shard), shard, 15, () => 0);
    const settle = () => new Promise((r) => setImmediate(r));
    const first = fence.check();
    const second = fence.check();
    await settle();
    expect(answer).toHaveLength(1);
    answer.shift()!();
    expect((await first).act).toBe(true);
    await settle();
    expect(answer).toHaveLength(1);
    answer.shift()!();
    expect((await second).act).toBe(true);
  });

  it('sees a released Lease as not live at once, and leaves out a Lease of another installation or without a record', async () => {
    const { api, leases } = fakeLeases();
    const t = 0;
    const old0 = replica(api, { index: 0, total: 4 }, () => t);
    const new3 = replica(api, { index: 3, total: 8 }, () => t);
    await old0.elector.tryAcquireOrRenew();
    await new3.elector.tryAcquireOrRenew();
    expect((await new3.fence.check()).act).toBe(false);
    await old0.elector.release();
    expect((await new3.fence.check()).act).toBe(true);
    // another installation in the namespace (its own Lease name), and a shard 0 Lease written before the fence
    const other = new LeaderElector(api, 'fs', 'other-actuator-shard-0', 'x', 15, () => t, leaseStamp('other-actuator', { index: 0, total: 2 }, 'x'));
    await other.tryAcquireOrRenew();
    leases.set('foresight-actuator-shard-0', { metadata: { name: 'foresight-actuator-shard-0', resourceVersion: '99', labels: leaseStamp('foresight-actuator', { index: 0, total: 4 }, 'old-version').labels }, spec: { holderIdentity: 'old-version', leaseDurationSeconds: 15 } });
    expect(await new3.fence.check()).toMatchObject({ act: true, others: [] });
  });

  it('records the shard count on a Lease taken over from a holder of another count', async () => {
    const { api, leases } = fakeLeases();
    const t = 0;
    const old3 = new LeaderElector(api, 'fs', 'foresight-actuator-shard-3', 'old', 15, () => t, leaseStamp('foresight-actuator', { index: 3, total: 4 }, 'old'));
    await old3.tryAcquireOrRenew();
    await old3.release();
    const new3 = new LeaderElector(api, 'fs', 'foresight-actuator-shard-3', 'new', 15, () => t, leaseStamp('foresight-actuator', { index: 3, total: 8 }, 'new'));
    expect(await new3.tryAcquireOrRenew()).toBe(true);
    expect(leases.get('foresight-actuator-shard-3')?.metadata.annotations).toMatchObject({ 'foresight.io/shards': '8', 'foresight.io/shard': '3', 'foresight.io/shards-holder': 'new' });
  });

  it('does not read a count stamped by an earlier holder when a replica of a version before the fence holds the Lease', async () => {
    const { api } = fakeLeases();
    let t = 0;
    // shard 0 of 2 stamps its Lease and releases it; a replica before the fence (no stamp of its own, as it renews with
    // the metadata it found) takes it as shard 0 of 4
    const old0 = new LeaderElector(api, 'fs', 'foresight-actuator-shard-0', 'two-0', 15, () => t, leaseStamp('foresight-actuator', { index: 0, total: 2 }, 'two-0'));
    await old0.tryAcquireOrRenew();
    await old0.release();
    const preFence = new LeaderElector(api, 'fs', 'foresight-actuator-shard-0', 'pre-fence-0', 15, () => t);
    expect(await preFence.tryAcquireOrRenew()).toBe(true);
    const new1 = replica(api, { index: 1, total: 4 }, () => t);
    await new1.elector.tryAcquireOrRenew();
    for (let c = 0; c < 3; c++) {
      t += 5_000;
      await preFence.tryAcquireOrRenew();
      // before: "held off for 2 shards" for as long as the old replica renewed
      expect(await new1.fence.check()).toMatchObject({ act: true, others: [] });
    }
  });
});
