import { describe, expect, it } from 'vitest';
import { allocatorTuning, createForecastEngine } from '../../src/core/engine.js';
import type { ForecastEngine } from '../../src/core/types.js';
import { EngineLoop } from '../../src/loop/engine-loop.js';
import { createAllocationDecider } from '../../src/loop/allocation-adapter.js';
import { seriesKey } from '../../src/model/series.js';
import type { Snapshot } from '../../src/model/snapshot.js';
import type { DecideFn, LoopMetrics, LoopStep } from '../../src/loop/types.js';
import { DEFAULT_BOUNDS, recentPeak } from '../../src/logic/bounds.js';
import { FakeEngine, FakeSource, manualClock } from './loop-fakes.js';

/** A fake engine whose fit blocks for `fitMs` per call, as the WASM core's synchronous fit does. */
class SlowEngine extends FakeEngine {
  constructor(
    options: ConstructorParameters<typeof FakeEngine>[0],
    readonly fitMs: number,
  ) {
    super(options);
  }

  override fit(keys: readonly string[], h: readonly Float64Array[]): void {
    const until = Date.now() + this.fitMs;
    while (Date.now() < until) {
      // busy: a synchronous fit
    }
    super.fit(keys, h);
  }
}

function recorder() {
  const steps: LoopStep[] = [];
  const errors: string[] = [];
  const cycles: string[] = [];
  const m: LoopMetrics = { stepDuration: (s) => steps.push(s), error: (s) => errors.push(s), cycle: (o) => cycles.push(o) };
  return { m, steps, errors, cycles };
}

function setup(tenants = ['a', 'b'], resources = ['cpu', 'memory']) {
  const engine = new FakeEngine({ intervalS: 60 });
  const source = new FakeSource(tenants, resources);
  const clock = manualClock(1_700_000_000);
  const rec = recorder();
  const loop = new EngineLoop({ source, engine, clock, metrics: rec.m }, { intervalS: 60, historyPoints: 1440, retrainEveryS: 3600, staleAfterS: 300, vanishAfterS: 1800, profileEveryS: 600 });
  return { engine, source, clock, loop, rec };
}

describe('EngineLoop.runOnce', () => {
  it('pulls the full window first, then only new samples with a small overlap', async () => {
    const { loop, source, clock } = setup();
    await loop.runOnce();
    // The first day is pulled in time chunks of at most 96 points that tile the window exactly.
    const first = source.pulls.slice();
    expect(first.length).toBe(15);
    expect(first[first.length - 1].endS - first[0].startS).toBe(1439 * 60);
    for (let i = 0; i < first.length; i++) {
      expect((first[i].endS - first[i].startS) / 60 + 1).toBeLessThanOrEqual(96);
      if (i > 0) expect(first[i].startS).toBe(first[i - 1].endS + 60);
    }
    const lastEnd = first[first.length - 1].endS;
    clock.advance(180);
    await loop.runOnce();
    const p = source.pulls[first.length];
    expect(p.startS).toBe(lastEnd - 2 * 60);
    expect(p.endS).toBe(lastEnd + 180);
  });

  it('pulls a slot only once pullDelayS has passed since its time', async () => {
    const M = 1_699_999_980; // a whole minute
    const engine = new FakeEngine({ intervalS: 60 });
    const source = new FakeSource(['a'], ['cpu']);
    const clock = manualClock(M + 40);
    const loop = new EngineLoop({ source, engine, clock }, { intervalS: 60, historyPoints: 120, pullDelayS: 30 });
    await loop.runOnce();
    const end = () => source.pulls[source.pulls.length - 1].endS;
    expect(end()).toBe(M); // 40 s old: pulled
    clock.advance(45); // 25 s past the next minute: not yet
    await loop.runOnce();
    expect(end()).toBe(M);
    clock.advance(5); // 30 s past it
    await loop.runOnce();
    expect(end()).toBe(M + 60);
  });

  it('times every step and publishes an immutable snapshot with forecasts for every series', async () => {
    const { loop, rec } = setup();
    const seen: Snapshot[] = [];
    loop.onSnapshot((s) => void seen.push(s));
    const r = await loop.runOnce();
    expect(r.ok).toBe(true);
    expect(new Set(rec.steps)).toEqual(new Set(['pull', 'store', 'profile', 'train', 'update', 'forecast', 'decide', 'publish']));
    expect(seen).toHaveLength(1);
    const s = seen[0];
    expect(Object.isFrozen(s)).toBe(true);
    expect(s.resources.size).toBe(4);
    const st = s.resources.get(seriesKey('a', 'cpu'))!;
    expect(st.forecast?.quantiles.length).toBe(9);
    expect(st.usage).toBeGreaterThan(0);
    expect(Object.isFrozen(st)).toBe(true);
    expect(s.profiles?.get('a')?.signals.cpu.level).toBeGreaterThan(0);
    expect(loop.ready).toBe(true);
  });

  it('logs, counts and skips a failing series while the others are forecast', async () => {
    const { loop, engine, rec } = setup();
    engine.failKeys.add(seriesKey('b', 'cpu'));
    const r = await loop.runOnce();
    expect(r.ok).toBe(true);
    expect(r.failedSeries).toBeGreaterThan(0);
    expect(rec.errors).toContain('train');
    const s = loop.latest()!;
    expect(s.resources.get(seriesKey('a', 'cpu'))?.forecast).toBeDefined();
    expect(s.resources.get(seriesKey('b', 'cpu'))?.forecast).toBeUndefined();
  });

  it('updates every known series once a cycle with the points it has not seen, in batches, skipping a failing one alone', async () => {
    const calls: Array<Array<[string, number]>> = [];
    class Recording extends FakeEngine {
      override update(keys: readonly string[], pts: readonly Float64Array[]): void {
        super.update(keys, pts);
        calls.push(keys.map((k, i) => [k, pts[i].length]));
      }
    }
    const engine = new Recording({ intervalS: 60 });
    const tenants = ['a', 'b', 'c', 'd', 'e'];
    const clock = manualClock(1_700_000_000);
    const rec = recorder();
    const loop = new EngineLoop({ source: new FakeSource(tenants, ['cpu']), engine, clock, metrics: rec.m }, { intervalS: 60, historyPoints: 600, batch: 2 });
    await loop.runOnce();
    expect(calls).toEqual([]);
    clock.advance(180);
    await loop.runOnce();
    expect(calls.map((c) => c.length)).toEqual([2, 2, 1]);
    expect(calls.flat()).toEqual(tenants.map((t) => [seriesKey(t, 'cpu'), 3]));
    // a series whose update fails is retried alone and skipped (its model dropped, fitted again later); the batch's
    // other series are updated, and the next cycle feeds them only their new points
    engine.failKeys.add(seriesKey('c', 'cpu'));
    calls.length = 0;
    clock.advance(60);
    await loop.runOnce();
    expect(rec.errors).toContain('update');
    expect(calls.flat().sort()).toEqual(['a', 'b', 'd', 'e'].map((t) => [seriesKey(t, 'cpu'), 1]));
    engine.failKeys.clear();
    calls.length = 0;
    clock.advance(120);
    await loop.runOnce();
    expect(calls.flat()).toEqual(['a', 'b', 'd', 'e'].map((t) => [seriesKey(t, 'cpu'), 2]));
  });

  it('serves the last snapshot marked stale when the pull fails, and recovers', async () => {
    const { loop, source, clock, rec } = setup();
    await loop.runOnce();
    const good = loop.latest()!;
    source.fail = true;
    clock.advance(60);
    const r = await loop.runOnce();
    expect(r.ok).toBe(false);
    const stale = loop.latest()!;
    expect(stale.stale).toBe(true);
    expect(stale.resources).toBe(good.resources);
    expect(stale.lastError).toMatch(/connection refused/);
    expect(rec.errors).toContain('pull');
    expect(rec.cycles).toEqual(['success', 'failure']);
    source.fail = false;
    clock.advance(60);
    await loop.runOnce();
    expect(loop.latest()!.stale).toBe(false);
  });

  it('retrains every series when the retraining period has passed, and only new series before that', async () => {
    const { loop, engine, clock, source } = setup();
    await loop.runOnce();
    expect(engine.fitKeys.length).toBe(4);
    clock.advance(600);
    source.tenants.push('c');
    await loop.runOnce();
    expect(engine.fitKeys.slice(4).sort()).toEqual([seriesKey('c', 'cpu'), seriesKey('c', 'memory')].sort());
    clock.advance(3600);
    const r = await loop.runOnce();
    expect(r.retrained).toBe(true);
    expect(engine.fitKeys.length).toBe(6 + 6);
  });

  it('retrains known series through engine.refit, after the update, on windows ending at their last point', async () => {
    class RefitEngine extends FakeEngine {
      refits: Array<{ key: string; last: number; fedLast: number | undefined }> = [];
      refit(keys: readonly string[], h: readonly Float64Array[]): void {
        keys.forEach((k, i) => this.refits.push({ key: k, last: h[i][h[i].length - 1], fedLast: this.last.get(k) }));
      }
    }
    const engine = new RefitEngine({ intervalS: 60 });
    const source = new FakeSource(['a', 'b'], ['cpu'], (t, _r, ts) => (t === 'a' ? 1 : 2) + ts / 1e9);
    const clock = manualClock(1_700_000_000);
    const loop = new EngineLoop({ source, engine, clock }, { intervalS: 60, historyPoints: 600, retrainEveryS: 600 });
    await loop.runOnce();
    expect(engine.fitKeys.length).toBe(2);
    const firstA = engine.last.get(seriesKey('a', 'cpu'))!;
    clock.advance(600);
    source.tenants.push('c');
    const r = await loop.runOnce();
    expect(r.retrained).toBe(true);
    expect(r.trainedSeries).toBe(3);
    // the new tenant is fitted, the known ones refitted (not fitted again)
    expect(engine.fitKeys).toEqual([seriesKey('a', 'cpu'), seriesKey('b', 'cpu'), seriesKey('c', 'cpu')]);
    expect(engine.refits.map((x) => x.key).sort()).toEqual([seriesKey('a', 'cpu'), seriesKey('b', 'cpu')]);
    // each window ends at the point the update step has just fed (newer than what the first cycle fitted)
    for (const x of engine.refits) expect(x.last).toBe(x.fedLast);
    expect(engine.refits.find((x) => x.key === seriesKey('a', 'cpu'))!.last).toBeGreaterThan(firstA);
  });

  it('marks a silent series stale and drops a vanished tenant with its models', async () => {
    const { loop, source, clock, engine } = setup(['a', 'gone']);
    await loop.runOnce();
    source.tenants = ['a'];
    clock.advance(600);
    await loop.runOnce();
    expect(loop.latest()!.resources.get(seriesKey('gone', 'cpu'))?.stale).toBe(true);
    clock.advance(1800);
    await loop.runOnce();
    expect(loop.latest()!.resources.has(seriesKey('gone', 'cpu'))).toBe(false);
    expect(engine.has(seriesKey('gone', 'cpu'))).toBe(false);
  });

  it('keeps gaps as NaN in history rather than zero', async () => {
    const { loop, source } = setup(['a'], ['cpu']);
    source.f = (_t, _r, t) => (Math.floor(t / 60) % 10 === 0 ? NaN : 5);
    await loop.runOnce();
    const w = loop.store.window(seriesKey('a', 'cpu'))!;
    expect(w.values.some((v) => Number.isNaN(v))).toBe(true);
    expect(w.values.some((v) => v === 0)).toBe(false);
  });

  it('delivers snapshots to every sink even when one throws, and counts the failure', async () => {
    const { loop, rec } = setup();
    let got = 0;
    loop.addSink({ publish: () => { throw new Error('actuator down'); } });
    loop.addSink({ publish: () => void got++ });
    await loop.runOnce();
    expect(got).toBe(1);
    expect(rec.errors).toContain('publish');
  });

  it('decides recommendations through the shared allocation policy and plans a pooled shadow reserve', async () => {
    const engine = new FakeEngine({ intervalS: 60 });
    const source = new FakeSource(['a', 'b'], ['cpu', 'memory']);
    const clock = manualClock(1_700_000_000);
    const decider = createAllocationDecider();
    const loop = new EngineLoop({ source, engine, clock, decide: decider.decide, onVanish: (k) => decider.forget(k) }, { intervalS: 60, historyPoints: 600 });
    await loop.runOnce();
    const st = loop.latest()!.resources.get(seriesKey('a', 'cpu'))!;
    const rec = st.recommendation!;
    expect(rec.target).toBeGreaterThan(0);
    expect(rec.lowerBound).toBeLessThanOrEqual(rec.target);
    expect(rec.upperBound).toBeGreaterThanOrEqual(rec.target);
    // Never below the recent peak (the policy's safety floor).
    expect(rec.target).toBeGreaterThanOrEqual(st.recentPeak * 0.999);
    const shadow = loop.latest()!.shadow;
    expect(shadow.map((p) => p.resource).sort()).toEqual(['cpu', 'memory']);
    for (const p of shadow) expect(p.size).toBeGreaterThanOrEqual(0);
    expect(decider.size).toBe(4);
  });

  it('floors at the peak of the allocation policy\'s safety window, as the backtest does, in the decision and the snapshot', async () => {
    const engine = new FakeEngine({ intervalS: 60 });
    // a one-minute burst every 37 minutes on a flat load: an hour's peak holds a burst that ten minutes' often do not
    const source = new FakeSource(['a'], ['cpu'], (_t, _r, t) => (Math.round(t / 60) % 37 === 0 ? 5 : 1));
    const clock = manualClock(1_700_000_000);
    const seen: number[] = [];
    const decide: DecideFn = (d) => {
      seen.push(d.recentPeak);
      return undefined;
    };
    const loop = new EngineLoop({ source, engine, clock, decide }, { intervalS: 60, historyPoints: 600 });
    const key = seriesKey('a', 'cpu');
    const n = DEFAULT_BOUNDS.safetyWindowS / 60;
    let differs = false;
    for (let c = 0; c < 12; c++) {
      await loop.runOnce();
      const values = loop.store.window(key)!.values;
      const want = recentPeak(values, n);
      expect(seen.at(-1)).toBe(want);
      expect(loop.latest()!.resources.get(key)!.recentPeak).toBe(want);
      if (recentPeak(values, 60) !== want) differs = true;
      clock.advance(300);
    }
    // in some cycle an hour's peak differs from ten minutes' (else the case proves nothing)
    expect(differs).toBe(true);
  });

  it('publishes the demand of this time of day: the peak a day before over the window the forecast covers', async () => {
    const engine = new FakeEngine({ intervalS: 60 });
    // a daily batch job: 50 from 22:46:40 for ten minutes, 1 otherwise (the clock starts at 22:13:20)
    const burst = (t: number): boolean => t % 86_400 >= 82_000 && t % 86_400 < 82_600;
    const source = new FakeSource(['a'], ['cpu'], (_t, _r, t) => (burst(t) ? 50 : 1));
    const clock = manualClock(1_700_000_000);
    const loop = new EngineLoop({ source, engine, clock }, { intervalS: 60, historyPoints: 2880 });
    const key = seriesKey('a', 'cpu');
    const seen: number[] = [];
    for (let c = 0; c < 12; c++) {
      await loop.runOnce();
      const st = loop.latest()!.resources.get(key)!;
      const lastS = loop.store.get(key)!.lastS;
      // the forecast covers lastS + 1 min .. lastS + 30 min; what the same minutes held a day before
      const dayAgo = [...loop.store.slots(key, lastS + 60 - 86_400, 30)];
      expect(st.recurringPeak).toBe(Math.max(...dayAgo));
      expect(st.recurringPeak).toBe(dayAgo.some((_, i) => burst(lastS + 60 + 60 * i)) ? 50 : 1);
      seen.push(st.recurringPeak!);
      clock.advance(300);
    }
    // the burst comes into the window ahead of time and leaves it as its hour passes
    expect(seen[0]).toBe(1);
    expect(seen).toContain(50);
    expect(seen.at(-1)).toBe(1);
  });

  it('fits new series within the fit budget, whole tenants first, and leaves the rest to the next cycles', async () => {
    // 40 tenants x 2 signals, 30 ms per fit call of 4 series: 600 ms for the whole first fit, 150 ms allowed a cycle
    const tenants = Array.from({ length: 40 }, (_, i) => `t${String(i).padStart(2, '0')}`);
    const run = async (fitBudgetS: number) => {
      const engine = new SlowEngine({ intervalS: 60 }, 30);
      // the source lists them in another order than their names
      const source = new FakeSource([...tenants].reverse(), ['cpu', 'memory']);
      const clock = manualClock(1_700_000_000);
      const loop = new EngineLoop({ source, engine, clock }, { intervalS: 60, historyPoints: 120, fitBudgetS });
      const reports = [];
      for (let c = 0; c < 30; c++) {
        const r = await loop.runOnce();
        expect(r.ok).toBe(true);
        reports.push(r);
        const forecast = [...loop.latest()!.resources.values()].filter((s) => s.forecast).map((s) => s.tenant);
        // what is published is whole tenants, in tenant order
        const counts = new Map<string, number>();
        for (const t of forecast) counts.set(t, (counts.get(t) ?? 0) + 1);
        expect([...counts.values()].every((n) => n === 2)).toBe(true);
        expect([...counts.keys()].sort()).toEqual(tenants.slice(0, counts.size));
        expect(r.pendingFit).toBe(80 - forecast.length);
        expect(loop.latest()!.pendingFit).toBe(r.pendingFit);
        if (r.pendingFit === 0) break;
        clock.advance(60);
      }
      return reports;
    };
    const budgeted = await run(0.15);
    expect(budgeted.length).toBeGreaterThan(2);
    expect(budgeted[0].trainedSeries).toBeGreaterThan(0);
    expect(budgeted[0].trainedSeries).toBeLessThan(40);
    expect(budgeted.reduce((n, r) => n + r.trainedSeries, 0)).toBeGreaterThanOrEqual(80);
    // no budget: the first cycle fits every series
    const whole = await run(0);
    expect(whole.map((r) => [r.trainedSeries, r.pendingFit])).toEqual([[80, 0]]);
  });

  it('runs the next cycle at once while series wait for their first fit, then keeps its period', async () => {
    const engine = new SlowEngine({ intervalS: 60 }, 20);
    const source = new FakeSource(Array.from({ length: 30 }, (_, i) => `t${i}`), ['cpu']);
    const loop = new EngineLoop({ source, engine, clock: manualClock(1_700_000_000) }, { intervalS: 60, historyPoints: 120, fitBudgetS: 0.05 });
    const cycles: number[] = [];
    loop.onSnapshot((s) => void cycles.push(s.cycle));
    loop.start(3_600_000); // an hour between cycles: only the pending fits can explain a second cycle here
    const until = Date.now() + 10_000;
    const allFitted = (): boolean => {
      const s = loop.latest();
      return s !== undefined && s.resources.size === 30 && [...s.resources.values()].every((r) => r.forecast);
    };
    while (Date.now() < until && !allFitted()) await new Promise((r) => setTimeout(r, 20));
    const n = cycles.length;
    await new Promise((r) => setTimeout(r, 200));
    await loop.stop();
    expect(allFitted()).toBe(true);
    expect(n).toBeGreaterThan(2);
    // once every series is fitted, the loop waits its period again
    expect(cycles.length).toBe(n);
  });

  it('yields to the event loop between engine batches, so a long retrain does not block scrapes', async () => {
    const engine = new SlowEngine({ intervalS: 60 }, 30);
    const source = new FakeSource(Array.from({ length: 40 }, (_, i) => `t${i}`), ['cpu', 'memory']);
    const loop = new EngineLoop({ source, engine, clock: manualClock(1_700_000_000) }, { intervalS: 60, historyPoints: 120, fitBatch: 8 });
    let last = Date.now();
    let maxGap = 0;
    let ticking = true;
    const tick = () => {
      const now = Date.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      if (ticking) setTimeout(tick, 1);
    };
    setTimeout(tick, 1);
    const r = await loop.runOnce();
    ticking = false;
    expect(r.durationsS.train!).toBeGreaterThan(0.25); // 10 fit calls of 30 ms
    expect(maxGap).toBeLessThan(150); // about one batch, not the whole retrain
  });

  it('logs the progress of a long fit with what is done, what is left and an estimate of the time left', async () => {
    const logs: Array<{ obj: Record<string, unknown>; msg?: string }> = [];
    const logger = { info: (obj: object, msg?: string) => logs.push({ obj: obj as Record<string, unknown>, msg }), warn() {}, error() {}, debug() {} };
    const engine = new SlowEngine({ intervalS: 60 }, 20);
    const source = new FakeSource(Array.from({ length: 20 }, (_, i) => `t${i}`), ['cpu']);
    const loop = new EngineLoop({ source, engine, clock: manualClock(1_700_000_000), logger }, { intervalS: 60, historyPoints: 120, fitBatch: 4, progressEveryS: 0.03 });
    await loop.runOnce();
    const progress = logs.filter((l) => l.obj.how === 'fit');
    // 5 calls of 20 ms, a line at most every 30 ms and none after the last call
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress.length).toBeLessThanOrEqual(4);
    for (const { obj, msg } of progress) {
      expect(obj.total).toBe(20);
      expect(obj.done as number).toBeGreaterThan(0);
      expect(obj.done as number).toBeLessThan(20);
      expect(obj.done as number % 4).toBe(0);
      expect(obj.etaS as number).toBeGreaterThanOrEqual(0);
      expect(msg).toMatch(new RegExp(`^fit: ${obj.done} of 20 series, about \\d+ s left$`));
    }
    // the default (10 s) says nothing about a short fit
    const quiet: unknown[] = [];
    const loop2 = new EngineLoop({ source, engine: new SlowEngine({ intervalS: 60 }, 20), clock: manualClock(1_700_000_000), logger: { ...logger, info: (o: object) => quiet.push(o) } }, { intervalS: 60, historyPoints: 120, fitBatch: 4 });
    await loop2.runOnce();
    expect(quiet.filter((o) => (o as { how?: string }).how !== undefined)).toEqual([]);
  });

  it('keeps a quarantined tenant out of retraining and feeds its new points as missing, but only under quarantine', async () => {
    for (const exclude of [false, true]) {
      const engine = new FakeEngine({ intervalS: 60 });
      const fed: number[] = [];
      const update = engine.update.bind(engine);
      engine.update = (keys, pts) => {
        keys.forEach((k, i) => k === seriesKey('bad', 'cpu') && fed.push(...pts[i]));
        update(keys, pts);
      };
      const source = new FakeSource(['good', 'bad'], ['cpu']);
      const clock = manualClock(1_700_000_000);
      const anomaly = {
        score: (series: readonly { tenant: string }[]) =>
          new Map([...new Set(series.map((x) => x.tenant))].map((t) => [t, { score: t === 'bad' ? 0.9 : 0, kind: 'none' as const, anomalous: t === 'bad', excludeFromTraining: exclude && t === 'bad' }])),
      };
      const loop = new EngineLoop({ source, engine, clock, anomaly }, { intervalS: 60, historyPoints: 600, retrainEveryS: 600 });
      await loop.runOnce();
      clock.advance(600);
      const r = await loop.runOnce();
      expect(r.retrained).toBe(true);
      expect(r.trainedSeries).toBe(exclude ? 1 : 2);
      expect(loop.latest()!.resources.get(seriesKey('bad', 'cpu'))!.anomaly?.anomalous).toBe(true);
      if (exclude) expect(fed.length > 0 && fed.every((v) => Number.isNaN(v))).toBe(true);
    }
  });

  it('lends the engine the store\'s history: the same forecasts as an engine keeping its own copy, one week held once', async () => {
    const opts = { intervalS: 60, horizonsS: [60, 180, 360], quantiles: [0.5, 0.9, 0.95], seasonsS: [3600] };
    // the same engine without shareHistory: it keeps its own ring of recent values
    const ownCopy = (e: ForecastEngine): ForecastEngine =>
      new Proxy(e, { get: (t, p) => (p === 'shareHistory' ? undefined : ((v) => (typeof v === 'function' ? v.bind(t) : v))(Reflect.get(t, p, t))) });
    const run = async (share: boolean) => {
      const real = createForecastEngine(opts, undefined, allocatorTuning(60));
      const engine = share ? real : ownCopy(real);
      const noise = (t: number) => ((Math.imul(t / 60, 2654435761) >>> 0) / 4294967296) * 0.3;
      const source = new FakeSource(['a', 'b'], ['cpu'], (ten, _r, t) => (ten === 'a' ? 2 : 5) + Math.sin((2 * Math.PI * t) / 3600) + noise(t));
      const clock = manualClock(1_700_000_000);
      let quarantined = false;
      const anomaly = {
        score: (series: readonly { tenant: string }[]) =>
          new Map([...new Set(series.map((x) => x.tenant))].map((t) => [t, { score: 0, kind: 'none' as const, anomalous: quarantined && t === 'b', excludeFromTraining: quarantined && t === 'b' }])),
      };
      const loop = new EngineLoop({ source, engine, clock, anomaly }, { intervalS: 60, historyPoints: 300, retrainEveryS: 1200 });
      const out: number[][] = [];
      await loop.runOnce();
      // single steps, catch-ups of 10 and 60 points (the seasonal members read a season back: the quarantined
      // stretch of tenant b, which its models were fed as missing), retrains
      for (const [adv, q] of [[60, false], [60, false], [600, false], [60, true], [120, true], [60, false], [600, false], [3600, false], [60, false]] as const) {
        quarantined = q;
        clock.advance(adv);
        await loop.runOnce();
        for (const r of loop.latest()!.resources.values()) out.push([...r.forecast!.point, ...r.forecast!.quantiles]);
      }
      return { out, loop, recentPoints: real.recentPoints };
    };
    const shared = await run(true);
    const own = await run(false);
    expect(shared.out).toEqual(own.out);
    expect(shared.out.flat().every(Number.isFinite)).toBe(true);
    // the store keeps the engine's recent points and a pull chunk; windows and reported history stay historyPoints
    expect(shared.recentPoints).toBe(60 * 7 + 1);
    expect(shared.loop.store.capacity).toBe(60 * 7 + 1 + 96);
    expect(own.loop.store.capacity).toBe(300);
    expect(shared.loop.store.window(seriesKey('a', 'cpu'))!.values.length).toBe(300);
    expect(shared.loop.latest()!.resources.get(seriesKey('a', 'cpu'))!.historyPoints).toBe(300);
  });
});
