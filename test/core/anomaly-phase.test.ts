// Calibration phases (assembly/anomaly/robust.ts calPhase): series and tenants stepped together refresh their
// calibration (u, tau, xi) at phases of their own, a sixteenth of them a step, instead of all in the same call every
// 16 points (in the sidecar every series is stepped once a cycle: one cycle in sixteen carried every selection).
import { beforeAll, describe, expect, it } from 'vitest';
import { Core } from '../../src/core/wasm.js';
import { BehaviourState, scoreBehaviour, scoreSeries, SeriesDetectorState } from '../../src/core/anomaly.js';
import { gaussian } from '../helpers/random.js';

const EMPTY = new Float64Array(16);
let core: Core;
beforeAll(() => {
  core = new Core('debug');
});

/** Per step after the warm-up: how many states' calibration (threshold u and scale tau, header slots `slots`)
 *  changed; a refresh that finds the same values is not seen. */
function refreshesPerStep(step: () => void, bufs: () => Float64Array[], slots: readonly number[], from: number, to: number): number[] {
  const out: number[] = [];
  for (let t = 0; t < to; t++) {
    const before = bufs().map((b) => slots.map((k) => b[k]));
    step();
    if (t >= from) out.push(bufs().filter((b, i) => slots.some((k, j) => b[k] !== before[i][j])).length);
  }
  return out;
}

describe('calibration phases', () => {
  const N = 64;

  it('spreads the series detectors\' refreshes over the steps', () => {
    const g = gaussian(17);
    const states = Array.from({ length: N }, () => new SeriesDetectorState(0));
    const levels = Array.from({ length: N }, (_, i) => 10 + i);
    // H_CALREF and H_TAU, header slots 6 and 13 (assembly/anomaly/univariate.ts)
    const counts = refreshesPerStep(() => void scoreSeries(core, states, levels.map((l) => [l + g()])), () => states.map((s) => s.buf ?? EMPTY), [6, 13], 100, 260);
    // every series refreshes once in 16 steps (most of them finding new values): a few a step, never most at once
    expect(counts.reduce((a, b) => a + b, 0)).toBeGreaterThan(((N * 160) / 16) * 0.5);
    expect(Math.max(...counts)).toBeLessThan(N / 4);
  });

  it('spreads the tenant profiles\' refreshes over the steps', () => {
    const g = gaussian(23);
    const states = Array.from({ length: N }, () => new BehaviourState(2));
    // H_REF and H_TAU, header slots 4 and 5 (assembly/anomaly/mahalanobis.ts)
    const counts = refreshesPerStep(() => {
      for (let i = 0; i < N; i++) scoreBehaviour(core, [states[i]], [Float64Array.of(1 + 0.1 * g(), 2 + 0.1 * g())]);
    }, () => states.map((s) => s.buf ?? EMPTY), [4, 5], 100, 260);
    expect(counts.reduce((a, b) => a + b, 0)).toBeGreaterThan(((N * 160) / 16) * 0.5);
    expect(Math.max(...counts)).toBeLessThan(N / 4);
  });
});
