// The ensemble step in WASM (assembly/forecast/ensemble.ts): ACI, softmax weights, error rings, live scoring, on
// cases small enough to check by hand, plus bad input and the batch == one-by-one property.
import { describe, expect, it } from 'vitest';
import { ACI_GAMMA, ACI_MAX_SHIFT, aciRun } from '../../src/core/conformal.js';
import { MIN_WEIGHT, weightsFromLoss } from '../../src/core/select.js';
import { advanceBatch, SeriesState, type StateShape, type StepInputs } from '../../src/core/series-state.js';
import { Core } from '../../src/core/wasm.js';

const core = new Core('debug');

describe('ACI step (Gibbs & Candes 2021, eq. 2)', () => {
  it('19 hits and 1 miss at level 0.95, gamma 0.01 leave the shift unchanged', () => {
    const outcomes = [...new Array<boolean>(19).fill(false), true];
    expect(aciRun(0.02, 0.95, outcomes, 0.01, core)).toBeCloseTo(0.02, 14);
    expect(aciRun(0.02, 0.95, [...outcomes].reverse(), 0.01, core)).toBeCloseTo(0.02, 14);
  });

  it('a miss moves the level up by gamma * level, a hit down by gamma * (1 - level)', () => {
    expect(aciRun(0, 0.95, [true], 0.01, core)).toBeCloseTo(0.0095, 15);
    expect(aciRun(0, 0.95, [false], 0.01, core)).toBeCloseTo(-0.0005, 15);
    expect(aciRun(0, 0.5, [true, true], ACI_GAMMA, core)).toBeCloseTo(2 * ACI_GAMMA * 0.5, 15);
  });

  it('is clamped to +-ACI_MAX_SHIFT', () => {
    expect(aciRun(0, 0.5, new Array<boolean>(1000).fill(true), 0.01, core)).toBe(ACI_MAX_SHIFT);
    expect(aciRun(0, 0.5, new Array<boolean>(1000).fill(false), 0.01, core)).toBe(-ACI_MAX_SHIFT);
  });
});

describe('weights from loss', () => {
  it('equal losses give equal weights', () => {
    const w = weightsFromLoss([2, 2, 2, 2], new Float64Array(4), 12, 1, core);
    expect(Array.from(w)).toEqual([0.25, 0.25, 0.25, 0.25]);
  });

  it('a model 10% worse gets exp(-eta * 0.1) of the best weight; a far worse one is dropped', () => {
    const w = weightsFromLoss([1, 1.1, 5], new Float64Array(3), 12, 1, core);
    expect(w[1] / w[0]).toBeCloseTo(Math.exp(-1.2), 12);
    expect(w[2]).toBe(0);
    expect(w[0] + w[1]).toBeCloseTo(1, 15);
  });

  it('NaN and Infinity losses get weight 0, never NaN; all unavailable gives equal weights', () => {
    const w = weightsFromLoss([NaN, 1, Infinity, 1], new Float64Array(4), 12, 1, core);
    expect(Array.from(w)).toEqual([0, 0.5, 0, 0.5]);
    const none = weightsFromLoss([NaN, NaN, Infinity], new Float64Array(3), 12, 1, core);
    for (const v of none) expect(v).toBeCloseTo(1 / 3, 15);
    const zero = weightsFromLoss([0, 0, 1e-3], new Float64Array(3), 12, 1, core);
    for (const v of zero) expect(Number.isFinite(v)).toBe(true);
    expect(zero[0]).toBe(0.5);
    expect(MIN_WEIGHT).toBeGreaterThan(0);
  });

  it('batches rows', () => {
    const w = weightsFromLoss([1, 1, 3, NaN], new Float64Array(4), 12, 2, core);
    expect(Array.from(w)).toEqual([0.5, 0.5, 1, 0]);
  });
});

// models: 0 = an external forecast ('hw' slot), 1 = histogram slot, 2 = persistence (computed in the core)
const shape: StateShape = {
  models: ['holt-winters', 'histogram', 'persistence'],
  hs: [1],
  levels: [0.5, 0.9],
  errWindow: 4,
  season: 0,
  lossHalfLife: 1, // lambda = 0.5
};

function inputs(hw: number[], hist: number[]): StepInputs {
  return { hw: Float64Array.from(hw), hist: Float64Array.from(hist), holt: new Float64Array(hw.length).fill(NaN) };
}

describe('ensemble step', () => {
  it('matures errors into the rings, skips NaN values and NaN forecasts, keeps weights finite', () => {
    const st = new SeriesState(shape);
    // hw forecasts always NaN (a model that never forecasts); histogram forecasts 3; persistence = last value
    st.advance([1, 2, NaN, 4], inputs([NaN, NaN, NaN, NaN], [3, 3, 3, 3]), core);
    expect(st.n).toBe(4);
    expect(st.lastFinite).toBe(4);
    // persistence (m = 2): forecasts 1, 2, 2 (NaN point keeps the last finite), 4; errors at y=2 and y=4 only
    expect(Array.from(st.errors(2, 0))).toEqual([1, 2]);
    // histogram: 3 at each origin: errors 2 - 3 and 4 - 3
    expect(Array.from(st.errors(1, 0))).toEqual([-1, 1]);
    // hw never forecast: no errors, loss stays NaN
    expect(st.errors(0, 0).length).toBe(0);
    expect(Number.isNaN(st.loss[0])).toBe(true);
    // EW loss with lambda 0.5: first |e|, then prev + max(0.5, 1/2) * (|e| - prev)
    expect(st.loss[2]).toBe(1.5);
    expect(st.loss[1]).toBe(1);
    // weights: hw 0 (no forecast); histogram (loss 1) vs persistence (loss 1.5): exp(-12 * 0.5) -> below 2%: dropped
    expect(Array.from(st.weights)).toEqual([0, 1, 0]);
    for (const w of st.weights) expect(Number.isFinite(w)).toBe(true);
    // the ensemble's forecast at the last origin is the weighted mean: the histogram's 3
    expect(st.lastForecast(3, 0)).toBe(3);
  });

  it('scores issued quantiles as they mature and steps ACI per level', () => {
    const st = new SeriesState(shape);
    st.advance([1], inputs([NaN], [1]), core);
    // the engine records issued quantiles of the ensemble (m = 3) at origin 0: q50 = 1, q90 = 3
    const M1 = st.nM + 1, slot = 0, m = 3, L = 2;
    st.issuedOrigin[slot] = 0;
    st.issuedModels[slot * M1 + m] = 1;
    st.issuedQ[((slot * M1 + m) * st.K + 0) * L + 0] = 1;
    st.issuedQ[((slot * M1 + m) * st.K + 0) * L + 1] = 3;
    st.advance([2], inputs([NaN], [1]), core);
    const base = m * st.K * L;
    expect(st.shift[base + 0]).toBeCloseTo(ACI_GAMMA * 0.5, 15); // 2 > 1: a miss at 0.5
    expect(st.shift[base + 1]).toBeCloseTo(-ACI_GAMMA * 0.1, 15); // 2 <= 3: a hit at 0.9
    expect(Array.from(st.liveHits.subarray(base, base + 2))).toEqual([0, 1]);
    expect(st.liveCount[m * st.K]).toBe(1);
    expect(st.liveAbs[m * st.K]).toBe(1); // |2 - q50|
    expect(st.liveQN[m * st.K]).toBe(1);
    // the other models' point forecasts made at the issued origin are scored too (no quantiles: no hits)
    expect(st.liveCount[1 * st.K]).toBe(1); // histogram forecast 1
    expect(st.liveAbs[1 * st.K]).toBe(1);
    expect(st.liveAct[1 * st.K]).toBe(2);
    expect(st.liveCount[2 * st.K]).toBe(1); // persistence forecast 1
    expect(st.liveAbs[2 * st.K]).toBe(1);
    expect(st.liveQN[1 * st.K]).toBe(0);
    // holt-winters made no forecast (NaN): not scored
    expect(st.liveCount[0]).toBe(0);
    // a point that matures no issued origin scores nothing
    st.advance([5], inputs([NaN], [1]), core);
    expect(st.liveCount[1 * st.K]).toBe(1);
    expect(st.liveCount[m * st.K]).toBe(1);
  });

  it('decays the live scores: an outcome weighs half as much 288 scored outcomes later', () => {
    // issued quantiles q50 = 10, q90 = 20 at every origin; the first outcome (15) is a hit at 0.9, the next 288
    // (30) are misses at both levels; the histogram forecasts 10 at each origin
    const st = new SeriesState(shape);
    const M1 = st.nM + 1, m = 3, L = 2, K = st.K;
    const issue = (origin: number): void => {
      const slot = origin % st.P;
      st.issuedOrigin[slot] = origin;
      st.issuedModels.fill(0, slot * M1, (slot + 1) * M1);
      st.issuedModels[slot * M1 + m] = 1;
      st.issuedQ[((slot * M1 + m) * K + 0) * L + 0] = 10;
      st.issuedQ[((slot * M1 + m) * K + 0) * L + 1] = 20;
    };
    st.advance([10], inputs([NaN], [10]), core);
    issue(0);
    st.advance([15], inputs([NaN], [10]), core);
    for (let i = 1; i <= 288; i++) {
      issue(i);
      st.advance([30], inputs([NaN], [10]), core);
    }
    const d = 2 ** (-1 / 288);
    const weight = (1 - d ** 289) / (1 - d); // sum of d^age over the 289 outcomes
    const base = m * K * L;
    expect(st.liveHits[base + 1]).toBeCloseTo(0.5, 12); // the one hit, 288 outcomes old
    expect(st.liveHits[base + 0]).toBe(0);
    expect(st.liveQN[m * K]).toBeCloseTo(weight, 9);
    expect(st.liveCount[m * K]).toBeCloseTo(weight, 9);
    // |15 - 10| then 288 x |30 - 10|: the first outcome's error keeps half its weight
    expect(st.liveAbs[m * K]).toBeCloseTo(5 * 0.5 + 20 * (weight - 0.5), 9);
    expect(st.liveAct[m * K]).toBeCloseTo(15 * 0.5 + 30 * (weight - 0.5), 9);
    // every model scored at the issued origins decays alike (histogram: forecast 10, scored on its point)
    expect(st.liveCount[1 * K]).toBeCloseTo(weight, 9);
    expect(st.liveAbs[1 * K]).toBeCloseTo(5 * 0.5 + 20 * (weight - 0.5), 9);
  });

  it('Infinity and 1e12-scale values give finite weights and forecasts', () => {
    const st = new SeriesState(shape);
    st.advance([1e12, Infinity, -Infinity, 2e12, 1e12], inputs([1e12, NaN, 5e11, 1e12, 1e12], [0, 0, 0, 0, 0]), core);
    for (const w of st.weights) expect(Number.isFinite(w)).toBe(true);
    expect(st.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(Number.isFinite(st.lastForecast(3, 0))).toBe(true);
  });

  it('keeps a point no member saw coming in the error rings at most SURPRISE times each loss, one member erring alone in full', () => {
    const st = new SeriesState({ ...shape, errWindow: 64 });
    // 10, 11, 10, ...: Holt-Winters and the histogram forecast 10.5 (errors +-0.5), persistence errs by +-1
    for (let i = 0; i < 20; i++) st.advance([10 + (i % 2)], inputs([10.5], [10.5]), core);
    const K = st.K, M1 = st.nM + 1;
    const lossBefore = Array.from({ length: M1 }, (_, m) => st.loss[m * K]);
    expect(lossBefore.slice(0, 2)).toEqual([0.5, 0.5]);
    // 1000: every member errs by about 990, over 1,000 times its loss
    st.advance([1000], inputs([10.5], [10.5]), core);
    for (let m = 0; m < M1; m++) {
      const errs = st.errors(m, 0);
      expect(errs[errs.length - 1], `model ${m}`).toBeCloseTo(10 * lossBefore[m], 5);
    }
    // the quantiles read the clipped value: the ensemble's largest error is 10 x 0.5 (the mean of the others ~0.5)
    expect(st.ensembleErrorQuantile(0, 1)).toBeCloseTo(10 * lossBefore[3], 5);
    // Holt-Winters alone forecasts 1000 for a point of 11: its error (-989) enters its ring as it is
    const st2 = new SeriesState({ ...shape, errWindow: 64 });
    for (let i = 0; i < 20; i++) st2.advance([10 + (i % 2)], inputs([i === 19 ? 1000 : 10.5], [10.5]), core);
    st2.advance([11], inputs([10.5], [10.5]), core);
    const hw = st2.errors(0, 0);
    expect(hw[hw.length - 1]).toBe(-989);
  });

  it('steps the conformal shifts at the first of a run of surprises, not at the rest of it', () => {
    // a loss that moves slowly (lambda 0.0096 after its first errors), so the second 1000 still surprises
    const st = new SeriesState({ ...shape, errWindow: 64, lossHalfLife: 72 });
    const M1 = st.nM + 1, m = 3, L = 2, base = m * st.K * L;
    /** Issues the ensemble's q50 = 10.5 and q90 = 11 at the origin of the last point, as the engine's forecast does. */
    const issue = (): void => {
      const origin = st.n - 1, slot = origin % st.P;
      st.issuedOrigin[slot] = origin;
      st.issuedModels[slot * M1 + m] = 1;
      st.issuedQ[((slot * M1 + m) * st.K + 0) * L + 0] = 10.5;
      st.issuedQ[((slot * M1 + m) * st.K + 0) * L + 1] = 11;
    };
    // 10, 11, ...: the ensemble forecasts about 10.5 with a loss of 0.5, and its q90 of 11 is hit
    for (let i = 0; i < 20; i++) {
      st.advance([10 + (i % 2)], inputs([10.5], [10.5]), core);
      issue();
    }
    const q90 = (): number => st.shift[base + 1];
    const before = q90();
    // 1000, 1000: both surprise the ensemble (Holt-Winters and the histogram still forecast 10.5 and carry it)
    st.advance([1000], inputs([10.5], [10.5]), core);
    issue();
    expect(q90() - before).toBeCloseTo(ACI_GAMMA * 0.9, 12);
    const afterFirst = q90();
    st.advance([1000], inputs([10.5], [10.5]), core);
    issue();
    expect(q90()).toBe(afterFirst);
    // the live coverage still counts both misses
    expect(st.liveHits[base + 1]).toBeLessThan(st.liveQN[m * st.K] - 1.9);
  });

  it('one batch call equals advancing each series point by point (journal and direct error modes)', () => {
    const rnd = (i: number) => Math.sin(i * 12.9898) * 43758.5453 - Math.floor(Math.sin(i * 12.9898) * 43758.5453);
    const shape2: StateShape = { ...shape, hs: [1, 3], season: 4, models: ['holt-winters', 'histogram', 'persistence', 'seasonal-naive', 'holt', 'recent-median', 'seasonal-median'] };
    const lens = [80, 1, 7, 40];
    const ys = lens.map((n, s) => Array.from({ length: n }, (_, i) => (i === 5 ? NaN : 10 + 5 * rnd(i + 100 * s))));
    const inps = lens.map((n, s) => ({
      hw: Float64Array.from({ length: n * 2 }, (_, i) => 10 + rnd(i + 7 * s)),
      hist: Float64Array.from({ length: n }, (_, i) => 9 + rnd(i + 3 * s)),
      holt: Float64Array.from({ length: n * 2 }, (_, i) => 11 + rnd(i + 5 * s)),
    }));
    const batch = lens.map(() => new SeriesState(shape2));
    advanceBatch(batch, ys, inps, core); // 80 points > errWindow / 2: errors written directly into the rings
    // one by one: errors come back as a journal, and (past the ring's 29 slots) only the ring slots read are copied
    lens.forEach((n, s) => {
      const one = new SeriesState(shape2);
      for (let j = 0; j < n; j++) {
        const inp = inps[s];
        one.advance([ys[s][j]], { hw: inp.hw.subarray(2 * j, 2 * j + 2), hist: inp.hist.subarray(j, j + 1), holt: inp.holt.subarray(2 * j, 2 * j + 2) }, core);
      }
      expect(Array.from(batch[s].block)).toEqual(Array.from(one.block));
      expect(Array.from(batch[s].ring)).toEqual(Array.from(one.ring));
      expect(Array.from(batch[s].err)).toEqual(Array.from(one.err));
    });
    expect(batch[0].errN[0]).toBeGreaterThan(4); // the ring wrapped
  });

  it('rejects a state passed twice in one call', () => {
    const st = new SeriesState(shape);
    expect(() => advanceBatch([st, st], [[1], [2]], [inputs([1], [1]), inputs([1], [1])], core)).toThrow(/twice/);
  });
});
