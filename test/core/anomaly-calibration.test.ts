// Anomaly kernels (debug build) where the audit of the likelihoods found them wrong: the first scored points, young
// calibration windows, signals of very different units in one behaviour vector, and NaN gaps in a seasonal series.
import { beforeAll, describe, expect, it } from 'vitest';
import { Core } from '../../src/core/wasm.js';
import { BehaviourState, scoreBehaviour, scoreSeries, SeriesDetectorState } from '../../src/core/anomaly.js';
import { gaussian } from '../helpers/random.js';

let core: Core;
beforeAll(() => {
  core = new Core('debug');
});

/** Share of the likelihoods of points [from, to) of every result at or above `level`. */
function rate(results: { likelihood: Float64Array }[], from: number, to: number, level: number): number {
  let hits = 0;
  for (const r of results) for (let i = from; i < to; i++) if (r.likelihood[i] >= level) hits++;
  return hits / (results.length * (to - from));
}

describe('calibration of a young series', () => {
  // 600 series of Gaussian noise, 101 points each: scoring starts at point 50, the first calibration window is full
  // of 50 values, and below 100 values none lies above the 99th percentile.
  const noise = () => {
    const g = gaussian(2026);
    return Array.from({ length: 600 }, () => new Float64Array(101).map(() => 10 + g()));
  };

  it('keeps L >= 0.999 rare on noise from the first scored point (50) to point 63', () => {
    const vals = noise();
    const res = scoreSeries(core, vals.map(() => new SeriesDetectorState(288)), vals);
    // Before the first calibration at point 64, u = 1 and tau = 0 gave L = 1 for every q > 1: 48% of these points.
    expect(rate(res, 50, 64, 0.999)).toBeLessThan(0.05);
  });

  it('keeps L >= 0.9999 near its nominal rate on noise at points 64-100 (tail scale from at least 10 values)', () => {
    const vals = noise();
    const res = scoreSeries(core, vals.map(() => new SeriesDetectorState(288)), vals);
    // A tau from no excess (floored at 5% of u) gave 0.6% here, 60 times the nominal 0.01%; measured 0.04% now.
    expect(rate(res, 64, 101, 0.9999)).toBeLessThan(0.002);
  });

  it('keeps the behaviour likelihood near its nominal rate while the z window is young', () => {
    const g = gaussian(77);
    const n = 150;
    const vecs = Array.from({ length: 300 }, () => new Float64Array(2 * n).map(() => g()));
    const res = scoreBehaviour(core, vecs.map(() => new BehaviourState(2)), vecs);
    // z are stored from vector 14 (warm-up 2d + 10), so the calibrated likelihood starts at vector 64.
    expect(rate(res, 64, n, 0.9999)).toBeLessThan(0.002);
  });
});

describe('behaviour distance with signals in different units', () => {
  /** cpu in cores (sd 0.1) beside a second signal of the given scale; the last cpu value jumps 20 sigma. */
  function zOfCpuJump(sdB: number, meanB: number): number {
    const g = gaussian(99);
    const n = 3000;
    const rows = new Float64Array(n * 2);
    for (let t = 0; t < n; t++) rows.set([1 + 0.1 * g(), meanB + sdB * g()], 2 * t);
    rows[2 * (n - 1)] = 3;
    const [r] = scoreBehaviour(core, [new BehaviourState(2)], [rows]);
    return r.z[n - 1];
  }

  it('gives a 20-sigma cpu jump the same z whether the other signal is in units or in bytes', () => {
    const plain = zOfCpuJump(1, 10);
    expect(plain).toBeGreaterThan(10);
    // A ridge scaled by the mean variance swamped cpu next to bytes: z = -0.69 (sd 1e6) and 1.83 (sd 1e8).
    for (const [sd, mean] of [[1e6, 4e9], [1e8, 4e9]]) expect(Math.abs(zOfCpuJump(sd, mean) - plain)).toBeLessThan(0.05 * plain);
  });
});

describe('NaN gaps in a seasonal series', () => {
  const P = 288;
  /** 20 days of a daily square wave (busy 08:00-18:00 at 50, else 10) with noise, a gap on day 10, and the busy level
   *  at night (02:00-04:00) on day 16. Returns the highest likelihood and score over the night-time surge. */
  function surge(gap: number): { lik: number; score: number } {
    const g = gaussian(5);
    const v = new Float64Array(P * 20).map((_, i) => {
      const h = (i % P) / 12;
      return (h >= 8 && h < 18 ? 50 : 10) + g();
    });
    v.fill(NaN, 10 * P, 10 * P + gap);
    const a0 = 16 * P + 24;
    for (let i = a0; i < a0 + 24; i++) v[i] = 50 + g();
    const [r] = scoreSeries(core, [new SeriesDetectorState(P)], [v]);
    return { lik: Math.max(...r.likelihood.subarray(a0, a0 + 24)), score: Math.max(...r.score.subarray(a0, a0 + 24)) };
  }

  it('keeps the seasonal phase across a 6 h gap: a night-time surge six days later is found as without the gap', () => {
    const clean = surge(0);
    const gapped = surge(72);
    expect(clean.lik).toBeGreaterThan(0.9999);
    // With the season slot counted in finite points, every slot after the gap was 72 off: L 0.9976, score 0.57.
    expect(gapped.lik).toBeGreaterThan(0.9999);
    expect(Math.abs(gapped.score - clean.score)).toBeLessThan(0.05);
  });
});

describe('calibration of heavy-tailed noise (the tail shape, robust.ts tailShape)', () => {
  // 60 series of 8,000 i.i.d. points, scored after the first 5,000 (a full calibration window): 180,000 points, so
  // about 18 at L >= 0.9999 at the nominal 0.01%. Release build: the debug build takes several times longer here.
  const rates = (draw: (u: () => number, g: () => number) => number) => {
    const g = gaussian(4321);
    let s = 77;
    const u = () => (s = (s * 16807) % 2147483647) / 2147483647;
    const vals = Array.from({ length: 60 }, () => Float64Array.from({ length: 8000 }, () => 10 + draw(u, g)));
    const res = scoreSeries(release, vals.map(() => new SeriesDetectorState(1)), vals);
    return { far: rate(res, 5000, 8000, 0.9999), near: rate(res, 5000, 8000, 0.999) };
  };
  let release: Core;
  beforeAll(() => {
    release = new Core('release');
  });

  it('keeps L >= 0.9999 near nominal for Cauchy noise, where an exponential tail crossed it 6x as often', () => {
    const r = rates((u) => Math.tan(Math.PI * (u() - 0.5)));
    // exponential tail alone: 0.064% (bench:calibration, 300,000 points); with the shape 0.032%
    expect(r.far).toBeLessThan(0.00045);
    // and L >= 0.999 no more often than with the exponential alone (the Pareto tail alone: 0.164%; now 0.128%)
    expect(r.near).toBeLessThan(0.0015);
  });

  it('keeps L >= 0.9999 near nominal for lognormal noise, where an exponential tail crossed it 3x as often', () => {
    const r = rates((_, g) => Math.exp(g()));
    // exponential tail alone: 0.029%; with the shape 0.016%
    expect(r.far).toBeLessThan(0.00022);
  });

  it('leaves Gaussian noise at its nominal rates (a light tail keeps the exponential, and is not made stricter)', () => {
    const r = rates((_, g) => g());
    expect(r.far).toBeGreaterThan(0.00004);
    expect(r.far).toBeLessThan(0.0002);
    expect(r.near).toBeGreaterThan(0.0007);
    expect(r.near).toBeLessThan(0.0015);
  });

  it('keeps the behaviour likelihood (three signals of Student t3 noise) nearer its nominal rate', () => {
    const g = gaussian(99);
    const t3 = () => g() / Math.sqrt((g() ** 2 + g() ** 2 + g() ** 2) / 3);
    const vecs = Array.from({ length: 100 }, () => Float64Array.from({ length: 8000 * 3 }, t3));
    const res = scoreBehaviour(release, vecs.map(() => new BehaviourState(3)), vecs);
    // exponential tail alone: 0.034% of 300,000 vectors; with the shape 0.024% (Gaussian vectors: 0.012%)
    expect(rate(res, 5000, 8000, 0.9999)).toBeLessThan(0.00029);
  });
});

describe('calibration once the seasonal model scores', () => {
  it('keeps L >= 0.99 near its nominal 1% on days 4 to 7 of a seasonal series, not a tenth of it', () => {
    // 100 series of a daily cycle with 3% Gaussian noise, 8 days each. The level model alone scores the first two
    // days (the seasonal one needs two periods), with larger residuals; their scores held the window's 99th
    // percentile up until they left it (2,000 points), and L >= 0.99 came on 0.14% of days 4 to 7 here. The window
    // starts over at the first point the seasonal model scores, and the calibration from before stays in force until
    // the new one holds a day of scores.
    const g = gaussian(7);
    const vals = Array.from({ length: 100 }, () => Float64Array.from({ length: 8 * 288 }, (_, i) => 10 * (1 + 0.3 * Math.sin((2 * Math.PI * i) / 288)) + 0.3 * g()));
    const res = scoreSeries(core, vals.map(() => new SeriesDetectorState(288)), vals);
    const r = rate(res, 3 * 288, 7 * 288, 0.99);
    expect(r).toBeGreaterThan(0.005);
    expect(r).toBeLessThan(0.02);
  });
});
