// The engine's online update: atomic per call (a call that fails leaves every series as it was, so the loop's retry
// feeds no model twice), a key repeated in one call consumed in order, and the status said from what a series consumed.
import { describe, expect, it } from 'vitest';
import { allocatorTuning, createForecastEngine, type EngineTuning, type ForesightEngine } from '../../src/core/engine.js';
import { Status } from '../../src/core/status.js';
import { Core, type CoreExports } from '../../src/core/wasm.js';
import { HistoryStore } from '../../src/model/history-store.js';

const DAY = 288;

/** A core whose ensemble step fails once, after letting `failAfter` steps through: a trap, or a bad status code
 *  (what checkStatus turns into an error). */
class FlakyCore extends Core {
  failAfter = -1;
  mode: 'trap' | 'status' = 'trap';

  override call<T>(fn: (x: CoreExports) => T): T {
    return super.call((x) => {
      if (this.failAfter < 0) return fn(x);
      // the exports object is frozen: a proxy over an empty object forwards everything but the step
      const px = new Proxy({} as CoreExports, {
        get: (_t, p) => {
          if (p !== 'fc_ens_advance_batch') return x[p as string];
          return (...a: number[]) => {
            if (this.failAfter > 0) {
              this.failAfter--;
              return (x.fc_ens_advance_batch as (...b: number[]) => number)(...a);
            }
            this.failAfter = -1;
            if (this.mode === 'trap') throw new WebAssembly.RuntimeError('unreachable (injected)');
            return Status.BadParam;
          };
        },
      });
      return fn(px);
    });
  }
}

function seasonal(n: number, seed: number, from = 0): Float64Array {
  let s = seed;
  const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = 100 + 30 * Math.sin((2 * Math.PI * (from + i)) / DAY) + 5 * (rnd() - 0.5);
  return y;
}

/** Everything a caller can read of a series: every model's quantile forecast, scores and the forecast's status
 *  (forecasting issues quantiles that calibration later scores: read every engine compared at the same origins). */
function readOut(e: ForesightEngine, keys: readonly string[], perModel = true): unknown {
  return keys.map((k) => ({
    models: perModel ? e.forecastModels([k]).get(k)!.map((f) => [f.model, Array.from(f.point), Array.from(f.quantiles)]) : [],
    forecast: e.forecast([k]).map((f) => [f.status, Array.from(f.quantiles), f.models]),
    scores: e.scores(k),
  }));
}

/** What the loop does (engine-loop.ts #each): the batch, and when it throws the same points key by key. */
function updateWithRetry(e: ForesightEngine, keys: string[], pts: Float64Array[]): boolean {
  try {
    e.update(keys, pts);
    return false;
  } catch {
    keys.forEach((k, i) => e.update([k], [pts[i]]));
    return true;
  }
}

const y = { a: seasonal(4 * DAY, 3), b: seasonal(4 * DAY, 5), n: seasonal(4 * DAY, 9) };

describe('engine update after a failed call', () => {
  for (const [mode, failAfter, what] of [
    ['trap', 1, 'the ensemble step of known series traps'],
    ['trap', 0, 'the backtest of a series fitted by the call traps'],
    ['status', 1, 'the ensemble step returns a bad status'],
  ] as const) {
    it(`forecasts as if the call had never failed when ${what} and the loop retries key by key`, () => {
      const ref = createForecastEngine({ intervalS: 300 }, new Core('debug'));
      const flaky = new FlakyCore('debug');
      const eng = createForecastEngine({ intervalS: 300 }, flaky);
      for (const e of [ref, eng]) e.fit(['a', 'b'], [y.a.slice(0, 3 * DAY), y.b.slice(0, 3 * DAY)]);
      const keys = ['a', 'b', 'n'];
      const at = (from: number, to: number) => [y.a.slice(from, to), y.b.slice(from, to), y.n.slice(from === 3 * DAY ? 0 : from, to)];
      for (const e of [ref, eng]) e.forecast(['a', 'b']);
      ref.update(keys, at(3 * DAY, 3 * DAY + 12));
      flaky.mode = mode;
      flaky.failAfter = failAfter;
      expect(updateWithRetry(eng, keys, at(3 * DAY, 3 * DAY + 12))).toBe(true);
      expect(flaky.failAfter).toBe(-1);
      expect(flaky.restarts).toBe(mode === 'trap' ? 1 : 0);
      for (const e of [ref, eng]) e.forecast(keys);
      for (let t = 3 * DAY + 12; t < 3 * DAY + 60; t += 4) {
        for (const e of [ref, eng]) {
          e.update(keys, at(t, t + 4));
          e.forecast(keys);
        }
      }
      expect(readOut(eng, keys)).toEqual(readOut(ref, keys));
      expect(eng.accuracy()).toEqual(ref.accuracy());
    });
  }

  it('undoes the first wave of a call whose second wave fails (a key repeated in the call)', () => {
    // 8 days: the recent-value ring (7 daily seasons) has wrapped, so new points overwrite values still read
    const long = { a: seasonal(9 * DAY, 3), b: seasonal(9 * DAY, 5) };
    const ref = createForecastEngine({ intervalS: 300 }, new Core('debug'));
    const flaky = new FlakyCore('debug');
    const eng = createForecastEngine({ intervalS: 300 }, flaky);
    for (const e of [ref, eng]) e.fit(['a', 'b'], [long.a.slice(0, 8 * DAY), long.b.slice(0, 8 * DAY)]);
    const t = 8 * DAY;
    const keys = ['a', 'b', 'a'];
    const pts = [long.a.slice(t, t + 10), long.b.slice(t, t + 20), long.a.slice(t + 10, t + 20)];
    // (reading forecasts issues them: both engines read at the same origins)
    readOut(ref, ['a', 'b']);
    const before = readOut(eng, ['a', 'b']);
    flaky.failAfter = 1;
    expect(() => eng.update(keys, pts)).toThrow(/aborted/);
    expect(readOut(eng, ['a', 'b'])).toEqual(before);
    for (const e of [ref, eng]) e.update(keys, pts);
    for (let u = t + 20; u < t + 60; u += 5) {
      for (const e of [ref, eng]) {
        e.update(['a', 'b'], [long.a.slice(u, u + 5), long.b.slice(u, u + 5)]);
        e.forecast(['a', 'b']);
      }
    }
    expect(readOut(eng, ['a', 'b'])).toEqual(readOut(ref, ['a', 'b']));
  });

  it('undoes a first wave that rewrote whole rings (more new points than the error window and the recent values)', () => {
    // an hourly season at 5 minutes keeps 7 x 12 + 1 recent values; an error window of 12 origins
    const options = { intervalS: 300, seasonsS: [3600] };
    const ref = createForecastEngine(options, new Core('debug'), { errWindow: 12 });
    const flaky = new FlakyCore('debug');
    const eng = createForecastEngine(options, flaky, { errWindow: 12 });
    for (const e of [ref, eng]) e.fit(['a', 'b'], [y.a.slice(0, 200), y.b.slice(0, 200)]);
    const keys = ['a', 'b', 'a'];
    const pts = [y.a.slice(200, 300), y.b.slice(200, 210), y.a.slice(300, 310)];
    readOut(ref, ['a', 'b']);
    const before = readOut(eng, ['a', 'b']);
    flaky.failAfter = 1;
    expect(() => eng.update(keys, pts)).toThrow(/aborted/);
    expect(readOut(eng, ['a', 'b'])).toEqual(before);
    // go on with fewer points than the failed call had: the step reads recent values and errors the call overwrote
    for (let t = 200; t < 230; t += 5) {
      for (const e of [ref, eng]) e.update(['a', 'b'], [y.a.slice(t, t + 5), y.b.slice(t, t + 5)]);
    }
    expect(readOut(eng, ['a', 'b'])).toEqual(readOut(ref, ['a', 'b']));
  });

  it('leaves a series that reads a shared history where it was, so the retry consumes the same slots', () => {
    const tuning: Partial<EngineTuning> = allocatorTuning(300);
    const ref = createForecastEngine({ intervalS: 300 }, new Core('debug'), tuning);
    const flaky = new FlakyCore('debug');
    const eng = createForecastEngine({ intervalS: 300 }, flaky, tuning);
    // 'a' reads the store, 'b' (not in the store) keeps its own values and is fed twice per call: two waves
    const stores = [ref, eng].map((e) => {
      const store = new HistoryStore(300, e.recentPoints + 24);
      e.shareHistory((k) => store.get(k));
      store.write('a', 't', 'cpu', 0, y.a.slice(0, 3 * DAY));
      e.fit(['a', 'b'], [y.a.slice(0, 3 * DAY), y.b.slice(0, 3 * DAY)]);
      return store;
    });
    const keys = ['a', 'b', 'b'];
    for (let t = 3 * DAY, i = 0; t < 3 * DAY + 60; t += 6, i++) {
      for (const s of stores) s.write('a', 't', 'cpu', t * 300, y.a.slice(t, t + 6));
      const pts = [y.a.slice(t, t + 6), y.b.slice(t, t + 3), y.b.slice(t + 3, t + 6)];
      if (i === 2) flaky.failAfter = 1; // 'a' consumed its slots in the first wave, the second wave traps
      for (const e of [ref, eng]) {
        updateWithRetry(e, keys, pts);
        e.forecast(['a', 'b']);
      }
    }
    expect(flaky.restarts).toBe(1);
    expect(readOut(eng, ['a', 'b'], false)).toEqual(readOut(ref, ['a', 'b'], false));
    expect(eng.accuracy()).toEqual(ref.accuracy());
  });
});

describe('engine update with a key repeated in one call', () => {
  for (const known of [false, true]) {
    it(`consumes the points of each occurrence in order, as one call per occurrence (${known ? 'known' : 'unknown'} key)`, () => {
      const batch = createForecastEngine({ intervalS: 300 }, new Core('debug'));
      const single = createForecastEngine({ intervalS: 300 }, new Core('debug'));
      if (known) for (const e of [batch, single]) e.fit(['k'], [y.a.slice(0, 2 * DAY)]);
      const p = [y.a.slice(2 * DAY, 2 * DAY + 40), y.a.slice(2 * DAY + 40, 2 * DAY + 70), y.a.slice(2 * DAY + 70, 2 * DAY + 75)];
      batch.update(['k', 'other', 'k', 'k'], [p[0], y.b.slice(0, 50), p[1], p[2]]);
      single.update(['k'], [p[0]]);
      single.update(['other'], [y.b.slice(0, 50)]);
      single.update(['k'], [p[1]]);
      single.update(['k'], [p[2]]);
      expect(readOut(batch, ['k', 'other'])).toEqual(readOut(single, ['k', 'other']));
    });
  }
});

describe('engine status after update', () => {
  it('stops saying too-few-points once a series fitted on one point has been given enough points', () => {
    const eng = createForecastEngine({ intervalS: 300 }, new Core('debug'));
    eng.update(['k'], [y.a.slice(0, 1)]);
    expect(eng.forecast(['k'])[0].status).toBe('too-few-points');
    for (let t = 1; t < 3 * DAY; t += 12) eng.update(['k'], [y.a.subarray(t, t + 12)]);
    // the Holt-Winters member is still the non-seasonal model of its first fit: a refit makes it seasonal
    expect(eng.forecast(['k'])[0].status).toBe('nonseasonal-fallback');
    eng.refit(['k'], [y.a.slice(0, 3 * DAY)]);
    expect(eng.forecast(['k'])[0].status).toBe('ok');
  });

  it('says what a fit on the same points says (the fit kernel rule), point by point', () => {
    const cases: [string, number[]][] = [
      ['gaps then one value', [NaN, NaN, 4, NaN]],
      ['constant with gaps and infinities', [2.5, NaN, 2.5, Infinity, 2.5, 2.5]],
      ['constant then varying', [7, 7, 7, 7, 7, 8, 7, 6]],
      ['negative and varying', [-3, -1, -4, -1, -5, -9, -2, -6]],
    ];
    for (const [, values] of cases) {
      const fitted = createForecastEngine({ intervalS: 300 }, new Core('debug'));
      const updated = createForecastEngine({ intervalS: 300 }, new Core('debug'));
      for (let n = 1; n <= values.length; n++) {
        fitted.fit(['k'], [Float64Array.from(values.slice(0, n))]);
        updated.update(['k'], [Float64Array.from(values.slice(n - 1, n))]);
        expect(updated.forecast(['k'])[0].status).toBe(fitted.forecast(['k'])[0].status);
      }
    }
    // and the kernel's statuses were all seen on the way
    const seen = new Set<string>();
    const e = createForecastEngine({ intervalS: 300 }, new Core('debug'));
    for (const [name, values] of cases) {
      for (let n = 1; n <= values.length; n++) {
        e.fit([name], [Float64Array.from(values.slice(0, n))]);
        seen.add(e.forecast([name])[0].status);
      }
    }
    expect([...seen].sort()).toEqual(['constant', 'nonseasonal-fallback', 'too-few-points']);
  });
});
