// The VPA recommender: lists VPAs that name Foresight's recommender and writes their status.recommendation through
// the status subresource (merge patch with resourceVersion, so a concurrent writer causes a 409 and a fresh retry).
// After a restart or a change of leader, each VPA's targets start their cooldown and change budget from the time the
// API server recorded for our last write of its status (src/actuator/last-write.ts), not from a full bucket.
import { type Shard, UNSHARDED } from '../model/shard.js';
import type { Snapshot } from '../model/snapshot.js';
import { KubeConflictError } from '../errors.js';
import type { ActuatorOptions } from './config.js';
import type { ActionJournal } from './journal.js';
import { type KubeApi, httpStatus, stopsCycle } from './kube-api.js';
import type { ActuatorLog } from './log.js';
import type { ActuatorMetrics } from './metrics.js';
import type { SafetyGate } from './safety.js';
import { FIELD_MANAGER, TermSeeds } from './last-write.js';
import { evictsToApply, HELD_MIN_DECREASE, RecommendationHold } from './hold.js';
import { boundsIn, carryOver, clamp, changedBeyond, conditionFlips, currentTargets, desiredForVpa, nextConditions, servedHere, toContainerRecommendations, withGatedTarget, writesTarget, type VpaResource } from './vpa-logic.js';
import { VPA_GROUP, VPA_VERSION, type RecommendedContainerResources, type Vpa, type VpaCondition } from './vpa-types.js';

export interface VpaCycleResult {
  served: number;
  written: number;
  planned: number;
  unchanged: number;
  skipped: number;
  failed: number;
  conflicts: number;
}

interface VpaList {
  items: Vpa[];
}

const plural = 'verticalpodautoscalers';

/**
 * The gate's keys of VPA targets start with their own prefix: the gate is shared with the quota manager (keys
 * `quota/<namespace>/...`), and a bare `<namespace>/<name>/` let a VPA named team-a in a namespace called quota, once
 * gone, forget the quota cooldown and budget of namespace team-a.
 */
const GATE_PREFIX = 'vpa/';

export class VpaRecommender {
  /** In dry-run, what Foresight would have written, standing in for the server's status. */
  private readonly planned = new Map<string, { recs: RecommendedContainerResources[]; conditions: VpaCondition[] }>();
  /** Why each VPA was last skipped: the warning is logged when it changes, not every cycle. */
  private readonly skipSaid = new Map<string, string>();
  private readonly known = new Set<string>();
  /** The trailing-window recommendation of VPAs whose update mode evicts pods. */
  private readonly hold: RecommendationHold;
  /** VPAs whose targets were seeded from the API server in this term (since the start or since leading again). */
  private readonly seeds = new TermSeeds();

  constructor(
    private readonly api: KubeApi,
    private readonly opts: ActuatorOptions,
    private readonly gate: SafetyGate,
    private readonly journal: ActionJournal,
    private readonly metrics: ActuatorMetrics,
    private readonly log: ActuatorLog,
    private readonly shard: Shard = UNSHARDED,
  ) {
    this.hold = new RecommendationHold(opts.stableWindowS);
  }

  /**
   * A new term as leader begins: another replica may have written since this one last led, so every VPA's targets
   * are seeded again from the server at their next pass (SafetyGate.seed keeps what the gate knows when stricter).
   */
  newTerm(): void {
    this.seeds.newTerm();
  }

  /** VPAs served by Foresight (cluster-wide, or in the configured namespaces) whose tenant this shard owns. */
  async list(): Promise<Vpa[]> {
    const lists = this.opts.namespaces.length
      ? await Promise.all(this.opts.namespaces.map((ns) => this.api.request<VpaList>({ verb: 'list', resource: plural, namespace: ns }, `/apis/${VPA_GROUP}/${VPA_VERSION}/namespaces/${ns}/${plural}`)))
      : [await this.api.request<VpaList>({ verb: 'list', resource: plural }, `/apis/${VPA_GROUP}/${VPA_VERSION}/${plural}`)];
    return lists.flatMap((l) => l.items ?? []).filter((v) => servedHere(v, this.opts, this.shard));
  }

  /** One pass over every served VPA. One bad VPA is logged and skipped; an unavailable API server aborts the pass. */
  async reconcile(snapshot: Snapshot): Promise<VpaCycleResult> {
    const res: VpaCycleResult = { served: 0, written: 0, planned: 0, unchanged: 0, skipped: 0, failed: 0, conflicts: 0 };
    const vpas = await this.list();
    res.served = vpas.length;
    // Forget VPAs that are gone (or no longer name Foresight) so per-target state does not grow without bound.
    const present = new Set(vpas.map(key));
    for (const k of this.known) {
      if (present.has(k)) continue;
      this.known.delete(k);
      this.seeds.forget(k);
      this.planned.delete(k);
      this.skipSaid.delete(k);
      this.gate.forget(`${GATE_PREFIX}${k}/`);
      this.hold.forget(`${k}/`);
    }
    for (const k of present) this.known.add(k);
    this.seedFromServer(vpas, snapshot.createdS);
    for (const vpa of vpas) {
      try {
        const outcome = await this.reconcileOne(vpa, snapshot, res);
        res[outcome]++;
      } catch (err) {
        if (stopsCycle(err)) throw err;
        res.failed++;
        this.metrics.action('vpa', 'failed');
        this.journal.record({ cycle: snapshot.cycle, kind: 'vpa', action: 'update-recommendation', target: key(vpa), dryRun: this.opts.dryRun, outcome: 'failed', reason: (err as Error).message });
        this.log.error({ err, vpa: key(vpa) }, 'cannot write VPA recommendation');
      }
    }
    return res;
  }

  private async reconcileOne(first: Vpa, snapshot: Snapshot, res: VpaCycleResult): Promise<'written' | 'planned' | 'unchanged' | 'skipped'> {
    let vpa = first;
    for (let attempt = 0; ; attempt++) {
      const desired = desiredForVpa(vpa, snapshot, this.opts);
      if (desired.skipped) {
        if (this.skipSaid.get(key(vpa)) !== desired.skipped) this.log.warn({ vpa: key(vpa), tenant: desired.tenant, reason: desired.skipped }, 'VPA skipped (said again only when the reason changes)');
        this.skipSaid.set(key(vpa), desired.skipped);
        await this.explainSkip(vpa, desired.skipped, desired.skipReason ?? 'NoForecastOrContainers');
        return 'skipped';
      }
      if (this.skipSaid.delete(key(vpa))) this.log.info({ vpa: key(vpa), tenant: desired.tenant }, 'VPA served again');
      const plan = this.opts.dryRun ? this.planned.get(key(vpa)) : undefined;
      const current = plan ? plan.recs : vpa.status?.recommendation?.containerRecommendations;
      const currentConditions = plan ? plan.conditions : vpa.status?.conditions;
      const cur = currentTargets(current);
      const mode = vpa.spec.updatePolicy?.updateMode;
      const held = this.opts.stableWindowS > 0 && evictsToApply(mode);
      const reasons: string[] = [];
      const changedKeys: string[] = [];
      for (const c of desired.containers) {
        for (const [r, b] of Object.entries(c.resources) as [VpaResource, NonNullable<(typeof c.resources)[VpaResource]>][]) {
          const k = `${c.container}/${r}`;
          const before = cur.get(k);
          const g = c.gate[r];
          if (!g) continue;
          const shaped = this.gate.shape(gateKey(vpa, k), b.target, before, { nowS: snapshot.createdS, ...g });
          if (shaped.hold) this.metrics.held('vpa', shaped.hold);
          // the bounds the target is set into: this cycle's, or (an evicting update mode) the window's largest. Both are
          // clamped again: the gate may hold a value, and the window one, that a new minAllowed/maxAllowed put out of
          // range, and the VPA wins
          const base = held ? this.hold.apply(`${key(vpa)}/${k}`, snapshot.createdS, withGatedTarget(b, shaped.value, g), boundsIn(current, c.container, r)) : b;
          let settled = withGatedTarget(base, held ? base.target : shaped.value, g);
          const heldUp = held && settled.target > clamp(shaped.value, g.min, g.max) + 1e-12;
          const why = [
            shaped.reason,
            heldUp ? `held at the last ${Math.round(this.opts.stableWindowS / 3600)} h's largest (updateMode ${mode ?? 'Auto'} evicts pods to apply a change)` : '',
            !heldUp && settled.target !== shaped.value ? 'resourcePolicy/global bounds' : '',
          ].filter(Boolean).join(', ');
          // a decrease within the tolerance keeps the value in force, as when it is alone (and as the backtest's write
          // rule does): written because another resource moved, it would change the target and spend this one's budget
          if (before !== undefined && !writesTarget(before, settled.target, held ? Math.max(this.opts.tolerance, HELD_MIN_DECREASE) : this.opts.tolerance)) settled = withGatedTarget(base, before, g);
          if (why) reasons.push(`${k}: ${why}`);
          Object.assign(b, settled);
          if (before === undefined || Math.abs(b.target - before) > 1e-12) changedKeys.push(k);
        }
      }
      // a resource or container without data this cycle keeps its entry: never shrink on missing data
      const next = carryOver(vpa, desired, current, toContainerRecommendations(desired.containers), this.opts);
      const conditions = nextConditions(currentConditions, desired.lowConfidence, desired.tenant, new Date(snapshot.createdS * 1000));
      // a condition that flips is worth a write even when the values stay within the tolerance (LowConfidence clears)
      const flips = conditionFlips(currentConditions, conditions);
      if (!changedBeyond(current, next, this.opts.tolerance) && flips.length === 0) return 'unchanged';
      reasons.push(...flips, ...desired.basis);
      const entry = { cycle: snapshot.cycle, kind: 'vpa' as const, action: 'update-recommendation', target: key(vpa), dryRun: this.opts.dryRun, reason: reasons.join('; ') || undefined, before: current ?? null, after: next };
      if (this.opts.dryRun) {
        this.planned.set(key(vpa), { recs: next, conditions });
        this.commit(vpa, snapshot, changedKeys);
        this.journal.record({ ...entry, outcome: 'planned' });
        this.metrics.action('vpa', 'planned');
        return 'planned';
      }
      try {
        await this.api.request(
          { verb: 'patch', resource: `${plural}/status`, namespace: vpa.metadata.namespace, name: vpa.metadata.name },
          `/apis/${VPA_GROUP}/${VPA_VERSION}/namespaces/${vpa.metadata.namespace}/${plural}/${vpa.metadata.name}/status`,
          {
            method: 'PATCH',
            contentType: 'application/merge-patch+json',
            body: { metadata: { resourceVersion: vpa.metadata.resourceVersion }, status: { recommendation: { containerRecommendations: next }, conditions } },
            query: { fieldManager: FIELD_MANAGER },
          },
        );
      } catch (err) {
        if (httpStatus(err) !== 409) throw err;
        res.conflicts++;
        if (attempt >= this.opts.conflictRetries) throw new KubeConflictError(key(vpa), attempt, { cause: err });
        this.log.info({ vpa: key(vpa), attempt }, 'VPA changed under us (409): retrying with a fresh object');
        vpa = await this.api.request<Vpa>(
          { verb: 'get', resource: plural, namespace: vpa.metadata.namespace, name: vpa.metadata.name },
          `/apis/${VPA_GROUP}/${VPA_VERSION}/namespaces/${vpa.metadata.namespace}/${plural}/${vpa.metadata.name}`,
        );
        // the fresh object may no longer be ours: another recommender named, or a tenant annotation of another shard
        if (!servedHere(vpa, this.opts, this.shard)) return 'skipped';
        continue;
      }
      this.commit(vpa, snapshot, changedKeys);
      this.journal.record({ ...entry, outcome: 'applied' });
      this.metrics.action('vpa', 'applied');
      this.log.info({ vpa: key(vpa), tenant: desired.tenant, reasons }, 'VPA recommendation written');
      return 'written';
    }
  }

  /** Tells the VPA's owner why there is no recommendation (condition RecommendationProvided=False), once per reason. */
  private async explainSkip(vpa: Vpa, why: string, reason: string): Promise<void> {
    const prev = vpa.status?.conditions?.find((c) => c.type === 'RecommendationProvided');
    if (this.opts.dryRun || (prev?.status === 'False' && prev.message === why)) return;
    if (vpa.status?.recommendation?.containerRecommendations?.length) return; // keep serving the last good one
    const conditions = [
      ...(vpa.status?.conditions ?? []).filter((c) => c.type !== 'RecommendationProvided'),
      { type: 'RecommendationProvided', status: 'False' as const, lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), reason, message: why },
    ];
    try {
      await this.api.request(
        { verb: 'patch', resource: `${plural}/status`, namespace: vpa.metadata.namespace, name: vpa.metadata.name },
        `/apis/${VPA_GROUP}/${VPA_VERSION}/namespaces/${vpa.metadata.namespace}/${plural}/${vpa.metadata.name}/status`,
        { method: 'PATCH', contentType: 'application/merge-patch+json', body: { metadata: { resourceVersion: vpa.metadata.resourceVersion }, status: { conditions } }, query: { fieldManager: FIELD_MANAGER } },
      );
    } catch (err) {
      if (httpStatus(err) !== 409) throw err; // changed meanwhile: explained on the next cycle
    }
  }

  /**
   * Seeds the cooldown and budget of the targets in force of each VPA not yet seeded this term from the time of our
   * last write of its status. That time is one per VPA, and it moves with every write of ours that changes a value
   * (a target, a bound, a condition): every target of the VPA is seeded from it, which errs on the side of holding.
   * A VPA with no such record (never written by us) starts as before, with a full bucket and no cooldown.
   */
  private seedFromServer(vpas: readonly Vpa[], nowS: number): void {
    let targets = 0;
    let seededVpas = 0;
    for (const vpa of vpas) {
      const n = this.seeds.seed(key(vpa), vpa.metadata.managedFields, 'status', () => currentTargets(vpa.status?.recommendation?.containerRecommendations).keys(), this.gate, gateKey(vpa, ''), nowS);
      targets += n;
      if (n) seededVpas++;
    }
    if (this.seeds.say(targets)) {
      this.log.info({ vpas: vpas.length, seededVpas, targets }, 'change budget and cooldown of VPA targets seeded from our last write of each VPA status (managedFields)');
    }
  }

  private commit(vpa: Vpa, snapshot: Snapshot, changed: string[]): void {
    for (const k of changed) this.gate.committed(gateKey(vpa, k), snapshot.createdS);
  }
}

function key(vpa: Vpa): string {
  return `${vpa.metadata.namespace}/${vpa.metadata.name}`;
}

function gateKey(vpa: Vpa, target: string): string {
  return `${GATE_PREFIX}${key(vpa)}/${target}`;
}
