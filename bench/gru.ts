// Quick accuracy/speed check of the GRU forecaster on a canonical trace: held-out tail, q50 MAE and pinball vs persistence.
// Usage: node --import tsx bench/gru.ts [--trace FILE] [--resource cpu] [--train-days 7] [--test-days 2]
//        [--hidden 16] [--window 24] [--season 288] [--epochs 3] [--per-epoch 50000] [--seed 1] [--lr 0.003]
//        [--online-every C]  (C > 0: update online with each C new test points before forecasting the next C)
// Prints one JSON object. Baselines in the same run: persistence (every quantile = last value) and persistence plus
// the empirical quantiles of its h-step changes over the training span (per series), the fair quantile baseline.
import { parseArgs } from 'node:util';
import { readTrace } from '../src/sources/trace-file.js';
import { createGru, predictGruRolling, trainGru, updateGru } from '../src/core/gru.js';
import { sharedCore } from '../src/core/wasm.js';

const { values: a } = parseArgs({
  options: {
    trace: { type: 'string', default: new URL('../../shared/traces/canonical/azure2017-periodic78.csv.gz', import.meta.url).pathname },
    resource: { type: 'string', default: 'cpu' },
    'train-days': { type: 'string', default: '7' },
    'test-days': { type: 'string', default: '2' },
    hidden: { type: 'string', default: '16' },
    window: { type: 'string', default: '24' },
    season: { type: 'string', default: 'day' },
    epochs: { type: 'string', default: '3' },
    'per-epoch': { type: 'string', default: '50000' },
    seed: { type: 'string', default: '1' },
    lr: { type: 'string', default: '0.003' },
    'online-every': { type: 'string', default: '0' },
  },
});

const LEVELS = [0.5, 0.9, 0.95, 0.99];

function pinball(y: number, q: number, tau: number): number {
  const u = y - q;
  return u >= 0 ? tau * u : (tau - 1) * u;
}

/** Empirical quantile (type 7) of a sorted array. */
function quantile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  return sorted[lo] + (h - lo) * ((sorted[Math.min(lo + 1, sorted.length - 1)] ?? sorted[lo]) - sorted[lo]);
}

async function main(): Promise<void> {
  const set = await readTrace(a.trace!, { resources: [a.resource!] });
  const stepsPerDay = Math.round(86_400 / set.intervalS);
  const horizons = [300, 900, 1800].map((s) => Math.max(1, Math.round(s / set.intervalS)));
  const testN = Math.round(Number(a['test-days']) * stepsPerDay);
  const trainN = Math.round(Number(a['train-days']) * stepsPerDay);
  const season = a.season === 'day' ? stepsPerDay : Number(a.season);
  const core = sharedCore();
  const st = createGru({
    horizons, quantiles: LEVELS, hidden: Number(a.hidden), window: Number(a.window), seasonSteps: season,
    seed: Number(a.seed), learningRate: Number(a.lr),
  }, core);
  const trainParts: Float64Array[] = [];
  for (const s of set.series) {
    const end = s.values.length - testN;
    trainParts.push(s.values.subarray(Math.max(0, end - trainN), end));
  }
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const rep = trainGru(st, trainParts, { epochs: Number(a.epochs), windowsPerEpoch: Number(a['per-epoch']) }, core);
  const trainS = (performance.now() - t0) / 1000;
  const trainCpuS = process.cpuUsage(c0).user / 1e6;

  const nH = horizons.length;
  const nQ = LEVELS.length;
  const acc = horizons.map(() => ({ n: 0, maeGru: 0, maePers: 0, pbGru: 0, pbPers: 0, pbPersEmp: 0, cover: [0, 0, 0, 0], coverEmp: [0, 0, 0, 0] }));
  let predictS = 0;
  let origins = 0;
  // Forecasts per series for origins end-1 .. n-1 (row r = origin end-1+r). Static: the trained state as is.
  // Online (--online-every C): every C steps, forecast the next C origins, then update with those C new points.
  const rolls: { quantiles: Float64Array; codes: Int32Array }[] = set.series.map(() => ({ quantiles: new Float64Array(0), codes: new Int32Array(0) }));
  const every = Number(a['online-every']);
  let updateS = 0;
  let updatedPoints = 0;
  let updateWindows = 0;
  if (every > 0) {
    const n0 = set.series[0].values.length;
    if (!set.series.every((s) => s.values.length === n0)) throw new Error('--online-every needs series of one length');
    const from = n0 - testN - 1;
    set.series.forEach((_, i) => {
      rolls[i] = { quantiles: new Float64Array((n0 - from) * nH * nQ), codes: new Int32Array(n0 - from) };
    });
    const keep = st.contextLength + Math.max(...horizons) + every;
    for (let c = from; c < n0; c += every) {
      const stop = Math.min(c + every, n0);
      const t1 = performance.now();
      set.series.forEach((s, i) => {
        const r = predictGruRolling(st, s.values.subarray(0, stop), c, 1, core);
        rolls[i].quantiles.set(r.quantiles, (c - from) * nH * nQ);
        rolls[i].codes.set(r.codes, c - from);
      });
      predictS += (performance.now() - t1) / 1000;
      if (stop - c < every) break;
      const t2 = performance.now();
      const rep2 = updateGru(st, set.series.map((s) => s.values.subarray(Math.max(0, stop - keep), stop)), set.series.map(() => stop - c), {}, core);
      updateS += (performance.now() - t2) / 1000;
      updatedPoints += (stop - c) * set.series.length;
      updateWindows += rep2.windows;
    }
  } else {
    set.series.forEach((s, i) => {
      const t1 = performance.now();
      rolls[i] = predictGruRolling(st, s.values, s.values.length - testN - 1, 1, core);
      predictS += (performance.now() - t1) / 1000;
    });
  }
  set.series.forEach((s, si) => {
    const v = s.values;
    const end = v.length - testN;
    // per-series empirical quantiles of h-step changes over the training span (baseline)
    const emp = horizons.map((h) => {
      const d: number[] = [];
      for (let i = Math.max(0, end - trainN); i + h < end; i++) if (Number.isFinite(v[i]) && Number.isFinite(v[i + h])) d.push(v[i + h] - v[i]);
      const sorted = Float64Array.from(d).sort();
      return LEVELS.map((p) => quantile(sorted, p));
    });
    const from = end - 1;
    const roll = { ...rolls[si], rows: rolls[si].codes.length };
    for (let r = 0; r < roll.rows; r++) {
      const T = from + r;
      const last = v[T];
      if (roll.codes[r] !== 0 || !Number.isFinite(last)) continue;
      origins++;
      horizons.forEach((h, hi) => {
        const y = v[T + h];
        if (T + h >= v.length || !Number.isFinite(y)) return;
        const m = acc[hi];
        m.n++;
        const q = roll.quantiles.subarray(r * nH * nQ + hi * nQ, r * nH * nQ + (hi + 1) * nQ);
        m.maeGru += Math.abs(y - q[0]);
        m.maePers += Math.abs(y - last);
        LEVELS.forEach((tau, qi) => {
          m.pbGru += pinball(y, q[qi], tau) / nQ;
          m.pbPers += pinball(y, last, tau) / nQ;
          const qe = last + emp[hi][qi];
          m.pbPersEmp += pinball(y, qe, tau) / nQ;
          if (y <= q[qi]) m.cover[qi]++;
          if (y <= qe) m.coverEmp[qi]++;
        });
      });
    }
  });
  const out = {
    trace: a.trace,
    resource: a.resource,
    series: set.series.length,
    intervalS: set.intervalS,
    trainPointsPerSeries: trainN,
    testPointsPerSeries: testN,
    options: st.options,
    params: st.blob.length,
    train: { seconds: +trainS.toFixed(2), cpuSeconds: +trainCpuS.toFixed(2), ...rep },
    predict: { origins, seconds: +predictS.toFixed(2), forecastsPerSecond: Math.round(origins / predictS) },
    online: every > 0 ? { every, points: updatedPoints, windows: updateWindows, seconds: +updateS.toFixed(2), pointsPerSecond: Math.round(updatedPoints / updateS) } : null,
    horizons: horizons.map((h, hi) => {
      const m = acc[hi];
      return {
        horizonS: h * set.intervalS,
        n: m.n,
        maeGruQ50: +(m.maeGru / m.n).toFixed(4),
        maePersistence: +(m.maePers / m.n).toFixed(4),
        maeRatio: +(m.maeGru / m.maePers).toFixed(3),
        pinballGru: +(m.pbGru / m.n).toFixed(4),
        pinballPersistenceFlat: +(m.pbPers / m.n).toFixed(4),
        pinballPersistenceEmpirical: +(m.pbPersEmp / m.n).toFixed(4),
        coverageGru: Object.fromEntries(LEVELS.map((p, qi) => [p, +(m.cover[qi] / m.n).toFixed(3)])),
        coveragePersistenceEmpirical: Object.fromEntries(LEVELS.map((p, qi) => [p, +(m.coverEmp[qi] / m.n).toFixed(3)])),
      };
    }),
  };
  console.log(JSON.stringify(out, null, 2));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
