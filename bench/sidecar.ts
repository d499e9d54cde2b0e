// Sidecar scale benchmark (JSON on stdout): N tenants x 6 signals with a week of 5-minute history from a fake
// source, through the real engine loop: full cycle (first fit), incremental cycle, full retrain, peak RSS; then
// /metrics and the API under autocannon load on loopback while the loop keeps running (1,000-tenant scrape).
// Peer in the same run: prom-client's own text rendering of the same snapshot without the per-snapshot gauge cache
// is not separable, so the named peer is a plain-JS persistence engine (the cost floor of the loop without models).
// The real engine runs at --engine-tenants (default 1,000: its first fit costs ~9 ms per series, so 60,000 series
// take 9 minutes); `extrapolated` scales its measured per-series CPU and memory linearly to --tenants (the per-series
// work of a cycle is independent of the number of series). To measure the real engine at the full size instead:
//   npm run bench:sidecar -- --engine-only --engine-tenants 10000 --skip-http
// The loop with the plain-JS peer engine runs at --tenants; the HTTP load runs on the real-engine loop.
//   npm run bench:sidecar -- [--tenants 10000] [--engine-tenants 1000] [--seconds 10] [--skip-http] [--peer-only]
//                            [--engine-only] [--idle-loop] [--incremental-cycles 3] [--total-shards N --shard i]
//                            [--own-ring] [--fit-budget S] [--cpu-profile DIR] [--heap-profile DIR]
//                            [--heap-profile-promoted] [--heap-snapshot DIR] [--no-exporter]
// --fit-budget: the loop's first-fit budget per cycle (firstFitBudget; default 0 here, no limit): the first fit then
// runs as back-to-back cycles, and the report adds the first cycle's wall time (when the first forecasts are
// published), how many series it forecast and how many cycles the first fit took; fullCycle* sum those cycles.
// --cpu-profile DIR: V8 CPU profiles (Chrome DevTools' .cpuprofile) of the first fit (first-fit.cpuprofile), the
// incremental cycles together (incremental.cpuprofile) and the retrain cycle (retrain.cpuprofile).
// --heap-profile DIR: V8's sampling heap profile of the incremental cycles (incremental.heapprofile), every sampled
// allocation counted, the ones collected since included: where the loop's garbage comes from. With
// --heap-profile-promoted, the objects the young generation collected are left out: what outlived it (promoted, then
// live or collected with the old generation), which is what makes the old generation's collections come round.
// --heap-snapshot DIR: a V8 heap snapshot after the retrain (what the process holds, per series, by constructor).
// --own-ring: the engine keeps its own copy of each series' recent values (as before they were read from the store).
// The real-engine loop publishes to the sidecar's exporter as src/main.ts wires it (default limits and export
// quantiles): each snapshot's exposition is built (text, deflated copy) within the cycle's publish step, as in the
// sidecar, so its CPU counts in the cycles and its memory in the peak. --no-exporter leaves it out, to measure the
// engine's part alone (as runs before 2026-11-30 did; the HTTP part then attaches one after the cycles).
// --idle-loop: no cycles during the HTTP load, to separate their cost. --engine-only: no peer (its memory would count
// in the peak RSS). --incremental-cycles: the report gives their median. --peer-only without --skip-http runs the
// HTTP load on the peer loop of --tenants tenants; --no-anomaly leaves the anomaly detectors out, to separate their
// memory. Anomaly mode is alert-only so that the retrain refits every series; --anomaly-warmup (default 288 points,
// the loop's default: the detectors' windows of 288 residuals are full from the first incremental cycle, as in a
// sidecar that has run for a day) sets the detectors' first-cycle warm-up. liveKBPerSeries needs --expose-gc (the npm
// script passes it): bytes held after a full collection, without the pages a collector keeps around. peakRssMBAfter:
// the peak RSS so far at the end of the first fit, of the incremental cycles and of the retrain (which phase set it).
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { writeHeapSnapshot } from 'node:v8';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { allocatorTuning, createForecastEngine } from '../src/core/engine.js';
import { sharedCore } from '../src/core/wasm.js';
import type { AccuracyStat, EngineOptions, ForecastEngine, SeriesForecast } from '../src/core/types.js';
import { FORECAST_LEVELS } from '../src/logic/allocation.js';
import { createAllocationDecider } from '../src/loop/allocation-adapter.js';
import { createAnomalyScorer } from '../src/loop/anomaly-adapter.js';
import { EngineLoop, type CycleReport } from '../src/loop/engine-loop.js';
import type { Clock } from '../src/loop/types.js';
import { createExporter, type Exporter } from '../src/metrics/exporter.js';
import { type Shard, UNSHARDED } from '../src/model/shard.js';
import { buildServer } from '../src/server/build.js';
import { numberArg as arg } from './args.js';
import { cycleCpu as cpu, cycleTime as sum, FakeSource, liveBytes, manualClock, round, rssMB, SIGNALS, START, STEP, WEEK } from './fake-source.js';

interface CannonResult {
  requests: { total: number; average: number };
  throughput: { total: number };
  latency: { p50: number; p99: number; max: number };
  non2xx: number;
  errors: number;
}
/**
 * Runs autocannon in its own process (its CLI, --json): in-process it would share the event loop it is measuring and
 * parse every 13 MB response on the server's thread.
 */
function autocannon(o: { url: string; connections: number; duration: number; headers?: string[] }): Promise<CannonResult> {
  const bin = createRequire(import.meta.url).resolve('autocannon/autocannon.js');
  return nodeJson<CannonResult>([bin, '--json', '-c', String(o.connections), '-d', String(o.duration), ...(o.headers ?? []).flatMap((h) => ['-H', h]), o.url]);
}

/** Runs `node ARGS` in its own process and parses the JSON it prints. */
function nodeJson<T>(args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { maxBuffer: 16 << 20 }, (err, stdout) => {
      if (err) reject(err);
      else resolve(JSON.parse(stdout) as T);
    });
  });
}

interface ProbeResult {
  requests: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  bytesPerRequest: number;
  /** Responses that were not 2xx, and requests that failed: counted apart from the latencies. */
  non2xx: number;
  errors: number;
}
async function scrapeProbe(url: string, seconds: number, connections: number, encoding: string): Promise<ProbeResult & { connections: number; encoding: string }> {
  const script = fileURLToPath(new URL('./scrape-probe.ts', import.meta.url));
  return { connections, encoding, ...(await nodeJson<ProbeResult>(['--import', 'tsx', script, url, String(seconds), String(connections), encoding])) };
}

const args = process.argv.slice(2);
const TENANTS = arg('tenants', 10_000);
const ENGINE_TENANTS = arg('engine-tenants', 1_000);
const SECONDS = arg('seconds', 10);
const SKIP_HTTP = args.includes('--skip-http');
const PEER_ONLY = args.includes('--peer-only');
const ENGINE_ONLY = args.includes('--engine-only');
const NO_ANOMALY = args.includes('--no-anomaly');
/** --own-ring: the engine keeps its own copy of each series' recent values instead of reading the history store's. */
const OWN_RING = args.includes('--own-ring');
const IDLE_LOOP = args.includes('--idle-loop');
/** The real-engine loop publishes to the sidecar's exporter during the measured cycles, unless --no-exporter. */
const WITH_EXPORTER = !args.includes('--no-exporter');
/** The sidecar's default export quantiles (config exportQuantiles). */
const EXPORT_QUANTILES = [0.5, 0.9, 0.95, 0.99];
const ANOMALY_WARMUP = arg('anomaly-warmup', 288);
const INCREMENTAL_CYCLES = Math.max(1, arg('incremental-cycles', 3));
const FIT_BUDGET_S = arg('fit-budget', 0);
/** --cpu-profile DIR: V8 CPU profiles of the first fit, the incremental cycles and the retrain cycle, written to DIR. */
const dirArg = (flag: string): string | undefined => {
  if (!args.includes(flag)) return undefined;
  const dir = args[args.indexOf(flag) + 1];
  if (!dir || dir.startsWith('--')) {
    console.error(`bench:sidecar: ${flag} needs a directory (${flag} DIR)`);
    process.exit(2);
  }
  return dir;
};
const CPU_PROFILE_DIR = dirArg('--cpu-profile');
/** --heap-profile DIR: the sampling heap profile of the incremental cycles, collected objects included (with
 *  --heap-profile-promoted, only those that outlived the young generation). */
const HEAP_PROFILE_DIR = dirArg('--heap-profile');
const HEAP_PROFILE_PROMOTED = args.includes('--heap-profile-promoted');
/** --heap-snapshot DIR: a V8 heap snapshot (DIR/after-retrain.heapsnapshot) of what the process holds after the
 *  retrain, the real-engine loop alive: the objects and typed arrays per series, by constructor. Written once the
 *  peak RSS and the live bytes are read, which it would raise. */
const HEAP_SNAPSHOT_DIR = dirArg('--heap-snapshot');
// --total-shards N [--shard i]: the real engine runs one shard of the --engine-tenants (the tenants whose FNV-1a hash
// mod N is i, as a sharded replica owns them). The fake source generates only that shard's series: the pull is left
// out here as in the unsharded runs (a real shard still receives every tenant from Prometheus and drops the others).
const SHARD: Shard = { index: arg('shard', 0), total: Math.max(1, arg('total-shards', 1)) };
/** The peer: persistence forecasts with empirical quantiles of the last day's one-step changes, in plain JS. */
class PersistenceEngine implements ForecastEngine {
  readonly options: EngineOptions;
  #last = new Map<string, number>();
  constructor(o: EngineOptions) {
    this.options = o;
  }
  fit(keys: readonly string[], h: readonly Float64Array[]): void {
    keys.forEach((k, i) => this.#last.set(k, h[i][h[i].length - 1]));
  }
  update(keys: readonly string[], p: readonly Float64Array[]): void {
    keys.forEach((k, i) => this.#last.set(k, p[i][p[i].length - 1]));
  }
  forecast(keys: readonly string[]): SeriesForecast[] {
    const nh = this.options.horizonsS.length;
    const q = this.options.quantiles;
    return keys.map((key) => {
      const v = this.#last.get(key) ?? 0;
      const quantiles = new Float64Array(nh * q.length);
      for (let h = 0; h < nh; h++) for (let j = 0; j < q.length; j++) quantiles[h * q.length + j] = v * (0.8 + 0.4 * q[j]);
      return { key, status: 'ok', point: new Float64Array(nh).fill(v), quantiles, models: new Array(nh).fill('persistence') };
    });
  }
  scores() {
    return [];
  }
  accuracy(): AccuracyStat[] {
    return [];
  }
  remove(k: string): void {
    this.#last.delete(k);
  }
  has(k: string): boolean {
    return this.#last.has(k);
  }
}

const addSteps = (a: Partial<Record<string, number>>, b: Partial<Record<string, number>>) =>
  Object.fromEntries([...new Set([...Object.keys(a), ...Object.keys(b)])].map((k) => [k, (a[k] ?? 0) + (b[k] ?? 0)]));
/** Two cycles as one (the first fit under a budget): times and counts summed. */
const addReports = (a: CycleReport, b: CycleReport): CycleReport => ({
  ...b,
  trainedSeries: a.trainedSeries + b.trainedSeries,
  failedSeries: a.failedSeries + b.failedSeries,
  durationsS: addSteps(a.durationsS, b.durationsS),
  cpuS: addSteps(a.cpuS, b.cpuS),
});
const steps = (o: Partial<Record<string, number>>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, round(v ?? 0)]));
const bound = (t: object, v: unknown) => (typeof v === 'function' ? v.bind(t) : v);

/** CPU profiles of named parts of the run (--cpu-profile) and the heap profile of the incremental cycles
 *  (--heap-profile), through the inspector; does nothing without the flags. */
const profiler = {
  session: undefined as Session | undefined,
  async post(method: string, params?: object): Promise<unknown> {
    if (!this.session) {
      this.session = new Session();
      this.session.connect();
      await this.session.post('Profiler.enable');
    }
    return this.session.post(method, params);
  },
  async start(name: string): Promise<void> {
    if (CPU_PROFILE_DIR) await this.post('Profiler.start');
    if (HEAP_PROFILE_DIR && name === 'incremental') {
      await this.post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: !HEAP_PROFILE_PROMOTED });
    }
  },
  async stop(name: string): Promise<void> {
    const write = (dir: string, file: string, data: unknown) => {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, file), JSON.stringify(data));
    };
    if (CPU_PROFILE_DIR) write(CPU_PROFILE_DIR, `${name}.cpuprofile`, ((await this.post('Profiler.stop')) as { profile: unknown }).profile);
    if (HEAP_PROFILE_DIR && name === 'incremental') {
      write(HEAP_PROFILE_DIR, `${name}.heapprofile`, ((await this.post('HeapProfiler.stopSampling')) as { profile: unknown }).profile);
    }
  },
};

async function cycles(tenants: number, engine: ForecastEngine, shard: Shard = UNSHARDED, withExporter = false) {
  const clock = manualClock(START);
  const decider = createAllocationDecider();
  const holder: { loop?: EngineLoop } = {};
  const exporter = withExporter ? createExporter({ snapshot: () => holder.loop?.latest(), limits: { quantiles: EXPORT_QUANTILES } }) : undefined;
  const loop = new EngineLoop(
    { source: new FakeSource(tenants, shard), engine, clock, decide: decider.decide, anomaly: NO_ANOMALY ? undefined : createAnomalyScorer(sharedCore(), 'alert-only'), onVanish: (k) => decider.forget(k) },
    // retraining falls due on the 5th cycle, which brings one new point like any other: the retrain cycle is an
    // incremental cycle that also retrains every series (as the hourly retrain runs in production)
    { intervalS: STEP, historyPoints: WEEK, retrainEveryS: (INCREMENTAL_CYCLES + 1) * STEP, profileEveryS: 3600, anomalyWarmupPoints: ANOMALY_WARMUP, fitBudgetS: FIT_BUDGET_S },
  );
  holder.loop = loop;
  if (exporter) loop.addSink(exporter);
  await profiler.start('first-fit');
  const t0 = performance.now();
  // with a fit budget, the first fit is a run of cycles the loop starts back to back (EngineLoop.start)
  const firstFit = [await loop.runOnce()];
  const firstCycleWall = (performance.now() - t0) / 1000;
  while (firstFit[firstFit.length - 1].pendingFit > 0) firstFit.push(await loop.runOnce());
  const fullWall = (performance.now() - t0) / 1000;
  await profiler.stop('first-fit');
  // the process's peak RSS so far at the end of each phase: which one set the peak
  const peakRssMBAfter = { firstFit: rssMB(), incremental: 0, retrain: 0 };
  const full = firstFit.reduce(addReports);
  const incs: CycleReport[] = [];
  // the old generation's collections that ended in each incremental cycle (V8 marks concurrently, on other threads
  // too: a cycle with one costs about a second more CPU at full size)
  const majors: number[] = [];
  const gcs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if ((e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors.push(e.startTime + e.duration);
  });
  gcs.observe({ entryTypes: ['gc'] });
  const spans: Array<[number, number]> = [];
  await profiler.start('incremental');
  for (let i = 0; i < INCREMENTAL_CYCLES; i++) {
    clock.t += STEP;
    const t0 = performance.now();
    incs.push(await loop.runOnce());
    spans.push([t0, performance.now()]);
  }
  await profiler.stop('incremental');
  peakRssMBAfter.incremental = rssMB();
  await new Promise((r) => setImmediate(r)); // the observer's last entries
  gcs.disconnect();
  clock.t += STEP;
  await profiler.start('retrain');
  const retrain = await loop.runOnce();
  await profiler.stop('retrain');
  peakRssMBAfter.retrain = rssMB();
  const inc = [...incs].sort((a, b) => cpu(a) - cpu(b))[incs.length >> 1]; // the median
  return {
    loop,
    clock,
    exporter,
    result: {
      tenants,
      exporter: exporter ? 'attached (the publish step builds each snapshot\'s exposition, as in the sidecar)' : 'left out (--no-exporter)',
      series: loop.store.size,
      // *CpuS: process CPU seconds (the cost on one core; wall time depends on what else the machine runs).
      fullCycleCpuS: round(cpu(full)),
      fullCycleWallS: round(sum(full)),
      fullCycleWallWithPullS: round(fullWall),
      ...(FIT_BUDGET_S > 0 ? { fitBudgetS: FIT_BUDGET_S, firstFitCycles: firstFit.length, firstSnapshotWallS: round(firstCycleWall), firstSnapshotSeries: firstFit[0].trainedSeries } : {}),
      fullStepsCpuS: steps(full.cpuS),
      incrementalCycleCpuS: round(cpu(inc)),
      incrementalCyclesCpuS: incs.map((r) => round(cpu(r))), // every one, in the order they ran
      incrementalCyclesPublishCpuS: incs.map((r) => round(r.cpuS.publish ?? 0)), // their publish steps (the exporter's build)
      incrementalCyclesMajorGcs: spans.map(([a, b]) => majors.filter((t) => t >= a && t < b).length),
      incrementalCycleWallS: round(sum(inc)),
      incrementalStepsCpuS: steps(inc.cpuS),
      retrainCycleCpuS: round(cpu(retrain)),
      retrainCycleWallS: round(sum(retrain)),
      retrainStepsCpuS: steps(retrain.cpuS),
      retrained: retrain.retrained,
      retrainedSeries: retrain.trainedSeries,
      anomalousTenantsAtRetrain: new Set([...(loop.latest()?.resources.values() ?? [])].filter((x) => x.anomaly?.anomalous).map((x) => x.tenant)).size,
      failedSeries: full.failedSeries + inc.failedSeries + retrain.failedSeries,
      historyStoreMB: Math.round(loop.store.bytes() / 2 ** 20),
      peakRssMBAfter,
    },
  };
}

async function http(loop: EngineLoop, clock: Clock & { t: number }, seconds: number, attached?: Exporter) {
  const tenants = new Set([...loop.store.values()].map((x) => x.tenant)).size;
  const exporter = attached ?? createExporter({ snapshot: () => loop.latest(), limits: { quantiles: EXPORT_QUANTILES } });
  if (!attached) loop.addSink(exporter);
  const app = await buildServer({ exporter, snapshot: () => loop.latest(), ready: () => loop.ready });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const metricsBody = await (await fetch(`${base}/metrics`)).text();
  // Keep the loop running (a cycle every 500 ms, new snapshot each time) while the server is under load.
  let running = true;
  let loopCycles = 0;
  const loopTask = (async () => {
    while (running && !IDLE_LOOP) {
      clock.t += STEP;
      await loop.runOnce();
      loopCycles++;
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  const hit = async (path: string, connections: number, headers?: string[]) => {
    const r = await autocannon({ url: `${base}${path}`, connections, duration: seconds, headers });
    return { path, connections, headers, bytesPerRequest: Math.round(r.throughput.total / r.requests.total), requests: r.requests.total, rps: round(r.requests.average, 1), p50Ms: r.latency.p50, p99Ms: r.latency.p99, maxMs: r.latency.max, non2xx: r.non2xx, errors: r.errors };
  };
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  // a scraper like Prometheus (its own process, gzip, body read but not decoded), alone and while autocannon loads
  // the API: autocannon's own time to take in a gzip body is several times a plain one's, so its /metrics rows below
  // include client cost
  const probe = (connections: number, encoding = 'gzip') => scrapeProbe(`${base}/metrics`, seconds, connections, encoding);
  const scraper = {
    alone: await probe(1),
    alone4: await probe(4),
    alone4Uncompressed: await probe(4, 'identity'),
    underApiLoad: (await Promise.all([probe(1), hit('/api/v1/tenants/tenant-00042/forecast', 10)]))[0],
  };
  const out = [
    // as Prometheus scrapes (it sends Accept-Encoding: gzip), then uncompressed
    await hit('/metrics', 1, ['accept-encoding=gzip']),
    await hit('/metrics', 4, ['accept-encoding=gzip']),
    await hit('/metrics', 4),
    await hit('/api/v1/tenants?limit=1000', 10),
    await hit('/api/v1/tenants/tenant-00042/forecast', 10),
    await hit('/api/v1/tenants/tenant-00042', 10),
  ];
  delay.disable();
  running = false;
  await loopTask;
  await app.close();
  // how long the event loop was blocked at a time (what a request can wait for before it is even read)
  const eventLoopDelayMs = { p50: round(delay.percentile(50) / 1e6, 1), p99: round(delay.percentile(99) / 1e6, 1), max: round(delay.max / 1e6, 1) };
  return { tenants, eventLoopDelayMs, scraper, metricsBytes: metricsBody.length, metricsLines: metricsBody.split('\n').length, loopCyclesDuringLoad: loopCycles, endpoints: out };
}

async function main() {
  const report: Record<string, unknown> = { bench: 'sidecar', node: process.version, signals: SIGNALS.length, historyPoints: WEEK, intervalS: STEP };
  const opts: EngineOptions = { intervalS: STEP, horizonsS: [300, 900, 1800], quantiles: FORECAST_LEVELS, seasonsS: [86_400, 604_800] };
  if (!ENGINE_ONLY) {
    const peer = await cycles(TENANTS, new PersistenceEngine(opts));
    report.peerPersistenceJs = peer.result;
    report.rssAfterPeerMB = rssMB();
    if (PEER_ONLY && !SKIP_HTTP) report.httpWithPeerEngine = await http(peer.loop, peer.clock, SECONDS);
  }
  if (!PEER_ONLY) {
    const rssBefore = process.memoryUsage().rss;
    const liveBefore = liveBytes();
    // the engine as the sidecar runs it (src/main.ts: the allocator's tuning)
    const engine = createForecastEngine(opts, sharedCore(), allocatorTuning(STEP));
    // without shareHistory the loop lends the engine nothing and the engine keeps its own ring per series
    const lendable: ForecastEngine = OWN_RING ? new Proxy(engine, { get: (t, p) => (p === 'shareHistory' ? undefined : bound(t, Reflect.get(t, p, t))) }) : engine;
    const real = await cycles(ENGINE_TENANTS, lendable, SHARD, WITH_EXPORTER);
    report.engineRing = OWN_RING ? 'own' : 'shared with the history store';
    if (SHARD.total > 1) report.shard = { ...SHARD, of: ENGINE_TENANTS, tenants: real.result.series / SIGNALS.length };
    report.peakRssMB = rssMB();
    const n = real.result.series;
    const bytesPerSeries = (process.memoryUsage().rss - rssBefore) / n;
    const liveHeld = liveBytes() - liveBefore;
    const gcExposed = typeof (globalThis as { gc?: unknown }).gc === 'function';
    report.engine = { ...real.result, liveKBPerSeries: gcExposed ? round(liveHeld / n / 1024, 1) : null };
    const at = TENANTS * SIGNALS.length;
    report.extrapolated = {
      note: `real-engine per-series cost at ${n} series, scaled linearly to ${at} series`,
      series: at,
      incrementalCycleCpuS: round((real.result.incrementalCycleCpuS / n) * at, 1),
      retrainCycleCpuS: round((real.result.retrainCycleCpuS / n) * at, 1),
      fullCycleCpuS: round((real.result.fullCycleCpuS / n) * at, 1),
      rssKBPerSeries: Math.round(bytesPerSeries / 1024),
      rssMB: Math.round((bytesPerSeries * at) / 2 ** 20),
      liveMB: gcExposed ? Math.round((liveHeld / n) * at / 2 ** 20) : null,
    };
    // after the peak and live bytes are read: writing a snapshot takes memory of its own (peakRssMBFinal counts it)
    if (HEAP_SNAPSHOT_DIR) {
      mkdirSync(HEAP_SNAPSHOT_DIR, { recursive: true });
      writeHeapSnapshot(join(HEAP_SNAPSHOT_DIR, 'after-retrain.heapsnapshot'));
    }
    if (!SKIP_HTTP) report.http = await http(real.loop, real.clock, SECONDS, real.exporter);
  }
  report.peakRssMBFinal = rssMB();
  report.targets = { incrementalCycleS: 5, fullRetrainS: 60, rssMB: 1024, metricsP99Ms: 200 };
  console.log(JSON.stringify(report, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
