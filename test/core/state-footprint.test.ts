// The JavaScript objects the engine keeps per series (each typed array is ~100 bytes of view plus ~90 of buffer, a
// plain object ~100: at 60,000 series every one per series is ~6 MB), counted live on the heap.
import { queryObjects } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { allocatorTuning, createForecastEngine } from '../../src/core/engine.js';
import { SeriesState } from '../../src/core/series-state.js';
import { Core } from '../../src/core/wasm.js';
import { HistoryStore } from '../../src/model/history-store.js';

const core = new Core('debug');
const STEP = 300, WEEK = 2016, N = 60;

/** Live instances of `ctor` after a full collection. */
const live = (ctor: new (...a: never[]) => unknown): number => queryObjects(ctor, { format: 'count' }) as number;

function history(i: number): Float64Array {
  return Float64Array.from({ length: WEEK }, (_, t) => 10 + 5 * Math.sin((2 * Math.PI * t) / 288 + i) + ((t * 7919 + i) % 13) / 13);
}

describe('per-series objects of the engine', () => {
  it('keeps four Float64Array, one Float32Array and no plain array per series reading a shared history', () => {
    const store = new HistoryStore(STEP, WEEK + 400, WEEK);
    const keys = Array.from({ length: N }, (_, i) => `t${i}/cpu`);
    keys.forEach((k, i) => store.write(k, `t${i}`, 'cpu', 0, history(i)));
    const windows = keys.map((k) => store.window(k)!.values);
    const engine = createForecastEngine({ intervalS: STEP }, core, allocatorTuning(STEP));
    engine.shareHistory((k) => store.get(k));
    // one series first: what the engine keeps whatever the number of series (scratch, layout, shape)
    engine.fit(keys.slice(0, 1), windows.slice(0, 1));
    engine.forecast(keys.slice(0, 1));
    const before = [Float64Array, Float32Array, Uint16Array, Array].map(live);
    for (let i = 1; i < N; i += 4) engine.fit(keys.slice(i, i + 4), windows.slice(i, i + 4));
    engine.forecast(keys);
    const per = [Float64Array, Float32Array, Uint16Array, Array].map((c, j) => (live(c) - before[j]) / (N - 1));
    // block, Holt-Winters, Holt and histogram states; the error ring (the recent values are the store's); the
    // sorted errors; the shape (and its array of disabled models) is one for every series
    expect(per.slice(0, 3)).toEqual([4, 1, 1]);
    expect(per[3]).toBeLessThan(0.5);
    expect(engine.has(keys[N - 1])).toBe(true);
  });

  it('reads the block arrays through views of the block, made when read', () => {
    const st = new SeriesState({ models: ['a', 'b'], hs: [1, 2], levels: [0.5, 0.9], errWindow: 8, season: 0, lossHalfLife: 4 });
    expect(Object.keys(st)).not.toContain('weights');
    const w = st.weights;
    expect(w.buffer).toBe(st.block.buffer);
    expect(Array.from(w)).toEqual([0.5, 0.5, 0.5, 0.5]);
    w[1] = 0.25;
    expect(st.weights[1]).toBe(0.25);
    expect(st.weights).not.toBe(w);
    expect([st.fc.length, st.fcOrigin.length, st.shift.length, st.issuedQ.length, st.liveQN.length]).toEqual([3 * 2 * 3, 3, 3 * 2 * 2, 3 * 3 * 2 * 2, 3 * 2]);
  });
});
