// Live bytes per series of each part of the sidecar's per-series state, measured apart (JSON on stdout): the history
// store (a week of float32), the engine as the sidecar runs it (allocatorTuning, reading its recent values from the
// store; --own-ring for a copy of its own), and the anomaly detector; each is filled for N series and measured after a
// full collection, less the growth of the WASM core's memory (reported apart: it is the high-water mark of the batches,
// bounded and shared by every series). Needs --expose-gc. Also the API call mix per tenant (src/model/call-mix.ts), for
// --api-types call types a tenant (a week, then an hour of 5-minute pulls).
//   node --expose-gc --import tsx bench/memory-breakdown.ts [--series 3000] [--own-ring] [--api-types 500]
import { periodSamples, scoreSeries, SeriesDetectorState } from '../src/core/anomaly.js';
import { allocatorTuning, createForecastEngine } from '../src/core/engine.js';
import { sharedCore } from '../src/core/wasm.js';
import { HistoryStore } from '../src/model/history-store.js';
import { CallMix } from '../src/model/call-mix.js';
import { DEFAULT_LOOP_OPTIONS } from '../src/loop/engine-loop.js';
import type { BreakdownSeries } from '../src/sources/history-source.js';
import { numberArg as arg } from './args.js';

const args = process.argv.slice(2);
const N = arg('series', 3000);
const API_TYPES = arg('api-types', 500);
/** --own-ring: the engine keeps its own copy of the recent values instead of reading the store's (as before). */
const OWN_RING = args.includes('--own-ring');
const STEP = 300;
const WEEK = 2016;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const wasmBytes = (): number => sharedCore().exports.memory.buffer.byteLength;
/** Live bytes after a full collection, without the WASM memory. Two collections: the buffers of arrays found dead
 *  in the first are freed while it sweeps, and only the second's figures are without them (one collection counted
 *  the history store at 12 KB a series instead of 8.3). */
const live = (): number => {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external - wasmBytes();
};
const wasmBefore = wasmBytes();

function history(i: number): Float64Array {
  const y = new Float64Array(WEEK);
  let s = i + 1;
  for (let t = 0; t < WEEK; t++) {
    s = (s * 16807) % 2147483647;
    y[t] = 10 + 5 * Math.sin((2 * Math.PI * t) / 288 + i) + (s / 2147483647) * 2;
  }
  return y;
}

const kb = (bytes: number) => Math.round((bytes / N / 1024) * 10) / 10;
const hold: unknown[] = [];
const out: Record<string, number> = {};

const engine = createForecastEngine({ intervalS: STEP }, sharedCore(), allocatorTuning(STEP));
const key = (i: number) => `t${i}/cpu`;
let base = live();
// as the loop builds it (EngineLoop): the week, plus what the engine reads in place of its own copy and a pull chunk
const store = new HistoryStore(STEP, Math.max(WEEK, engine.recentPoints + 96), WEEK);
for (let i = 0; i < N; i++) store.write(key(i), `t${i}`, 'cpu', 0, history(i));
hold.push(store);
out.historyStoreKB = kb(live() - base);

base = live();
if (!OWN_RING) engine.shareHistory((k) => store.get(k));
// fit in batches of 4 series, as the loop does (EngineLoop's fitBatch)
for (let i = 0; i < N; i += 4) {
  const keys = Array.from({ length: Math.min(4, N - i) }, (_, j) => key(i + j));
  engine.fit(keys, keys.map((k) => store.window(k)!.values));
}
engine.forecast(Array.from({ length: N }, (_, i) => key(i)));
hold.push(engine);
out.engineKB = kb(live() - base);

base = live();
const det = Array.from({ length: N }, () => new SeriesDetectorState(periodSamples(STEP)));
for (let i = 0; i < N; i += 500) scoreSeries(sharedCore(), det.slice(i, i + 500), det.slice(i, i + 500).map((_, j) => history(i + j).subarray(0, 48)));
hold.push(det);
out.anomalyKB = kb(live() - base);

// the call mix of N / 6 tenants (six signals a tenant), each calling API_TYPES routes: the busiest at 100 req/s,
// the k-th at 100 / k (a Zipf-like spread)
const tenants = Math.max(1, Math.round(N / 6));
base = live();
const calls = new CallMix({ intervalS: STEP, windowPoints: WEEK, maxTypes: DEFAULT_LOOP_OPTIONS.apiMixMaxTypes });
const pull = (startS: number, points: number) => {
  for (let t = 0; t < tenants; t++) {
    const b: BreakdownSeries[] = [];
    for (let k = 1; k <= API_TYPES; k++) b.push({ tenant: `t${t}`, resource: 'api_calls', type: `GET /r${k}`, startS, intervalS: STEP, values: new Float64Array(points).fill(100 / k) });
    calls.add(b);
  }
};
pull(0, WEEK);
for (let c = 0; c < 12; c++) pull((WEEK - 2 + c) * STEP, 3); // pulls overlap by two points, as the loop's
hold.push(calls);
const callMixKBPerTenant = Math.round(((live() - base) / tenants / 1024) * 10) / 10;

const wasmGrowthMB = Math.round(((wasmBytes() - wasmBefore) / 2 ** 20) * 10) / 10;
console.log(JSON.stringify({ bench: 'memory-breakdown', series: N, engineRing: OWN_RING ? 'own' : 'shared with the store', liveKBPerSeries: out, wasmGrowthMB, callMix: { tenants, apiTypes: API_TYPES, keptApart: calls.counts('t0').kept, liveKBPerTenant: callMixKBPerTenant }, held: hold.length }, null, 2));
