// Ramps (a leak, a runaway job: growth to new highs, assembly/anomaly/univariate.ts step 10) against what must not
// read as one (a fleet's slow growth, a daily cycle, stationary noise, a random walk, a step), through the per-series
// detector (JSON on stdout). Per scenario, `--series` series of 5-minute samples: a week (or the warm-up given) before
// the change starts, then the change; the share of series whose first point flagged as a ramp (L >= 0.9999, kind
// ramp) came after the change started, the mean delay to it, and the share of points flagged as a ramp before and
// after. Synthetic on purpose: the traces in ../shared/traces have no labelled leaks.
//   node --import tsx bench/anomaly-ramps.ts [--series 20]
import { periodSamples, scoreSeries, SeriesDetectorState } from '../src/core/anomaly.js';
import { Core } from '../src/core/wasm.js';
import { numberArg as arg } from './args.js';

const SERIES = arg('series', 20);
const DAY = periodSamples(300);
const WEEK = 7 * DAY;
const core = new Core('release');

let seed = 1;
const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
/** Approximately standard normal (Irwin-Hall of 12 uniforms). */
const gauss = () => {
  let u = 0;
  for (let i = 0; i < 12; i++) u += rnd();
  return u - 6;
};
const daily = (t: number) => Math.sin((2 * Math.PI * t) / DAY);

interface Scenario {
  name: string;
  /** Value at sample t; called in order from t = 0 for each series. */
  make: () => (t: number) => number;
  /** Samples in all, and the first sample of the change. */
  total: number;
  from: number;
}

function score(s: Scenario) {
  let detected = 0, delaySum = 0, before = 0, after = 0, pointsBefore = 0, pointsAfter = 0;
  for (let r = 0; r < SERIES; r++) {
    seed = 1000 + r * 7;
    const f = s.make();
    const v = Float64Array.from({ length: s.total }, (_, t) => f(t));
    const [res] = scoreSeries(core, [new SeriesDetectorState(DAY)], [v]);
    let first = -1;
    for (let t = 0; t < s.total; t++) {
      const ramp = res.likelihood[t] >= 0.9999 && res.kind[t] === 'ramp';
      if (t < s.from) {
        pointsBefore++;
        if (ramp) before++;
      } else {
        pointsAfter++;
        if (ramp) {
          after++;
          if (first < 0) first = t;
        }
      }
    }
    if (first >= 0) {
      detected++;
      delaySum += first - s.from;
    }
  }
  const pct = (n: number, d: number) => (d ? Math.round((10000 * n) / d) / 100 : 0);
  return {
    scenario: s.name,
    detected: `${detected}/${SERIES}`,
    meanDelayHours: detected ? Math.round((delaySum / detected / 12) * 10) / 10 : null,
    rampPointsBeforePct: pct(before, pointsBefore),
    rampPointsAfterPct: pct(after, pointsAfter),
  };
}

const T = WEEK + 3 * DAY, O = WEEK + DAY;
const scenarios: Scenario[] = [];
for (const rate of [0.005, 0.02, 0.05, 0.1]) {
  scenarios.push({ name: `flat, 1% noise, leak of ${rate * 100}% an hour`, make: () => (t) => 100 * (1 + 0.01 * gauss()) + (t >= O ? (100 * rate * (t - O)) / 12 : 0), total: T, from: O });
  scenarios.push({ name: `daily cycle of +-30%, 5% noise, leak of ${rate * 100}% an hour`, make: () => (t) => 100 * (1 + 0.3 * daily(t) + 0.05 * gauss()) + (t >= O ? (100 * rate * (t - O)) / 12 : 0), total: T, from: O });
}
for (const g of [0.02, 0.05, 0.1, 0.2]) {
  scenarios.push({ name: `daily cycle of +-30%, 5% noise, growing ${g * 100}% a day`, make: () => (t) => 100 * (1 + (g * t) / DAY) * (1 + 0.3 * daily(t) + 0.05 * gauss()), total: 3 * WEEK, from: WEEK });
  scenarios.push({ name: `flat, 1% noise, growing ${g * 100}% a day`, make: () => (t) => 100 * (1 + (g * t) / DAY) * (1 + 0.01 * gauss()), total: 3 * WEEK, from: WEEK });
}
scenarios.push({ name: 'stationary Gaussian noise', make: () => () => 100 + 5 * gauss(), total: 4 * WEEK, from: WEEK });
scenarios.push({
  name: 'random walk (steps of 0.5% of the start)',
  make: () => {
    let x = 100;
    return () => (x += 0.5 * gauss());
  },
  total: 4 * WEEK,
  from: WEEK,
});
scenarios.push({ name: 'daily cycle of +-30%, 5% noise, a step to 3x', make: () => (t) => 100 * (1 + 0.3 * daily(t) + 0.05 * gauss()) * (t >= O ? 3 : 1), total: T, from: O });
scenarios.push({ name: 'a new series ramping up from 0 over 6 hours', make: () => (t) => 100 * Math.min(1, t / 72) * (1 + 0.05 * gauss()), total: WEEK, from: 0 });

const started = Date.now();
const results = scenarios.map((s, i) => {
  process.stderr.write(`bench:ramps ${i + 1}/${scenarios.length} ${s.name}\n`);
  return score(s);
});
console.log(JSON.stringify({ bench: 'anomaly-ramps', series: SERIES, threshold: 0.9999, results, seconds: (Date.now() - started) / 1000 }, null, 2));
