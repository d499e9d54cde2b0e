// The backtest's engine feed trains as the live loop does (src/loop/engine-loop.ts): a first fit on at most the
// history window, online updates, and on each retrain the new samples first, then the engine's warm refit on a window
// that ends at the last sample consumed; an engine without refit is fitted afresh.
import { describe, expect, it } from 'vitest';
import { ForecastFeed } from '../../src/backtest/forecast-feed.js';
import type { PolicyContext } from '../../src/backtest/policy.js';
import type { ForecastEngine, SeriesForecast } from '../../src/core/types.js';
import { seriesKey } from '../../src/model/series.js';

type Call = { op: 'fit' | 'refit' | 'update'; key: string; values: number[] };

/** An engine that records what it is fed and forecasts its last value. */
function recordingEngine(withRefit: boolean): ForecastEngine & { calls: Call[] } {
  const last = new Map<string, number>();
  const calls: Call[] = [];
  const record = (op: Call['op']) => (keys: readonly string[], values: readonly Float64Array[]) => {
    keys.forEach((key, i) => {
      calls.push({ op, key, values: Array.from(values[i]) });
      last.set(key, values[i][values[i].length - 1]);
    });
  };
  const engine: ForecastEngine & { calls: Call[] } = {
    calls,
    options: { intervalS: 300, horizonsS: [300], quantiles: [0.5, 0.9], seasonsS: [] },
    fit: record('fit'),
    update: record('update'),
    forecast: (keys, q = [0.5, 0.9]): SeriesForecast[] =>
      keys.map((key) => ({ key, status: 'ok', point: new Float64Array([last.get(key)!]), quantiles: new Float64Array(q.length).fill(last.get(key)!), models: ['persistence'] })),
    scores: () => [],
    accuracy: () => [],
    remove: (key) => void last.delete(key),
    has: (key) => last.has(key),
  };
  if (withRefit) engine.refit = record('refit');
  return engine;
}

const ctx: PolicyContext = { tenants: ['a', 'b'], resource: 'cpu', startS: 0, intervalS: 300, nSteps: 100, leadS: 300, stepsPerDay: 24 };
const A = seriesKey('a', 'cpu');
const B = seriesKey('b', 'cpu');
const series = (n: number, from = 0) => new Float64Array(n).map((_, j) => from + j);

describe('ForecastFeed training schedule', () => {
  it('fits once, updates online, and on each retrain feeds the new samples then refits warm on the history window', () => {
    const engine = recordingEngine(true);
    // retrain every 4 steps (1,200 s), windows of at most 6 samples, a first fit from 3 samples
    const feed = new ForecastFeed(engine, ctx, { levels: [0.5, 0.9], minFitPoints: 3, refitEveryS: 1200, maxFitPoints: 6 });
    const at = (i: number, lenA: number, lenB: number) => feed.at(i, [series(lenA), series(lenB, 100)]);

    at(0, 3, 2); // a: fitted on 3 samples; b: too short
    expect(engine.calls).toEqual([{ op: 'fit', key: A, values: [0, 1, 2] }]);
    engine.calls.length = 0;

    at(1, 4, 3); // b gets its first fit; a is updated (its first fit set the retrain clock at step 0)
    expect(engine.calls).toEqual([
      { op: 'fit', key: B, values: [100, 101, 102] },
      { op: 'update', key: A, values: [3] },
    ]);
    engine.calls.length = 0;

    at(2, 5, 4);
    at(3, 6, 5);
    expect(engine.calls.map((c) => c.op)).toEqual(['update', 'update', 'update', 'update']);
    engine.calls.length = 0;

    at(4, 9, 6); // retrain due: new samples first, then the warm refit on the last 6, ending at the newest
    expect(engine.calls).toEqual([
      { op: 'update', key: A, values: [6, 7, 8] },
      { op: 'update', key: B, values: [105] },
      { op: 'refit', key: A, values: [3, 4, 5, 6, 7, 8] },
      { op: 'refit', key: B, values: [100, 101, 102, 103, 104, 105] },
    ]);
    expect(feed.fits).toBe(4);
    engine.calls.length = 0;

    at(5, 10, 7); // not due again until step 8
    expect(engine.calls.map((c) => c.op)).toEqual(['update', 'update']);
  });

  it('fits an engine without refit afresh on the history window when a retrain is due', () => {
    const engine = recordingEngine(false);
    const feed = new ForecastFeed(engine, ctx, { levels: [0.5, 0.9], minFitPoints: 3, refitEveryS: 1200, maxFitPoints: 6 });
    for (let i = 0; i < 4; i++) feed.at(i, [series(3 + i), series(3 + i)]);
    engine.calls.length = 0;
    feed.at(4, [series(9), series(9)]);
    expect(engine.calls).toEqual([
      { op: 'fit', key: A, values: [3, 4, 5, 6, 7, 8] },
      { op: 'fit', key: B, values: [3, 4, 5, 6, 7, 8] },
    ]);
  });
});
