// The loop's pull when one signal's query fails and the others answer: each signal keeps its own pulled-until time.
import { describe, expect, it } from 'vitest';
import { EngineLoop } from '../../src/loop/engine-loop.js';
import { seriesKey } from '../../src/model/series.js';
import type { PullRange, PullResult } from '../../src/sources/history-source.js';
import { FakeEngine, FakeSource, manualClock } from './loop-fakes.js';

const STEP = 300;
const T0 = 1_700_000_130; // not on the grid: the loop floors it

/**
 * Two tenants, cpu and memory; the queries of the signals in `failing` fail. With `honour`, the source queries only
 * the signals a range names and rejects when every one it queried failed (as the Prometheus source does); without,
 * it queries every signal whatever the range says.
 */
class FlakySource extends FakeSource {
  failing = new Set<string>(['memory']);
  ranges: PullRange[] = [];
  constructor(readonly honour = false) {
    super(['a', 'b'], ['cpu', 'memory'], (t, r, ts) => (r === 'cpu' ? 1 : 100) + (t === 'a' ? 0 : 1) + ts / 1e9);
  }
  override async pull(range: PullRange): Promise<PullResult> {
    this.ranges.push(range);
    const r = await super.pull(range);
    const asked = this.honour && range.resources ? new Set(range.resources) : new Set(['cpu', 'memory']);
    const failed = [...asked].filter((x) => this.failing.has(x));
    if (failed.length === asked.size) throw new Error(`${failed.join(', ')} query timed out`);
    const series = r.set.series.filter((s) => asked.has(s.resource) && !failed.includes(s.resource));
    return { ...r, set: { ...r.set, series }, failures: failed.map((resource) => ({ resource, error: new Error(`${resource} query timed out`) })) };
  }
}

function setup(source: FlakySource, historyPoints = 2016) {
  const clock = manualClock(T0);
  const errors: string[] = [];
  const loop = new EngineLoop(
    { source, engine: new FakeEngine({ intervalS: STEP }), clock, metrics: { stepDuration() {}, cycle() {}, error: (s) => errors.push(s) } },
    { intervalS: STEP, historyPoints },
  );
  return { loop, clock, errors };
}

/** Every slot of a series' window, and whether any is a gap. */
function windowOf(loop: EngineLoop, tenant: string, resource: string) {
  const w = loop.store.window(seriesKey(tenant, resource));
  return { startS: w?.startS, n: w?.values.length ?? 0, gaps: w ? w.values.filter((v) => Number.isNaN(v)).length : -1 };
}

describe('EngineLoop pull, one signal failing', () => {
  it('pulls a signal whose first pull failed for its whole week once its query answers again', async () => {
    const source = new FlakySource();
    const { loop, clock, errors } = setup(source);
    const r1 = await loop.runOnce();
    expect(r1.ok).toBe(true);
    expect(errors).toContain('pull');
    expect(loop.store.get(seriesKey('a', 'memory'))).toBeUndefined();
    expect(windowOf(loop, 'a', 'cpu').n).toBe(2016);
    expect(loop.latest()!.lastError).toMatch(/memory: memory query timed out/);

    source.failing.clear();
    source.ranges = [];
    clock.advance(STEP);
    const r2 = await loop.runOnce();
    expect(r2.ok).toBe(true);
    for (const t of ['a', 'b']) {
      const cpu = windowOf(loop, t, 'cpu');
      expect(windowOf(loop, t, 'memory')).toEqual(cpu);
      expect(cpu).toMatchObject({ n: 2016, gaps: 0 });
    }
    // the up-to-date signal first, as one incremental pull; then memory alone, in chunks, from the window's start
    const endS = Math.floor((T0 + STEP) / STEP) * STEP;
    expect(source.ranges[0]).toEqual({ startS: endS - 3 * STEP, endS, stepS: STEP, resources: ['cpu'] });
    const catchUp = source.ranges.slice(1);
    expect(catchUp.every((p) => p.resources?.join() === 'memory')).toBe(true);
    expect(catchUp[0].startS).toBe(endS - 2015 * STEP);
    expect(catchUp[catchUp.length - 1].endS).toBe(endS);
    expect(loop.latest()!.lastError).toBeUndefined();
    // caught up: one incremental pull of every signal again
    source.ranges = [];
    clock.advance(STEP);
    await loop.runOnce();
    expect(source.ranges).toEqual([{ startS: endS - 2 * STEP, endS: endS + STEP, stepS: STEP }]);
  });

  it('fills a gap that opened mid-history when the query answers again, beyond the small overlap', async () => {
    const source = new FlakySource();
    source.failing.clear();
    const { loop, clock } = setup(source);
    await loop.runOnce();
    source.failing.add('memory');
    for (let i = 0; i < 5; i++) {
      clock.advance(STEP);
      expect((await loop.runOnce()).ok).toBe(true);
    }
    expect(loop.store.get(seriesKey('a', 'memory'))!.lastS).toBeLessThan(loop.store.get(seriesKey('a', 'cpu'))!.lastS);
    source.failing.clear();
    clock.advance(STEP);
    await loop.runOnce();
    const cpu = windowOf(loop, 'a', 'cpu');
    expect(cpu.gaps).toBe(0);
    expect(windowOf(loop, 'a', 'memory')).toEqual(cpu);
    // no gap, and the values are the ones the source has for those times
    const mem = loop.store.window(seriesKey('a', 'memory'))!;
    const last = mem.values.length - 1;
    expect(mem.values[last - 3]).toBeCloseTo(source.f('a', 'memory', mem.startS + (last - 3) * STEP), 3);
  });

  it('tries a signal that keeps failing once a cycle, one chunk at a time, while the cycle succeeds', async () => {
    const source = new FlakySource(true);
    const { loop, clock, errors } = setup(source);
    await loop.runOnce();
    const before = errors.length;
    source.ranges = [];
    clock.advance(STEP);
    const r = await loop.runOnce();
    // a source that queries only what is asked rejects the memory-only pull: the cycle still succeeds on cpu
    expect(r.ok).toBe(true);
    expect(loop.latest()!.stale).toBe(false);
    expect(source.ranges.map((p) => p.resources?.join() ?? 'all')).toEqual(['cpu', 'memory']);
    expect((source.ranges[1].endS - source.ranges[1].startS) / STEP + 1).toBe(96);
    expect(errors.length - before).toBe(1); // the rejected memory pull
    expect(loop.latest()!.lastError).toMatch(/memory query timed out/);
    // and once it answers, its week comes back
    source.failing.clear();
    clock.advance(STEP);
    await loop.runOnce();
    expect(windowOf(loop, 'b', 'memory')).toEqual(windowOf(loop, 'b', 'cpu'));
  });

  it('goes on with a signal catching up when the freshest signal fails alone, instead of failing the cycle', async () => {
    const source = new FlakySource(true);
    source.failing.clear();
    const { loop, clock } = setup(source);
    await loop.runOnce();
    source.failing.add('cpu'); // cpu falls behind for three cycles; memory is the freshest
    for (let i = 0; i < 3; i++) {
      clock.advance(STEP);
      await loop.runOnce();
    }
    source.failing = new Set(['memory']); // now memory's query fails alone, and cpu answers again
    clock.advance(STEP);
    const r = await loop.runOnce();
    expect(r.ok).toBe(true);
    expect(loop.latest()!.stale).toBe(false);
    const cpu = windowOf(loop, 'a', 'cpu');
    expect(cpu.gaps).toBe(0);
    expect(loop.store.get(seriesKey('a', 'cpu'))!.lastS).toBe(Math.floor(clock.nowS() / STEP) * STEP);
  });
});

describe('EngineLoop signal coverage', () => {
  /** cpu for tenants a and b; "api_calls" whose query finds no tenant while `empty` holds: no series before
   *  `seriesFromS`, one without the tenant label from then on. */
  class CoverageSource extends FakeSource {
    empty = true;
    seriesFromS = Infinity;
    constructor() {
      super(['a', 'b'], ['cpu', 'api_calls']);
    }
    override async pull(range: PullRange): Promise<PullResult> {
      const r = await super.pull(range);
      const series = this.empty ? r.set.series.filter((s) => s.resource !== 'api_calls') : r.set.series;
      const coverage = [
        { resource: 'cpu', tenants: 2 },
        !this.empty
          ? { resource: 'api_calls', tenants: 2 }
          : range.endS < this.seriesFromS
            ? { resource: 'api_calls', tenants: 0, series: 0, why: 'the query returned no series' }
            : { resource: 'api_calls', tenants: 0, series: 1, why: 'the query returned 1 series without a "team" label' },
      ];
      return { ...r, set: { ...r.set, series }, coverage };
    }
  }

  it('warns once that a signal has no tenant, with why, publishes the count, and says when it has tenants again', async () => {
    const STEP = 300;
    const source = new CoverageSource();
    const clock = manualClock(1_700_000_100);
    const warns: Array<{ obj: Record<string, unknown>; msg?: string }> = [];
    const infos: string[] = [];
    const logger = { info: (_o: object, msg?: string) => void infos.push(msg ?? ''), warn: (obj: object, msg?: string) => void warns.push({ obj: obj as Record<string, unknown>, msg }), error() {}, debug() {} };
    // the first pull (288 points) comes in three chunks of 96: the metric exists in the newest only
    source.seriesFromS = clock.nowS() - 3600;
    const loop = new EngineLoop({ source, engine: new FakeEngine({ intervalS: STEP }), clock, logger }, { intervalS: STEP, historyPoints: 288 });
    await loop.runOnce();
    expect(source.pulls.length).toBe(3);
    const said = warns.filter((w) => w.obj.signal === 'api_calls');
    expect(said).toHaveLength(1);
    expect(said[0].msg).toMatch(/signal api_calls: no tenant has it: the query returned 1 series without a "team" label/);
    expect([...loop.latest()!.signalTenants!]).toEqual([['cpu', 2], ['api_calls', 0]]);
    // not repeated while it stays empty
    clock.advance(STEP);
    await loop.runOnce();
    expect(warns.filter((w) => w.obj.signal === 'api_calls')).toHaveLength(1);
    // back
    source.empty = false;
    clock.advance(STEP);
    await loop.runOnce();
    expect(infos).toContain('signal api_calls: 2 tenants again');
    expect(loop.latest()!.signalTenants!.get('api_calls')).toBe(2);
    expect(warns.filter((w) => w.obj.signal === 'cpu')).toHaveLength(0);
  });
});

describe('a series back after a gap longer than the history kept', () => {
  /** Counts the points each series was fed, by update or by its latest fit. */
  class CountingEngine extends FakeEngine {
    fed = new Map<string, number>();
    override fit(keys: readonly string[], histories: readonly Float64Array[]): void {
      super.fit(keys, histories);
      keys.forEach((k, i) => this.fed.set(k, histories[i].length));
    }
    override update(keys: readonly string[], pts: readonly Float64Array[]): void {
      super.update(keys, pts);
      keys.forEach((k, i) => this.fed.set(k, (this.fed.get(k) ?? 0) + pts[i].length));
    }
  }

  it('is fitted again as a new series from its first sample after the gap, instead of fed what is left, which would shift its timeline', async () => {
    const clock = manualClock(1_700_006_400);
    const source = new FakeSource(['a', 'b'], ['cpu']);
    const engine = new CountingEngine({ intervalS: STEP });
    // a day of history, tenants kept 3 days after their last sample
    const loop = new EngineLoop({ source, engine, clock }, { intervalS: STEP, historyPoints: 288, vanishAfterS: 3 * 86_400 });
    await loop.runOnce();
    const b = seriesKey('b', 'cpu');
    source.tenants = ['a']; // b quiet for 36 hours: longer than the day the store keeps
    for (let i = 0; i < 432; i++) {
      clock.advance(STEP);
      await loop.runOnce();
    }
    const fitsBefore = engine.fitKeys.filter((k) => k === b).length;
    source.tenants = ['a', 'b'];
    clock.advance(STEP);
    await loop.runOnce();
    // fitted again from its first sample after the gap (the pull re-reads the last pulled slot and the two before it,
    // which the source answers for now: 4 points with the new one), not on a day of gaps that would read as a day of
    // history; the snapshot says how little it has
    expect(engine.fitKeys.filter((k) => k === b).length).toBe(fitsBefore + 1);
    expect(engine.fed.get(b)).toBe(4);
    expect(loop.latest()!.resources.get(b)!.historyPoints).toBe(4);
    // and then fed step by step as before
    clock.advance(STEP);
    await loop.runOnce();
    expect(engine.fed.get(b)).toBe(5);
  }, 60_000);
});
