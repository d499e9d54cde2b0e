import { describe, expect, it } from 'vitest';
import { Core } from '../../src/core/wasm.js';
import { createAnomalyScorer } from '../../src/loop/anomaly-adapter.js';
import type { AnomalySeriesInput } from '../../src/loop/types.js';

const STEP = 300;

/** Feeds `days` of a calm daily pattern for two signals of tenant t, `chunk` points per cycle; returns the last verdicts. */
function feed(scorer: ReturnType<typeof createAnomalyScorer>, points: number, chunk: number, value: (i: number, r: number) => number, from = 0) {
  let last = new Map();
  for (let c = from; c < from + points; c += chunk) {
    const inputs: AnomalySeriesInput[] = ['cpu', 'memory'].map((resource, r) => ({
      key: `t\u0000${resource}`,
      tenant: 't',
      resource,
      startS: c * STEP,
      values: Float64Array.from({ length: chunk }, (_, k) => value(c + k, r)),
    }));
    last = scorer.score(inputs, STEP);
  }
  return last;
}

const calm = (i: number, r: number) => (r === 0 ? 2 : 4e9) * (1 + 0.3 * Math.sin((2 * Math.PI * i) / 288)) * (1 + 0.02 * Math.sin(i * 7.3));

describe('anomaly adapter over the anomaly core', () => {
  it('keeps a calm tenant normal and flags (and quarantines) a sudden large spike', () => {
    const core = new Core('debug');
    const scorer = createAnomalyScorer(() => core, 'quarantine');
    const v1 = feed(scorer, 4 * 288, 12, calm);
    expect(v1.get('t')?.anomalous).toBe(false);
    const v2 = feed(scorer, 12, 12, (i, r) => calm(i, r) * (r === 0 ? 8 : 1), 4 * 288);
    const t = v2.get('t')!;
    expect(t.anomalous).toBe(true);
    expect(t.kind).not.toBe('none');
    expect(t.excludeFromTraining).toBe(true);
    expect(t.score).toBeGreaterThan(0.5);
  });

  it('alerts without quarantine in alert-only mode and never flags in mode off', () => {
    const spike = (i: number, r: number) => calm(i, r) * (i >= 4 * 288 && r === 0 ? 8 : 1);
    const alertOnly = feed(createAnomalyScorer(() => new Core('debug'), 'alert-only'), 4 * 288 + 12, 12, spike).get('t')!;
    expect(alertOnly.anomalous).toBe(true);
    expect(alertOnly.excludeFromTraining).toBe(false);
    expect(feed(createAnomalyScorer(() => new Core('debug'), 'off'), 4 * 288 + 12, 12, spike).get('t')!.anomalous).toBe(false);
  });
});
