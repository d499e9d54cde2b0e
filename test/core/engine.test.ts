// The forecasting engine: forecasts, model choice, calibration, bad input and surviving a core abort.
import { describe, expect, it } from 'vitest';
import { createForecastEngine } from '../../src/core/engine.js';
import { fx } from '../../src/core/forecast-exports.js';
import { Core } from '../../src/core/wasm.js';

const core = new Core('debug');

/** Weight a live score keeps per later scored outcome (assembly/forecast/ensemble.ts: half-life 288 outcomes). */
const LIVE_DECAY = 2 ** (-1 / 288);

function seasonal(n: number, seed = 7): Float64Array {
  let s = seed;
  const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = 50 + 20 * Math.sin((2 * Math.PI * i) / 288) + 4 * (rnd() - 0.5);
  return y;
}

function expectSane(q: Float64Array, nLevels: number): void {
  for (const v of q) expect(Number.isFinite(v)).toBe(true);
  for (let h = 0; h < q.length / nLevels; h++) {
    for (let l = 1; l < nLevels; l++) expect(q[h * nLevels + l]).toBeGreaterThanOrEqual(q[h * nLevels + l - 1]);
  }
}

describe('createForecastEngine', () => {
  it('forecasts a daily-seasonal series with Holt-Winters weighted highest and monotone quantiles', () => {
    const eng = createForecastEngine({ intervalS: 300 }, core);
    const y = seasonal(288 * 6);
    eng.fit(['a'], [y]);
    const [f] = eng.forecast(['a']);
    expect(f.status).toBe('ok');
    expectSane(f.quantiles, 4);
    // next point's true mean is 50 + 20 sin(2 pi n / 288) = 50 (n multiple of 288): noise is +-2
    expect(Math.abs(f.point[0] - 50)).toBeLessThan(3);
    const hw = eng.scores('a').find((s) => s.model === 'holt-winters' && s.horizonS === 300)!;
    const pers = eng.scores('a').find((s) => s.model === 'persistence' && s.horizonS === 300)!;
    expect(hw.mae).toBeLessThan(pers.mae);
    expect(hw.weight).toBeGreaterThan(0.5);
  });

  it('forecasts series in one call as it forecasts each alone (their arrays share a buffer without overlapping)', () => {
    const keys = ['a', 'b', 'c', 'd'];
    const ys = keys.map((_, i) => seasonal(288 * 3, 3 + i).map((v) => v * (i + 1)));
    const together = createForecastEngine({ intervalS: 300 }, core);
    const alone = createForecastEngine({ intervalS: 300 }, core);
    together.fit(keys, ys);
    alone.fit(keys, ys);
    for (const levels of [undefined, [0.5, 0.9]]) {
      const got = together.forecast(keys, levels);
      const want = keys.map((k) => alone.forecast([k], levels)[0]);
      expect(got.map((f) => [f.key, [...f.point], [...f.quantiles], f.models])).toEqual(want.map((f) => [f.key, [...f.point], [...f.quantiles], f.models]));
      // writing one series' arrays leaves the others' as they were
      got[1].point.fill(-1);
      got[1].quantiles.fill(-1);
      for (const i of [0, 2, 3]) {
        expect([...got[i].point]).toEqual([...want[i].point]);
        expect([...got[i].quantiles]).toEqual([...want[i].quantiles]);
      }
    }
  });

  it('updates online and keeps 0.9 coverage near its target on stationary noise', () => {
    const eng = createForecastEngine({ intervalS: 300, horizonsS: [300] }, core);
    const y = seasonal(288 * 8, 11);
    eng.fit(['a'], [y.subarray(0, 288 * 4)]);
    let hits = 0, total = 0;
    // the same hits as accuracy() keeps them: a weighted sum whose outcomes lose half their weight in 288 steps
    let wHits = 0, wCount = 0;
    for (let i = 288 * 4; i < y.length - 1; i++) {
      eng.update(['a'], [y.subarray(i, i + 1)]);
      const [f] = eng.forecast(['a']);
      total++;
      const hit = y[i + 1] <= f.quantiles[1] ? 1 : 0;
      hits += hit;
      if (i < y.length - 2) {
        wHits = LIVE_DECAY * wHits + hit;
        wCount = LIVE_DECAY * wCount + 1;
      }
    }
    expect(hits / total).toBeGreaterThan(0.85);
    expect(hits / total).toBeLessThan(0.95);
    // accuracy() scores the same issued forecasts as they matured (all but the last one), recent ones weighing most
    const live = eng.accuracy().find((a) => a.model === 'ensemble' && a.horizonS === 300)!;
    expect(live.samples).toBeCloseTo(wCount, 9);
    expect(live.samples).toBeCloseTo((1 - LIVE_DECAY ** (total - 1)) / (1 - LIVE_DECAY), 9);
    expect(live.coverage[1]).toBeCloseTo(wHits / wCount, 12);
    expect(live.coverage[1]).toBeGreaterThan(0.85);
    expect(live.coverage[1]).toBeLessThan(0.95);
  });

  it('tracks a unit-free live error: a series and the same series x 1e9 score the same relative MAE', () => {
    const run = (keys: string[], scales: number[]) => {
      const eng = createForecastEngine({ intervalS: 300, horizonsS: [300] }, core);
      const y = seasonal(288 * 5, 13);
      const ys = scales.map((c) => y.map((v) => v * c));
      eng.fit(keys, ys.map((v) => v.subarray(0, 288 * 4)));
      let abs = 0, act = 0;
      for (let i = 288 * 4; i < y.length - 1; i++) {
        eng.update(keys, ys.map((v) => v.subarray(i, i + 1)));
        const [f] = eng.forecast(keys);
        if (i < y.length - 2) {
          abs = LIVE_DECAY * abs + Math.abs(ys[0][i + 1] - f.point[0]);
          act = LIVE_DECAY * act + Math.abs(ys[0][i + 1]);
        }
      }
      return { live: eng.accuracy().find((a) => a.model === 'ensemble' && a.horizonS === 300)!, rel: abs / act };
    };
    const cores = run(['cpu'], [1]);
    const bytes = run(['mem'], [1e9]);
    const mixed = run(['cpu', 'mem'], [1, 1e9]);
    // relative to mean usage: about 2-5 % on this series, whatever its unit
    expect(cores.live.relMae).toBeGreaterThan(0.005);
    expect(cores.live.relMae).toBeLessThan(0.2);
    expect(Math.abs(cores.live.relMae - cores.rel) / cores.rel).toBeLessThan(1e-9);
    expect(Math.abs(bytes.live.relMae - cores.live.relMae) / cores.live.relMae).toBeLessThan(0.02);
    expect(Math.abs(mixed.live.relMae - cores.live.relMae) / cores.live.relMae).toBeLessThan(0.02);
    // the absolute MAE is in the series' unit: 1e9 times larger for the scaled copy
    expect(bytes.live.mae / cores.live.mae).toBeGreaterThan(0.98e9);
    expect(bytes.live.mae / cores.live.mae).toBeLessThan(1.02e9);
  });

  it('gives no weight to models the options leave out', () => {
    const eng = createForecastEngine({ intervalS: 300, models: ['persistence', 'histogram'] }, core);
    eng.fit(['a'], [seasonal(288 * 3)]);
    for (const s of eng.scores('a')) {
      if (['holt-winters', 'holt', 'seasonal-naive', 'gru'].includes(s.model)) expect(s.weight).toBe(0);
    }
    const kept = eng.scores('a').filter((s) => s.model === 'persistence' || s.model === 'histogram' || s.model === 'recent-median');
    expect(kept.reduce((a, s) => a + s.weight, 0)).toBeCloseTo(3, 9);
    expectSane(eng.forecast(['a'])[0].quantiles, 4);
  });

  it('falls back to a non-seasonal model and says so when the history is shorter than two seasons', () => {
    const eng = createForecastEngine({ intervalS: 300 }, core);
    eng.fit(['s'], [seasonal(300)]);
    expect(eng.forecast(['s'])[0].status).toBe('nonseasonal-fallback');
  });

  it('gives zero-width intervals at the constant for a constant series', () => {
    const eng = createForecastEngine({ intervalS: 60 }, core);
    eng.fit(['c'], [new Float64Array(500).fill(3.5)]);
    const [f] = eng.forecast(['c']);
    expect(f.status).toBe('constant');
    for (const v of f.quantiles) expect(v).toBeCloseTo(3.5, 9);
  });

  it.each([
    ['empty', new Float64Array(0), 'too-few-points'],
    // the status is said from every point consumed: 42 then the update's 1 are two finite values, as a fit on them says
    ['one sample', Float64Array.of(42), 'nonseasonal-fallback'],
    ['all NaN', new Float64Array(100).fill(NaN), 'too-few-points'],
    ['NaN gaps', seasonal(1000).map((v, i) => (i % 7 === 0 ? NaN : v)), 'ok'],
    ['Inf values', seasonal(1000).map((v, i) => (i % 50 === 0 ? Infinity : v)), 'ok'],
    ['negative values', seasonal(1000).map((v) => v - 80), 'ok'],
    ['1e12-scale values', seasonal(1000).map((v) => v * 1e12), 'ok'],
  ])('returns a clear status and finite quantiles for %s', (_name, y, status) => {
    const eng = createForecastEngine({ intervalS: 300, seasonsS: [86_400] }, core);
    eng.fit(['x'], [y]);
    eng.update(['x'], [Float64Array.of(NaN, Infinity, 1)]);
    const [f] = eng.forecast(['x'], [0.05, 0.5, 0.9, 0.95, 0.99]);
    expect(f.status).toBe(status);
    expectSane(f.quantiles, 5);
    for (const v of f.point) expect(Number.isFinite(v)).toBe(true);
  });

  it('reads the ensemble quantiles from its sorted errors, bit-identical to selecting them in the core', () => {
    const eng = createForecastEngine({ intervalS: 300 }, core, { errWindow: 60 });
    const y = seasonal(288 * 3, 5);
    // two series: one whose error windows wrap many times, one with a window still filling
    eng.fit(['a', 'b'], [y.subarray(0, 288 * 2), y.subarray(0, 30)]);
    for (let i = 288 * 2; i < y.length; i += 7) {
      eng.update(['a', 'b'], [y.subarray(i, i + 7), y.subarray(i, i + 7).map((v) => v * 3)]);
      for (const key of ['a', 'b']) {
        const [f] = eng.forecast([key], [0.05, 0.5, 0.9, 0.99]);
        const viaCore = eng.forecastModels([key], [0.05, 0.5, 0.9, 0.99]).get(key)!.find((m) => m.model === 'ensemble')!;
        expect(Array.from(f.quantiles)).toEqual(Array.from(viaCore.quantiles));
      }
    }
  });

  it('tracks the ensemble alone without changing a forecast: the same quantiles, weights and live accuracy', () => {
    // the allocator's tuning keeps no per-model error windows or calibrations; forecast() reads neither
    const full = createForecastEngine({ intervalS: 300 }, core, { errWindow: 60 });
    const lean = createForecastEngine({ intervalS: 300 }, core, { errWindow: 60, perModelQuantiles: false });
    const y = seasonal(288 * 3, 9);
    const keys = ['a', 'b'];
    const first = [y.subarray(0, 288 * 2), y.subarray(0, 40).map((v) => v * 2)];
    full.fit(keys, first);
    lean.fit(keys, first);
    for (let i = 288 * 2; i < y.length; i += 5) {
      const pts = [y.subarray(i, i + 5), y.subarray(i, i + 5).map((v) => v * 2)];
      full.update(keys, pts);
      lean.update(keys, pts);
      const [fa, la] = [full.forecast(keys), lean.forecast(keys)];
      for (let s = 0; s < keys.length; s++) {
        expect(Array.from(la[s].quantiles)).toEqual(Array.from(fa[s].quantiles));
        expect(la[s].models).toEqual(fa[s].models);
      }
    }
    expect(lean.accuracy()).toEqual(full.accuracy());
    // every model's point forecast is scored live at the issued origins; coverage only where quantiles were issued
    const acc = lean.accuracy().filter((a) => a.horizonS === 900);
    expect(acc.map((a) => a.model).sort()).toEqual([...lean.modelNames].sort());
    for (const a of acc) {
      expect(a.samples).toBeGreaterThan(0);
      expect(a.relMae).toBeGreaterThan(0);
      if (a.model === 'ensemble') for (const c of a.coverage) expect(c).toBeGreaterThanOrEqual(0);
      else for (const c of a.coverage) expect(c).toBeNaN();
    }
    // persistence is scored on its own point forecast, the value at the origin (the last of each batch of 5),
    // against the outcome 3 steps later; series b is 2y, so the MAE averaged over the two series is 1.5x a's
    // (the live scores are decayed sums: each outcome's weight halves every 288 outcomes scored after it)
    let abs = 0, n = 0;
    for (let o = 288 * 2 + 4; o + 3 < y.length; o += 5) {
      abs = LIVE_DECAY * abs + Math.abs(y[o + 3] - y[o]);
      n = LIVE_DECAY * n + 1;
    }
    const pers = acc.find((a) => a.model === 'persistence')!;
    expect(pers.samples).toBeCloseTo(2 * n, 9);
    expect(pers.mae).toBeCloseTo((1.5 * abs) / n, 9);
    // the ensemble's scores are the same; an untracked model reports its recency-weighted MAE and no pinball
    const ens = (e: typeof full) => e.scores('a').filter((s) => s.model === 'ensemble');
    expect(ens(lean)).toEqual(ens(full));
    expect(lean.scores('b').map((s) => s.weight)).toEqual(full.scores('b').map((s) => s.weight));
    const hw = lean.scores('a').find((s) => s.model === 'holt-winters' && s.horizonS === 300)!;
    expect(hw.mae).toBeGreaterThan(0);
    expect(hw.pinball).toBeNaN();
    expect(() => lean.forecastModels(['a'])).toThrow(/perModelQuantiles/);
  });

  it('refits the parameters of known series and keeps what it learnt online; fits unknown ones', () => {
    const eng = createForecastEngine({ intervalS: 300 }, core);
    const y = seasonal(288 * 5, 21);
    eng.fit(['a'], [y.subarray(0, 288 * 4)]);
    for (let i = 288 * 4; i < y.length; i += 12) {
      eng.update(['a'], [y.subarray(i, i + 12)]);
      eng.forecast(['a']);
    }
    const before = eng.scores('a');
    const accBefore = eng.accuracy().find((a) => a.model === 'ensemble' && a.horizonS === 300)!;
    eng.refit(['a', 'new'], [y, y]);
    // the rolling-origin errors, weights and live scores are the ones learnt online (no replay of the history)
    expect(eng.scores('a')).toEqual(before);
    expect(eng.accuracy().find((a) => a.model === 'ensemble' && a.horizonS === 300)!.samples).toBe(accBefore.samples);
    expect(eng.has('new')).toBe(true);
    // the next update and forecast run on the refitted models
    eng.update(['a', 'new'], [seasonal(288 * 5 + 1, 21).subarray(288 * 5), seasonal(288 * 5 + 1, 21).subarray(288 * 5)]);
    const [fa, fn] = eng.forecast(['a', 'new']);
    expectSane(fa.quantiles, 4);
    expect(Math.abs(fa.point[0] - fn.point[0])).toBeLessThan(3);
    expect(() => eng.refit(['a'], [])).toThrow(/1 keys but 0 histories/);
  });

  it('rejects bad options and unknown series with coded errors', () => {
    expect(() => createForecastEngine({ intervalS: 300, horizonsS: [100] }, core)).toThrow(/FORESIGHT_ERR_ARGUMENT_INVALID|not a positive multiple/);
    const eng = createForecastEngine({ intervalS: 300 }, core);
    expect(() => eng.forecast(['nope'])).toThrow(/unknown series/);
    expect(() => eng.forecast([], [1.5])).toThrow(/outside/);
  });

  it('keeps working after the core aborts: the instance is re-created and no state is lost', () => {
    const own = new Core('debug');
    const eng = createForecastEngine({ intervalS: 300 }, own);
    eng.fit(['a'], [seasonal(288 * 3)]);
    const before = eng.forecast(['a'])[0].quantiles.slice();
    // an out-of-range allocation traps inside the core
    expect(() => own.call((x) => fx(x).fc_quantiles(0, 0x7fffffff, 0, 0, 0))).toThrow(/FORESIGHT_ERR_CORE_ABORT|aborted/);
    expect(own.restarts).toBe(1);
    const after = eng.forecast(['a'])[0].quantiles;
    expect(Array.from(after)).toEqual(Array.from(before));
    eng.update(['a'], [seasonal(10)]);
    expectSane(eng.forecast(['a'])[0].quantiles, 4);
  });
});

describe('a history that starts with gaps', () => {
  it('scores the decaying histogram only from its first value: leading gaps change neither its errors nor the quantiles much', () => {
    let s = 4;
    const g = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296 - 0.5) * 0.6;
    const values = Array.from({ length: 60 }, () => 3 + g());
    const run = (lead: number) => {
      const e = createForecastEngine({ intervalS: 300, horizonsS: [300, 900, 1800], quantiles: [0.5, 0.9, 0.99] }, new Core('debug'), { errWindow: 288 });
      e.fit(['s'], [Float64Array.from([...new Array<number>(lead).fill(NaN), ...values])]);
      const mae = e.scores('s').filter((x) => x.model === 'histogram').map((x) => x.mae);
      return { mae, q99: e.forecast(['s'])[0].quantiles[2 * 3 + 2] };
    };
    const clean = run(0);
    for (const lead of [1, 6, 100]) {
      const gaps = run(lead);
      // before: every slot ahead of the first value was scored as a forecast of 0 (30-minute error 0.45 against 0.16,
      // the 30-minute q0.99 +30%)
      for (let k = 0; k < 3; k++) expect(gaps.mae[k]).toBeCloseTo(clean.mae[k], 9);
      expect(gaps.q99 / clean.q99).toBeLessThan(1.05);
    }
  });
});

describe('the zero floor of a non-negative series', () => {
  it('comes back at the refit after a negative glitch has left the window', () => {
    let s = 3;
    const r = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
    const g = () => (r() < 0.1 ? 2 + 3 * r() : 0); // idle, with bursts
    const e = createForecastEngine({ intervalS: 300, horizonsS: [300, 900, 1800], quantiles: [0.5, 0.9, 0.99] }, new Core('debug'));
    const y = Array.from({ length: 2016 }, (_, i) => (i === 100 ? -0.5 : g()));
    e.fit(['s'], [Float64Array.from(y)]);
    const lowest = () => Math.min(...e.forecast(['s'])[0].quantiles);
    let negative = 0;
    for (let c = 0; c < 48; c++) {
      if (lowest() < 0) negative++;
      const v = g();
      y.push(v);
      e.update(['s'], [Float64Array.of(v)]);
    }
    expect(negative).toBeGreaterThan(0); // the glitch is in the window: no floor
    e.refit(['s'], [Float64Array.from(y.slice(-1500))]); // a window without it
    for (let c = 0; c < 48; c++) {
      expect(lowest()).toBeGreaterThanOrEqual(0);
      e.update(['s'], [Float64Array.of(g())]);
    }
  });
});

describe('a new series', () => {
  it('widens a young horizon from a shorter one whatever the order the horizons are given in', () => {
    const y = Float64Array.from({ length: 12 }, (_, i) => 50 + 20 * Math.sin((2 * Math.PI * i) / 288) + 3 * Math.cos(i * 7.3));
    const byHorizon = (hs: number[]): Record<number, number[]> => {
      const e = createForecastEngine({ intervalS: 300, horizonsS: hs }, new Core('release'), { errWindow: 288, perModelQuantiles: false });
      e.fit(['a'], [y.slice(0, 3)]);
      for (let t = 3; t < 8; t++) {
        e.update(['a'], [y.subarray(t, t + 1)]);
        e.forecast(['a']);
      }
      const [f] = e.forecast(['a']);
      const L = e.options.quantiles.length;
      return Object.fromEntries(hs.map((h, k) => [h, Array.from(f.quantiles.subarray(k * L, (k + 1) * L))]));
    };
    const sorted = byHorizon([300, 900, 1800]);
    // the 30-minute interval has no matured error yet: read from a shorter horizon's, widened, not narrowed
    expect(sorted[1800].at(-1)! - sorted[1800][0]).toBeGreaterThan(sorted[300].at(-1)! - sorted[300][0]);
    expect(byHorizon([1800, 300, 900])).toEqual(sorted);
  });

  it('has intervals at every horizon from its first cycles, read from the shorter horizons until its own errors mature', () => {
    // 200 series of noise around 10 (sd 1), each fitted on 3 points and then fed one a cycle: the q0.9 at 15 and 30
    // minutes in the first half hour (before: zero width, equal to the median, 49-59% covered)
    const levels = [0.5, 0.9];
    let s = 11;
    const gauss = () => {
      const u = ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) + 1) / 4294967297;
      const v = (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    };
    const core = new Core('debug');
    let hits = 0, asked = 0, zeroWidth = 0;
    for (let r = 0; r < 200; r++) {
      const y = Float64Array.from({ length: 20 }, () => 10 + gauss());
      const e = createForecastEngine({ intervalS: 300, horizonsS: [300, 900, 1800], quantiles: levels }, core, { errWindow: 288, perModelQuantiles: false });
      e.fit(['s'], [y.subarray(0, 3)]);
      for (let c = 0; c < 6; c++) {
        const q = e.forecast(['s'])[0].quantiles;
        for (const [k, h] of [[1, 3], [2, 6]]) {
          if (q[k * 2 + 1] - q[k * 2] < 1e-9) zeroWidth++;
          if (y[2 + c + h] <= q[k * 2 + 1]) hits++;
          asked++;
        }
        e.update(['s'], [y.subarray(3 + c, 4 + c)]);
      }
    }
    expect(zeroWidth).toBe(0);
    expect(hits / asked).toBeGreaterThan(0.75);
  });
});
