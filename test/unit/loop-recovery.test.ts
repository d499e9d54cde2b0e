// The loop after outages and failures: what it keeps, drops and publishes (src/loop/engine-loop.ts).
import { describe, expect, it } from 'vitest';
import { EngineLoop } from '../../src/loop/engine-loop.js';
import type { DecideInput } from '../../src/loop/types.js';
import type { PullRange } from '../../src/sources/history-source.js';
import { FakeEngine, FakeSource, manualClock } from './loop-fakes.js';

const IV = 60;
const T0 = 1_700_000_000 - (1_700_000_000 % IV);
const key = (tenant: string, resource: string): string => `${tenant}\u0000${resource}`;

/** A fake engine whose fit takes `ms` of wall time (to spend a first-fit budget). */
class SlowEngine extends FakeEngine {
  constructor(readonly ms: number) {
    super({ intervalS: IV });
  }
  override fit(keys: readonly string[], h: readonly Float64Array[]): void {
    const end = performance.now() + this.ms;
    while (performance.now() < end);
    super.fit(keys, h);
  }
}

describe('the loop after an outage', () => {
  it('keeps every series when a pull fails part-way through the catch-up after an outage longer than vanishAfter', async () => {
    const src = new FakeSource(['a', 'b'], ['cpu', 'memory']);
    const engine = new FakeEngine({ intervalS: IV });
    const clock = manualClock(T0 + 5);
    const vanished: string[] = [];
    const loop = new EngineLoop({ source: src, engine, clock, onVanish: (k) => vanished.push(k) }, { intervalS: IV, historyPoints: 600, pullChunkPoints: 96, staleAfterS: 300, vanishAfterS: 3600 });
    for (let c = 0; c < 30; c++) {
      await loop.runOnce();
      clock.advance(IV);
    }
    // Prometheus away for 5 hours: shorter than the history (10 h), longer than vanishAfter (1 h)
    src.fail = true;
    for (let c = 0; c < 300; c++) {
      await loop.runOnce();
      clock.advance(IV);
    }
    src.fail = false;
    // back, but the catch-up's second chunk times out: the first chunk's samples are hours old, not gone
    const pull = src.pull.bind(src);
    let n = 0;
    src.pull = async (r: PullRange) => {
      if (++n === 2) throw Object.assign(new Error('query timed out'), { code: 'FORESIGHT_ERR_PROM_QUERY' });
      return pull(r);
    };
    await loop.runOnce();
    expect(vanished).toEqual([]);
    expect(loop.store.size).toBe(4);
    expect(engine.last.size).toBe(4);
    src.pull = pull;
    clock.advance(IV);
    await loop.runOnce();
    // the store kept its history: the whole window, not what was pulled after the failure
    expect(loop.store.get(key('a', 'cpu'))!.count).toBe(600);
    expect(vanished).toEqual([]);
  });

  it('still drops a series whose signal was pulled to the end and has had no sample for vanishAfter', async () => {
    const src = new FakeSource(['a', 'b'], ['cpu']);
    const engine = new FakeEngine({ intervalS: IV });
    const clock = manualClock(T0 + 5);
    const vanished: string[] = [];
    const loop = new EngineLoop({ source: src, engine, clock, onVanish: (k) => vanished.push(k) }, { intervalS: IV, historyPoints: 600, vanishAfterS: 600 });
    for (let c = 0; c < 5; c++) {
      await loop.runOnce();
      clock.advance(IV);
    }
    src.tenants = ['a'];
    for (let c = 0; c < 12; c++) {
      await loop.runOnce();
      clock.advance(IV);
    }
    expect(vanished).toEqual([key('b', 'cpu')]);
  });

  it('publishes and decides on no forecast of a series whose model was dropped, until it is fitted again', async () => {
    const src = new FakeSource(['a', 'b'], ['cpu'], (t, _r, s) => (t === 'a' ? 1 : 2) + (s - T0) / IV);
    const engine = new FakeEngine({ intervalS: IV });
    const clock = manualClock(T0 + 5);
    const decided: DecideInput[] = [];
    const loop = new EngineLoop({ source: src, engine, clock, decide: (d) => void decided.push(d) }, { intervalS: IV, historyPoints: 120 });
    for (let c = 0; c < 5; c++) {
      await loop.runOnce();
      clock.advance(IV);
    }
    expect(loop.latest()!.resources.get(key('b', 'cpu'))!.forecast).toBeDefined();
    // b's update fails (its model is dropped), and so does every fit of it since
    engine.failKeys.add(key('b', 'cpu'));
    for (let c = 0; c < 10; c++) {
      decided.length = 0;
      await loop.runOnce();
      expect(loop.latest()!.resources.get(key('b', 'cpu'))!.forecast, `cycle ${c}`).toBeUndefined();
      expect(decided.map((d) => d.tenant)).toEqual(['a']);
      clock.advance(IV);
    }
    engine.failKeys.clear();
    await loop.runOnce();
    expect(loop.latest()!.resources.get(key('b', 'cpu'))!.forecast).toBeDefined();
  });

  it('counts the series it trained, not the ones whose fit failed', async () => {
    const src = new FakeSource(['a', 'b', 'c'], ['cpu']);
    const engine = new FakeEngine({ intervalS: IV });
    const clock = manualClock(T0 + 5);
    const loop = new EngineLoop({ source: src, engine, clock }, { intervalS: IV, historyPoints: 120 });
    expect((await loop.runOnce()).trainedSeries).toBe(3);
    clock.advance(IV);
    engine.failKeys.add(key('b', 'cpu'));
    clock.advance(IV);
    await loop.runOnce(); // b's update fails and its model is dropped; its fit fails too
    clock.advance(IV);
    const r = await loop.runOnce();
    expect(r.trainedSeries).toBe(0);
    expect(r.failedSeries).toBe(1);
  });
});

describe('the first-fit budget', () => {
  it('publishes whole tenants: once the budget is spent it finishes the tenant it is fitting', async () => {
    const signals = ['cpu', 'memory', 'network', 'disk', 'threads', 'fds'];
    const src = new FakeSource(['t1', 't2', 't3', 't4'], signals);
    const clock = manualClock(T0 + 5);
    const loop = new EngineLoop({ source: src, engine: new SlowEngine(20), clock }, { intervalS: IV, historyPoints: 120, fitBudgetS: 0.03, fitBatch: 4 });
    let cycles = 0;
    do {
      await loop.runOnce();
      cycles++;
      const per = new Map<string, number>();
      for (const r of loop.latest()!.resources.values()) if (r.forecast) per.set(r.tenant, (per.get(r.tenant) ?? 0) + 1);
      expect(per.size).toBeGreaterThan(0);
      for (const [tenant, n] of per) expect(n, `cycle ${cycles}, tenant ${tenant}`).toBe(signals.length);
      clock.advance(IV);
    } while (loop.latest()!.resources.size > [...loop.latest()!.resources.values()].filter((r) => r.forecast).length && cycles < 10);
    expect(cycles).toBeGreaterThan(1);
  });

  it('fits at least one batch a cycle however small the budget', async () => {
    const src = new FakeSource(['t1', 't2'], ['cpu']);
    const engine = new SlowEngine(5);
    const clock = manualClock(T0 + 5);
    const loop = new EngineLoop({ source: src, engine, clock }, { intervalS: IV, historyPoints: 120, fitBudgetS: 1e-9, fitBatch: 1 });
    await loop.runOnce();
    expect(engine.last.size).toBeGreaterThan(0);
  });
});
