// `npm run bench:core`: accuracy and speed of the forecasting core against Grafana's augurs (MSTL, ETS) in the
// same run. Prints one JSON document on stdout; progress goes to stderr.
//
// Accuracy: every trace of the issue is replayed at rolling origins (warm-up 7 days or a third of a shorter
// series, models refitted daily on a sliding 7-day window, online updates in between). Foresight and each of its
// models, persistence (the last value) and seasonal naive are scored at every `every`-th origin. augurs is far too
// slow for every origin, so it is scored on a subsample (a few series, evenly spaced origins drawn from the same
// origin grid); the `subsample` block compares every method on exactly those origins. augurs gets the same 7-day
// window with gaps forward-filled (it does not accept NaN); MSTL uses the daily period, ETS is AutoETS "ZZN"
// (non-seasonal: AutoETS with a seasonal component on m = 288/1440 is impractically slow, see STACK-NOTES).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { initSync as initMstl, MSTL } from '@bsull/augurs/mstl';
import { initSync as initEts, AutoETS } from '@bsull/augurs/ets';
import { createForecastEngine } from '../src/core/engine.js';
import { lastValue, seasonalNaive } from '../src/evaluate/baselines.js';
import { QuantileScore, round } from '../src/evaluate/metrics.js';
import { replay, originsOf, type ReplayOptions } from '../src/evaluate/replay.js';
import { readTrace } from '../src/sources/trace-file.js';
import type { Series, SeriesSet } from '../src/model/series.js';
import { seriesKey } from '../src/model/series.js';

// the wasm files are not in the package's exports map: resolve them next to the subpath modules
const require = createRequire(import.meta.url);
const augursDir = dirname(require.resolve('@bsull/augurs/mstl'));
initMstl({ module: readFileSync(join(augursDir, 'mstl_bg.wasm')) });
initEts({ module: readFileSync(join(augursDir, 'ets_bg.wasm')) });

const TRACES = '../shared/traces/canonical';
const LEVELS = [0.5, 0.9, 0.95, 0.99];
const HORIZONS_S = [300, 900, 1800];
const FULL = process.env.FORESIGHT_BENCH_FULL === '1';

interface TraceSpec {
  file: string;
  resource: string;
  every: number;
  subSeries: number;
  subOrigins: number;
}
// Origins: hourly on the two 30-day Azure traces, every 15 minutes on the 10-day Google jobs, every 15 minutes on
// the 62-day per-minute NASA trace (FORESIGHT_BENCH_FULL=1 forecasts at every step: hours instead of minutes).
const SPECS: TraceSpec[] = [
  { file: 'azure2017-periodic78.csv.gz', resource: 'cpu', every: FULL ? 1 : 12, subSeries: 10, subOrigins: 12 },
  { file: 'azure2017-vm100.csv.gz', resource: 'cpu', every: FULL ? 1 : 12, subSeries: 10, subOrigins: 12 },
  { file: 'google2011-jobs97.csv.gz', resource: 'cpu', every: FULL ? 1 : 3, subSeries: 10, subOrigins: 12 },
  { file: 'google2011-jobs97.csv.gz', resource: 'memory', every: FULL ? 1 : 3, subSeries: 10, subOrigins: 12 },
  { file: 'nasa-http-1995.csv.gz', resource: 'requests', every: FULL ? 1 : 15, subSeries: 1, subOrigins: 40 },
];

const log = (msg: string) => process.stderr.write(`bench:core ${msg}\n`);

function forwardFill(y: Float64Array): Float64Array {
  const out = Float64Array.from(y);
  let last = NaN;
  for (let i = 0; i < out.length; i++) {
    if (Number.isFinite(out[i])) last = out[i];
    else out[i] = last;
  }
  const first = out.find((v) => Number.isFinite(v)) ?? 0;
  for (let i = 0; i < out.length && !Number.isFinite(out[i]); i++) out[i] = first;
  return out;
}

type Scores = Map<string, QuantileScore[]>;
function score(map: Scores, name: string, levels: readonly number[]): QuantileScore[] {
  let s = map.get(name);
  if (!s) map.set(name, (s = HORIZONS_S.map(() => new QuantileScore(levels))));
  return s;
}

/** augurs quantiles from two-sided intervals: the q-quantile is the upper bound at level 2q - 1. */
function augursForecast(kind: 'mstl' | 'ets', window: Float64Array, period: number, hs: number[]): { q: number[][]; ok: boolean } {
  const maxH = Math.max(...hs);
  const model = kind === 'mstl' ? MSTL.ets([period]) : new AutoETS(1, 'ZZN');
  try {
    model.fit(window);
    const q: number[][] = hs.map(() => []);
    const med = model.predict(maxH, null).point;
    hs.forEach((h, k) => q[k].push(med[h - 1]));
    for (const lev of LEVELS.slice(1)) {
      const f = model.predict(maxH, 2 * lev - 1);
      hs.forEach((h, k) => q[k].push(f.intervals ? f.intervals.upper[h - 1] : med[h - 1]));
    }
    return { q, ok: true };
  } catch {
    return { q: [], ok: false };
  } finally {
    model.free();
  }
}

function summarise(map: Scores, snaive: QuantileScore[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, arr] of map) out[name] = Object.fromEntries(arr.map((s, k) => [`${HORIZONS_S[k]}s`, s.toJSON(snaive[k].mae)]));
  return out;
}

async function accuracy(spec: TraceSpec): Promise<Record<string, unknown>> {
  const started = performance.now();
  const set: SeriesSet = await readTrace(`${TRACES}/${spec.file}`, { resources: [spec.resource] });
  const intervalS = set.intervalS;
  const hs = HORIZONS_S.map((h) => Math.round(h / intervalS));
  const season = Math.round(86_400 / intervalS);
  const opts: ReplayOptions = { horizonsS: HORIZONS_S, every: spec.every, perModel: true };
  // the subsample: evenly spaced series, evenly spaced origins among the replayed ones
  const subIdx = new Set<number>();
  for (let i = 0; i < spec.subSeries; i++) subIdx.add(Math.floor((i * set.series.length) / spec.subSeries));
  const subOrigins = new Map<Series, Set<number>>();
  set.series.forEach((s, i) => {
    if (!subIdx.has(i)) return;
    const o = originsOf(s, opts);
    const pick = new Set<number>();
    for (let j = 0; j < spec.subOrigins && o.length; j++) pick.add(o[Math.floor(((j + 0.5) * o.length) / spec.subOrigins)]);
    subOrigins.set(s, pick);
  });

  const full: Scores = new Map();
  const sub: Scores = new Map();
  const snFull = HORIZONS_S.map(() => new QuantileScore([]));
  const snSub = HORIZONS_S.map(() => new QuantileScore([]));
  const chosen = new Map<string, number>();
  const engine = createForecastEngine({ intervalS, horizonsS: HORIZONS_S, quantiles: LEVELS });
  let lastLog = performance.now();
  replay(set, engine, { ...opts, onProgress: (d, t) => {
    if (performance.now() - lastLog > 15_000) {
      lastLog = performance.now();
      log(`${spec.file} ${spec.resource}: ${d}/${t} origins`);
    }
  } }, (f) => {
    const y = f.series.values;
    const inSub = subOrigins.get(f.series)?.has(f.t) ?? false;
    const last = lastValue(y, f.t);
    hs.forEach((h, k) => {
      const actual = y[f.t + h];
      if (!Number.isFinite(actual)) return;
      const snv = seasonalNaive(y, f.t, h, season);
      const targets: Scores[] = inSub ? [full, sub] : [full];
      const sns = inSub ? [snFull, snSub] : [snFull];
      for (const s of sns) s[k].addPoint(actual, snv);
      for (const map of targets) {
        score(map, 'foresight', LEVELS)[k].add(actual, f.point[k], f.quantiles, k * LEVELS.length);
        score(map, 'persistence', [])[k].addPoint(actual, last);
        score(map, 'seasonal-naive', [])[k].addPoint(actual, snv);
        for (const m of f.perModel ?? []) {
          if (m.model === 'ensemble') continue;
          score(map, `model:${m.model}`, LEVELS)[k].add(actual, m.point[k], m.quantiles, k * LEVELS.length);
        }
      }
      chosen.set(f.models[k], (chosen.get(f.models[k]) ?? 0) + 1);
    });
  });
  const foresightSeconds = (performance.now() - started) / 1000;
  log(`${spec.file} ${spec.resource}: Foresight replay done in ${foresightSeconds.toFixed(1)} s; augurs on the subsample`);

  // augurs on the subsample origins
  const augursStart = performance.now();
  const windowSteps = Math.round((7 * 86_400) / intervalS);
  let augursFailures = 0;
  for (const [s, origins] of subOrigins) {
    const filled = forwardFill(s.values);
    for (const t of origins) {
      const window = filled.slice(Math.max(0, t + 1 - windowSteps), t + 1);
      for (const kind of ['mstl', 'ets'] as const) {
        const period = window.length >= 2 * season ? season : Math.max(2, Math.floor(window.length / 3));
        const r = augursForecast(kind, window, period, hs);
        if (!r.ok) {
          augursFailures++;
          continue;
        }
        hs.forEach((h, k) => {
          const actual = s.values[t + h];
          if (!Number.isFinite(actual)) return;
          score(sub, `augurs-${kind}`, LEVELS)[k].add(actual, r.q[k][0], r.q[k]);
        });
      }
    }
  }
  const result: Record<string, unknown> = {
    trace: spec.file,
    resource: spec.resource,
    intervalS,
    series: set.series.length,
    every: spec.every,
    full: summarise(full, snFull),
    subsample: {
      series: subOrigins.size,
      originsPerSeries: spec.subOrigins,
      augursFailures,
      methods: summarise(sub, snSub),
    },
    chosenModels: Object.fromEntries(chosen),
    seconds: { foresight: round(foresightSeconds, 4), augurs: round((performance.now() - augursStart) / 1000, 4) },
  };
  // targets: MAE 10% below the best of augurs (subsample) and persistence (full), 0.95 coverage in [0.93, 0.97]
  const fs = full.get('foresight')!;
  const pers = full.get('persistence')!;
  const fsSub = sub.get('foresight');
  result.targets = HORIZONS_S.map((h, k) => {
    const augBest = Math.min(sub.get('augurs-mstl')?.[k].mae ?? Infinity, sub.get('augurs-ets')?.[k].mae ?? Infinity);
    const vsAug = fsSub ? fsSub[k].mae / augBest : NaN;
    const vsPers = fs[k].mae / pers[k].mae;
    const cov = fs[k].coverage(0.95);
    return {
      horizonS: h,
      maeRatioVsPersistence: round(vsPers, 4),
      maeRatioVsBestAugurs: round(vsAug, 4),
      maeTargetMet: vsPers <= 0.9 && vsAug <= 0.9,
      coverage95: round(cov, 4),
      coverageTargetMet: cov >= 0.93 && cov <= 0.97,
    };
  });
  return result;
}

/** CPU seconds of this process (user + system): per-core cost that a loaded, shared machine does not inflate. */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function speed(set: SeriesSet): Record<string, unknown> {
  const intervalS = set.intervalS;
  const week = Math.round((7 * 86_400) / intervalS);
  const season = Math.round(86_400 / intervalS);
  const windows = set.series.map((s) => forwardFill(s.values.slice(0, week)));
  const keys = set.series.map((s) => seriesKey(s.tenant, s.resource));
  const points = windows.reduce((a, w) => a + w.length, 0);
  // Foresight: fit (Nelder-Mead Holt-Winters, histogram, backtest of every model) + forecast, all 100 series
  const engine = createForecastEngine({ intervalS, horizonsS: HORIZONS_S, quantiles: LEVELS });
  engine.fit(keys.slice(0, 2), windows.slice(0, 2)); // warm the JIT
  let t0 = performance.now();
  let c0 = cpuSeconds();
  engine.fit(keys, windows);
  engine.forecast(keys);
  const fsSec = cpuSeconds() - c0;
  const fsWall = (performance.now() - t0) / 1000;
  // online update path: one new point per series per step, then forecast
  const steps = 288;
  t0 = performance.now();
  c0 = cpuSeconds();
  for (let j = 0; j < steps; j++) {
    engine.update(keys, set.series.map((s) => s.values.subarray(week + j, week + j + 1)));
    engine.forecast(keys);
  }
  const updSec = cpuSeconds() - c0;
  const updWall = (performance.now() - t0) / 1000;
  // augurs: the same windows (a subset when slow; the rate is per point)
  const peer = (kind: 'mstl' | 'ets', n: number) => {
    const t = performance.now();
    const c = cpuSeconds();
    let pts = 0;
    for (let i = 0; i < n; i++) {
      augursForecast(kind, windows[i], season, [1, 3, 6]);
      pts += windows[i].length;
    }
    const sec = cpuSeconds() - c;
    return { series: n, points: pts, cpuSeconds: round(sec, 4), wallSeconds: round((performance.now() - t) / 1000, 4), pointsPerSecond: round(pts / sec, 4) };
  };
  const mstl = peer('mstl', Math.min(30, windows.length));
  const ets = peer('ets', Math.min(30, windows.length));
  const fsRate = points / fsSec;
  return {
    trace: 'azure2017-vm100 cpu, first 7 days of each series',
    note: 'points per CPU-second of this single-threaded process (per core; wall time shown too, it includes other load on the machine); augurs fit + predict at 4 levels; Foresight fit = Holt-Winters + Holt Nelder-Mead fits, histogram, rolling-origin backtest of every model, then forecast',
    foresightFitForecast: { series: windows.length, points, cpuSeconds: round(fsSec, 4), wallSeconds: round(fsWall, 4), pointsPerSecond: round(fsRate, 4) },
    foresightOnlineUpdate: { series: windows.length, steps, cpuSeconds: round(updSec, 4), wallSeconds: round(updWall, 4), pointsPerSecond: round((windows.length * steps) / updSec, 4) },
    augursMstl: mstl,
    augursEts: ets,
    ratioVsBestAugurs: round(fsRate / Math.max(mstl.pointsPerSecond, ets.pointsPerSecond), 4),
    targetMet: fsRate >= 3 * Math.max(mstl.pointsPerSecond, ets.pointsPerSecond),
  };
}

async function main(): Promise<void> {
  const started = performance.now();
  const only = process.env.FORESIGHT_BENCH_ONLY;
  const specs = only ? SPECS.filter((s) => `${s.file}:${s.resource}`.includes(only)) : SPECS;
  log('speed on azure2017-vm100');
  const vm = await readTrace(`${TRACES}/azure2017-vm100.csv.gz`, { resources: ['cpu'] });
  const speedResult = speed(vm);
  log(`speed: ${JSON.stringify(speedResult)}`);
  const acc: Record<string, unknown>[] = [];
  for (const spec of specs) {
    log(`accuracy on ${spec.file} ${spec.resource}`);
    acc.push(await accuracy(spec));
  }
  const doc = {
    benchmark: 'foresight core vs augurs',
    peer: '@bsull/augurs 0.10 (MSTL with ETS trend, daily period; AutoETS ZZN)',
    date: new Date().toISOString(),
    node: process.version,
    levels: LEVELS,
    horizonsS: HORIZONS_S,
    method: 'rolling origin; warm-up 7 days (a third of shorter series); daily refit on a sliding 7-day window, online update between; MASE scaled by seasonal naive (daily) MAE on the same targets; augurs on the subsample only (same origins for every method there)',
    speed: speedResult,
    accuracy: acc,
    seconds: round((performance.now() - started) / 1000, 4),
  };
  process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
