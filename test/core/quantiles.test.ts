// Residual quantiles in WASM (quickselect, type 7) against a plain sort, for any order of levels.
import { describe, expect, it } from 'vitest';
import { fx } from '../../src/core/forecast-exports.js';
import { Core } from '../../src/core/wasm.js';

const core = new Core('debug');

function type7(sorted: number[], p: number): number {
  const pos = p * (sorted.length - 1);
  const k = Math.floor(pos);
  return k + 1 < sorted.length ? sorted[k] + (pos - k) * (sorted[k + 1] - sorted[k]) : sorted[k];
}

function segQuantiles(segs: number[][], levels: number[]): { out: Float64Array; status: number } {
  const off = [0];
  for (const s of segs) off.push(off[off.length - 1] + s.length);
  return core.call((x) => {
    const dp = core.putF64(segs.flat());
    const op = core.putF64(off);
    const lp = core.putF64(segs.flatMap(() => levels));
    const outp = x.alloc(segs.length * levels.length * 8);
    try {
      const status = fx(x).fc_quantiles_seg(dp, op, segs.length, lp, levels.length, outp);
      return { out: core.f64(outp, segs.length * levels.length).slice(), status };
    } finally {
      for (const p of [dp, op, lp, outp]) x.free(p);
    }
  });
}

describe('fc_quantiles_seg', () => {
  it('matches a sort-based type-7 quantile for unordered and repeated levels', () => {
    let seed = 3;
    const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const segs = [1, 2, 7, 100, 1008].map((n) => Array.from({ length: n }, () => Math.round(rnd() * 50) - 25 + rnd()));
    const levels = [0.99, 0.5, 0.05, 0.95, 0.5, 0.9, 0, 1];
    const { out, status } = segQuantiles(segs, levels);
    expect(status).toBe(0);
    segs.forEach((s, i) => {
      const sorted = [...s].sort((a, b) => a - b);
      levels.forEach((p, l) => expect(out[i * levels.length + l]).toBeCloseTo(type7(sorted, p), 12));
    });
  });

  it('ignores non-finite values and reports an empty segment', () => {
    const { out, status } = segQuantiles([[NaN, 1, Infinity, 3], [NaN]], [0.5]);
    expect(out[0]).toBe(2);
    expect(out[1]).toBe(0);
    expect(status).toBe(1);
  });
});
