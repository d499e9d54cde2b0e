// Detector state in 16-bit form (debug build): the per-series and per-tenant state sizes and layout versions, the
// robust z read through the rings' u16 slot order (to the double against a plain recomputation of median and MAD over
// the window), and the calibration windows' u16 codes of scores (to 1.2e-4 of 1 + q up to q = 1.2e6).
import { beforeAll, describe, expect, it } from 'vitest';
import { Core } from '../../src/core/wasm.js';
import { BehaviourState, scoreBehaviour, scoreSeries, SeriesDetectorState } from '../../src/core/anomaly.js';
import { gaussian } from '../helpers/random.js';

interface StateExports {
  anomaly_uv_state_len(period: number): number;
  anomaly_mv_state_len(d: number): number;
  anomaly_robust_z_window(values: number, n: number, w: number, floor: number, out: number): number;
  anomaly_score_codes(values: number, n: number, out: number): number;
}

let core: Core;
let x: StateExports;
beforeAll(() => {
  core = new Core('debug');
  x = core.exports as unknown as StateExports;
});

describe('per-series detector state', () => {
  it('keeps a 288-sample series in 1,591 doubles (12.4 KB: the rings ordered and the calibration window coded in u16)', () => {
    // 32 header doubles; float32: season 288, four rings of 288, 2 x 3 recent residuals, 96 recent values (1,542 x 4
    // bytes); u16: the four rings' orders and 2,000 calibration codes (3,152 x 2 bytes): 12,472 bytes = 1,559 doubles.
    // (2,371 doubles with float32 sorted copies and calibration window.)
    expect(x.anomaly_uv_state_len(288)).toBe(1591);
    // non-seasonal: a season of one slot
    expect(x.anomaly_uv_state_len(0)).toBe(32 + Math.ceil(((1 + 4 * 288 + 6 + 96) * 4 + (4 * 288 + 2000) * 2) / 8));
  });

  it('keeps a tenant profile of d signals in 9 + d + d^2 doubles and 2,000 u16 codes', () => {
    expect(x.anomaly_mv_state_len(2)).toBe(9 + 2 + 4 + 500);
    expect(x.anomaly_mv_state_len(64)).toBe(9 + 64 + 64 * 64 + 500);
  });

  it('refuses a series state of the previous layout (its version mark) with BadParam instead of reading it', () => {
    const st = new SeriesDetectorState(288);
    const v = Float64Array.from({ length: 60 }, (_, i) => 2 + Math.sin(i / 10));
    expect(scoreSeries(core, [st], [v])[0].status).toBe('ok');
    // header slot 15 holds the layout version; 20261130 was the layout with a header of 24 slots (20261129 the one
    // with float32 sorted copies and window)
    (st.buf as Float64Array)[15] = 20261130;
    const [r] = scoreSeries(core, [st], [v]);
    expect(r.status).toBe('bad-param');
    expect(r.score.every((s) => s === 0)).toBe(true);
  });

  it('refuses a tenant profile of the previous layout (its version mark) with BadParam', () => {
    const st = new BehaviourState(2);
    const v = Float64Array.from({ length: 2 * 30 }, (_, i) => 1 + Math.sin(i));
    expect(scoreBehaviour(core, [st], [v])[0].status).toBe('ok');
    // header slot 2 holds the layout version; 20261129 was the layout with the z window in float32
    (st.buf as Float64Array)[2] = 20261129;
    expect(scoreBehaviour(core, [st], [v])[0].status).toBe('bad-param');
  });
});

describe('calibration windows in u16 codes', () => {
  function roundTrip(values: Float64Array): Float64Array {
    const pv = core.putF64(values);
    try {
      return core.withF64(values.length, (po) => {
        expect(x.anomaly_score_codes(pv, values.length, po)).toBe(0);
        return core.f64(po, values.length).slice();
      });
    } finally {
      core.exports.free(pv);
    }
  }

  it('keeps every score up to 1.2e6 to 1.2e-4 of 1 + q, and larger ones to 4.3%, in order', () => {
    // 0 .. 10 finely (where the 99th percentiles of the detectors' scores lie), then log-spaced to 1e300
    const q = Float64Array.from({ length: 30000 }, (_, i) => (i < 20000 ? i / 2000 : 10 * 10 ** ((i - 20000) / 34)));
    const back = roundTrip(q);
    let worstFine = 0, worstCoarse = 0;
    for (let i = 0; i < q.length; i++) {
      const err = Math.abs(back[i] - q[i]) / (1 + q[i]);
      if (q[i] <= 1.2e6) worstFine = Math.max(worstFine, err);
      else worstCoarse = Math.max(worstCoarse, err);
      if (i > 0) expect(back[i]).toBeGreaterThanOrEqual(back[i - 1]);
    }
    expect(worstFine).toBeLessThanOrEqual(1 / 8192 + 1e-12);
    expect(worstCoarse).toBeLessThanOrEqual(0.0434);
    expect(back[0]).toBe(0);
  });

  it('keeps NaN and negative scores as 0 and the largest as a finite 1.1e308', () => {
    const back = roundTrip(Float64Array.from([NaN, -1, -0, Infinity, Number.MAX_VALUE, 1e308]));
    expect(Array.from(back.subarray(0, 3))).toEqual([0, 0, 0]);
    // the last code
    expect(Number.isFinite(back[3])).toBe(true);
    expect(back[3]).toBeGreaterThan(1.1e308);
    expect(back[4]).toBe(back[3]);
    expect(Math.abs(back[5] / 1e308 - 1)).toBeLessThan(0.0434);
  });
});

describe('robust z through the u16 order of the window', () => {
  /** The definition over the window as held (float32, NaN ordered as +Infinity), recomputed by sorting (the MAD a
   *  median of the sorted deviations): the same doubles. The kernel sums |r - median| in ring order, this in ascending
   *  order of r; the float32 values of these windows sum exactly in a double either way (on NAB's corpus 136 of 365,558
   *  scores moved, by at most 1.3e-9, when the kernel's sum left rank order). */
  function reference(window: number[], e: number, floor: number): number {
    const s = window.map((v) => (Number.isNaN(v) ? Infinity : Math.fround(v))).sort((a, b) => a - b);
    const med = (a: number[]) => (a.length % 2 ? a[a.length >> 1] : 0.5 * (a[(a.length >> 1) - 1] + a[a.length >> 1]));
    const m = med(s);
    let sumAbs = 0;
    for (const v of s) sumAbs += v < m ? m - v : v - m;
    const mad = med(s.map((v) => (v < m ? m - v : v - m)).sort((a, b) => a - b));
    let scale = 1.4826 * mad;
    const alt = (1.2533 * sumAbs) / s.length;
    if (alt > scale) scale = alt;
    if (floor > scale) scale = floor;
    return (e - m) / scale;
  }

  function kernel(values: Float64Array, w: number, floor: number): { status: number; z: Float64Array } {
    const pv = core.putF64(values);
    try {
      return core.withF64(values.length, (po) => {
        const status = x.anomaly_robust_z_window(pv, values.length, w, floor, po);
        return { status, z: core.f64(po, values.length).slice() };
      });
    } finally {
      core.exports.free(pv);
    }
  }

  it('equals the median and MAD recomputed over the window, to the double, through ties, wrap-around and bursts', () => {
    const g = gaussian(77);
    const n = 2000;
    // noise; values from a set of five (long runs of ties: a slot must leave the order at its own rank among equal
    // values); a burst; a constant stretch (every value tied) with signed zeros; one NaN (an overflowed residual)
    const v = Float64Array.from({ length: n }, (_, i) =>
      i < 500 ? g() : i < 1200 ? Math.round(g()) : i < 1500 ? 1e6 + 1e3 * g() : i % 3 ? 0 : -0);
    v[300] = NaN;
    for (const w of [7, 288, 289]) {
      const { status, z } = kernel(v, w, 1e-9);
      expect(status).toBe(0);
      let mismatches = 0;
      for (let i = 2; i < n; i++) {
        const want = reference(Array.from(v.subarray(Math.max(0, i - w), i)), v[i], 1e-9);
        // === : the same double (a zero's sign follows which of the tied zeros is the median)
        if (!(z[i] === want || (Number.isNaN(z[i]) && Number.isNaN(want)))) mismatches++;
      }
      expect(mismatches).toBe(0);
    }
  });

  it('refuses a window longer than u16 slot indices can address (BadParam)', () => {
    const v = new Float64Array(4).fill(1);
    expect(kernel(v, 65536, 1e-9).status).toBe(0);
    expect(kernel(v, 65537, 1e-9).status).toBe(3);
  });
});
