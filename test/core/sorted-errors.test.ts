// The ensemble's sorted errors (SeriesState.sorted): slots of its error ring in the order of their values, read by
// every forecast's quantiles; checked against a plain sort of the ring after journal writes, bulk writes and undo.
import { describe, expect, it } from 'vitest';
import { SeriesState, UndoLog, type StateShape, type StepInputs } from '../../src/core/series-state.js';
import { Core } from '../../src/core/wasm.js';

const core = new Core('debug');

// hw and histogram are given, persistence is the core's; with the histogram and persistence disabled the ensemble
// forecasts the hw input exactly, so integer points against an integer hw give ties in the errors on purpose
const shape = (errWindow: number): StateShape => ({
  models: ['holt-winters', 'histogram', 'persistence'],
  hs: [1, 3],
  levels: [0.5, 0.9],
  errWindow,
  season: 0,
  lossHalfLife: 4,
  disabled: [false, true, true],
  quantileModels: 'ensemble',
});

/** The ensemble's errors at horizon index k as the sorted slots give them, in their order. */
function sortedValues(st: SeriesState, k: number): number[] {
  const E = st.shape.errWindow, at = st.ensErrAt + k * E;
  return Array.from(st.sorted.subarray(k * E, k * E + st.sortedN[k]), (s) => st.err[at + s]);
}

/** The same errors by a plain sort of the ring (NaN left out). */
function plainSort(st: SeriesState, k: number): number[] {
  const E = st.shape.errWindow, at = st.ensErrAt + k * E;
  return Array.from(st.err.subarray(at, at + E).filter((v) => v === v).sort());
}

/** R's type-7 quantile of ascending values. */
function type7(a: number[], p: number): number {
  if (a.length === 0) return 0;
  const pos = p * (a.length - 1), i = Math.floor(pos), frac = pos - i;
  return frac > 0 && i + 1 < a.length ? a[i] + frac * (a[i + 1] - a[i]) : a[i];
}

function expectSortedLikeRing(st: SeriesState): void {
  for (let k = 0; k < st.K; k++) {
    const plain = plainSort(st, k);
    expect(sortedValues(st, k)).toEqual(plain);
    for (const p of [0, 0.05, 0.5, 0.9, 0.99, 1]) expect(st.ensembleErrorQuantile(k, p)).toBe(type7(plain, p));
  }
}

/** Deterministic small integers with gaps (NaN) now and then. */
function points(seed: number, n: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 16807) % 2147483647;
    return s % 17 === 0 ? NaN : s % 5;
  });
}

function inputs(y: number[], K = 2): StepInputs {
  return { hw: new Float64Array(y.length * K).fill(2), hist: new Float64Array(y.length).fill(NaN), holt: new Float64Array(y.length * K).fill(NaN) };
}

describe('sorted ensemble errors', () => {
  it('keeps them as 2-byte ring slots (4 bytes past 65,536 origins), one window per horizon', () => {
    const st = new SeriesState(shape(288));
    expect(st.sorted).toBeInstanceOf(Uint16Array);
    expect(st.sorted.length).toBe(2 * 288);
    const wide = new SeriesState({ ...shape(70_000), hs: [1] });
    expect(wide.sorted).toBeInstanceOf(Uint32Array);
    // more points than half the window: the rings are written whole and the order rebuilt (slots past 65,535)
    const y = points(5, 70_100);
    wide.advance(y, inputs(y, 1), core);
    expect(wide.sortedN[0]).toBeGreaterThan(65_536);
    expectSortedLikeRing(wide);
  });

  it('reads the values of a plain sort of the ring, in its order, after journal and bulk writes with ties and gaps', () => {
    const st = new SeriesState(shape(16));
    const y = points(7, 400);
    let t = 0;
    // 1 to 8 points per step use the journal (at most half the window), 9 or more write the rings whole
    for (const n of [1, 1, 2, 3, 5, 8, 1, 20, 1, 1, 2, 40, 3, 1, 1, 1, 7, 9, 1, 2, 60, 1, 1, 4]) {
      st.advance(y.slice(t, t + n), inputs(y.slice(t, t + n)), core);
      t += n;
      expectSortedLikeRing(st);
    }
    expect(st.sortedN[0]).toBeGreaterThan(8);
    expect(new Set(sortedValues(st, 0)).size).toBeLessThan(st.sortedN[0]); // ties were exercised
  });

  it('keeps every written slot exactly once when slots are overwritten by equal values, other values and NaN', () => {
    const st = new SeriesState(shape(32));
    const E = 32, at = st.ensErrAt + E; // horizon index 1
    let s = 3;
    for (let w = 0; w < 3000; w++) {
      s = (s * 16807) % 2147483647;
      const slot = s % E;
      const v = s % 11 === 0 ? NaN : Math.fround((s >> 4) % 4) - 1.5;
      st.replaceSorted(1, slot, st.err[at + slot], v);
      st.err[at + slot] = v;
      const slots = Array.from(st.sorted.subarray(E, E + st.sortedN[1])).sort((a, b) => a - b);
      const written = Array.from({ length: E }, (_, i) => i).filter((i) => st.err[at + i] === st.err[at + i]);
      expect(slots).toEqual(written);
      expect(sortedValues(st, 1)).toEqual(plainSort(st, 1));
    }
  });

  it('is rebuilt on rollback to the order it had at the checkpoint', () => {
    const st = new SeriesState(shape(16));
    const y = points(11, 120);
    st.advance(y.slice(0, 40), inputs(y.slice(0, 40)), core);
    const before = [0, 1].map((k) => sortedValues(st, k));
    const log = new UndoLog();
    for (const n of [3, 30]) {
      log.begin();
      st.checkpoint(log);
      st.advance(y.slice(40, 40 + n), inputs(y.slice(40, 40 + n)), core);
      expect(sortedValues(st, 0)).not.toEqual(before[0]);
      log.rollback();
      expect([0, 1].map((k) => sortedValues(st, k))).toEqual(before);
      expectSortedLikeRing(st);
    }
  });
});
