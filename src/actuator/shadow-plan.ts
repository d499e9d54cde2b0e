// Pure planning of shadow capacity: pooled reserves from the snapshot -> placeholder pods (capped, split, named).
import { fnv1a32, type Shard, UNSHARDED } from '../model/shard.js';
import type { ShadowPlan } from '../model/snapshot.js';
import type { ActuatorOptions } from './config.js';
import { formatCpu, formatMemory, parseQuantity } from './quantity.js';

export const MANAGED_BY = 'app.kubernetes.io/managed-by';
export const ROLE = 'foresight.io/role';
export const POOL = 'foresight.io/pool';
export const SHADOW_LABELS: Readonly<Record<string, string>> = { [MANAGED_BY]: 'foresight', [ROLE]: 'shadow' };
export const SHADOW_SELECTOR = `${MANAGED_BY}=foresight,${ROLE}=shadow`;
/** Shard index of the replica that owns a placeholder (only when sharded: total > 1). */
export const SHARD = 'foresight.io/shard';

/** Labels of this shard's placeholders. */
export function shadowLabels(shard: Shard): Record<string, string> {
  return shard.total > 1 ? { ...SHADOW_LABELS, [SHARD]: String(shard.index) } : { ...SHADOW_LABELS };
}

/**
 * Label selector of the placeholders a shard lists: its own. Shard 0 (and an unsharded replica) lists every
 * placeholder of Foresight's, so that it can also remove the orphans a change of the shard count leaves behind (see
 * `shardManages`).
 */
export function shadowSelector(shard: Shard): string {
  return shard.total > 1 && shard.index > 0 ? `${SHADOW_SELECTOR},${SHARD}=${shard.index}` : SHADOW_SELECTOR;
}

/**
 * Whether a shard manages (resizes or deletes) a listed placeholder: unsharded, every one of Foresight's (those of a
 * former sharded deployment included); shard i, those labelled i; shard 0 also the orphans: no shard label (left by
 * an unsharded deployment) or an index no shard has any more. `live` holds the shard labels ('' for none) of shards
 * whose Lease is live under another shard count (src/actuator/shard-fence.ts): their placeholders are not orphans but
 * another count's, still held, and are never taken.
 */
export function shardManages(labels: Readonly<Record<string, string>> | undefined, shard: Shard, live: ReadonlySet<string> = new Set()): boolean {
  const own = labels?.[SHARD];
  if (shard.total <= 1) return own === undefined || !live.has(own);
  if (own === String(shard.index)) return true;
  if (shard.index !== 0 || live.has(own ?? '')) return false;
  return own === undefined || !/^[0-9]+$/.test(own) || Number(own) >= shard.total;
}

export interface PoolReserve {
  pool: string;
  cpuCores: number;
  memoryBytes: number;
}

export interface PlaceholderSpec {
  name: string;
  pool: string;
  cpu: string;
  memory: string;
}

/**
 * Reserves per pool, scaled down together so that the totals stay under the configured caps. The caps are the
 * cluster's: each of `shard.total` shards keeps under its equal share of them.
 */
export function poolReserves(plans: readonly ShadowPlan[], opts: ActuatorOptions, shard: Shard = UNSHARDED): { pools: PoolReserve[]; capped: boolean } {
  const by = new Map<string, PoolReserve>();
  for (const p of plans) {
    if (!Number.isFinite(p.size) || p.size <= 0) continue;
    const r = by.get(p.pool) ?? { pool: p.pool, cpuCores: 0, memoryBytes: 0 };
    if (p.resource === opts.shadowCpuResource) r.cpuCores += p.size;
    else if (p.resource === opts.shadowMemoryResource) r.memoryBytes += p.size;
    else continue;
    by.set(p.pool, r);
  }
  const pools = [...by.values()].sort((a, b) => a.pool.localeCompare(b.pool));
  const cpu = pools.reduce((s, p) => s + p.cpuCores, 0);
  const mem = pools.reduce((s, p) => s + p.memoryBytes, 0);
  const capCpu = opts.maxShadowCpuCores / shard.total, capMem = opts.maxShadowMemoryBytes / shard.total;
  const fc = cpu > capCpu ? capCpu / cpu : 1;
  const fm = mem > capMem ? capMem / mem : 1;
  for (const p of pools) {
    p.cpuCores *= fc;
    p.memoryBytes *= fm;
  }
  return { pools, capped: fc < 1 || fm < 1 };
}

/**
 * A DNS-1123 label from a pool name (lower case, [-a-z0-9], at most 40 characters). A name that had to be altered
 * (case, punctuation, length) ends in 8 hex digits of FNV-1a of the full name, so that two pools never share
 * placeholder names or a pool label (they would replace each other's pods every cycle); a name already in the form
 * is kept as is, so existing placeholders keep their names. Example: "Pool_A/../x" -> "pool-a-x-84322933".
 */
export function poolSlug(pool: string): string {
  const s = pool.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  if (s === pool && s.length > 0 && s.length <= 40) return s;
  const hash = fnv1a32(pool).toString(16).padStart(8, '0');
  const head = s.slice(0, 40 - hash.length - 1).replace(/-+$/, '');
  return head ? `${head}-${hash}` : `pool-${hash}`;
}

/**
 * How many placeholders hold a pool's reserve: as few as the per-pod maximum allows, or one more when the pool has
 * one more now (`current`) and the reserve is within `tolerance` of needing it. Without that hysteresis a reserve
 * that wanders across a multiple of the per-pod maximum (15.9 to 16.1 cores with 4-core pods) would resize every
 * placeholder of the pool at each crossing, both ways; with it, only a fall of `tolerance` below the multiple does.
 */
export function placeholderCount(p: PoolReserve, opts: ActuatorOptions, current = 0): number {
  const cpu = p.cpuCores / opts.maxPodCpuCores, mem = p.memoryBytes / opts.maxPodMemoryBytes;
  const n = Math.max(Math.ceil(cpu - 1e-9), Math.ceil(mem - 1e-9));
  const keepAbove = (current - 1) * (1 - opts.shadowTolerance);
  return current === n + 1 && n > 0 && Math.max(cpu, mem) > keepAbove ? current : n;
}

/**
 * Placeholder pods: each pool's reserve split evenly over `placeholderCount` pods. `current` gives the number of
 * placeholders each pool has now (the hysteresis of the count).
 */
export function placeholderSpecs(pools: readonly PoolReserve[], opts: ActuatorOptions, shard: Shard = UNSHARDED, current: ReadonlyMap<string, number> = new Map()): PlaceholderSpec[] {
  const out: PlaceholderSpec[] = [];
  const prefix = shard.total > 1 ? `foresight-shadow-s${shard.index}-` : 'foresight-shadow-';
  for (const p of pools) {
    const n = placeholderCount(p, opts, current.get(p.pool));
    for (let i = 0; i < n; i++) {
      out.push({ name: `${prefix}${poolSlug(p.pool)}-${i}`, pool: p.pool, cpu: formatCpu(p.cpuCores / n), memory: formatMemory(p.memoryBytes / n) });
    }
  }
  return out;
}

/**
 * On stale data the placeholders in place are kept as they are (never shrink); of the new ones only those that fit
 * beside them under this shard's share of the caps are added, so that stale cycles never push the total over.
 * `kept` and the result are specs; each pod may exceed its share by the one millicore or byte formatCpu and
 * formatMemory round up.
 */
export function addUnderCaps(added: readonly PlaceholderSpec[], kept: readonly PlaceholderSpec[], opts: ActuatorOptions, shard: Shard = UNSHARDED): PlaceholderSpec[] {
  const capCpu = opts.maxShadowCpuCores / shard.total, capMem = opts.maxShadowMemoryBytes / shard.total;
  const size = (s: PlaceholderSpec): [number, number] => [parseQuantity(s.cpu) || 0, parseQuantity(s.memory) || 0];
  let cpu = 0, mem = 0, pods = 0;
  for (const s of kept) {
    const [c, m] = size(s);
    cpu += c;
    mem += m;
    pods++;
  }
  const out: PlaceholderSpec[] = [];
  for (const s of added) {
    const [c, m] = size(s);
    if (cpu + c > capCpu + 1e-3 * (pods + 1) + 1e-9 || mem + m > capMem + pods + 1) continue;
    out.push(s);
    cpu += c;
    mem += m;
    pods++;
  }
  return out;
}

/** True when a placeholder's requests are within `tolerance` of the spec (no replacement needed). */
export function sameSize(requests: Record<string, string> | undefined, spec: PlaceholderSpec, tolerance: number): boolean {
  const near = (a: number, b: number): boolean => Math.abs(a - b) <= tolerance * Math.max(Math.abs(b), 1e-12);
  return near(parseQuantity(requests?.cpu ?? '0'), parseQuantity(spec.cpu)) && near(parseQuantity(requests?.memory ?? '0'), parseQuantity(spec.memory));
}
