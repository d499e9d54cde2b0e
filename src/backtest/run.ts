// Runs a backtest on a grid: builds the policies (and their sweeps), replays, scores, simulates shadow capacity.
import { defaultActuatorOptions, type ActuatorOptions } from '../actuator/config.js';
import { schema } from '../config/schema.js';
import { allocatorTuning, createForecastEngine } from '../core/engine.js';
import { sharedCore } from '../core/wasm.js';
import type { EngineOptions, ForecastEngine } from '../core/types.js';
import { FORECAST_LEVELS, type AllocationConfigInput } from '../logic/allocation.js';
import { DEFAULT_ANOMALY_POLICY, type AnomalyMode, type AnomalyPolicy } from '../logic/anomaly.js';
import { createAnomalyScorer } from '../loop/anomaly-adapter.js';
import { AnomalyFeed, type AnomalyCounts } from './anomaly-feed.js';
import { COVER_S, coverHorizons, ForecastFeed } from './forecast-feed.js';
import type { Grid } from './grid.js';
import { AutopilotPolicy, autopilotDefaults } from './policies/autopilot.js';
import { ForesightPolicy } from './policies/foresight.js';
import { OraclePolicy } from './policies/oracle.js';
import { PersistencePolicy } from './policies/persistence.js';
import { ReactivePolicy } from './policies/reactive.js';
import { StaticPolicy } from './policies/static.js';
import { VpaPolicy } from './policies/vpa.js';
import { VpaUpdaterPolicy } from './policies/vpa-updater.js';
import type { Policy, PolicyContext, PolicyName } from './policy.js';
import { replay, type ReplayOutput } from './replay.js';
import type { Score } from './scoring.js';
import { defaultCapacity, simulateShadow, type ShadowOutcome } from './simulator.js';

/** Knob values a --sweep visits per policy. */
export const SWEEP_KNOBS: Readonly<Record<'foresight' | 'vpa' | 'vpa-updater' | 'autopilot' | 'persistence', readonly number[]>> = Object.freeze({
  foresight: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2],
  vpa: [0.5, 0.7, 0.8, 0.9, 0.95, 0.99],
  'vpa-updater': [0.5, 0.7, 0.8, 0.9, 0.95, 0.99],
  autopilot: [0.5, 0.6, 0.8, 0.9, 0.95, 0.99],
  persistence: [0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999],
});

/** Foresight's training schedule in the backtest: the live loop's defaults (configuration keys `retrainEvery`, `history`). */
const DEFAULT_TRAINING = Object.freeze({ retrainEveryS: schema.retrainEvery.default, historyS: schema.history.default });

export interface BacktestOptions {
  policies: readonly PolicyName[];
  targetShortage: number;
  leadS: number;
  sweep: boolean;
  /** Extra Foresight operating points run in the same engine pass (e.g. the bench's 0.3 x VPA). */
  extraTargets?: readonly number[];
  /** Extra Foresight variants (other allocation settings) in the same engine pass, scored only. */
  extraVariants?: ReadonlyArray<{ label: string; allocation: AllocationConfigInput }>;
  allocation?: AllocationConfigInput;
  capacity?: number;
  provisioningDelayS: number;
  /** Engine factory (default: the real engine, createForecastEngine). */
  engineFactory?: (o: EngineOptions) => ForecastEngine;
  onProgress?: (done: number, total: number) => void;
  /** Foresight's training schedule, as the live loop's configuration: retrain period and history window, seconds
   *  (defaults: the loop's, DEFAULT_TRAINING). */
  retrainEveryS?: number;
  historyS?: number;
  /** Foresight's allocations pass the actuator's safety gate and write rule, with these options over the actuator's
   *  defaults (default {}: what the cluster gets); false scores the allocation policy's recommendations themselves. */
  actuation?: Partial<ActuatorOptions> | false;
  /** The engine's quantile levels (ascending) and candidate seasons, seconds (defaults: the configuration's). */
  levels?: readonly number[];
  seasonsS?: readonly number[];
  /** The sidecar's anomaly handling, replayed on the backtested resource (default: the configuration's, quarantine):
   *  flagged demand waits for confirmation at the gate, and in "quarantine" is kept out of training and of proactive
   *  scale-ups (src/backtest/anomaly-feed.ts). */
  anomalyMode?: AnomalyMode;
  /** The configuration's anomaly policy (src/config/load.ts anomalyPolicyOf: the week-ago rule, the enter and exit
   *  likelihoods); DEFAULT_ANOMALY_POLICY's for what is not given. */
  anomalyPolicy?: Partial<Omit<AnomalyPolicy, 'mode'>>;
}

export interface PolicyResult {
  name: PolicyName;
  label: string;
  knob?: { name: string; value: number };
  score: { total: Score; perTenant: Score[] };
  /** Kept only for the main run of each policy. */
  allocations: Float64Array[];
  main: boolean;
}

export interface BacktestResult {
  ctx: PolicyContext;
  warmupSteps: number;
  results: PolicyResult[];
  shadow?: { with: ShadowOutcome; without: ShadowOutcome; capacity: number; provisioningDelayS: number; reserveLevel: number };
  engine?: { horizonsS: number[]; levels: readonly number[]; ms: number; fits: number; retrainEveryS: number; historyPoints: number; actuation: boolean; stableWindowS: number; decisions: Record<string, number>; gateHolds: Record<string, number>; anomaly: AnomalyCounts; anomalyWeekAgo: boolean; anomalyEnterLikelihood: number; anomalyExitLikelihood: number };
  elapsedMs: number;
}

/** Steps the scores leave out: the first day of each series; shorter traces (under 3 days) keep a third of their span. */
export function warmupStepsOf(grid: Pick<Grid, 'intervalS' | 'nSteps'>): number {
  return Math.min(Math.round(86_400 / grid.intervalS), Math.floor(grid.nSteps / 3));
}

export function runBacktest(grid: Grid, o: BacktestOptions): BacktestResult {
  const t0 = performance.now();
  const stepsPerDay = Math.round(86_400 / grid.intervalS);
  const warmupSteps = warmupStepsOf(grid);
  const ctx: PolicyContext = {
    tenants: grid.tenants,
    resource: grid.resource,
    unit: grid.unit,
    startS: grid.startS,
    intervalS: grid.intervalS,
    nSteps: grid.nSteps,
    leadS: o.leadS,
    stepsPerDay,
    warmupSteps,
  };
  const entries: Array<{ policy: Policy; keep: boolean }> = [];
  let feed: ForecastFeed | undefined;
  let mainForesight: ForesightPolicy | undefined;
  let mainStableWindowS = 0;
  const want = new Set(o.policies);
  const anomalyMode = o.anomalyMode ?? (schema.anomalyMode.default as AnomalyMode);
  const { mode: _, ...anomalyPolicy } = { ...DEFAULT_ANOMALY_POLICY, ...o.anomalyPolicy };
  const sweep = (name: keyof typeof SWEEP_KNOBS): readonly number[] => (o.sweep && want.has(name) ? SWEEP_KNOBS[name] : []);

  if (want.has('foresight')) {
    const horizonsS = coverHorizons(o.leadS, grid.intervalS, COVER_S, 3);
    const levels = o.levels ?? FORECAST_LEVELS;
    const engineOptions: EngineOptions = { intervalS: grid.intervalS, horizonsS, quantiles: levels, seasonsS: o.seasonsS ?? schema.seasons.default, seed: 1 };
    // The engine runs with the live loop's tuning (allocatorTuning: a one-day error window, quantiles tracked for the ensemble alone).
    const engine = (o.engineFactory ?? ((eo) => createForecastEngine(eo, sharedCore(), allocatorTuning(grid.intervalS))))(engineOptions);
    feed = new ForecastFeed(engine, ctx, {
      levels,
      minFitPoints: Math.max(12, Math.min(stepsPerDay, warmupSteps) - Math.ceil(o.leadS / grid.intervalS) - 1),
      refitEveryS: o.retrainEveryS ?? DEFAULT_TRAINING.retrainEveryS,
      maxFitPoints: Math.max(2, Math.round((o.historyS ?? DEFAULT_TRAINING.historyS) / grid.intervalS)),
    }, anomalyMode === 'off' ? undefined : new AnomalyFeed(ctx, anomalyMode, createAnomalyScorer(sharedCore(), anomalyMode, anomalyPolicy)));
    // the forecast-following actuation of in-place VPAs unless the caller gives stableWindowS (--update-mode recreate)
    const actuation = o.actuation === false ? undefined : { ...defaultActuatorOptions, stableWindowS: 0, ...o.actuation };
    mainStableWindowS = actuation?.stableWindowS ?? 0;
    mainForesight = new ForesightPolicy(ctx, feed, { allocation: { ...o.allocation, targetShortage: o.targetShortage }, sizeReserve: true, actuation });
    entries.push({ policy: mainForesight, keep: true });
    const extra = [...(o.extraTargets ?? []), ...sweep('foresight')].filter((t) => t !== o.targetShortage);
    for (const t of [...new Set(extra)]) {
      entries.push({ policy: new ForesightPolicy(ctx, feed, { allocation: { ...o.allocation, targetShortage: t }, actuation }, `foresight target=${t}`), keep: false });
    }
    for (const v of o.extraVariants ?? []) entries.push({ policy: new ForesightPolicy(ctx, feed, { allocation: { targetShortage: o.targetShortage, ...v.allocation }, actuation }, v.label), keep: false });
  }
  if (want.has('vpa')) {
    entries.push({ policy: new VpaPolicy(ctx), keep: true });
    for (const p of sweep('vpa')) if (p !== 0.9) entries.push({ policy: new VpaPolicy(ctx, { targetPercentile: p }, `vpa target=${p}`), keep: false });
  }
  if (want.has('vpa-updater')) {
    entries.push({ policy: new VpaUpdaterPolicy(ctx), keep: true });
    for (const p of sweep('vpa-updater')) if (p !== 0.9) entries.push({ policy: new VpaUpdaterPolicy(ctx, { targetPercentile: p }, `vpa-updater target=${p}`), keep: false });
  }
  if (want.has('autopilot')) {
    entries.push({ policy: new AutopilotPolicy(ctx, grid.usage), keep: true });
    const def = autopilotDefaults(grid.resource).percentile;
    for (const p of sweep('autopilot')) if (p !== def) entries.push({ policy: new AutopilotPolicy(ctx, grid.usage, { percentile: p }, `autopilot percentile=${p}`), keep: false });
  }
  if (want.has('persistence')) {
    entries.push({ policy: new PersistencePolicy(ctx), keep: true });
    for (const p of sweep('persistence')) if (p !== 0.95) entries.push({ policy: new PersistencePolicy(ctx, { p }, `persistence p=${p}`), keep: false });
  }
  if (want.has('reactive')) entries.push({ policy: new ReactivePolicy(ctx), keep: true });
  if (want.has('static')) entries.push({ policy: new StaticPolicy(ctx), keep: true });
  if (want.has('oracle')) entries.push({ policy: new OraclePolicy(ctx, grid.usage), keep: true });

  const outputs: ReplayOutput[] = replay(grid, o.leadS, warmupSteps, entries, (i) => o.onProgress?.(i + 1, grid.nSteps));
  const results: PolicyResult[] = outputs.map((r, j) => ({
    name: r.policy.name,
    label: r.policy.label,
    knob: r.policy.knob,
    score: r.score,
    allocations: r.allocations,
    main: entries[j].keep,
  }));

  let shadow: BacktestResult['shadow'];
  if (mainForesight) {
    const fr = results.find((r) => r.main && r.name === 'foresight');
    if (fr) {
      const capacity = o.capacity ?? defaultCapacity(grid, fr.allocations);
      const co = { capacity, provisioningDelayS: o.provisioningDelayS };
      shadow = {
        with: simulateShadow(grid, fr.allocations, mainForesight.reserve, warmupSteps, co),
        without: simulateShadow(grid, fr.allocations, undefined, warmupSteps, co),
        capacity,
        provisioningDelayS: o.provisioningDelayS,
        reserveLevel: 0.99,
      };
    }
  }
  return {
    ctx,
    warmupSteps,
    results,
    shadow,
    engine: feed && mainForesight ? { horizonsS: coverHorizons(o.leadS, grid.intervalS, COVER_S, 3), levels: feed.options.levels, ms: feed.engineMs, fits: feed.fits, retrainEveryS: feed.options.refitEveryS, historyPoints: feed.options.maxFitPoints, actuation: o.actuation !== false, stableWindowS: mainStableWindowS, decisions: mainForesight.reasons, gateHolds: mainForesight.holds, anomaly: feed.anomaly?.counts ?? { mode: 'off', scored: 0, anomalous: 0, quarantined: 0 }, anomalyWeekAgo: anomalyPolicy.weekAgo, anomalyEnterLikelihood: anomalyPolicy.enterLikelihood, anomalyExitLikelihood: anomalyPolicy.exitLikelihood } : undefined,
    elapsedMs: performance.now() - t0,
  };
}
