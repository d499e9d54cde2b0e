import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { placeholderSpecs, poolReserves, shadowLabels, shadowSelector, shardManages } from '../../src/actuator/shadow-plan.js';
import { actuatorOptions } from '../../src/actuator/config.js';
import { shardLeaseName } from '../../src/actuator/actuator.js';
import { fnv1a32, ownsTenant, shardOfTenant, UNSHARDED, type Shard } from '../../src/model/shard.js';
import { ShardedSource } from '../../src/sources/sharded-source.js';
import { FakeSource } from './loop-fakes.js';

const GiB = 2 ** 30;

describe('tenant sharding', () => {
  it('hashes names with 32-bit FNV-1a (published test vectors)', () => {
    // FNV test suite (Landon Curt Noll): "" -> 0x811c9dc5, "a" -> 0xe40c292c, "foobar" -> 0xbf9cf968
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    // UTF-8 bytes, not UTF-16 code units: "é" is 0xc3 0xa9
    let h = 0x811c9dc5;
    for (const b of [0xc3, 0xa9]) h = Math.imul(h ^ b, 0x01000193) >>> 0;
    expect(fnv1a32('é')).toBe(h);
  });

  it('gives every tenant exactly one owner, and spreads 10,000 names evenly', () => {
    const total = 5;
    const counts = new Array<number>(total).fill(0);
    for (let i = 0; i < 10_000; i++) {
      const t = `team-${i}`;
      const owners = Array.from({ length: total }, (_, index) => ownsTenant({ index, total }, t));
      expect(owners.filter(Boolean)).toHaveLength(1);
      expect(owners.indexOf(true)).toBe(shardOfTenant(t, total));
      counts[shardOfTenant(t, total)]++;
    }
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(200);
    // unsharded owns everything, hostile names included
    for (const t of ['', 'a"b\\c', 'ns\n}', '租户']) expect(ownsTenant(UNSHARDED, t)).toBe(true);
  });

  it('passes on only the owned tenants\' series and breakdowns', async () => {
    const tenants = Array.from({ length: 40 }, (_, i) => `t${i}`);
    const inner = new FakeSource(tenants, ['cpu', 'memory']);
    const shard: Shard = { index: 1, total: 3 };
    const src = new ShardedSource(inner, shard);
    expect(src.origin).toBe('fake (shard 1 of 3)');
    expect(src.signals).toBe(inner.signals);
    const r = await src.pull({ startS: 0, endS: 600, stepS: 300 });
    const mine = tenants.filter((t) => shardOfTenant(t, 3) === 1);
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.length).toBeLessThan(40);
    expect([...new Set(r.set.series.map((s) => s.tenant))].sort()).toEqual([...mine].sort());
    expect(r.set.series).toHaveLength(2 * mine.length);
    // the three shards together see every series exactly once
    const all = await Promise.all([0, 1, 2].map((index) => new ShardedSource(inner, { index, total: 3 }).pull({ startS: 0, endS: 600, stepS: 300 })));
    expect(all.reduce((n, x) => n + x.set.series.length, 0)).toBe(80);
    // a source that reports its tenants per signal: the shard's own are counted, and a shard left with none says why
    const counted = new ShardedSource({ ...inner, signals: inner.signals, pull: async (rg) => ({ ...(await inner.pull(rg)), coverage: [{ resource: 'cpu', tenants: 40 }, { resource: 'memory', tenants: 40 }] }) }, shard);
    expect((await counted.pull({ startS: 0, endS: 600, stepS: 300 })).coverage).toEqual([{ resource: 'cpu', tenants: mine.length }, { resource: 'memory', tenants: mine.length }]);
    const lone = new FakeSource([tenants.find((t) => shardOfTenant(t, 3) === 0)!], ['cpu']);
    const other = new ShardedSource({ origin: 'x', signals: lone.signals, pull: async (rg) => ({ ...(await lone.pull(rg)), coverage: [{ resource: 'cpu', tenants: 1 }] }) }, shard);
    const c = (await other.pull({ startS: 0, endS: 600, stepS: 300 })).coverage!;
    expect(c[0]).toMatchObject({ resource: 'cpu', tenants: 0 });
    expect(c[0].why).toMatch(/1 tenant with it, none of shard 1 of 3/);
    // the usage split by container and workload keeps the shard's own tenants too
    const byTenant = <V>(v: V) => new Map(tenants.map((t) => [t, v]));
    const split = new ShardedSource({ ...inner, signals: inner.signals, pull: (rg) => inner.pull(rg), usageSplit: async () => new Map([['cpu', { containers: byTenant({ app: 1 }), workloads: byTenant({ web: { share: 1, pods: 1, containers: { app: 1 } } }) }]]) }, shard);
    const u = (await split.usageSplit(['cpu'], 0)).get('cpu')!;
    expect([...u.containers.keys()].sort()).toEqual([...mine].sort());
    expect([...u.workloads.keys()].sort()).toEqual([...mine].sort());
  });

  it('rejects a shard index at or above the shard count, and reads both from the environment', () => {
    expect(() => loadConfig({ env: { FORESIGHT_SHARD: '3', FORESIGHT_TOTAL_SHARDS: '3' } })).toThrow(/shard \(3\) must be below totalShards \(3\)/);
    expect(() => loadConfig({ env: { FORESIGHT_TOTAL_SHARDS: '0' } })).toThrow(/totalShards/);
    const c = loadConfig({ env: { FORESIGHT_SHARD: '2', FORESIGHT_TOTAL_SHARDS: '3' } });
    expect([c.shard, c.totalShards]).toEqual([2, 3]);
    expect([loadConfig({ env: {} }).shard, loadConfig({ env: {} }).totalShards]).toEqual([0, 1]);
    // the pod-index label is missing before Kubernetes 1.28: the variable arrives empty, and the error says why
    expect(() => loadConfig({ env: { FORESIGHT_SHARD: '', FORESIGHT_TOTAL_SHARDS: '4' } })).toThrow(/expected an integer, got "": .*apps\.kubernetes\.io\/pod-index.*1\.28/);
  });

  it('gives a tenant\'s per-container series (<tenant>/<container>) the tenant\'s shard', async () => {
    for (const total of [3, 4]) {
      for (let i = 0; i < 500; i++) {
        for (const c of ['app', 'sidecar', 'istio-proxy', 'web']) expect(shardOfTenant(`team-${i}/${c}`, total)).toBe(shardOfTenant(`team-${i}`, total));
      }
    }
    // and the sharded source passes them on with their tenant
    const names = Array.from({ length: 20 }, (_, i) => `t${i}`);
    const src = new ShardedSource(new FakeSource([...names, ...names.map((t) => `${t}/app`), ...names.map((t) => `${t}/istio-proxy`)], ['cpu']), { index: 1, total: 4 });
    const got = (await src.pull({ startS: 0, endS: 600, stepS: 300 })).set.series.map((s) => s.tenant);
    const owned = names.filter((t) => shardOfTenant(t, 4) === 1);
    expect(got.sort()).toEqual(owned.flatMap((t) => [t, `${t}/app`, `${t}/istio-proxy`]).sort());
  });

  it('warns once when a tenant name holds a \'/\' and what precedes it is not a tenant (its shard is the prefix\'s)', async () => {
    const warnings: Array<[object, string | undefined]> = [];
    const notices = { warn: (obj: object, msg?: string) => void warnings.push([obj, msg]) };
    const shard: Shard = { index: shardOfTenant('payments', 4), total: 4 };
    // per-container series of a tenant: nothing to say
    const names = ['payments', 'payments/app', 'payments/istio-proxy'];
    await new ShardedSource(new FakeSource(names, ['cpu']), shard, notices).pull({ startS: 0, endS: 600, stepS: 300 });
    expect(warnings).toEqual([]);
    // a tenant label whose values hold a '/': every "payments/team-N" goes to the shard of "payments", and it is said
    const teams = Array.from({ length: 100 }, (_, i) => `payments/team-${i}`);
    for (const t of teams) expect(shardOfTenant(t, 4)).toBe(shard.index);
    const src = new ShardedSource(new FakeSource(teams, ['cpu', 'memory']), shard, notices);
    const got = await src.pull({ startS: 0, endS: 600, stepS: 300 });
    expect(got.set.series).toHaveLength(200);
    await src.pull({ startS: 600, endS: 900, stepS: 300 });
    expect(warnings).toHaveLength(1);
    expect(warnings[0][0]).toMatchObject({ shard: shard.index, totalShards: 4, tenants: 100, examples: teams.slice(0, 3), prefixes: ['payments'] });
    expect(warnings[0][1]).toMatch(/100 tenant names hold a '\/' .*"payments\/team-0".* every tenant named "payments\/\.\.\." is on shard \d of 4/);
    // the other shards get none of them, and say nothing
    for (let index = 0; index < 4; index++) {
      if (index === shard.index) continue;
      const other = new ShardedSource(new FakeSource(teams, ['cpu']), { index, total: 4 }, notices);
      expect((await other.pull({ startS: 0, endS: 600, stepS: 300 })).set.series).toEqual([]);
    }
    expect(warnings).toHaveLength(1);
  });
});

describe('sharded actuation', () => {
  const opts = actuatorOptions({ maxPodCpuCores: 2, maxPodMemoryBytes: 4 * GiB, maxShadowCpuCores: 6, maxShadowMemoryBytes: 100 * GiB });

  it('elects a leader per shard on its own Lease, and keeps the configured name unsharded', () => {
    expect(shardLeaseName('foresight-actuator', UNSHARDED)).toBe('foresight-actuator');
    expect(shardLeaseName('foresight-actuator', { index: 2, total: 4 })).toBe('foresight-actuator-shard-2');
  });

  it('names and labels placeholders per shard, and keeps each shard under its share of the caps', () => {
    const shard = { index: 1, total: 2 };
    const { pools, capped } = poolReserves([{ pool: 'pool-a', resource: 'cpu', size: 4 }], opts, shard);
    expect(capped).toBe(true); // 4 cores against a share of 6 / 2 = 3
    expect(pools[0].cpuCores).toBe(3);
    expect(placeholderSpecs(pools, opts, shard).map((s) => [s.name, s.cpu])).toEqual([
      ['foresight-shadow-s1-pool-a-0', '1500m'],
      ['foresight-shadow-s1-pool-a-1', '1500m'],
    ]);
    expect(placeholderSpecs(pools, opts).map((s) => s.name)).toEqual(['foresight-shadow-pool-a-0', 'foresight-shadow-pool-a-1']);
    expect(shadowLabels(shard)).toMatchObject({ 'foresight.io/shard': '1', 'foresight.io/role': 'shadow' });
    expect(shadowLabels(UNSHARDED)['foresight.io/shard']).toBeUndefined();
  });

  it('lists only its own placeholders; shard 0 and an unsharded replica also adopt the orphans to remove them', () => {
    const base = { 'app.kubernetes.io/managed-by': 'foresight', 'foresight.io/role': 'shadow' };
    const of = (s: string | undefined) => (s === undefined ? base : { ...base, 'foresight.io/shard': s });
    expect(shadowSelector({ index: 2, total: 3 })).toBe('app.kubernetes.io/managed-by=foresight,foresight.io/role=shadow,foresight.io/shard=2');
    expect(shadowSelector({ index: 0, total: 3 })).toBe('app.kubernetes.io/managed-by=foresight,foresight.io/role=shadow');
    const s0 = { index: 0, total: 3 }, s2 = { index: 2, total: 3 };
    // own
    expect(shardManages(of('0'), s0)).toBe(true);
    expect(shardManages(of('2'), s2)).toBe(true);
    // another live shard's: never
    expect(shardManages(of('1'), s0)).toBe(false);
    expect(shardManages(of('1'), s2)).toBe(false);
    // orphans (an unsharded deployment's, a shard that no longer exists, a mangled label): shard 0 only
    for (const orphan of [undefined, '3', '17', 'x']) {
      expect(shardManages(of(orphan), s0)).toBe(true);
      expect(shardManages(of(orphan), s2)).toBe(false);
    }
    // unsharded: every placeholder of Foresight's (a former sharded deployment's too)
    for (const any of [undefined, '0', '5']) expect(shardManages(of(any), UNSHARDED)).toBe(true);
  });
});
