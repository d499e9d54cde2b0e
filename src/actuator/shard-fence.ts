// The fence between shard counts: a leader writes only while no live Lease of its installation records another count,
// so that a rolling update from N to M shards never has replicas of both counts writing VPAs and placeholders at once.
import { fnv1a32, type Shard } from '../model/shard.js';
import type { KubeApi } from './kube-api.js';
import { MANAGED_BY, SHARD } from './shadow-plan.js';

/** Lease label naming its installation: the configured Lease name the shard Leases are named from. */
export const LEASE_GROUP = 'foresight.io/lease-group';
/** Lease annotation: the shard count its holder runs with (its shard index is under `foresight.io/shard`). */
export const LEASE_SHARDS = 'foresight.io/shards';
/** Lease annotation: the holder that stamped the count. A replica of a version before the fence renews the Lease with
 *  the annotations it found, so a stamp is read only while its holder still holds the Lease. */
export const LEASE_STAMPED_BY = 'foresight.io/shards-holder';

export interface LeaseObject {
  metadata: { name: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { holderIdentity?: string; leaseDurationSeconds?: number; renewTime?: string };
}

/** What a leader writes on its Lease's metadata at every acquire and renew. */
export interface LeaseStamp {
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** A label value for the installation: the Lease name, or (past the 63 characters a label value allows) its head and
 *  8 hex digits of its FNV-1a, so that two long names never share a group. */
export function leaseGroup(leaseName: string): string {
  if (leaseName.length <= 63) return leaseName;
  return `${leaseName.slice(0, 54)}-${fnv1a32(leaseName).toString(16).padStart(8, '0')}`;
}

export function leaseStamp(leaseName: string, shard: Shard, holder: string): LeaseStamp {
  return {
    labels: { [MANAGED_BY]: 'foresight', [LEASE_GROUP]: leaseGroup(leaseName) },
    annotations: { [LEASE_SHARDS]: String(shard.total), [SHARD]: String(shard.index), [LEASE_STAMPED_BY]: holder },
  };
}

/** A Lease's holder and the shard it records; undefined when it records none (written by a version before the fence,
 *  or by hand) or the record is an earlier holder's: such a Lease cannot be judged and is left out. */
export interface LeaseRecord {
  name: string;
  holder: string;
  index: number;
  total: number;
}

export function leaseRecord(l: LeaseObject): LeaseRecord | undefined {
  const a = l.metadata.annotations ?? {};
  const int = (v: string | undefined): number => (v !== undefined && /^[0-9]{1,4}$/.test(v) ? Number(v) : NaN);
  const total = int(a[LEASE_SHARDS]), index = int(a[SHARD]);
  if (!(total >= 1) || !(index >= 0 && index < total)) return undefined;
  // a stamp left by an earlier holder (the holder now runs a version before the fence) says nothing of this one
  if (a[LEASE_STAMPED_BY] !== (l.spec.holderIdentity ?? '')) return undefined;
  return { name: l.metadata.name, holder: l.spec.holderIdentity ?? '', index, total };
}

export interface FenceVerdict {
  /** Whether this replica's count may write. */
  act: boolean;
  /** Live Leases of the installation that record another shard count (empty: nothing to fence). */
  others: LeaseRecord[];
  /** The live Lease whose count writes while counts are mixed (this replica's own Lease when `act`). */
  decider?: LeaseRecord;
  /** Placeholder shard labels ('' for none: an unsharded replica's) of shards live under another count: an orphan
   *  sweep must leave their placeholders alone. */
  protectedShards: ReadonlySet<string>;
}

/**
 * While live Leases record two counts, the count of the lowest shard index writes and the other holds off; at a tie
 * (index 0 only: the unsharded Lease and shard 0's have different names) the larger count writes. Every replica that
 * sees the same live Leases comes to the same answer, and exactly one count writes, so the two sides never both hold.
 * A StatefulSet's rolling update replaces ordinal 0 last, in either direction, so the old count keeps writing until
 * the new shard 0 takes shard 0's Lease; then the new count writes alone. `live` are the other Leases of the
 * installation that are live on this replica's clock; this replica's own Lease is `own` and `ownName`.
 */
export function judgeFence(own: Shard, ownName: string, live: readonly LeaseRecord[]): FenceVerdict {
  const peers = live.filter((l) => l.name !== ownName);
  const others = peers.filter((l) => l.total !== own.total);
  const self: LeaseRecord = { name: ownName, holder: '', index: own.index, total: own.total };
  if (others.length === 0) return { act: true, others, decider: self, protectedShards: new Set() };
  const decider = [self, ...peers].sort((a, b) => a.index - b.index || b.total - a.total)[0];
  return {
    act: decider.total === own.total,
    others,
    decider: decider.total === own.total ? self : decider,
    protectedShards: new Set(others.map((l) => (l.total > 1 ? String(l.index) : ''))),
  };
}

/**
 * Lists the installation's Leases and judges them. Liveness is judged as LeaderElector judges expiry, on this
 * replica's clock (client-go's rule): a Lease is live while it has a holder and its record (resourceVersion) changed
 * within its leaseDurationSeconds of when this replica last saw it change; another replica's renewTime is never
 * compared with our clock. A Lease first seen counts as just changed: a replica that starts treats a Lease left behind
 * by a replica of another count (gone without releasing it) as live for one Lease duration, as the elector does.
 */
export class ShardFence {
  private readonly seen = new Map<string, { version: string; atMs: number }>();
  private readonly selector: string;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly api: KubeApi,
    private readonly namespace: string,
    leaseName: string,
    private readonly ownName: string,
    private readonly shard: Shard,
    private readonly defaultDurationS: number,
    private readonly nowMs: () => number,
  ) {
    this.selector = `${MANAGED_BY}=foresight,${LEASE_GROUP}=${leaseGroup(leaseName)}`;
  }

  /**
   * The verdict for a cycle about to write, or for the renew timer between a cycle's writes. Errors propagate: a
   * leader that cannot tell does not write. Calls are serialised, as the elector's: the timer's check and a cycle's
   * never interleave their bookkeeping of when each Lease changed, and a verdict asked for later is taken later.
   */
  check(): Promise<FenceVerdict> {
    const run = this.chain.then(() => this.judge());
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async judge(): Promise<FenceVerdict> {
    const now = this.nowMs();
    const path = `/apis/coordination.k8s.io/v1/namespaces/${this.namespace}/leases`;
    const l = await this.api.request<{ items?: LeaseObject[] }>({ verb: 'list', resource: 'leases', namespace: this.namespace }, path, { query: { labelSelector: this.selector } });
    const items = l.items ?? [];
    const live: LeaseRecord[] = [];
    for (const lease of items) {
      const s = lease.spec;
      const version = lease.metadata.resourceVersion ?? `${s.holderIdentity ?? ''}@${s.renewTime ?? ''}`;
      const prev = this.seen.get(lease.metadata.name);
      if (prev?.version !== version) this.seen.set(lease.metadata.name, { version, atMs: now });
      const atMs = this.seen.get(lease.metadata.name)!.atMs;
      const expired = now - atMs > (s.leaseDurationSeconds ?? this.defaultDurationS) * 1000;
      const rec = leaseRecord(lease);
      if (rec && rec.holder && !expired) live.push(rec);
    }
    // a Lease deleted since is forgotten, so that one created again under that name counts as just changed
    const names = new Set(items.map((x) => x.metadata.name));
    for (const name of this.seen.keys()) if (!names.has(name)) this.seen.delete(name);
    return judgeFence(this.shard, this.ownName, live);
  }
}
