// The anomaly adapter's first verdict: a warm-up call feeds a day or a week of history per series, and the evidence of
// all those samples must not read as the evidence of one.
import { describe, expect, it } from 'vitest';
import { Core } from '../../src/core/wasm.js';
import { createAnomalyScorer } from '../../src/loop/anomaly-adapter.js';
import type { AnomalySeriesInput } from '../../src/loop/types.js';
import { gaussian } from '../helpers/random.js';

const STEP = 300;

type Value = (tenant: number, resource: number, sample: number) => number;

/** Stationary noise: cpu about 2 cores (sd 0.1), memory about 4 GB (sd 10 MB). */
const calm = (g: () => number): Value => (_t, r) => (r === 0 ? 2 + 0.1 * g() : 4e9 + 1e7 * g());

/** cpu and memory inputs of `tenants` tenants, `n` samples each, starting at sample `from`. */
function inputs(tenants: number, n: number, from: number, g: () => number, value: Value = calm(g)): AnomalySeriesInput[] {
  const out: AnomalySeriesInput[] = [];
  for (let t = 0; t < tenants; t++) {
    for (const [r, resource] of ['cpu', 'memory'].entries()) {
      out.push({ key: `t${t}\u0000${resource}`, tenant: `t${t}`, resource, startS: from * STEP, values: Float64Array.from({ length: n }, (_, i) => value(t, r, from + i)) });
    }
  }
  return out;
}

describe('first verdict after a warm-up call', () => {
  for (const [warm, tenants] of [[288, 100], [2016, 40]] as const) {
    it(`does not flag stationary tenants warmed up with ${warm} points per series`, () => {
      const scorer = createAnomalyScorer(new Core('debug'), 'quarantine');
      const verdicts = [...scorer.score(inputs(tenants, warm, 0, gaussian(warm)), STEP).values()];
      expect(verdicts).toHaveLength(tenants);
      // The highest likelihood of the call, taken as if it were one sample's, flagged all of them; with the samples
      // counted (Bonferroni) about 1% are.
      expect(verdicts.filter((v) => v.anomalous).length).toBeLessThanOrEqual(0.05 * tenants);
      expect(verdicts.filter((v) => v.excludeFromTraining).length).toBeLessThanOrEqual(0.05 * tenants);
    });
  }

  it('takes a warm-up\'s history as training only: a spike hours ago is no evidence, one in the newest sample is', () => {
    const tenants = 20;
    const warm = 288;
    const g = gaussian(7);
    // every tenant's cpu doubles once, 100 samples (8 hours) before the end of its warm-up; t0's also at the newest
    const value: Value = (t, r, i) => (r === 0 && (i === warm - 100 || (t === 0 && i === warm - 1)) ? 4 : calm(g)(t, r, i));
    const warmUp = inputs(tenants, warm, 0, g, value).map((x) => ({ ...x, evidenceFrom: warm - 1 }));
    const v = createAnomalyScorer(new Core('debug'), 'quarantine').score(warmUp, STEP);
    expect(v.get('t0')!.anomalous).toBe(true);
    expect([...v.values()].filter((x) => x.anomalous).length).toBeLessThanOrEqual(2);
    // counted as evidence, the old spikes flag them all
    const all = createAnomalyScorer(new Core('debug'), 'quarantine').score(inputs(tenants, warm, 0, gaussian(7), value), STEP);
    expect([...all.values()].filter((x) => x.anomalous).length).toBeGreaterThan(tenants / 2);
  });

  it('still flags a spike in the newest sample of a normal 12-sample cycle', () => {
    const g = gaussian(12);
    const scorer = createAnomalyScorer(new Core('debug'), 'quarantine');
    const tenants = 10;
    scorer.score(inputs(tenants, 288, 0, g), STEP);
    for (let c = 0; c < 4; c++) scorer.score(inputs(tenants, 12, 288 + 12 * c, g), STEP);
    const from = 288 + 48;
    // tenant t0's cpu doubles (a 20-sigma jump) at the last sample of the cycle; the others stay calm
    const spiked = inputs(tenants, 12, from, g, (t, r, i) => (t === 0 && r === 0 && i === from + 11 ? 4 : calm(g)(t, r, i)));
    const v = scorer.score(spiked, STEP);
    expect(v.get('t0')!.anomalous).toBe(true);
    expect(v.get('t0')!.excludeFromTraining).toBe(true);
    expect([...v.values()].filter((x) => x.anomalous).length).toBeLessThanOrEqual(2);
  });
});

describe('the behaviour vector when a signal has no new samples', () => {
  /** One tenant's cpu, memory and threads, `n` samples from `from`, leaving out `skip`. */
  const three = (n: number, from: number, g: () => number, skip?: string): AnomalySeriesInput[] =>
    ['cpu', 'memory', 'threads']
      .filter((r) => r !== skip)
      .map((resource, r) => ({ key: `t\u0000${resource}`, tenant: 't', resource, startS: from * STEP, values: Float64Array.from({ length: n }, () => 1 + r + 0.1 * g()) }));

  it('waits for the signal with one detector per tenant, and starts over without it only once it stays away', () => {
    const g = gaussian(3);
    const scorer = createAnomalyScorer(new Core('debug'), 'quarantine');
    scorer.score(three(288, 0, g), STEP);
    expect(scorer.states()).toEqual({ series: 3, behaviours: 1 });
    // a failed pull of threads for one call, then of memory: each had left a detector of the smaller vector behind
    let t = 288;
    for (const skip of ['threads', undefined, 'memory', undefined]) {
      scorer.score(three(1, t++, g, skip), STEP);
      expect(scorer.states().behaviours).toBe(1);
    }
    // threads gone for good: after BEHAVIOUR_MISSES calls the vector of cpu and memory has its own detector instead
    for (let c = 0; c < 40; c++) scorer.score(three(1, t++, g, 'threads'), STEP);
    expect(scorer.states().behaviours).toBe(1);
    scorer.forget!('t\u0000cpu', 't');
    expect(scorer.states().behaviours).toBe(0);
  });
});

describe('a vanished signal of a tenant that has others', () => {
  it('keeps the tenant in its anomaly episode and quarantine; the last series gone ends them', () => {
    const run = (forgetMemory: boolean, forgetCpu = false): string[] => {
      const scorer = createAnomalyScorer(new Core('debug'), 'quarantine');
      let seed = 7;
      const r = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
      const val = (i: number, spike: boolean) => 10 + Math.sin(i / 10) + r() * 0.5 + (spike ? 60 : 0);
      const mk = (resource: string, from: number, n: number, spikeAt = -1): AnomalySeriesInput => ({
        key: `t\u0000${resource}`,
        tenant: 't',
        resource,
        startS: from * STEP,
        values: Float64Array.from({ length: n }, (_, i) => val(from + i, from + i === spikeAt)),
        evidenceFrom: n - 1,
      });
      scorer.score([mk('cpu', 0, 600), mk('memory', 0, 600)], STEP);
      const out: string[] = [];
      for (let c = 0; c < 8; c++) {
        const i = 600 + c;
        const batch = [mk('cpu', i, 1, c === 2 ? i : -1)];
        if (c < 3) batch.push(mk('memory', i, 1)); // memory's series ends after step 2
        if (c === 3 && forgetMemory) scorer.forget!('t\u0000memory', 't');
        if (c === 3 && forgetCpu) scorer.forget!('t\u0000cpu', 't');
        const v = scorer.score(batch, STEP).get('t')!;
        out.push(`${v.anomalous ? `anomalous since ${v.sinceS! / STEP}` : 'ok'}${v.excludeFromTraining ? ', quarantined' : ''}`);
      }
      return out;
    };
    const kept = run(false);
    expect(kept[2]).toBe('anomalous since 602, quarantined');
    // memory's series vanished (forgotten by the loop) while cpu lives on: the verdict, its episode (since the spike)
    // and its hold go on as if it had not
    expect(run(true)).toEqual(kept);
    // both gone: the tenant's episode goes with them (a later series of it starts afresh)
    expect(run(true, true).slice(3).every((v) => v === 'ok')).toBe(true);
  });
});
