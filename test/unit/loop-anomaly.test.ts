import { describe, expect, it } from 'vitest';
import { createAnomalyScorer, robustBaseline, robustSignalScore } from '../../src/loop/anomaly-adapter.js';

function input(values: Float64Array, nowS: number) {
  return {
    tenant: 't',
    latest: new Map([['cpu', { value: values[values.length - 1], atS: nowS }]]),
    window: (_r: string, n: number) => ({ startS: 0, values: values.subarray(Math.max(0, values.length - n)) }),
    intervalS: 300,
    nowS,
  };
}

describe('anomaly adapter', () => {
  it('flags a tenant whose newest sample is far outside its last day, and not an ordinary one', () => {
    const calm = Float64Array.from({ length: 300 }, (_, i) => 10 + Math.sin(i / 5));
    const score = createAnomalyScorer('quarantine');
    expect(score(input(calm, 1000)).anomalous).toBe(false);
    const spiky = calm.slice();
    spiky[spiky.length - 1] = 60;
    const s = createAnomalyScorer('quarantine')(input(spiky, 1000));
    expect(s.anomalous).toBe(true);
    expect(s.kind).toBe('spike');
    expect(s.score).toBeGreaterThan(0.5);
  });

  it('gives no evidence for a constant or too short window', () => {
    expect(robustSignalScore('cpu', 5, robustBaseline(new Float64Array(50).fill(3), 0)).likelihood).toBe(0);
    expect(robustSignalScore('cpu', 5, robustBaseline(new Float64Array(5).fill(3), 0)).likelihood).toBe(0);
  });

  it('never flags in mode off', () => {
    const v = Float64Array.from({ length: 300 }, (_, i) => (i === 299 ? 1e6 : 10 + (i % 3)));
    expect(createAnomalyScorer('off')(input(v, 1)).anomalous).toBe(false);
  });
});
