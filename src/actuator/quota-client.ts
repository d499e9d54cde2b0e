// Foresight's ResourceQuota on the API server: read, create, patch and delete the one named quotaName in a namespace,
// and wait for the quota controller to report what a namespace uses of a quota just created.
import { FIELD_MANAGER } from './last-write.js';
import { type KubeApi, httpStatus, stopsCycle } from './kube-api.js';
import type { ResourceQuota } from './quota-sizing.js';
import { MANAGED_BY } from './shadow-plan.js';

/**
 * How long a quota just created is re-read for the quota controller's status.used (attempts, and the wait before
 * each): until then the creation was sized from the forecast alone, which can be below what the namespace's pods
 * already request, and the API server would refuse every new pod until the next cycle. The controller syncs a new
 * quota within a second or so; a slower one leaves the sizing to the next cycle, as before. The waits of one pass
 * share that time (attempts x delayMs in all): a controller that is slow or absent holds the pass up once, not once
 * per quota created.
 */
export const CREATED_SYNC = { attempts: 8, delayMs: 250 } as const;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class QuotaClient {
  /** Re-reads left in this pass (CREATED_SYNC). */
  #syncAttemptsLeft: number = CREATED_SYNC.attempts;

  constructor(
    private readonly api: KubeApi,
    readonly name: string,
    private readonly wait: (ms: number) => Promise<void> = sleep,
  ) {}

  /** A new pass: the waits for quotas created get their whole time again. */
  newPass(): void {
    this.#syncAttemptsLeft = CREATED_SYNC.attempts;
  }

  /** Our quota's name in `ns`, for journal entries. */
  target(ns: string): string {
    return `${ns}/${this.name}`;
  }

  async get(ns: string): Promise<ResourceQuota | undefined> {
    try {
      return await this.api.request<ResourceQuota>({ verb: 'get', resource: 'resourcequotas', namespace: ns, name: this.name }, this.#path(ns, this.name));
    } catch (err) {
      if (httpStatus(err) === 404) return undefined;
      throw err;
    }
  }

  async create(ns: string, hard: Record<string, string>): Promise<void> {
    await this.api.request({ verb: 'create', resource: 'resourcequotas', namespace: ns, name: this.name }, this.#path(ns), {
      method: 'POST',
      body: { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: this.name, labels: { [MANAGED_BY]: 'foresight' } }, spec: { hard } },
      query: { fieldManager: FIELD_MANAGER },
    });
  }

  /** Sets spec.hard of the quota as read (its resourceVersion: a 409 when it changed since). */
  async patch(ns: string, read: ResourceQuota, hard: Record<string, string>): Promise<void> {
    await this.api.request({ verb: 'patch', resource: 'resourcequotas', namespace: ns, name: this.name }, this.#path(ns, this.name), {
      method: 'PATCH',
      contentType: 'application/merge-patch+json',
      body: { metadata: { resourceVersion: read.metadata.resourceVersion }, spec: { hard } },
      query: { fieldManager: FIELD_MANAGER },
    });
  }

  /** Deletes the quota as read (uid and resourceVersion preconditions: not one put in its place since); false on 404. */
  async delete(ns: string, read: ResourceQuota): Promise<boolean> {
    try {
      await this.api.request({ verb: 'delete', resource: 'resourcequotas', namespace: ns, name: this.name }, this.#path(ns, this.name), {
        method: 'DELETE',
        body: { preconditions: { uid: read.metadata.uid, resourceVersion: read.metadata.resourceVersion } },
      });
      return true;
    } catch (err) {
      if (httpStatus(err) === 404) return false;
      throw err; // a 409 (changed meanwhile) is tried again at the next pass
    }
  }

  /**
   * Re-reads a quota just created until the quota controller has reported what the namespace uses of each of `keys`;
   * undefined when it has not within the pass's time left (CREATED_SYNC), or the quota is gone.
   */
  async awaitUsed(ns: string, keys: readonly string[]): Promise<ResourceQuota | undefined> {
    while (this.#syncAttemptsLeft > 0) {
      this.#syncAttemptsLeft--;
      await this.wait(CREATED_SYNC.delayMs);
      let q: ResourceQuota | undefined;
      try {
        q = await this.get(ns);
      } catch (err) {
        if (stopsCycle(err)) throw err;
        return undefined; // the next cycle sizes it
      }
      if (!q) return undefined;
      if (keys.every((k) => q.status?.used?.[k] !== undefined)) return q;
    }
    return undefined;
  }

  #path(ns: string, name?: string): string {
    return `/api/v1/namespaces/${ns}/resourcequotas${name ? `/${name}` : ''}`;
  }
}
