// A state that reads its recent values from the history store (SharedHistory) instead of its own ring: the same
// arithmetic as the own ring, point for point, and a way back to an own ring when a caller breaks the contract.
import { describe, expect, it } from 'vitest';
import { allocatorTuning, createForecastEngine } from '../../src/core/engine.js';
import { SeriesState, type StateShape, type StepInputs } from '../../src/core/series-state.js';
import { Core } from '../../src/core/wasm.js';
import { HistoryStore } from '../../src/model/history-store.js';

// the debug core fills every ring slot the host does not copy with NaN: a read outside the copied set shows
const core = new Core('debug');
const STEP = 60;
const shape: StateShape = {
  models: ['holt-winters', 'histogram', 'persistence', 'seasonal-naive', 'holt', 'recent-median', 'seasonal-median'],
  hs: [1, 3],
  levels: [0.5, 0.9],
  errWindow: 6,
  season: 4,
  lossHalfLife: 2,
};
const RING = 4 * 7 + 1; // season x seasonal-median depth + 1

/** Seeded uniform draws in [0, 1) (an LCG, as test/helpers/random.ts). */
function uniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
}

function series(n: number, seed: number): number[] {
  const r = uniform(seed);
  return Array.from({ length: n }, (_, t) => (t % 17 === 5 ? NaN : 10 + 3 * Math.sin((2 * Math.PI * t) / 4) + r()));
}

function inputs(n: number, seed: number): StepInputs {
  const r = uniform(seed);
  return {
    hw: Float64Array.from({ length: 2 * n }, () => 10 + r()),
    hist: Float64Array.from({ length: n }, () => 9 + r()),
    holt: Float64Array.from({ length: 2 * n }, () => 11 + r()),
  };
}

/** Every value a state can read (back 0 .. ring - 1). */
const recents = (st: SeriesState) => Array.from({ length: RING }, (_, b) => st.recent(b));

describe('SeriesState with a shared history', () => {
  it('reads the store in place of its ring and computes exactly what an own ring computes', () => {
    const store = new HistoryStore(STEP, RING + 6);
    const y = series(160, 1);
    const own = new SeriesState(shape);
    let shared: SeriesState | undefined;
    // chunks of 1 to 6 new points (up to the store's margin over the ring), some fed as gaps over stored values
    const r = uniform(2);
    let t = 0;
    let chunk = 0;
    while (t < y.length) {
      const n = Math.min(y.length - t, 1 + Math.floor(r() * 6));
      store.write('k', 'a', 'cpu', t * STEP, y.slice(t, t + n));
      const fed = chunk % 5 === 3 ? new Array<number>(n).fill(NaN) : y.slice(t, t + n); // a quarantined stretch
      shared ??= new SeriesState(shape, store.get('k'));
      const inp = inputs(n, 100 + chunk);
      own.advance(fed, inp, core);
      shared.advance(fed, inp, core);
      expect(shared.shared).toBe(store.get('k'));
      expect(Array.from(shared.block)).toEqual(Array.from(own.block));
      expect(Array.from(shared.err)).toEqual(Array.from(own.err));
      expect(recents(shared)).toEqual(recents(own));
      t += n;
      chunk++;
    }
    expect(shared!.ring.length).toBe(0); // no copy of its own
    expect(own.ring.length).toBe(RING);
    // the gaps it was fed read as gaps although the store holds the values
    expect(recents(shared!).filter((v) => Number.isNaN(v)).length).toBeGreaterThan(3);
  });

  it('goes back to an own ring, with the same values, when a call does not end at the newest stored slot', () => {
    const store = new HistoryStore(STEP, RING + 6);
    const y = series(60, 3);
    store.write('k', 'a', 'cpu', 0, y);
    const own = new SeriesState(shape);
    const shared = new SeriesState(shape, store.get('k'));
    own.advance(y, inputs(60, 4), core);
    shared.advance(y, inputs(60, 4), core);
    // the caller feeds a point the store does not have
    own.advance([42], inputs(1, 5), core);
    shared.advance([42], inputs(1, 5), core);
    expect(shared.shared).toBeUndefined();
    expect(shared.ring.length).toBe(RING);
    expect(Array.from(shared.block)).toEqual(Array.from(own.block));
    expect(recents(shared)).toEqual(recents(own));
  });

  it('does not share a history shorter than its ring', () => {
    const short = new HistoryStore(STEP, RING - 1);
    short.write('k', 'a', 'cpu', 0, [1, 2, 3]);
    const st = new SeriesState(shape, short.get('k'));
    expect(st.shared).toBeUndefined();
    expect(st.ring.length).toBe(RING);
    const store = new HistoryStore(STEP, RING);
    store.write('k', 'a', 'cpu', 0, [1, 2, 3]);
    const lent = new SeriesState(shape, store.get('k'));
    expect(lent.shared).toBe(store.get('k'));
    expect(lent.ring.length).toBe(0);
  });

  it('reads a late revision of a value it has consumed (its own ring would keep the first value)', () => {
    const store = new HistoryStore(STEP, RING + 6);
    store.write('k', 'a', 'cpu', 0, [1, 2, 3, 4]);
    const st = new SeriesState(shape, store.get('k'));
    st.advance([1, 2, 3, 4], inputs(4, 7), core);
    store.write('k', 'a', 'cpu', 2 * STEP, [30]); // slot of the third point, revised
    expect(st.recent(1)).toBe(30);
    expect(st.recent(0)).toBe(4);
  });
});

describe('engine with a shared history', () => {
  it('forecasts exactly as with its own rings, reading the store, through fits, updates and catch-ups', () => {
    const opts = { intervalS: 300, horizonsS: [300, 900, 1800], quantiles: [0.5, 0.9, 0.95], seasonsS: [3600] };
    const own = createForecastEngine(opts, core, allocatorTuning(300));
    const lent = createForecastEngine(opts, core, allocatorTuning(300));
    expect(lent.recentPoints).toBe(12 * 7 + 1);
    // as the loop builds it: the engine's recent points plus a catch-up margin, windows of the fitted history
    const store = new HistoryStore(300, Math.max(60, lent.recentPoints! + 12), 60);
    lent.shareHistory!((key) => store.get(key));
    const keys = ['a/cpu', 'b/cpu'];
    const ys = keys.map((_, i) => series(400, 10 + i).map((v) => v * (i + 1)));
    keys.forEach((k, i) => store.write(k, k[0], 'cpu', 0, ys[i].slice(0, 150)));
    const hist = keys.map((k) => store.window(k)!.values);
    expect(hist[0].length).toBe(60);
    own.fit(keys, hist);
    lent.fit(keys, hist);
    const same = () => {
      const a = own.forecast(keys);
      const b = lent.forecast(keys);
      a.forEach((f, i) => {
        expect(Array.from(b[i].point)).toEqual(Array.from(f.point));
        expect(Array.from(b[i].quantiles)).toEqual(Array.from(f.quantiles));
      });
      expect(lent.accuracy()).toEqual(own.accuracy());
    };
    same();
    let t = 150;
    // three times round: the store wraps; 12 new points is the margin (a catch-up the store still reads exactly)
    for (const n of [1, 1, 12, 1, 5, 1, 1, 7, 1, 3, 1, 1].flatMap((x) => [x, x, x])) {
      keys.forEach((k, i) => store.write(k, k[0], 'cpu', t * 300, ys[i].slice(t, t + n)));
      const fed = keys.map((k, i) => (n === 5 && i === 1 ? new Float64Array(n).fill(NaN) : store.since(k, (t - 1) * 300)!.values));
      own.update(keys, fed);
      lent.update(keys, fed);
      same();
      t += n;
    }
    // a key twice in one call: its first points do not end at the newest stored slot, though here they end with the
    // same value (which the alignment check alone would take for the newest slot); an own copy, still the same
    const a3 = [ys[0][t], ys[0][t + 1], ys[0][t]];
    store.write(keys[0], 'a', 'cpu', t * 300, a3);
    store.write(keys[1], 'b', 'cpu', t * 300, ys[1].slice(t, t + 3));
    const twice = [keys[0], keys[0], keys[1]];
    const pts = [a3.slice(0, 1), a3.slice(1), ys[1].slice(t, t + 3)].map((a) => Float64Array.from(a));
    own.update(twice, pts);
    lent.update(twice, pts);
    same();
  });
});
