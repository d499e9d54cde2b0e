// The Numenta Anomaly Benchmark scorer, re-implemented from NAB v1.1 (nab/sweeper.py, nab/optimizer.py, nab/runner.py).
//
// Rules, each from NAB's source (github.com/numenta/NAB, nab/sweeper.py unless noted):
// - Probation: the first min(floor(0.15 n), 0.15 * 5000) rows of each file are not scored (`_getProbationaryLength`).
// - Scaled sigmoid: S(y) = 2 / (1 + exp(5y)) - 1 = 2 sigmoid(-5y) - 1, and -1 for y > 3 (`scaledSigmoid`).
//   Worked example: S(-1) = 0.98661 (left edge of a window), S(-0.5) = 0.84828, S(0) = 0, S(1) = -0.98661.
// - A row inside window [L, R] (width w = R - L + 1) scores S(-(R - i + 1) / w) * tpWeight / S(-1) if detected; a window
//   counts once, by its best (earliest) detection, and -fnWeight if nothing in it is detected.
// - A detected row outside any window scores fpWeight * S(|R' - i| / (w' - 1)) after a window [L', R'] of width w',
//   and -fpWeight before the first window.
// - A row is detected at threshold t when its anomaly score >= t. The threshold is optimised per profile over the whole
//   corpus (`calcScoreByThreshold` on all files' rows, nab/optimizer.py), and the corpus score at that threshold is the
//   sum of the files' scores (nab/scorer.py `scoreCorpus`).
// - Normalised score = 100 (raw - null) / (perfect - null), with perfect = windows x tpWeight and null the score of the
//   detector that never fires (nab/runner.py `normalize`).
import type { CostMatrix, NabFile, Profiles } from './corpus.js';

export const PROBATION_PERCENT = 0.15;

/** NAB's scaled sigmoid (sweeper.py `scaledSigmoid`). */
export function scaledSigmoid(y: number): number {
  return y > 3 ? -1 : 2 / (1 + Math.exp(5 * y)) - 1;
}

const MAX_TP = scaledSigmoid(-1);

/** Rows NAB leaves unscored at the start of a file of `n` rows (sweeper.py `_getProbationaryLength`). */
export function probationaryLength(n: number, percent = PROBATION_PERCENT): number {
  return Math.min(Math.floor(percent * n), percent * 5000);
}

/** A detector's scores over a corpus, prepared once and then scored under any profile. */
export interface PreparedRuns {
  /** Scorable rows (probation removed), sorted by anomaly score, descending. */
  score: Float64Array;
  /** Global window id of each row, or -1 outside windows. */
  window: Int32Array;
  /** Unweighted sweep score: S(...)/S(-1) inside a window, S(...) (or -1) outside. */
  unweighted: Float64Array;
  /** Index of the row's file in `files`. */
  file: Int32Array;
  /** Number of windows with at least one scorable row (each is -fnWeight in the null score). */
  scorableWindows: number;
  /** Per window: its file. */
  windowFile: Int32Array;
  /** Windows in the labels (perfect = windows x tpWeight). */
  totalWindows: number;
  files: readonly NabFile[];
}

/** Builds the per-row sweep data (sweeper.py `calcSweepScore`) for all files and sorts it once. */
export function prepareRuns(
  files: readonly NabFile[],
  scores: readonly Float64Array[],
  probationPercent = PROBATION_PERCENT,
): PreparedRuns {
  if (files.length !== scores.length) throw new Error('one score array per file is required');
  let total = 0;
  let totalWindows = 0;
  for (const f of files) {
    total += f.values.length;
    totalWindows += f.windows.length;
  }
  const sc = new Float64Array(total);
  const win = new Int32Array(total);
  const unw = new Float64Array(total);
  const fileOf = new Int32Array(total);
  const windowFile = new Int32Array(totalWindows);
  const windowSeen = new Uint8Array(totalWindows);
  let k = 0;
  let wBase = 0;
  for (let fi = 0; fi < files.length; fi++) {
    const f = files[fi];
    const s = scores[fi];
    const n = f.values.length;
    if (s.length !== n) throw new Error(`${f.name}: ${s.length} scores for ${n} rows`);
    const wins = [...f.windows].sort((a, b) => a[0] - b[0]);
    const prob = probationaryLength(n, probationPercent);
    let next = 0;
    let cur = -1;
    let prevRight = -1;
    let prevWidth = 0;
    for (let i = 0; i < n; i++) {
      if (next < wins.length && i === wins[next][0]) cur = next++;
      let u: number;
      let w = -1;
      if (cur >= 0) {
        const [l, r] = wins[cur];
        u = scaledSigmoid(-(r - i + 1) / (r - l + 1)) / MAX_TP;
        w = wBase + cur;
      } else if (prevRight < 0) {
        u = -1;
      } else {
        u = scaledSigmoid(Math.abs(prevRight - i) / (prevWidth - 1));
      }
      if (i >= prob) {
        // A NaN score never exceeds a threshold: treat it as 0 (NAB's results contain none).
        const v = s[i];
        sc[k] = Number.isNaN(v) ? 0 : v;
        win[k] = w;
        unw[k] = u;
        fileOf[k] = fi;
        if (w >= 0) windowSeen[w] = 1;
        k++;
      }
      if (cur >= 0 && i === wins[cur][1]) {
        prevRight = i;
        prevWidth = wins[cur][1] - wins[cur][0] + 1;
        cur = -1;
      }
    }
    for (let j = 0; j < wins.length; j++) windowFile[wBase + j] = fi;
    wBase += wins.length;
  }
  const order = new Uint32Array(k);
  for (let i = 0; i < k; i++) order[i] = i;
  order.sort((a, b) => sc[b] - sc[a] || a - b);
  const out: PreparedRuns = {
    score: new Float64Array(k),
    window: new Int32Array(k),
    unweighted: new Float64Array(k),
    file: new Int32Array(k),
    scorableWindows: 0,
    windowFile,
    totalWindows,
    files,
  };
  for (let i = 0; i < k; i++) {
    const j = order[i];
    out.score[i] = sc[j];
    out.window[i] = win[j];
    out.unweighted[i] = unw[j];
    out.file[i] = fileOf[j];
  }
  for (let w = 0; w < totalWindows; w++) out.scorableWindows += windowSeen[w];
  return out;
}

export interface ProfileScore {
  /** Normalised score: 0 for the null detector, 100 for the perfect one. */
  score: number;
  /** NAB's raw score at the optimal threshold. */
  raw: number;
  threshold: number;
  tp: number;
  fp: number;
  fn: number;
  tn: number;
  /** Normalisation bounds used. */
  nullRaw: number;
  perfectRaw: number;
}

/**
 * Sweeps every threshold (sweeper.py `calcScoreByThreshold`) and returns the best one under `cost`, as NAB's
 * optimizer does (ties keep the higher threshold, as Python's stable sort of the sweep does).
 */
export function optimiseThreshold(runs: PreparedRuns, cost: CostMatrix): ProfileScore {
  const { score, window, unweighted } = runs;
  const n = score.length;
  const best = new Float64Array(runs.totalWindows).fill(-cost.fnWeight);
  let windowRows = 0;
  for (let i = 0; i < n; i++) if (window[i] >= 0) windowRows++;
  let fpSum = 0;
  let windowSum = -cost.fnWeight * runs.scorableWindows;
  let tp = 0;
  let fp = 0;
  let curThreshold = 1.1;
  let top = { threshold: curThreshold, raw: windowSum, tp: 0, fp: 0 };
  const consider = (): void => {
    const raw = fpSum + windowSum;
    if (raw > top.raw) top = { threshold: curThreshold, raw, tp, fp };
  };
  for (let i = 0; i < n; i++) {
    if (score[i] !== curThreshold) {
      consider();
      curThreshold = score[i];
    }
    const w = window[i];
    if (w < 0) {
      fp++;
      fpSum += unweighted[i] * cost.fpWeight;
    } else {
      tp++;
      const v = unweighted[i] * cost.tpWeight;
      if (v > best[w]) {
        windowSum += v - best[w];
        best[w] = v;
      }
    }
  }
  consider();
  const nullRaw = -cost.fnWeight * runs.scorableWindows;
  const perfectRaw = runs.totalWindows * cost.tpWeight;
  return {
    score: (100 * (top.raw - nullRaw)) / (perfectRaw - nullRaw),
    raw: top.raw,
    threshold: top.threshold,
    tp: top.tp,
    fp: top.fp,
    fn: windowRows - top.tp,
    tn: n - windowRows - top.fp,
    nullRaw,
    perfectRaw,
  };
}

/** Raw score of each file at a fixed threshold (rows with score >= threshold are detections). */
export function rawScoresByFile(runs: PreparedRuns, cost: CostMatrix, threshold: number): Float64Array {
  const perFile = new Float64Array(runs.files.length);
  const best = new Float64Array(runs.totalWindows).fill(NaN);
  for (let i = 0; i < runs.score.length && runs.score[i] >= threshold; i++) {
    const w = runs.window[i];
    if (w < 0) perFile[runs.file[i]] += runs.unweighted[i] * cost.fpWeight;
    else best[w] = Number.isNaN(best[w]) ? runs.unweighted[i] * cost.tpWeight : Math.max(best[w], runs.unweighted[i] * cost.tpWeight);
  }
  const seen = new Uint8Array(runs.totalWindows);
  for (let i = 0; i < runs.score.length; i++) if (runs.window[i] >= 0) seen[runs.window[i]] = 1;
  for (let w = 0; w < runs.totalWindows; w++) {
    if (!seen[w]) continue;
    perFile[runs.windowFile[w]] += Number.isNaN(best[w]) ? -cost.fnWeight : best[w];
  }
  return perFile;
}

export interface CategoryScore {
  raw: number;
  /** Normalised within the category (null when the category has no windows). */
  score: number | null;
  windows: number;
}

/** Per-category raw and normalised scores at the corpus-optimal threshold (a breakdown; NAB reports only totals). */
export function scoreByCategory(runs: PreparedRuns, cost: CostMatrix, threshold: number): Record<string, CategoryScore> {
  const perFile = rawScoresByFile(runs, cost, threshold);
  const out: Record<string, CategoryScore> = {};
  runs.files.forEach((f, i) => {
    const c = (out[f.category] ??= { raw: 0, score: null, windows: 0 });
    c.raw += perFile[i];
    c.windows += f.windows.length;
  });
  for (const c of Object.values(out)) {
    if (c.windows === 0) continue;
    const nullRaw = -cost.fnWeight * c.windows;
    c.score = (100 * (c.raw - nullRaw)) / (c.windows * cost.tpWeight - nullRaw);
  }
  return out;
}

/** Scores one detector's outputs under every profile. */
export function scoreDetector(
  files: readonly NabFile[],
  scores: readonly Float64Array[],
  profiles: Profiles,
): { profiles: Record<string, ProfileScore>; runs: PreparedRuns } {
  const runs = prepareRuns(files, scores);
  const out: Record<string, ProfileScore> = {};
  for (const [name, cost] of Object.entries(profiles)) out[name] = optimiseThreshold(runs, cost);
  return { profiles: out, runs };
}
