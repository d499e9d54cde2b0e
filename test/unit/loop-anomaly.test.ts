import { describe, expect, it } from 'vitest';
import { Core } from '../../src/core/wasm.js';
import { createAnomalyScorer } from '../../src/loop/anomaly-adapter.js';
import type { AnomalyScorer, AnomalySeriesInput, AnomalyVerdict } from '../../src/loop/types.js';
import { EngineLoop } from '../../src/loop/engine-loop.js';
import { createExporter } from '../../src/metrics/exporter.js';
import { seriesKey } from '../../src/model/series.js';
import { FakeEngine, FakeSource, manualClock } from './loop-fakes.js';

const STEP = 300;

/** Feeds `days` of a calm daily pattern for two signals of tenant t, `chunk` points per cycle; returns the last verdicts. */
function feed(scorer: ReturnType<typeof createAnomalyScorer>, points: number, chunk: number, value: (i: number, r: number) => number, from = 0) {
  let last = new Map<string, AnomalyVerdict>();
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
    const scorer = createAnomalyScorer(core, 'quarantine');
    const v1 = feed(scorer, 4 * 288, 12, calm);
    expect(v1.get('t')?.anomalous).toBe(false);
    const v2 = feed(scorer, 12, 12, (i, r) => calm(i, r) * (r === 0 ? 8 : 1), 4 * 288);
    const t = v2.get('t')!;
    expect(t.anomalous).toBe(true);
    expect(t.kind).not.toBe('none');
    expect(t.excludeFromTraining).toBe(true);
    expect(t.score).toBeGreaterThan(0.5);
  });

  it('names the signal that opened an episode and when, keeps them through it, and drops them once it ends', () => {
    const core = new Core('debug');
    const scorer = createAnomalyScorer(core, 'quarantine');
    // five calm days: this deterministic wiggle reaches a new extreme of its residuals at the start of day 5, beyond
    // what the calibration (started over on day 3) has seen, and that would be the first flag
    feed(scorer, 5 * 288, 12, calm);
    const spike = (i: number, r: number) => calm(i, r) * (r === 0 && i >= 5 * 288 + 6 ? 8 : 1);
    // one point per cycle: the spike's first sample opens the episode
    let opened: AnomalyVerdict | undefined;
    for (let i = 5 * 288; i < 5 * 288 + 12 && !opened?.anomalous; i++) opened = feed(scorer, 1, 1, spike, i).get('t');
    // the strongest evidence at the spike's first sample: cpu's own, or the behaviour vector that cpu moved (here the
    // vector's, whose likelihood was the higher)
    expect(opened).toMatchObject({ anomalous: true, sinceS: (5 * 288 + 6) * STEP });
    expect(['cpu', 'behaviour']).toContain(opened!.signal);
    // the next cycle, still flagged: the same episode, whatever signal is strongest now
    const next = feed(scorer, 1, 1, spike, 5 * 288 + 7).get('t')!;
    expect([next.anomalous, next.signal, next.sinceS]).toEqual([true, opened!.signal, (5 * 288 + 6) * STEP]);
    // calm again: once the flag has ended, neither is given
    let end = next;
    for (let i = 5 * 288 + 8; i < 5 * 288 + 40 && end.anomalous; i++) end = feed(scorer, 1, 1, calm, i).get('t')!;
    expect(end.anomalous).toBe(false);
    expect([end.signal, end.sinceS]).toEqual([undefined, undefined]);
  });

  it('alerts without quarantine in alert-only mode and never flags in mode off', () => {
    const spike = (i: number, r: number) => calm(i, r) * (i >= 4 * 288 && r === 0 ? 8 : 1);
    const alertOnly = feed(createAnomalyScorer(new Core('debug'), 'alert-only'), 4 * 288 + 12, 12, spike).get('t')!;
    expect(alertOnly.anomalous).toBe(true);
    expect(alertOnly.excludeFromTraining).toBe(false);
    expect(feed(createAnomalyScorer(new Core('debug'), 'off'), 4 * 288 + 12, 12, spike).get('t')!.anomalous).toBe(false);
  });

  it('scores each signal and the behaviour vector, and carries those scores in the verdict', () => {
    const core = new Core('debug');
    const scorer = createAnomalyScorer(core, 'alert-only');
    feed(scorer, 4 * 288, 12, calm);
    const t = feed(scorer, 12, 12, (i, r) => calm(i, r) * (r === 0 ? 8 : 1), 4 * 288).get('t')!;
    const by = new Map(t.signals!.map((x) => [x.signal, x]));
    expect([...by.keys()]).toEqual(['behaviour', 'cpu', 'memory']);
    for (const x of t.signals!) {
      expect(x.score).toBeGreaterThanOrEqual(0);
      expect(x.score).toBeLessThanOrEqual(1);
    }
    // the tenant's score is the highest of its signals'; the spiking signal is flagged, calm memory stays lower
    expect(t.score).toBe(Math.max(...t.signals!.map((x) => x.score)));
    expect(by.get('cpu')!.kind).not.toBe('none');
    expect(by.get('memory')!.score).toBeLessThan(by.get('cpu')!.score);
    // a signal with no new samples keeps its last score; a vanished one (and the behaviour built with it) goes
    const cpuOnly = scorer.score([{ key: 't\u0000cpu', tenant: 't', resource: 'cpu', startS: (4 * 288 + 12) * STEP, values: Float64Array.of(calm(4 * 288 + 12, 0)) }], STEP).get('t')!;
    expect(cpuOnly.signals!.find((x) => x.signal === 'memory')).toEqual(by.get('memory'));
    scorer.forget!('t\u0000memory', 't');
    const after = scorer.score([{ key: 't\u0000cpu', tenant: 't', resource: 'cpu', startS: (4 * 288 + 13) * STEP, values: Float64Array.of(calm(4 * 288 + 13, 0)) }], STEP).get('t')!;
    expect(after.signals!.map((x) => x.signal)).toEqual(['cpu']);
  });
});

describe('a behaviour detector that starts over', () => {
  it('gives no behaviour evidence until it has a day of vectors (a tenant whose set of signals changed)', () => {
    const scorer = createAnomalyScorer(new Core(), 'alert-only');
    const shape = (i: number, phase: number, w: number) => (1 + 0.3 * Math.sin((2 * Math.PI * i) / 288 + phase)) * (1 + 0.02 * Math.sin(i * w));
    const value = (i: number, r: number) => (r === 0 ? 2 : r === 1 ? 4e9 : 50) * shape(i, r === 2 ? 1 : 0, r === 2 ? 5.1 : 7.3);
    const input = (resource: string, r: number, i: number, n: number, evidenceFrom?: number): AnomalySeriesInput => ({
      key: `t\u0000${resource}`, tenant: 't', resource, startS: i * STEP, values: Float64Array.from({ length: n }, (_, k) => value(i + k, r)), evidenceFrom,
    });
    // cpu and memory: a week of history, then calm cycles
    scorer.score([input('cpu', 0, 0, 2016, 2015), input('memory', 1, 0, 2016, 2015)], STEP);
    // threads appears at 2016: a new series (no evidence of its own for a day, as the loop passes it) and a new
    // three-signal behaviour detector, whose first hours would otherwise read as a behaviour change
    const behaviourEvidence: number[] = [];
    for (let i = 2016; i < 2016 + 300; i++) {
      const v = scorer.score([input('cpu', 0, i, 1), input('memory', 1, i, 1), input('threads', 2, i, 1, i - 2016 < 288 ? 1 : 0)], STEP).get('t')!;
      const b = v.signals!.find((x) => x.signal === 'behaviour');
      if (b && b.score > 0) behaviourEvidence.push(i - 2016);
    }
    // the detector's 288th vector is the first that counts (the score is 0 where there is no evidence, and where the
    // distance is below the profile's mean: only some of the later ones are positive)
    expect(behaviourEvidence[0]).toBe(287);
  });
});

describe('anomaly scores through the loop', () => {
  it('publishes every signal score of the verdict in the snapshot and exports one series per signal', async () => {
    const verdict: AnomalyVerdict = {
      score: 0.8,
      kind: 'level-shift',
      anomalous: true,
      excludeFromTraining: false,
      signals: [
        { signal: 'behaviour', score: 0.3, kind: 'behaviour-change' },
        { signal: 'cpu', score: 0.8, kind: 'level-shift' },
        { signal: 'memory', score: 0.2, kind: 'none' },
      ],
    };
    const scorer: AnomalyScorer = { score: (series) => new Map(series.map((x) => [x.tenant, verdict])) };
    const loop = new EngineLoop({ source: new FakeSource(['a'], ['cpu', 'memory']), engine: new FakeEngine({ intervalS: 60 }), clock: manualClock(1_700_000_000), anomaly: scorer }, { intervalS: 60, historyPoints: 600 });
    await loop.runOnce();
    expect(loop.latest()!.resources.get(seriesKey('a', 'memory'))!.anomaly!.signals).toEqual(verdict.signals);
    const body = (await createExporter({ snapshot: () => loop.latest() }).render()).body.toString();
    expect(body.split('\n').filter((l) => l.startsWith('foresight_anomaly_score{')).sort()).toEqual([
      'foresight_anomaly_score{tenant="a",signal="behaviour",kind="behaviour-change"} 0.3',
      'foresight_anomaly_score{tenant="a",signal="cpu",kind="level-shift"} 0.8',
      'foresight_anomaly_score{tenant="a",signal="memory",kind="none"} 0.2',
    ]);
  });
});

describe('the loop\'s anomaly warm-up', () => {
  it('feeds a new series its warm-up with only the newest sample as evidence, then every new sample', async () => {
    const calls: Array<{ key: string; n: number; evidenceFrom: number | undefined }> = [];
    const scorer: AnomalyScorer = {
      score: (series) => {
        for (const x of series) calls.push({ key: x.key, n: x.values.length, evidenceFrom: x.evidenceFrom });
        return new Map();
      },
    };
    const clock = manualClock(1_700_000_000);
    const loop = new EngineLoop({ source: new FakeSource(['a'], ['cpu']), engine: new FakeEngine({ intervalS: 60 }), clock, anomaly: scorer }, { intervalS: 60, historyPoints: 600, anomalyWarmupPoints: 100 });
    await loop.runOnce();
    expect(calls).toEqual([{ key: seriesKey('a', 'cpu'), n: 100, evidenceFrom: 99 }]);
    calls.length = 0;
    clock.advance(180);
    await loop.runOnce();
    expect(calls).toEqual([{ key: seriesKey('a', 'cpu'), n: 3, evidenceFrom: 0 }]);
  });

  it('feeds a tenant that appears after the first cycle, and stops feeding one that vanished', async () => {
    const calls: string[][] = [];
    const scorer: AnomalyScorer = {
      score: (series) => {
        calls.push(series.map((x) => x.key));
        return new Map();
      },
    };
    const clock = manualClock(1_700_000_000);
    const source = new FakeSource(['a'], ['cpu', 'memory']);
    const loop = new EngineLoop({ source, engine: new FakeEngine({ intervalS: 60 }), clock, anomaly: scorer }, { intervalS: 60, historyPoints: 600, anomalyWarmupPoints: 10, vanishAfterS: 300 });
    await loop.runOnce();
    source.tenants.push('b');
    clock.advance(60);
    calls.length = 0;
    await loop.runOnce();
    const fed = () => calls.flat().sort();
    expect(fed()).toEqual([seriesKey('a', 'cpu'), seriesKey('a', 'memory'), seriesKey('b', 'cpu'), seriesKey('b', 'memory')].sort());
    // a tenant's series in one call: its verdict combines them
    for (const c of calls) for (const t of ['a', 'b']) expect(c.filter((k) => k.startsWith(`${t}\u0000`)).length % 2).toBe(0);
    source.tenants = ['b'];
    clock.advance(600);
    await loop.runOnce();
    expect(loop.store.get(seriesKey('a', 'cpu'))).toBeUndefined();
    clock.advance(60);
    calls.length = 0;
    await loop.runOnce();
    expect(fed()).toEqual([seriesKey('b', 'cpu'), seriesKey('b', 'memory')].sort());
    expect([...loop.latest()!.profiles!.keys()]).toEqual(['b']);
  });

  it('feeds a series the warm-up again when the scorer lost its state (a core restart), as a new one', async () => {
    const calls: Array<{ n: number; evidenceFrom: number | undefined }> = [];
    let known = true;
    const scorer: AnomalyScorer = {
      score: (series) => {
        for (const x of series) calls.push({ n: x.values.length, evidenceFrom: x.evidenceFrom });
        return new Map();
      },
      known: () => known,
    };
    const clock = manualClock(1_700_000_000);
    const loop = new EngineLoop({ source: new FakeSource(['a'], ['cpu']), engine: new FakeEngine({ intervalS: 60 }), clock, anomaly: scorer }, { intervalS: 60, historyPoints: 600, anomalyWarmupPoints: 100 });
    await loop.runOnce();
    clock.advance(120);
    await loop.runOnce();
    known = false;
    clock.advance(60);
    await loop.runOnce();
    expect(calls).toEqual([{ n: 100, evidenceFrom: 99 }, { n: 2, evidenceFrom: 0 }, { n: 100, evidenceFrom: 99 }]);
  });

  it('gives a series younger than the warm-up no evidence until it has the warm-up\'s points (a new tenant)', async () => {
    const calls: Array<{ n: number; evidenceFrom: number | undefined }> = [];
    const scorer: AnomalyScorer = {
      score: (series) => {
        for (const x of series) if (x.tenant === 'b') calls.push({ n: x.values.length, evidenceFrom: x.evidenceFrom });
        return new Map();
      },
    };
    const clock = manualClock(1_700_000_000);
    const bFrom = 1_700_000_060;
    // tenant b sends from bFrom on: its series starts there, with no history before it
    const source = new FakeSource(['a', 'b'], ['cpu'], (t, _r, s) => (t === 'b' && s < bFrom ? NaN : 1 + Math.sin(s / 3600)));
    const loop = new EngineLoop({ source, engine: new FakeEngine({ intervalS: 60 }), clock, anomaly: scorer }, { intervalS: 60, historyPoints: 600, anomalyWarmupPoints: 10 });
    await loop.runOnce();
    for (let c = 0; c < 13; c++) {
      clock.advance(60);
      await loop.runOnce();
    }
    // one point a cycle: the first 10 train the detectors only (evidenceFrom = n: none of them), the 11th on count
    const held = loop.store.get(seriesKey('b', 'cpu'))!.count;
    expect(held).toBeGreaterThanOrEqual(12);
    expect(calls).toEqual([...Array.from({ length: 10 }, () => ({ n: 1, evidenceFrom: 1 })), ...Array.from({ length: held - 10 }, () => ({ n: 1, evidenceFrom: 0 }))]);
  });

  it('does not flag a new tenant for a spike in its first day, and flags the same spike after it (real detectors)', async () => {
    const bFrom = 1_700_006_400;
    // b's index on the grid from its first sample; a 10x spike at its 100th and at its 400th point
    const value = (t: string, s: number): number => {
      if (t === 'b' && s < bFrom) return NaN;
      const i = Math.round((s - bFrom) / STEP);
      const base = 2 * (1 + 0.3 * Math.sin((2 * Math.PI * i) / 288)) * (1 + 0.02 * Math.sin(i * 7.3));
      return t === 'b' && (i === 100 || i === 400) ? 10 * base : base;
    };
    const clock = manualClock(bFrom);
    const source = new FakeSource(['a', 'b'], ['cpu', 'memory'], (t, _r, s) => value(t, s));
    const loop = new EngineLoop(
      { source, engine: new FakeEngine({ intervalS: STEP }), clock, anomaly: createAnomalyScorer(new Core(), 'alert-only') },
      { intervalS: STEP, historyPoints: 2016 },
    );
    const flagged: number[] = [];
    for (let c = 0; c <= 420; c++) {
      if (c > 0) clock.advance(STEP);
      await loop.runOnce();
      if (loop.latest()!.resources.get(seriesKey('b', 'cpu'))?.anomaly?.anomalous) flagged.push(c);
    }
    // the first spike is in b's first 288 points (the default warm-up): it trains the detectors; the second is flagged
    expect(flagged.filter((c) => c < 288)).toEqual([]);
    expect(flagged).toContain(400);
  });

  it('gives each input the same times a week earlier from its history store, NaN where it holds none', async () => {
    const inputs: AnomalySeriesInput[] = [];
    const scorer: AnomalyScorer = { score: (series) => (inputs.push(...series), new Map()) };
    const clock = manualClock(1_700_000_100);
    // the value is the sample's time in steps, so each week-ago value tells where it came from
    const source = new FakeSource(['a'], ['cpu'], (_t, _r, t) => t / STEP);
    // a week of history: the first pull brings the week-ago window of the newest sample too (2,023 slots), and the
    // store keeps those of a pull chunk of new samples (2,023 + 95)
    const loop = new EngineLoop({ source, engine: new FakeEngine({ intervalS: STEP }), clock, anomaly: scorer }, { intervalS: STEP, historyPoints: 2016, anomalyWarmupPoints: 288 });
    await loop.runOnce();
    clock.advance(3 * STEP);
    await loop.runOnce();
    // Prometheus away for 60 cycles: the catch-up brings 60 samples at once
    source.fail = true;
    for (let c = 0; c < 59; c++) {
      clock.advance(STEP);
      await loop.runOnce();
    }
    source.fail = false;
    clock.advance(STEP);
    await loop.runOnce();
    expect(inputs.map((x) => x.values.length)).toEqual([288, 3, 60]);
    const firstPulled = inputs[0].startS / STEP + 288 - 2023;
    const margin = 6;
    for (const x of inputs) {
      expect(x.weekAgo).toHaveLength(x.values.length + 2 * margin);
      const first = x.startS / STEP - 2016 - margin;
      expect([...x.weekAgo!]).toEqual(Array.from({ length: x.weekAgo!.length }, (_, j) => (first + j >= firstPulled ? first + j : NaN)));
    }
    // the windows are whole from the first cycle's newest sample on, the catch-up's included
    expect(inputs[0].weekAgo!.slice(-2 * margin - 1).every(Number.isFinite)).toBe(true);
    expect(inputs[1].weekAgo!.every(Number.isFinite)).toBe(true);
    expect(inputs[2].weekAgo!.every(Number.isFinite)).toBe(true);
  });

  it('neither fetches nor pulls the week-ago window for a scorer that does not read it (anomalyWeekAgo: false)', async () => {
    const run = async (usesWeekAgo: boolean | undefined) => {
      const inputs: AnomalySeriesInput[] = [];
      const scorer: AnomalyScorer = { score: (series) => (inputs.push(...series), new Map()), usesWeekAgo };
      const source = new FakeSource(['a'], ['cpu']);
      const loop = new EngineLoop({ source, engine: new FakeEngine({ intervalS: STEP }), clock: manualClock(1_700_000_100), anomaly: scorer }, { intervalS: STEP, historyPoints: 2016, anomalyWarmupPoints: 288 });
      await loop.runOnce();
      // the first cycle's pull, in chunks: from its earliest start to its latest end
      const pulled = (Math.max(...source.pulls.map((r) => r.endS)) - Math.min(...source.pulls.map((r) => r.startS))) / STEP + 1;
      return { weekAgo: inputs[0].weekAgo, n: inputs[0].values.length, pulled, capacity: loop.store.capacity };
    };
    const off = await run(false);
    expect(off.weekAgo).toBeUndefined();
    expect(off.pulled).toBe(2016);
    expect(off.capacity).toBeLessThan(2023);
    // the scorers that read it (createAnomalyScorer says so; a scorer that does not say is taken to read it)
    for (const on of [await run(true), await run(undefined)]) {
      expect(on.weekAgo).toHaveLength(on.n + 2 * 6);
      expect(on.pulled).toBe(2023);
      expect(on.capacity).toBe(2023 + 95);
    }
  });
});
