// The backtest's engine feed trains as the live loop does (src/loop/engine-loop.ts): a first fit on at most the
// history window, online updates, and on each retrain the new samples first, then the engine's warm refit on a window
// that ends at the last sample consumed; an engine without refit is fitted afresh. With the anomaly verdicts replayed,
// as the loop: scored first, then a quarantined tenant's samples are fed as missing and it is not retrained; later
// retrains do not learn them either.
import { describe, expect, it } from 'vitest';
import { AnomalyFeed } from '../../src/backtest/anomaly-feed.js';
import { coverHorizons, ForecastFeed } from '../../src/backtest/forecast-feed.js';
import type { PolicyContext } from '../../src/backtest/policy.js';
import type { ForecastEngine, SeriesForecast } from '../../src/core/types.js';
import type { AnomalyScorer, AnomalyVerdict } from '../../src/loop/types.js';
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

describe('coverHorizons', () => {
  it('covers the steps after the lead, and at least the first when a step is longer than the cover', () => {
    expect(coverHorizons(300, 300, 1800, 3)).toEqual([600, 1500, 2100]);
    expect(coverHorizons(300, 3600, 1800, 3)).toEqual([7200]);
    expect(coverHorizons(0, 1800, 1800, 3)).toEqual([1800]);
  });
});

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

describe('ForecastFeed with the anomaly verdicts replayed', () => {
  /** A scorer that flags the tenants in `flag` (quarantined when `quarantine`) and records what it is fed. */
  function scriptedScorer(quarantine: boolean) {
    const flag = new Set<string>();
    const fed: Array<{ tenant: string; startS: number; values: number[] }> = [];
    const scorer: AnomalyScorer = {
      score: (series) => {
        const out = new Map<string, AnomalyVerdict>();
        for (const s of series) {
          fed.push({ tenant: s.tenant, startS: s.startS, values: Array.from(s.values) });
          const on = flag.has(s.tenant);
          out.set(s.tenant, { score: on ? 1 : 0, kind: on ? 'spike' : 'none', anomalous: on, excludeFromTraining: on && quarantine });
        }
        return out;
      },
    };
    return { flag, fed, scorer };
  }

  it('scores the new samples first, then feeds a quarantined tenant\'s samples as missing and skips its retrain', () => {
    const engine = recordingEngine(true);
    const s = scriptedScorer(true);
    const anomaly = new AnomalyFeed(ctx, 'quarantine', s.scorer);
    const feed = new ForecastFeed(engine, ctx, { levels: [0.5, 0.9], minFitPoints: 3, refitEveryS: 1200, maxFitPoints: 6 }, anomaly);
    // b starts with a gap: the detectors see it from its first finite sample, as the sidecar's history of it
    const b = (n: number) => series(n, 100).map((x, j) => (j === 0 ? NaN : x));
    const at = (i: number, lenA: number, lenB: number) => feed.at(i, [series(lenA), b(lenB)]);

    const f0 = at(0, 3, 2);
    expect(f0.quarantined).toEqual([false, false]);
    expect(s.fed).toEqual([
      { tenant: 'a', startS: 0, values: [0, 1, 2] },
      { tenant: 'b', startS: 300, values: [101] },
    ]);
    s.fed.length = 0;
    engine.calls.length = 0;

    s.flag.add('a');
    const f1 = at(1, 4, 4);
    expect(f1.quarantined).toEqual([true, false]);
    expect(f1.anomalous).toEqual([true, false]);
    expect(s.fed).toEqual([
      { tenant: 'a', startS: 900, values: [3] },
      { tenant: 'b', startS: 600, values: [102, 103] },
    ]);
    // b is fitted on what it has; a's new sample is fed as missing (NaN)
    expect(engine.calls.map((c) => [c.op, c.key, c.values.map((v) => (Number.isNaN(v) ? 'NaN' : v))])).toEqual([
      ['fit', B, [101, 102, 103]],
      ['update', A, ['NaN']],
    ]);
    at(2, 5, 5);
    at(3, 6, 6);
    engine.calls.length = 0;

    at(4, 9, 7); // retrain due: b is refitted, quarantined a is not
    expect(engine.calls.map((c) => `${c.op} ${c.key}`)).toEqual([`update ${A}`, `update ${B}`, `refit ${B}`]);
    expect(engine.calls[0].values.every(Number.isNaN)).toBe(true);
    engine.calls.length = 0;

    s.flag.clear();
    const f5 = at(5, 10, 8);
    expect(f5.quarantined).toEqual([false, false]);
    expect(engine.calls[0]).toEqual({ op: 'update', key: A, values: [9] });
    expect(anomaly.counts).toEqual({ mode: 'quarantine', scored: 12, anomalous: 4, quarantined: 4 });

    // the next retrain refits a on its window without what it was fed as missing (samples 3 to 8; the window is 7-12)
    at(6, 11, 9);
    at(7, 12, 10);
    engine.calls.length = 0;
    at(8, 13, 11);
    const refitA = engine.calls.find((c) => c.op === 'refit' && c.key === A)!;
    expect(refitA.values.map((v) => (Number.isNaN(v) ? 'NaN' : v))).toEqual(['NaN', 'NaN', 9, 10, 11, 12]);
  });

  it('in alert-only mode flags demand for the gate and trains on everything', () => {
    const engine = recordingEngine(true);
    const s = scriptedScorer(false);
    s.flag.add('a');
    const feed = new ForecastFeed(engine, ctx, { levels: [0.5, 0.9], minFitPoints: 3, refitEveryS: 1200, maxFitPoints: 6 }, new AnomalyFeed(ctx, 'alert-only', s.scorer));
    feed.at(0, [series(3), series(3)]);
    const f = feed.at(1, [series(4), series(4)]);
    expect(f.anomalous).toEqual([true, false]);
    expect(f.quarantined).toEqual([false, false]);
    expect(engine.calls.filter((c) => c.op === 'update').map((c) => c.values)).toEqual([[3], [3]]);
  });
});
