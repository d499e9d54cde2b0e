// Narrow interfaces the engine loop depends on: clock, logger, metrics hooks, allocation and anomaly callbacks, sinks.
import type { SeriesForecast } from '../core/types.js';
import type { AnomalyState, Recommendation, Snapshot } from '../model/snapshot.js';

export interface Clock {
  /** Engine time, UNIX seconds (accelerated in the demo). */
  nowS(): number;
}

export const systemClock: Clock = { nowS: () => Date.now() / 1000 };

/** A clock running `speed` times faster than real time from `startS` (the demo's replay clock). */
export function acceleratedClock(startS: number, speed: number, realNowMs: () => number = Date.now): Clock {
  const t0 = realNowMs();
  return { nowS: () => startS + ((realNowMs() - t0) / 1000) * speed };
}

/** The subset of pino the loop uses. */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {}, debug() {} };

export const LOOP_STEPS = ['pull', 'store', 'profile', 'train', 'update', 'forecast', 'anomaly', 'decide', 'publish'] as const;
export type LoopStep = (typeof LOOP_STEPS)[number];

/** Where the loop reports timings and counts (the exporter implements it; tests may record). */
export interface LoopMetrics {
  stepDuration(step: LoopStep, seconds: number): void;
  error(stage: string, n?: number): void;
  cycle(outcome: 'success' | 'failure'): void;
}

export const noMetrics: LoopMetrics = { stepDuration() {}, error() {}, cycle() {} };

export interface DecideInput {
  tenant: string;
  resource: string;
  forecast: SeriesForecast;
  horizonsS: readonly number[];
  quantiles: readonly number[];
  usage: number;
  recentPeak: number;
  previous?: Recommendation;
  /** Samples observed since the previous decision for this series, oldest first (for calibration). */
  newPoints?: { startS: number; intervalS: number; values: Float64Array };
  /** The tenant is anomalous and quarantined: no proactive scale-up. */
  quarantined: boolean;
  nowS: number;
}

/** Allocation policy for one series (the live loop and the backtest share it). Undefined = no recommendation. */
export type DecideFn = (input: DecideInput) => Recommendation | undefined;

/** Samples of one series the anomaly scorer has not seen yet, oldest first, on the loop's grid. */
export interface AnomalySeriesInput {
  key: string;
  tenant: string;
  resource: string;
  startS: number;
  values: Float64Array;
  /**
   * Index of the first sample whose score is evidence for this call's verdict (default 0: every sample). A warm-up
   * passes its last index: the history trains the detectors, and only the newest sample speaks for the tenant now (a
   * spike hours ago in the history is no reason to quarantine it).
   */
  evidenceFrom?: number;
  /**
   * The same series one week earlier (src/logic/recurrence.ts weekAgoSpan): the slots from startS - 1 week - margin,
   * values.length + 2 * margin of them, NaN where unknown. A sample within what
   * the series did then is no evidence (a weekly shape is not an anomaly). Absent: nothing recurs.
   */
  weekAgo?: Float64Array;
}

export interface AnomalyVerdict extends AnomalyState {
  /** Drop this tenant's new points from model training (quarantine). */
  excludeFromTraining: boolean;
}

/** Scores every tenant once per cycle from the new samples of its series (streaming detectors keep their state). */
export interface AnomalyScorer {
  score(series: readonly AnomalySeriesInput[], intervalS: number): Map<string, AnomalyVerdict>;
  /** Whether the scorer reads AnomalySeriesInput.weekAgo (absent: it does). When false the loop neither pulls the
   *  week-ago window nor keeps room for it in the store, nor reads those values for the scorer. */
  readonly usesWeekAgo?: boolean;
  /** Frees the state of a vanished series. */
  forget?(key: string, tenant: string): void;
  /** Whether the series' detector has its state (absent: assumed so). False for a series the loop has fed before when
   *  the state was lost (a restart of the core that held it): the loop then feeds it a warm-up again, as a new one. */
  known?(key: string): boolean;
}

/** Receives every published snapshot (the actuator, tests). Errors are logged and counted, never stop the loop. */
export interface SnapshotSink {
  publish(snapshot: Snapshot): void | Promise<void>;
}
