// NAB benchmark: runs Foresight's streaming detectors over a corpus in NAB's layout and scores them with NAB's rules.
//
//   npm run bench:nab [-- --data DIR] [--out DIR] [--labels FILE] [--profiles FILE] [--no-peers] [--week-ago]
//
// DIR defaults to ../shared/traces/nab (or $FORESIGHT_TRACES/nab). Prints one JSON object: normalised scores for every
// profile, a per-category breakdown, detection time, and the same scorer run on peer detectors' shipped outputs
// (DIR/results/<peer>) when present. --out writes DIR/<category>/foresight_<file>.csv (timestamp,value,anomaly_score).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Core } from '../src/core/wasm.js';
import { periodSamples, scoreSeries, SeriesDetectorState } from '../src/core/anomaly.js';
import { RECURRENCE_MARGIN_S, RECURRENCE_PERIOD_S, recurrenceMargin, recursIn } from '../src/logic/recurrence.js';
import { NAB_PROFILES, readNabCorpus, readProfiles, readResultScores, type NabFile } from './nab/corpus.js';
import { scoreByCategory, scoreDetector } from './nab/scorer.js';

const PEERS = ['numenta', 'ARTime', 'windowedGaussian'];

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** Sampling interval in seconds: the median spacing of the first 20 rows (what a live system knows from its config). */
function intervalS(f: NabFile): number {
  const d: number[] = [];
  for (let i = 1; i < Math.min(f.timesMs.length, 21); i++) d.push(f.timesMs[i] - f.timesMs[i - 1]);
  d.sort((a, b) => a - b);
  return d.length ? d[d.length >> 1] / 1000 : 300;
}

/** Runs the detector over one file in streaming order (one WASM call; the kernel never looks ahead). With `weekAgo`,
 *  the tenant verdict's week-ago rule (src/logic/recurrence.ts) is applied to each point's score: a point within what
 *  the series did a week earlier scores 0 (how much that rule would mask on NAB's anomalies; not NAB's own score). */
export function detectFile(core: Core, f: NabFile, weekAgo = false): Float64Array {
  const iv = intervalS(f);
  const st = new SeriesDetectorState(periodSamples(iv));
  const event = scoreSeries(core, [st], [f.values])[0].event;
  if (weekAgo) {
    // by timestamp, not by count: many NAB files are irregular (gaps of hours to weeks)
    const t = f.timesMs;
    const expected = 2 * recurrenceMargin(iv) + 1;
    const [back, half] = [RECURRENCE_PERIOD_S * 1000, RECURRENCE_MARGIN_S * 1000];
    let a = 0, b = 0;
    for (let i = 0; i < event.length; i++) {
      while (a < i && t[a] < t[i] - back - half) a++;
      if (b < a) b = a;
      while (b < i && t[b] <= t[i] - back + half) b++;
      if (recursIn(f.values[i], f.values, a, b, expected)) event[i] = 0;
    }
  }
  return event;
}

function round(x: number, d = 2): number {
  const k = 10 ** d;
  return Math.round(x * k) / k;
}

/** Runs the benchmark with command-line style arguments and returns the JSON report. */
export function runNabBench(argv: string[]): Record<string, unknown> {
  const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
  const dataDir = resolve(arg(argv, '--data') ?? join(process.env.FORESIGHT_TRACES ?? join(root, '..', 'shared', 'traces'), 'nab'));
  const labels = arg(argv, '--labels') ?? join(dataDir, 'labels', 'combined_windows.json');
  const profilesPath = arg(argv, '--profiles') ?? join(dataDir, 'config', 'profiles.json');
  const profiles = existsSync(profilesPath) ? readProfiles(profilesPath) : NAB_PROFILES;
  const outDir = arg(argv, '--out');

  const corpus = readNabCorpus(dataDir, labels);
  const core = new Core('release');
  const t0 = performance.now();
  const weekAgo = argv.includes('--week-ago');
  const scores = corpus.files.map((f) => detectFile(core, f, weekAgo));
  const detectMs = performance.now() - t0;
  const points = corpus.files.reduce((a, f) => a + f.values.length, 0);

  if (outDir) {
    corpus.files.forEach((f, i) => {
      const base = f.name.split('/').pop() as string;
      const path = join(outDir, f.category, `foresight_${base}`);
      mkdirSync(dirname(path), { recursive: true });
      const rows = ['timestamp,value,anomaly_score'];
      for (let r = 0; r < f.values.length; r++) rows.push(`${f.stamps[r]},${f.values[r]},${scores[i][r]}`);
      writeFileSync(path, `${rows.join('\n')}\n`);
    });
  }

  const res = scoreDetector(corpus.files, scores, profiles);
  const summary = (p: (typeof res.profiles)[string]) => ({
    score: round(p.score),
    raw: round(p.raw, 3),
    threshold: p.threshold,
    tp: p.tp,
    fp: p.fp,
  });
  const categories: Record<string, Record<string, number | null>> = {};
  for (const [name, cost] of Object.entries(profiles)) {
    for (const [cat, c] of Object.entries(scoreByCategory(res.runs, cost, res.profiles[name].threshold))) {
      (categories[cat] ??= {})[name] = c.score === null ? null : round(c.score);
    }
  }
  const peers: Record<string, Record<string, number>> = {};
  if (!argv.includes('--no-peers')) {
    for (const peer of PEERS) {
      const dir = join(dataDir, 'results', peer);
      if (!existsSync(dir)) continue;
      try {
        const ps = corpus.files.map((f) => readResultScores(join(dataDir, 'results'), peer, f));
        const pr = scoreDetector(corpus.files, ps, profiles).profiles;
        peers[peer] = Object.fromEntries(Object.entries(pr).map(([k, v]) => [k, round(v.score)]));
      } catch {
        // A peer without outputs for every file of this corpus is simply not compared.
      }
    }
  }
  const out = {
    detector: 'foresight',
    weekAgo,
    corpus: dataDir,
    files: corpus.files.length,
    windows: corpus.windowCount,
    points,
    detectMs: Math.round(detectMs),
    scores: Object.fromEntries(Object.entries(res.profiles).map(([k, v]) => [k, round(v.score)])),
    profiles: Object.fromEntries(Object.entries(res.profiles).map(([k, v]) => [k, summary(v)])),
    categories,
    peers,
    outDir: outDir ?? null,
  };
  return out;
}

async function main(argv: string[]): Promise<number> {
  console.log(JSON.stringify(runNabBench(argv), null, 2));
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
