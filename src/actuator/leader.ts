// Leader election on a coordination.k8s.io/v1 Lease: only the holder writes; the others keep forecasting and serving.
import { type KubeApi, httpStatus } from './kube-api.js';
import type { LeaseStamp } from './shard-fence.js';

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** MicroTime as the API wants it: RFC 3339 with microseconds. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** A write is allowed this long after the last successful renew, as a share of the Lease duration (client-go's
 *  renewDeadline: 10 s of 15 s), so that a replica stops writing before another may take an expired Lease. */
export const RENEW_DEADLINE_SHARE = 2 / 3;

/**
 * Leases are judged on this replica's own clock, as client-go does: another holder's Lease is expired when its record
 * (resourceVersion) has not changed for leaseDurationSeconds since this replica last saw it change; the holder's
 * renewTime, written from its clock, is never compared with ours (a replica whose clock is ahead would take a live
 * Lease). Calls are serialised: a renew timer and a cycle never race each other into a 409.
 */
export class LeaderElector {
  private leader = false;
  /** The Lease record last seen and when it was first seen, on our clock. */
  private observed: { version: string; atMs: number } | undefined;
  /** When our last acquire or renew succeeded, on our clock. */
  private renewedAtMs = -Infinity;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly api: KubeApi,
    private readonly namespace: string,
    private readonly name: string,
    readonly identity: string,
    private readonly durationS: number,
    private readonly nowMs: () => number = Date.now,
    /** Labels and annotations written at every acquire and renew: the shard count the holder runs with, which the
     *  other leaders of the installation read (src/actuator/shard-fence.ts). */
    private readonly stamp: LeaseStamp = { labels: {}, annotations: {} },
  ) {}

  get isLeader(): boolean {
    return this.leader;
  }

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.namespace}/leases`;
  }

  /** Whether this replica may write now: it leads, and its last renew is within the renew deadline. */
  holds(): boolean {
    return this.leader && this.nowMs() - this.renewedAtMs < this.durationS * 1000 * RENEW_DEADLINE_SHARE;
  }

  /** Acquires or renews the Lease; returns whether this replica leads. Errors (other than races) propagate. */
  tryAcquireOrRenew(): Promise<boolean> {
    const run = this.chain.then(() => this.attempt());
    this.chain = run.catch(() => undefined);
    return run;
  }

  private won(now: number): boolean {
    this.renewedAtMs = now;
    return (this.leader = true);
  }

  private async attempt(): Promise<boolean> {
    const now = this.nowMs();
    const op = { verb: 'get', resource: 'leases', namespace: this.namespace, name: this.name };
    let lease: Lease;
    try {
      lease = await this.api.request<Lease>(op, `${this.path}/${this.name}`);
    } catch (err) {
      if (httpStatus(err) !== 404) {
        this.leader = false;
        throw err;
      }
      const body: Lease = {
        metadata: { name: this.name, namespace: this.namespace, labels: this.stamp.labels, annotations: this.stamp.annotations },
        spec: { holderIdentity: this.identity, leaseDurationSeconds: this.durationS, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
      };
      try {
        await this.api.request({ ...op, verb: 'create' }, this.path, { method: 'POST', body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...body } });
        return this.won(now);
      } catch (e) {
        if (httpStatus(e) === 409) return (this.leader = false);
        this.leader = false;
        throw e;
      }
    }
    const s = lease.spec;
    const version = lease.metadata.resourceVersion ?? `${s.holderIdentity ?? ''}@${s.renewTime ?? ''}`;
    if (this.observed?.version !== version) this.observed = { version, atMs: now };
    const expired = now - this.observed.atMs > (s.leaseDurationSeconds ?? this.durationS) * 1000;
    const mine = s.holderIdentity === this.identity;
    if (!mine && !expired && s.holderIdentity) return (this.leader = false);
    const spec = {
      ...s,
      holderIdentity: this.identity,
      leaseDurationSeconds: this.durationS,
      renewTime: microTime(now),
      ...(mine ? {} : { acquireTime: microTime(now), leaseTransitions: (s.leaseTransitions ?? 0) + 1 }),
    };
    try {
      await this.api.request({ ...op, verb: 'update' }, `${this.path}/${this.name}`, { method: 'PUT', body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: this.stamped(lease.metadata), spec } });
      return this.won(now);
    } catch (e) {
      if (httpStatus(e) === 409) return (this.leader = false);
      this.leader = false;
      throw e;
    }
  }

  /** The Lease's metadata with our stamp over the previous holder's: shard i's Lease has the same name under every
   *  count, so after a change of the count the new holder's count replaces the old one's. */
  private stamped(m: Lease['metadata']): Lease['metadata'] {
    return { ...m, labels: { ...m.labels, ...this.stamp.labels }, annotations: { ...m.annotations, ...this.stamp.annotations } };
  }

  /** Gives the Lease up (on shutdown) so another replica takes over at once. */
  async release(): Promise<void> {
    if (!this.leader) return;
    this.leader = false;
    try {
      const lease = await this.api.request<Lease>({ verb: 'get', resource: 'leases', namespace: this.namespace, name: this.name }, `${this.path}/${this.name}`);
      if (lease.spec.holderIdentity !== this.identity) return;
      await this.api.request({ verb: 'update', resource: 'leases', namespace: this.namespace, name: this.name }, `${this.path}/${this.name}`, {
        method: 'PUT',
        body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: lease.metadata, spec: { ...lease.spec, holderIdentity: '', renewTime: microTime(0) } },
      });
    } catch {
      // best effort: the Lease expires on its own
    }
  }
}
