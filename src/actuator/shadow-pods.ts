// Shadow capacity as low-priority placeholder pods: reconciled idempotently (create, replace to resize, delete),
// touching only pods that carry Foresight's labels in the shadow namespace (and, when sharded, this shard's label).
import type { Snapshot } from '../model/snapshot.js';
import { type ActuatorOptions, nodeSelector } from './config.js';
import type { ActionJournal, ActionOutcome } from './journal.js';
import { type KubeApi, httpStatus, stopsCycle } from './kube-api.js';
import type { ActuatorLog } from './log.js';
import type { ActuatorMetrics, ReservedShadow } from './metrics.js';
import { parseQuantity } from './quantity.js';
import { type Shard, UNSHARDED } from '../model/shard.js';
import { MANAGED_BY, POOL, ROLE, SHARD, addUnderCaps, placeholderSpecs, poolReserves, poolSlug, sameSize, shadowLabels, shadowSelector, shardManages, type PlaceholderSpec } from './shadow-plan.js';

interface Pod {
  metadata: { name: string; namespace?: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: {
    nodeName?: string;
    priorityClassName?: string;
    nodeSelector?: Record<string, string>;
    containers?: { image?: string; resources?: { requests?: Record<string, string> } }[];
  };
  status?: { phase?: string };
}

const POOL_NAME = 'foresight.io/pool-name';

export interface ShadowCycleResult {
  desired: number;
  created: number;
  replaced: number;
  deleted: number;
  kept: number;
  held: number;
  /** Creates answered 409: a pod of that name was already there (converged on the next cycle). */
  existed: number;
  failed: number;
  capped: boolean;
}

/**
 * Whether a placeholder's container has ended (phase Failed or Succeeded: evicted by the kubelet under node pressure,
 * stopped by a node shutdown). Such a pod stays in the API, bound to its node, but holds nothing there: it is
 * replaced, and never counted as reserved.
 */
export function finished(p: Pod): boolean {
  return p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded';
}

/** Whether a placeholder holds capacity on a node: bound by the scheduler (spec.nodeName) or running, not finished. */
export function scheduled(p: Pod): boolean {
  return !finished(p) && (!!p.spec?.nodeName || p.status?.phase === 'Running');
}

/**
 * foresight_shadow_capacity{state="reserved"}: per pool, the requests of the placeholders that exist after the
 * reconcile and are scheduled. Every pool with a desired placeholder or a live one gets a series (0 when none is
 * scheduled, so that a failed create shows against the desired reserve); others have none.
 */
export function reservedByPool(desiredPools: Iterable<string>, live: Iterable<Pod>): ReservedShadow[] {
  const by = new Map<string, { cpu: number; memory: number }>();
  for (const pool of desiredPools) by.set(pool, { cpu: 0, memory: 0 });
  for (const p of live) {
    const pool = p.metadata.annotations?.[POOL_NAME] ?? '';
    const r = by.get(pool) ?? { cpu: 0, memory: 0 };
    by.set(pool, r);
    if (!scheduled(p)) continue;
    const req = p.spec?.containers?.[0]?.resources?.requests ?? {};
    r.cpu += parseQuantity(req.cpu ?? '0') || 0;
    r.memory += parseQuantity(req.memory ?? '0') || 0;
  }
  return [...by].flatMap(([pool, r]) => [
    { pool, resource: 'cpu', value: r.cpu },
    { pool, resource: 'memory', value: r.memory },
  ]);
}

function owned(p: Pod): boolean {
  return p.metadata.labels?.[MANAGED_BY] === 'foresight' && p.metadata.labels?.[ROLE] === 'shadow';
}

export class ShadowPods {
  private warnedDryRunLeft = false;
  /** The placeholders' nodeSelector, read once from the options (validated at start-up). */
  private readonly selector: Record<string, string>;

  constructor(
    private readonly api: KubeApi,
    private readonly opts: ActuatorOptions,
    private readonly journal: ActionJournal,
    private readonly metrics: ActuatorMetrics,
    private readonly log: ActuatorLog,
    private readonly shard: Shard = UNSHARDED,
  ) {
    this.selector = nodeSelector(opts.shadowNodeSelector);
  }

  private get podsPath(): string {
    return `/api/v1/namespaces/${this.opts.shadowNamespace}/pods`;
  }

  /** Whether a listed placeholder was made from the pod template the options give now (PriorityClass, image, node
   *  selector): one made under other options is replaced, as a resize is. */
  private sameTemplate(p: Pod): boolean {
    const sel = this.selector, has = p.spec?.nodeSelector ?? {};
    return (
      p.spec?.priorityClassName === this.opts.priorityClassName &&
      p.spec?.containers?.[0]?.image === this.opts.pauseImage &&
      Object.keys(has).length === Object.keys(sel).length &&
      Object.entries(sel).every(([k, v]) => has[k] === v)
    );
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
          [POOL_NAME]: s.pool,
          'foresight.io/owner': this.opts.identity || 'foresight',
          // without it cluster-autoscaler never removes a node running a pod that has no controller, as placeholders do
          'cluster-autoscaler.kubernetes.io/safe-to-evict': 'true',
        },
      },
      spec: {
        priorityClassName: this.opts.priorityClassName,
        terminationGracePeriodSeconds: 0,
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        ...(Object.keys(this.selector).length ? { nodeSelector: this.selector } : {}),
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

  /** The placeholders this shard manages; `live`: shard labels of shards live under another count (never taken). */
  async list(live: ReadonlySet<string> = new Set()): Promise<Pod[]> {
    const l = await this.api.request<{ items: Pod[] }>({ verb: 'list', resource: 'pods', namespace: this.opts.shadowNamespace }, this.podsPath, { query: { labelSelector: shadowSelector(this.shard) } });
    // the selector already filters; checked again so nothing foreign (or another shard's) is ever touched
    return (l.items ?? []).filter((p) => owned(p) && shardManages(p.metadata.labels, this.shard, live));
  }

  /** `liveShards`: the shard labels the fence found live under another shard count (FenceVerdict.protectedShards). */
  async reconcile(snapshot: Snapshot, liveShards: ReadonlySet<string> = new Set()): Promise<ShadowCycleResult> {
    const { pools, capped } = poolReserves(snapshot.shadow, this.opts, this.shard);
    const existing = new Map((await this.list(liveShards)).map((p) => [p.metadata.name, p]));
    // each pool's own placeholders now (not the orphans shard 0 also lists), for the hysteresis of the count
    const counts = new Map<string, number>();
    const own = this.shard.total > 1 ? String(this.shard.index) : undefined;
    for (const p of existing.values()) {
      if (p.metadata.labels?.[SHARD] !== own) continue;
      const pool = p.metadata.annotations?.[POOL_NAME] ?? '';
      counts.set(pool, (counts.get(pool) ?? 0) + 1);
    }
    let specs = this.opts.shadowEnabled ? placeholderSpecs(pools, this.opts, this.shard, counts) : [];
    const res: ShadowCycleResult = { desired: specs.length, created: 0, replaced: 0, deleted: 0, kept: 0, held: 0, existed: 0, failed: 0, capped };
    const cycle = snapshot.cycle;
    const requests = (p: Pod): Record<string, string> => p.spec?.containers?.[0]?.resources?.requests ?? {};
    if (snapshot.stale || (snapshot.pendingFit ?? 0) > 0) {
      // Never shrink on stale data, nor while a first fit is spread over several cycles (the plan then covers only
      // the tenants fitted so far): keep every existing placeholder at its size, and add only the missing ones that
      // fit beside them under the caps (such a cycle must not stack a new split on top of the old one).
      const kept = [...existing.values()].map((p): PlaceholderSpec => ({ name: p.metadata.name, pool: p.metadata.annotations?.[POOL_NAME] ?? '', cpu: requests(p).cpu ?? '0', memory: requests(p).memory ?? '0' }));
      res.held = kept.length;
      specs = [...addUnderCaps(specs.filter((s) => !existing.has(s.name)), kept, this.opts, this.shard), ...kept];
    }
    const want = new Set(specs.map((s) => s.name));
    // the placeholders that exist once this reconcile is done, for the reserved capacity
    const live = new Map(existing);
    const act = async (action: string, target: string, before: unknown, after: unknown, fn: () => Promise<ActionOutcome | void>): Promise<ActionOutcome> => {
      const entry = { cycle, kind: 'placeholder' as const, action, target: `${this.opts.shadowNamespace}/${target}`, dryRun: this.opts.dryRun, before, after };
      if (this.opts.dryRun) {
        this.journal.record({ ...entry, outcome: 'planned' });
        this.metrics.action('placeholder', 'planned');
        return 'planned';
      }
      try {
        const outcome = (await fn()) || 'applied';
        this.journal.record({ ...entry, outcome, ...(outcome === 'exists' ? { reason: 'a pod of that name already exists (409); converged on the next cycle' } : {}) });
        this.metrics.action('placeholder', outcome);
        if (outcome === 'exists') res.existed++;
        return outcome;
      } catch (err) {
        if (stopsCycle(err)) throw err;
        res.failed++;
        this.journal.record({ ...entry, outcome: 'failed', reason: (err as Error).message });
        this.metrics.action('placeholder', 'failed');
        this.log.error({ err, pod: target }, 'placeholder change failed');
        return 'failed';
      }
    };
    const done = (o: ActionOutcome): boolean => o === 'applied' || o === 'planned';
    // Deletes first: the room they free is what the creates below may need, and a shrinking pool never has more
    // placeholders than its plan, even for a moment (which could make a cluster autoscaler add a node).
    for (const [name, p] of existing) {
      if (want.has(name)) continue;
      if (done(await act('delete', name, requests(p), null, async () => {
        await this.delete(name, p.metadata.uid);
        live.delete(name);
      }))) res.deleted++;
    }
    for (const s of specs) {
      const cur = existing.get(s.name);
      const size = { cpu: s.cpu, memory: s.memory };
      if (cur && !finished(cur) && sameSize(requests(cur), s, this.opts.shadowTolerance) && this.sameTemplate(cur)) {
        res.kept++;
        continue;
      }
      if (cur) {
        // Pod specs are immutable: replace (delete then create under the same name) to resize, to apply new options,
        // or to bring back a placeholder that ended (evicted, its node shut down).
        if (done(await act('replace', s.name, requests(cur), size, async () => {
          await this.delete(s.name, cur.metadata.uid);
          live.delete(s.name);
          return this.create(s, live);
        }))) res.replaced++;
      } else if (done(await act('create', s.name, null, size, () => this.create(s, live)))) res.created++;
    }
    for (const p of pools) {
      this.metrics.shadow(p.pool, 'cpu', 'desired', p.cpuCores);
      this.metrics.shadow(p.pool, 'memory', 'desired', p.memoryBytes);
    }
    // What the placeholders are sized to hold (capped, quota headroom included), for ForesightShadowCapacityExhausted to
    // compare with state="reserved"; in dry-run too (what would be held), and nothing with shadow capacity off.
    this.metrics.targetShadow(this.opts.shadowEnabled ? pools.flatMap((p) => [{ pool: p.pool, resource: 'cpu', value: p.cpuCores }, { pool: p.pool, resource: 'memory', value: p.memoryBytes }]) : []);
    // What the placeholders that exist and are scheduled hold, and stale pools cleared. In dry-run nothing is created,
    // so only the pools where a live run left placeholders get a series (what those still hold; said once per run of
    // such cycles): a 0 for every planned pool would fire ForesightShadowCapacityExhausted against the target.
    if (this.opts.dryRun && existing.size > 0 && !this.warnedDryRunLeft) {
      this.log.warn({ placeholders: existing.size, namespace: this.opts.shadowNamespace }, 'dry-run, but placeholders of a live run are still in place and hold their room; they are left as they are until dry-run is off (or delete them by their labels)');
    }
    this.warnedDryRunLeft = this.opts.dryRun && existing.size > 0;
    this.metrics.reservedShadow(this.opts.dryRun ? reservedByPool([], existing.values()) : reservedByPool(specs.map((s) => s.pool), live.values()));
    return res;
  }

  /** Creates a placeholder and records it in `live`; 'exists' when a pod of that name was already there (409). */
  private async create(s: PlaceholderSpec, live: Map<string, Pod>): Promise<ActionOutcome> {
    const manifest = this.podManifest(s) as Pod;
    try {
      const made = await this.api.request<Pod | undefined>({ verb: 'create', resource: 'pods', namespace: this.opts.shadowNamespace, name: s.name }, this.podsPath, { method: 'POST', body: manifest, query: { fieldManager: 'foresight' } });
      live.set(s.name, made?.metadata?.name ? made : manifest);
      return 'applied';
    } catch (err) {
      if (httpStatus(err) !== 409) throw err;
      // Already there (a previous cycle's write whose answer was lost, a concurrent replica, or a same-named pod):
      // nothing was created; the next cycle lists it and converges.
      this.log.info({ pod: s.name }, 'placeholder already exists (409); left for the next cycle');
      return 'exists';
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
