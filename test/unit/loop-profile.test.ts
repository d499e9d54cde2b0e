// The API call mix the loop profiles: every call type over the tenant's profile window, missing points as no calls.
import { describe, expect, it } from 'vitest';
import { EngineLoop } from '../../src/loop/engine-loop.js';
import type { BreakdownSeries, HistorySource, PullRange, PullResult } from '../../src/sources/history-source.js';
import { totals } from '../../src/sources/prometheus-source.js';
import { OTHER_CALLS } from '../../src/model/call-mix.js';
import { seriesKey } from '../../src/model/series.js';
import { FakeEngine, FakeSource, manualClock } from './loop-fakes.js';

const STEP = 300;
const HOUR = 3600;

/** Tenant "a": GET /new at 1 req/s always; DELETE /old at 9 req/s up to `oldUntilS`, after which the route is gone
 *  (the query returns no series for it). */
class MixSource implements HistorySource {
  readonly origin = 'fake';
  readonly signals = [{ resource: 'api_calls', unit: 'requests_per_second', query: 'x', breakdownBy: ['method', 'route'] }];
  constructor(readonly oldUntilS: number) {}
  async pull(r: PullRange): Promise<PullResult> {
    const n = (r.endS - r.startS) / r.stepS + 1;
    const mk = (type: string, f: (t: number) => number): BreakdownSeries => ({
      tenant: 'a',
      resource: 'api_calls',
      type,
      startS: r.startS,
      intervalS: r.stepS,
      values: Float64Array.from({ length: n }, (_, i) => f(r.startS + i * r.stepS)),
    });
    const b = [mk('GET /new', () => 1)];
    if (r.startS <= this.oldUntilS) b.push(mk('DELETE /old', (t) => (t <= this.oldUntilS ? 9 : NaN)));
    return { set: { origin: 'fake', intervalS: r.stepS, series: totals(b), units: {} }, breakdown: b, failures: [] };
  }
}

describe('EngineLoop API call mix', () => {
  it('weights each route by its calls over the profile window and forgets a route removed before it', async () => {
    const t0 = 1_700_000_100; // on the grid
    const clock = manualClock(t0);
    // a one-day profile window (288 points), profiles refreshed hourly
    const loop = new EngineLoop({ source: new MixSource(t0), engine: new FakeEngine({ intervalS: STEP }), clock }, { intervalS: STEP, historyPoints: 288, profileEveryS: HOUR });
    await loop.runOnce();
    expect(loop.latest()!.profiles!.get('a')!.apiMix['DELETE /old']).toBeCloseTo(0.9, 12);
    // twelve hours on: the window [t0 - 42,900 s, t0 + 12 h] holds 144 slots of DELETE /old and 288 of GET /new
    for (let i = 0; i < 12; i++) {
      clock.advance(HOUR);
      await loop.runOnce();
    }
    expect(loop.latest()!.profiles!.get('a')!.apiMix['DELETE /old']).toBeCloseTo((9 * 144) / (9 * 144 + 288), 12);
    // three days on, the window holds only GET /new: the removed route is gone from the mix
    for (let i = 0; i < 60; i++) {
      clock.advance(HOUR);
      await loop.runOnce();
    }
    expect(loop.latest()!.profiles!.get('a')!.apiMix).toEqual({ 'GET /new': 1 });
  });

  it('keeps apiMixMaxTypes call types apart and the others as "(other)"', async () => {
    const t0 = 1_700_000_100;
    const rates = [8, 4, 2, 1, 1];
    const source: HistorySource = {
      origin: 'fake',
      signals: [{ resource: 'api_calls', unit: 'requests_per_second', query: 'x', breakdownBy: ['method', 'route'] }],
      async pull(r: PullRange): Promise<PullResult> {
        const n = (r.endS - r.startS) / r.stepS + 1;
        const b = rates.map((v, k): BreakdownSeries => ({ tenant: 'a', resource: 'api_calls', type: `GET /r${k}`, startS: r.startS, intervalS: r.stepS, values: new Float64Array(n).fill(v) }));
        return { set: { origin: 'fake', intervalS: r.stepS, series: totals(b), units: {} }, breakdown: b, failures: [] };
      },
    };
    const loop = new EngineLoop({ source, engine: new FakeEngine({ intervalS: STEP }), clock: manualClock(t0) }, { intervalS: STEP, historyPoints: 288, apiMixMaxTypes: 2 });
    await loop.runOnce();
    const mix = loop.latest()!.profiles!.get('a')!.apiMix;
    expect(Object.keys(mix)).toEqual(['GET /r0', 'GET /r1', OTHER_CALLS]);
    expect(mix[OTHER_CALLS]).toBeCloseTo(4 / 16, 6);
    // the tenant's total, which is forecast, still counts every call
    const w = loop.store.window(seriesKey('a', 'api_calls'))!;
    expect(w.values[w.values.length - 1]).toBe(16);
  });
});

describe('EngineLoop API call mix of a first pull in chunks', () => {
  // GET /a at 10 req/s all week; POST /b at 15 req/s, idle in the window's first 12 hours
  const NOW = 1_700_006_400; // on the grid
  const WINDOW_START = NOW - 2015 * STEP;
  const rate = (type: string, t: number) => (type === 'GET /a' ? 10 : t < WINDOW_START + 12 * HOUR ? 0 : 15);
  const source: HistorySource = {
    origin: 'fake',
    signals: [{ resource: 'api_calls', unit: 'requests_per_second', query: 'x', breakdownBy: ['method', 'route'] }],
    async pull(r: PullRange): Promise<PullResult> {
      const n = (r.endS - r.startS) / r.stepS + 1;
      const b = ['GET /a', 'POST /b'].map((type): BreakdownSeries => ({ tenant: 'shop', resource: 'api_calls', type, startS: r.startS, intervalS: r.stepS, values: Float64Array.from({ length: n }, (_, i) => rate(type, r.startS + i * r.stepS)) }));
      return { set: { origin: 'fake', intervalS: r.stepS, series: totals(b), units: {} }, breakdown: b, failures: [] };
    },
  };

  it('keeps apart the type busiest over the whole week, not over the first chunk\'s 8 hours', async () => {
    // the mix reads whole buckets of an hour, from the first that starts in the window
    let a = 0, b = 0;
    for (let t = Math.ceil(WINDOW_START / HOUR) * HOUR; t <= NOW; t += STEP) {
      a += rate('GET /a', t);
      b += rate('POST /b', t);
    }
    for (const pullChunkPoints of [96, 2016]) {
      const loop = new EngineLoop({ source, engine: new FakeEngine({ intervalS: STEP }), clock: manualClock(NOW + 10) }, { intervalS: STEP, historyPoints: 2016, pullChunkPoints, apiMixMaxTypes: 1 });
      await loop.runOnce();
      const mix = loop.latest()!.profiles!.get('shop')!.apiMix;
      // in chunks as in one piece: POST /b (58%) apart, GET /a (42%) in "(other)"
      expect(Object.keys(mix)).toEqual(['POST /b', OTHER_CALLS]);
      expect(mix['POST /b']).toBeCloseTo(b / (a + b), 6);
    }
  });
});

describe('EngineLoop container split', () => {
  it('asks the source for each signal\'s split by container once per profile period, and publishes it', async () => {
    const t0 = 1_700_000_100;
    const clock = manualClock(t0);
    const asked: Array<[string, number]> = [];
    const source = new FakeSource(['shop'], ['cpu', 'memory']) as FakeSource & HistorySource;
    source.usageSplit = async (resources: readonly string[], atS: number) => {
      for (const r of resources) asked.push([r, atS]);
      // the source splits cpu only
      return new Map([['cpu', { containers: new Map([['shop', { app: 0.8, sidecar: 0.2 }]]), workloads: new Map([['shop', { web: { share: 1, pods: 3, containers: { app: 0.8, sidecar: 0.2 } } }]]) }]]);
    };
    const loop = new EngineLoop({ source, engine: new FakeEngine({ intervalS: STEP }), clock }, { intervalS: STEP, historyPoints: 288, profileEveryS: HOUR });
    await loop.runOnce();
    expect(asked.map(([r]) => r)).toEqual(['cpu', 'memory']);
    expect(loop.latest()!.containerShares!.get('cpu')!.get('shop')).toEqual({ app: 0.8, sidecar: 0.2 });
    expect(loop.latest()!.containerShares!.has('memory')).toBe(false);
    expect(loop.latest()!.workloadUsage!.get('cpu')!.get('shop')!.web.pods).toBe(3);
    for (let i = 0; i < 11; i++) {
      clock.advance(STEP);
      await loop.runOnce();
    }
    expect(asked).toHaveLength(2); // not again within the hour
    clock.advance(STEP);
    await loop.runOnce();
    expect(asked).toHaveLength(4);
  });

  it('says once when a split has usage by container but no workload with running pods (a tenant label kube-state-metrics lacks)', async () => {
    const clock = manualClock(1_700_000_100);
    const source = new FakeSource(['shop'], ['cpu']) as FakeSource & HistorySource;
    let workloads = new Map<string, Record<string, { share: number; pods: number; containers: Record<string, number> }>>();
    source.usageSplit = async () => new Map([['cpu', { containers: new Map([['shop', { app: 1 }]]), workloads }]]);
    const warnings: string[] = [];
    const logger = { info() {}, debug() {}, error() {}, warn: (_o: object, m?: string) => void warnings.push(m ?? '') };
    const loop = new EngineLoop({ source, engine: new FakeEngine({ intervalS: STEP }), clock, logger }, { intervalS: STEP, historyPoints: 288, profileEveryS: STEP });
    for (let i = 0; i < 3; i++) {
      await loop.runOnce();
      clock.advance(STEP);
    }
    expect(warnings.filter((w) => w.startsWith('usage split of cpu: no tenant\'s workloads have running pods'))).toHaveLength(1);
    // pods found again, then lost again: said again
    workloads = new Map([['shop', { web: { share: 1, pods: 2, containers: { app: 1 } } }]]);
    await loop.runOnce();
    clock.advance(STEP);
    workloads = new Map();
    await loop.runOnce();
    expect(warnings.filter((w) => w.startsWith('usage split of cpu'))).toHaveLength(2);
  });
});
