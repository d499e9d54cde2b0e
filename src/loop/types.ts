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

export interface AnomalyInput {
  tenant: string;
  /** Each resource of the tenant with its newest sample (value in base unit, time UNIX s). */
  latest: ReadonlyMap<string, { value: number; atS: number }>;
  /** The last `points` slots of a resource, oldest first (a copy: ask only when needed, e.g. to refresh a baseline). */
  window(resource: string, points: number): { startS: number; values: Float64Array } | undefined;
  intervalS: number;
  /** Engine time of the cycle. */
  nowS: number;
  previous?: AnomalyState;
}

/** Scores a tenant's recent behaviour; the loop calls it once per tenant per cycle. */
export type AnomalyFn = (input: AnomalyInput) => AnomalyState;

/** Receives every published snapshot (the actuator, tests). Errors are logged and counted, never stop the loop. */
export interface SnapshotSink {
  publish(snapshot: Snapshot): void | Promise<void>;
}
