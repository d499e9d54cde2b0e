// `foresight evaluate`: replays a canonical trace through the forecasting engine at rolling origins and writes
// DIR/forecasts.csv.gz (origin,tenant,resource,horizon_s,actual,q50,q90,q95,q99,model) and DIR/summary.json.
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { createForecastEngine } from '../core/engine.js';
import { DEFAULT_HORIZONS_S } from '../core/types.js';
import { parseFlagDuration } from '../config/load.js';
import { ArgumentInvalidError, TraceInvalidError } from '../errors.js';
import { checkOutDir } from './out-dir.js';
import { lastValue, seasonalNaive } from '../evaluate/baselines.js';
import { QuantileScore, round } from '../evaluate/metrics.js';
import { defaultWarmup, replay } from '../evaluate/replay.js';
import { AtomicGzipCsv, writeJsonAtomic } from '../evaluate/write.js';
import { csvField, readTrace } from '../sources/trace-file.js';
import { createProgress } from '../backtest/progress.js';

export const summary = 'evaluate forecasts on a trace: evaluate --trace FILE --resource R [--horizons 5m,15m,30m] [--every N] [--out DIR] [--json]';

const LEVELS = [0.5, 0.9, 0.95, 0.99];
const USAGE = `Usage: foresight evaluate --trace FILE --resource R [--horizons 5m,15m,30m] [--every N] [--out DIR] [--json] [--quiet]

Replays a canonical trace (timestamp,tenant,resource,value; .csv or .csv.gz). After a warm-up (7 days, or a third
of a series shorter than that) it forecasts every horizon at every N-th step from the samples up to that origin,
and writes DIR/forecasts.csv.gz and DIR/summary.json (MAE, MASE vs seasonal naive, pinball, coverage).
  --trace FILE      canonical trace file (required)
  --resource R      resource to evaluate, e.g. cpu or memory (required)
  --horizons LIST   comma-separated durations: 30s, 5m, 1h or plain seconds, each once and a multiple of the
                    trace interval (default 5m,15m,30m, each rounded up to a multiple of a coarser interval)
  --every N         forecast at every N-th step (default 1)
  --out DIR         output directory (default ./evaluate-out), checked before the trace is read
  --json            print summary.json's content on stdout, one line (as backtest --json), instead of the results
  --quiet           no progress (a bar with an ETA on a terminal, a line every 10% otherwise), only the results`;

/** The horizons rounded up to multiples of the trace interval, without repeats, in order (900 s: 300, 900, 1800 -> 900, 1800). */
export function roundUpHorizons(horizonsS: readonly number[], intervalS: number): number[] {
  return [...new Set(horizonsS.map((h) => Math.max(1, Math.ceil(h / intervalS - 1e-9)) * intervalS))].sort((a, b) => a - b);
}

/** Horizons given on the command line must be positive multiples of the interval; the error names ones that would be. */
export function checkHorizons(horizonsS: readonly number[], intervalS: number): void {
  for (const h of horizonsS) {
    if (h > 0 && h % intervalS === 0) continue;
    const below = Math.floor(h / intervalS) * intervalS;
    const near = [below, below + intervalS].filter((m) => m > 0).map((m) => `${m}s`).join(' or ');
    const all = roundUpHorizons(horizonsS.filter((x) => x > 0), intervalS);
    throw new ArgumentInvalidError(
      `horizon ${h}s is not a positive multiple of the trace interval ${intervalS}s: use ${near}` + (all.length ? ` (e.g. --horizons ${all.join(',')})` : ''),
    );
  }
}

export async function run(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        trace: { type: 'string' },
        resource: { type: 'string' },
        horizons: { type: 'string' },
        every: { type: 'string', default: '1' },
        out: { type: 'string', default: 'evaluate-out' },
        json: { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (err) {
    console.error(`foresight evaluate: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  if (!args.trace || !args.resource) {
    console.error(`foresight evaluate: --trace and --resource are required\n\n${USAGE}`);
    return 2;
  }
  const every = Number(args.every);
  if (!Number.isInteger(every) || every < 1) throw new ArgumentInvalidError(`--every must be a positive integer (got "${args.every}")`);
  const givenS = args.horizons?.split(',').map((h) => parseFlagDuration('horizons', h));
  const twice = givenS?.find((h, i) => givenS.indexOf(h) !== i);
  if (twice !== undefined) throw new ArgumentInvalidError(`--horizons ${args.horizons}: ${twice}s is given twice (each horizon once)`);
  // before the trace is read, as backtest does: a file where the directory should be is a usage error
  await checkOutDir(args.out);

  const started = Date.now();
  const say = (line: string) => (args.quiet ? undefined : console.error(line));
  say(`evaluate: reading ${args.trace} (${args.resource})`);
  const set = await readTrace(args.trace, { resources: [args.resource] });
  for (const w of set.warnings ?? []) console.error(`evaluate: warning: ${w}`);
  const intervalS = set.intervalS;
  let horizonsS: number[];
  if (givenS) {
    checkHorizons(givenS, intervalS);
    horizonsS = givenS;
  } else {
    horizonsS = roundUpHorizons(DEFAULT_HORIZONS_S, intervalS);
    if (horizonsS.join() !== DEFAULT_HORIZONS_S.join()) {
      say(`evaluate: horizons ${horizonsS.map((h) => `${h}s`).join(', ')} (the defaults 5m, 15m, 30m rounded up to multiples of the trace interval ${intervalS}s)`);
    }
  }
  // nothing to score whatever the horizons: a trace problem (exit 1), not a usage error
  const present = set.series.reduce((n, sr) => n + sr.values.reduce((m, v) => m + (v === v ? 1 : 0), 0), 0);
  const afterWarmup = set.series.reduce((n, sr) => n + sr.values.reduce((m, v, i) => m + (v === v && i >= Math.max(defaultWarmup(sr), 2) ? 1 : 0), 0), 0);
  if (afterWarmup === 0) {
    throw new TraceInvalidError(
      present === 0
        ? `${args.trace}: every value of resource "${args.resource}" is missing (empty, NaN or NA): there is nothing to forecast or score`
        : `${args.trace}: resource "${args.resource}" has no value to score: its ${present} known value(s) all fall in each series' warm-up (the first 7 days, or a third of a series shorter than that)`,
    );
  }
  const engine = createForecastEngine({ intervalS, horizonsS, quantiles: LEVELS });
  const K = horizonsS.length;
  const scores = horizonsS.map(() => new QuantileScore(LEVELS));
  const snaive = horizonsS.map(() => new QuantileScore([]));
  const persistence = horizonsS.map(() => new QuantileScore([]));
  const chosen = horizonsS.map(() => new Map<string, number>());
  const statuses = new Map<string, number>();
  const season = Math.round(86_400 / intervalS);
  const csv = new AtomicGzipCsv(join(args.out, 'forecasts.csv.gz'), 'origin,tenant,resource,horizon_s,actual,q50,q90,q95,q99,model');
  const fmt = (v: number) => (Number.isFinite(v) ? String(round(v, 7)) : '');
  const progress = createProgress(`evaluate ${args.resource}`, process.stderr, !args.quiet);
  try {
    replay(
      set,
      engine,
      {
        horizonsS,
        every,
        onProgress: (done, total) => progress.update(done, total),
      },
      (f) => {
        const y = f.series.values;
        statuses.set(f.status, (statuses.get(f.status) ?? 0) + 1);
        const origin = f.series.startS + f.t * intervalS;
        const last = lastValue(y, f.t);
        const tenantField = csvField(f.series.tenant), resourceField = csvField(f.series.resource);
        for (let k = 0; k < K; k++) {
          const h = Math.round(horizonsS[k] / intervalS);
          const actual = f.t + h < y.length ? y[f.t + h] : NaN;
          const q = f.quantiles.subarray(k * LEVELS.length, (k + 1) * LEVELS.length);
          csv.line(`${origin},${tenantField},${resourceField},${horizonsS[k]},${fmt(actual)},${fmt(q[0])},${fmt(q[1])},${fmt(q[2])},${fmt(q[3])},${f.models[k]}`);
          if (!Number.isFinite(actual)) continue;
          scores[k].add(actual, q[0], q);
          snaive[k].addPoint(actual, seasonalNaive(y, f.t, h, season));
          persistence[k].addPoint(actual, last);
          chosen[k].set(f.models[k], (chosen[k].get(f.models[k]) ?? 0) + 1);
        }
      },
    );
    progress.done();
    // a horizon no origin could be scored at (beyond every series after its warm-up, or --every past the end): an
    // error, not a summary of NaNs and a file of headers
    const empty = horizonsS.filter((_, k) => scores[k].n === 0);
    if (empty.length) {
      const room = Math.max(0, ...set.series.map((sr) => (sr.values.length - defaultWarmup(sr) - 1) * intervalS));
      const made = [...statuses].map(([st, n]) => `${n} ${st}`).join(', ') || 'none';
      const beyond = horizonsS.filter((h) => h > room).map((h) => `${h}s`);
      throw new ArgumentInvalidError(
        `no forecast could be scored at horizon(s) ${empty.map((h) => `${h}s`).join(', ')} (forecasts made: ${made})` +
          (beyond.length ? `: ${beyond.join(', ')} reach beyond the ${room}s the trace leaves ahead of an origin after each series' warm-up` : '') +
          (every > 1 ? ` (--every ${every} skips origins)` : '') +
          '; use shorter --horizons or a longer trace',
      );
    }
    await csv.close();
  } catch (err) {
    csv.abort();
    throw err;
  }
  const summaryJson = {
    trace: args.trace,
    resource: args.resource,
    intervalS,
    series: set.series.length,
    every,
    warmup: 'first 7 days of each series (a third of a series shorter than 7 days)',
    levels: LEVELS,
    horizons: horizonsS.map((h, k) => ({
      horizonS: h,
      foresight: scores[k].toJSON(snaive[k].mae),
      seasonalNaive: { n: snaive[k].n, mae: round(snaive[k].mae) },
      persistence: { n: persistence[k].n, mae: round(persistence[k].mae), mase: round(persistence[k].mae / snaive[k].mae) },
      models: Object.fromEntries(chosen[k]),
    })),
    statuses: Object.fromEntries(statuses),
    warmupSteps: set.series.map((s) => defaultWarmup(s)).reduce((a, b) => Math.max(a, b), 0),
    seconds: round((Date.now() - started) / 1000, 4),
  };
  writeJsonAtomic(join(args.out, 'summary.json'), summaryJson);
  console.error(`evaluate: wrote ${join(args.out, 'forecasts.csv.gz')} and ${join(args.out, 'summary.json')} in ${summaryJson.seconds} s`);
  if (args.json) {
    process.stdout.write(`${JSON.stringify(summaryJson)}\n`);
    return 0;
  }
  // the results on stdout, as backtest's table; what was written, and progress, on stderr
  for (const h of summaryJson.horizons) {
    console.log(`h=${h.horizonS}s MAE ${h.foresight.mae} (persistence ${h.persistence.mae}, seasonal naive ${h.seasonalNaive.mae}) cov95 ${(h.foresight.coverage as Record<string, number> | null)?.['0.95']}`);
  }
  return 0;
}
