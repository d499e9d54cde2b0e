// Detectors whose states stay in the core's memory between calls (ResidentDetectors): the same scores as host-held
// states to the bit, states past the budget kept in host memory (the same scores again), forget, and what a core
// restart does (the states are gone: has() turns false and the loop feeds such a series a warm-up again).
import { describe, expect, it } from 'vitest';
import { ResidentDetectors, scoreSeries, SeriesDetectorState, type SeriesAnomalyResult } from '../../src/core/anomaly.js';
import { fx } from '../../src/core/forecast-exports.js';
import { Core } from '../../src/core/wasm.js';
import { createAnomalyScorer } from '../../src/loop/anomaly-adapter.js';
import type { AnomalySeriesInput } from '../../src/loop/types.js';
import { gaussian } from '../helpers/random.js';

const P = 288;

/** n series of `len` points: a daily cycle of its own level and phase, noise, a spike in every fifth series. */
function series(n: number, len: number, seed: number): Float64Array[] {
  const g = gaussian(seed);
  return Array.from({ length: n }, (_, k) => Float64Array.from({ length: len }, (_, i) => {
    const v = 10 + k + 3 * Math.sin((2 * Math.PI * i) / P + k) + 0.3 * g();
    return k % 5 === 0 && i === len - 7 ? v * 4 : v;
  }));
}

/** Score, event, likelihood and kind of each result, as one array (compared to the bit). */
const flat = (rs: SeriesAnomalyResult[]) => rs.flatMap((r) => [...r.score, ...r.event, ...r.likelihood, ...r.kind.map((k) => k.length), r.status.length]);

/** Feeds the same values to host-held states and to `resident`, call by call (`chunks`: points per call). */
function sideBySide(core: Core, resident: ResidentDetectors, ys: Float64Array[], chunks: number[]) {
  const held = ys.map(() => new SeriesDetectorState(P));
  const keys = ys.map((_, k) => `s${k}`);
  let at = 0;
  const pairs: Array<[SeriesAnomalyResult[], SeriesAnomalyResult[]]> = [];
  for (const n of chunks) {
    const part = ys.map((y) => y.subarray(at, at + n));
    pairs.push([scoreSeries(core, held, part), resident.score(keys, part)]);
    at += n;
  }
  return { pairs, keys };
}

describe('detectors with their states in core memory', () => {
  it('score every point as host-held states do, to the bit, over a warm-up and single-point calls', () => {
    const core = new Core('debug');
    const resident = new ResidentDetectors(core, P);
    const ys = series(12, 2 * P + 40, 3);
    const { pairs, keys } = sideBySide(core, resident, ys, [2 * P, ...Array.from({ length: 40 }, () => 1)]);
    for (const [a, b] of pairs) expect(flat(b)).toEqual(flat(a));
    // the spikes were scored (the comparison is not one of zeros)
    expect(Math.max(...pairs.flatMap(([a]) => a.flatMap((r) => [...r.likelihood])))).toBeGreaterThan(0.99);
    expect(keys.every((k) => resident.has(k))).toBe(true);
    expect(resident.resident).toBe(12);
  });

  it('keeps the series past its budget in host memory, with the same scores', () => {
    const core = new Core('debug');
    const len = (core.exports as unknown as { anomaly_uv_state_len(p: number): number }).anomaly_uv_state_len(P);
    const resident = new ResidentDetectors(core, P, 5 * len * 8);
    const ys = series(8, P + 30, 9);
    const { pairs } = sideBySide(core, resident, ys, [P, 10, 10, 10]);
    for (const [a, b] of pairs) expect(flat(b)).toEqual(flat(a));
    expect(resident.resident).toBe(5);
    expect(resident.size).toBe(8);
  });

  it('frees a forgotten series: it starts over as a new one', () => {
    const core = new Core('debug');
    const resident = new ResidentDetectors(core, P);
    const [y] = series(1, P + 20, 4);
    const first = resident.score(['a'], [y]);
    resident.forget('a');
    expect(resident.has('a')).toBe(false);
    expect(resident.size).toBe(0);
    expect(flat(resident.score(['a'], [y]))).toEqual(flat(first));
  });

  it('loses its states with a core restart: has() is false and a series starts over', () => {
    const core = new Core('debug');
    const resident = new ResidentDetectors(core, P);
    const [y] = series(1, P + 20, 5);
    const first = resident.score(['a'], [y]);
    expect(resident.has('a')).toBe(true);
    // an out-of-range allocation traps inside the core (any call's trap re-creates the instance)
    expect(() => core.call((x) => fx(x).fc_quantiles(0, 0x7fffffff, 0, 0, 0))).toThrow(/FORESIGHT_ERR_CORE_ABORT|aborted/);
    expect(core.restarts).toBe(1);
    expect(resident.has('a')).toBe(false);
    expect(resident.size).toBe(0);
    expect(flat(resident.score(['a'], [y]))).toEqual(flat(first));
  });

  it('refuses a key twice in one call and value arrays of different lengths', () => {
    const resident = new ResidentDetectors(new Core('debug'), P);
    expect(() => resident.score(['a', 'a'], [[1], [2]])).toThrow(/twice/);
    expect(() => resident.score(['a', 'b'], [[1], [2, 3]])).toThrow(/differ in length/);
    expect(() => resident.score(['a'], [])).toThrow(/one value array per key/);
  });
});

describe('the anomaly scorer after a core restart', () => {
  it('says which series lost their state (known), so that the loop feeds them a warm-up again', () => {
    const core = new Core('debug');
    const scorer = createAnomalyScorer(core, 'alert-only');
    const ys = series(2, P, 6);
    const inputs = ys.map((values, k): AnomalySeriesInput => ({ key: `t\u0000r${k}`, tenant: 't', resource: `r${k}`, startS: 0, values, evidenceFrom: P - 1 }));
    expect(scorer.known!('t\u0000r0')).toBe(false);
    scorer.score(inputs, 300);
    expect(scorer.known!('t\u0000r0')).toBe(true);
    expect(() => core.call((x) => fx(x).fc_quantiles(0, 0x7fffffff, 0, 0, 0))).toThrow();
    expect(scorer.known!('t\u0000r0')).toBe(false);
    expect(scorer.known!('t\u0000r1')).toBe(false);
  });
});
