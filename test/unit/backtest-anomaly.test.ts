// The backtest replays the sidecar's anomaly handling: a quarantined tenant gets no proactive scale-up (the policy's
// holdScaleUp, as the live decider applies it), and flagged demand waits at the actuator's gate until confirmed.
import { describe, expect, it } from 'vitest';
import { defaultActuatorOptions } from '../../src/actuator/config.js';
import { AnomalyFeed } from '../../src/backtest/anomaly-feed.js';
import { ForecastFeed } from '../../src/backtest/forecast-feed.js';
import { ForesightPolicy } from '../../src/backtest/policies/foresight.js';
import type { PolicyContext } from '../../src/backtest/policy.js';
import { runBacktest, type BacktestOptions } from '../../src/backtest/run.js';
import type { ForecastEngine, SeriesForecast } from '../../src/core/types.js';
import { allocationConfig, decide, holdScaleUp, newAllocationState } from '../../src/logic/allocation.js';
import type { AnomalyScorer, AnomalySeriesInput, AnomalyVerdict } from '../../src/loop/types.js';
import { syntheticGrid } from './backtest-synthetic.js';

const LEVELS = [0.5, 0.9, 0.99];

/** An engine whose every quantile at every horizon is `level.value` (set by the test). */
function levelEngine(level: { value: number }): ForecastEngine {
  const seen = new Set<string>();
  const fit = (keys: readonly string[]) => keys.forEach((k) => seen.add(k));
  return {
    options: { intervalS: 300, horizonsS: [600], quantiles: LEVELS, seasonsS: [] },
    fit,
    update: fit,
    refit: fit,
    forecast: (keys, q = LEVELS): SeriesForecast[] =>
      keys.map((key) => ({ key, status: 'ok', point: new Float64Array([level.value]), quantiles: new Float64Array(q.length).fill(level.value), models: ['persistence'] })),
    scores: () => [],
    accuracy: () => [],
    remove: (key) => void seen.delete(key),
    has: (key) => seen.has(key),
  };
}

/** Flags every tenant from step `from` on (quarantined when the mode says so). */
function scriptedScorer(quarantine: boolean, flagged: { on: boolean }): AnomalyScorer {
  return {
    score: (series) => {
      const out = new Map<string, AnomalyVerdict>();
      for (const s of series) out.set(s.tenant, { score: flagged.on ? 1 : 0, kind: flagged.on ? 'spike' : 'none', anomalous: flagged.on, excludeFromTraining: flagged.on && quarantine });
      return out;
    },
  };
}

const ctx: PolicyContext = { tenants: ['a'], resource: 'cpu', startS: 0, intervalS: 300, nSteps: 40, leadS: 300, stepsPerDay: 288 };

/** Steps a one-tenant policy with usage 1 throughout: the forecast is 1 until step 10, then 10. */
function run(mode: 'off' | 'alert-only' | 'quarantine', flagFrom: number): { out: number[]; reasons: Record<string, number> } {
  const level = { value: 1 };
  const flagged = { on: false };
  const anomaly = mode === 'off' ? undefined : new AnomalyFeed(ctx, mode, scriptedScorer(mode === 'quarantine', flagged));
  const feed = new ForecastFeed(levelEngine(level), ctx, { levels: LEVELS, minFitPoints: 3, refitEveryS: 3600, maxFitPoints: 100 }, anomaly);
  const policy = new ForesightPolicy(ctx, feed, { allocation: { targetShortage: 0.05 }, actuation: { ...defaultActuatorOptions } });
  const usage = new Float64Array(ctx.nSteps).fill(1);
  const out: number[] = [];
  const o = new Float64Array(1);
  for (let i = 0; i < ctx.nSteps; i++) {
    level.value = i >= 10 ? 10 : 1;
    flagged.on = i >= flagFrom;
    policy.step(i, [usage.subarray(0, Math.max(0, i - 1))], o);
    out.push(o[0]);
  }
  return { out, reasons: policy.reasons };
}

describe('holdScaleUp', () => {
  const cfg = allocationConfig({ targetShortage: 0.05 });
  const prev = { ...newAllocationState(cfg), allocation: 2 };
  const up = decide(prev, { nowS: 0, levels: LEVELS, next: [8, 9, 10], window: [8, 9, 10], recentPeak: 3 }, cfg);

  it('holds an increase at the larger of the previous allocation and the recent peak, bounds around it', () => {
    expect(up.allocation).toBeGreaterThan(2);
    const held = holdScaleUp(prev, up, 3, cfg);
    expect(held.allocation).toBe(3);
    expect(held.state).toEqual({ ...prev, allocation: 3 });
    expect(held.reason).toBe('quarantined');
    expect(held.recommendation.target).toBe(3);
    expect(held.recommendation.lowerBound).toBeLessThanOrEqual(3);
    expect(held.recommendation.upperBound).toBeGreaterThanOrEqual(3);
    expect(holdScaleUp(prev, up, NaN, cfg).allocation).toBe(2);
    // under the configured ceiling, as every decision's floor at the recent peak is
    const capped = allocationConfig({ bounds: { max: 2.5 } });
    expect(holdScaleUp(prev, up, 3, capped).allocation).toBe(2.5);
  });

  it('passes decreases, holds and first decisions unchanged', () => {
    const down = { ...up, allocation: 1, state: { ...up.state, allocation: 1 } };
    expect(holdScaleUp(prev, down, 3, cfg)).toBe(down);
    expect(holdScaleUp(newAllocationState(cfg), up, 3, cfg)).toBe(up);
  });
});

describe('the Foresight policy with anomalies replayed', () => {
  const free = run('off', 0);
  // the forecast jumps at step 10: without anomalies the allocation rises from there (a maximum step at a time)
  const rise = free.out.findIndex((v, i) => i >= 10 && v > free.out[9]);

  it('raises the allocation ahead of demand when nothing is flagged', () => {
    expect(rise).toBeGreaterThanOrEqual(10);
    expect(free.out[ctx.nSteps - 1]).toBeGreaterThan(5);
  });

  it('in quarantine holds the allocation while the tenant is flagged, then scales up once it is not', () => {
    const q = run('quarantine', 5);
    for (let i = 10; i < ctx.nSteps; i++) expect(q.out[i]).toBe(q.out[9]);
    expect(q.reasons.quarantined).toBeGreaterThan(0);
    // flagged only until step 20 (a shorter episode): the scale-up comes after it
    const level = { value: 1 };
    const flagged = { on: false };
    const feed = new ForecastFeed(levelEngine(level), ctx, { levels: LEVELS, minFitPoints: 3, refitEveryS: 3600, maxFitPoints: 100 }, new AnomalyFeed(ctx, 'quarantine', scriptedScorer(true, flagged)));
    const policy = new ForesightPolicy(ctx, feed, { allocation: { targetShortage: 0.05 }, actuation: { ...defaultActuatorOptions } });
    const usage = new Float64Array(ctx.nSteps).fill(1);
    const o = new Float64Array(1);
    const out: number[] = [];
    for (let i = 0; i < ctx.nSteps; i++) {
      level.value = i >= 10 ? 10 : 1;
      flagged.on = i >= 5 && i < 20;
      policy.step(i, [usage.subarray(0, Math.max(0, i - 1))], o);
      out.push(o[0]);
    }
    for (let i = 10; i < 20; i++) expect(out[i]).toBe(out[9]);
    expect(out[20]).toBeGreaterThan(out[19]);
  });

  it('in alert-only only reports: the increase goes through at once, as with nothing flagged', () => {
    const a = run('alert-only', 10);
    expect(defaultActuatorOptions.anomalyConfirmS / ctx.intervalS).toBeGreaterThan(1); // what quarantine would hold
    // flagged from step 10, when the policy asks for more: not held (the gate holds only a quarantined tenant)
    expect(a.out[10]).toBeGreaterThan(a.out[9]);
    expect([...a.out]).toEqual([...run('alert-only', ctx.nSteps + 1).out]); // the same as never flagged
    expect(a.reasons.quarantined).toBeUndefined();
  });
});

describe('runBacktest with the real detectors', () => {
  // tenant t1 runs ten times its level for two hours on its third day: a level shift the detectors flag
  const g = syntheticGrid(3, 4 * 288);
  const usage = g.usage.map((u, k) => (k === 1 ? u.map((x, i) => (i >= 600 && i < 624 ? x * 10 : x)) : u));
  const grid = { ...g, usage };
  const base: BacktestOptions = { policies: ['foresight'], targetShortage: 0.05, leadS: 300, sweep: false, provisioningDelayS: 180 };
  const result = (anomalyMode: BacktestOptions['anomalyMode']) => runBacktest(grid, { ...base, anomalyMode });

  it('flags and quarantines in quarantine mode (the default), flags only in alert-only, and does nothing when off', () => {
    const q = runBacktest(grid, base);
    const alert = result('alert-only');
    const off = result('off');
    expect(q.engine!.anomaly.mode).toBe('quarantine');
    expect(q.engine!.anomaly.quarantined).toBeGreaterThan(0);
    expect(q.engine!.anomaly.quarantined).toBe(q.engine!.anomaly.anomalous);
    expect(alert.engine!.anomaly.anomalous).toBeGreaterThan(0);
    expect(alert.engine!.anomaly.quarantined).toBe(0);
    expect(off.engine!.anomaly).toEqual({ mode: 'off', scored: 0, anomalous: 0, quarantined: 0 });
    const alloc = (r: typeof q) => r.results.find((x) => x.main)!.allocations[1];
    expect(Array.from(alloc(q))).not.toEqual(Array.from(alloc(off)));
  });
});

describe('the backtest\'s anomaly feed for a series younger than the warm-up', () => {
  it('gives no evidence from a series\' first 288 points, as the loop gives none for a new tenant\'s', () => {
    const evidence: Array<[number, number | undefined]> = [];
    const recorder: AnomalyScorer = { score: (series) => (series.forEach((x) => evidence.push([x.values.length, x.evidenceFrom])), new Map()) };
    const c: PolicyContext = { tenants: ['a'], resource: 'cpu', startS: 0, intervalS: 300, nSteps: 400, leadS: 300, stepsPerDay: 288 };
    const feed = new AnomalyFeed(c, 'quarantine', recorder);
    // the series starts at its 10th slot (NaN before): its 288th point is slot 297
    const all = Float64Array.from({ length: 400 }, (_, j) => (j < 10 ? NaN : 1));
    for (const visible of [11, 12, 297, 298, 299, 300]) feed.at(visible + 1, [all.subarray(0, visible)]);
    expect(evidence).toEqual([[1, 1], [1, 1], [285, 285], [1, 1], [1, 0], [1, 0]]);
  });

  it('does not flag a spike in the first day of a trace and flags the same spike on the second (real detectors)', () => {
    const c: PolicyContext = { tenants: ['a'], resource: 'cpu', startS: 0, intervalS: 300, nSteps: 420, leadS: 300, stepsPerDay: 288 };
    const feed = new AnomalyFeed(c, 'quarantine');
    const all = Float64Array.from({ length: 420 }, (_, i) => 2 * (1 + 0.3 * Math.sin((2 * Math.PI * i) / 288)) * (1 + 0.02 * Math.sin(i * 7.3)) * (i === 100 || i === 400 ? 10 : 1));
    const flagged: number[] = [];
    for (let i = 1; i < 420; i++) if (feed.at(i, [all.subarray(0, i)]).anomalous[0]) flagged.push(i - 1);
    expect(flagged.filter((j) => j < 288)).toEqual([]);
    expect(flagged).toContain(400);
  });
});

describe('the backtest\'s anomaly feed and last week', () => {
  it('gives the scorer the visible samples a week before each new sample (NaN before the trace), as the store does', () => {
    const inputs: AnomalySeriesInput[] = [];
    const recorder: AnomalyScorer = { score: (series) => (inputs.push(...series), new Map()) };
    const week = 2016;
    const c: PolicyContext = { tenants: ['a'], resource: 'cpu', startS: 3000, intervalS: 300, nSteps: 3 * week, leadS: 300, stepsPerDay: 288 };
    const feed = new AnomalyFeed(c, 'quarantine', recorder);
    // sample j is worth j, so each week-ago value tells where it came from
    const all = Float64Array.from({ length: 3 * week }, (_, j) => j);
    for (const visible of [week + 5, week + 8]) feed.at(visible + 1, [all.subarray(0, visible)]);
    expect(inputs.map((x) => [x.startS, x.values.length])).toEqual([[3000, week + 5], [3000 + (week + 5) * 300, 3]]);
    for (const x of inputs) {
      const from = (x.startS - c.startS) / c.intervalS;
      expect(x.weekAgo).toHaveLength(x.values.length + 12);
      expect([...x.weekAgo!]).toEqual(Array.from({ length: x.values.length + 12 }, (_, j) => (from - week - 6 + j >= 0 ? from - week - 6 + j : NaN)));
    }
  });
});
