// The actuator: takes each published Snapshot and, on the replica that holds the Lease, brings VPA recommendations and
// placeholder pods in line with it. Dry-run by default. 5xx and timeouts back off; one bad object never stops a cycle.
import { hostname } from 'node:os';
import { LeadershipLostError, ShardFencedError } from '../errors.js';
import { type Shard, UNSHARDED } from '../model/shard.js';
import type { Snapshot } from '../model/snapshot.js';
import { type ActuatorOptions, actuatorOptions } from './config.js';
import { FenceState } from './fence-state.js';
import { ActionJournal } from './journal.js';
import { type KubeApi, type KubeConnection, KubeApi as Api, isUnavailable, stopsCycle } from './kube-api.js';
import { LeaderElector, RENEW_DEADLINE_SHARE } from './leader.js';
import { type ActuatorLog, silentLog } from './log.js';
import { type ActuatorMetrics, noopActuatorMetrics } from './metrics.js';
import { QuotaManager, type QuotaCycleResult } from './quota.js';
import { SafetyGate } from './safety.js';
import { ShadowPods, type ShadowCycleResult } from './shadow-pods.js';
import { MANAGED_BY } from './shadow-plan.js';
import { type FenceVerdict, ShardFence, leaseStamp } from './shard-fence.js';
import { VpaRecommender, type VpaCycleResult } from './vpa-recommender.js';
import { VpaWatcher } from './vpa-watch.js';

/**
 * Shadow capacity and quotas agree: the configured pool reserves at least the quotas' headroom (requests that admitted
 * pods may still claim), so a quota raised ahead of demand can also be scheduled. The larger of the two wins.
 */
export function withQuotaReserve(snapshot: Snapshot, quota: QuotaCycleResult | undefined, o: ActuatorOptions): Snapshot {
  if (!o.quotaShadowPool || !quota) return snapshot;
  const shadow = [...snapshot.shadow];
  for (const [resource, size] of [[o.shadowCpuResource, quota.headroom.cpu], [o.shadowMemoryResource, quota.headroom.memory]] as const) {
    if (!(size > 0)) continue;
    const i = shadow.findIndex((p) => p.pool === o.quotaShadowPool && p.resource === resource);
    if (i < 0) shadow.push({ pool: o.quotaShadowPool, resource, size });
    else if (shadow[i].size < size) shadow[i] = { ...shadow[i], size };
  }
  return { ...snapshot, shadow };
}

/** Where snapshots come from: src/loop/snapshot-hub.ts's SnapshotHub fits as is. */
export interface SnapshotSource {
  latest(): Snapshot | undefined;
  /** Delivers every new snapshot to `sink`; returns an unsubscribe function. */
  subscribe(sink: { publish(s: Snapshot): void | Promise<void> }): () => void;
}

export interface CycleReport {
  cycle: number;
  leader: boolean;
  dryRun: boolean;
  vpa?: VpaCycleResult;
  quota?: QuotaCycleResult;
  shadow?: ShadowCycleResult;
  /** Set when this leader wrote nothing because another shard count writes: the Lease of that count that decides. */
  fenced?: { lease: string; shard: number; totalShards: number };
  /** Messages of the errors that stopped a part of the cycle (API unavailable, forbidden list). */
  errors: string[];
  /** Seconds until the next attempt after an unavailable API server (0 when healthy). */
  backoffS: number;
}

export interface ActuatorDeps {
  connection: KubeConnection;
  options?: Partial<ActuatorOptions>;
  journal?: ActionJournal;
  metrics?: ActuatorMetrics;
  log?: ActuatorLog;
  /** Test hook run before every request (fault injection). */
  beforeRequest?: (op: { verb: string; resource: string; namespace?: string; name?: string }, method: string, path: string) => Promise<void> | void;
  nowMs?: () => number;
  /** This replica's share of the tenants (src/model/shard.ts): it serves their VPAs and quotas, keeps its own
   *  placeholders under its share of the shadow caps, and elects a leader among the replicas of the same shard. */
  shard?: Shard;
}

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete']);

/** Refuses a write (other than to the Lease itself) unless `holds()` says this replica still leads and `fenced()`
 *  gives no reason to hold off for another shard count. */
export function guardWrite(op: { verb: string; resource: string; namespace?: string; name?: string }, holds: () => boolean, fenced: () => string | undefined = () => undefined): void {
  if (!WRITE_VERBS.has(op.verb) || op.resource === 'leases') return;
  const what = `${op.verb} ${op.resource}${op.name ? ` ${op.namespace ? `${op.namespace}/` : ''}${op.name}` : ''}`;
  if (!holds()) throw new LeadershipLostError(what);
  const why = fenced();
  if (why !== undefined) throw new ShardFencedError(what, why);
}

/** The Lease a shard's replicas elect their leader on: the configured name, suffixed with the shard when sharded. */
export function shardLeaseName(name: string, shard: Shard): string {
  return shard.total > 1 ? `${name}-shard-${shard.index}` : name;
}

export class Actuator {
  readonly options: Readonly<ActuatorOptions>;
  readonly shard: Shard;
  readonly journal: ActionJournal;
  readonly api: KubeApi;
  readonly elector: LeaderElector;
  private readonly vpa: VpaRecommender;
  private readonly shadow: ShadowPods;
  private readonly quota: QuotaManager;
  private readonly metrics: ActuatorMetrics;
  private readonly log: ActuatorLog;
  private readonly nowMs: () => number;
  private readonly fence: ShardFence;
  /** The fence's newest verdict, which every write must pass (src/actuator/fence-state.ts). */
  private readonly fenceState: FenceState;
  /** The mixed-count episode last logged: 'hold <lease>' or 'write <counts>'; undefined while counts agree. */
  private fenceEpisode: string | undefined;
  private backoffS = 0;
  private retryAtMs = 0;
  private journalErrorsSeen = 0;
  private running: Promise<unknown> = Promise.resolve();
  private pending: Snapshot | undefined;
  private unsubscribe: (() => void) | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private watcher: VpaWatcher | undefined;
  /** When this replica last saw itself lead, on its clock (-Infinity: not yet). */
  private ledAtMs = -Infinity;
  lastReport: CycleReport | undefined;

  constructor(deps: ActuatorDeps) {
    const o = actuatorOptions(deps.options);
    this.options = Object.freeze({ ...o, identity: o.identity || `${hostname()}-${process.pid}` });
    this.metrics = deps.metrics ?? noopActuatorMetrics;
    this.log = deps.log ?? silentLog;
    this.nowMs = deps.nowMs ?? Date.now;
    this.journal = deps.journal ?? new ActionJournal(this.options.journalPath, this.options.journalMemoryEntries);
    this.api = new Api(deps.connection, this.options.requestTimeoutMs, {
      onError: (op, code) => this.metrics.kubeError(`${op.verb} ${op.resource}`, code),
      beforeRequest: async (op, method, path) => {
        await deps.beforeRequest?.(op, method, path);
        // a leader whose cycle outlasts its renew deadline stops writing before another replica may take the Lease,
        // and one whose renew timer finds another shard count writing stops writing at once
        guardWrite(op, () => this.elector.holds(), () => this.fenceState.refusal(this.nowMs()));
      },
    });
    this.shard = deps.shard ?? UNSHARDED;
    const gate = new SafetyGate(this.options);
    this.vpa = new VpaRecommender(this.api, this.options, gate, this.journal, this.metrics, this.log, this.shard);
    this.quota = new QuotaManager(this.api, this.options, gate, this.journal, this.metrics, this.log, this.shard);
    if (!this.options.quotaEnabled) {
      // Turning quotas off is not a namespace opting out: the quota rights may be gone with the feature, and the limits
      // may be relied on. What an earlier run created stays, frozen: said once, with how to remove it.
      this.log.info({ quotaName: this.options.quotaName }, `namespace quotas are off (quotaEnabled=false): any ResourceQuota ${this.options.quotaName} Foresight created earlier is left as it is, no longer resized; remove them with \`kubectl delete resourcequota --all-namespaces -l ${MANAGED_BY}=foresight\`, or remove the namespaces' opt-in label while quotas are on`);
    }
    this.shadow = new ShadowPods(this.api, this.options, this.journal, this.metrics, this.log, this.shard);
    const lease = shardLeaseName(this.options.leaseName, this.shard);
    this.elector = new LeaderElector(this.api, this.options.leaseNamespace, lease, this.options.identity, this.options.leaseDurationS, this.nowMs, leaseStamp(this.options.leaseName, this.shard, this.options.identity));
    this.fence = new ShardFence(this.api, this.options.leaseNamespace, this.options.leaseName, lease, this.shard, this.options.leaseDurationS, this.nowMs);
    this.fenceState = new FenceState(this.options.leaseDurationS * 1000 * RENEW_DEADLINE_SHARE);
  }

  /**
   * Lists the Leases and judges the fence, for a cycle about to write or for the renew timer while one may be
   * writing; records the verdict for the write guard, and notes it (log, metric, new term) unless a check asked for
   * later has answered first. A failed list is recorded as unknown, which refuses writes, and rethrown.
   */
  private async checkFence(from: 'cycle' | 'timer'): Promise<FenceVerdict> {
    const ticket = this.fenceState.ask(this.nowMs());
    let v: FenceVerdict;
    try {
      v = await this.fence.check();
    } catch (err) {
      const known = this.fenceState.verdict !== undefined;
      if (this.fenceState.record(ticket, undefined, from) && from === 'timer' && known) {
        this.log.warn({ err, shard: this.shard.index, totalShards: this.shard.total }, 'shard fence: the Leases could not be listed between cycles; nothing is written until a check succeeds');
      }
      throw err;
    }
    if (this.fenceState.record(ticket, v, from)) this.noteFence(v);
    return v;
  }

  /** Says once per episode that this leader holds off for another shard count (or writes on while one holds off), and
   *  once that the counts agree again. A failed list is not noted: the episode is left as it was. */
  private noteFence(v: FenceVerdict): void {
    this.metrics.fenced(!v.act);
    const d = v.decider;
    const counts = [...new Set(v.others.map((l) => l.total))].sort((a, b) => a - b);
    const episode = v.others.length === 0 ? undefined : v.act ? `write ${counts.join(',')}` : `hold ${d?.name}:${d?.total}`;
    if (episode === this.fenceEpisode) return;
    const me = { shard: this.shard.index, totalShards: this.shard.total };
    const others = v.others.map((l) => `${l.name} (shard ${l.index} of ${l.total}, ${l.holder})`);
    if (!v.act && d) {
      this.log.warn({ ...me, lease: d.name, writingShards: d.total, others }, `shard ${this.shard.index} of ${this.shard.total} holds off: live Leases of this installation record another shard count (a change of the count under way?), and while two counts run the one of the lowest shard index writes, here ${d.total} (Lease ${d.name}); no VPA, quota or placeholder is written until those Leases expire or record ${this.shard.total}`);
    } else if (v.act && v.others.length) {
      this.log.warn({ ...me, others }, `shard ${this.shard.index} of ${this.shard.total} writes on while live Leases record ${counts.join(' and ')} shards: those replicas hold off until this count's Leases are gone; placeholders of their shards are left alone`);
    } else {
      this.log.info({ ...me }, `shard ${this.shard.index} of ${this.shard.total}: no live Lease records another shard count any more; writing as usual`);
    }
    // writing again after holding off: the other count's leaders may have written meanwhile, so the gate is seeded
    // again from the server's record, as after a change of leader
    if (v.act && this.fenceEpisode?.startsWith('hold ')) this.newTerm();
    this.fenceEpisode = episode;
  }

  /** One full cycle for `snapshot`: leader check, shard fence, VPAs, quotas, placeholders. Never throws; errors are in
   *  the report. */
  async runOnce(snapshot: Snapshot): Promise<CycleReport> {
    const report: CycleReport = { cycle: snapshot.cycle, leader: false, dryRun: this.options.dryRun, errors: [], backoffS: 0 };
    let unavailable = false;
    // set by an unavailable API server or a lost Lease: the parts still to come would only fail the same way
    let stopped = false;
    const fail = (part: string, err: unknown): void => {
      if (isUnavailable(err)) unavailable = true;
      if (stopsCycle(err)) stopped = true;
      report.errors.push(`${part}: ${(err as Error).message}`);
      this.log.error({ err, part, cycle: snapshot.cycle }, 'actuator step failed');
      // logged, counted and skipped, as every stage of the loop (the series was pre-created at 0 and never moved)
      this.metrics.error('actuator');
    };
    try {
      report.leader = await this.elector.tryAcquireOrRenew();
    } catch (err) {
      fail('leader election', err);
    }
    this.metrics.leader(report.leader);
    this.sawLeadership(report.leader);
    // The fence: a leader writes only while no live Lease of another shard count writes (src/actuator/shard-fence.ts).
    // A leader that cannot list the Leases cannot tell, and writes nothing this cycle.
    let verdict: FenceVerdict | undefined;
    if (report.leader) {
      try {
        verdict = await this.checkFence('cycle');
      } catch (err) {
        fail('shard fence', err);
      }
      if (verdict && !verdict.act && verdict.decider) report.fenced = { lease: verdict.decider.name, shard: verdict.decider.index, totalShards: verdict.decider.total };
    } else {
      this.metrics.fenced(false);
      // not leading after holding off: the other count may write meanwhile, so whenever this replica leads again its
      // gate is seeded again (a failed Lease check between the last hold and the first write would skip noteFence's)
      if (this.fenceEpisode?.startsWith('hold ')) this.newTerm();
      this.fenceEpisode = undefined;
    }
    if (!report.leader || !verdict?.act) {
      // only the leader that writes holds placeholders: a replica that lost the Lease, or holds off, stops exporting
      // what it held, which ForesightShadowCapacityExhausted would otherwise keep comparing
      this.metrics.reservedShadow([]);
      this.metrics.targetShadow([]);
    } else {
      try {
        report.vpa = await this.vpa.reconcile(snapshot);
      } catch (err) {
        fail('vpa', err);
      }
      if (!stopped && this.options.quotaEnabled) {
        try {
          report.quota = await this.quota.reconcile(snapshot);
        } catch (err) {
          fail('quota', err);
        }
      }
      if (!stopped) {
        try {
          // with shadow disabled this removes our placeholders
          report.shadow = await this.shadow.reconcile(withQuotaReserve(snapshot, report.quota, this.options), verdict.protectedShards);
        } catch (err) {
          fail('shadow', err);
        }
      }
      // the renew timer found another count writing while this cycle ran: its writes stopped there (the write guard),
      // and it reports and exports what a cycle that held off from its start would
      const latest = this.fenceState.verdict;
      if (latest && !latest.act && latest.decider) {
        report.fenced = { lease: latest.decider.name, shard: latest.decider.index, totalShards: latest.decider.total };
        this.metrics.reservedShadow([]);
        this.metrics.targetShadow([]);
      }
    }
    if (unavailable) {
      this.backoffS = Math.min(this.options.backoffMaxS, this.backoffS ? this.backoffS * 2 : this.options.backoffMinS);
      this.retryAtMs = this.nowMs() + this.backoffS * 1000;
    } else {
      this.backoffS = 0;
      this.retryAtMs = 0;
    }
    if (this.journal.fileErrors > this.journalErrorsSeen) {
      this.journalErrorsSeen = this.journal.fileErrors;
      report.errors.push(`journal: ${this.journal.lastFileError?.message ?? 'write failed'} (entries kept in memory)`);
      this.log.error({ err: this.journal.lastFileError, failedWrites: this.journal.fileErrors }, 'journal file not written; entries kept in memory and on /api/v1/actions');
      this.metrics.error('actuator');
    }
    report.backoffS = this.backoffS;
    this.lastReport = report;
    return report;
  }

  /**
   * Follows `source`: runs a cycle for each new snapshot (the newest wins when cycles pile up), and for the latest
   * one when a served VPA appears or its spec changes (watch); retries after the back-off when the API server was
   * unavailable, and renews the Lease in between so leadership is not lost.
   */
  start(source: SnapshotSource): void {
    const kick = (s: Snapshot): void => {
      this.pending = s;
      this.running = this.running.then(() => this.drain());
    };
    this.unsubscribe = source.subscribe({ publish: kick }); // returns at once: the loop never waits for the actuator
    const renewEveryMs = (this.options.leaseDurationS * 1000) / 3;
    this.renewTimer = setInterval(() => {
      const latest = source.latest();
      if (this.retryAtMs && this.nowMs() >= this.retryAtMs && latest) {
        this.retryAtMs = 0; // one retry per back-off: the cycle sets the next one if it fails again
        kick(latest);
      }
      // renewed every time, even while a long cycle runs (the elector serialises its own calls), so that the cycle
      // keeps its right to write: a retried cycle that outlasts the renew deadline would otherwise stop itself
      void this.elector.tryAcquireOrRenew().catch(() => false).then(async (l) => {
        this.metrics.leader(l === true);
        // only a leader holds off for another shard count: a replica that lost the Lease exports 0, as runOnce does
        if (l !== true) this.metrics.fenced(false);
        this.sawLeadership(l === true);
        // the fence read again between a cycle's start and its end: once another count writes (or the Leases cannot
        // be listed), the write guard refuses this cycle's remaining writes (README, "Sharding tenants across
        // replicas"); a failed list is recorded and logged by checkFence
        if (l === true) await this.checkFence('timer').catch(() => undefined);
      });
    }, renewEveryMs);
    this.renewTimer.unref();
    this.watcher = new VpaWatcher(this.api, this.options, () => {
      const latest = source.latest();
      if (latest) kick(latest);
    }, this.log, this.shard);
    this.watcher.start();
    const first = source.latest();
    if (first) kick(first);
  }

  /** A new term: every writer seeds its gate again from the server's record at its next pass. */
  private newTerm(): void {
    this.vpa.newTerm();
    this.quota.newTerm();
  }

  /**
   * Starts a new term when this replica leads after not having led for longer than the Lease duration (or for the
   * first time): another replica takes the Lease only once our record has stood that long unchanged, so only then may
   * it have written meanwhile, and the recommender seeds the gate again from what the server recorded. A renew that
   * failed once and succeeded at the next attempt keeps the term (re-seeding would hold our own last writes twice).
   */
  private sawLeadership(leads: boolean): void {
    if (!leads) return;
    const now = this.nowMs();
    if (now - this.ledAtMs > this.options.leaseDurationS * 1000) this.newTerm();
    this.ledAtMs = now;
  }

  private async drain(): Promise<void> {
    const s = this.pending;
    this.pending = undefined;
    if (!s) return;
    if (this.retryAtMs && this.nowMs() < this.retryAtMs) {
      this.pending = s; // retried by the renew timer once the back-off has passed
      return;
    }
    await this.runOnce(s);
  }

  /** Stops following the source, waits for the running cycle and releases the Lease. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    if (this.renewTimer) clearInterval(this.renewTimer);
    await this.watcher?.stop();
    await this.running.catch(() => undefined);
    await this.elector.release();
  }
}
