// Horizontal sharding by tenant: replica `index` of `total` owns the tenants whose name hashes to it, so a cluster with
// more tenants than one process can hold runs several replicas, each pulling, forecasting and actuating its share
// (the scheme of kube-state-metrics' --shard / --total-shards, keyed by tenant instead of object UID).

/** This replica's share: index in [0, total). total = 1 is the unsharded default. */
export interface Shard {
  readonly index: number;
  readonly total: number;
}

const utf8 = new TextEncoder();

export const UNSHARDED: Shard = Object.freeze({ index: 0, total: 1 });

/**
 * 32-bit FNV-1a over the UTF-8 bytes of the name (Fowler, Noll, Vo; the offset basis 2166136261 and prime 16777619 of
 * the 32-bit variant). Stable across processes and versions, so every replica agrees on an owner without talking to
 * the others. Example: fnv1a32("a") = 0xe40c292c.
 */
export function fnv1a32(name: string): number {
  let h = 0x811c9dc5;
  for (const byte of utf8.encode(name)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * The shard index that owns a tenant among `total` shards. A per-container series (`<tenant>/<container>`, which the
 * VPA split reads beside the tenant's own) goes with its tenant: every name is cut at its first '/'. No namespace or
 * Kubernetes label value contains a '/', so every such tenant's shard is its own; a tenant label whose values do
 * (set by relabelling, such as "payments/team-1") puts every tenant of one prefix on one shard. Cutting only where the
 * prefix is itself a tenant would need every tenant's name in each replica, also in the actuator, which reads a VPA's
 * tenant from its annotation alone; the constraint is documented (tenantLabel, README) and ShardedSource warns once.
 */
export function shardOfTenant(tenant: string, total: number): number {
  if (total <= 1) return 0;
  const cut = tenant.indexOf('/');
  return fnv1a32(cut < 0 ? tenant : tenant.slice(0, cut)) % total;
}

/** True when this replica owns the tenant. */
export function ownsTenant(shard: Shard, tenant: string): boolean {
  return shard.total <= 1 || shardOfTenant(tenant, shard.total) === shard.index;
}
