// Weekly recurrence (src/logic/recurrence.ts): the rule on hand-made windows, the store's week-ago slots, and the
// anomaly adapter on tenants with a weekly shape: the Monday rise after a quieter weekend is no anomaly when the
// adapter sees last week, while a real spike still is.
import { describe, expect, it } from 'vitest';
import { Core } from '../../src/core/wasm.js';
import { recurrenceMargin, recurringSamples, weekAgoSpan, weekAgoWithin, RECURRENCE_PERIOD_S } from '../../src/logic/recurrence.js';
import type { AnomalyPolicy } from '../../src/logic/anomaly.js';
import { createAnomalyScorer } from '../../src/loop/anomaly-adapter.js';
import type { AnomalySeriesInput } from '../../src/loop/types.js';
import { HistoryStore } from '../../src/model/history-store.js';
import { gaussian } from '../helpers/random.js';

const STEP = 300;
const DAY = 288;
const WEEK = 7 * DAY;

describe('recurringSamples', () => {
  // margin 1: a window of 3 week-ago values per sample
  it('accepts a sample within last week\'s range widened by its width on each side, and nothing outside it', () => {
    // range [10, 12], width 2: recurs within [8, 14]
    const weekAgo = [10, 12, 10, 12, 10];
    expect([...recurringSamples([8, 14, 7.9], weekAgo, 1)]).toEqual([1, 1, 0]);
    expect([...recurringSamples([14.1], weekAgo, 1)]).toEqual([0]);
    // a constant week ago: only that value recurs
    expect([...recurringSamples([5, 5.001], [5, 5, 5, 5], 1)]).toEqual([1, 0]);
  });

  it('needs at least half of the window known, a finite sample, and week-ago values at all', () => {
    expect([...recurringSamples([11], [NaN, NaN, 11], 1)]).toEqual([0]);
    expect([...recurringSamples([11], [NaN, 11, 11], 1)]).toEqual([1]);
    expect([...recurringSamples([NaN], [11, 11, 11], 1)]).toEqual([0]);
    expect([...recurringSamples([11, 11], undefined, 1)]).toEqual([0, 0]);
    // the second sample's window would run past the values given
    expect([...recurringSamples([11, 11], [11, 11, 11], 1)]).toEqual([1, 0]);
  });

  it('leaves the samples before `from` alone', () => {
    expect([...recurringSamples([11, 11, 11], [11, 11, 11, 11, 11], 1, 2)]).toEqual([0, 0, 1]);
  });

  it('spans a week and 30 minutes each side on the grid', () => {
    expect(recurrenceMargin(300)).toBe(6);
    expect(recurrenceMargin(3600)).toBe(1);
    expect(weekAgoSpan(1_000_000, 4, 300)).toEqual({ startS: 1_000_000 - RECURRENCE_PERIOD_S - 1800, length: 16, margin: 6 });
  });

  it('reads the week-ago window from the same array, NaN before its start', () => {
    // hourly: a week is 168 slots, the margin 1
    const y = Float64Array.from({ length: 400 }, (_, i) => i);
    expect([...weekAgoWithin(y, 200, 2, 3600)]).toEqual([31, 32, 33, 34]);
    expect([...weekAgoWithin(y, 168, 1, 3600)]).toEqual([NaN, 0, 1]);
  });
});

describe('HistoryStore.slots', () => {
  it('returns the slots from a time on, NaN for what the store does not hold', () => {
    const store = new HistoryStore(60, 5);
    store.write('k', 't', 'cpu', 600, [1, 2, 3, 4, 5, 6, 7]); // keeps 3..7 at 720..960
    expect([...store.slots('k', 660, 4)]).toEqual([NaN, 3, 4, 5]);
    expect([...store.slots('k', 900, 3)]).toEqual([6, 7, NaN]);
    expect([...store.slots('k', 780, 2)]).toEqual([4, 5]);
    expect([...store.slots('other', 780, 2)]).toEqual([NaN, NaN]);
  });

  it('peakAt is the largest of those slots, without the copy', () => {
    const store = new HistoryStore(60, 5);
    store.write('k', 't', 'cpu', 600, [1, 2, 9, 4, NaN, 6, 7]); // keeps 9, 4, NaN, 6, 7 at 720..960
    expect(store.peakAt('k', 660, 3)).toBe(9); // 660 is no longer held
    expect(store.peakAt('k', 780, 2)).toBe(4);
    expect(store.peakAt('k', 840, 1)).toBeNaN(); // a gap
    expect(store.peakAt('k', 900, 3)).toBe(7); // 1020 not yet held
    expect(store.peakAt('k', 1020, 2)).toBeNaN();
    expect(store.peakAt('other', 780, 2)).toBeNaN();
    for (const [from, n] of [[540, 9], [660, 4], [720, 5], [780, 3], [900, 3]]) {
      const want = Math.max(...[...store.slots('k', from, n)].filter((v) => v === v));
      expect(store.peakAt('k', from, n)).toBe(want);
    }
  });
});

/** Tenant t's cpu and memory at sample i (i = 0 a Monday 00:00): a daily cycle, the weekend 30% lower, noise. */
function weekly(g: () => number) {
  return (t: number, r: number, i: number): number => {
    const weekend = Math.floor((((i % WEEK) + WEEK) % WEEK) / DAY) >= 5;
    const level = (weekend ? 0.7 : 1) * (2 + Math.sin((2 * Math.PI * i) / DAY + t * 0.37));
    return r === 0 ? level * (1 + 0.05 * g()) : 4e9 * (0.8 + (0.2 * level) / 3) * (1 + 0.01 * g());
  };
}

/** Scores `tenants` tenants: a Sunday's warm-up, then Monday's first `hours` one sample per cycle, with or without
 *  last week's values; `spike(t, i)` multiplies cpu. Returns the tenants flagged at any cycle. */
function monday(tenants: number, hours: number, withWeekAgo: boolean, spike = (_t: number, _i: number) => 1, policy: Partial<AnomalyPolicy> = {}): Set<string> {
  const value = weekly(gaussian(42));
  // two weeks of values from sample 0, drawn once in order
  const vals = Array.from({ length: tenants }, (_, t) => [0, 1].map((r) => Float64Array.from({ length: 2 * WEEK }, (_, i) => value(t, r, i) * (r === 0 ? spike(t, i) : 1))));
  const scorer = createAnomalyScorer(new Core('debug'), 'quarantine', policy);
  const inputs = (from: number, n: number, evidenceFrom: number): AnomalySeriesInput[] =>
    vals.flatMap((pair, t) => pair.map((y, r) => (
      { key: `t${t}\u0000${r}`, tenant: `t${t}`, resource: r ? 'memory' : 'cpu', startS: from * STEP, values: y.subarray(from, from + n), evidenceFrom, weekAgo: withWeekAgo ? weekAgoWithin(y, from, n, STEP) : undefined }
    )));
  const flagged = new Set<string>();
  scorer.score(inputs(WEEK - DAY, DAY, DAY - 1), STEP);
  for (let i = WEEK; i < WEEK + hours * 12; i++) for (const [t, v] of scorer.score(inputs(i, 1, 0), STEP)) if (v.anomalous) flagged.add(t);
  return flagged;
}

describe('the anomaly adapter with last week\'s values', () => {
  it('does not flag the Monday rise that last week had too, and flags it without last week', () => {
    // measured: 15 of 20 flagged without, 0 with (the detectors' daily season learnt Sunday's lower level)
    expect(monday(20, 6, false).size).toBeGreaterThanOrEqual(5);
    expect(monday(20, 6, true).size).toBeLessThanOrEqual(1);
    // the configuration's anomalyWeekAgo: false turns the rule off
    expect(monday(20, 6, true, undefined, { weekAgo: false }).size).toBeGreaterThanOrEqual(5);
    // and tells the loop so, which then neither pulls nor fetches the week-ago values (test/unit/loop-anomaly.test.ts)
    expect(createAnomalyScorer(new Core('debug'), 'quarantine', { weekAgo: false }).usesWeekAgo).toBe(false);
    expect(createAnomalyScorer(new Core('debug'), 'quarantine').usesWeekAgo).toBe(true);
  });

  it('takes a repeat of last week, spike included, as no evidence on any signal nor on the behaviour vector', () => {
    const value = weekly(gaussian(5));
    const y = [0, 1].map((r) => Float64Array.from({ length: 2 * WEEK }, (_, i) => value(0, r, i % WEEK) * (r === 0 && i % WEEK === 100 ? 4 : 1)));
    const run = (recur: readonly boolean[]) => {
      const scorer = createAnomalyScorer(new Core('debug'), 'quarantine');
      const input = (from: number, n: number, evidenceFrom: number): AnomalySeriesInput[] => y.map((v, r) => (
        { key: `t\u0000${r}`, tenant: 't', resource: r ? 'memory' : 'cpu', startS: from * STEP, values: v.subarray(from, from + n), evidenceFrom, weekAgo: recur[r] ? weekAgoWithin(v, from, n, STEP) : undefined }
      ));
      scorer.score(input(WEEK + 100 - DAY, DAY, DAY - 1), STEP);
      return scorer.score(input(WEEK + 100, 1, 0), STEP).get('t')!;
    };
    const scores = (v: ReturnType<typeof run>) => Object.fromEntries(v.signals!.map((x) => [x.signal, x.score]));
    // the same spike as a week ago to the minute (cpu x4): flagged without last week, nothing with it
    const without = run([false, false]);
    expect(without.anomalous).toBe(true);
    expect(scores(without).behaviour).toBeGreaterThan(0);
    const both = run([true, true]);
    expect(both.anomalous).toBe(false);
    expect(scores(both)).toEqual({ behaviour: 0, cpu: 0, memory: 0 });
    // the behaviour vector recurs only when every signal does
    expect(scores(run([true, false])).behaviour).toBeGreaterThan(0);
  });

  it('still flags a spike that last week did not have', () => {
    const at = WEEK + 36; // Monday 03:00
    const flagged = monday(20, 6, true, (t, i) => (t < 5 && i === at ? 3 : 1));
    for (let t = 0; t < 5; t++) expect(flagged.has(`t${t}`)).toBe(true);
    expect(flagged.size).toBeLessThanOrEqual(6);
  });
});
