// Namespace quotas ahead of demand (issue 7): in namespaces that opt in, Foresight manages one ResourceQuota of its
// own (named and labelled as Foresight's), sized from the forecast of the tenant's total over the horizon. Raised
// before the peak, lowered only through the reclamation rule, never below status.used, never on stale data. A quota it
// creates is sized against status.used as soon as the quota controller reports it, in the same cycle. In a namespace
// that no longer opts in, Foresight deletes its own quota. After a restart or a change of leader each limit's cooldown
// and change budget start from our last write of the quota.
import { ownsTenant, type Shard, UNSHARDED } from '../model/shard.js';
import type { Snapshot } from '../model/snapshot.js';
import type { ActuatorOptions } from './config.js';
import type { ActionJournal } from './journal.js';
import { TermSeeds } from './last-write.js';
import { type KubeApi, httpStatus, stopsCycle } from './kube-api.js';
import type { ActuatorLog } from './log.js';
import type { ActuatorMetrics } from './metrics.js';
import { parseQuantity } from './quantity.js';
import { QuotaClient } from './quota-client.js';
import { desiredQuota, expectedHeadroom, formatHard, withRoom, type QuotaKey, type QuotaWant, type ResourceQuota } from './quota-sizing.js';
import { heldAsAnomalous, type SafetyGate } from './safety.js';
import { MANAGED_BY } from './shadow-plan.js';

export interface QuotaCycleResult {
  /** Sum over managed quotas of requests hard minus used (what admitted pods may still claim), cores and bytes. */
  headroom: { cpu: number; memory: number };
  namespaces: number;
  created: number;
  patched: number;
  /** Foresight's quotas deleted (or, in dry-run, planned for deletion) in namespaces that no longer opt in. */
  deleted: number;
  planned: number;
  unchanged: number;
  skipped: number;
  failed: number;
}

export class QuotaManager {
  private readonly quotas: QuotaClient;
  /** Dry-run stand-in for the server's spec.hard. */
  private readonly planned = new Map<string, Record<string, string>>();
  /** Namespaces whose quota's limits were seeded from the server in this term (as VpaRecommender.newTerm). */
  private readonly seeds = new TermSeeds();
  /** Quotas and limits seeded in the current pass. */
  private seededNow = { quotas: 0, limits: 0 };
  /** Namespaces that opted in at the last pass: one that no longer does may hold a quota of ours to delete. */
  private managed = new Set<string>();
  /** Set at the start of a term: the next pass looks for quotas of ours in every namespace in scope (one GET each),
   *  for namespaces that opted out while no replica of this term watched them (a restart, another leader). */
  private sweep = true;
  /** Dry-run: namespaces whose deletion was journalled as planned (said once, not every cycle). */
  private readonly deletePlanned = new Set<string>();

  constructor(
    private readonly api: KubeApi,
    private readonly opts: ActuatorOptions,
    private readonly gate: SafetyGate,
    private readonly journal: ActionJournal,
    private readonly metrics: ActuatorMetrics,
    private readonly log: ActuatorLog,
    private readonly shard: Shard = UNSHARDED,
    wait?: (ms: number) => Promise<void>,
  ) {
    this.quotas = new QuotaClient(api, opts.quotaName, wait);
  }

  /** Namespaces that opted in (within the configured ones) and that this shard owns (a namespace is its tenant). */
  async optedIn(): Promise<string[]> {
    const l = await this.api.request<{ items: { metadata: { name: string } }[] }>({ verb: 'list', resource: 'namespaces' }, '/api/v1/namespaces', {
      query: { labelSelector: `${this.opts.quotaOptInLabel}=true` },
    });
    const names = l.items.map((n) => n.metadata.name).filter((n) => ownsTenant(this.shard, n));
    return this.opts.namespaces.length ? names.filter((n) => this.opts.namespaces.includes(n)) : names;
  }

  /** Every namespace this shard would manage a quota in if it opted in: the configured ones, else all (listed). */
  private async inScope(): Promise<string[]> {
    if (this.opts.namespaces.length) return this.opts.namespaces.filter((n) => ownsTenant(this.shard, n));
    const l = await this.api.request<{ items: { metadata: { name: string } }[] }>({ verb: 'list', resource: 'namespaces' }, '/api/v1/namespaces');
    return l.items.map((n) => n.metadata.name).filter((n) => ownsTenant(this.shard, n));
  }

  /** A new term as leader: each quota's limits are seeded again from the server at their next pass. */
  newTerm(): void {
    this.seeds.newTerm();
    this.sweep = true;
  }

  async reconcile(snapshot: Snapshot): Promise<QuotaCycleResult> {
    const res: QuotaCycleResult = { headroom: { cpu: 0, memory: 0 }, namespaces: 0, created: 0, patched: 0, deleted: 0, planned: 0, unchanged: 0, skipped: 0, failed: 0 };
    if (!this.opts.quotaEnabled) return res;
    const namespaces = await this.optedIn();
    res.namespaces = namespaces.length;
    await this.releaseOptedOut(namespaces, snapshot, res);
    this.seededNow = { quotas: 0, limits: 0 };
    this.quotas.newPass();
    for (const ns of namespaces) {
      try {
        res[await this.reconcileOne(ns, snapshot, res.headroom)]++;
      } catch (err) {
        if (stopsCycle(err)) throw err;
        res.failed++;
        this.metrics.action('quota', 'failed');
        this.journal.record({ cycle: snapshot.cycle, kind: 'quota', action: 'set-hard', target: this.quotas.target(ns), dryRun: this.opts.dryRun, outcome: 'failed', reason: (err as Error).message });
        this.log.error({ err, tenant: ns }, 'cannot manage the namespace quota');
      }
    }
    if (this.seeds.say(this.seededNow.limits)) {
      this.log.info({ namespaces: namespaces.length, seededQuotas: this.seededNow.quotas, limits: this.seededNow.limits }, 'change budget and cooldown of namespace quota limits seeded from our last write of each quota (managedFields)');
    }
    return res;
  }

  /**
   * Deletes Foresight's quota in the namespaces that no longer opt in (the label removed, or out of
   * actuator.namespaces): left in place it would stay frozen at its last size, refusing pods as the namespace grows,
   * with nothing left to raise it. The namespaces looked at are those that opted in at the last pass and, at a term's
   * first pass, every one in scope: listing quotas across namespaces would need list on every ResourceQuota, while a
   * GET of the one named quotaName is a right Foresight already has. A namespace whose check fails is tried again.
   */
  private async releaseOptedOut(namespaces: readonly string[], snapshot: Snapshot, res: QuotaCycleResult): Promise<void> {
    const optedIn = new Set(namespaces);
    for (const ns of optedIn) this.deletePlanned.delete(ns);
    const sweeping = this.sweep;
    const candidates = new Set([...this.managed, ...(sweeping ? await this.inScope() : [])]);
    const retry = new Set<string>();
    for (const ns of candidates) {
      if (optedIn.has(ns)) continue;
      try {
        if (await this.release(ns, snapshot)) res.deleted++;
      } catch (err) {
        if (stopsCycle(err)) throw err;
        retry.add(ns);
        res.failed++;
        this.metrics.action('quota', 'failed');
        this.journal.record({ cycle: snapshot.cycle, kind: 'quota', action: 'delete', target: this.quotas.target(ns), dryRun: this.opts.dryRun, outcome: 'failed', reason: (err as Error).message });
        this.log.error({ err, tenant: ns }, 'cannot delete the quota of a namespace that no longer opts in');
      }
    }
    this.managed = new Set([...optedIn, ...retry]);
    if (sweeping) this.sweep = false;
  }

  /** Deletes (dry-run: journals once) our quota in `ns`; true when it did. A quota of that name not ours stays. */
  private async release(ns: string, snapshot: Snapshot): Promise<boolean> {
    this.planned.delete(ns);
    this.seeds.forget(ns);
    this.gate.forget(`quota/${ns}/`);
    const quota = await this.quotas.get(ns);
    if (!quota || quota.metadata.labels?.[MANAGED_BY] !== 'foresight') return false;
    const entry = { cycle: snapshot.cycle, kind: 'quota' as const, action: 'delete', target: this.quotas.target(ns), dryRun: this.opts.dryRun, reason: `namespace no longer opts in (label ${this.opts.quotaOptInLabel}=true)`, before: quota.spec?.hard ?? null, after: null };
    if (this.opts.dryRun) {
      if (this.deletePlanned.has(ns)) return false;
      this.deletePlanned.add(ns);
      this.journal.record({ ...entry, outcome: 'planned' });
      this.metrics.action('quota', 'planned');
      return true;
    }
    if (!(await this.quotas.delete(ns, quota))) return false;
    this.journal.record({ ...entry, outcome: 'applied' });
    this.metrics.action('quota', 'applied');
    this.log.info({ tenant: ns, quota: this.opts.quotaName }, 'namespace quota deleted: the namespace no longer opts in');
    return true;
  }

  private async reconcileOne(ns: string, snapshot: Snapshot, headroom: { cpu: number; memory: number }): Promise<'created' | 'patched' | 'planned' | 'unchanged' | 'skipped'> {
    const addHeadroom = (hard: Record<string, string>, used: Record<string, string>, want: ReadonlyMap<QuotaKey, QuotaWant>): void => {
      headroom.cpu += expectedHeadroom('requests.cpu', hard, used, want);
      headroom.memory += expectedHeadroom('requests.memory', hard, used, want);
    };
    // this pass created the quota (its outcome is 'created'), and the quota as re-read once the controller reported
    // its status.used: the pass then sizes it against that
    let created = false;
    let synced: ResourceQuota | undefined;
    for (let attempt = 0; ; attempt++) {
      const quota = synced ?? (await this.quotas.get(ns));
      synced = undefined;
      if (quota && quota.metadata.labels?.[MANAGED_BY] !== 'foresight') {
        this.log.warn({ tenant: ns, quota: this.opts.quotaName }, 'a ResourceQuota of that name exists and is not Foresight\'s: left alone');
        return 'skipped';
      }
      // one time per quota, moved by any change of ours to it (its creation included): every limit in force is seeded
      // from it, as a VPA's targets are (src/actuator/vpa-recommender.ts); none yet, nothing to seed
      const n = this.seeds.seed(ns, quota?.metadata.managedFields, '', () => Object.keys(quota?.spec?.hard ?? {}), this.gate, `quota/${ns}/`, snapshot.createdS);
      this.seededNow.limits += n;
      if (n) this.seededNow.quotas++;
      const want = desiredQuota(snapshot, ns, this.opts);
      if (want.size === 0) return 'skipped';
      const currentHard = this.opts.dryRun ? (this.planned.get(ns) ?? quota?.spec?.hard ?? {}) : (quota?.spec?.hard ?? {});
      const used = quota?.status?.used ?? {};
      const next: Record<string, string> = { ...currentHard };
      const reasons: string[] = [];
      const changed: string[] = [];
      for (const [k, d] of want) {
        const cur = currentHard[k] !== undefined ? parseQuantity(currentHard[k]) : undefined;
        const u = withRoom(k, used[k] !== undefined ? parseQuantity(used[k]) : 0, this.opts.quotaSurgeRatio);
        const shaped = this.gate.shape(`quota/${ns}/${k}`, d.value, cur, {
          nowS: snapshot.createdS,
          floor: Math.max(d.floor, u),
          recurring: d.recurring,
          usage: d.usage,
          usageS: d.st.lastSampleS,
          anomalous: heldAsAnomalous(d.st.anomaly),
          stale: d.st.stale || snapshot.stale,
        });
        if (shaped.hold) this.metrics.held('quota', shaped.hold);
        // whatever the gate says, never below what the namespace already uses and room for a rollout
        const value = Math.max(shaped.value, u);
        if (shaped.reason) reasons.push(`${k}: ${shaped.reason}`);
        // the gate reports its floor as the recent peak: say so when it was what the pods request that decided
        if (value === u && u > Math.max(d.value, d.floor)) reasons.push(`${k}: what the namespace's pods request (status.used) and room for a rollout`);
        const text = formatHard(k, value);
        if (cur === undefined || Math.abs(parseQuantity(text) - cur) > this.opts.tolerance * Math.max(cur, 1e-12)) {
          next[k] = text;
          changed.push(k);
        }
      }
      if (changed.length === 0) {
        addHeadroom(next, used, want);
        return created ? 'created' : 'unchanged';
      }
      const entry = { cycle: snapshot.cycle, kind: 'quota' as const, action: quota ? 'set-hard' : 'create', target: this.quotas.target(ns), dryRun: this.opts.dryRun, reason: reasons.join('; ') || undefined, before: quota?.spec?.hard ?? null, after: next };
      const commit = (): void => {
        for (const k of changed) this.gate.committed(`quota/${ns}/${k}`, snapshot.createdS);
      };
      if (this.opts.dryRun) {
        this.planned.set(ns, next);
        commit();
        this.journal.record({ ...entry, outcome: 'planned' });
        this.metrics.action('quota', 'planned');
        addHeadroom(next, used, want);
        return 'planned';
      }
      try {
        if (!quota) await this.quotas.create(ns, next);
        else await this.quotas.patch(ns, quota, next);
      } catch (err) {
        if (httpStatus(err) !== 409 || attempt >= this.opts.conflictRetries) throw err;
        continue; // changed (or created) by someone else meanwhile: re-read and decide again
      }
      commit();
      this.journal.record({ ...entry, outcome: 'applied' });
      this.metrics.action('quota', 'applied');
      this.log.info({ tenant: ns, hard: next, reasons }, quota ? 'namespace quota updated' : 'namespace quota created');
      if (!quota) {
        // Sized from the forecast alone: the namespace's pods may already request more (status.used was unknown), and
        // the API server would refuse every new pod until the next cycle. Sized again once the controller reports it.
        created = true;
        synced = await this.quotas.awaitUsed(ns, Object.keys(next));
        if (synced) continue;
        this.log.info({ tenant: ns }, 'the quota controller has not reported what the namespace uses yet: the quota is sized against it at the next cycle');
      }
      addHeadroom(next, used, want);
      return created ? 'created' : 'patched';
    }
  }
}
