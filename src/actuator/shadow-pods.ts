// Shadow capacity as low-priority placeholder pods: reconciled idempotently (create, replace to resize, delete),
// touching only pods that carry Foresight's labels in the shadow namespace (and, when sharded, this shard's label).
import type { Snapshot } from '../model/snapshot.js';
import type { ActuatorOptions } from './config.js';
import type { ActionJournal } from './journal.js';
import { type KubeApi, httpStatus, isUnavailable } from './kube-api.js';
import type { ActuatorLog } from './log.js';
import type { ActuatorMetrics } from './metrics.js';
import { parseQuantity } from './quantity.js';
import { type Shard, UNSHARDED } from '../model/shard.js';
import { BANDWIDTH_ANNOTATIONS, MANAGED_BY, POOL, ROLE, placeholderSpecs, poolReserves, poolSlug, sameSize, shadowLabels, shadowSelector, shardManages, type PlaceholderSpec } from './shadow-plan.js';

interface Pod {
  metadata: { name: string; namespace?: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { containers?: { resources?: { requests?: Record<string, string> } }[] };
}

export interface ShadowCycleResult {
  desired: number;
  created: number;
  replaced: number;
  deleted: number;
  kept: number;
  held: number;
  failed: number;
  capped: boolean;
}

function owned(p: Pod): boolean {
  return p.metadata.labels?.[MANAGED_BY] === 'foresight' && p.metadata.labels?.[ROLE] === 'shadow';
}

export class ShadowPods {
  constructor(
    private readonly api: KubeApi,
    private readonly opts: ActuatorOptions,
    private readonly journal: ActionJournal,
    private readonly metrics: ActuatorMetrics,
    private readonly log: ActuatorLog,
    private readonly shard: Shard = UNSHARDED,
  ) {}

  private get podsPath(): string {
    return `/api/v1/namespaces/${this.opts.shadowNamespace}/pods`;
  }

  podManifest(s: PlaceholderSpec): object {
    const res = { cpu: s.cpu, memory: s.memory };
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: s.name,
        namespace: this.opts.shadowNamespace,
        labels: { ...shadowLabels(this.shard), [POOL]: poolSlug(s.pool) },
        annotations: {
          'foresight.io/pool-name': s.pool,
          'foresight.io/owner': this.opts.identity || 'foresight',
          ...(s.bandwidth ? Object.fromEntries(BANDWIDTH_ANNOTATIONS.map((a) => [a, s.bandwidth])) : {}),
        },
      },
      spec: {
        priorityClassName: this.opts.priorityClassName,
        terminationGracePeriodSeconds: 0,
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        ...(this.opts.poolLabel ? { nodeSelector: { [this.opts.poolLabel]: s.pool } } : {}),
        securityContext: { runAsNonRoot: true, runAsUser: 65535, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [
          {
            name: 'pause',
            image: this.opts.pauseImage,
            resources: { requests: res, limits: res },
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
          },
        ],
      },
    };
  }

  async list(): Promise<Pod[]> {
    const l = await this.api.request<{ items: Pod[] }>({ verb: 'list', resource: 'pods', namespace: this.opts.shadowNamespace }, this.podsPath, { query: { labelSelector: shadowSelector(this.shard) } });
    // the selector already filters; checked again so nothing foreign (or another shard's) is ever touched
    return (l.items ?? []).filter((p) => owned(p) && shardManages(p.metadata.labels, this.shard));
  }

  async reconcile(snapshot: Snapshot): Promise<ShadowCycleResult> {
    const { pools, capped } = poolReserves(snapshot.shadow, this.opts, this.shard);
    let specs = this.opts.shadowEnabled ? placeholderSpecs(pools, this.opts, this.shard) : [];
    const existing = new Map((await this.list()).map((p) => [p.metadata.name, p]));
    const res: ShadowCycleResult = { desired: specs.length, created: 0, replaced: 0, deleted: 0, kept: 0, held: 0, failed: 0, capped };
    const cycle = snapshot.cycle;
    const requests = (p: Pod): Record<string, string> => p.spec?.containers?.[0]?.resources?.requests ?? {};
    if (snapshot.stale) {
      // Never shrink on stale data: keep every existing placeholder as is, only add missing ones.
      specs = specs.filter((s) => !existing.has(s.name));
      for (const p of existing.values()) {
        res.held++;
        const bw = p.metadata.annotations?.[BANDWIDTH_ANNOTATIONS[0]];
        specs.push({ name: p.metadata.name, pool: p.metadata.annotations?.['foresight.io/pool-name'] ?? '', cpu: requests(p).cpu ?? '0', memory: requests(p).memory ?? '0', ...(bw ? { bandwidth: bw } : {}) });
      }
    }
    const want = new Set(specs.map((s) => s.name));
    const act = async (action: string, target: string, before: unknown, after: unknown, fn: () => Promise<void>): Promise<boolean> => {
      const entry = { cycle, kind: 'placeholder' as const, action, target: `${this.opts.shadowNamespace}/${target}`, dryRun: this.opts.dryRun, before, after };
      if (this.opts.dryRun) {
        this.journal.record({ ...entry, outcome: 'planned' });
        this.metrics.action('placeholder', 'planned');
        return true;
      }
      try {
        await fn();
        this.journal.record({ ...entry, outcome: 'applied' });
        this.metrics.action('placeholder', 'applied');
        return true;
      } catch (err) {
        if (isUnavailable(err)) throw err;
        res.failed++;
        this.journal.record({ ...entry, outcome: 'failed', reason: (err as Error).message });
        this.metrics.action('placeholder', 'failed');
        this.log.error({ err, pod: target }, 'placeholder change failed');
        return false;
      }
    };
    for (const s of specs) {
      const cur = existing.get(s.name);
      const size = { cpu: s.cpu, memory: s.memory };
      if (cur && sameSize(requests(cur), s, this.opts.shadowTolerance, cur.metadata.annotations)) {
        res.kept++;
        continue;
      }
      if (cur) {
        // Pod resources are immutable: replace (delete then create under the same name).
        if (await act('replace', s.name, requests(cur), size, async () => {
          await this.delete(s.name, cur.metadata.uid);
          await this.create(s);
        })) res.replaced++;
      } else if (await act('create', s.name, null, size, () => this.create(s))) res.created++;
    }
    for (const [name, p] of existing) {
      if (want.has(name)) continue;
      if (await act('delete', name, requests(p), null, () => this.delete(name, p.metadata.uid))) res.deleted++;
    }
    this.exportMetrics(pools, specs, existing);
    return res;
  }

  private exportMetrics(pools: { pool: string; cpuCores: number; memoryBytes: number }[], specs: PlaceholderSpec[], existing: Map<string, Pod>): void {
    for (const p of pools) {
      this.metrics.shadow(p.pool, 'cpu', 'desired', p.cpuCores);
      this.metrics.shadow(p.pool, 'memory', 'desired', p.memoryBytes);
    }
    if (this.opts.dryRun) return; // in dry-run nothing is reserved by us
    const reserved = new Map<string, { cpu: number; memory: number }>();
    for (const s of specs) {
      const r = reserved.get(s.pool) ?? { cpu: 0, memory: 0 };
      r.cpu += parseQuantity(s.cpu);
      r.memory += parseQuantity(s.memory);
      reserved.set(s.pool, r);
    }
    for (const p of existing.values()) {
      const pool = p.metadata.annotations?.['foresight.io/pool-name'] ?? '';
      if (!reserved.has(pool)) reserved.set(pool, { cpu: 0, memory: 0 });
    }
    for (const [pool, r] of reserved) {
      this.metrics.shadow(pool, 'cpu', 'reserved', r.cpu);
      this.metrics.shadow(pool, 'memory', 'reserved', r.memory);
    }
  }

  private async create(s: PlaceholderSpec): Promise<void> {
    try {
      await this.api.request({ verb: 'create', resource: 'pods', namespace: this.opts.shadowNamespace, name: s.name }, this.podsPath, { method: 'POST', body: this.podManifest(s), query: { fieldManager: 'foresight' } });
    } catch (err) {
      if (httpStatus(err) !== 409) throw err;
      // Already there (a previous cycle's write whose answer was lost, or a concurrent replica): converge next cycle.
      this.log.info({ pod: s.name }, 'placeholder already exists (409); left for the next cycle');
    }
  }

  /** Deletes exactly the pod that was listed (uid precondition): a same-named pod created since is never hit. */
  private async delete(name: string, uid: string | undefined): Promise<void> {
    try {
      await this.api.request({ verb: 'delete', resource: 'pods', namespace: this.opts.shadowNamespace, name }, `${this.podsPath}/${name}`, {
        method: 'DELETE',
        body: { gracePeriodSeconds: 0, ...(uid ? { preconditions: { uid } } : {}) },
      });
    } catch (err) {
      if (httpStatus(err) !== 404 && httpStatus(err) !== 409) throw err;
    }
  }
}
