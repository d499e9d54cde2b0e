// How often the anomaly likelihoods cross their thresholds on noise alone, by noise distribution (JSON on stdout):
// - "detector": the per-series detector (assembly/anomaly/univariate.ts) on i.i.d. noise, `--series` series of
//   `--points` points each: the share of points after the first 5,000 with L >= 0.99, 0.999 and 0.9999 (nominally
//   1%, 0.1% and 0.01%, whatever the distribution: the calibration's aim);
// - "tenants": the sidecar's scorer (createAnomalyScorer, alert-only, the default thresholds: enter at L >= 0.9999)
//   on `--tenants` stationary tenants (cpu and memory with a daily cycle and multiplicative noise of the
//   distribution; the behaviour vector too), warmed up with 2,500 points and then fed one sample per cycle for
//   `--cycles` cycles, as the loop feeds them: episodes started per tenant-cycle (each a false alarm: nothing
//   happens) and the share of tenant-cycles flagged;
// - "firstDays": the detector on a daily cycle with Gaussian noise, by day of the series from day 2: its calibration
//   starts over when the seasonal model starts scoring (day 3), and the rates should be near nominal from day 4;
// - "firstDaysTenants": the tenants (Gaussian noise) fed one day, as the sidecar feeds each series when it starts, then
//   ten days: the episodes started on each day after it.
// Heavy tails are what the tail's shape (robust.ts tailShape) is for: an exponential tail above the 99th percentile
// crossed L >= 0.9999 3-5x as often with Student t3, Cauchy or lognormal noise as with Gaussian noise.
// --enter-likelihood sets the tenants' threshold (the configuration's anomalyEnterLikelihood); --skip-detector runs
// the tenants alone.
//   node --import tsx bench/anomaly-calibration.ts [--series 100] [--points 8000] [--tenants 100] [--cycles 3000]
//                                                  [--enter-likelihood 0.9999] [--skip-detector]
import { scoreSeries, SeriesDetectorState } from '../src/core/anomaly.js';
import { Core, sharedCore } from '../src/core/wasm.js';
import { DEFAULT_ANOMALY_POLICY } from '../src/logic/anomaly.js';
import { createAnomalyScorer } from '../src/loop/anomaly-adapter.js';
import type { AnomalySeriesInput } from '../src/loop/types.js';
import { numberArg as arg } from './args.js';

const args = process.argv.slice(2);
const SERIES = arg('series', 100);
const POINTS = Math.max(5001, arg('points', 8000));
const TENANTS = arg('tenants', 100);
const CYCLES = arg('cycles', 3000);
const ENTER = arg('enter-likelihood', DEFAULT_ANOMALY_POLICY.enterLikelihood);
const SKIP_DETECTOR = args.includes('--skip-detector');
const WARM = 5000;
const TENANT_WARM = 2500;
const STEP = 300;
const DAY = 288;
const LEVELS = [0.99, 0.999, 0.9999];

/** Seeded uniform and standard normal draws (LCG, Box-Muller). */
function rng(seed: number) {
  let s = seed >>> 0;
  const u = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  const g = () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  return { u, g };
}

/** Zero-centred-ish noise draws of each distribution (the detector is scale-free: only the shape matters). */
const DISTRIBUTIONS: Record<string, (r: ReturnType<typeof rng>) => number> = {
  gaussian: (r) => r.g(),
  student_t3: (r) => r.g() / Math.sqrt((r.g() ** 2 + r.g() ** 2 + r.g() ** 2) / 3),
  cauchy: (r) => Math.tan(Math.PI * (r.u() - 0.5)),
  lognormal: (r) => Math.exp(r.g()) - 1.6487,
  exponential: (r) => -Math.log(r.u()) - 1,
  poisson_3: (r) => {
    let k = 0, p = 1;
    const l = Math.exp(-3);
    do {
      k++;
      p *= r.u();
    } while (p > l);
    return k - 4;
  },
};

const pct = (x: number) => Math.round(x * 1e6) / 1e4; // percent, 4 decimals

function detector(draw: (r: ReturnType<typeof rng>) => number, seed: number) {
  const r = rng(seed);
  const vals = Array.from({ length: SERIES }, () => Float64Array.from({ length: POINTS }, () => 10 + draw(r)));
  const res = scoreSeries(sharedCore(), vals.map(() => new SeriesDetectorState(1)), vals);
  const hits = LEVELS.map(() => 0);
  for (const x of res) {
    for (let i = WARM; i < POINTS; i++) LEVELS.forEach((l, j) => (hits[j] += x.likelihood[i] >= l ? 1 : 0));
  }
  const n = SERIES * (POINTS - WARM);
  return Object.fromEntries(LEVELS.map((l, j) => [`L>=${l} %`, pct(hits[j] / n)]));
}

function tenants(name: string, draw: (r: ReturnType<typeof rng>) => number, seed: number, warm = TENANT_WARM, cycles = CYCLES) {
  const r = rng(seed);
  const n = warm + cycles;
  // cpu around 2 cores, memory around 4 GB, each with a daily cycle and 5% (cpu) or 1% (memory) noise of the shape
  const vals = Array.from({ length: TENANTS }, (_, t) => {
    const cpu = new Float64Array(n), mem = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const day = 1 + 0.3 * Math.sin((2 * Math.PI * i) / DAY + t);
      cpu[i] = Math.max(0, 2 * day * (1 + 0.05 * draw(r)));
      mem[i] = Math.max(0, 4e9 * day * (1 + 0.01 * draw(r)));
    }
    return [cpu, mem];
  });
  const scorer = createAnomalyScorer(new Core('release'), 'alert-only', { enterLikelihood: ENTER, exitLikelihood: Math.min(ENTER, DEFAULT_ANOMALY_POLICY.exitLikelihood) });
  const inputs = (from: number, len: number, evidenceFrom: number): AnomalySeriesInput[] =>
    vals.flatMap((pair, t) => pair.map((y, k) => ({
      key: `t${t}\u0000${k}`, tenant: `t${t}`, resource: k ? 'memory' : 'cpu', startS: from * STEP, values: y.subarray(from, from + len), evidenceFrom,
    })));
  scorer.score(inputs(0, warm, warm - 1), STEP);
  const was = new Array<boolean>(TENANTS).fill(false);
  let episodes = 0, flagged = 0;
  // episodes started on each day after the warm-up (the warm-up is the series' first days)
  const byDay = new Array<number>(Math.ceil(cycles / DAY)).fill(0);
  for (let i = warm; i < n; i++) {
    for (const [tenant, v] of scorer.score(inputs(i, 1, 0), STEP)) {
      const t = Number(tenant.slice(1));
      if (v.anomalous && !was[t]) {
        episodes++;
        byDay[Math.floor((i - warm) / DAY)]++;
      }
      if (v.anomalous) flagged++;
      was[t] = v.anomalous;
    }
    if ((i - warm) % 1000 === 999) process.stderr.write(`bench:anomaly-calibration ${name}: cycle ${i + 1 - warm} of ${cycles}\n`);
  }
  const tenantCycles = TENANTS * cycles;
  return {
    episodes,
    episodeStartsPerTenantCyclePct: pct(episodes / tenantCycles),
    /** Days between false episodes of one tenant at 5-minute cycles. */
    daysPerFalseEpisode: episodes > 0 ? Math.round((tenantCycles / episodes / DAY) * 10) / 10 : null,
    flaggedTenantCyclePct: pct(flagged / tenantCycles),
    byDay,
  };
}

/** The detector on a daily cycle with Gaussian noise from its first point: the share of each day's points with
 *  L >= 0.99 and 0.999 (the first two days are scored by the level model alone, the seasonal model from day 3). */
function firstDays(seed: number, days = 12) {
  const r = rng(seed);
  const vals = Array.from({ length: SERIES }, () => Float64Array.from({ length: days * DAY }, (_, i) => 10 * (1 + 0.3 * Math.sin((2 * Math.PI * i) / DAY)) + 0.3 * r.g()));
  const res = scoreSeries(sharedCore(), vals.map(() => new SeriesDetectorState(DAY)), vals);
  return Array.from({ length: days - 1 }, (_, d) => {
    const hits = [0, 0];
    for (const x of res) for (let i = (d + 1) * DAY; i < (d + 2) * DAY; i++) [0.99, 0.999].forEach((l, j) => (hits[j] += x.likelihood[i] >= l ? 1 : 0));
    return { day: d + 2, 'L>=0.99 %': pct(hits[0] / (SERIES * DAY)), 'L>=0.999 %': pct(hits[1] / (SERIES * DAY)) };
  });
}

const started = Date.now();
const names = Object.keys(DISTRIBUTIONS);
const out = {
  bench: 'anomaly-calibration',
  enterLikelihood: ENTER,
  detector: SKIP_DETECTOR ? null : { series: SERIES, points: POINTS, scoredAfter: WARM, rates: Object.fromEntries(names.map((d, i) => [d, detector(DISTRIBUTIONS[d], 1000 + i)])) },
  // a series' first days (as after the sidecar starts: it feeds each series a day): the detector on a daily cycle by
  // day of the series, and the tenants fed a day, then ten days, by day after it
  firstDays: SKIP_DETECTOR ? null : firstDays(3000),
  firstDaysTenants: tenants('first days', DISTRIBUTIONS.gaussian, 3001, DAY, 10 * DAY),
  tenants: {
    tenants: TENANTS,
    warmup: TENANT_WARM,
    cycles: CYCLES,
    byNoise: Object.fromEntries(['gaussian', 'student_t3', 'lognormal'].map((d, i) => [d, tenants(d, DISTRIBUTIONS[d], 2000 + i)])),
  },
  seconds: (Date.now() - started) / 1000,
};
console.log(JSON.stringify(out, null, 2));
