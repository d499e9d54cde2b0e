// Small synthetic grids for the backtest tests (deterministic: a daily wave, bursts and noise from a fixed seed).
import type { Grid } from '../../src/backtest/grid.js';

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function syntheticGrid(tenants: number, steps: number, intervalS = 300, resource = 'cpu', seed = 7): Grid {
  const r = rng(seed);
  const usage: Float64Array[] = [];
  for (let k = 0; k < tenants; k++) {
    const u = new Float64Array(steps);
    const base = 5 + 10 * k;
    for (let i = 0; i < steps; i++) {
      const day = Math.sin((2 * Math.PI * i * intervalS) / 86_400);
      const burst = r() < 0.03 ? 8 * r() : 0;
      u[i] = Math.max(0, base * (1 + 0.4 * day) + burst + r());
    }
    if (k === 1) for (let i = 40; i < 50; i++) u[i] = NaN;
    usage.push(u);
  }
  const firstSample = Int32Array.from(usage, (u) => u.findIndex((x) => x === x));
  return { resource, unit: resource === 'memory' ? 'bytes' : 'cores', origin: 'synthetic', startS: 0, intervalS, nSteps: steps, tenants: Array.from({ length: tenants }, (_, k) => `t${k}`), usage, firstSample };
}
