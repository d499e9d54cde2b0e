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
    const kinds = [Float64Array, Float32Array, Uint16Array, Array, ArrayBuffer];
    const before = kinds.map(live);
    for (let i = 1; i < N; i += 4) engine.fit(keys.slice(i, i + 4), windows.slice(i, i + 4));
    engine.forecast(keys);
    const per = kinds.map((c, j) => (live(c) - before[j]) / (N - 1));
    // block, Holt-Winters, Holt and histogram states; the error ring (the recent values are the store's); the
    // sorted errors; the shape (and its array of disabled models) is one for every series
    expect(per.slice(0, 3)).toEqual([4, 1, 1]);
    expect(per[3]).toBeLessThan(0.5);
    // one buffer: the block, the three model states, the error ring, its counts and order, the issued models
    expect(per[4]).toBe(1);
    expect(engine.has(keys[N - 1])).toBe(true);
  });

  it('keeps the block, the model states, the error ring, its counts and order and the issued models apart in one buffer', () => {
    const hw = Float64Array.from({ length: 17 }, (_, i) => i + 0.5), holt = Float64Array.from({ length: 5 }, (_, i) => -i);
    for (const errWindow of [8, 0x10001]) {
      const st = new SeriesState({ models: ['a', 'b', 'c'], hs: [1, 2, 6], levels: [0.1, 0.5, 0.9], errWindow, season: 4, lossHalfLife: 4 }, undefined, { hw, holt, histLen: 9 });
      expect([Array.from(st.hw), Array.from(st.holt), Array.from(st.hist)]).toEqual([Array.from(hw), Array.from(holt), Array(9).fill(0)]);
      expect(st.hw.buffer).not.toBe(hw.buffer);
      const parts = [st.block, st.hw, st.holt, st.hist, st.err, st.sortedN, st.sorted, st.issuedModels];
      for (const a of parts) expect(a.buffer).toBe(st.block.buffer);
      expect(st.sorted).toBeInstanceOf(errWindow > 0x10000 ? Uint32Array : Uint16Array);
      // in order, each after the one before, the last ending at the buffer's end
      for (let i = 1; i < parts.length; i++) expect(parts[i].byteOffset).toBe(parts[i - 1].byteOffset + parts[i - 1].byteLength);
      expect(st.issuedModels.byteOffset + st.issuedModels.byteLength).toBe(st.block.buffer.byteLength);
      expect([st.err.length, st.sorted.length, st.sortedN.length, st.issuedModels.length]).toEqual([4 * 3 * errWindow, 3 * errWindow, 3, 7 * 4]);
      // fresh state: no error yet, none sorted, nothing issued, the block's scalars as before
      expect(st.err.every(Number.isNaN)).toBe(true);
      expect([...st.sortedN, ...st.issuedModels].every((v) => v === 0)).toBe(true);
      expect(Array.from(st.weights)).toEqual(Array(9).fill(1 / 3));
      // a refit's states of the same length are written in place; of another length, taken as they are
      const hw2 = hw.map((v) => v * 2);
      st.setModels(hw2, holt.subarray(0, 3));
      expect(st.hw.buffer).toBe(st.block.buffer);
      expect(Array.from(st.hw)).toEqual(Array.from(hw2));
      expect(st.holt).toEqual(holt.subarray(0, 3));
      expect(st.holt.buffer).toBe(holt.buffer);
    }
    // a state made without model states (not fitted yet) has empty ones
    const bare = new SeriesState({ models: ['a'], hs: [1], levels: [0.5], errWindow: 4, season: 0, lossHalfLife: 4 });
    expect([bare.hw.length, bare.holt.length, bare.hist.length]).toEqual([0, 0, 0]);
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
