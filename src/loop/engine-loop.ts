// The engine loop: runOnce = pull -> store -> profile -> anomaly -> update -> train -> forecast -> decide -> publish,
// each step timed; a failing tenant is logged, counted and skipped; every cycle publishes an immutable Snapshot.
// Long steps run in time slices (time-slice.ts), so the HTTP server answers between them.
import type { ForecastEngine, SeriesForecast } from '../core/types.js';
import { HistoryStore, type StoredSeries } from '../model/history-store.js';
import { profileSignal, type TenantProfile } from '../model/profile.js';
import { CallMix } from '../model/call-mix.js';
import { groupBy } from '../model/group-by.js';
import { seriesKey } from '../model/series.js';
import type { AnomalyState, Recommendation, ResourceState, Snapshot } from '../model/snapshot.js';
import { ANOMALY_WARMUP_POINTS, evidenceStart } from '../logic/anomaly.js';
import { DEFAULT_BOUNDS, RECURRING_LAGS_S } from '../logic/bounds.js';
import { RECURRENCE_PERIOD_S, recurrenceMargin, weekAgoSpan } from '../logic/recurrence.js';
import type { ContainerShares, HistorySource, PullRange, PullResult, SignalCoverage, WorkloadUsage } from '../sources/history-source.js';
import type { AnomalySeriesInput } from './types.js';
import type { MemoryCheck } from './memory-check.js';
import { ShadowPlanner } from './shadow-planner.js';
import { publishSnapshot, SnapshotHub } from './snapshot-hub.js';
import { ALL_SIGNALS, pullGroups } from './pull-plan.js';
import { forEachSliced, TimeSlice } from './time-slice.js';
import {
  noMetrics,
  silentLogger,
  type AnomalyScorer,
  type AnomalyVerdict,
  type Clock,
  type DecideFn,
  type DecideInput,
  type Logger,
  type LoopMetrics,
  type LoopStep,
  type SnapshotSink,
} from './types.js';

export interface EngineLoopOptions {
  /** Grid spacing of every series, seconds (the engine's intervalS). */
  intervalS: number;
  /** History kept per series, points (a week at 5 minutes = 2,016). */
  historyPoints: number;
  /** Full refit and model choice every this many seconds of engine time (default 3,600). */
  retrainEveryS: number;
  /** A series whose newest sample is older than this is stale (its forecast is kept but marked). */
  staleAfterS: number;
  /** A series with no sample for this long, up to where its signal was last pulled, is dropped (models and history freed). */
  vanishAfterS: number;
  /** Points re-pulled at the start of each incremental pull (late scrapes, rate windows). */
  overlapPoints: number;
  /** A slot is pulled only once this many seconds have passed since its time: Prometheus answers for a time with the
   *  samples it has committed by then, and a scrape stamped just before a slot (stamped at its start, committed when it
   *  ends) or a remote-write backend's ingestion lag would otherwise make the newest slot a provisional value, which
   *  the store mends at the next pull (overlapPoints) but the models and detectors have already learnt. */
  pullDelayS: number;
  /** Profiles are recomputed every this many seconds of engine time. */
  profileEveryS: number;
  /** Window of the "recent peak" safety floor, seconds: the allocation policy's own (bounds.safetyWindowS, the
   *  backtest's too) by default. The snapshot's recentPeak, which the actuator's floors read, is over the same window. */
  recentPeakS: number;
  /** Series per engine.fit call (bounds the float64 copies alive at once; the loop yields to the event loop between calls). */
  fitBatch: number;
  /** Series per engine.update / engine.forecast call, with a yield to the event loop between calls. */
  batch: number;
  /** Honour the anomaly verdict's quarantine (no retraining, points fed as missing, no proactive scale-up). The
   *  verdict itself decides (excludeFromTraining is true only in anomaly mode "quarantine"). */
  quarantine: boolean;
  /** Live accuracy (per model and horizon) is recomputed every this many seconds of engine time. */
  accuracyEveryS: number;
  /** Points of history fed to the anomaly detectors when a series first appears. */
  anomalyWarmupPoints: number;
  /** Resources whose pooled shadow reserve is planned (one pool, "default"). */
  shadowResources: readonly string[];
  /** Points per series per pull request of the loop (a long first pull is split in time chunks). */
  pullChunkPoints: number;
  /** While a fit or refit runs longer than this (wall seconds), its progress is logged this often: the first fit of
   *  60,000 series takes about 9 minutes. */
  progressEveryS: number;
  /** Longest a cycle spends on first fits, wall seconds (0: no limit). The series beyond it keep their samples in the
   *  store and are fitted by the next cycles, which follow at once (start()): at 60,000 series the first forecasts are
   *  published after the first pull, the detectors' warm-up and about this long (118 s with 60 s) instead of after the
   *  whole first fit (about 9 minutes). Series are fitted in tenant order, so a tenant's signals are forecast together. */
  fitBudgetS: number;
  /** API call types a tenant's profile keeps apart (its busiest); the others are summed as one, "(other)". */
  apiMixMaxTypes: number;
}

export const DEFAULT_LOOP_OPTIONS: EngineLoopOptions = {
  intervalS: 300,
  historyPoints: 2016,
  retrainEveryS: 3600,
  staleAfterS: 900,
  vanishAfterS: 86_400,
  overlapPoints: 2,
  pullDelayS: 0,
  profileEveryS: 3600,
  recentPeakS: DEFAULT_BOUNDS.safetyWindowS,
  fitBatch: 4,
  batch: 200,
  quarantine: true,
  pullChunkPoints: 96,
  shadowResources: ['cpu', 'memory'],
  anomalyWarmupPoints: ANOMALY_WARMUP_POINTS,
  accuracyEveryS: 900,
  progressEveryS: 10,
  apiMixMaxTypes: 20,
  fitBudgetS: 0,
};

/** Samples per anomaly scorer call (with its share of the state copies, ~20-30 us per sample: a few ms per call). */
const ANOMALY_CALL_POINTS = 150;

export interface EngineLoopDeps {
  source: HistorySource;
  engine: ForecastEngine;
  clock: Clock;
  decide?: DecideFn;
  anomaly?: AnomalyScorer;
  logger?: Logger;
  metrics?: LoopMetrics;
  /** Called when a series vanishes (e.g. to free allocation state). */
  onVanish?: (key: string) => void;
  /** Only these resources are forecast (default: every signal of the source). */
  forecastResources?: readonly string[];
  /** Compares the memory the stored series will need with the container's limit each cycle (src/main.ts). */
  memoryCheck?: MemoryCheck;
}

/** Outcome of one cycle, for tests and logs. */
export interface CycleReport {
  cycle: number;
  ok: boolean;
  pulledPoints: number;
  retrained: boolean;
  /** Series (re)fitted this cycle. */
  trainedSeries: number;
  /** Series still without a model, left to the next cycles by the fit budget (fitBudgetS). */
  pendingFit: number;
  failedSeries: number;
  durationsS: Partial<Record<LoopStep, number>>;
  /** Process CPU time (user + system) per step, seconds: the cost on a shared machine, where wall time is not. */
  cpuS: Partial<Record<LoopStep, number>>;
  error?: string;
}

export class EngineLoop {
  readonly options: EngineLoopOptions;
  readonly store: HistoryStore;
  readonly hub = new SnapshotHub();
  #d: Required<Omit<EngineLoopDeps, 'decide' | 'anomaly' | 'forecastResources' | 'onVanish' | 'memoryCheck'>> & Pick<EngineLoopDeps, 'decide' | 'anomaly' | 'forecastResources' | 'onVanish' | 'memoryCheck'>;
  #cycle = 0;
  /** Per signal (resource), the end of its last successful pull, UNIX seconds (absent before the first). */
  #pulledUntil = new Map<string, number>();
  /** Slots back from the newest that a pull reaches (historyPoints, or the recurrence rule's week and a margin). */
  readonly #pullPoints: number;
  #lastRetrainS = -Infinity;
  #profiles = new Map<string, TenantProfile>();
  /** The API call mix per tenant (its busiest call types kept apart, the rest as one). */
  readonly #calls: CallMix;
  /** Tenants each signal had in its latest pull that reported them (PullResult.coverage). */
  #signalTenants = new Map<string, number>();
  /** Per resource, each tenant's usage by container and by workload (HistorySource.usageSplit), asked for once per
   *  profile period. */
  #containerShares = new Map<string, ContainerShares>();
  #workloadUsage = new Map<string, WorkloadUsage>();
  #usageSplitAtS = -Infinity;
  #anomalies = new Map<string, AnomalyVerdict>();
  #anomalyFedUntil = new Map<string, number>();
  #byTenant: { version: number; map: ReadonlyMap<string, readonly StoredSeries[]> } | undefined;
  #recs = new Map<string, Recommendation>();
  #forecasts = new Map<string, SeriesForecast>();
  #modelsChosen = new Map<string, number>();
  #accuracy: Snapshot['accuracy'] = [];
  #accuracyAtS = -Infinity;
  #timer?: NodeJS.Timeout;
  #cpu: CycleReport['cpuS'] = {};
  /** The current cycle's time slice: long steps yield to the event loop when it is spent. */
  #slice = new TimeSlice();
  /** The pooled shadow reserve's plans and their checks. */
  readonly #shadow: ShadowPlanner;
  #running?: Promise<CycleReport>;
  #stopped = false;

  constructor(deps: EngineLoopDeps, options: Partial<EngineLoopOptions> = {}) {
    this.options = { ...DEFAULT_LOOP_OPTIONS, ...options };
    if (deps.engine.options.intervalS !== this.options.intervalS) {
      throw new RangeError(`engine interval ${deps.engine.options.intervalS}s differs from loop interval ${this.options.intervalS}s`);
    }
    this.#d = { logger: silentLogger, metrics: noMetrics, ...deps };
    this.#shadow = new ShadowPlanner({ intervalS: this.options.intervalS, staleAfterS: this.options.staleAfterS, resources: this.options.shadowResources }, this.#d.logger, this.#d.metrics);
    // The engine reads each series' recent values (a week for the seasonal medians) from the store instead of keeping
    // a copy: the store then keeps that many plus a pull chunk (an update that catches up a chunk of points reads the
    // values before it as they were), and windows stay historyPoints long.
    const o = this.options;
    const engine = deps.engine;
    const shared = engine.shareHistory && engine.recentPoints ? engine.recentPoints + Math.max(1, o.pullChunkPoints) : 0;
    // With a week of history, the first pull brings the week-ago window of the newest sample too (the anomaly
    // scorer's recurrence rule, src/logic/recurrence.ts: a margin more than a week), and the store keeps those of a
    // pull chunk of new samples (a catch-up after an outage; older ones have none, and the rule does not apply to them).
    const week = Math.round(RECURRENCE_PERIOD_S / o.intervalS);
    const weekAgoSlots = deps.anomaly && deps.anomaly.usesWeekAgo !== false && o.historyPoints >= week ? week + recurrenceMargin(o.intervalS) + 1 : 0;
    this.#pullPoints = Math.max(o.historyPoints, weekAgoSlots);
    const catchUp = weekAgoSlots ? weekAgoSlots + Math.max(1, o.pullChunkPoints) - 1 : 0;
    this.store = new HistoryStore(o.intervalS, Math.max(this.#pullPoints, shared, catchUp), o.historyPoints);
    this.#calls = new CallMix({ intervalS: o.intervalS, windowPoints: o.historyPoints, maxTypes: o.apiMixMaxTypes });
    if (shared) engine.shareHistory!((key) => this.store.get(key));
  }

  /** The latest published snapshot (undefined before the first cycle). */
  latest(): Snapshot | undefined {
    return this.hub.latest();
  }

  /** Subscribes to every published snapshot; returns the unsubscribe function. */
  onSnapshot(fn: (s: Snapshot) => void | Promise<void>): () => void {
    return this.hub.subscribe({ publish: fn });
  }

  /** Adds a sink (e.g. the actuator). */
  addSink(sink: SnapshotSink): () => void {
    return this.hub.subscribe(sink);
  }

  /** Wall time (performance.now) when the running or next cycle was due to start; undefined when not started. */
  #dueMs: number | undefined;

  /** Seconds since the running or next cycle was due to start (for /healthz: a cycle that awaits something that never
   *  settles leaves the loop serving its last snapshot forever while nothing moves); 0 when not started. */
  overdueS(nowMs = performance.now()): number {
    return this.#dueMs === undefined ? 0 : Math.max(0, (nowMs - this.#dueMs) / 1000);
  }

  /** Whether a cycle has succeeded (for /readyz). */
  get ready(): boolean {
    const s = this.hub.latest();
    return s !== undefined && this.hub.successes > 0;
  }

  /** Times `fn` into durations[step]; `accumulate` adds to it and leaves reporting the metric to the caller. */
  async #timed<T>(step: LoopStep, durations: CycleReport['durationsS'], fn: () => T | Promise<T>, accumulate = false): Promise<T> {
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    try {
      return await fn();
    } finally {
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      const c = process.cpuUsage(c0);
      const cpu = this.#cpu;
      cpu[step] = (accumulate ? (cpu[step] ?? 0) : 0) + (c.user + c.system) / 1e6;
      durations[step] = (accumulate ? (durations[step] ?? 0) : 0) + s;
      if (!accumulate) this.#d.metrics.stepDuration(step, s);
    }
  }

  /** Runs one cycle. Never rejects: failures are reported, counted and published as a stale snapshot. */
  runOnce(): Promise<CycleReport> {
    if (this.#running) return this.#running;
    this.#running = this.#runOnce().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /**
   * Pulls and stores every signal's new samples. Pulls go in time chunks of at most pullChunkPoints (the first pull of
   * a week for 10,000 tenants would otherwise hold every float64 sample at once). Each signal has its own pulled-until
   * time: a signal whose query failed keeps its time and is pulled again from there (within the history window) while
   * the others go on, so that its gap fills when Prometheus answers again. Signals pulled up to the same time share
   * one pull (in steady state every signal: one incremental pull per cycle).
   */
  async #pull(cycle: number, endS: number, report: CycleReport, durations: CycleReport['durationsS']): Promise<{ pulledAny: boolean; pullError?: Error & { code?: string }; failures: string[] }> {
    const { source, logger, metrics } = this.#d;
    const o = this.options;
    const step = o.intervalS;
    const windowStartS = endS - (this.#pullPoints - 1) * step;
    const wanted = this.#d.forecastResources ? new Set(this.#d.forecastResources) : undefined;
    const failures: string[] = [];
    const chunk = Math.max(1, o.pullChunkPoints) * step;
    const declared = new Set(source.signals.map((sg) => sg.resource));
    const groups = pullGroups(declared.size ? [...declared] : [ALL_SIGNALS], this.#pulledUntil, windowStartS, endS, o.overlapPoints * step);
    let pulledAny = false;
    let pullError: (Error & { code?: string }) | undefined;
    // per signal, the most tenants a chunk of this cycle had, and when none had any, why in the chunk with the most
    // series (a first pull's oldest chunks may predate the metric)
    const coverage = new Map<string, SignalCoverage>();
    for (let gi = 0; gi < groups.length; gi++) {
      const group = groups[gi];
      // the signals of this group still pulled this cycle (one that fails is left for the next cycle)
      const active = new Set(group.resources);
      // a series of a signal the source did not declare goes with the freshest group
      const keep = (resource: string): boolean => active.has(resource) || active.has(ALL_SIGNALS) || (gi === 0 && !declared.has(resource));
      for (let cs = group.fromS; cs <= endS && active.size > 0; cs += chunk) {
        const ce = Math.min(endS, cs + chunk - step);
        const all = active.has(ALL_SIGNALS) || active.size === declared.size;
        // `resources` narrows a catch-up pull to its signals; a source that ignores it returns every signal, and the
        // others' samples are left out below
        const range: PullRange = all ? { startS: cs, endS: ce, stepS: step } : { startS: cs, endS: ce, stepS: step, resources: [...active] };
        let pulled: PullResult;
        try {
          pulled = await this.#timed('pull', durations, () => source.pull(range), true);
        } catch (err) {
          // This group's signals keep their times and are pulled again from there next cycle; what arrived is kept.
          // The cycle fails only when no pull at all succeeded (below).
          const e = err as Error & { code?: string };
          metrics.error('pull');
          failures.push(e.message);
          pullError ??= e;
          if (pulledAny || !all) logger.warn({ err: e, code: e.code, origin: source.origin, cycle, fromS: cs, resources: [...active] }, 'pull failed part-way; the rest is retried next cycle');
          break;
        }
        pulledAny = true;
        for (const f of pulled.failures) {
          if (!active.has(f.resource) && !active.has(ALL_SIGNALS)) continue; // not asked for by this group
          active.delete(f.resource);
          metrics.error('pull');
          failures.push(`${f.resource}: ${f.error.message}`);
          logger.warn({ resource: f.resource, err: f.error, code: (f.error as Error & { code?: string }).code }, 'signal pull failed; other signals kept, this one pulled again from where it stopped');
        }
        for (const c of pulled.coverage ?? []) {
          if (!keep(c.resource)) continue;
          const prev = coverage.get(c.resource);
          if (!prev || c.tenants > prev.tenants || (c.tenants === prev.tenants && (c.series ?? 0) > (prev.series ?? 0))) coverage.set(c.resource, c);
        }
        await this.#timed('store', durations, async () => {
          await forEachSliced(this.#slice, pulled.set.series, (s) => {
            if (!keep(s.resource) || (wanted && !wanted.has(s.resource))) return;
            if (s.intervalS !== step) {
              metrics.error('store');
              logger.warn({ tenant: s.tenant, resource: s.resource, intervalS: s.intervalS }, 'series at a different interval; skipped');
              return;
            }
            report.pulledPoints += s.values.length;
            this.store.writeSeries(seriesKey(s.tenant, s.resource), s);
          });
          // a first pull (or a catch-up) of several chunks rates the call types on all of them before the kept ones
          // are chosen: on its first chunk alone, the oldest 8 hours of the week would choose them
          this.#calls.add(pulled.breakdown.filter((b) => keep(b.resource)), { more: ce < endS });
          for (const r of active) this.#pulledUntil.set(r, ce);
        }, true);
      }
    }
    // tenants whose pull stopped before its last chunk (a failure, or series that ended earlier) choose on what came
    this.#calls.choose();
    this.#noteCoverage(coverage);
    return { pulledAny, pullError, failures };
  }

  /** Asks the source how its signals' usage splits by container and workload, once per profile period (a failure is
   *  retried next cycle, the previous split kept meanwhile). */
  /** Resources whose usage split found no workload with running pods (warned once). */
  #usageSplitWarned = new Set<string>();

  async #refreshUsageSplit(endS: number): Promise<void> {
    const { source, logger, metrics } = this.#d;
    if (!source.usageSplit || endS - this.#usageSplitAtS < this.options.profileEveryS) return;
    try {
      const split = await source.usageSplit(source.signals.map((s) => s.resource), endS);
      for (const [resource, u] of split) {
        this.#containerShares.set(resource, u.containers);
        this.#workloadUsage.set(resource, u.workloads);
        // usage by container but no workload with a running pod: the pods query (kube-state-metrics) found none with
        // the tenant label, as with a tenant label kube-state-metrics does not carry. Said once, not every refresh.
        const noPods = u.containers.size > 0 && u.workloads.size === 0;
        if (noPods && !this.#usageSplitWarned.has(resource)) {
          logger.warn({ resource, tenantsWithUsage: u.containers.size }, `usage split of ${resource}: no tenant's workloads have running pods in kube_pod_status_phase (does it carry the tenant label?): VPAs get no per-workload split`);
        }
        if (noPods) this.#usageSplitWarned.add(resource);
        else this.#usageSplitWarned.delete(resource);
      }
      this.#usageSplitAtS = endS;
    } catch (err) {
      metrics.error('profile');
      logger.warn({ err }, 'usage split query failed; the previous split is kept, asked again next cycle');
    }
  }

  /** Says when a signal has no tenant, with why (once, until it has some again), and when it has tenants again. */
  #noteCoverage(coverage: ReadonlyMap<string, SignalCoverage>): void {
    for (const [signal, c] of coverage) {
      const before = this.#signalTenants.get(signal);
      if (c.tenants === 0 && before !== 0) this.#d.logger.warn({ signal, why: c.why }, `signal ${signal}: no tenant has it: ${c.why ?? 'the source returned no series'}; pulled again every cycle`);
      else if (c.tenants > 0 && before === 0) this.#d.logger.info({ signal, tenants: c.tenants }, `signal ${signal}: ${c.tenants} tenants again`);
      this.#signalTenants.set(signal, c.tenants);
    }
  }

  async #runOnce(): Promise<CycleReport> {
    const { source, engine, clock, logger, metrics } = this.#d;
    const o = this.options;
    const step = o.intervalS;
    const cycle = ++this.#cycle;
    this.#slice = new TimeSlice();
    const durations: CycleReport['durationsS'] = {};
    this.#cpu = {};
    const report: CycleReport = { cycle, ok: false, pulledPoints: 0, retrained: false, trainedSeries: 0, pendingFit: 0, failedSeries: 0, durationsS: durations, cpuS: this.#cpu };
    const nowS = clock.nowS();
    const endS = Math.floor((nowS - o.pullDelayS) / step) * step;

    // pull and store
    const { pulledAny, pullError, failures } = await this.#pull(cycle, endS, report, durations);
    if (!pulledAny && pullError && this.#stopped) {
      // stop() aborted the pull (the source's close): nothing failed, and the last snapshot stays as it was
      logger.info({ cycle }, 'pull stopped: shutting down');
      report.error = pullError.message;
      return report;
    }
    if (!pulledAny && pullError) {
      const e = pullError;
      metrics.cycle('failure');
      metrics.stepDuration('pull', durations.pull ?? 0);
      // the message says what failed and what to set (wrapPromError); a stack says nothing more to an operator, and
      // a Prometheus that is down would repeat it every cycle (it is logged at debug)
      const served = this.hub.latest() ? 'serving the last forecasts, marked stale' : 'no forecasts yet; retrying next cycle';
      logger.error({ error: e.message, code: e.code, origin: source.origin, cycle }, `pull failed: ${served}`);
      logger.debug({ err: e, cycle }, 'pull failure');
      report.error = e.message;
      await this.#timed('publish', durations, () => this.#publishStale(nowS, e.message));
      return report;
    }
    for (const k of ['pull', 'store'] as const) if (durations[k] !== undefined) metrics.stepDuration(k, durations[k]!);
    await this.#timed('store', durations, () => this.#dropVanished(endS), true);
    // before the fit, which is where a replica given more series than its memory limit holds is killed
    this.#memoryNeed = this.#d.memoryCheck?.observe(this.store.size, this.store.bytes());

    // profile: tenants whose profile is older than profileEveryS, a bounded batch per cycle (spread over the period)
    await this.#timed('profile', durations, async () => {
      await this.#profile(endS);
      await this.#refreshUsageSplit(endS);
    });

    // anomaly (before training: quarantined tenants are kept out of it)
    if (this.#d.anomaly) await this.#timed('anomaly', durations, () => this.#scoreAnomalies());

    // update: feed points the models have not seen, a batch at a time as the windows are read (held through the whole
    // step, every series' window outlived the young generation)
    await this.#timed('update', durations, async () => {
      let keys: string[] = [];
      let pts: Float64Array[] = [];
      const refit: string[] = [];
      const flush = (): void => {
        report.failedSeries += this.#each('update', keys, pts, (k, p) => engine.update(k, p));
        for (const k of keys) {
          const s = this.store.get(k);
          if (s) s.fedUntilS = s.lastS;
        }
        keys = [];
        pts = [];
      };
      await forEachSliced(this.#slice, [...this.store.values()], (s) => {
        if (!engine.has(s.key) || s.fedUntilS >= s.lastS) return;
        const w = this.store.since(s.key, s.fedUntilS);
        if (!w || w.values.length === 0) return;
        // A gap longer than the store holds (a Prometheus outage, or vanishAfter beyond the history): the models
        // count points, so feeding what is left would shift their timeline (a daily phase off by the slots lost).
        // Such a series starts over, fitted as a new one below.
        if (Math.round((s.lastS - s.fedUntilS) / o.intervalS) > w.values.length) {
          this.#dropModel(s.key);
          refit.push(s.key);
          // its window starts at its first sample after the gap: a week of gaps before it would be fitted as a week of
          // history (a daily season on a few points, historyPoints claiming a week to the VPA's confidence)
          const first = w.values.findIndex((v) => v === v);
          if (first >= 0) this.store.startAt(s.key, w.startS + first * o.intervalS);
          return;
        }
        keys.push(s.key);
        // A quarantined tenant's points are fed as missing: the models keep their timeline but do not learn the anomaly.
        pts.push(this.#anomalies.get(s.tenant)?.excludeFromTraining && o.quarantine ? new Float64Array(w.values.length).fill(NaN) : w.values);
        if (keys.length >= o.batch) flush();
      });
      flush();
      if (refit.length) logger.info({ series: refit.length, first: refit[0] }, `${refit.length} series came back after a gap longer than the history kept: fitted again as new`);
    });

    // train (after the update, so that every known series has consumed its window): new series are fitted; when
    // retraining is due, known series are refitted (engine.refit keeps what the engine learnt online; engines
    // without it are fitted afresh). Quarantined tenants are not retrained.
    const retrain = endS - this.#lastRetrainS >= o.retrainEveryS;
    report.retrained = retrain;
    await this.#timed('train', durations, async () => {
      const fresh: string[] = [];
      const known: string[] = [];
      for (const s of this.store.values()) {
        const quarantined = o.quarantine && this.#anomalies.get(s.tenant)?.excludeFromTraining === true;
        if (!engine.has(s.key)) fresh.push(s.key);
        else if (retrain && !quarantined) known.push(s.key);
      }
      // under a budget, tenant by tenant (series keys sort by tenant), so that what the cycle publishes is whole tenants
      const budgetS = o.fitBudgetS;
      if (budgetS > 0) fresh.sort();
      const first = await this.#fit(fresh, 'fit', budgetS > 0 ? performance.now() + budgetS * 1000 : Infinity);
      report.pendingFit = this.#pendingFit = fresh.length - first.done;
      if (report.pendingFit > 0) {
        this.#d.logger.info({ fitted: first.done, pending: report.pendingFit, budgetS }, `first fit: ${first.done} series this cycle, ${report.pendingFit} left to the next cycles`);
      }
      const refit = await this.#fit(known, engine.refit ? 'refit' : 'fit');
      report.trainedSeries = first.done - first.failed + (refit.done - refit.failed);
      report.failedSeries += first.failed + refit.failed;
      if (retrain) this.#lastRetrainS = endS;
    });

    // forecast
    await this.#timed('forecast', durations, async () => {
      const keys = [...this.store.keys()].filter((k) => engine.has(k));
      report.failedSeries += await this.#forecast(keys);
    });

    // decide: per-series allocations, then the pooled shadow reserve per resource
    await this.#timed('decide', durations, async () => {
      await this.#decide(endS);
      this.#shadow.check(endS, this.store);
      await this.#shadow.plan(this.#slice, this.store, {
        levels: engine.options.quantiles,
        firstHorizonS: engine.options.horizonsS[0],
        forecasts: this.#forecasts,
        recommendations: this.#recs,
      });
    });

    await this.#timed('publish', durations, () => this.#publish(endS, failures.length === 0 ? undefined : failures.join('; ').slice(0, 500)));
    metrics.cycle('success');
    report.ok = true;
    logger.debug({ cycle, durations, series: this.store.size, retrained: retrain }, 'cycle done');
    return report;
  }

  /**
   * Drops a series' model until it is fitted again, and with it its last forecast: #decide, the shadow plan and
   * #publish read the forecasts of every stored series, and would go on acting on one made before (a gap longer than
   * the history, an update that failed) for as long as the new fit waits or keeps failing.
   */
  #dropModel(key: string): void {
    this.#d.engine.remove(key);
    this.#forecasts.delete(key);
    this.#decidedUntil.delete(key);
  }

  /** Runs fn on the whole batch; if it throws, retries one key at a time and skips the failing ones. */
  #each(stage: string, keys: string[], data: Float64Array[], fn: (k: string[], d: Float64Array[]) => void): number {
    if (keys.length === 0) return 0;
    try {
      fn(keys, data);
      return 0;
    } catch {
      let failed = 0;
      for (let i = 0; i < keys.length; i++) {
        try {
          fn([keys[i]], [data[i]]);
        } catch (err) {
          failed++;
          const s = this.store.get(keys[i]);
          this.#d.metrics.error(stage);
          this.#d.logger.warn({ tenant: s?.tenant, resource: s?.resource, err, code: (err as { code?: string }).code }, `${stage} failed; series skipped this cycle`);
          if (stage === 'update') this.#dropModel(keys[i]);
        }
      }
      return failed;
    }
  }

  /** Fits or refits `keys` in batches, until done or until the wall clock (performance.now) passes `untilMs` between
   *  two batches; returns the failures and how many keys it went through. */
  async #fit(keys: string[], how: 'fit' | 'refit', untilMs = Infinity): Promise<{ failed: number; done: number }> {
    const engine = this.#d.engine;
    const call = how === 'refit' && engine.refit ? engine.refit.bind(engine) : engine.fit.bind(engine);
    let failed = 0;
    // a refit costs about a twentieth of a fit (~0.5 ms a series): a few milliseconds per call
    const b = how === 'refit' ? this.options.fitBatch * 2 : this.options.fitBatch;
    // one window per series of a batch, reused from batch to batch (an engine keeps nothing it is lent: ForecastEngine
    // fit): a fresh week of float64 per series was 16 KB of garbage each, and a retrain of 15,000 series made it
    // faster than the collector freed it
    const bufs = Array.from({ length: b }, () => new Float64Array(this.store.windowPoints));
    const t0 = performance.now();
    let logAt = t0 + this.options.progressEveryS * 1000;
    let i = 0;
    const tenantOf = (k: string): string | undefined => this.store.get(k)?.tenant;
    // stop() ends a long first fit between batches: the rest stay pending, as under the budget
    while (i < keys.length && !this.#stopped) {
      let n = Math.min(b, keys.length - i);
      // (the first batch runs whatever the budget, so that every cycle makes progress)
      if (i > 0 && performance.now() >= untilMs) {
        // The budget is spent: only the rest of the tenant being fitted (keys sort by tenant), so that the cycle
        // publishes whole tenants. Batches cut at b keys would otherwise end most budgets part-way through one.
        const t = tenantOf(keys[i - 1]);
        let m = 0;
        while (t !== undefined && m < n && tenantOf(keys[i + m]) === t) m++;
        if (m === 0) break;
        n = m;
      }
      const ks = keys.slice(i, i + n);
      const hs = ks.map((k, j) => this.store.window(k, undefined, bufs[j])!.values);
      failed += this.#each('train', ks, hs, call);
      for (const k of ks) {
        const s = this.store.get(k);
        if (s && engine.has(k)) s.fedUntilS = s.lastS;
      }
      i += n;
      const now = performance.now();
      if (now >= logAt && i < keys.length) {
        logAt = now + this.options.progressEveryS * 1000;
        const elapsedS = (now - t0) / 1000;
        const etaS = Math.round((elapsedS / i) * (keys.length - i));
        this.#d.logger.info({ how, done: i, total: keys.length, failed, elapsedS: Math.round(elapsedS), etaS }, `${how}: ${i} of ${keys.length} series, about ${etaS} s left`);
      }
      if (this.#slice.due) await this.#slice.yield();
    }
    return { failed, done: i };
  }

  async #forecast(all: string[]): Promise<number> {
    const { engine, metrics, logger } = this.#d;
    let failed = 0;
    const results: SeriesForecast[] = [];
    for (let i = 0; i < all.length; i += this.options.batch) {
      const keys = all.slice(i, i + this.options.batch);
      try {
        results.push(...engine.forecast(keys));
      } catch {
        for (const k of keys) {
          try {
            results.push(...engine.forecast([k]));
          } catch (err) {
            failed++;
            const s = this.store.get(k);
            metrics.error('forecast');
            logger.warn({ tenant: s?.tenant, resource: s?.resource, err }, 'forecast failed; previous forecast kept');
          }
        }
      }
      if (this.#slice.due) await this.#slice.yield();
    }
    const hs = engine.options.horizonsS;
    const chosen = new Map<string, number[]>(); // model -> count per horizon
    for (const f of results) {
      this.#forecasts.set(f.key, f);
      for (let h = 0; h < f.models.length; h++) {
        let c = chosen.get(f.models[h]);
        if (!c) chosen.set(f.models[h], (c = new Array<number>(hs.length).fill(0)));
        c[h]++;
      }
    }
    this.#modelsChosen.clear();
    for (const [m, c] of chosen) c.forEach((n, h) => n > 0 && this.#modelsChosen.set(`${m}\u0000${hs[h]}`, n));
    return failed;
  }

  async #decide(nowS: number): Promise<void> {
    const decide = this.#d.decide;
    if (!decide) return;
    const e = this.#d.engine.options;
    const peakN = Math.max(1, Math.round(this.options.recentPeakS / this.options.intervalS));
    await forEachSliced(this.#slice, [...this.store.values()], (s) => {
      const f = this.#forecasts.get(s.key);
      if (!f) return;
      try {
        const rec = decide({
          tenant: s.tenant,
          resource: s.resource,
          forecast: f,
          horizonsS: e.horizonsS,
          quantiles: e.quantiles,
          usage: s.lastValue,
          recentPeak: this.store.peak(s.key, peakN),
          previous: this.#recs.get(s.key),
          newPoints: this.#newSinceDecision(s.key, s.lastS),
          quarantined: this.options.quarantine && this.#anomalies.get(s.tenant)?.excludeFromTraining === true,
          nowS,
        });
        if (rec) this.#recs.set(s.key, rec);
      } catch (err) {
        this.#d.metrics.error('decide');
        this.#d.logger.warn({ tenant: s.tenant, resource: s.resource, err }, 'allocation failed; previous recommendation kept');
      }
    });
  }

  /** Series left without a model by the last cycle's first-fit budget (published in the snapshot). */
  #pendingFit = 0;
  /** The memory the stored series need (MemoryCheck), when checked (published in the snapshot). */
  #memoryNeed: number | undefined;
  #decidedUntil = new Map<string, number>();
  #newSinceDecision(key: string, lastS: number): DecideInput['newPoints'] {
    const after = this.#decidedUntil.get(key) ?? lastS - this.options.intervalS;
    this.#decidedUntil.set(key, lastS);
    const w = this.store.since(key, after);
    return w ? { startS: w.startS, intervalS: this.options.intervalS, values: w.values } : undefined;
  }

  async #scoreAnomalies(): Promise<void> {
    const scorer = this.#d.anomaly!;
    // Whole tenants per call (a verdict combines a tenant's signals), about ANOMALY_CALL_POINTS samples per call, with
    // a yield between calls when the time slice is spent. A tenant's inputs are read as its turn comes, not all of them
    // first: held through the whole step, 60,000 series' inputs outlived the young generation and were collected with
    // the old one (a sixth of what the loop's cycles promoted at 1,000 tenants).
    let batch: AnomalySeriesInput[] = [];
    let points = 0;
    const flush = (): void => {
      try {
        for (const [tenant, v] of scorer.score(batch, this.options.intervalS)) this.#anomalies.set(tenant, v);
      } catch (err) {
        this.#d.metrics.error('anomaly');
        this.#d.logger.warn({ err, series: batch.length }, 'anomaly scoring failed; previous verdicts kept');
      }
      batch = [];
      points = 0;
    };
    for (const list of this.#seriesByTenant().values()) {
      for (const s of list) {
        const x = this.#anomalyInput(scorer, s);
        if (!x) continue;
        batch.push(x);
        points += x.values.length;
      }
      if (points >= ANOMALY_CALL_POINTS) flush();
      if (this.#slice.due) await this.#slice.yield();
    }
    if (batch.length) flush();
  }

  /** The stored series by tenant, tenants in the order of their first series; kept until a series is added or
   *  deleted (HistoryStore.version). Callers do not change it. */
  #seriesByTenant(): ReadonlyMap<string, readonly StoredSeries[]> {
    if (this.#byTenant?.version !== this.store.version) {
      this.#byTenant = { version: this.store.version, map: groupBy(this.store.values(), (s) => s.tenant) };
    }
    return this.#byTenant.map;
  }

  /** The detectors' input of series `s`: its points since those it was fed (undefined when none are new). */
  #anomalyInput(scorer: AnomalyScorer, s: StoredSeries): AnomalySeriesInput | undefined {
    // A new series is fed its last anomalyWarmupPoints once (default a day: shorter warm-ups flagged most synthetic
    // tenants in bench/sidecar.ts), then only new points. The detectors cost ~5 us per point (NAB corpus, bench:nab), so a
    // day for 60,000 series is about 90 s of CPU at start-up; lower it for very large fleets.
    // (a detector whose state was lost with a core restart is new again)
    const fedUntil = scorer.known?.(s.key) === false ? undefined : this.#anomalyFedUntil.get(s.key);
    const after = fedUntil ?? s.lastS - this.options.anomalyWarmupPoints * this.options.intervalS;
    if (s.lastS <= after) return undefined;
    const w = this.store.since(s.key, after);
    this.#anomalyFedUntil.set(s.key, s.lastS);
    // a warm-up's history trains the detectors; only its newest sample is evidence for the verdict
    if (!w || !w.values.length) return undefined;
    // the same times a week earlier, from the store (a week deep): a weekly shape is no anomaly (src/logic/recurrence.ts)
    const span = scorer.usesWeekAgo === false ? undefined : weekAgoSpan(w.startS, w.values.length, this.options.intervalS);
    const weekAgo = span && this.store.slots(s.key, span.startS, span.length);
    // ...and a series with fewer points than the warm-up (a new tenant) trains its detectors until it has them
    const evidenceFrom = evidenceStart(w.values.length, s.count, Math.min(this.options.anomalyWarmupPoints, this.store.capacity), fedUntil === undefined ? w.values.length - 1 : 0);
    return { key: s.key, tenant: s.tenant, resource: s.resource, startS: w.startS, values: w.values, evidenceFrom, weekAgo };
  }

  async #profile(endS: number): Promise<void> {
    const o = this.options;
    const byTenant = this.#seriesByTenant();
    // Budget: every tenant once per profileEveryS, assuming a cycle per interval; at least 500 tenants per cycle.
    const cyclesPerPeriod = Math.max(1, o.profileEveryS / o.intervalS);
    const budget = Math.max(500, Math.ceil(byTenant.size / cyclesPerPeriod));
    const due = [...byTenant.keys()]
      .filter((t) => endS - (this.#profiles.get(t)?.atS ?? -Infinity) >= o.profileEveryS)
      .sort((a, b) => (this.#profiles.get(a)?.atS ?? -Infinity) - (this.#profiles.get(b)?.atS ?? -Infinity));
    const next = new Map(this.#profiles);
    for (const t of [...next.keys()]) if (!byTenant.has(t)) next.delete(t);
    const buf = new Float64Array(this.store.capacity); // one window at a time: profileSignal keeps no reference
    await forEachSliced(this.#slice, due.slice(0, Math.max(0, budget)), (tenant) => {
      const p: TenantProfile = { tenant, atS: endS, signals: {}, apiMix: {} };
      let lastS = -Infinity;
      for (const s of byTenant.get(tenant)!) {
        lastS = Math.max(lastS, s.lastS);
        try {
          const w = this.store.window(s.key, undefined, buf)!;
          p.signals[s.resource] = profileSignal(s.resource, w.values, w.startS, o.intervalS);
        } catch (err) {
          this.#d.metrics.error('profile');
          this.#d.logger.warn({ tenant, resource: s.resource, err }, 'profile failed; signal skipped');
        }
      }
      // the API mix over the same window as the signals' profiles: the tenant's newest slot and windowPoints before it
      p.apiMix = this.#calls.mix(tenant, lastS - (this.store.windowPoints - 1) * o.intervalS, lastS);
      next.set(tenant, Object.freeze(p));
    }, 1); // a tenant's profile takes about a millisecond: check the slice after each
    this.#profiles = next;
  }

  /**
   * How far the signal of `resource` has been pulled: a series is judged vanished against it, not against the cycle's
   * end. A pull that failed part-way through a catch-up (or a signal whose query keeps failing) leaves its signals
   * behind, and their series' newest samples are as old as the chunk it stopped at, not gone.
   */
  #pulledTo(resource: string, endS: number, freshest: number): number {
    const own = this.#pulledUntil.get(resource) ?? this.#pulledUntil.get(ALL_SIGNALS);
    // a series of a signal the source did not declare goes with the freshest group (#pull)
    return Math.min(own ?? freshest, endS);
  }

  #dropVanished(endS: number): void {
    let freshest = -Infinity;
    for (const t of this.#pulledUntil.values()) freshest = Math.max(freshest, t);
    if (!Number.isFinite(freshest)) freshest = endS;
    for (const s of [...this.store.values()]) {
      if (this.#pulledTo(s.resource, endS, freshest) - s.lastSampleS > this.options.vanishAfterS) {
        this.store.delete(s.key);
        this.#dropModel(s.key);
        this.#recs.delete(s.key);
        this.#anomalyFedUntil.delete(s.key);
        this.#d.anomaly?.forget?.(s.key, s.tenant);
        this.#d.onVanish?.(s.key);
        this.#d.logger.info({ tenant: s.tenant, resource: s.resource, lastSampleS: s.lastSampleS }, 'series vanished; models dropped');
      }
    }
    const tenants = new Set([...this.store.values()].map((s) => s.tenant));
    // a call type without a sample in the history window (a removed route) is forgotten
    this.#calls.retain(tenants, endS - (this.options.historyPoints - 1) * this.options.intervalS);
    for (const t of [...this.#anomalies.keys()]) if (!tenants.has(t)) this.#anomalies.delete(t);
  }

  /** The demand of this time of day: the series' peak a day and a week before the `n` slots from `fromS` (the window
   *  its forecast covers), NaN when the store holds none of it (src/logic/bounds.ts recurringPeak, as the backtest). */
  #recurringPeak(key: string, fromS: number, n: number): number {
    let m = NaN;
    for (const lag of RECURRING_LAGS_S) {
      const p = this.store.peakAt(key, fromS - lag, n);
      if (p === p && !(p <= m)) m = p;
    }
    return m;
  }

  async #publish(endS: number, lastError?: string): Promise<void> {
    const e = this.#d.engine;
    const peakN = Math.max(1, Math.round(this.options.recentPeakS / this.options.intervalS));
    const iv = this.options.intervalS;
    const coverN = Math.max(1, Math.round(Math.max(...e.options.horizonsS) / iv));
    const resources = new Map<string, ResourceState>();
    // one anomaly state per tenant, shared by its series
    const anomalyOf = new Map<string, AnomalyState | undefined>();
    const tenantAnomaly = (tenant: string): AnomalyState | undefined => {
      if (anomalyOf.has(tenant)) return anomalyOf.get(tenant);
      const a = anomalyState(this.#anomalies.get(tenant));
      anomalyOf.set(tenant, a);
      return a;
    };
    await forEachSliced(this.#slice, [...this.store.values()], (s) => {
      resources.set(s.key, Object.freeze({
        tenant: s.tenant,
        resource: s.resource,
        usage: s.lastValue,
        lastSampleS: s.lastSampleS,
        recentPeak: this.store.peak(s.key, peakN),
        recurringPeak: this.#recurringPeak(s.key, s.lastS + iv, coverN),
        historyPoints: Math.min(s.count, this.store.windowPoints),
        forecast: this.#forecasts.get(s.key),
        recommendation: this.#recs.get(s.key),
        anomaly: tenantAnomaly(s.tenant),
        stale: endS - s.lastSampleS > this.options.staleAfterS,
      }));
    });
    // Live accuracy walks every series' error window: refreshed every accuracyEveryS of engine time, not every cycle.
    if (endS - this.#accuracyAtS >= this.options.accuracyEveryS) {
      this.#accuracyAtS = endS;
      try {
        this.#accuracy = e.accuracy();
      } catch (err) {
        this.#d.metrics.error('accuracy');
        this.#d.logger.warn({ err }, 'engine accuracy unavailable');
      }
    }
    const accuracy = this.#accuracy;
    const snap: Snapshot = {
      cycle: this.#cycle,
      createdS: endS,
      stale: false,
      horizonsS: e.options.horizonsS,
      quantiles: e.options.quantiles,
      resources,
      shadow: Object.freeze([...this.#shadow.plans]),
      shadowExhausted: new Map(this.#shadow.exhausted),
      profiles: new Map(this.#profiles),
      accuracy,
      modelsChosen: new Map(this.#modelsChosen),
      pendingFit: this.#pendingFit,
      memoryNeedBytes: this.#memoryNeed,
      signalTenants: new Map(this.#signalTenants),
      containerShares: new Map(this.#containerShares),
      workloadUsage: new Map(this.#workloadUsage),
      lastPullS: endS,
      lastError,
    };
    return this.#emit(snap, true);
  }

  #publishStale(nowS: number, error: string): Promise<void> {
    const prev = this.hub.latest();
    const e = this.#d.engine.options;
    const snap: Snapshot = prev
      ? { ...prev, cycle: this.#cycle, stale: true, lastError: error }
      : { cycle: this.#cycle, createdS: nowS, stale: true, horizonsS: e.horizonsS, quantiles: e.quantiles, resources: new Map(), shadow: [], lastError: error };
    return this.#emit(snap, false);
  }

  async #emit(snap: Snapshot, success: boolean): Promise<void> {
    const errors = await publishSnapshot(this.hub, snap, success);
    for (const err of errors) {
      this.#d.metrics.error('publish');
      this.#d.logger.warn({ err }, 'snapshot subscriber failed');
    }
  }

  /** Runs a cycle now and then every `periodMs` (measured from the end of a cycle) until stop(). */
  start(periodMs: number): void {
    this.#stopped = false;
    this.#dueMs = performance.now();
    const tick = async () => {
      if (this.#stopped) return;
      const r = await this.runOnce();
      // series still waiting for their first fit (fitBudgetS): the next cycle fits more at once
      const delayMs = r.pendingFit > 0 ? 0 : periodMs;
      this.#dueMs = performance.now() + delayMs;
      if (!this.#stopped) this.#timer = setTimeout(tick, delayMs);
    };
    void tick();
  }

  /** Stops scheduling and waits for a running cycle to finish. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#running) await this.#running;
  }
}

function anomalyState(v: AnomalyVerdict | undefined): AnomalyState | undefined {
  if (!v) return undefined;
  const episode = v.anomalous && v.signal !== undefined ? { signal: v.signal, sinceS: v.sinceS } : {};
  return Object.freeze({ score: v.score, kind: v.kind, anomalous: v.anomalous, quarantined: v.anomalous && v.excludeFromTraining, signals: v.signals, ...episode });
}
