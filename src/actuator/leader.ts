// Leader election on a coordination.k8s.io/v1 Lease: only the holder writes; the others keep forecasting and serving.
import { type KubeApi, httpStatus } from './kube-api.js';

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
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

export class LeaderElector {
  private leader = false;

  constructor(
    private readonly api: KubeApi,
    private readonly namespace: string,
    private readonly name: string,
    readonly identity: string,
    private readonly durationS: number,
    private readonly nowMs: () => number = Date.now,
  ) {}

  get isLeader(): boolean {
    return this.leader;
  }

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.namespace}/leases`;
  }

  /** Acquires or renews the Lease; returns whether this replica leads. Errors (other than races) propagate. */
  async tryAcquireOrRenew(): Promise<boolean> {
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
        metadata: { name: this.name, namespace: this.namespace },
        spec: { holderIdentity: this.identity, leaseDurationSeconds: this.durationS, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
      };
      try {
        await this.api.request({ ...op, verb: 'create' }, this.path, { method: 'POST', body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', ...body } });
        return (this.leader = true);
      } catch (e) {
        if (httpStatus(e) === 409) return (this.leader = false);
        this.leader = false;
        throw e;
      }
    }
    const s = lease.spec;
    const renewedMs = s.renewTime ? Date.parse(s.renewTime) : 0;
    const expired = renewedMs + (s.leaseDurationSeconds ?? this.durationS) * 1000 < now;
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
      await this.api.request({ ...op, verb: 'update' }, `${this.path}/${this.name}`, { method: 'PUT', body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: lease.metadata, spec } });
      return (this.leader = true);
    } catch (e) {
      if (httpStatus(e) === 409) return (this.leader = false);
      this.leader = false;
      throw e;
    }
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
